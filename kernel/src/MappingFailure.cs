using SharpMM.Diagnostics;

namespace SharpMM.Kernel;

/// <summary>
/// The end of a boot that could not map part of the kernel's own address space, the same on
/// every architecture: one line naming the range and the mapper's status, then a panic.
/// <code>
///   address space: mapping WHAT [START-END) failed: STATUS
/// </code>
/// </summary>
internal static class MappingFailure
{
    /// <summary>Reports and panics; <paramref name="digits"/>: 8 on i386, 16 on x86-64.</summary>
    public static void Fail(string what, ulong start, ulong end, Status status, int digits)
    {
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("address space: mapping ");
        w.Str(what);
        w.Str(" [");
        w.Hex(start, digits);
        w.Char('-');
        w.Hex(end, digits);
        w.Str(") failed: ");
        w.Str(StatusNames.Name(status));
        w.Line();
        KernelPanic.Fail("address space: a kernel mapping failed, status", (ulong)status);
    }
}
