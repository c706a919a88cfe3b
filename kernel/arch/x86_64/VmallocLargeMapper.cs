using SharpMM.Addressing;
using SharpMM.Heap;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.Virtual;

namespace SharpMM.Kernel;

/// <summary>
/// kmalloc's large path as seed 002 describes it: the heap takes a buddy block and this maps it
/// at a free virtual range of the kernel (followed by an unmapped guard page), so an overrun
/// faults instead of running into the next block. Until the kernel runs on its own page tables
/// (<see cref="KernelAddressSpace.Active"/>) blocks are reached through the boot identity map,
/// as the direct-map version does.
///
/// <code>
///   0xffffd00000000000 +-----------------+   physical-mapping window (16 GiB):
///                      | large block     |   kmalloc blocks and device memory,
///                      | guard (unmapped)|   each followed by a guard page
///                      | ...             |
///   0xffffd00400000000 +-----------------+
/// </code>
/// </summary>
internal readonly unsafe struct VmallocLargeMapper : ILargeMapper
{
    public const ulong WindowStart = 0xffffd00000000000, WindowEnd = 0xffffd00400000000;
    public const ulong VmallocStart = 0xffffc90100000000, VmallocEnd = 0xffffc90500000000;

    private static KernelVirtualMemory<X86LongModeFormat, DirectMapTableAccess> s_vm;
    private static bool s_ready;

    /// <summary>Called once the kernel's own tables are live.</summary>
    public static void Attach()
    {
        if (s_vm.Init(KernelAddressSpace.Mapper, VmallocStart, VmallocEnd, WindowStart, WindowEnd) != Status.Ok)
            KernelPanic.Fail("kernel vm: window setup failed");
        s_ready = true;
    }

    /// <summary>The kernel's vmalloc / physical-mapping allocator (after <see cref="Attach"/>).</summary>
    public static ref KernelVirtualMemory<X86LongModeFormat, DirectMapTableAccess> Vm => ref s_vm;

    public Status Map(Pfn first, uint order, out byte* virt)
    {
        if (!s_ready) { virt = (byte*)first.ToAddr().Value; return Status.Ok; }
        KernelFrames frames = default;
        Status s = s_vm.MapFrames(first.ToAddr().Value, PageSize.Bytes << (int)order, ref frames, ref KernelAddressSpace.Hooks, out ulong va);
        virt = (byte*)va;
        return s == Status.Ok ? Status.Ok : Status.OutOfMemory;
    }

    public void Unmap(byte* virt, uint order)
    {
        if (!s_ready || !s_vm.InPhysicalWindow((ulong)virt)) return; // a block from before the switch: identity
        KernelFrames frames = default;
        if (s_vm.UnmapDevice((ulong)virt, ref frames, ref KernelAddressSpace.Hooks) != Status.Ok)
            KernelPanic.Fail("kmalloc large: unmap of a mapped block failed", (ulong)virt);
    }

    public bool TryTranslate(void* virt, out Pfn pfn)
    {
        ulong va = (ulong)virt;
        if (s_ready && s_vm.InPhysicalWindow(va))
        {
            if (KernelAddressSpace.Translate(va, out Translation t) != Status.Ok) { pfn = default; return false; }
            pfn = Pfn.NewUnchecked(t.Phys.Value >> PageSize.Shift);
            return true;
        }
        // Identity-mapped RAM (blocks from before the switch).
        if (va >= PageSize.Bytes && va < KernelAddressSpace.DirectMapEnd) { pfn = Pfn.NewUnchecked(va >> PageSize.Shift); return true; }
        pfn = default;
        return false;
    }
}
