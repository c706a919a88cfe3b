using SharpMM.Addressing;

namespace SharpMM.Kernel;

/// <summary>
/// Where the kernel image lies in physical memory (= virtual, identity mapped), from linker.ld:
/// [Start, End) covers text, data and bss (page tables, stacks) and is page aligned. Anything
/// that hands out physical memory must reserve it.
/// </summary>
internal static class KernelImage
{
    /// <summary>__kernel_start: 1 MiB.</summary>
    public static ulong Start => Arch.KernelStart();

    /// <summary>__kernel_end: end of .bss rounded up to 4 KiB.</summary>
    public static ulong End => Arch.KernelEnd();

    /// <summary>End of code (__text_end).</summary>
    public static ulong TextEnd => Arch.TextEnd();

    /// <summary>The image as a range.</summary>
    public static PhysRange Range => PhysRange.FromBounds(Start, End);
}
