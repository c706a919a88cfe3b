using System.Runtime.CompilerServices;
using System.Threading;
using SpinLock = SharpMM.Concurrency.SpinLock;
using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Physical;

namespace SharpMM.Heap;

/// <summary>
/// What every slab cache of one heap shares: the page source (<see cref="HeapPageSource"/>:
/// the frame allocator and the direct map), the frame table whose owner words map a pointer to
/// its slab (<see cref="FrameOwner"/>: a slab frame's word is its descriptor's address), the
/// <see cref="DescriptorPool"/>, the mode, the debug bookkeeping, the registry of live caches
/// (for reports and for reclaim) and the page counters behind /proc/meminfo's Slab line.
///
/// Under memory pressure (the allocator has no block for a new slab or large allocation) the
/// other CPUs are asked to give back their cached objects (drain on demand, below), the current
/// CPU's are flushed, every cache's empty slabs are released, the allocator's per-CPU page
/// lists are drained, and the request is retried once.
///
/// Several CPUs. The page source calls, the descriptor pool, the page and large-allocation
/// counters and the cache registry are under the page lock (<see cref="LockRank.HeapPages"/>),
/// which a CPU may take while holding a cache lock (a slab released by a flush), never the other
/// way round; the buddy allocator's zone lock comes after it. Nothing is held while the heap
/// waits for other CPUs or reclaims. Each CPU's hot slot, magazines and failure status are its
/// own.
/// <para>Drain on demand. A CPU's per-CPU layers can only be changed by that CPU (its fast paths
/// take no lock), and not from an interrupt handler either (the interrupt may arrive in the
/// middle of a magazine push). So a CPU short of pages bumps a drain generation, sends
/// <see cref="CpuRequest.DrainSlabCaches"/> to the other CPUs (to wake them: the handler itself
/// does nothing), and waits a bounded time for each to reach a safe point (its next slab slow
/// path, or <see cref="DrainIfRequested"/> from the host's idle loop) and report the
/// generation drained. A CPU that does not answer in time (busy with no slow path, or blocked)
/// keeps its objects; the retry then goes ahead without them.</para>
///
/// Must not move after <see cref="Init"/>: caches and descriptors point at it.
/// </summary>
public unsafe struct HeapPages
{
    /// <summary>Relax turns a CPU short of pages waits for the others to drain.</summary>
    public const int DrainWaitSpins = 1 << 15;

    // Bumped by every drain request (of any heap); each heap records per CPU the last one drained.
    private static int s_drainGeneration;

    /// <summary>The index of the caller's per-CPU state: 0 while one CPU is online (a CPU numbered n
    /// runs heap code only while more than n are online), else <see cref="Cpu.Current"/>. The
    /// fast paths decide the same way (<see cref="SlabCache"/>).</summary>
    public static int CurrentCpu => Cpu.Online == 1 ? 0 : Cpu.Current;

    // Read by every CPU's allocations and frees, written only by Init (first, where the JIT's
    // null checks of a HeapPages pointer read): the frame table (its owner words map a pointer
    // to its slab) and the direct map's offset, next to each other for kfree; the settings.
    private FrameMap _frames;
    private ulong _directMapOffset;
    private HeapDebug* _debug;
    private HeapConfig _config;
    private bool _hotEnabled;
    private CacheLineGap _afterSettings;
    /// <summary>Each CPU's most recently freed object (see <see cref="HotSlot"/>).</summary>
    public PerCpuHotSlots Hot;
    // Slabs given back so far: written under the page lock, read by the lent-object free
    // shortcut. On lines of its own: a slab release (frequent when objects are freed on other
    // CPUs, W6x) must not take away a line that every free reads.
    private PaddedFlag _slabReleases;
    private CacheLineGap _afterSlabReleases;
    private HeapPageSource _src;
    private DescriptorPool _descriptors;
    private SlabCache* _firstCache;
    private ulong _slabPages;
    private ulong _inboxPages;
    private ulong _largePages;
    private ulong _largeBytes;
    private ulong _largeCount;
    private ulong _reclaims;
    private PerCpuStatus _failure;
    private PerCpuWords _drained;
    private ulong _drainRequests;
    private ulong _drainTimeouts;
    // The page source, the descriptor pool, the counters above and the cache registry.
    private SpinLock _lock;
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
        _lock.Init(LockRank.HeapPages);
        int generation = Volatile.Read(ref s_drainGeneration);
        for (int c = 0; c < Cpu.MaxCpus; c++) _drained[c].Value = generation;
        Cpu.SetRequestHandler(CpuRequest.DrainSlabCaches, &OnDrainRequest);
        _ready = true;
        return Status.Ok;
    }

    // The drain request's interrupt only wakes the CPU: its per-CPU layers may be half changed
    // under the interrupt, so it drains at its next safe point (see the type's summary).
    private static void OnDrainRequest() { }

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
    /// <summary>Drain requests sent to other CPUs under memory pressure.</summary>
    public readonly ulong DrainRequests => _drainRequests;
    /// <summary>Drain requests some CPU did not answer within <see cref="DrainWaitSpins"/>.</summary>
    public readonly ulong DrainTimeouts => _drainTimeouts;
    /// <summary>Slabs given back to the page source so far. A hot slot compares it with the
    /// count it recorded to know that its object's slab, and so its allocated byte, still
    /// exist (<see cref="SlabCache.TryFreeLent"/>).</summary>
    public readonly uint SlabReleases
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (uint)_slabReleases.Value;
    }
    /// <summary>The page lock's statistics.</summary>
    public readonly LockStats LockStats => _lock.Stats;

    /// <summary>Adds the heap's locks to <paramref name="report"/>: its page lists' lock and
    /// every slab cache's, summed, and the inbox locks of every cache and CPU that has one, summed.</summary>
    public readonly void AddLockStats(ref LockReport report)
    {
        report.Add(LockRank.HeapPages, 1, _lock.Stats);
        LockStats caches = default, inboxes = default;
        ulong count = 0, inboxCount = 0;
        for (SlabCache* c = _firstCache; c != null; c = c->NextCache)
        {
            caches.Add(c->LockStats);
            inboxes.Add(c->InboxLockStats);
            count++;
            inboxCount += c->Inboxes;
        }
        report.Add(LockRank.SlabCache, count, caches);
        report.Add(LockRank.SlabInbox, inboxCount, inboxes);
    }
    /// <summary>Slab descriptors in use.</summary>
    public readonly ulong Descriptors => _descriptors.SlotsUsed;
    /// <summary>Pages of heap metadata: descriptor pages, debug state (the owner words are
    /// part of the frame table, counted with the physical layer's metadata).</summary>
    public readonly ulong MetadataPages => _descriptors.Pages + _inboxPages + (_debug != null ? 1UL << (int)DebugOrder : 0);
    /// <summary>Pages of the caches' inboxes (<see cref="Inbox"/>; part of <see cref="MetadataPages"/>).</summary>
    public readonly ulong InboxPages => _inboxPages;

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

    /// <summary>The reason the current CPU's last pointer-returning allocation returned null
    /// (read once). Out of line: finding the CPU may be a call, which must not sit in the
    /// kmalloc fast path that ends here on failure.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal Status TakeFailure()
    {
        ref Status slot = ref _failure[CurrentCpu];
        Status s = slot;
        slot = Status.Ok;
        return s == Status.Ok ? Status.OutOfMemory : s;
    }

    internal void SetFailure(Status s) => _failure[CurrentCpu] = s;

    internal void SetFailure(int cpu, Status s) => _failure[cpu] = s;

    internal void Register(SlabCache* c)
    {
        _lock.Acquire();
        c->NextCache = _firstCache;
        c->PrevCache = null;
        if (_firstCache != null) _firstCache->PrevCache = c;
        _firstCache = c;
        _lock.Release();
    }

    internal void Unregister(SlabCache* c)
    {
        _lock.Acquire();
        if (c->PrevCache != null) c->PrevCache->NextCache = c->NextCache;
        else _firstCache = c->NextCache;
        if (c->NextCache != null) c->NextCache->PrevCache = c->PrevCache;
        c->NextCache = null;
        c->PrevCache = null;
        _lock.Release();
    }

    // The registered cache after c (the first for null), read under the lock: the walks below
    // take each cache's lock, which comes before the page lock, so they cannot hold it
    // throughout. A cache must not be destroyed while the heap may walk to it.
    private SlabCache* NextRegistered(SlabCache* c)
    {
        _lock.Acquire();
        SlabCache* next = c == null ? _firstCache : c->NextCache;
        _lock.Release();
        return next;
    }

    /// <summary>2^order frames; on pressure, reclaims (see the type's summary) and tries once
    /// more. Called with no heap lock held. Return: Ok; OutOfMemory (nothing held).</summary>
    internal Status AllocateBlock(uint order, out Pfn pfn, out byte* virt)
    {
        Status s = TryBlock(order, out pfn, out virt);
        if (s != Status.OutOfMemory) return s;
        Reclaim();
        return TryBlock(order, out pfn, out virt);
    }

    private Status TryBlock(uint order, out Pfn pfn, out byte* virt)
    {
        _lock.Acquire();
        Status s = _src.Allocate(order, out pfn, out virt);
        _lock.Release();
        if (s != Status.Ok) return s;
        if (!_frames.HasMetadata(pfn) || !_frames.HasMetadata(pfn.Add((1UL << (int)order) - 1)))
            Panic.Fail("heap: the frame allocator returned a frame its frame table does not describe", pfn.Value);
        return s;
    }

    internal void FreeBlock(Pfn pfn, uint order)
    {
        _lock.Acquire();
        _src.Free(pfn, order);
        _lock.Release();
    }

    // Memory pressure: the other CPUs are asked to give back their cached objects, this CPU
    // gives back its own, every cache its empty slabs, and the buddy allocator's per-CPU page
    // lists are drained so that freed frames can merge (Linux drains the per-CPU lists in the
    // allocation slow path for the same reason). No heap lock is held.
    private void Reclaim()
    {
        int cpu = CurrentCpu;
        ulong others = Cpu.OnlineMask & ~(1UL << cpu);
        int generation = 0;
        if (others != 0)
        {
            generation = Interlocked.Increment(ref s_drainGeneration);
            Cpu.Kick(others, CpuRequest.DrainSlabCaches);
        }
        DrainCpu(cpu);
        if (others != 0) WaitForDrains(others, generation);
        _lock.Acquire();
        _reclaims++;
        if (others != 0) _drainRequests++;
        _lock.Release();
        for (SlabCache* c = NextRegistered(null); c != null; c = NextRegistered(c)) c->ReleaseEmptySlabs();
        _lock.Acquire();
        _src.Drain();
        _lock.Release();
    }

    // Waits until every CPU of the mask has drained generation `generation` or later, or the
    // wait runs out. Answers drain requests of this CPU meanwhile (two CPUs short of pages at
    // once wait for each other).
    private void WaitForDrains(ulong cpus, int generation)
    {
        for (int spin = 0; spin < DrainWaitSpins; spin++)
        {
            bool all = true;
            for (ulong m = cpus; m != 0; m &= m - 1)
            {
                int c = System.Numerics.BitOperations.TrailingZeroCount(m);
                if (Volatile.Read(ref _drained[c].Value) - generation < 0) { all = false; break; }
            }
            if (all) return;
            DrainIfRequested();
            Cpu.Relax();
        }
        _lock.Acquire();
        _drainTimeouts++;
        _lock.Release();
    }

    /// <summary>True when a drain was requested since CPU <paramref name="cpu"/> last drained
    /// (read by the slab slow paths).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal readonly bool DrainRequested(int cpu) => Volatile.Read(ref s_drainGeneration) != _drained[cpu].Value;

    /// <summary>Drains the current CPU's cached objects if another CPU asked for it. For the
    /// host at a point where the CPU runs no heap operation (the idle loop).</summary>
    public void DrainIfRequested()
    {
        if (!_ready) return;
        int cpu = CurrentCpu;
        if (DrainRequested(cpu)) DrainCpu(cpu);
    }

    /// <summary>Gives back the current CPU's hot object and magazines of every cache (a CPU
    /// going idle or offline; the tests' full drain). Must not be called from inside a heap
    /// operation or an interrupt handler.</summary>
    public void DrainCurrentCpu()
    {
        if (_ready) DrainCpu(CurrentCpu);
    }

    // CPU `cpu` (the caller) gives back its hot object and every magazine (except one being
    // refilled), then records the generation it has answered.
    internal void DrainCpu(int cpu)
    {
        int generation = Volatile.Read(ref s_drainGeneration);
        SlabCache* owner = Hot[cpu].Owner;
        if (owner != null) owner->EvictHot(cpu);
        for (SlabCache* c = NextRegistered(null); c != null; c = NextRegistered(c)) c->DrainCpu(cpu);
        Volatile.Write(ref _drained[cpu].Value, generation);
    }

    /// <summary>A new slab's 2^order frames and its descriptor of <paramref name="descBytes"/>
    /// bytes, counted in the slab pages, under one acquisition of the page lock (three made it
    /// the lock CPUs waited for most when caches on several CPUs grow). On pressure, reclaims and
    /// tries once more. Called with no heap lock held. Return: Ok; OutOfMemory (nothing held).</summary>
    internal Status AllocateSlab(uint order, uint descBytes, out Pfn pfn, out byte* virt, out SlabDescriptor* d)
    {
        Status s = TrySlab(order, descBytes, out pfn, out virt, out d);
        if (s != Status.OutOfMemory) return s;
        Reclaim();
        return TrySlab(order, descBytes, out pfn, out virt, out d);
    }

    private Status TrySlab(uint order, uint descBytes, out Pfn pfn, out byte* virt, out SlabDescriptor* d)
    {
        d = null;
        _lock.Acquire();
        Status s = _src.Allocate(order, out pfn, out virt);
        if (s == Status.Ok)
        {
            s = _descriptors.Allocate(_src, descBytes, out d);
            if (s == Status.Ok) _slabPages += 1UL << (int)order;
            else _src.Free(pfn, order);
        }
        _lock.Release();
        if (s != Status.Ok) return s;
        if (!_frames.HasMetadata(pfn) || !_frames.HasMetadata(pfn.Add((1UL << (int)order) - 1)))
            Panic.Fail("heap: the frame allocator returned a frame its frame table does not describe", pfn.Value);
        return s;
    }

    /// <summary>A page for a CPU's inbox in a cache, counted in the metadata pages, under one
    /// acquisition of the page lock. No reclaim: a CPU without an inbox has its objects sent back
    /// to their slabs instead, which is no reason to empty every cache. Called with no heap lock
    /// held. Return: Ok; OutOfMemory (nothing held).</summary>
    internal Status AllocateInboxPage(out byte* virt)
    {
        _lock.Acquire();
        Status s = _src.Allocate(0, out Pfn pfn, out virt);
        if (s == Status.Ok) _inboxPages++;
        _lock.Release();
        return s;
    }

    /// <summary>An inbox's page back (its cache is being destroyed).</summary>
    internal void FreeInboxPage(byte* virt)
    {
        _lock.Acquire();
        _src.Free(virt, 0);
        _inboxPages--;
        _lock.Release();
    }

    // A slab's frames, descriptor and page count back, under one acquisition of the page lock
    // (the caller holds the slab's cache lock).
    internal void ReleaseSlabPages(SlabDescriptor* d, Pfn pfn, uint order)
    {
        ReleaseOwner(pfn, 1UL << (int)order);
        _lock.Acquire();
        // Before the descriptor's memory can be reused: a hot slot that still names an object
        // of this slab then no longer trusts its allocated byte.
        Volatile.Write(ref _slabReleases.Value, _slabReleases.Value + 1);
        _descriptors.Free(_src, d);
        _src.Free(pfn, order);
        _slabPages -= 1UL << (int)order;
        _lock.Release();
    }

    internal void LargeChanged(long pages, long bytes, long count)
    {
        _lock.Acquire();
        _largePages = (ulong)((long)_largePages + pages);
        _largeBytes = (ulong)((long)_largeBytes + bytes);
        _largeCount = (ulong)((long)_largeCount + count);
        _lock.Release();
    }

    /// <summary>Flushes the current CPU's hot object and magazines and releases every cache's
    /// empty slabs (objects cached by other CPUs stay: they drain themselves, see
    /// <see cref="DrainCurrentCpu"/>). Return: pages given back to the buddy allocator.</summary>
    public ulong ShrinkAll()
    {
        DrainCpu(CurrentCpu);
        ulong pages = 0;
        for (SlabCache* c = NextRegistered(null); c != null; c = NextRegistered(c)) pages += c->ReleaseEmptySlabs();
        return pages;
    }

    /// <summary>Gives the debug pages back. Every cache must have been
    /// destroyed and every large allocation freed. Return: Ok; InvalidArgument (nothing
    /// changed) while a cache or a large allocation is live.</summary>
    public Status Release()
    {
        if (!_ready) return Status.InvalidArgument;
        if (_firstCache != null || _largeCount != 0 || _descriptors.SlotsUsed != 0 || _inboxPages != 0) return Status.InvalidArgument;
        if (_debug != null) _src.Free(_debug, DebugOrder);
        this = default;
        return Status.Ok;
    }
}
