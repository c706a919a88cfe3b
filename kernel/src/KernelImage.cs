using SharpMM.Addressing;

namespace SharpMM.Kernel;

/// <summary>
/// Where the kernel image lies in physical memory, from arch/ARCH/linker.ld (it runs at
/// <see cref="Arch.KernelVirtualBase"/> + these: x86-64 0xFFFFFFFF80000000, i386 0xC0000000):
/// [Start, End) covers text, data and bss (page tables, stacks) and is page aligned. Anything
/// that hands out physical memory must reserve it.
/// </summary>
internal static class KernelImage
{
    /// <summary>__kernel_start: 1 MiB.</summary>
    public static ulong Start => Arch.KernelStart();

    /// <summary>__kernel_end: end of .bss rounded up to 4 KiB.</summary>
    public static ulong End => Arch.KernelEnd();

    /// <summary>End of code (__text_end, not page aligned).</summary>
    public static ulong TextEnd => Arch.TextEnd();

    /// <summary>__rodata_start, page aligned: [Start, RodataStart) is text (read-only, executable).</summary>
    public static ulong RodataStart => Arch.RodataStart();

    /// <summary>__data_start, page aligned: [RodataStart, DataStart) is read-only data;
    /// [DataStart, End) is .data, .tdata and .bss (read-write, no-execute).</summary>
    public static ulong DataStart => Arch.DataStart();

    /// <summary>The address the running kernel uses for image byte <paramref name="phys"/>.</summary>
    public static ulong ToVirt(ulong phys) => phys + Arch.KernelVirtualBase;

    /// <summary>The physical address of image address <paramref name="virt"/> (a linker symbol,
    /// a pointer into .data or .bss).</summary>
    public static ulong ToPhys(ulong virt) => virt - Arch.KernelVirtualBase;

    /// <summary>The image as a range.</summary>
    public static PhysRange Range => PhysRange.FromBounds(Start, End);
}
