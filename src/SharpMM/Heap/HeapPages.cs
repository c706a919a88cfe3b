using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Heap;

/// <summary>
/// What every slab cache of one heap shares: the page source (buddy allocator, kernel frames,
/// direct map), the <see cref="FrameOwnerTable"/> that maps a pointer to its slab, the
/// <see cref="DescriptorPool"/>, the mode, the debug bookkeeping, the registry of live caches
/// (for reports and for reclaim) and the page counters behind /proc/meminfo's Slab line.
///
/// The owner table spans the frames of the zones <see cref="MemoryClass.Kernel"/> may use, so
/// any block the heap gets from the buddy allocator is covered. Under memory pressure (the buddy
/// allocator has no block for a new slab or large allocation) every cache is shrunk (magazines
/// flushed, empty slabs released), the buddy allocator's per-CPU page lists are drained, and
/// the request is retried once.
///
/// Must not move after <see cref="Init"/>: caches and descriptors point at it.
/// Not done: locking (one CPU; the caller serialises).
/// </summary>
public unsafe struct HeapPages
{
    /// <summary>CPUs with their own magazines and hot slot. One today.</summary>
    public const int MaxCpus = 1;
    /// <summary>The running CPU's index into the per-CPU arrays. With one CPU, a constant; with
    /// more, the arch layer's CPU number (and no other change to the fast paths, which touch only
    /// that CPU's magazine and hot slot; refill, flush and the lists would then need a lock).</summary>
    public const int CurrentCpu = 0;

    /// <summary>Each CPU's most recently freed object (see <see cref="HotSlot"/>).</summary>
    public PerCpuHotSlots Hot;
    /// <summary>The pointer-to-slab table (read by every free).</summary>
    public FrameOwnerTable Owners;
    private HeapPageSource _src;
    private DescriptorPool _descriptors;
    private HeapDebug* _debug;
    private HeapConfig _config;
    private SlabCache* _firstCache;
    private ulong _slabPages;
    private ulong _largePages;
    private ulong _largeBytes;
    private ulong _largeCount;
    private ulong _reclaims;
    private Status _failure;
    private bool _hotEnabled;
    private bool _ready;

    private const uint DebugOrder = 2;

    /// <summary>
    /// Sets up over <paramref name="buddy"/> (which must stay at its address while the heap
    /// lives) and <paramref name="map"/> (page aligned). Return: Ok; InvalidArgument for a bad
    /// configuration, an unaligned direct map or a second Init; Unsupported when the kernel
    /// zones span more than the owner table can cover (1 TiB); OutOfMemory (nothing held).
    /// </summary>
    public Status Init(ref BuddyAllocator buddy, DirectMap map, HeapConfig config)
    {
        if (_ready) return Status.InvalidArgument;
        if (config.MagazineCapacity > Magazine.MaxCapacity || config.Mode > HeapMode.Debug) return Status.InvalidArgument;
        if ((map.Offset & PageSize.OffsetMask) != 0) return Status.InvalidArgument;
        int top = buddy.Layout.HighestZoneFor(MemoryClass.Kernel);
        ulong lo = ulong.MaxValue, hi = 0;
        for (int z = 0; z <= top && z < buddy.ZoneCount; z++)
        {
            Zone zone = buddy.GetZone(z);
            if (zone.PresentFrames == 0) continue;
            if (zone.SpannedStartPfn < lo) lo = zone.SpannedStartPfn;
            if (zone.SpannedEndPfn > hi) hi = zone.SpannedEndPfn;
        }
        if (hi <= lo) return Status.OutOfMemory;
        var src = new HeapPageSource((BuddyAllocator*)Unsafe.AsPointer(ref buddy), map);
        FrameOwnerTable owners = default;
        Status s = owners.Init(src, lo, hi);
        if (s != Status.Ok) return s;
        HeapDebug* dbg = null;
        if (config.Mode == HeapMode.Debug)
        {
            if ((ulong)sizeof(HeapDebug) > (PageSize.Bytes << (int)DebugOrder)) Panic.Fail("heap: debug state outgrew its pages");
            s = src.Allocate(DebugOrder, out _, out byte* raw);
            if (s != Status.Ok) { owners.Release(src); return s; }
            dbg = (HeapDebug*)raw;
            dbg->Init();
        }
        this = default;
        Owners = owners;
        _src = src;
        _debug = dbg;
        _config = config;
        _hotEnabled = config.Mode == HeapMode.Fast && config.MagazineCapacity != 0;
        _ready = true;
        return Status.Ok;
    }

    /// <summary>True after a successful <see cref="Init"/>.</summary>
    public readonly bool IsReady => _ready;
    /// <summary>The configuration.</summary>
    public readonly HeapConfig Config => _config;
    /// <summary>True when frees park the object in the CPU's <see cref="HotSlot"/> (fast mode
    /// with magazines).</summary>
    public readonly bool HotEnabled => _hotEnabled;
    /// <summary>True in debug mode.</summary>
    public readonly bool IsDebug => _debug != null;
    /// <summary>Debug bookkeeping (null in fast mode).</summary>
    public readonly HeapDebug* Debug => _debug;
    /// <summary>Where pages come from.</summary>
    public readonly HeapPageSource Source => _src;
    /// <summary>First registered cache (walk with <see cref="SlabCache.NextCache"/>).</summary>
    public readonly SlabCache* FirstCache => _firstCache;
    /// <summary>Pages held by slabs of all caches.</summary>
    public readonly ulong SlabPages => _slabPages;
    /// <summary>Pages held by large allocations.</summary>
    public readonly ulong LargePages => _largePages;
    /// <summary>Bytes requested by live large allocations.</summary>
    public readonly ulong LargeBytes => _largeBytes;
    /// <summary>Live large allocations.</summary>
    public readonly ulong LargeCount => _largeCount;
    /// <summary>Times memory pressure made the heap shrink every cache.</summary>
    public readonly ulong Reclaims => _reclaims;
    /// <summary>Slab descriptors in use.</summary>
    public readonly ulong Descriptors => _descriptors.SlotsUsed;
    /// <summary>Pages of heap metadata: owner table, descriptor pages, debug state.</summary>
    public readonly ulong MetadataPages => Owners.MetadataPages + _descriptors.Pages + (_debug != null ? 1UL << (int)DebugOrder : 0);

    /// <summary>The slab descriptor of the slab holding <paramref name="p"/>, or null when
    /// <paramref name="p"/> is not in a slab.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly SlabDescriptor* SlabOf(void* p)
    {
        ulong index = ((ulong)p - Owners.VirtBase) >> PageSize.Shift;
        if (index >= Owners.Frames) return null;
        ulong e = Owners.At(index);
        return (e & FrameOwnerTable.TagMask) == 0 ? (SlabDescriptor*)e : null;
    }

    // ---- used by the caches and the large-allocation path ----

    /// <summary>The reason the last pointer-returning allocation returned null (read once).</summary>
    internal Status TakeFailure()
    {
        Status s = _failure;
        _failure = Status.Ok;
        return s == Status.Ok ? Status.OutOfMemory : s;
    }

    internal void SetFailure(Status s) => _failure = s;

    internal void Register(SlabCache* c)
    {
        c->NextCache = _firstCache;
        c->PrevCache = null;
        if (_firstCache != null) _firstCache->PrevCache = c;
        _firstCache = c;
    }

    internal void Unregister(SlabCache* c)
    {
        if (c->PrevCache != null) c->PrevCache->NextCache = c->NextCache;
        else _firstCache = c->NextCache;
        if (c->NextCache != null) c->NextCache->PrevCache = c->PrevCache;
        c->NextCache = null;
        c->PrevCache = null;
    }

    /// <summary>2^order kernel frames with owner-table leaves in place; on pressure, shrinks
    /// every cache and tries once more. Return: Ok; OutOfMemory (nothing held).</summary>
    internal Status AllocateBlock(uint order, out ulong pfn, out byte* virt)
    {
        Status s = TryBlock(order, out pfn, out virt);
        if (s != Status.OutOfMemory) return s;
        Reclaim();
        return TryBlock(order, out pfn, out virt);
    }

    private Status TryBlock(uint order, out ulong pfn, out byte* virt)
    {
        Status s = _src.Allocate(order, out pfn, out virt);
        if (s != Status.Ok) return s;
        if (!Owners.Covers(pfn) || !Owners.Covers(pfn + (1UL << (int)order) - 1))
            Panic.Fail("heap: the buddy allocator returned a kernel frame outside the kernel zones", pfn);
        s = Owners.Ensure(_src, pfn, 1UL << (int)order);
        if (s != Status.Ok) { _src.Free(pfn, order); pfn = 0; virt = null; }
        return s;
    }

    internal void FreeBlock(ulong pfn, uint order) => _src.Free(pfn, order);

    // Memory pressure: every cache gives back its magazines' objects and empty slabs, and the
    // buddy allocator's per-CPU page lists are drained so that freed frames can merge (Linux
    // drains the per-CPU lists in the allocation slow path for the same reason).
    private void Reclaim()
    {
        _reclaims++;
        ShrinkAll();
        _src.Buddy->Drain();
    }

    internal Status AllocateDescriptor(uint bytes, out SlabDescriptor* d)
    {
        Status s = _descriptors.Allocate(_src, bytes, out d);
        if (s != Status.OutOfMemory) return s;
        Reclaim();
        return _descriptors.Allocate(_src, bytes, out d);
    }

    internal void FreeDescriptor(SlabDescriptor* d) => _descriptors.Free(_src, d);

    internal void SlabPagesChanged(long delta) => _slabPages = (ulong)((long)_slabPages + delta);

    internal void LargeChanged(long pages, long bytes, long count)
    {
        _largePages = (ulong)((long)_largePages + pages);
        _largeBytes = (ulong)((long)_largeBytes + bytes);
        _largeCount = (ulong)((long)_largeCount + count);
    }

    /// <summary>Shrinks every registered cache (flushes magazines, releases empty slabs).
    /// Return: pages given back to the buddy allocator.</summary>
    public ulong ShrinkAll()
    {
        for (int c = 0; c < MaxCpus; c++)
        {
            SlabCache* owner = Hot[c].Owner;
            if (owner != null) owner->EvictHot(c);
            else Hot[c].Clear();
        }
        ulong pages = 0;
        for (SlabCache* c = _firstCache; c != null; c = c->NextCache) pages += c->Shrink();
        return pages;
    }

    /// <summary>Gives the owner table and debug pages back. Every cache must have been
    /// destroyed and every large allocation freed. Return: Ok; InvalidArgument (nothing
    /// changed) while a cache or a large allocation is live.</summary>
    public Status Release()
    {
        if (!_ready) return Status.InvalidArgument;
        if (_firstCache != null || _largeCount != 0 || _descriptors.SlotsUsed != 0) return Status.InvalidArgument;
        if (_debug != null) _src.Free(_debug, DebugOrder);
        Owners.Release(_src);
        this = default;
        return Status.Ok;
    }
}
