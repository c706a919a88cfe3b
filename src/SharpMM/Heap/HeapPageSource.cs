using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Heap;

/// <summary>
/// Where the heap's pages come from: the buddy allocator (<see cref="MemoryClass.Kernel"/>
/// blocks), reached through the direct map. Slabs, descriptor pages, the frame-owner table and
/// (through <see cref="DirectLargeMapper"/>) large allocations all come from here. The buddy
/// allocator must stay at the same address while the heap uses it (it lives in the kernel's
/// static memory or, hosted, in native memory).
/// </summary>
public readonly unsafe struct HeapPageSource
{
    private readonly BuddyAllocator* _buddy;
    private readonly DirectMap _map;

    /// <summary>A source over <paramref name="buddy"/> and <paramref name="map"/>.</summary>
    public HeapPageSource(BuddyAllocator* buddy, DirectMap map) { _buddy = buddy; _map = map; }

    /// <summary>The buddy allocator.</summary>
    public BuddyAllocator* Buddy => _buddy;

    /// <summary>The direct map.</summary>
    public DirectMap Map => _map;

    /// <summary>Allocates 2^<paramref name="order"/> kernel frames. Return: Ok with the first
    /// frame and its direct-map address; OutOfMemory (nothing changed).</summary>
    public Status Allocate(uint order, out ulong pfn, out byte* virt)
    {
        Status s = _buddy->Allocate(order, MemoryClass.Kernel, out Pfn p);
        if (s != Status.Ok) { pfn = 0; virt = null; return s; }
        pfn = p.Value;
        virt = _map.ToVirt(pfn << PageSize.Shift);
        return Status.Ok;
    }

    /// <summary>Returns a block this source handed out; panics if the buddy allocator refuses
    /// it (the heap's own bookkeeping would then be wrong).</summary>
    public void Free(ulong pfn, uint order)
    {
        Status s = _buddy->Free(Pfn.NewUnchecked(pfn), order);
        if (s != Status.Ok) Panic.Fail("heap: the buddy allocator refused a block the heap owned", pfn);
    }

    /// <summary>Returns the block whose first page is at <paramref name="virt"/>.</summary>
    public void Free(void* virt, uint order) => Free(PfnOf(virt), order);

    /// <summary>The direct-map address of frame <paramref name="pfn"/>.</summary>
    public byte* ToVirt(ulong pfn) => _map.ToVirt(pfn << PageSize.Shift);

    /// <summary>The frame behind a direct-map address.</summary>
    public ulong PfnOf(void* virt) => _map.ToPhys(virt) >> PageSize.Shift;
}
