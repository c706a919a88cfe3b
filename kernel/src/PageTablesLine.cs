using SharpMM.Addressing;
using SharpMM.Diagnostics;

namespace SharpMM.Kernel;

/// <summary>
/// The kernel's one-line summary of the tables it built, the same on every architecture (only
/// the address width differs); kernel/test.sh looks for it to know the kernel switched to them:
/// <code>
///   page tables: N table pages (SIZE) built in C cycles; CR3 OLD -> NEW; kernel stack [LO-HI], guard page G
/// </code>
/// </summary>
internal static class PageTablesLine
{
    /// <summary>Writes the line; <paramref name="digits"/>: 8 on i386, 16 on x86-64.</summary>
    public static void Write(ref TextWriter<SerialSink> w, ulong tablePages, ulong buildCycles, ulong bootCr3, ulong cr3,
                             ulong stackBottom, ulong stackTop, ulong guardPage, int digits)
    {
        w.Str("page tables: ");
        w.Dec(tablePages);
        w.Str(" table pages (");
        w.Size(tablePages * PageSize.Bytes);
        w.Str(") built in ");
        w.Dec(buildCycles);
        w.Str(" cycles; CR3 ");
        w.Hex(bootCr3, digits);
        w.Str(" -> ");
        w.Hex(cr3, digits);
        w.Str("; kernel stack [");
        w.Hex(stackBottom, digits);
        w.Char('-');
        w.Hex(stackTop - 1, digits);
        w.Str("], guard page ");
        w.Hex(guardPage, digits);
        w.Line();
    }
}
