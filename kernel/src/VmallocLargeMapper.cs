using SharpMM.Addressing;
using SharpMM.Heap;
using SharpMM.Paging;
using SharpMM.Virtual;

namespace SharpMM.Kernel;

/// <summary>
/// kmalloc's large path in the classic design: the heap takes a buddy block and this maps it
/// at a free virtual range of the kernel (followed by an unmapped guard page), so an overrun
/// faults instead of running into the next block. Until the kernel runs on its own page tables
/// (<see cref="Attach"/>) blocks are reached through the boot direct map, as the direct-map
/// version does. The windows and the tables' types are the architecture's:
///
/// <code>
///                 vmalloc area                               physical-mapping window
///   x86-64        0xffffc90000000000-0xffffc90400000000      0xffffc91000000000-0xffffc91400000000 (16 GiB)
///   i386          0xf8800000-0xfc000000                      0xfc000000-0xff000000 (48 MiB)
/// </code>
/// (Platform.VmallocStart/End, Platform.WindowStart/End; the tables are Platform.LiveTables,
/// of the format and access the global aliases KernelPagingFormat and KernelTableAccess name.)
/// </summary>
internal readonly unsafe struct VmallocLargeMapper : ILargeMapper
{
    private static KernelVirtualMemory<KernelPagingFormat, KernelTableAccess> s_vm;
    private static bool s_ready;

    /// <summary>Called once the kernel's own tables are live.</summary>
    public static void Attach()
    {
        if (s_vm.Init(Platform.LiveTables, Platform.VmallocStart, Platform.VmallocEnd, Platform.WindowStart, Platform.WindowEnd) != Status.Ok)
            KernelPanic.Fail("kernel vm: window setup failed");
        s_ready = true;
    }

    /// <summary>The kernel's vmalloc / physical-mapping allocator (after <see cref="Attach"/>).</summary>
    public static ref KernelVirtualMemory<KernelPagingFormat, KernelTableAccess> Vm => ref s_vm;

    public Status Map(Pfn first, uint order, out byte* virt)
    {
        if (!s_ready) { virt = Platform.DirectMap.ToVirt(first.ToAddr().Value); return Status.Ok; }
        KernelFrames frames = default;
        Status s = s_vm.MapFrames(first.ToAddr().Value, PageSize.Bytes << (int)order, ref frames, ref KernelAddressSpace.Hooks, out ulong va);
        virt = (byte*)(nuint)va;
        return s == Status.Ok ? Status.Ok : Status.OutOfMemory;
    }

    public void Unmap(byte* virt, uint order)
    {
        if (!s_ready || !s_vm.InPhysicalWindow((ulong)virt)) return; // a block from before the switch: direct map
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
        // Direct-mapped RAM (blocks from before the switch).
        if (Platform.InDirectMap(va)) { pfn = Pfn.NewUnchecked(Platform.DirectMap.ToPhys(virt) >> PageSize.Shift); return true; }
        pfn = default;
        return false;
    }
}
