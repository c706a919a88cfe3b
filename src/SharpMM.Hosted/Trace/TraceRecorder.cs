using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Heap;
using SharpMM.Hosted.User;
using SharpMM.Hosted.Workloads;
using SharpMM.Paging;
using SharpMM.Physical;
using SharpMM.Virtual;

namespace SharpMM.Hosted.Trace;

/// <summary>A recorded run: its trace and the state it ended in.</summary>
public sealed record RecordedRun(TraceWriter Trace, TraceEndState End, string ReplayAllocator);

/// <summary>
/// Records the allocator-level events of a run. The bench workloads (W0..W3h) run their usual
/// drivers over a recording wrapper (<see cref="RecordingFrames"/>, <see cref="RecordingMalloc{TM}"/>);
/// the user workloads record through <see cref="Current"/>, which the frame source of user memory
/// (<see cref="BuddyFrames"/>), the fault handler and the mapping observers write to while it is set.
/// </summary>
public static unsafe class TraceRecorder
{
    /// <summary>The bench workloads a trace can be recorded from.</summary>
    public static readonly string[] BenchNames = { "W0", "W1", "W2", "W2o9", "W3", "W3t", "W3h" };

    /// <summary>The trace the user-memory hooks write to on this thread; null: not recording
    /// (the hooks then cost one test of a thread-static). Set through <see cref="Record"/>.</summary>
    [ThreadStatic] public static TraceWriter? Current;

    private static readonly object s_observersLock = new();
    private static int s_recordings;

    // The ids this thread's recording gave to slab caches and to their live objects.
    [ThreadStatic] private static CacheIds? s_cacheIds;

    private sealed class CacheIds
    {
        public readonly Dictionary<nint, uint> Caches = new();
        public readonly Dictionary<nint, (uint Cache, uint Id)> Objects = new();
    }

    /// <summary>Records into <paramref name="trace"/> on this thread until the scope is disposed:
    /// the frames user memory takes and gives back, and, through the library's observers
    /// (installed while any thread records), every page mapped and unmapped
    /// (<see cref="MappingEvents"/>) and every object of a slab cache used directly
    /// (<see cref="CacheEvents"/>; each cache named in the trace).</summary>
    public static RecordingScope Record(TraceWriter trace)
    {
        if (Current != null) throw new InvalidOperationException("a trace is already being recorded on this thread");
        lock (s_observersLock)
        {
            if (s_recordings++ == 0)
            {
                MappingEvents.Install(&OnMapped, &OnUnmapped);
                CacheEvents.Install(&OnCacheAllocated, &OnCacheFreed);
            }
        }
        Current = trace;
        s_cacheIds = new CacheIds();
        return new RecordingScope();
    }

    /// <summary>Ends a recording started by <see cref="Record"/>.</summary>
    public readonly struct RecordingScope : IDisposable
    {
        /// <inheritdoc/>
        public void Dispose()
        {
            if (Current == null) return;
            Current = null;
            s_cacheIds = null;
            lock (s_observersLock)
            {
                if (--s_recordings == 0)
                {
                    MappingEvents.Install(null, null);
                    CacheEvents.Install(null, null);
                }
            }
        }
    }

    private static void OnMapped(ulong va, ulong pfn)
    {
        if (Current is { } t) t.Map(va >> PageSize.Shift, pfn);
    }

    private static void OnUnmapped(ulong va, ulong pfn)
    {
        if (Current is { } t) t.Unmap(va >> PageSize.Shift);
    }

    private static void OnCacheAllocated(SlabCache* cache, void* obj)
    {
        if (Current is not { } t || s_cacheIds is not { } ids) return;
        if (!ids.Caches.TryGetValue((nint)cache, out uint c))
        {
            c = (uint)ids.Caches.Count;
            ids.Caches.Add((nint)cache, c);
            var name = new char[cache->NameLength];
            for (int i = 0; i < name.Length; i++) name[i] = cache->NameChar(i);
            t.Name(1, c, new string(name)); // name type 1: a slab cache
        }
        uint id = t.NewObjectId();
        ids.Objects[(nint)obj] = (c, id);
        t.CacheAlloc(c, id, cache->ObjectSize);
    }

    // A free of an object allocated before the recording began is not an event (the trace
    // never saw it live).
    private static void OnCacheFreed(SlabCache* cache, void* obj)
    {
        if (Current is not { } t || s_cacheIds is not { } ids) return;
        if (!ids.Objects.Remove((nint)obj, out var o)) return;
        t.CacheFree(o.Cache, o.Id);
        t.ReleaseObjectId(o.Id);
    }

    /// <summary>Records bench workload <paramref name="name"/> at <paramref name="scale"/>
    /// (the amount of work of `sharpmm bench`).</summary>
    public static RecordedRun RecordBench(string name, double scale)
    {
        string wl = name.ToUpperInvariant();
        switch (wl)
        {
            case "W0":
            case "W1":
            case "W2":
            case "W2O9":
            {
                // As `sharpmm bench`: the per-CPU cache on for W0, off for the others.
                bool pcp = wl == "W0";
                BuddyAllocator* b = PageWorkloads.Create(pcp ? PcpConfig.Default : PcpConfig.Off, out HostMemory meta);
                try
                {
                    var trace = new TraceWriter(PageWorkloads.Base, PageWorkloads.Frames);
                    trace.Header.SetZones(ZoneLayout.Flat());
                    var rec = new RecordingFrames(b, trace);
                    if (wl == "W0") PageWorkloads.W0(ref rec, Math.Max(1, (long)(10_000_000 * scale)));
                    else if (wl == "W1") PageWorkloads.W1(ref rec, 100_000, scale >= 1 ? 20 : 2);
                    else PageWorkloads.W2(ref rec, Math.Max(1, (long)(2_000_000 * scale)), wl == "W2" ? 10 : 9);
                    return new RecordedRun(trace, EndOf(b, trace), pcp ? "buddy-pcp" : "buddy");
                }
                finally { PageWorkloads.Destroy(b, meta); }
            }
            case "W3":
            case "W3T":
            case "W3H":
            {
                long ops = Math.Max(1, (long)(HeapWorkloads.Ops * scale));
                var trace = new TraceWriter(PageWorkloads.Base, PageWorkloads.Frames);
                trace.Header.SetZones(ZoneLayout.Flat());
                using var arena = new HeapArena(HeapConfig.Default);
                var rec = new RecordingMalloc<KmallocBackend>(arena.Backend, trace);
                if (wl == "W3H") HeapWorkloads.W3h(ref rec, ops, out _, out _);
                else
                {
                    using var w3 = new W3Trace(ops);
                    HeapWorkloads.W3(ref rec, w3, wl == "W3T");
                }
                var end = new TraceEndState { FreeBlocksByOrder = Array.Empty<ulong>(), FreeFrames = 0, LiveBlocks = 0, LiveObjects = (ulong)rec.LiveObjects };
                return new RecordedRun(trace, end, "kmalloc");
            }
            default:
                throw new ArgumentException($"unknown bench workload '{name}' (one of: {string.Join(", ", BenchNames)})", nameof(name));
        }
    }

    /// <summary>The end state of a recorded page run: the buddy's lists, free frames, and the
    /// blocks the trace left live.</summary>
    public static TraceEndState EndOf(BuddyAllocator* b, TraceWriter trace)
    {
        var blocks = new ulong[BuddyAllocator.MaxOrderValue + 1];
        for (int z = 0; z < b->ZoneCount; z++) for (uint o = 0; o < blocks.Length; o++) blocks[o] += b->FreeBlocks(z, o);
        ulong live = trace.Count(TraceEventKind.PageAlloc) - trace.Count(TraceEventKind.PageFree);
        return new TraceEndState { FreeBlocksByOrder = blocks, FreeFrames = b->FreeFrames, LiveBlocks = live, LiveObjects = 0 };
    }

    /// <summary>Records user workload <paramref name="name"/>: the frames user memory takes and
    /// gives back (pages and page tables) and the faults by kind. The machine in the header runs
    /// from frame 1 to the highest frame the run used.</summary>
    public static (TraceWriter Trace, WorkloadReport Report) RecordWorkload(string name, UserWorkloadOptions o)
    {
        var trace = new TraceWriter(1, Math.Max(1, (o.RamBytes >> PageSize.Shift) - 1));
        trace.Header.SetZones(o.Layout == LayoutId.I386HigherHalf ? ZoneLayout.I386() : ZoneLayout.X86_64());
        WorkloadReport report;
        using (Record(trace)) report = UserWorkloads.Run(name, o);
        // RAM may lie above the requested size (a hole below 4 GiB moves it up).
        if (trace.PageEnd > trace.Header.BasePfn + trace.Header.Frames) trace.Header.Frames = trace.PageEnd - trace.Header.BasePfn;
        trace.Header.SetZones(o.Layout == LayoutId.I386HigherHalf ? ZoneLayout.I386() : ZoneLayout.X86_64());
        return (trace, report);
    }
}
