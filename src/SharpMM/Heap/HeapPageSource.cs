using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Heap;

/// <summary>
/// Where the heap's pages come from: a frame allocator that hands out frames the direct map
/// reaches and keeps a frame table (<see cref="IFrameTableAllocator"/>, e.g. the buddy allocator
/// through <see cref="BuddyClassFrames"/> with <see cref="MemoryClass.Kernel"/>). Slabs,
/// descriptor pages, debug state and (through <see cref="DirectLargeMapper"/>) large
/// allocations all come from here, and the frame table's owner words say which frames are the
/// heap's.
///
/// The allocator's type is a type parameter of <see cref="KernelHeap{TFrames, TMapper}"/>; the
/// slab layer below it is not generic, so the source keeps the allocator's address and three
/// function pointers instantiated for its type (<see cref="Over"/>). The allocator must stay at
/// its address while the heap uses it (the heap keeps it in one of its fields).
/// </summary>
public readonly unsafe struct HeapPageSource
{
    private readonly void* _frames;
    private readonly delegate*<void*, uint, out Pfn, Status> _allocate;
    private readonly delegate*<void*, Pfn, uint, Status> _free;
    private readonly delegate*<void*, void> _drain;
    private readonly DirectMap _map;

    private HeapPageSource(void* frames, delegate*<void*, uint, out Pfn, Status> allocate,
                           delegate*<void*, Pfn, uint, Status> free, delegate*<void*, void> drain, DirectMap map)
    {
        _frames = frames; _allocate = allocate; _free = free; _drain = drain; _map = map;
    }

    /// <summary>A source over the allocator at <paramref name="frames"/> (which must not move
    /// while the source is in use), its frames reached through <paramref name="map"/>.</summary>
    public static HeapPageSource Over<TFrames>(TFrames* frames, DirectMap map) where TFrames : unmanaged, IFrameTableAllocator =>
        new HeapPageSource(frames, &AllocateIn<TFrames>, &FreeIn<TFrames>, &DrainIn<TFrames>, map);

    private static Status AllocateIn<TFrames>(void* frames, uint order, out Pfn pfn) where TFrames : unmanaged, IFrameTableAllocator =>
        ((TFrames*)frames)->Allocate(order, out pfn);
    private static Status FreeIn<TFrames>(void* frames, Pfn pfn, uint order) where TFrames : unmanaged, IFrameTableAllocator =>
        ((TFrames*)frames)->Free(pfn, order);
    private static void DrainIn<TFrames>(void* frames) where TFrames : unmanaged, IFrameTableAllocator =>
        ((TFrames*)frames)->Drain();

    /// <summary>True for a source made by <see cref="Over"/> (default: none).</summary>
    public bool IsValid => _frames != null;

    /// <summary>The direct map.</summary>
    public DirectMap Map => _map;

    /// <summary>Allocates 2^<paramref name="order"/> frames. Return: Ok with the first frame and
    /// its direct-map address; OutOfMemory (nothing changed).</summary>
    public Status Allocate(uint order, out Pfn pfn, out byte* virt)
    {
        Status s = _allocate(_frames, order, out pfn);
        if (s != Status.Ok) { pfn = default; virt = null; return s; }
        virt = ToVirt(pfn);
        return Status.Ok;
    }

    /// <summary>Returns a block this source handed out; panics if the allocator refuses it (the
    /// heap's own bookkeeping would then be wrong).</summary>
    public void Free(Pfn pfn, uint order)
    {
        Status s = _free(_frames, pfn, order);
        if (s != Status.Ok) Panic.Fail("heap: the frame allocator refused a block the heap owned", pfn.Value);
    }

    /// <summary>Returns the block whose first page is at <paramref name="virt"/>.</summary>
    public void Free(void* virt, uint order) => Free(PfnOf(virt), order);

    /// <summary>Drains the allocator's per-CPU caches (memory pressure).</summary>
    public void Drain() => _drain(_frames);

    /// <summary>The direct-map address of frame <paramref name="pfn"/>.</summary>
    public byte* ToVirt(Pfn pfn) => _map.ToVirt(pfn.ToAddr().Value);

    /// <summary>The frame behind a direct-map address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Pfn PfnOf(void* virt) => Pfn.NewUnchecked(_map.ToPhys(virt) >> PageSize.Shift);
}
