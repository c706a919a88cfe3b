using System;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Threading;
using SharpMM.Addressing;
using SharpMM.Concurrency;

namespace SharpMM.Physical;

/// <summary>Per-CPU cache settings: Linux-like defaults are batch 63, high 378 (6 batches).</summary>
public struct PcpConfig
{
    /// <summary>Frames moved per refill or drain.</summary>
    public uint Batch;
    /// <summary>The least high of a cache (Linux's high_min): every CPU's cache drains when it
    /// holds more than its own high, which starts here and tunes itself between this and
    /// <see cref="BuddyAllocator.PcpHighMax"/>; 0 turns the cache off.</summary>
    public uint High;

    /// <summary>Batch 63, high 378.</summary>
    public static PcpConfig Default => new PcpConfig { Batch = 63, High = 378 };
    /// <summary>No per-CPU cache: every order-0 request goes to the free lists.</summary>
    public static PcpConfig Off => new PcpConfig { Batch = 0, High = 0 };
}

/// <summary>
/// The core page allocator: a binary buddy allocator, orders 0..10 (4 KiB to 4 MiB), in zones.
///
/// Algorithm: a free block of order k is 2^k frames aligned to 2^k; it sits on its zone's list
/// for order k (doubly linked, LIFO, links in <see cref="FrameLinks"/>). Allocation takes the
/// smallest non-empty order at or above the request (one bit scan over the non-empty mask) and
/// splits, keeping the lower half and freeing upper halves down the orders. Free coalesces with
/// the buddy (frame ^ 2^k) while the buddy is free at the same order.
///
/// Metadata: the frame table (<see cref="FrameMap"/>: per frame a state byte and a word that
/// holds the list links while the frame heads a free block and is its owner's once the owner
/// writes it, <see cref="FrameOwner"/>; every state byte written here has
/// <see cref="FrameInfo.Owned"/> clear, which is what keeps old links from being read as an
/// owner word) and, per
/// order, one bit per buddy pair that is 1 exactly when one of the two is a free block of that
/// order. Free flips the bit:
/// if it becomes 0 the buddy was free and they merge, so the merge decision reads one bit; the
/// buddy's state byte is then checked to agree (else panic). Per-frame state (Reserved, Tail,
/// Free, Allocated, PerCpu) is checked on every free, so a free of a frame that is not the start
/// of an allocated block of that order is refused with a status and changes nothing.
///
/// Zones: a <see cref="ZoneLayout"/>; an allocation of a <see cref="MemoryClass"/> starts at the
/// highest zone the class may use and falls back to lower ones. Order-0 requests go through the
/// current CPU's cache of the zone when enabled.
///
/// Several CPUs: each zone's lists are under its lock (<see cref="Zone.Lock"/>); each CPU has its
/// own order-0 cache per zone (<see cref="PcpCache"/>), which its alloc/free fast path uses with
/// no lock and no atomic instruction; refills and drains move a batch under the zone lock. A frame
/// freed on another CPU than the one that allocated it goes into the freeing CPU's cache (frames
/// have no home CPU). While one CPU is online no lock is taken (the host raises
/// <see cref="Cpu.Online"/> before other CPUs call in, as Linux patches its lock prefixes out on
/// one CPU). When an allocation fails with several CPUs online, the allocator takes the frames of
/// its own caches and asks every other CPU in turn for theirs (<see cref="CpuRequest.DrainPageCaches"/>),
/// then retries once. Each cache's high tunes itself at refills and drains (Linux 6.7's pcp high
/// auto-tuning: see <see cref="TuneHighOnDrain"/> and docs/physical-memory.md). The allocator must not move after Init (it lives in static or native
/// memory): other CPUs reach it through a pointer, and the frame addressing of its fast paths
/// keeps a pointer to a zone inside it. <see cref="Drain"/>, <see cref="Validate"/> and <see cref="AddFreeRange"/>
/// see every CPU's caches and are for quiescent moments (boot, tests, after a run).
///
/// Not done here: watermarks/reclaim, migrate types, compaction.
/// </summary>
public unsafe struct BuddyAllocator : IFrameTableAllocator, IFreeRangeSink
{
    /// <summary>Highest order: 2^10 frames = 4 MiB, one i386 PSE page.</summary>
    public const uint MaxOrderValue = 10;

    private FrameMap _map;
    private ZoneArray _zones;
    private int _zoneCount;
    // EndPfn of every zone but the last possible one (NoZoneEnd past the last zone), for the
    // branch-free zone lookup.
    private fixed ulong _zoneEnd[ZoneLayout.MaxZones - 1];
    private ZoneLayout _layout;
    private ulong _managedFrames;
    // Byte offsets into _zones of the user zone (where Allocate starts: _startZone[User], kept
    // as an offset for the inline path) and of the zone of the
    // last free that went to a dense zone (where Free looks first): the hot paths reach them
    // with one add rather than a sign extension and a multiply.
    private nint _userZoneOffset, _freeHintOffset;
    // For each memory class, the zone an allocation tries first: the highest the class may use
    // that has RAM (Linux's zonelists skip empty zones too). A layout's highest zone is often
    // empty (x86-64's Normal, above 4 GiB, on a guest with less), and starting there sent every
    // allocation through AllocateSlow, past the per-CPU cache's inline path.
    private fixed int _startZone[(int)MemoryClass.User + 1];
    private bool _initialised;
    // Frames in each zone's mailbox (Zone.PcpMailbox; one request at a time: PageCacheDrain
    // serialises them).
    private fixed uint _mailboxCount[ZoneLayout.MaxZones];
    // Bytes of the per-CPU caches' metadata run.
    private ulong _pcpBytes;
    // Drain requests that found their CPU inside a change of its cache and were answered when
    // the change ended (DeferredDrainRequests).
    private int _deferredDrains;

    /// <summary>
    /// Builds the allocator over the RAM in <paramref name="ram"/> (sorted, non-overlapping,
    /// page-aligned ranges), taking metadata from <paramref name="meta"/>. Every frame starts
    /// reserved; hand free memory over with <see cref="AddFreeRange"/> (memblock's hand-over does).
    /// Frame 0 and frames at or above <see cref="Pfn.ManagedLimit"/> must not be in the ranges.
    /// Return: Ok; InvalidArgument for bad ranges or per-CPU settings; Misaligned for a range
    /// that is not page-aligned; OutOfMemory when metadata does not fit.
    /// </summary>
    public Status Init<TMeta>(ref TMeta meta, ReadOnlySpan<PhysRange> ram, in ZoneLayout layout, PcpConfig pcp)
        where TMeta : struct, IMetadataAllocator
    {
        if (pcp.High >= Zone.PcpCapacity || (pcp.High != 0 && (pcp.Batch == 0 || pcp.Batch > pcp.High))) return Status.InvalidArgument;
        if (ram.Length > 0 && ram[0].Start < PageSize.Bytes) return Status.InvalidArgument;
        Status s = FrameMap.Build(ref meta, ram, out FrameMap map);
        if (s != Status.Ok) return s;
        _map = map;
        _layout = layout;
        _zoneCount = layout.Count;
        _managedFrames = 0;
        for (int z = 0; z < ZoneLayout.MaxZones - 1; z++) _zoneEnd[z] = z < _zoneCount - 1 ? layout.EndPfn(z) : NoZoneEnd;
        ulong** bases = stackalloc ulong*[FrameMap.PairOrders];
        for (int z = 0; z < _zoneCount; z++)
        {
            ref Zone zone = ref _zones[z];
            zone = default;
            zone.Kind = layout.Kind(z);
            zone.StartPfn = layout.StartPfn(z);
            zone.EndPfn = layout.EndPfn(z);
            zone.PcpHigh = pcp.High;
            zone.PcpBatch = pcp.Batch;
            zone.Lock.Init(LockRank.Zone);
            ulong lo = ulong.MaxValue, hi = 0;
            for (int i = 0; i < ram.Length; i++)
            {
                ulong rs = ram[i].Start >> PageSize.Shift, re = ram[i].End >> PageSize.Shift;
                ulong a = rs > zone.StartPfn ? rs : zone.StartPfn;
                ulong b = re < zone.EndPfn ? re : zone.EndPfn;
                if (b <= a) continue;
                zone.PresentFrames += b - a;
                if (a < lo) lo = a;
                if (b > hi) hi = b;
            }
            if (zone.PresentFrames == 0) { lo = zone.StartPfn; hi = zone.StartPfn; }
            zone.SpannedStartPfn = lo;
            zone.SpannedEndPfn = hi;
            zone.SpannedFrames = hi - lo;
            if (zone.PresentFrames != 0 && _map.TryDenseRun(lo, hi, out FrameLinks* dl, out byte* di, bases))
            {
                zone.DenseLinks = dl; zone.DenseInfo = di;
                for (int o = 0; o < FrameMap.PairOrders; o++) zone.DensePairs[o] = (ulong)bases[o];
            }
        }
        // One run of metadata, 64-aligned, for every zone with a cache (the cache records are in
        // the zone): per zone the stacks, sized by the zone (a stack of
        // PcpCapacity frames for every CPU of every zone would be megabytes, too much for a small
        // machine whose zones could never use it), and the mailbox. Stacks are whole cache
        // lines, so no two CPUs' stacks share one.
        // A zone has a cache when caches are on and it has more frames than the least high (a
        // cache could hold all of a smaller zone without ever draining, and its stacks would take
        // more metadata than a few frames of RAM hold). A zone without one keeps its records
        // zero, never written: the inline path reads a count of 0 and goes on to the lists,
        // whatever CPUs are online.
        ulong runBytes = 0;
        int cached = 0;
        for (int z = 0; z < _zoneCount; z++)
        {
            ref Zone zone = ref _zones[z];
            zone.Pcp = default;
            if (pcp.High == 0 || zone.PresentFrames <= pcp.High)
            {
                zone.PcpHigh = 0;
                zone.PcpBatch = 0;
                continue;
            }
            cached++;
            ulong stack = zone.PresentFrames >> 3;
            if (stack < pcp.High + 1) stack = pcp.High + 1;
            if (stack > Zone.PcpCapacity) stack = Zone.PcpCapacity;
            stack = (stack + 15) & ~15UL;
            zone.PcpStack = (uint)stack;
            runBytes += PcpZoneBytes(stack);
        }
        byte* run = null;
        if (cached != 0 && meta.AllocateMetadata(runBytes, 64, out run, out _) != Status.Ok) return Status.OutOfMemory;
        _pcpBytes = runBytes;
        uint* stacks = (uint*)run;
        for (int z = 0; z < _zoneCount; z++)
        {
            ref Zone zone = ref _zones[z];
            if (zone.PcpStack == 0) continue;
            long stack = zone.PcpStack;
            for (int cpu = 0; cpu < Cpu.MaxCpus; cpu++)
            {
                ref PcpCache c = ref Zone.Cache(ref zone, cpu);
                c.High = pcp.High;
                c.Frames = stacks + cpu * stack;
            }
            zone.PcpMailbox = stacks + Cpu.MaxCpus * stack;
            stacks += (Cpu.MaxCpus + 1) * stack;
        }
        for (int z = 0; z < ZoneLayout.MaxZones; z++) _mailboxCount[z] = 0;
        for (int c = 0; c <= (int)MemoryClass.User; c++)
        {
            int z = layout.HighestZoneFor((MemoryClass)c);
            while (z > 0 && _zones[z].PresentFrames == 0) z--;
            _startZone[c] = z;
        }
        _userZoneOffset = _startZone[(int)MemoryClass.User] * sizeof(Zone);
        _freeHintOffset = _userZoneOffset;
        Cpu.SetRequestHandler(CpuRequest.DrainPageCaches, &PageCacheDrain.Answer);
        _initialised = true;
        return Status.Ok;
    }

    /// <summary>The frame table (descriptors, pair bits), shared with the owners of allocated frames.</summary>
    public readonly FrameMap Map => _map;

    /// <summary>Number of zones.</summary>
    public readonly int ZoneCount => _zoneCount;

    /// <summary>Zone <paramref name="i"/> (a copy, for reporting).</summary>
    public readonly Zone GetZone(int i)
    {
        if ((uint)i >= (uint)_zoneCount) Panic.Fail("buddy: zone index out of range", (ulong)i);
        return _zones[i];
    }

    /// <summary>Free blocks of <paramref name="order"/> on zone <paramref name="zone"/>'s list
    /// (a /proc/buddyinfo cell).</summary>
    public readonly ulong FreeBlocks(int zone, uint order)
    {
        if ((uint)zone >= (uint)_zoneCount || order > MaxOrderValue) Panic.Fail("buddy: FreeBlocks index out of range", order);
        Zone z = _zones[zone];
        return z.Blocks[order];
    }

    /// <summary>The zone layout.</summary>
    public readonly ZoneLayout Layout => _layout;

    /// <summary>Metadata bytes taken at Init for the per-CPU caches: their records, stacks and
    /// drain mailboxes.</summary>
    public readonly ulong PcpBytes => _pcpBytes;

    // One zone's share of the run: a stack per CPU and the mailbox.
    private static ulong PcpZoneBytes(ulong stack) => (Cpu.MaxCpus + 1) * stack * sizeof(uint);

    /// <summary>Frames in CPU <paramref name="cpu"/>'s cache of zone <paramref name="zone"/> (a snapshot).</summary>
    public readonly uint CachedFrames(int zone, int cpu)
    {
        if ((uint)zone >= (uint)_zoneCount || (uint)cpu >= Cpu.MaxCpus) Panic.Fail("buddy: CachedFrames index out of range", (ulong)cpu);
        ref readonly Zone z = ref _zones[zone];
        return z.PcpStack == 0 ? 0 : Volatile.Read(ref Zone.Cache(ref Unsafe.AsRef(in z), cpu).Count);
    }

    /// <summary>Frames in every CPU's cache of zone <paramref name="zone"/> (a snapshot).</summary>
    public readonly ulong CachedFrames(int zone)
    {
        ulong sum = 0;
        for (int cpu = 0; cpu < Cpu.MaxCpus; cpu++) sum += CachedFrames(zone, cpu);
        return sum;
    }

    /// <summary>Free frames of zone <paramref name="zone"/>: on its lists and in its per-CPU caches.</summary>
    public readonly ulong ZoneFreeFrames(int zone) => GetZone(zone).BuddyFreeFrames + CachedFrames(zone);

    /// <summary>Zone <paramref name="zone"/>'s lock statistics (acquisitions, contended ones, spin ticks).</summary>
    public readonly LockStats ZoneLockStats(int zone) => GetZone(zone).Lock.Stats;

    /// <summary>The lock statistics of every zone added up.</summary>
    public readonly LockStats ZoneLockTotals
    {
        get
        {
            LockStats sum = default;
            for (int z = 0; z < _zoneCount; z++) sum.Add(_zones[z].Lock.Stats);
            return sum;
        }
    }

    /// <summary>Adds the zone locks to <paramref name="report"/>.</summary>
    public readonly void AddLockStats(ref LockReport report) => report.Add(LockRank.Zone, (ulong)_zoneCount, ZoneLockTotals);

    /// <inheritdoc/>
    public readonly uint MaxOrder => MaxOrderValue;
    /// <inheritdoc/>
    public readonly bool CanFree => true;
    /// <inheritdoc/>
    public readonly ulong ManagedFrames => _managedFrames;

    /// <summary>Drain requests (memory pressure asking other CPUs for their cached frames) that
    /// arrived while their CPU was changing its cache, and were answered when the change ended:
    /// a count, for tests and statistics.</summary>
    public readonly ulong DeferredDrainRequests => (uint)Volatile.Read(ref Unsafe.AsRef(in _deferredDrains));

    /// <inheritdoc/>
    public readonly ulong FreeFrames
    {
        get
        {
            ulong sum = 0;
            for (int z = 0; z < _zoneCount; z++) sum += ZoneFreeFrames(z);
            return sum;
        }
    }

    // Which zone a frame is in, without branches: frees of random frames across zones would
    // mispredict a compare-and-jump chain. The zone index is the number of zone ends at or
    // below pfn. With pfn < 2^32 and 1 <= end < 2^63, the top bit of (end - 1 - pfn) is set
    // exactly when pfn >= end (the subtraction wraps). The loop runs over every MaxZones - 1
    // end (unused ones are NoZoneEnd and add 0), a constant count the JIT unrolls.
    private const ulong NoZoneEnd = 1UL << 62;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly int ZoneIndexOf(ulong pfn)
    {
        int z = 0;
        for (int i = 0; i < ZoneLayout.MaxZones - 1; i++) z += (int)((_zoneEnd[i] - 1 - pfn) >> 63);
        return z;
    }

    // ---- free-list primitives, generic over how metadata is reached. Raw versions do not
    // touch the pair bits. ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRaw<TA>(ref Zone zone, TA a, uint order, uint pfn) where TA : struct, IFrameAddressing
    {
        uint head = zone.Head[order];
        FrameLinks* l = a.Links(pfn);
        l->Next = head;
        l->Prev = 0;
        if (head != 0) a.Links(head)->Prev = pfn;
        zone.Head[order] = pfn;
        zone.NonEmpty |= 1u << (int)order;
        zone.Blocks[order]++;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UnlinkRaw<TA>(ref Zone zone, TA a, uint order, uint pfn) where TA : struct, IFrameAddressing
    {
        FrameLinks* l = a.Links(pfn);
        // The links stay in the word: the frame's state byte, rewritten by every caller, has
        // FrameInfo.Owned clear, so nothing reads them as an owner word.
        uint next = l->Next, prev = l->Prev;
        if (prev != 0) a.Links(prev)->Next = next;
        else
        {
            zone.Head[order] = next;
            if (next == 0) zone.NonEmpty &= ~(1u << (int)order);
        }
        if (next != 0) a.Links(next)->Prev = prev;
        zone.Blocks[order]--;
    }

    // Takes a block of `order` from the zone's lists; 0 when none is large enough.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint AllocFromLists<TA>(ref Zone zone, TA a, uint order) where TA : struct, IFrameAddressing
    {
        uint mask = zone.NonEmpty >> (int)order;
        if (mask == 0) return 0;
        uint o = order + (uint)BitOperations.TrailingZeroCount(mask);
        uint pfn = zone.Head[o];
        UnlinkRaw(ref zone, a, o, pfn);
        if (o < MaxOrderValue) a.TogglePair(ref zone, pfn, o);
        if (o > order)
        {
            // Split: the upper halves go to the lists order..o-1, which are all empty (o is the
            // first non-empty order at or above the request), so each becomes a list's only entry.
            zone.NonEmpty |= (1u << (int)o) - (1u << (int)order);
            do
            {
                o--;
                uint upper = pfn + (1u << (int)o);
                *a.Info(upper) = FrameInfo.Make(FrameState.Free, o);
                FrameLinks* l = a.Links(upper);
                l->Next = 0;
                l->Prev = 0;
                zone.Head[o] = upper;
                zone.Blocks[o] = 1;
                a.TogglePair(ref zone, upper, o);
            }
            while (o > order);
        }
        *a.Info(pfn) = FrameInfo.Make(FrameState.Allocated, order);
        return pfn;
    }

    // Returns a block to the lists, merging with free buddies.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FreeToLists<TA>(ref Zone zone, TA a, uint pfn, uint order) where TA : struct, IFrameAddressing
    {
        while (order < MaxOrderValue)
        {
            if (a.TogglePair(ref zone, pfn, order)) break; // now exactly one free: the buddy is not
            uint bit = 1u << (int)order;
            uint buddy = pfn ^ bit;
            if (*a.Info(buddy) != FrameInfo.Make(FrameState.Free, order))
                Panic.Fail("buddy: pair bit says the buddy is free but its state byte disagrees", buddy);
            UnlinkRaw(ref zone, a, order, buddy);
            // The upper half becomes a tail, the lower half heads the merged block. Computed, not
            // branched on: which of the two is being freed is a coin flip.
            *a.Info(pfn | bit) = FrameInfo.Make(FrameState.Tail, 0);
            pfn &= ~bit;
            order++;
        }
        *a.Info(pfn) = FrameInfo.Make(FrameState.Free, order);
        AddRaw(ref zone, a, order, pfn);
    }

    // ---- the zone lock and the per-CPU caches ----

    // Takes the zone lock unless one CPU is online; the result goes to UnlockZone.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool LockZone(ref Zone zone)
    {
        if (Cpu.Online <= 1) return false;
        zone.Lock.Acquire();
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UnlockZone(ref Zone zone, bool locked)
    {
        if (locked) zone.Lock.Release();
    }

    // The one-CPU rule, here only: while one CPU is online, CPU 0's cache serves every caller (a
    // thread of the host that calls itself another CPU then still uses one cache), with no lock
    // and no Busy flag (drain requests come only from other CPUs; the host raises Cpu.Online
    // before other CPUs call in). The inline paths test OneCpuOnline and then use CPU 0's cache,
    // which is CacheOf's answer in that case: calling CacheOf there would read Cpu.Online again
    // (a volatile read the compiler does not merge).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool OneCpuOnline() => Cpu.Online <= 1;

    // The index of the cache the current CPU uses (see OneCpuOnline).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CacheCpu() => OneCpuOnline() ? 0 : Cpu.Current;

    // The current CPU's cache of the zone (see OneCpuOnline).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref PcpCache CacheOf(ref Zone zone) => ref Zone.Cache(ref zone, CacheCpu());

    // The owner starts changing its cache: a drain request that arrives now (an interrupt, or the
    // owner's own spin on the zone lock) is answered at Leave. The stores are ordered by the
    // compiler only: the request runs on this same CPU.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Enter(ref PcpCache c) => Volatile.Write(ref c.Busy, 1);

    // Busy is cleared before DrainPending is read: a request that arrives after the clear is
    // answered by its handler, one that arrived before left DrainPending set. One test for
    // both rare cases (a deferred request, a host that schedules the CPUs itself), so that the
    // fast paths have no call but this one, in a cold block.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Leave(ref PcpCache c)
    {
        Volatile.Write(ref c.Busy, 0);
        if ((Volatile.Read(ref c.DrainPending) | Cpu.InterleavingHooked) != 0) LeaveSlow(ref c);
    }

    // Enter and Leave for a change of the cache that neither spins nor waits (a pop or a push,
    // no refill or drain). Where requests are polled (Cpu.RequestsArePolled) no request is
    // answered inside it, so it needs no Busy flag, and none is left deferred when it starts:
    // one is deferred only inside a Busy window, and answered as that window closes (Leave,
    // LeaveSlow). What is left is the interleaving points of a host that schedules the CPUs
    // (LeaveSlow). Elsewhere (interrupts), Enter and Leave.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EnterShort(ref PcpCache c)
    {
        if (!Cpu.RequestsArePolled) Enter(ref c);
    }

    // Returns `carried`: a value the caller needs after the window goes through LeaveSlow's call
    // as an argument and a result instead of living across it, which would make the JIT keep it
    // on the stack on the path with no call too.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint LeaveShort(ref PcpCache c, uint carried = 0)
    {
        if (!Cpu.RequestsArePolled)
        {
            Volatile.Write(ref c.Busy, 0);
            if ((Volatile.Read(ref c.DrainPending) | Cpu.InterleavingHooked) != 0) return LeaveSlow(ref c, carried);
            return carried;
        }
#if DEBUG
        if (c.DrainPending != 0) Panic.Fail("buddy: a deferred drain request at the end of a short per-CPU cache window");
#endif
        if (Cpu.InterleavingHooked != 0) return LeaveSlow(ref c, carried);
        return carried;
    }

    // Under a host that schedules the CPUs itself, the interleaving points of a cache change:
    // one inside the Busy window (entered again: the cache is consistent, and a request
    // delivered there takes the deferred path, as one that interrupts the change would), one
    // after it. Other CPUs never touch this cache, so where inside the window the point lies
    // makes no difference to them. Then a deferred request is answered.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private uint LeaveSlow(ref PcpCache c, uint carried = 0)
    {
        if (Cpu.InterleavingHooked != 0)
        {
            Volatile.Write(ref c.Busy, 1);
            Cpu.Interleave(InterleavingPoint.PerCpuCache);
            Volatile.Write(ref c.Busy, 0);
            Cpu.Interleave(InterleavingPoint.PerCpuCache);
        }
        if (Volatile.Read(ref c.DrainPending) != 0)
        {
            c.DrainPending = 0;
            AnswerDrainRequest();
        }
        return carried;
    }

    // One allocation attempt in one zone: the per-CPU cache for order 0 when enabled, else the lists.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint AllocInZone<TA>(ref Zone zone, TA a, uint order) where TA : struct, IFrameAddressing
    {
        if (zone.PcpHigh == 0 || order != 0) // setting first: see FreeChecked
        {
            bool locked = LockZone(ref zone);
            uint q = AllocFromLists(ref zone, a, order);
            UnlockZone(ref zone, locked);
            return q;
        }
        ref PcpCache c = ref CacheOf(ref zone);
        Enter(ref c);
        uint p = 0;
        if (c.Count != 0 || RefillPcp(ref zone, ref c, a))
        {
            p = c.Pop();
            *a.Info(p) = FrameInfo.Make(FrameState.Allocated, 0);
        }
        Leave(ref c);
        return p;
    }

    // Fills the empty cache from the lists (the caller has entered it): a batch, twice as much
    // on each further refill of a streak with no drain between (a burst of allocations), never
    // more than the cache's high. A zone under its low watermark first puts the high back to
    // the least (see TuneHighOnDrain).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool RefillPcp<TA>(ref Zone zone, ref PcpCache c, TA a) where TA : struct, IFrameAddressing
    {
        bool locked = LockZone(ref zone);
        uint streak = c.RefillStreak < PcpMaxStreak ? c.RefillStreak : PcpMaxStreak;
        uint want = zone.PcpBatch << (int)streak;
        // Whole lines of state bytes (see StateLineFrames), also where the cache's high caps the
        // refill: a cap of 378 once took 58 frames of a line as single frames and left the
        // other 6 to the next CPU's refill, a line then written by both.
        want = (want + StateLineFrames - 1) & ~(StateLineFrames - 1);
        if (want > c.High) want = c.High >= StateLineFrames ? c.High & ~(StateLineFrames - 1) : c.High;
        uint n = c.Count, end = n + want;
        for (; end - n >= StateLineFrames; n += StateLineFrames)
        {
            uint block = AllocFromLists(ref zone, a, StateLineOrder);
            if (block == 0) break;
            for (uint i = 0; i < StateLineFrames; i++)
            {
                *a.Info(block + i) = FrameInfo.Make(FrameState.PerCpu, 0);
                c.Frames[n + i] = block + StateLineFrames - 1 - i;
            }
        }
        for (; n < end; n++)
        {
            uint p = AllocFromLists(ref zone, a, 0);
            if (p == 0) break;
            *a.Info(p) = FrameInfo.Make(FrameState.PerCpu, 0);
            c.Frames[n] = p;
        }
        if (CheckShort(ref zone)) c.High = zone.PcpHigh;
        UnlockZone(ref zone, locked);
        c.RefilledSinceDrain += n - c.Count;
        c.RefillStreak++;
        c.DrainStreak = 0;
        c.DrainedSinceRefill = 0;
        c.Count = n;
        return n != 0;
    }

    // A refill takes whole aligned blocks of StateLineFrames frames while it can: their state
    // bytes fill one 64-byte line, so that line is written by the CPU that caches them and by no
    // other (frames taken one by one from a list shared by every CPU interleave the CPUs' frames
    // within a line, and every state byte store then moves the line between cores).
    private const uint StateLineOrder = 6;
    private const uint StateLineFrames = 1u << (int)StateLineOrder;

    // Refills and drains of a streak grow up to 2^5 = 32 batches.
    private const uint PcpMaxStreak = 5;

    /// <summary>
    /// The most a CPU's cache of <paramref name="zone"/> may hold before it drains (Linux's
    /// high_max): an eighth of the zone's managed frames shared among the CPUs online, at least
    /// the zone's <see cref="Zone.PcpHigh"/> and at most what the cache's stack holds less one.
    /// </summary>
    public static uint PcpHighMax(in Zone zone)
    {
        int online = Cpu.Online < 1 ? 1 : Cpu.Online;
        ulong share = (zone.ManagedFrames >> 3) / (ulong)online;
        if (zone.PcpStack != 0 && share > zone.PcpStack - 1) share = zone.PcpStack - 1;
        return share < zone.PcpHigh ? zone.PcpHigh : (uint)share;
    }

    // Below a 64th of its managed frames on its lists a zone is short (Linux's low watermark):
    // a cache that refills or drains then goes back to the least high, and no cache's high grows
    // (Zone.PcpShort). Under the zone lock.
    private static bool CheckShort(ref Zone zone)
    {
        bool isShort = zone.BuddyFreeFrames < zone.ManagedFrames >> 6;
        Volatile.Write(ref zone.PcpShort, isShort ? 1 : 0);
        return isShort;
    }

    /// <summary>The zone an allocation of <paramref name="memoryClass"/> tries first: the highest
    /// zone the class may use that has RAM (lower ones follow when it runs out).</summary>
    public readonly int StartZone(MemoryClass memoryClass)
    {
        if ((uint)memoryClass > (uint)MemoryClass.User) Panic.Fail("buddy: StartZone of an unknown memory class", (ulong)memoryClass);
        return _startZone[(int)memoryClass];
    }

    /// <summary>CPU <paramref name="cpu"/>'s high for zone <paramref name="zone"/> now (a snapshot).</summary>
    public readonly uint CacheHigh(int zone, int cpu)
    {
        if ((uint)zone >= (uint)_zoneCount || (uint)cpu >= Cpu.MaxCpus) Panic.Fail("buddy: CacheHigh index out of range", (ulong)cpu);
        ref readonly Zone z = ref _zones[zone];
        return z.PcpStack == 0 ? 0 : Volatile.Read(ref Zone.Cache(ref Unsafe.AsRef(in z), cpu).High);
    }

    /// <summary>Allocates for user pages (the highest zone first). See <see cref="Allocate(uint, MemoryClass, out Pfn)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Status Allocate(uint order, out Pfn pfn) => AllocateFrom(order, -1, out pfn);

    /// <summary>
    /// Allocates a block of 2^<paramref name="order"/> frames from the highest zone
    /// <paramref name="memoryClass"/> may use, falling back to lower zones.
    /// Return: Ok and the first frame; OutOfMemory (nothing changed); InvalidArgument for an
    /// order above 10 or an unknown memory class.
    /// </summary>
    public Status Allocate(uint order, MemoryClass memoryClass, out Pfn pfn)
    {
        if ((uint)memoryClass > (uint)MemoryClass.User) { pfn = default; return Status.InvalidArgument; }
        return AllocateFrom(order, _startZone[(int)memoryClass], out pfn);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    // highestZone -1: the user zone (read only on the slow path, so that the fast path keeps
    // nothing live for the call).
    private Status AllocateFrom(uint order, int highestZone, out Pfn pfn)
    {
        // The common cases inline, with no call on their path: the first zone is dense and
        // serves the request from its per-CPU cache or its lists. Anything else (an invalid
        // order, a refill, a zone with holes, falling back to lower zones, out of memory) is one
        // call, whose result comes back in a register rather than through pfn.
        ref Zone zone = ref highestZone < 0
            ? ref Unsafe.AddByteOffset(ref _zones[0], _userZoneOffset)
            : ref Unsafe.Add(ref _zones[0], highestZone);
        byte* info = zone.DenseInfo;
        if (info != null && order <= MaxOrderValue)
        {
            uint p;
            // One CPU online (OneCpuOnline): CPU 0's cache, no lock, no drain requests. Several:
            // the current CPU's cache, entered around the pop (EnterShort); a cache that is empty or
            // off goes to AllocateSlow.
            if (!OneCpuOnline())
            {
                // The CPU when found with no call (from the stack pointer, on a registered stack); else
                // AllocateSlow finds it (a call on this path would make the JIT keep the
                // caller's values on the stack). An empty cache goes there too, before Enter:
                // AllocateSlow enters it itself, so either way the cache is entered once (a
                // host that schedules the CPUs sees the same points, whichever way the CPU was
                // found). The count read first is the count where requests are polled (none
                // came in since); elsewhere it is a hint, read again once entered.
                int cpu = Cpu.CurrentWithoutCall;
                if (order == 0 && zone.PcpHigh != 0 && cpu >= 0)
                {
                    ref PcpCache own = ref Zone.Cache(ref zone, cpu);
                    uint count = Volatile.Read(ref own.Count);
                    if (count != 0)
                    {
                        EnterShort(ref own);
                        if (!Cpu.RequestsArePolled) count = own.Count;
                        p = 0;
                        if (count != 0)
                        {
                            own.Count = --count;
                            p = own.Frames[count];
                            info[p] = FrameInfo.Make(FrameState.Allocated, 0);
                        }
                        p = LeaveShort(ref own, p);
                        if (p != 0)
                        {
                            pfn = Pfn.NewUnchecked(p);
                            return Status.Ok;
                        }
                    }
                }
            }
            else
            {
                ref PcpCache c = ref Zone.Cache(ref zone, 0);
                // The count first (it is 0 whenever the cache is off, so the test predicts well
                // where orders are mixed), then the order: see FreeChecked. The pop uses the
                // count read for the test (PcpCache.Pop reads it again: W0 3% slower).
                uint count = c.Count;
                if (count != 0 && order == 0)
                {
                    c.Count = --count;
                    p = c.Frames[count];
                    info[p] = FrameInfo.Make(FrameState.Allocated, 0);
                    pfn = Pfn.NewUnchecked(p);
                    return Status.Ok;
                }
                // (An empty cache goes to AllocateSlow, which refills it.)
                if ((zone.PcpHigh == 0 || order != 0) && (p = AllocFromLists(ref zone, new DenseAddressing(in zone), order)) != 0)
                {
                    pfn = Pfn.NewUnchecked(p);
                    return Status.Ok;
                }
            }
        }
        ulong r = AllocateSlow(order, highestZone);
        pfn = Pfn.NewUnchecked((uint)r);
        return (Status)(r >> 32);
    }

    // Every allocation the inline path does not serve: (status << 32) | frame.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong AllocateSlow(uint order, int highestZone)
    {
        if (order > MaxOrderValue) return (ulong)Status.InvalidArgument << 32;
        if (highestZone < 0) highestZone = (int)(_userZoneOffset / sizeof(Zone));
        for (int attempt = 0; attempt < 2; attempt++)
        {
            for (int z = highestZone; z >= 0; z--)
            {
                ref Zone zone = ref Unsafe.Add(ref _zones[0], z);
                uint p = zone.DenseInfo != null
                    ? AllocInZone(ref zone, new DenseAddressing(in zone), order)
                    : AllocSparse(ref zone, order);
                if (p != 0) return p;
            }
            // Out of memory on the lists: the CPUs' caches may hold what is missing (all of it,
            // for an order-0 request; the buddies that would merge, for a larger one).
            // (With one CPU online an order-0 request found its cache empty, but a larger one may
            // need the buddies of what the cache holds: up to PcpHighMax frames.)
            if (attempt == 0 && (OneCpuOnline() ? DrainCurrentCpu() : DrainAllCpus()) == 0) break;
        }
        return (ulong)Status.OutOfMemory << 32;
    }

    /// <summary>
    /// Frees a block. Checks, in order: order at most 10 (InvalidArgument), frame aligned to the
    /// order (Misaligned), frame managed (OutOfRange), frame is the start of an allocated block
    /// whose owner has released its word (DoubleFree when it is free, cached, or inside a free
    /// block it merged into; NotAllocated otherwise, <see cref="FrameInfo.Owned"/>), same order as allocated
    /// (WrongOrder). Any failure changes nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Status Free(Pfn pfn, uint order)
    {
        if (order > MaxOrderValue) return Status.InvalidArgument;
        ulong p = pfn.Value;
        if ((p & ((1UL << (int)order) - 1)) != 0) return Status.Misaligned;
        // First the zone the previous free went to. Its address does not depend on the frame,
        // so the stores that follow (state byte, per-CPU stack) need not wait for a zone lookup
        // on the frame just allocated; the frame only decides a branch, which predicts well.
        // (The state bytes' address is read once, for the test and the addressing.)
        ref Zone zone = ref Unsafe.AddByteOffset(ref _zones[0], _freeHintOffset);
        byte* info = zone.DenseInfo;
        if (info != null && p - zone.SpannedStartPfn < zone.SpannedFrames)
            return FreeChecked(ref zone, new DenseAddressing(in zone, info), (uint)p, order);
        return FreeInAnyZone(p, order);
    }

    // Free of a frame outside the hinted zone: the zone by address, which becomes the hint.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Status FreeInAnyZone(ulong p, uint order)
    {
        int z = ZoneIndexOf(p);
        ref Zone zone = ref Unsafe.Add(ref _zones[0], z);
        if (zone.DenseInfo != null)
        {
            if (p - zone.SpannedStartPfn >= zone.SpannedFrames) return Status.OutOfRange;
            _freeHintOffset = z * sizeof(Zone);
            return FreeChecked(ref zone, new DenseAddressing(in zone), (uint)p, order);
        }
        return FreeSparse(ref zone, p, order);
    }

    // Zones with a section-sized hole: kept out of line so that the dense paths stay small
    // enough to be inlined into callers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private uint AllocSparse(ref Zone zone, uint order) => AllocInZone(ref zone, new SparseAddressing(in _map), order);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Status FreeSparse(ref Zone zone, ulong p, uint order)
    {
        if (!_map.HasMetadata(Pfn.NewUnchecked(p))) return Status.OutOfRange;
        return FreeChecked(ref zone, new SparseAddressing(in _map), (uint)p, order);
    }

    // The state byte check is not atomic: two CPUs freeing the same block at the same moment
    // (a caller's double free) may both pass it, as in Linux; one CPU freeing twice is caught.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Status FreeChecked<TA>(ref Zone zone, TA a, uint p, uint order) where TA : struct, IFrameAddressing
    {
        byte* info = a.Info(p);
        byte v = *info;
        if (v != FrameInfo.Make(FrameState.Allocated, order)) return Refused(ref zone, a, p, v);
        // The zone's setting first: it is the same on every call and predicts perfectly, while
        // "order is 0" is a coin flip in mixed-order workloads (a mispredict cost 3.5 ns here).
        uint high = zone.PcpHigh;
        if (high != 0 && order == 0)
        {
            *info = FrameInfo.Make(FrameState.PerCpu, 0);
            // One CPU online: CPU 0's cache, inline (see OneCpuOnline and AllocateFrom).
            if (!OneCpuOnline())
            {
                // Several: inline too where the CPU is found with no call and the push needs no
                // drain (the count read first is a hint: only this CPU raises it, and a drain
                // answered meanwhile only lowers it); else out of line. Either way the cache is
                // entered once, at the same points (see AllocateFrom).
                int cpu = Cpu.CurrentWithoutCall;
                if (cpu >= 0)
                {
                    ref PcpCache own = ref Zone.Cache(ref zone, cpu);
                    if (Volatile.Read(ref own.Count) < own.High)
                    {
                        EnterShort(ref own);
                        own.Push(p);
                        LeaveShort(ref own);
                        return Status.Ok;
                    }
                }
                return FreeToSharedCache(ref zone, a, p);
            }
            ref PcpCache c = ref Zone.Cache(ref zone, 0);
            if (c.Push(p) > c.High) DrainBatch(ref zone, ref c, a);
            return Status.Ok;
        }
        if (Cpu.Online <= 1) FreeToLists(ref zone, a, p, order);
        else FreeToListsLocked(ref zone, a, p, order);
        return Status.Ok;
    }

    // An order-0 free with several CPUs online that the inline path in FreeChecked does not
    // take (the CPU found with a call, or a push that drains): into the current CPU's cache,
    // entered (Busy) around the push. Out of line: inline, its calls (the CPU lookup, a drain)
    // made the one-CPU free keep the frame addressing on the stack.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Status FreeToSharedCache<TA>(ref Zone zone, TA a, uint p) where TA : struct, IFrameAddressing
    {
        int cpu = Cpu.Current; // (first: nothing is live yet across its call, where it makes one)
        ref PcpCache c = ref Zone.Cache(ref zone, cpu);
        Enter(ref c);
        if (c.Push(p) > c.High) DrainBatch(ref zone, ref c, a);
        Leave(ref c);
        return Status.Ok;
    }

    // A free to the lists with several CPUs online: out of line, as in AllocateFrom.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FreeToListsLocked<TA>(ref Zone zone, TA a, uint p, uint order) where TA : struct, IFrameAddressing
    {
        bool locked = LockZone(ref zone);
        FreeToLists(ref zone, a, p, order);
        UnlockZone(ref zone, locked);
    }

    // Why a free is refused, from the frame's state byte (the block is not an allocated block
    // of the order given). A Tail frame lies inside a block that starts below it: inside a free
    // block it was freed already (a block freed twice after it merged with its buddy), inside an
    // allocated block it was never a block of its own. Blocks are naturally aligned, so the
    // first head that is not Tail among p rounded down to 2, 4, ... 1024 frames is the enclosing
    // block's.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Status Refused<TA>(ref Zone zone, TA a, uint p, byte v) where TA : struct, IFrameAddressing
    {
        // A block whose owner has not released its word is not the caller's to free.
        if ((v & FrameInfo.Owned) != 0) return Status.NotAllocated;
        FrameState st = FrameInfo.State(v);
        if (st == FrameState.Allocated) return Status.WrongOrder;
        if (st == FrameState.Free || st == FrameState.PerCpu) return Status.DoubleFree;
        if (st != FrameState.Tail) return Status.NotAllocated;
        for (int o = 1; o <= MaxOrderValue; o++)
        {
            uint head = p & ~((1u << o) - 1);
            if (head == p) continue;
            if (head < zone.SpannedStartPfn || !a.HasInfo(head)) break;
            FrameState hs = FrameInfo.State(*a.Info(head));
            if (hs == FrameState.Tail) continue;
            return hs == FrameState.Free ? Status.DoubleFree : Status.NotAllocated;
        }
        return Status.NotAllocated;
    }

    // The cache went over its high (the caller has entered it). First the high tunes itself;
    // if the cache is still over it, frames from the top of the stack go back to the lists: a
    // batch, twice as much on each further drain of a streak with no refill between, and at
    // least down to the high (which pressure may just have cut). The top, not the oldest frames
    // at the bottom: taking those meant moving the rest of the stack down after every drain,
    // O(count) per drain, quadratic in a burst of frees once the high has grown to thousands.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DrainBatch<TA>(ref Zone zone, ref PcpCache c, TA a) where TA : struct, IFrameAddressing
    {
        TuneHighOnDrain(in zone, ref c);
        uint count = c.Count;
        if (count <= c.High) return;
        bool locked = LockZone(ref zone);
        if (CheckShort(ref zone)) c.High = zone.PcpHigh;
        uint streak = c.DrainStreak < PcpMaxStreak ? c.DrainStreak : PcpMaxStreak;
        uint n = zone.PcpBatch << (int)streak;
        if (count - c.High > n) n = count - c.High;
        if (n > count) n = count;
        uint rest = count - n;
        for (uint i = rest; i < count; i++) FreeToLists(ref zone, a, c.Frames[i], 0);
        UnlockZone(ref zone, locked);
        c.Count = rest;
        c.DrainStreak++;
        c.RefillStreak = 0;
        c.DrainedSinceRefill += n;
    }

    // Linux 6.7's pcp high auto-tuning, at a drain: frees that follow allocations (frames were
    // refilled since the last drain) raise the high by what was refilled, up to PcpHighMax, so
    // that the next such burst stays in the cache; frees that keep draining with no allocation
    // (more than twice the high since the last refill) lower it by an eighth, down to the
    // zone's least. Only the owner runs this: no lock, no atomic.
    private static void TuneHighOnDrain(in Zone zone, ref PcpCache c)
    {
        uint high = c.High, min = zone.PcpHigh;
        if (c.RefilledSinceDrain != 0)
        {
            if (Volatile.Read(ref Unsafe.AsRef(in zone.PcpShort)) == 0)
            {
                uint max = PcpHighMax(in zone);
                ulong raised = (ulong)high + c.RefilledSinceDrain;
                high = raised > max ? max : (uint)raised;
            }
            c.RefilledSinceDrain = 0;
        }
        else if (c.DrainedSinceRefill > 2 * high)
        {
            uint lowered = high - high / 8;
            high = lowered < min ? min : lowered;
            c.DrainedSinceRefill = 0;
        }
        c.High = high;
    }

    // Returns one cache's frames to the zone's lists; how many.
    private uint DrainCache(ref Zone zone, ref PcpCache c)
    {
        uint n = c.Count;
        if (n == 0) return 0;
        var a = new SparseAddressing(in _map);
        bool locked = LockZone(ref zone);
        for (uint i = 0; i < n; i++) FreeToLists(ref zone, a, c.Frames[i], 0);
        UnlockZone(ref zone, locked);
        c.Count = 0;
        return n;
    }

    /// <summary>Returns every CPU's cached frames to the free lists (before probing
    /// fragmentation, or before validation of the lists alone). For quiescent moments: the
    /// other CPUs must not be using the allocator (on memory pressure the allocator drains by
    /// itself, each CPU its own cache).</summary>
    public void Drain()
    {
        for (int z = 0; z < _zoneCount; z++)
        {
            ref Zone zone = ref _zones[z];
            if (zone.PcpStack == 0) continue;
            for (int cpu = 0; cpu < Cpu.MaxCpus; cpu++) DrainCache(ref zone, ref Zone.Cache(ref zone, cpu));
        }
    }

    /// <summary>Returns the current CPU's cached frames to the free lists; how many.</summary>
    public ulong DrainCurrentCpu()
    {
        ulong n = 0;
        int cpu = CacheCpu();
        for (int z = 0; z < _zoneCount; z++)
        {
            ref Zone zone = ref _zones[z];
            if (zone.PcpStack == 0) continue;
            ref PcpCache c = ref Zone.Cache(ref zone, cpu);
            Enter(ref c);
            n += DrainCache(ref zone, ref c);
            ShrinkToLeast(in zone, ref c);
            Leave(ref c);
        }
        return n;
    }

    // Drain on demand: the current CPU's caches, then every other online CPU's, one at a time
    // (each answers PageCacheDrain's request by moving its frames into the mailbox, taking no
    // lock; this CPU returns them to the lists). Returns the frames that came back. (Internal:
    // the kernel's SMP tests ask for drains while other CPUs allocate.)
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal ulong DrainAllCpus()
    {
        ulong n = DrainCurrentCpu();
        int self = Cpu.Current, online = Cpu.Online;
        PageCacheDrain.Begin((nint)Unsafe.AsPointer(ref this));
        for (int cpu = 0; cpu < online; cpu++)
        {
            // A cache seen empty now has nothing to give: skip the round trip (a snapshot; a
            // CPU that fills its cache meanwhile keeps those frames until the next request).
            if (cpu == self || !HasCachedFrames(cpu)) continue;
            PageCacheDrain.Ask(cpu);
            n += EmptyMailbox();
        }
        PageCacheDrain.End();
        return n;
    }

    // A drain on demand (memory ran out) also forgets what the cache learnt: its high goes back
    // to the zone's least, and the streaks start over.
    private static void ShrinkToLeast(in Zone zone, ref PcpCache c)
    {
        c.High = zone.PcpHigh;
        c.RefilledSinceDrain = 0;
        c.RefillStreak = 0;
        c.DrainStreak = 0;
        c.DrainedSinceRefill = 0;
    }

    private readonly bool HasCachedFrames(int cpu)
    {
        for (int z = 0; z < _zoneCount; z++)
            if (_zones[z].PcpStack != 0 && Volatile.Read(ref Zone.Cache(ref Unsafe.AsRef(in _zones[z]), cpu).Count) != 0) return true;
        return false;
    }

    // The frames a CPU put in the mailbox go to their zones' lists.
    private uint EmptyMailbox()
    {
        uint n = 0;
        var a = new SparseAddressing(in _map);
        for (int z = 0; z < _zoneCount; z++)
        {
            uint count = _mailboxCount[z];
            if (count == 0) continue;
            ref Zone zone = ref _zones[z];
            bool locked = LockZone(ref zone);
            for (uint i = 0; i < count; i++) FreeToLists(ref zone, a, zone.PcpMailbox[i], 0);
            UnlockZone(ref zone, locked);
            _mailboxCount[z] = 0;
            n += count;
        }
        return n;
    }

    // Runs on the CPU asked to drain (from its interrupt handler or a spin loop), taking no
    // lock: its caches' frames move into the mailbox. A cache the CPU is changing right now is
    // left alone, and the answer waits until the CPU leaves it.
    internal void AnswerDrainRequest()
    {
        int cpu = Cpu.Current;
        for (int z = 0; z < _zoneCount; z++)
        {
            if (_zones[z].PcpStack == 0) continue;
            ref PcpCache c = ref Zone.Cache(ref _zones[z], cpu);
            if (Volatile.Read(ref c.Busy) != 0)
            {
                c.DrainPending = 1;
                Interlocked.Increment(ref _deferredDrains);
                return;
            }
        }
        for (int z = 0; z < _zoneCount; z++)
        {
            if (_zones[z].PcpStack == 0) continue;
            ref PcpCache c = ref Zone.Cache(ref _zones[z], cpu);
            uint count = c.Count;
            uint* mailbox = _zones[z].PcpMailbox;
            for (uint i = 0; i < count; i++) mailbox[i] = c.Frames[i];
            _mailboxCount[z] = count;
            c.Count = 0;
            ShrinkToLeast(in _zones[z], ref c);
        }
        PageCacheDrain.Answered();
    }

    /// <summary>
    /// <see cref="IFreeRangeSink"/>: frames [<paramref name="start"/>, <paramref name="end"/>) become free. They must be
    /// reserved frames with descriptors (RAM given to <see cref="Init"/>), else panic: a range
    /// handed over twice would hand frames out twice. Frame 0 is skipped (it is the list
    /// terminator and stays unmapped).
    /// </summary>
    public void AddFreeRange(Pfn start, Pfn end)
    {
        if (!_initialised) Panic.Fail("buddy: AddFreeRange before Init");
        ulong startPfn = start.Value, endPfn = end.Value;
        if (startPfn == 0) startPfn = 1;
        for (ulong p = startPfn; p < endPfn; p++)
        {
            byte* info = _map.TryInfo(p);
            if (info == null) Panic.Fail("buddy: free range holds a frame that is not RAM", p);
            if (FrameInfo.State(*info) != FrameState.Reserved) Panic.Fail("buddy: free range handed over twice", p);
        }
        var a = new SparseAddressing(in _map);
        ulong pfn = startPfn;
        while (pfn < endPfn)
        {
            // Largest aligned block that starts here and fits.
            uint order = MaxOrderValue;
            while (order > 0 && ((pfn & ((1UL << (int)order) - 1)) != 0 || pfn + (1UL << (int)order) > endPfn)) order--;
            ulong count = 1UL << (int)order;
            for (ulong t = 1; t < count; t++) *_map.Info((uint)(pfn + t)) = FrameInfo.Make(FrameState.Tail, 0);
            int z = ZoneIndexOf(pfn);
            ref Zone zone = ref _zones[z];
            zone.ManagedFrames += count;
            _managedFrames += count;
            FreeToLists(ref zone, a, (uint)pfn, order);
            pfn += count;
        }
    }

    /// <summary>The state of frame <paramref name="pfn"/> (Reserved for frames without a descriptor).</summary>
    public readonly FrameState StateOf(Pfn pfn) => _map.StateOf(pfn);

    /// <summary>
    /// Full O(frames) consistency check; panics naming the first broken invariant: list links
    /// and counts, every list entry a free head of its order in its zone, tails inside blocks,
    /// pair bits equal to (buddy A free) XOR (buddy B free), per-CPU entries cached frames,
    /// zone counters equal to what the lists hold.
    /// </summary>
    public readonly void Validate()
    {
        for (int z = 0; z < _zoneCount; z++)
        {
            Zone zone = _zones[z];
            ulong free = 0;
            for (uint o = 0; o <= MaxOrderValue; o++)
            {
                uint p = zone.Head[o], prev = 0;
                ulong n = 0;
                if ((p != 0) != ((zone.NonEmpty & (1u << (int)o)) != 0)) Panic.Fail("buddy: non-empty mask disagrees with list head", o);
                while (p != 0)
                {
                    byte* info = _map.TryInfo(p);
                    if (info == null) Panic.Fail("buddy: list entry is not a managed frame", p);
                    if (*info != FrameInfo.Make(FrameState.Free, o)) Panic.Fail("buddy: list entry is not a free block of the list's order", p);
                    if ((p & ((1u << (int)o) - 1)) != 0) Panic.Fail("buddy: free block misaligned", p);
                    if (ZoneIndexOf(p) != z) Panic.Fail("buddy: free block on another zone's list", p);
                    FrameLinks* l = _map.Links(p);
                    if (l->Prev != prev) Panic.Fail("buddy: free-list back link broken", p);
                    prev = p;
                    p = l->Next;
                    if (++n > _managedFrames) Panic.Fail("buddy: free list has a cycle", o);
                }
                if (n != zone.Blocks[o]) Panic.Fail("buddy: block count disagrees with list length", o);
                free += n << (int)o;
            }
            for (int cpu = 0; cpu < Cpu.MaxCpus && zone.PcpStack == 0; cpu++)
            {
                ref PcpCache c = ref Zone.Cache(ref zone, cpu);
                if (c.Count != 0 || c.High != 0 || c.Busy != 0) Panic.Fail("buddy: a per-CPU record of a zone without a cache was written", (ulong)z);
            }
            for (int cpu = 0; cpu < Cpu.MaxCpus && zone.PcpStack != 0; cpu++)
            {
                ref PcpCache c = ref Zone.Cache(ref zone, cpu);
                // The count may sit above the high for a while (pressure cuts the high at a
                // refill; the next free drains), never above what the stack holds.
                if (zone.PcpStack == 0 ? c.Count != 0 : c.Count >= zone.PcpStack) Panic.Fail("buddy: per-CPU cache above its stack's size", c.Count);
                // (A zone smaller than the least high keeps the least: its stack holds every
                // frame it has.)
                if (zone.PcpStack != 0 && (c.High < zone.PcpHigh || (c.High >= zone.PcpStack && c.High != zone.PcpHigh)))
                    Panic.Fail("buddy: per-CPU cache's high outside [least, stack size)", c.High);
                if (c.Busy != 0 || c.DrainPending != 0) Panic.Fail("buddy: per-CPU cache left busy or with a drain request unanswered", (ulong)cpu);
                for (uint i = 0; i < c.Count; i++)
                {
                    byte* info = _map.TryInfo(c.Frames[i]);
                    if (info == null || FrameInfo.State(*info) != FrameState.PerCpu) Panic.Fail("buddy: per-CPU cache entry is not a cached frame", c.Frames[i]);
                    if (ZoneIndexOf(c.Frames[i]) != z) Panic.Fail("buddy: per-CPU cache entry is another zone's frame", c.Frames[i]);
                }
            }
        }

        ulong freeHeads = 0, cached = 0;
        for (uint s = 0; s < _map.SectionCount; s++)
        {
            FrameMap.Section* sec = _map.SectionAt(s);
            if (sec->Ordinal == 0) continue;
            // Every block head covers Tail frames only; no stray tails.
            ulong p = sec->Lo;
            while (p < sec->Hi)
            {
                byte info = sec->InfoBase[p];
                FrameState st = FrameInfo.State(info);
                uint order = FrameInfo.Order(info);
                // Only the frames of an allocated block may carry an owner's mark.
                if ((info & FrameInfo.Owned) != 0 && st != FrameState.Allocated) Panic.Fail("buddy: owner word marked on a frame that starts no allocated block", p);
                if (st == FrameState.Free || st == FrameState.Allocated)
                {
                    ulong count = 1UL << (int)order;
                    if (order > MaxOrderValue || p + count > sec->Hi) Panic.Fail("buddy: block runs past its section", p);
                    if (st == FrameState.Free) freeHeads += count;
                    byte ownedMask = st == FrameState.Allocated ? FrameInfo.Owned : (byte)0;
                    for (ulong t = 1; t < count; t++)
                        if ((sec->InfoBase[p + t] & ~ownedMask) != FrameInfo.Make(FrameState.Tail, 0)) Panic.Fail("buddy: frame inside a block is not a tail, or a free block's frame is marked owned", p + t);
                    p += count;
                    continue;
                }
                if (order != 0) Panic.Fail("buddy: order set on a frame that starts no block", p);
                if (st == FrameState.Tail) Panic.Fail("buddy: tail frame outside any block", p);
                if (st == FrameState.PerCpu) cached++;
                else if (st != FrameState.Reserved) Panic.Fail("buddy: frame in an unknown state", p);
                p++;
            }
            // Pair bits.
            ulong secBase = (ulong)s << FrameMap.SectionShift;
            for (uint o = 0; o < MaxOrderValue; o++)
            {
                ulong pairSize = 2UL << (int)o;
                for (ulong a = secBase; a < secBase + FrameMap.SectionFrames; a += pairSize)
                {
                    if (a + pairSize <= sec->Lo || a >= sec->Hi) continue;
                    bool fa = IsFreeHead(a, o), fb = IsFreeHead(a + (1UL << (int)o), o);
                    if (_map.PairBit((uint)a, o) != (fa ^ fb)) Panic.Fail("buddy: pair bit disagrees with the free blocks", a);
                }
            }
        }
        ulong listed = 0, pcp = 0;
        for (int z = 0; z < _zoneCount; z++) { listed += _zones[z].BuddyFreeFrames; pcp += CachedFrames(z); }
        if (freeHeads != listed) Panic.Fail("buddy: free blocks in descriptors disagree with the lists", freeHeads);
        if (cached != pcp) Panic.Fail("buddy: cached frames disagree with the per-CPU caches", cached);
    }

    private readonly bool IsFreeHead(ulong pfn, uint order)
    {
        byte* info = _map.TryInfo(pfn);
        return info != null && *info == FrameInfo.Make(FrameState.Free, order);
    }
}
