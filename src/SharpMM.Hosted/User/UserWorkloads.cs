using System;
using System.Collections.Generic;
using System.Diagnostics;
using SharpMM.Diagnostics;
using SharpMM.Heap;
using SharpMM.Hosted.Workloads;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.User;
using SharpMM.Virtual;

namespace SharpMM.Hosted.User;

/// <summary>How to run a user workload.</summary>
public sealed class UserWorkloadOptions
{
    /// <summary>Kernel layout (x86_64 or i386-higher-half).</summary>
    public LayoutId Layout { get; init; } = LayoutId.X86_64;
    /// <summary>Simulated RAM.</summary>
    public ulong RamBytes { get; init; } = 64UL << 20;
    /// <summary>The store file (null: a temporary file).</summary>
    public string? StorePath { get; init; }
    /// <summary>Replace <see cref="StorePath"/> even when it is an existing file that is not a
    /// store (<see cref="StoreFile.IsForeignFile"/>); without it such a file is refused.</summary>
    public bool ReplaceForeignStore { get; init; }
    /// <summary>Process structures from the kernel heap in debug mode; the report then carries
    /// its leak report (`workload NAME --debug-heap`).</summary>
    public bool DebugHeap { get; init; }
    /// <summary>Seed of the access patterns.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Multiplies the amount of work (requests, accesses).</summary>
    public double Scale { get; init; } = 1.0;
}

/// <summary>
/// Named user workloads run on a <see cref="UserMachine{TFormat}"/> (`sharpmm workload NAME`):
/// <code>
///   fork-server   a server with 16 MiB of state forks a child per request; each child reads a
///                 few pages of the parent's state, writes two, uses some stack and a buffer,
///                 and exits a few requests later: copy-on-write keeps the copies few
///   recursion     a call chain 400 bytes a frame grows the stack one fault a page until it
///                 reaches the 8 MiB limit (a stack-overflow result, as SIGSEGV would be), then
///                 unwinds reading every frame back
///   memory-hog    a process writes twice as many pages as RAM holds, reads them back in order,
///                 then makes random accesses with a hot tenth: the clock pages out to the
///                 store and faults bring pages back
///   object-space  Phantom's persistent object space: a process fills a store-backed region,
///                 snapshots it, changes a tenth and snapshots again, changes more and the
///                 machine stops without a snapshot; a new machine opens the same store file
///                 and finds the second snapshot, page for page
/// </code>
/// Every value read is checked against what was written; every process exits at the end and
/// the frames it had must all be back in the allocator. Each run starts after a warm-up
/// (<see cref="UserMachine{TFormat}.WarmUp"/>) so the handler's timings are of compiled code.
/// </summary>
public static class UserWorkloads
{
    /// <summary>The workload names.</summary>
    public static readonly string[] Names = { "fork-server", "recursion", "memory-hog", "object-space" };

    /// <summary>Runs workload <paramref name="name"/>. Throws ArgumentException for an unknown name.</summary>
    public static WorkloadReport Run(string name, UserWorkloadOptions o)
    {
        if (name == "object-space")
            return o.Layout == LayoutId.I386HigherHalf ? ObjectSpace<X86LegacyFormat>(o) : ObjectSpace<X86LongModeFormat>(o);
        return o.Layout == LayoutId.I386HigherHalf ? Run<X86LegacyFormat>(name, o) : Run<X86LongModeFormat>(name, o);
    }

    private static WorkloadReport Run<TFormat>(string name, UserWorkloadOptions o) where TFormat : struct, IPagingFormat
    {
        ulong ramPages = o.RamBytes >> 12;
        ulong storeSlots = name == "memory-hog" ? 2 * ramPages + ramPages / 2 + 1024 : ramPages + 1024;
        using var m = new UserMachine<TFormat>(o.Layout, o.RamBytes, o.StorePath, storeSlots, replaceForeignStore: o.ReplaceForeignStore, heapMode: o.DebugHeap ? HeapMode.Debug : HeapMode.Fast);
        m.WarmUp();
        var report = new WorkloadReport
        {
            Name = name, Layout = AddressSpaceLayout.NameOf(o.Layout), RamBytes = o.RamBytes, FreeFramesAtStart = m.FreeFramesAtStart,
            Description = name switch
            {
                "fork-server" => "a server forks a child per request; children touch little of the parent",
                "recursion" => "a deep call chain grows the stack to its limit",
                "memory-hog" => "a process uses twice the RAM: the clock pages out to the store",
                _ => throw new ArgumentException($"unknown workload '{name}' (one of: {string.Join(", ", Names)})"),
            },
        };
        long t0 = Stopwatch.GetTimestamp();
        switch (name)
        {
            case "fork-server": ForkServer(m, o, report); break;
            case "recursion": Recursion(m, o, report); break;
            default: MemoryHog(m, o, report); break;
        }
        report.Elapsed = Stopwatch.GetElapsedTime(t0);
        Collect(m, report);
        return report;
    }

    private static unsafe void Collect<TFormat>(UserMachine<TFormat> m, WorkloadReport r, List<long>[]? earlier = null) where TFormat : struct, IPagingFormat
    {
        int n = m.FaultCounts.Length;
        r.FaultCounts = new long[n];
        r.FaultLatencyLog2Ns = new long[64];
        r.FaultTicks = new long[n];
        r.MedianUs = new double[n];
        r.P99Us = new double[n];
        for (int i = 0; i < n; i++)
        {
            var list = new List<long>(m.FaultSamples[i]);
            if (earlier != null) list.AddRange(earlier[i]);
            r.FaultCounts[i] = list.Count;
            foreach (long t in list)
            {
                r.FaultTicks[i] += t;
                ulong ns = (ulong)Math.Max(1.0, t * 1e9 / Stopwatch.Frequency);
                r.FaultLatencyLog2Ns[System.Numerics.BitOperations.Log2(ns)]++;
            }
            if (list.Count == 0) continue;
            list.Sort();
            r.MedianUs[i] = list[list.Count / 2] * 1e6 / Stopwatch.Frequency;
            r.P99Us[i] = list[Math.Min(list.Count - 1, list.Count * 99 / 100)] * 1e6 / Stopwatch.Frequency;
        }
        UserCounters k = m.Mem->Counters;
        r.PagesOut += k.PagesOut; r.PagesIn += k.PagesIn; r.CleanDrops += k.CleanDrops; r.SecondChances += k.SecondChances;
        r.ClockScans += k.ClockScans; r.ReclaimRuns += k.ReclaimRuns; r.EvictionsRefused += k.EvictionsRefused; r.ForkSharedPages += k.ForkSharedPages;
        r.StoreWrites += m.Store.Writes; r.StoreReads += m.Store.Reads; r.StoreWriteTicks += m.Store.WriteTicks; r.StoreReadTicks += m.Store.ReadTicks;
        FlushCounters fc = m.Mem->FlushCounters;
        FlushCounters f0 = m.FlushAtStart;
        r.PagesInvalidated += fc.PagesInvalidated - f0.PagesInvalidated; r.Cr3Reloads += fc.Cr3Reloads - f0.Cr3Reloads; r.FullFlushes += fc.FullFlushes - f0.FullFlushes;
        if (m.Heap != null && m.Heap.Heap != null)
        {
            var heap = m.Heap.Heap;
            heap->Shrink(); // empty slabs go back, so only live allocations keep frames
            var t = StringSink.NewWriter();
            HeapReport.WriteLeaks(ref t, in heap->Pages);
            HeapReport.WriteEvents(ref t, in heap->Pages);
            r.LeakReport = t.Sink.Text.ToString();
            var j = StringSink.NewWriter();
            JsonWriter<StringSink> jw = default;
            jw.BeginObject(ref j);
            HeapReport.WriteLeaksJson(ref jw, ref j, in heap->Pages);
            jw.EndObject(ref j);
            using var doc = System.Text.Json.JsonDocument.Parse(j.Sink.Text.ToString());
            r.LeakReportJson = doc.RootElement.GetProperty("leak_report").Clone();
        }
        r.FramesNotReturned = (long)m.FreeFramesAtStart - (long)m.Mem->Frames.FreeFrames;
    }

    private static unsafe void Sample<TFormat>(UserMachine<TFormat> m, WorkloadReport r, long step, string label, AddressSpace<TFormat>* main,
        List<nint> live) where TFormat : struct, IPagingFormat
    {
        ulong all = 0, swapped = 0;
        foreach (nint p in live) { all += ((AddressSpace<TFormat>*)p)->ResidentPages; swapped += ((AddressSpace<TFormat>*)p)->SwappedPages; }
        // Page-outs and page-ins so far: the earlier machines' totals (object-space runs two) and this one's.
        UserCounters k = m.Mem->Counters;
        r.Samples.Add(new RssSample(step, label, main->ResidentPages, all, m.Mem->UserFrames, swapped, r.PagesOut + k.PagesOut, r.PagesIn + k.PagesIn));
        var w = StringSink.NewWriter();
        w.Str("pmap of the main process at step "); w.Dec((ulong)step); w.Str(" ("); w.Str(label); w.Line("):");
        ProcessMap.Write(ref w, in *main);
        r.Pmap = w.Sink.Text.ToString();
    }

    private static void Check(WorkloadReport r, bool ok, string what)
    {
        if (ok) return;
        if (r.Verified) r.Notes.Add("MISMATCH: " + what);
        r.Verified = false;
    }

    // ---- fork-server ----

    private static unsafe void ForkServer<TFormat>(UserMachine<TFormat> m, UserWorkloadOptions o, WorkloadReport r) where TFormat : struct, IPagingFormat
    {
        var rng = new SplitMix64(o.Seed);
        var parent = m.Spawn(64 << 10, 64 << 10);
        var live = new List<nint> { (nint)parent };
        m.Switch(parent);
        UserLayout l = m.Layout;
        ulong heapPages = Math.Min(4096UL, (o.RamBytes >> 12) / 4);
        ulong heap = parent->BrkStart;
        if (m.Mem->SetBrk(parent, heap + heapPages * 4096, ref m.Arch, out _) != Status.Ok) throw new InvalidOperationException("brk");
        // The server's state: word 0 of heap page i holds (i << 20) | version.
        var version = new uint[heapPages];
        for (ulong t = 0; t < 16; t++) m.Read(l.TextBase + t * 4096);
        for (ulong i = 0; i < heapPages; i++) m.Write(heap + i * 4096, i << 20);
        for (ulong s = 1; s <= 4; s++) m.Write(l.StackTop - s * 4096, s);
        Sample(m, r, 0, "server ready", parent, live);
        ulong serverPages = parent->ResidentPages;

        int requests = (int)(300 * o.Scale);
        const int Concurrent = 4;
        var children = new Queue<(nint space, uint[] seen)>();
        int copies = 0;
        long forkTicks = 0, exitTicks = 0;
        for (int req = 1; req <= requests; req++)
        {
            long f0 = Stopwatch.GetTimestamp();
            var child = m.Fork(parent);
            forkTicks += Stopwatch.GetTimestamp() - f0;
            live.Add((nint)child);
            uint[] atFork = (uint[])version.Clone();
            m.Switch(child);
            // The request: read 8 pages of state, update 2, use 16 pages of stack and a 64 KiB buffer.
            for (int k = 0; k < 8; k++)
            {
                ulong i = SplitMix64.Bound(rng.Next(), (uint)heapPages);
                Check(r, m.Read(heap + i * 4096) == ((i << 20) | atFork[i]), $"request {req} read page {i}");
            }
            for (int k = 0; k < 2; k++)
            {
                ulong i = SplitMix64.Bound(rng.Next(), (uint)heapPages);
                atFork[i] = 0xFFFFF;
                m.Write(heap + i * 4096, (i << 20) | 0xFFFFF);
                copies++;
            }
            for (ulong s = 0; s < 16; s++) m.Write(l.StackTop - 8 - s * 4096, (ulong)req);
            if (m.Mem->MapAnonymous(child, 0, 64 << 10, VmaProtection.ReadWrite, out ulong buf) != Status.Ok) throw new InvalidOperationException("mmap");
            for (ulong b = 0; b < 16; b++) m.Write(buf + b * 4096, (ulong)req);
            children.Enqueue(((nint)child, atFork));
            // The server goes on: updates one page of its own state.
            m.Switch(parent);
            ulong u = SplitMix64.Bound(rng.Next(), (uint)heapPages);
            version[u] = (version[u] + 1) & 0xFFFFF;
            m.Write(heap + u * 4096, (u << 20) | version[u]);
            if (children.Count > Concurrent)
            {
                var (old, seen) = children.Dequeue();
                m.Switch((AddressSpace<TFormat>*)old);
                // Before exiting, the child checks a page it did not write still shows the state at its fork.
                ulong i = SplitMix64.Bound(rng.Next(), (uint)heapPages);
                Check(r, m.Read(heap + i * 4096) == ((i << 20) | seen[i]), $"child of an earlier request sees page {i} changed");
                m.Switch(null);
                long e0 = Stopwatch.GetTimestamp();
                m.Exit((AddressSpace<TFormat>*)old);
                exitTicks += Stopwatch.GetTimestamp() - e0;
                live.Remove(old);
                m.Switch(parent);
            }
            if (req % Math.Max(1, requests / 12) == 0) Sample(m, r, req, $"request {req}", parent, live);
        }
        while (children.Count > 0)
        {
            var (old, _) = children.Dequeue();
            m.Exit((AddressSpace<TFormat>*)old);
            live.Remove(old);
        }
        Sample(m, r, requests, "children gone", parent, live);
        for (ulong i = 0; i < heapPages; i++) Check(r, m.Read(heap + i * 4096) == ((i << 20) | version[i]), $"server page {i} at the end");
        ulong cow = (ulong)m.FaultCounts[(int)FaultKind.CopyOnWrite];
        r.Notes.Add($"{requests} requests, {Concurrent} children alive at a time; the server's {serverPages} resident pages were shared with each child, {cow} pages copied in all ({(double)cow / requests:F1} per request)");
        double forkUs = (double)forkTicks / Stopwatch.Frequency * 1e6 / requests;
        r.Notes.Add($"fork: {forkUs:F0} us each ({forkUs * 1000 / serverPages:F1} ns per shared page); exit (destroy) of a child: {(double)exitTicks / Stopwatch.Frequency * 1e6 / Math.Max(1, requests - Concurrent):F0} us each");
        m.Exit(parent);
    }

    // ---- recursion ----

    private static unsafe void Recursion<TFormat>(UserMachine<TFormat> m, UserWorkloadOptions o, WorkloadReport r) where TFormat : struct, IPagingFormat
    {
        var p = m.Spawn(16 << 10, 16 << 10);
        var live = new List<nint> { (nint)p };
        m.Switch(p);
        const ulong Frame = 400;
        ulong top = m.Layout.StackTop;
        ulong sp = top;
        long depth = 0;
        Sample(m, r, 0, "main", p, live);
        // Call: push the return address and a local; stop at the first fault that does not resolve.
        while (true)
        {
            ulong next = sp - Frame;
            if (!m.TryWrite(next + Frame - 8, 0x401000UL + (ulong)(depth & 0xFFF)) || !m.TryWrite(next, (ulong)depth)) break;
            sp = next;
            depth++;
            if (depth % 2500 == 0) Sample(m, r, depth, $"depth {depth}", p, live);
        }
        FaultResult stop = m.LastFault;
        Sample(m, r, depth, FaultKindNames.Name(stop.Kind), p, live);
        r.Notes.Add($"recursion stopped at depth {depth} ({(top - sp) >> 10} KiB of stack): {FaultKindNames.Name(stop.Kind)} at 0x{stop.Address:x}, limit 0x{m.Layout.StackLimit:x}");
        Check(r, stop.Kind == FaultKind.StackOverflow, "the recursion should end in a stack overflow");
        // Unwind: every frame reads back.
        for (long d = depth - 1; d >= 0; d--, sp += Frame)
            Check(r, m.Read(sp) == (ulong)d && m.Read(sp + Frame - 8) == 0x401000UL + (ulong)(d & 0xFFF), $"frame at depth {d}");
        Sample(m, r, 0, "unwound", p, live);
        m.Exit(p);
    }

    // ---- memory-hog ----

    private static unsafe void MemoryHog<TFormat>(UserMachine<TFormat> m, UserWorkloadOptions o, WorkloadReport r) where TFormat : struct, IPagingFormat
    {
        var rng = new SplitMix64(o.Seed);
        var p = m.Spawn(16 << 10, 16 << 10);
        var live = new List<nint> { (nint)p };
        m.Switch(p);
        ulong pages = 2 * (o.RamBytes >> 12);
        if (m.Mem->MapAnonymous(p, 0, pages * 4096, VmaProtection.ReadWrite, out ulong va) != Status.Ok) throw new InvalidOperationException("mmap");
        var value = new ulong[pages];
        ulong every = Math.Max(1, pages / 8);
        for (ulong i = 0; i < pages; i++)
        {
            value[i] = (i << 16) | 1;
            m.Write(va + i * 4096 + (i & 0x1FF) * 8, value[i]);
            if ((i + 1) % every == 0) Sample(m, r, (long)(i + 1), $"write {(i + 1) * 100 / pages}%", p, live);
        }
        for (ulong i = 0; i < pages; i++) Check(r, m.Read(va + i * 4096 + (i & 0x1FF) * 8) == value[i], $"page {i} in the sequential pass");
        Sample(m, r, (long)pages, "sequential read", p, live);
        long accesses = (long)(pages * 2 * o.Scale);
        ulong hot = pages / 10;
        for (long a = 1; a <= accesses; a++)
        {
            ulong x = rng.Next();
            ulong i = (x & 0xFF) < 205 ? SplitMix64.Bound(rng.Next(), (uint)hot) : SplitMix64.Bound(rng.Next(), (uint)pages);
            ulong at = va + i * 4096 + (i & 0x1FF) * 8;
            if ((x >> 8 & 0xFF) < 77)
            {
                value[i] = (value[i] & ~0xFFFFUL) | ((value[i] + 1) & 0xFFFF);
                m.Write(at, value[i]);
            }
            else Check(r, m.Read(at) == value[i], $"page {i} in the random pass");
            if (a % Math.Max(1, accesses / 8) == 0) Sample(m, r, (long)pages + a, $"random {a * 100 / accesses}%", p, live);
        }
        r.Notes.Add($"{pages} pages ({pages >> 8} MiB) in {m.FreeFramesAtStart} free frames; then {accesses} random accesses, 80% to a hot tenth, 30% writes");
        // Paging throughput end to end: dirty every resident page, then one reclaim call takes
        // them all out (clock passes, store writes, unmapping, TLB flushes); then a pass brings
        // them back in by faults (fault, store read, mapping).
        var resident = new List<ulong>();
        for (ulong i = 0; i < pages; i++)
            if (SwapEntry<TFormat>.Is(p->Entry(va + i * 4096)) == false && p->Entry(va + i * 4096) != 0) resident.Add(i);
        foreach (ulong i in resident) { value[i] ^= 0x8000; m.Write(va + i * 4096 + (i & 0x1FF) * 8, value[i]); }
        long written0 = m.Store.Writes;
        long t0 = Stopwatch.GetTimestamp();
        ulong freed = m.Mem->Reclaim((ulong)resident.Count, ref m.Arch);
        double outSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        long written = m.Store.Writes - written0;
        long in0 = m.FaultCounts[(int)FaultKind.PageIn];
        t0 = Stopwatch.GetTimestamp();
        foreach (ulong i in resident) Check(r, m.Read(va + i * 4096 + (i & 0x1FF) * 8) == value[i], $"page {i} after the reclaim");
        double inSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        long pagedIn = m.FaultCounts[(int)FaultKind.PageIn] - in0;
        r.Notes.Add($"page-out, end to end: one reclaim of {resident.Count} dirty resident pages freed {freed} frames with {written} store writes in {outSeconds * 1e3:F1} ms: {freed / outSeconds:N0} pages/s ({freed / outSeconds * 4096 / 1048576:F0} MiB/s)");
        r.Notes.Add($"page-in, end to end: reading them back took {pagedIn} page-in faults in {inSeconds * 1e3:F1} ms: {pagedIn / inSeconds:N0} pages/s ({pagedIn / inSeconds * 4096 / 1048576:F0} MiB/s), through the MMU model");
        m.Exit(p);
    }

    // ---- object-space ----

    private static unsafe WorkloadReport ObjectSpace<TFormat>(UserWorkloadOptions o) where TFormat : struct, IPagingFormat
    {
        ulong pages = Math.Min(PersistentRegion.MaxPages, (o.RamBytes >> 12) / 4);
        ulong regionSlots = PersistentRegion.SlotsFor(pages);
        ulong storeSlots = regionSlots + (o.RamBytes >> 12) + 1024;
        string path = o.StorePath ?? System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"sharpmm-objects-{Environment.ProcessId}-{Guid.NewGuid():N}.bin");
        bool temporary = o.StorePath == null;
        var rng = new SplitMix64(o.Seed);
        var value = new ulong[pages];
        var saved = new ulong[pages];
        List<long>[]? firstMachine = null;
        var r = new WorkloadReport
        {
            Name = "object-space", Layout = AddressSpaceLayout.NameOf(o.Layout), RamBytes = o.RamBytes,
            Description = "a persistent region is snapshotted, the machine stops, a new one reopens it",
        };
        try
        {
            // The workload formats its region afresh: an old store at the path is replaced, a
            // file that is not a store only when the caller said so.
            StoreFile.EnsureOpenable(temporary ? null : path, o.ReplaceForeignStore);
            if (System.IO.File.Exists(path)) System.IO.File.Delete(path);
            long t0 = Stopwatch.GetTimestamp();
            using (var m = new UserMachine<TFormat>(o.Layout, o.RamBytes, path, storeSlots, regionSlots, o.ReplaceForeignStore, o.DebugHeap ? HeapMode.Debug : HeapMode.Fast))
            {
                m.WarmUp();
                r.FreeFramesAtStart = m.FreeFramesAtStart;
                m.AttachRegion(pages, format: true);
                var p = m.Spawn(16 << 10, 16 << 10);
                var live = new List<nint> { (nint)p };
                m.Switch(p);
                if (m.Mem->MapStore(p, 0, pages * 4096, 0, VmaProtection.ReadWrite, out ulong va) != Status.Ok) throw new InvalidOperationException("map store");
                for (ulong i = 0; i < pages; i++) { value[i] = (i << 24) | 1; m.Write(va + i * 4096 + (i & 0x1FF) * 8, value[i]); }
                Sample(m, r, 0, "objects written", p, live);
                Snap(m, r, "first snapshot (every page)");
                for (ulong k = 0; k < pages / 10; k++)
                {
                    ulong i = SplitMix64.Bound(rng.Next(), (uint)pages);
                    value[i] = (value[i] & ~0xFFFFFFUL) | ((value[i] + 1) & 0xFFFFFF);
                    m.Write(va + i * 4096 + (i & 0x1FF) * 8, value[i]);
                }
                m.Mem->Reclaim(pages / 4, ref m.Arch); // some changed pages leave RAM before the snapshot
                Sample(m, r, 1, "a tenth changed", p, live);
                Snap(m, r, "second snapshot (changed pages)");
                Array.Copy(value, saved, (long)pages);
                for (ulong k = 0; k < pages / 20; k++)
                {
                    ulong i = SplitMix64.Bound(rng.Next(), (uint)pages);
                    m.Write(va + i * 4096 + (i & 0x1FF) * 8, 0xDEAD);
                }
                Sample(m, r, 2, "changed, not saved", p, live);
                firstMachine = new List<long>[m.FaultSamples.Length];
                for (int i = 0; i < firstMachine.Length; i++) firstMachine[i] = new List<long>(m.FaultSamples[i]);
                Collect(m, r);
                r.Notes.Add("the machine stops here without a snapshot (its RAM is gone; the store file stays)");
            }
            using (var m = new UserMachine<TFormat>(o.Layout, o.RamBytes, path, storeSlots, regionSlots, o.ReplaceForeignStore, o.DebugHeap ? HeapMode.Debug : HeapMode.Fast))
            {
                m.WarmUp();
                PersistentRegion* region = m.AttachRegion(pages, format: false);
                var p = m.Spawn(16 << 10, 16 << 10);
                var live = new List<nint> { (nint)p };
                m.Switch(p);
                if (m.Mem->MapStore(p, 0, pages * 4096, 0, VmaProtection.ReadWrite, out ulong va) != Status.Ok) throw new InvalidOperationException("map store");
                long t1 = Stopwatch.GetTimestamp();
                for (ulong i = 0; i < pages; i++) Check(r, m.Read(va + i * 4096 + (i & 0x1FF) * 8) == saved[i], $"object page {i} after the restart");
                double s = Stopwatch.GetElapsedTime(t1).TotalSeconds;
                Sample(m, r, 3, "reopened, all read", p, live);
                r.Notes.Add($"restart: opened generation {region->Generation}; {pages} pages read back by {m.FaultCounts[(int)FaultKind.StoreFill]} store-fill faults in {s * 1e3:F1} ms ({pages / s:N0} pages/s), every one as the second snapshot left it");
                m.Exit(p);
                Collect(m, r, firstMachine); // both machines' counters, faults from both machines' samples
            }
            r.Elapsed = Stopwatch.GetElapsedTime(t0);
        }
        finally
        {
            if (temporary && System.IO.File.Exists(path)) System.IO.File.Delete(path);
        }
        return r;
    }

    private static unsafe void Snap<TFormat>(UserMachine<TFormat> m, WorkloadReport r, string what) where TFormat : struct, IPagingFormat
    {
        long w0 = m.Store.Writes, f0 = m.Store.Flushes;
        long t0 = Stopwatch.GetTimestamp();
        if (m.Mem->Snapshot(ref m.Arch, out ulong written) != Status.Ok) throw new InvalidOperationException("snapshot");
        double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        r.Notes.Add($"{what}: {written} pages, {m.Store.Writes - w0} store writes, {m.Store.Flushes - f0} fsyncs, {s * 1e3:F1} ms ({written / s:N0} pages/s, {written / s * 4096 / 1048576:F0} MiB/s)");
    }
}
