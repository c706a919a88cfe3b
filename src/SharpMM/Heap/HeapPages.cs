using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Heap;

/// <summary>
/// What every slab cache of one heap shares: the page source (<see cref="HeapPageSource"/>:
/// the frame allocator and the direct map), the frame table whose owner words map a pointer to
/// its slab (<see cref="FrameOwner"/>: a slab frame's word is its descriptor's address), the
/// <see cref="DescriptorPool"/>, the mode, the debug bookkeeping, the registry of live caches
/// (for reports and for reclaim) and the page counters behind /proc/meminfo's Slab line.
///
/// Under memory pressure (the allocator has no block for a new slab or large allocation) every
/// cache is shrunk (magazines flushed, empty slabs released), the allocator's per-CPU page
/// lists are drained, and the request is retried once.
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
    // The frame table (its owner words map a pointer to its slab: read by every free) and the
    // direct map's offset, next to each other for kfree.
    private FrameMap _frames;
    private ulong _directMapOffset;
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
    /// Sets up over <paramref name="src"/> (frames the direct map reaches) and the frame table
    /// <paramref name="table"/> that describes them (the heap keeps its owner words there).
    /// Return: Ok; InvalidArgument for a bad configuration, an unaligned direct map, a source
    /// that is not set up or a second Init; OutOfMemory (nothing held).
    /// </summary>
    public Status Init(HeapPageSource src, in FrameMap table, HeapConfig config)
    {
        if (_ready) return Status.InvalidArgument;
        if (config.MagazineCapacity > Magazine.MaxCapacity || config.Mode > HeapMode.Debug) return Status.InvalidArgument;
        if ((src.Map.Offset & PageSize.OffsetMask) != 0 || !src.IsValid || table.SectionCount == 0) return Status.InvalidArgument;
        HeapDebug* dbg = null;
        if (config.Mode == HeapMode.Debug)
        {
            if ((ulong)sizeof(HeapDebug) > (PageSize.Bytes << (int)DebugOrder)) Panic.Fail("heap: debug state outgrew its pages");
            Status s = src.Allocate(DebugOrder, out _, out byte* raw);
            if (s != Status.Ok) return s;
            dbg = (HeapDebug*)raw;
            dbg->Init();
        }
        this = default;
        _frames = table;
        _directMapOffset = src.Map.Offset;
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
    /// <summary>Pages of heap metadata: descriptor pages, debug state (the owner words are
    /// part of the frame table, counted with the physical layer's metadata).</summary>
    public readonly ulong MetadataPages => _descriptors.Pages + (_debug != null ? 1UL << (int)DebugOrder : 0);

    /// <summary>The frame table the heap keeps its owner words in.</summary>
    public readonly FrameMap Frames => _frames;

    /// <summary>The frame behind direct-map address <paramref name="p"/> (any pointer: the
    /// result may be a frame without metadata).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly Pfn PfnOf(void* p) => Pfn.NewUnchecked(((ulong)p - _directMapOffset) >> PageSize.Shift);

    /// <summary>The slab descriptor of the slab holding <paramref name="p"/>, or null when
    /// <paramref name="p"/> is not in a slab.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly SlabDescriptor* SlabOf(void* p)
    {
        ulong e = _frames.OwnerWordOrNone(PfnOf(p));
        return FrameOwner.IsAddress(e) ? (SlabDescriptor*)e : null;
    }

    /// <summary>The owner word of frame <paramref name="pfn"/>: false when it has none (no
    /// metadata, or a free block's head).</summary>
    public readonly bool TryOwner(Pfn pfn, out ulong word) => _frames.TryOwnerWord(pfn, out word);

    /// <summary>True when frame <paramref name="pfn"/> has a descriptor (is RAM).</summary>
    public readonly bool IsRam(Pfn pfn) => _frames.HasMetadata(pfn);

    /// <summary>Claims and sets the owner words of frames [first, first + count), which the heap
    /// holds (<see cref="FrameMap.ClaimOwnerWord"/>).</summary>
    public readonly void SetOwner(Pfn first, ulong count, ulong word)
    {
        for (ulong pfn = first.Value; pfn < first.Value + count; pfn++)
        {
            if (!_frames.HasMetadata(Pfn.NewUnchecked(pfn))) Panic.Fail("heap: owner word of a frame without a descriptor", pfn);
            *_frames.ClaimOwnerWord((uint)pfn) = word;
        }
    }

    /// <summary>Ends the owner words of frames [first, first + count), which the heap is about
    /// to give back (<see cref="FrameMap.ReleaseOwnerWord"/>).</summary>
    public readonly void ReleaseOwner(Pfn first, ulong count)
    {
        for (ulong pfn = first.Value; pfn < first.Value + count; pfn++)
        {
            if (!_frames.HasMetadata(Pfn.NewUnchecked(pfn))) Panic.Fail("heap: owner word of a frame without a descriptor", pfn);
            _frames.ReleaseOwnerWord((uint)pfn);
        }
    }

    /// <summary>True when frame <paramref name="pfn"/> is free (<see cref="FrameMap.IsFree"/>).</summary>
    public readonly bool IsFree(Pfn pfn) => _frames.IsFree(pfn);

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

    /// <summary>2^order frames; on pressure, shrinks every cache and tries once more.
    /// Return: Ok; OutOfMemory (nothing held).</summary>
    internal Status AllocateBlock(uint order, out Pfn pfn, out byte* virt)
    {
        Status s = TryBlock(order, out pfn, out virt);
        if (s != Status.OutOfMemory) return s;
        Reclaim();
        return TryBlock(order, out pfn, out virt);
    }

    private Status TryBlock(uint order, out Pfn pfn, out byte* virt)
    {
        Status s = _src.Allocate(order, out pfn, out virt);
        if (s != Status.Ok) return s;
        if (!_frames.HasMetadata(pfn) || !_frames.HasMetadata(pfn.Add((1UL << (int)order) - 1)))
            Panic.Fail("heap: the frame allocator returned a frame its frame table does not describe", pfn.Value);
        return s;
    }

    internal void FreeBlock(Pfn pfn, uint order) => _src.Free(pfn, order);

    // Memory pressure: every cache gives back its magazines' objects and empty slabs, and the
    // buddy allocator's per-CPU page lists are drained so that freed frames can merge (Linux
    // drains the per-CPU lists in the allocation slow path for the same reason).
    private void Reclaim()
    {
        _reclaims++;
        ShrinkAll();
        _src.Drain();
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

    /// <summary>Gives the debug pages back. Every cache must have been
    /// destroyed and every large allocation freed. Return: Ok; InvalidArgument (nothing
    /// changed) while a cache or a large allocation is live.</summary>
    public Status Release()
    {
        if (!_ready) return Status.InvalidArgument;
        if (_firstCache != null || _largeCount != 0 || _descriptors.SlotsUsed != 0) return Status.InvalidArgument;
        if (_debug != null) _src.Free(_debug, DebugOrder);
        this = default;
        return Status.Ok;
    }
}
