using SharpMM.Boot;
using SharpMM.Diagnostics;

namespace SharpMM.Virtual;

/// <summary>
/// The lines of a layout's boot sequence as both sides print them: the hosted run on the MMU
/// model (`sharpmm boot --layout NAME`) and a kernel booting that layout on hardware. Sharing
/// them keeps the two logs comparable line by line (kernel/test.sh compares the i386 kernel's
/// log with the hosted run on the map the kernel printed).
/// <code>
///   boot sequence for layout NAME:
///     1. temporary tables at ...                  (each side describes its own)
///     2. firmware map sanitized: N entries, SIZE usable
///     3. memblock reserved the kernel image and SIZE of frame metadata, then handed N frames to the buddy allocator (zones A B C)
///     4. final tables at 0xROOT:
///        directory entry 1023 -> the directory itself: tables at 0xffc00000, directory at 0xfffff000
///     5. CR3 &lt;- 0xROOT
///     6. boot identity map dropped
///     7. stack pointer moved to 0xTOP
/// </code>
/// </summary>
public static class BootSteps
{
    public static void Header<TSink>(ref TextWriter<TSink> w, string layoutName) where TSink : struct, ITextSink
    {
        w.Str("boot sequence for layout "); w.Str(layoutName); w.Line(":");
    }

    public static void Sanitized<TSink>(ref TextWriter<TSink> w, in MemoryMap sanitized) where TSink : struct, ITextSink
    {
        w.Str("  2. firmware map sanitized: "); w.Dec((ulong)sanitized.Count); w.Str(" entries, ");
        w.Size(sanitized.UsableFrames() << 12); w.Line(" usable");
    }

    public static void HandedOver<TSink>(ref TextWriter<TSink> w, ref PhysicalMemory pm) where TSink : struct, ITextSink
    {
        w.Str("  3. memblock reserved the kernel image and "); w.Size(pm.Buddy.Map.MetadataBytes);
        w.Str(" of frame metadata, then handed "); w.Dec(pm.HandedOverFrames); w.Str(" frames to the buddy allocator (zones");
        for (int z = 0; z < pm.Buddy.ZoneCount; z++) { w.Char(' '); w.Str(pm.Buddy.GetZone(z).Name); }
        w.Line(")");
    }

    public static void FinalTables<TSink>(ref TextWriter<TSink> w, ulong rootPhys) where TSink : struct, ITextSink
    {
        w.Str("  4. final tables at "); w.Hex(rootPhys); w.Line(":");
    }

    public static void RecursiveSlot<TSink>(ref TextWriter<TSink> w, int slot, ulong tablesVa, ulong directoryVa) where TSink : struct, ITextSink
    {
        w.Str("     directory entry "); w.Dec((ulong)slot); w.Str(" -> the directory itself: tables at "); w.Hex(tablesVa);
        w.Str(", directory at "); w.Hex(directoryVa); w.Line();
    }

    public static void Switched<TSink>(ref TextWriter<TSink> w, ulong rootPhys) where TSink : struct, ITextSink
    {
        w.Str("  5. CR3 <- "); w.Hex(rootPhys); w.Line();
    }

    /// <summary>Step 6; <paramref name="keptByLayout"/>: the layout identity-maps the kernel itself.</summary>
    public static void IdentityDropped<TSink>(ref TextWriter<TSink> w, bool keptByLayout) where TSink : struct, ITextSink
    {
        w.Str("  6. boot identity map dropped"); w.Line(keptByLayout ? " (the layout identity-maps the kernel and low RAM itself)" : "");
    }

    public static void StackMoved<TSink>(ref TextWriter<TSink> w, ulong top, int addressBits) where TSink : struct, ITextSink
    {
        // Full width: 8 digits on 32-bit layouts, 16 on x86-64 (whose 48-bit addresses are
        // sign-extended, so 12 digits would cut the top of the address space).
        w.Str("  7. stack pointer moved to "); w.Hex(top, addressBits <= 32 ? 8 : 16); w.Line();
    }
}
