using SharpMM.Addressing;
using SharpMM.Virtual;

namespace SharpMM.Kernel;

/// <summary>
/// Where the x86-64 kernel puts each of its areas, taken from the library's plan
/// (<see cref="AddressSpaceLayout.X86_64"/>) when the kernel builds its address space:
/// <code>
///   layout region                  kernel area                                  PML4 entry
///   direct-map    0xffff888000000000  RAM at base + phys (Arch.DirectMapBase)      273 (+1 per 512 GiB of RAM)
///   vmalloc       0xffffc90000000000  vmalloc area             [+0, +16 GiB)       402
///                                     physical-mapping window  [+64, +80 GiB)
///                                     test window              [+256, +512 GiB)
///   kernel-image  0xffffffff80000000  the image at base + phys (Arch.KernelVirtualBase) 511
///   kernel-stack  0xffffffffff000000  the kernel stack, its top at the region's end, 511
///                                     a guard page below it
/// </code>
/// The vmalloc areas share one PML4 entry on purpose: every top-level entry the kernel uses is
/// made at boot (<see cref="KernelAddressSpace"/>) and copied into each user address space, so
/// the fewer there are, the fewer tables sit idle. The direct map and image bases are also
/// constants (<see cref="Arch.DirectMapBase"/>, <see cref="Arch.KernelVirtualBase"/>) because the
/// boot stub needs them before any code runs; <see cref="Init"/> panics when they and the layout
/// disagree.
/// </summary>
internal static class KernelRegions
{
    private const ulong GiB = 1UL << 30;

    /// <summary>Bytes of one PML4 entry's span.</summary>
    public const ulong TopLevelSpan = 512 * GiB;

    /// <summary>The vmalloc area (kmalloc's large blocks, vmalloc).</summary>
    public static ulong VmallocStart { get; private set; }
    public static ulong VmallocEnd { get; private set; }
    /// <summary>The physical-mapping window (kmalloc's large blocks of contiguous frames).</summary>
    public static ulong WindowStart { get; private set; }
    public static ulong WindowEnd { get; private set; }
    /// <summary>Where the in-kernel paging tests map and unmap (empty between tests).</summary>
    public static ulong TestWindow { get; private set; }
    /// <summary>One past the kernel stack's highest byte (the end of the kernel-stack region).</summary>
    public static ulong StackTop { get; private set; }
    /// <summary>The start of the kernel-stack region: the other CPUs' stacks lie below the boot
    /// CPU's, each with its guard page, down to here (PerCpus).</summary>
    public static ulong StackRegionStart { get; private set; }

    /// <summary>True once <see cref="Init"/> ran.</summary>
    public static bool Ready { get; private set; }

    /// <summary>Reads the plan. Panics when a region is missing or the boot stub's constants
    /// differ from it (a kernel built against another plan).</summary>
    public static void Init()
    {
        AddressSpaceLayout l = AddressSpaceLayout.X86_64();
        if (!l.TryFind(RegionKind.DirectMap, out LayoutRegion direct) || direct.Start != Arch.DirectMapBase)
            KernelPanic.Fail("kernel regions: the layout's direct map is not at Arch.DirectMapBase", direct.Start);
        if (!l.TryFind(RegionKind.KernelImage, out LayoutRegion image) || l.KernelVirtualOffset != Arch.KernelVirtualBase
            || image.Start > KernelImage.ToVirt(KernelImage.Start) || KernelImage.ToVirt(KernelImage.End) > image.End)
            KernelPanic.Fail("kernel regions: the image does not lie in the layout's kernel-image region", l.KernelVirtualOffset);
        if (!l.TryFind(RegionKind.Vmalloc, out LayoutRegion vm) || vm.End - vm.Start < TopLevelSpan)
            KernelPanic.Fail("kernel regions: the layout has no vmalloc region of a PML4 entry", vm.Start);
        if (!l.TryFind(RegionKind.KernelStack, out LayoutRegion stack) || stack.End - stack.Start < KernelStack.Size + PageSize.Bytes)
            KernelPanic.Fail("kernel regions: the layout's kernel-stack region is missing or too small", stack.Start);

        VmallocStart = vm.Start;
        VmallocEnd = vm.Start + 16 * GiB;
        WindowStart = vm.Start + 64 * GiB;
        WindowEnd = vm.Start + 80 * GiB;
        TestWindow = vm.Start + 256 * GiB;
        StackTop = stack.End;
        StackRegionStart = stack.Start;
        Ready = true;
    }
}
