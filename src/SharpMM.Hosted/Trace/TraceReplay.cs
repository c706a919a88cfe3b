using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using SharpMM.Addressing;
using SharpMM.Heap;
using SharpMM.Hosted.Peers;
using SharpMM.Hosted.Workloads;
using SharpMM.Physical;

namespace SharpMM.Hosted.Trace;

/// <summary>The state a run or a replay ends in, compared by the round-trip tests.</summary>
public sealed record TraceEndState
{
    /// <summary>Free blocks per order 0..10 (buddyinfo, summed over zones).</summary>
    public required ulong[] FreeBlocksByOrder { get; init; }
    /// <summary>Free frames.</summary>
    public required ulong FreeFrames { get; init; }
    /// <summary>Page blocks allocated and not freed.</summary>
    public required ulong LiveBlocks { get; init; }
    /// <summary>Heap objects allocated and not freed.</summary>
    public required ulong LiveObjects { get; init; }
    /// <summary>Virtual pages mapped and not unmapped (summed over address spaces).</summary>
    public ulong LiveMappings { get; init; }

    /// <summary>Equal states (the arrays by value).</summary>
    public bool SameAs(TraceEndState o) =>
        FreeFrames == o.FreeFrames && LiveBlocks == o.LiveBlocks && LiveObjects == o.LiveObjects && LiveMappings == o.LiveMappings
        && FreeBlocksByOrder.AsSpan().SequenceEqual(o.FreeBlocksByOrder);

    /// <summary>"free 262144 frames, blocks by order [0 0 ... 256], 0 live blocks, 0 live objects, 0 live mappings".</summary>
    public override string ToString() =>
        $"free {FreeFrames} frames, blocks by order [{string.Join(' ', FreeBlocksByOrder)}], {LiveBlocks} live blocks, {LiveObjects} live objects, {LiveMappings} live mappings";
}

/// <summary>One point of a replay's course.</summary>
public struct ReplaySample
{
    /// <summary>Events replayed when the sample was taken.</summary>
    public ulong Event;
    /// <summary>Free frames (page allocators).</summary>
    public ulong FreeFrames;
    /// <summary>Free blocks per order 0..10 (page allocators).</summary>
    public ulong[] FreeBlocks;
    /// <summary>Largest order with a free block, -1 when none (page allocators).</summary>
    public int LargestFreeOrder;
    /// <summary>Bytes the allocator holds (byte allocators: pages of the heap, or resident-set growth of a peer).</summary>
    public ulong FootprintBytes;
    /// <summary>Bytes requested by the live objects (byte allocators).</summary>
    public ulong LiveBytes;
}

/// <summary>What a replay found.</summary>
public sealed class ReplayResult
{
    /// <summary>The allocator replayed against.</summary>
    public required string Allocator { get; init; }
    /// <summary>True for the byte allocators (kmalloc and the system mallocs): they replay the heap events.</summary>
    public bool ByteLevel { get; init; }
    /// <summary>Frames of the simulated machine (page allocators).</summary>
    public ulong MachineFrames { get; init; }
    /// <summary>Events replayed, by kind; the others are in <see cref="NotReplayed"/>.</summary>
    public ulong[] Replayed { get; } = new ulong[TraceEventKinds.Limit];
    /// <summary>Events of kinds this allocator does not serve (heap events on a page allocator and the reverse; faults).</summary>
    public ulong[] NotReplayed { get; } = new ulong[TraceEventKinds.Limit];
    /// <summary>Allocations the allocator refused (out of memory, or an order it does not serve).</summary>
    public ulong FailedAllocations { get; set; }
    /// <summary>Frees the allocator refused (must be 0).</summary>
    public ulong RefusedFrees { get; set; }
    /// <summary>Blocks or objects handed out over memory still live (must be 0).</summary>
    public ulong Overlaps { get; set; }
    /// <summary>Frees in the trace of a block whose allocation had failed in this replay (skipped).</summary>
    public ulong FreesOfFailed { get; set; }
    /// <summary>Events that contradict the trace itself: a free of a block or object not live, an
    /// allocation of one still live (skipped; 0 for a recorded or imported trace).</summary>
    public ulong Unmatched { get; set; }
    /// <summary>Unmaps of a virtual page with no live mapping (skipped; 0 for a recorded trace).</summary>
    public ulong UnmatchedUnmaps { get; set; }
    /// <summary>Highest number of live page mappings.</summary>
    public ulong PeakMappings { get; set; }
    /// <summary>Allocations that got a different frame than the trace's (only a replay on the recorded machine and allocator is expected to have none).</summary>
    public ulong Divergent { get; set; }
    /// <summary>Highest number of allocated frames.</summary>
    public ulong PeakFrames { get; set; }
    /// <summary>Highest footprint seen (byte allocators).</summary>
    public ulong PeakFootprintBytes { get; set; }
    /// <summary>Highest requested live bytes (byte allocators).</summary>
    public ulong PeakLiveBytes { get; set; }
    /// <summary>Time in the replay loop (samples excluded).</summary>
    public double Seconds { get; set; }
    /// <summary>The course of the replay.</summary>
    public List<ReplaySample> Samples { get; } = new();
    /// <summary>Where it ended.</summary>
    public TraceEndState End { get; set; } = null!;

    /// <summary>Events replayed.</summary>
    public ulong ReplayedEvents { get { ulong s = 0; foreach (ulong c in Replayed) s += c; return s; } }
    /// <summary>Page events replayed.</summary>
    public ulong PageEvents => Replayed[(int)TraceEventKind.PageAlloc] + Replayed[(int)TraceEventKind.PageFree];
    /// <summary>Mean time per replayed event.</summary>
    public double NsPerEvent => ReplayedEvents == 0 ? 0 : Seconds * 1e9 / ReplayedEvents;
    /// <summary>CPU time of the replay loop (this thread's, samples excluded; page allocators
    /// only, 0 otherwise): on a loaded machine a steadier measure than <see cref="Seconds"/>,
    /// which also counts the time the thread waited for a core.</summary>
    public double CpuSeconds { get; set; }
    /// <summary>Events replayed per second of <see cref="CpuSeconds"/>.</summary>
    public double EventsPerCpuSecond => CpuSeconds == 0 ? 0 : ReplayedEvents / CpuSeconds;
    /// <summary>Replayed events per second.</summary>
    public double EventsPerSecond => Seconds == 0 ? 0 : ReplayedEvents / Seconds;
    /// <summary>True when every step checked out: no overlap, no refused free.</summary>
    public bool Clean => Overlaps == 0 && RefusedFrees == 0;
}

/// <summary>
/// Replays a trace against one allocator, every step checked. Page allocators (buddy, buddy
/// with per-CPU caches, bitmap, free list) take the page events on a simulated machine of the
/// trace's size (or a given one, from the trace's first frame): each block the trace allocates
/// is allocated here too, wherever this allocator puts it, and freed when the trace frees it; a
/// shadow bitmap of the machine's frames catches a block handed out over live frames. Byte
/// allocators (SharpMM's kmalloc, the system mallocs loaded in-process) take kmalloc, kfree and
/// the slab cache events as malloc and free of the same sizes; each object carries a tag at its
/// start and end, checked at its free, which catches two live objects sharing bytes. Every
/// replay follows the map and unmap events (<see cref="MappingReplay"/>: an unmap must find its
/// page mapped); fault events are counted, not replayed.
/// </summary>
public static unsafe class TraceReplay
{
    /// <summary>The allocators a trace replays against.</summary>
    public static readonly string[] Allocators = { "buddy", "buddy-pcp", "bitmap", "freelist", "kmalloc", "glibc", "jemalloc", "mimalloc", "tcmalloc" };

    /// <summary>Samples of the course taken over a replay.</summary>
    public const int SampleCount = 200;

    /// <summary>Whether <paramref name="allocator"/> serves byte-level (heap) events.</summary>
    public static bool IsByteLevel(string allocator) => Array.IndexOf(Allocators, allocator) >= 4;

    /// <summary>Replays <paramref name="trace"/> against <paramref name="allocator"/> on a machine of
    /// <paramref name="frames"/> frames (0: the trace's own size). <paramref name="hostBytes"/>
    /// (0: the host's memory) bounds what the free-list allocator may write of its RAM: half of
    /// it (see <see cref="FreeListFrameBudget"/>).</summary>
    public static ReplayResult Run(TraceFile trace, string allocator, ulong frames = 0, ulong hostBytes = 0)
    {
        if (Array.IndexOf(Allocators, allocator) < 0) throw new ArgumentException($"unknown allocator '{allocator}'", nameof(allocator));
        if (IsByteLevel(allocator)) return RunBytes(trace, allocator);
        ulong basePfn = trace.Header.BasePfn;
        if (frames == 0) frames = trace.Header.Frames;
        if (basePfn + frames > Pfn.ManagedLimit) throw new ArgumentException($"a machine of {frames} frames from pfn 0x{basePfn:x} passes the managed limit");
        var res = new ReplayResult { Allocator = allocator, MachineFrames = frames };
        var range = PhysRange.FromFrames(Pfn.New(basePfn), Pfn.New(basePfn + frames));
        using var meta = new HostMemory(frames * 48 + (4UL << 20));
        var md = new HostMetadata(meta.Base, meta.Size, 0x1_0000_0000_0000);
        switch (allocator)
        {
            case "buddy":
            case "buddy-pcp":
            {
                var b = (BuddyAllocator*)NativeMemory.AllocZeroed((nuint)sizeof(BuddyAllocator));
                try
                {
                    ReadOnlySpan<PhysRange> ram = stackalloc PhysRange[] { range };
                    Require(b->Init(ref md, ram, ZoneLayout.Flat(), allocator == "buddy-pcp" ? PcpConfig.Default : PcpConfig.Off), "buddy init");
                    HandOver(b, basePfn, frames);
                    FrameMap map = b->Map;
                    Pages(ref *b, trace, basePfn, frames, res, &map);
                    b->Validate();
                    ulong[] blocks = new ulong[BuddyAllocator.MaxOrderValue + 1];
                    for (int z = 0; z < b->ZoneCount; z++) for (uint o = 0; o < blocks.Length; o++) blocks[o] += b->FreeBlocks(z, o);
                    res.End = res.End with { FreeBlocksByOrder = blocks };
                }
                finally { NativeMemory.Free(b); }
                break;
            }
            case "bitmap":
            {
                BitmapFrameAllocator a = default;
                Require(a.Init(ref md, range), "bitmap init");
                a.AddFreeRange(Pfn.New(basePfn), Pfn.New(basePfn + frames));
                Pages(ref a, trace, basePfn, frames, res);
                break;
            }
            default: // freelist: its links live in the free frames, so the machine has RAM
            {
                // Reserved, committed by the host on first touch: the allocator writes a frame
                // only once it has handed it out, so only the frames the replay uses cost
                // memory. (Transparent huge pages, a fault per 512 frames, made the replay three
                // times slower here: each fault clears 2 MiB, and the host compacts memory.)
                using var ram = new HostMemory(frames << PageSize.Shift);
                byte* frameZero = ram.Base - (basePfn << PageSize.Shift);
                var dm = new DirectMap((ulong)frameZero);
                FreeListFrameAllocator a = default;
                Require(a.Init(ref md, dm, range), "free list init");
                Pages(ref a, trace, basePfn, frames, res, null, frameZero, FreeListFrameBudget(hostBytes));
                break;
            }
        }
        return res;
    }

    // The free-list allocator keeps its links in the free frames and hands them out from the
    // lowest up, so a replay commits host memory up to the highest frame handed out: the
    // replay stops, with a clear error, before that passes half of the host's memory (an
    // imported trace from a large server can keep tens of GiB live).
    private static ulong FreeListFrameBudget(ulong hostBytes)
    {
        if (hostBytes == 0) hostBytes = (ulong)GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return (hostBytes / 2) >> PageSize.Shift;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FreeListBeyondHost(ulong budgetFrames) =>
        throw new HostBudgetExceededException(
            $"the free-list allocator keeps its links in the free frames: this replay holds more than {budgetFrames} frames ({budgetFrames >> 8} MiB) at once, " +
            $"more than half of the host's memory; replay it on buddy, buddy-pcp or bitmap");

    /// <summary>The free RAM handed over as the page workloads do: descending 4 MiB blocks, so
    /// the replay of a recorded bench run starts from the same lists.</summary>
    private static void HandOver(BuddyAllocator* b, ulong basePfn, ulong frames)
    {
        ulong end = basePfn + frames;
        for (ulong top = end; top > basePfn;)
        {
            ulong low = Math.Max(basePfn, (top - 1) & ~1023UL);
            b->AddFreeRange(Pfn.New(low), Pfn.New(top));
            top = low;
        }
    }

    private static void Require(Status s, string what)
    {
        if (s != Status.Ok) throw new InvalidOperationException($"{what}: {StatusNames.Name(s)}");
    }

    private static long Now() => Stopwatch.GetTimestamp();

    // ---- page allocators ----

    // Per trace block in Pages: 1 + the frame it got here; 0 when not live.
    private const uint NotLive = 0, AllocationFailed = uint.MaxValue;

    // Replays the page events on `a`; `map`, when given, is the allocator's frame table (its
    // descriptors are fetched ahead of the frees that will touch them); `frameZero`, when
    // given, is where frame 0's memory would be, for an allocator that writes into the frames
    // it frees (their first line is fetched ahead). A frame handed out at or above
    // basePfn + budgetFrames stops the replay (FreeListFrameBudget).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pages<TF>(ref TF a, TraceFile trace, ulong basePfn, ulong frames, ReplayResult res, FrameMap* map = null, byte* frameZero = null, ulong budgetFrames = ulong.MaxValue) where TF : struct, IFrameAllocator
    {
        TraceHeader h = trace.Header;
        // Per trace block, indexed by its pfn's offset in the trace's machine: 1 + the frame it
        // got here, NotLive, or AllocationFailed. The shadow has a bit per frame of this machine.
        uint* got = (uint*)NativeMemory.AllocZeroed((nuint)h.Frames, sizeof(uint));
        ulong* shadow = (ulong*)NativeMemory.AllocZeroed((nuint)((frames + 63) / 64), sizeof(ulong));
        try
        {
            ulong interval = Math.Max(1, h.EventCount / SampleCount), untilSample = interval;
            ulong live = 0, liveBlocks = 0, peak = 0, n = 0;
            ulong allocs = 0, frees = 0, failedAllocs = 0, overlaps = 0, divergent = 0, unmatched = 0, freesOfFailed = 0, refused = 0;
            long sampleTicks = 0;
            ulong tbase = h.BasePfn;
            ulong[] skipped = res.NotReplayed;
            var mappings = new MappingReplay();
            TraceCursor c = trace.Events;
            byte* p = c.Position;
            // A second pointer walks PrefetchDistance events ahead and asks for the entry of
            // `got` that event will touch: on an imported trace the pfns jump over a table
            // of tens of megabytes, and a miss per event was most of the replay's own time.
            // A table that stays in cache (a recorded bench run's) gains nothing and would pay
            // for decoding each event three times: no prefetch there.
            bool prefetch = Sse.IsSupported && h.Frames * sizeof(uint) > PrefetchTableBytes;
            byte* ahead = p;
            ulong aheadLeft = prefetch ? c.Left : 0;
            for (int i = 0; i < PrefetchDistance && aheadLeft != 0; i++, aheadLeft--) ahead = PrefetchEntry(ahead, got, tbase);
            // A third, nearer, reads that entry for a free (in cache by then) and asks for
            // what the free will touch: the block's shadow word and, given the allocator's
            // frame table, the descriptors of the block and of its buddy (or, given the
            // frames' memory, the block's first line).
            byte* near = p;
            ulong nearLeft = prefetch ? c.Left : 0;
            for (int i = 0; i < FreePrefetchDistance && nearLeft != 0; i++, nearLeft--) near = PrefetchFree(near, got, tbase, shadow, basePfn, map, frameZero);
            long sampleCpu = 0;
            long cpu0 = ThreadCpuTime.Nanoseconds();
            long t0 = Now();
            for (ulong left = c.Left; left != 0; left--)
            {
                n++;
                if (aheadLeft != 0) { ahead = PrefetchEntry(ahead, got, tbase); aheadLeft--; }
                if (nearLeft != 0) { near = PrefetchFree(near, got, tbase, shadow, basePfn, map, frameZero); nearLeft--; }
                byte kind = *p;
                if (kind == (byte)TraceEventKind.PageAlloc)
                {
                    uint order = p[1] & 15u;
                    ulong key = PfnAt(ref p) - tbase;
                    allocs++;
                    if (a.Allocate(order, out Pfn pf) != Status.Ok) { failedAllocs++; got[key] = AllocationFailed; }
                    else
                    {
                        ulong pfn = pf.Value;
                        if (pfn - basePfn >= budgetFrames) FreeListBeyondHost(budgetFrames);
                        if (!Claim(shadow, pfn - basePfn, order)) overlaps++;
                        if (got[key] - 1 < AllocationFailed - 1) unmatched++; // allocated twice in the trace without a free
                        got[key] = (uint)pfn + 1;
                        if (pfn != key + tbase) divergent++;
                        live += 1UL << (int)order;
                        liveBlocks++;
                        if (live > peak) peak = live;
                    }
                }
                else if (kind == (byte)TraceEventKind.PageFree)
                {
                    uint order = p[1] & 15u;
                    ulong key = PfnAt(ref p) - tbase;
                    frees++;
                    uint g = got[key];
                    got[key] = NotLive;
                    if (g == NotLive) unmatched++;
                    else if (g == AllocationFailed) freesOfFailed++;
                    else
                    {
                        ulong pfn = g - 1u;
                        if (a.Free(Pfn.NewUnchecked(pfn), order) != Status.Ok) refused++;
                        Release(shadow, pfn - basePfn, order);
                        live -= 1UL << (int)order;
                        liveBlocks--;
                    }
                }
                else
                {
                    p = TraceCursor.Decode(p, out TraceEvent e);
                    if (MappingReplay.Handles(e.Kind)) { mappings.Replay(e); res.Replayed[(int)e.Kind]++; }
                    else skipped[(int)e.Kind]++;
                }
                if (--untilSample == 0)
                {
                    untilSample = interval;
                    long s0 = Now(), c0 = ThreadCpuTime.Nanoseconds();
                    res.Samples.Add(PageSample(n, shadow, frames, a.FreeFrames));
                    sampleTicks += Now() - s0;
                    sampleCpu += ThreadCpuTime.Nanoseconds() - c0;
                }
            }
            long t1 = Now();
            res.Seconds = (t1 - t0 - sampleTicks) / (double)Stopwatch.Frequency;
            res.CpuSeconds = (ThreadCpuTime.Nanoseconds() - cpu0 - sampleCpu) / 1e9;
            res.Replayed[(int)TraceEventKind.PageAlloc] = allocs;
            res.Replayed[(int)TraceEventKind.PageFree] = frees;
            res.FailedAllocations = failedAllocs; res.Overlaps = overlaps; res.Divergent = divergent;
            res.Unmatched = unmatched; res.FreesOfFailed = freesOfFailed; res.RefusedFrees = refused;
            res.PeakFrames = peak;
            res.UnmatchedUnmaps = mappings.Unmatched;
            res.PeakMappings = mappings.PeakMappings;
            if (a.FreeFrames != a.ManagedFrames - live)
                throw new InvalidOperationException($"replay: the allocator counts {a.FreeFrames} free frames, the replay {a.ManagedFrames - live}");
            ReplaySample last = PageSample(n, shadow, frames, a.FreeFrames);
            res.End = new TraceEndState { FreeBlocksByOrder = last.FreeBlocks, FreeFrames = a.FreeFrames, LiveBlocks = liveBlocks, LiveObjects = 0, LiveMappings = mappings.LiveMappings };
        }
        finally
        {
            NativeMemory.Free(got);
            NativeMemory.Free(shadow);
        }
    }

    // Events between the one replayed and the one whose table entry is fetched ahead.
    private const int PrefetchDistance = 16;

    // Size of the `got` table above which the replay fetches ahead (about a core's L2 cache).
    private const ulong PrefetchTableBytes = 2UL << 20;

    // Starts the load of the `got` entry of the event at p when it is a page event; returns
    // where the next event starts.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* PrefetchEntry(byte* p, uint* got, ulong tbase)
    {
        if (*p <= (byte)TraceEventKind.PageFree)
        {
            ulong key = PfnAt(ref p) - tbase;
            if (Sse.IsSupported) Sse.Prefetch0(got + key);
            return p;
        }
        return TraceCursor.Decode(p, out _);
    }

    // Events between the one replayed and the free whose frames are fetched ahead.
    private const int FreePrefetchDistance = 6;

    // For a page free at p whose block is live in this replay, starts the loads of its shadow
    // word, (map not null) of the frame descriptors of the block and its buddy, and (frameZero
    // not null) of the block's first line; returns where the next event starts.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* PrefetchFree(byte* p, uint* got, ulong tbase, ulong* shadow, ulong basePfn, FrameMap* map, byte* frameZero)
    {
        byte kind = *p;
        if (kind > (byte)TraceEventKind.PageFree) return TraceCursor.Decode(p, out _);
        uint order = p[1] & 15u;
        ulong key = PfnAt(ref p) - tbase;
        if (kind == (byte)TraceEventKind.PageFree && Sse.IsSupported)
        {
            uint g = got[key];
            if (g - 1 < AllocationFailed - 1)
            {
                uint pfn = g - 1, buddy = pfn ^ (1u << (int)order);
                Sse.Prefetch0(shadow + ((pfn - basePfn) >> 6));
                if (map != null && buddy < map->EndPfn)
                {
                    Sse.Prefetch0(map->Links(pfn));
                    Sse.Prefetch0(map->Info(pfn));
                    Sse.Prefetch0(map->Links(buddy));
                    Sse.Prefetch0(map->Info(buddy));
                }
                if (frameZero != null) Sse.Prefetch0(frameZero + ((ulong)pfn << PageSize.Shift));
            }
        }
        return p;
    }

    // The pfn of the page event at p (kind, order and zone, LEB128 pfn); p moves past the event.
    // A loop over a local copy of the pointer: the caller's pointer stays in a register.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong PfnAt(ref byte* p)
    {
        byte* q = p + 2;
        ulong v = 0, x;
        int shift = 0;
        do
        {
            x = *q++;
            v |= (x & 0x7f) << shift;
            shift += 7;
        }
        while (x >= 0x80);
        p = q;
        return v;
    }

    // Marks 2^order frames from `at` allocated; false when any already was.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Claim(ulong* shadow, ulong at, uint order)
    {
        if (order < 6)
        {
            ulong mask = ((1UL << (1 << (int)order)) - 1) << (int)(at & 63);
            ulong* w = shadow + (at >> 6);
            bool clean = (*w & mask) == 0;
            *w |= mask;
            return clean;
        }
        bool ok = true;
        for (ulong i = at >> 6, end = i + (1UL << ((int)order - 6)); i < end; i++) { ok &= shadow[i] == 0; shadow[i] = ~0UL; }
        return ok;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Release(ulong* shadow, ulong at, uint order)
    {
        if (order < 6) { shadow[at >> 6] &= ~(((1UL << (1 << (int)order)) - 1) << (int)(at & 63)); return; }
        for (ulong i = at >> 6, end = i + (1UL << ((int)order - 6)); i < end; i++) shadow[i] = 0;
    }

    /// <summary>The free frames of the shadow as maximal aligned blocks per order (what a buddy
    /// allocator with every merge done would list), counted over the machine.</summary>
    private static ReplaySample PageSample(ulong n, ulong* shadow, ulong frames, ulong freeFrames)
    {
        var blocks = new ulong[BuddyAllocator.MaxOrderValue + 1];
        const int topWordsLog = (int)BuddyAllocator.MaxOrderValue - 6; // a top block is 16 words
        for (ulong word = 0; word * 64 < frames; word += 1UL << topWordsLog) CountWords(shadow, word, topWordsLog, frames, blocks);
        int largest = -1;
        for (int o = blocks.Length - 1; o >= 0; o--) if (blocks[o] != 0) { largest = o; break; }
        return new ReplaySample { Event = n, FreeFrames = freeFrames, FreeBlocks = blocks, LargestFreeOrder = largest };
    }

    // The maximal free blocks of the 2^wordsLog shadow words from `word` (a block of order
    // 6 + wordsLog): the whole block when it is free and inside the machine, else its halves;
    // inside one word, bit arithmetic.
    private static void CountWords(ulong* shadow, ulong word, int wordsLog, ulong frames, ulong[] blocks)
    {
        ulong start = word * 64, size = 64UL << wordsLog;
        if (start >= frames) return;
        if (start + size <= frames)
        {
            ulong any = 0;
            for (ulong i = word, end = word + (1UL << wordsLog); i < end; i++) any |= shadow[i];
            if (any == 0) { blocks[6 + wordsLog]++; return; }
        }
        if (wordsLog == 0) { CountInWord(shadow[word], frames - start, blocks); return; }
        CountWords(shadow, word, wordsLog - 1, frames, blocks);
        CountWords(shadow, word + (1UL << (wordsLog - 1)), wordsLog - 1, frames, blocks);
    }

    // Bit i of level k: frames i .. i + 2^k - 1 are free, i a multiple of 2^k (k = 0..5).
    private static readonly ulong[] s_alignedAt = { ~0UL, 0x5555555555555555, 0x1111111111111111, 0x0101010101010101, 0x0001000100010001, 0x0000000100000001 };

    // The maximal free blocks (orders 0..5) of one shadow word that is not wholly free, of
    // which the first `valid` frames are in the machine: a block counts when it is free and
    // its parent is not, so each order's count is its free blocks less twice its parents'.
    private static void CountInWord(ulong w, ulong valid, ulong[] blocks)
    {
        ulong free = ~w;
        if (valid < 64) free &= (1UL << (int)valid) - 1;
        ulong level = free;
        int count = BitOperations.PopCount(level);
        for (int k = 1; k <= 5; k++)
        {
            ulong parent = level & (level >> (1 << (k - 1))) & s_alignedAt[k];
            int parents = BitOperations.PopCount(parent);
            blocks[k - 1] += (ulong)(count - 2 * parents);
            level = parent;
            count = parents;
        }
        blocks[5] += (ulong)count; // a free order-6 parent is the whole word, counted by the caller
    }

    // ---- byte allocators ----

    private static ReplayResult RunBytes(TraceFile trace, string allocator)
    {
        var res = new ReplayResult { Allocator = allocator, ByteLevel = true };
        switch (allocator)
        {
            case "kmalloc":
            {
                using var arena = new HeapArena(HeapConfig.Default);
                var b = arena.Backend;
                ReplayBytes(ref b, trace, res);
                arena.Heap->Validate();
                break;
            }
            case "glibc": { var b = new GlibcMalloc(); ReplayBytes(ref b, trace, res); break; }
            case "mimalloc": { var b = new Mimalloc(); ReplayBytes(ref b, trace, res); break; }
            case "jemalloc": { var b = new Jemalloc(); ReplayBytes(ref b, trace, res); break; }
            case "tcmalloc": { var b = new Tcmalloc(); ReplayBytes(ref b, trace, res); break; }
        }
        return res;
    }

    // The tag an object carries at its start and end while live (objects under 16 bytes: a
    // byte of the tag in each of their bytes, so the two ends never overwrite each other).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Tag(ulong id) => (id + 1) * 0x9E3779B97F4A7C15UL;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutTag(byte* p, ulong size, ulong tag)
    {
        if (size >= 16) { *(ulong*)p = tag; *(ulong*)(p + size - 8) = tag ^ ~0UL; }
        else for (ulong i = 0; i < size; i++) p[i] = (byte)(tag >> (int)(8 * (i & 7)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TagIntact(byte* p, ulong size, ulong tag)
    {
        if (size >= 16) return *(ulong*)p == tag && *(ulong*)(p + size - 8) == (tag ^ ~0UL);
        for (ulong i = 0; i < size; i++) if (p[i] != (byte)(tag >> (int)(8 * (i & 7)))) return false;
        return true;
    }

    /// <summary>Replays the heap events of <paramref name="trace"/> on <paramref name="m"/> into
    /// <paramref name="res"/> (any <see cref="IMalloc"/>: the allocators above, or a test's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ReplayBytes<TM>(ref TM m, TraceFile trace, ReplayResult res) where TM : struct, IMalloc
    {
        TraceHeader h = trace.Header;
        var ptr = new nint[h.ObjectIds];
        var size = new ulong[h.ObjectIds];
        var failed = new byte[h.ObjectIds];
        ulong interval = Math.Max(1, h.EventCount / SampleCount);
        ulong held0 = m.HeldBytes();
        ulong liveBytes = 0, liveObjects = 0, peakLive = 0, peakHeld = 0, sampleTicks = 0, n = 0;
        ulong[] replayed = res.Replayed, skipped = res.NotReplayed;
        var mappings = new MappingReplay();
        TraceCursor c = trace.Events;
        long t0 = Now();
        while (c.Next(out TraceEvent e))
        {
            n++;
            switch (e.Kind)
            {
                case TraceEventKind.Kmalloc:
                case TraceEventKind.CacheAlloc:
                {
                    replayed[(int)e.Kind]++;
                    ulong id = e.A, bytes = e.B == 0 ? 1 : e.B;
                    if (ptr[id] != 0) res.Unmatched++; // allocated twice in the trace without a free
                    byte* p = (byte*)m.Malloc((nuint)bytes);
                    if (p == null) { res.FailedAllocations++; failed[id] = 1; ptr[id] = 0; break; }
                    PutTag(p, bytes, Tag(id));
                    ptr[id] = (nint)p; size[id] = bytes; failed[id] = 0;
                    liveBytes += bytes; liveObjects++;
                    if (liveBytes > peakLive) peakLive = liveBytes;
                    break;
                }
                case TraceEventKind.Kfree:
                case TraceEventKind.CacheFree:
                {
                    replayed[(int)e.Kind]++;
                    ulong id = e.A;
                    byte* p = (byte*)ptr[id];
                    if (p == null) { if (failed[id] != 0) { res.FreesOfFailed++; failed[id] = 0; } else res.Unmatched++; break; }
                    if (!TagIntact(p, size[id], Tag(id))) res.Overlaps++;
                    if (!m.Free(p)) res.RefusedFrees++;
                    ptr[id] = 0;
                    liveBytes -= size[id]; liveObjects--;
                    break;
                }
                case TraceEventKind.Map:
                case TraceEventKind.Unmap:
                    replayed[(int)e.Kind]++;
                    mappings.Replay(e);
                    break;
                default:
                    skipped[(int)e.Kind]++;
                    break;
            }
            if (n % interval == 0)
            {
                long s0 = Now();
                ulong held = m.HeldBytes();
                ulong fp = held > held0 ? held - held0 : 0;
                if (fp > peakHeld) peakHeld = fp;
                res.Samples.Add(new ReplaySample { Event = n, FootprintBytes = fp, LiveBytes = liveBytes, LargestFreeOrder = -1 });
                sampleTicks += (ulong)(Now() - s0);
            }
        }
        long t1 = Now();
        res.Seconds = ((t1 - t0) - (long)sampleTicks) / (double)Stopwatch.Frequency;
        ulong heldEnd = m.HeldBytes();
        res.PeakLiveBytes = peakLive;
        res.PeakFootprintBytes = Math.Max(peakHeld, heldEnd > held0 ? heldEnd - held0 : 0);
        // What the trace left live is freed here so that the allocator ends empty (kmalloc's
        // arena checks that every frame came back); the end state is taken before.
        res.UnmatchedUnmaps = mappings.Unmatched;
        res.PeakMappings = mappings.PeakMappings;
        res.End = new TraceEndState { FreeBlocksByOrder = Array.Empty<ulong>(), FreeFrames = 0, LiveBlocks = 0, LiveObjects = liveObjects, LiveMappings = mappings.LiveMappings };
        for (ulong id = 0; id < (ulong)ptr.Length; id++)
        {
            byte* p = (byte*)ptr[id];
            if (p == null) continue;
            if (!TagIntact(p, size[id], Tag(id))) res.Overlaps++;
            if (!m.Free(p)) res.RefusedFrees++;
        }
    }
}
