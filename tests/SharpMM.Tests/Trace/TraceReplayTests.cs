using System;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Hosted;
using SharpMM.Hosted.Peers;
using SharpMM.Hosted.Trace;
using SharpMM.Hosted.User;
using SharpMM.Paging.X86;
using SharpMM.User;
using SharpMM.Virtual;
using SharpMM.Hosted.Workloads;
using SharpMM.Physical;
using Xunit;

namespace SharpMM.Tests.Trace;

/// <summary>
/// Record then replay: a replay of a recorded run on the allocator that ran it ends where the run
/// ended (free blocks per order, live blocks and objects) with every allocation at the frame the
/// run got; a replay on any other allocator passes every step's check.
/// </summary>
public unsafe class TraceReplayTests
{
    private static TraceFile Load(TraceWriter w) => TraceFile.FromBytes(w.ToBytes());

    [Theory]
    [InlineData("W0", 0.001, "buddy-pcp")]
    [InlineData("W1", 0.5, "buddy")]
    [InlineData("W2", 0.05, "buddy")]
    [InlineData("W2o9", 0.05, "buddy")]
    public void ABenchRun_ReplayedOnItsAllocator_EndsInTheSameState(string workload, double scale, string allocator)
    {
        RecordedRun run = TraceRecorder.RecordBench(workload, scale);
        Assert.Equal(allocator, run.ReplayAllocator);
        Assert.NotEqual(0UL, run.Trace.EventCount);
        ReplayResult r = TraceReplay.Run(Load(run.Trace), allocator);
        Assert.True(r.End.SameAs(run.End), $"replay ended in {r.End}, the run in {run.End}");
        Assert.Equal(0UL, r.Divergent);
        Assert.Equal(0UL, r.FailedAllocations);
        Assert.True(r.Clean);
        Assert.Equal(run.Trace.EventCount, r.ReplayedEvents);
    }

    // A run that leaves half of its blocks live, so the end state is not simply "all free".
    private static RecordedRun HalfLiveRun(ulong seed)
    {
        BuddyAllocator* b = PageWorkloads.Create(PcpConfig.Off, out HostMemory meta);
        try
        {
            var trace = new TraceWriter(PageWorkloads.Base, PageWorkloads.Frames);
            trace.Header.SetZones(ZoneLayout.Flat());
            var rec = new RecordingFrames(b, trace);
            var rng = new SplitMix64(seed);
            var live = new System.Collections.Generic.List<(Pfn, uint)>();
            for (int i = 0; i < 20_000; i++)
            {
                if (live.Count > 0 && rng.Next() % 3 == 0)
                {
                    int k = (int)(rng.Next() % (ulong)live.Count);
                    Assert.Equal(Status.Ok, rec.Free(live[k].Item1, live[k].Item2));
                    live[k] = live[^1];
                    live.RemoveAt(live.Count - 1);
                }
                else
                {
                    uint order = (uint)(rng.Next() % 6);
                    if (rec.Allocate(order, out Pfn p) == Status.Ok) live.Add((p, order));
                }
            }
            return new RecordedRun(trace, TraceRecorder.EndOf(b, trace), "buddy");
        }
        finally { PageWorkloads.Destroy(b, meta); }
    }

    [Fact]
    public void ARunThatLeavesBlocksLive_ReplaysToTheSameFreeListsAndLiveBlocks()
    {
        const ulong seed = 0x5eed;
        RecordedRun run = HalfLiveRun(seed);
        Assert.NotEqual(0UL, run.End.LiveBlocks);
        ReplayResult r = TraceReplay.Run(Load(run.Trace), "buddy");
        Assert.True(r.End.SameAs(run.End), $"seed {seed}: replay ended in {r.End}, the run in {run.End}");
        Assert.Equal(0UL, r.Divergent);
    }

    [Theory]
    [InlineData("buddy")]
    [InlineData("buddy-pcp")]
    [InlineData("bitmap")]
    [InlineData("freelist")]
    public void EveryPageAllocator_ReplaysARecordedRun_WithEveryStepChecked(string allocator)
    {
        RecordedRun run = HalfLiveRun(7);
        ReplayResult r = TraceReplay.Run(Load(run.Trace), allocator);
        Assert.True(r.Clean, $"{allocator}: {r.Overlaps} overlaps, {r.RefusedFrees} refused frees");
        Assert.Equal(0UL, r.Unmatched);
        // Every block the trace allocated was either allocated here or counted as failed, and
        // the frees of the failed ones were skipped, not sent to the allocator.
        Assert.Equal(run.Trace.Count(TraceEventKind.PageAlloc), r.Replayed[(int)TraceEventKind.PageAlloc]);
        Assert.Equal(run.End.LiveBlocks, r.End.LiveBlocks + (r.FailedAllocations - r.FreesOfFailed));
        if (allocator == "freelist") Assert.NotEqual(0UL, r.FailedAllocations); // order 0 only
        else Assert.Equal(0UL, r.FailedAllocations);
        Assert.Equal(r.MachineFrames - r.End.FreeFrames, LiveFrames(run) - FailedFrames(r, run));
        Assert.Equal(TraceReplay.SampleCount, r.Samples.Count);
    }

    private static ulong LiveFrames(RecordedRun run) => PageWorkloads.Frames - run.End.FreeFrames;

    // Frames of the blocks a freelist replay could not allocate and that stayed live in the run.
    private static ulong FailedFrames(ReplayResult r, RecordedRun run) =>
        r.Allocator == "freelist" ? LiveFrames(run) - (r.MachineFrames - r.End.FreeFrames) : 0;

    [Fact]
    public void AFreeListReplay_HoldingMoreThanHalfTheHostsMemory_StopsWithAClearError()
    {
        RecordedRun run = HalfLiveRun(7);
        ulong peak = TraceReplay.Run(Load(run.Trace), "freelist").PeakFrames;
        // A host of exactly twice the peak holds it; one of a little less does not.
        ReplayResult fits = TraceReplay.Run(Load(run.Trace), "freelist", hostBytes: (2 * peak) << PageSize.Shift);
        Assert.True(fits.Clean);
        var e = Assert.Throws<HostBudgetExceededException>(() =>
            TraceReplay.Run(Load(run.Trace), "freelist", hostBytes: (2 * peak - 2) << PageSize.Shift));
        Assert.Contains("free-list", e.Message);
        Assert.Contains("buddy", e.Message);
    }

    [Fact]
    public void AMachineTooSmallForTheTrace_CountsRefusedAllocations_AndSkipsTheirFrees()
    {
        RecordedRun run = TraceRecorder.RecordBench("W2", 0.02);
        ReplayResult r = TraceReplay.Run(Load(run.Trace), "buddy", frames: 4096);
        Assert.NotEqual(0UL, r.FailedAllocations);
        Assert.Equal(r.FailedAllocations, r.FreesOfFailed); // W2 frees everything it allocated
        Assert.True(r.Clean);
        Assert.Equal(4096UL, r.End.FreeFrames);
    }

    [Theory]
    [InlineData("W3")]
    [InlineData("W3h")]
    public void AKmallocRun_ReplaysOnKmalloc_AndOnEverySystemMallocPresent(string workload)
    {
        RecordedRun run = TraceRecorder.RecordBench(workload, 0.001);
        Assert.Equal("kmalloc", run.ReplayAllocator);
        TraceFile t = Load(run.Trace);
        foreach (string alloc in new[] { "kmalloc", "glibc", "jemalloc", "mimalloc", "tcmalloc" })
        {
            if (alloc != "kmalloc" && !PeerLibraries.IsAvailable(alloc, out _)) continue;
            ReplayResult r = TraceReplay.Run(t, alloc);
            Assert.True(r.Clean, $"{alloc}: {r.Overlaps} overlaps, {r.RefusedFrees} refused frees");
            Assert.Equal(0UL, r.FailedAllocations);
            Assert.Equal(run.End.LiveObjects, r.End.LiveObjects);
            Assert.Equal(run.Trace.Count(TraceEventKind.Kmalloc), r.Replayed[(int)TraceEventKind.Kmalloc]);
            Assert.Equal(run.Trace.Count(TraceEventKind.Kfree), r.Replayed[(int)TraceEventKind.Kfree]);
            Assert.NotEqual(0UL, r.PeakLiveBytes);
        }
    }

    [Fact]
    public void ATraceWhoseObjectsOverlap_IsCaughtByTheTags()
    {
        // A malloc that hands out the same 64 bytes twice: the second object's tags overwrite the first's.
        var w = new TraceWriter(1024, 4096);
        uint a = w.NewObjectId(), b = w.NewObjectId();
        w.Kmalloc(a, 64, 0); w.Kmalloc(b, 64, 0); w.Kfree(a, 0); w.Kfree(b, 0);
        var res = new ReplayResult { Allocator = "same-block", ByteLevel = true };
        var m = new SameBlockMalloc();
        try
        {
            TraceReplay.ReplayBytes(ref m, Load(w), res);
            Assert.Equal(1UL, res.Overlaps); // the first free finds the second object's tag
        }
        finally { NativeMemory.Free(m.Block); }
    }

    private struct SameBlockMalloc : IMalloc
    {
        public void* Block;
        public void* Malloc(nuint size) => Block != null ? Block : Block = NativeMemory.Alloc(64);
        public bool Free(void* p) => true;
        public ulong HeldBytes() => 64;
    }

    [Fact]
    public void AUserWorkloadRecording_HasItsFramesAndFaults_AndReplaysClean()
    {
        var (trace, report) = TraceRecorder.RecordWorkload("recursion", new SharpMM.Hosted.User.UserWorkloadOptions { Scale = 0.05 });
        Assert.True(report.Verified);
        Assert.NotEqual(0UL, trace.Count(TraceEventKind.PageAlloc));
        Assert.Equal(trace.Count(TraceEventKind.PageAlloc), trace.Count(TraceEventKind.PageFree)); // every frame returned
        Assert.NotEqual(0UL, trace.Count(TraceEventKind.Fault));
        // Every process exited: each page mapped (by a fault or a fork) was unmapped again.
        Assert.NotEqual(0UL, trace.Count(TraceEventKind.Map));
        Assert.Equal(trace.Count(TraceEventKind.Map), trace.Count(TraceEventKind.Unmap));
        ReplayResult r = TraceReplay.Run(Load(trace), "buddy");
        Assert.True(r.Clean);
        Assert.Equal(0UL, r.FailedAllocations);
        Assert.Equal(trace.Count(TraceEventKind.Fault), r.NotReplayed[(int)TraceEventKind.Fault]);
        Assert.Equal(trace.Count(TraceEventKind.Unmap), r.Replayed[(int)TraceEventKind.Unmap]);
        Assert.Equal(0UL, r.UnmatchedUnmaps);
        Assert.Equal(0UL, r.End.LiveBlocks);
        Assert.Equal(0UL, r.End.LiveMappings);
    }

    [Fact]
    public void AUserRunThatUnmapsEveryWay_ReplaysToTheMappingsItLeftLive()
    {
        const ulong ram = 16UL << 20, pages = 64, page = 4096;
        var trace = new TraceWriter(1, (ram >> 12) - 1);
        trace.Header.SetZones(ZoneLayout.X86_64());
        ulong resident, unmapsBefore, unmapsAfterExit, unmapsAfterMunmap, unmapsAfterMadvise, unmapsAfterExec;
        var m = new UserMachine<X86LongModeFormat>(LayoutId.X86_64, ram, null, 64);
        try
        {
            using (TraceRecorder.Record(trace))
            {
                var parent = m.Spawn(page, page);
                m.Switch(parent);
                Assert.Equal(Status.Ok, m.Mem->MapAnonymous(parent, 0, pages * page, VmaProtection.ReadWrite, out ulong va));
                for (ulong i = 0; i < pages; i++) m.Write(va + i * page, i);
                var child = m.Fork(parent);
                m.Switch(child);
                for (ulong i = 0; i < 16; i++) m.Write(va + i * page, i + 1); // copy-on-write: the shared frame unmapped, a copy mapped
                unmapsBefore = trace.Count(TraceEventKind.Unmap);
                m.Switch(parent);
                m.Exit(child);
                unmapsAfterExit = trace.Count(TraceEventKind.Unmap);
                Assert.Equal(Status.Ok, m.Mem->Unmap(parent, va, 8 * page, ref m.Arch));
                unmapsAfterMunmap = trace.Count(TraceEventKind.Unmap);
                Assert.Equal(Status.Ok, m.Mem->Discard(parent, va + 8 * page, 8 * page, ref m.Arch));
                unmapsAfterMadvise = trace.Count(TraceEventKind.Unmap);
                var other = m.Spawn(page, page);
                m.Switch(other);
                m.Write(m.Layout.StackTop - 8, 1);
                Assert.Equal(Status.Ok, m.Mem->Exec(other, page, page, ref m.Arch)); // exec drops the old image
                unmapsAfterExec = trace.Count(TraceEventKind.Unmap);
                m.Switch(parent);
                resident = parent->ResidentPages + other->ResidentPages;
            }
        }
        finally { m.Dispose(); }
        if (trace.PageEnd > trace.Header.BasePfn + trace.Header.Frames) trace.Header.Frames = trace.PageEnd - trace.Header.BasePfn;
        trace.Header.SetZones(ZoneLayout.X86_64());
        Assert.Equal(16UL, unmapsBefore); // the copy-on-write faults
        Assert.True(unmapsAfterExit - unmapsBefore >= pages, $"exit unmapped {unmapsAfterExit - unmapsBefore} pages");
        Assert.Equal(8UL, unmapsAfterMunmap - unmapsAfterExit);
        Assert.Equal(8UL, unmapsAfterMadvise - unmapsAfterMunmap);
        Assert.Equal(1UL, unmapsAfterExec - unmapsAfterMadvise);
        Assert.NotEqual(0UL, resident);
        Assert.Equal(resident, trace.Count(TraceEventKind.Map) - trace.Count(TraceEventKind.Unmap));

        TraceFile file = Load(trace);
        foreach (string allocator in new[] { "buddy", "kmalloc" })
        {
            ReplayResult r = TraceReplay.Run(file, allocator);
            Assert.Equal(trace.Count(TraceEventKind.Map), r.Replayed[(int)TraceEventKind.Map]);
            Assert.Equal(trace.Count(TraceEventKind.Unmap), r.Replayed[(int)TraceEventKind.Unmap]);
            Assert.Equal(0UL, r.UnmatchedUnmaps);
            Assert.Equal(resident, r.End.LiveMappings);
        }
    }

    [Fact]
    public void ObjectsOfANamedSlabCache_AreRecorded_AndReplayToTheObjectsTheRunLeftLive()
    {
        const ulong ram = 16UL << 20, page = 4096;
        var trace = new TraceWriter(1, (ram >> 12) - 1);
        trace.Header.SetZones(ZoneLayout.X86_64());
        ulong live;
        var m = new UserMachine<X86LongModeFormat>(LayoutId.X86_64, ram, null, 64, heapMode: SharpMM.Heap.HeapMode.Debug);
        try
        {
            var before = m.Spawn(page, page); // allocated before the recording: its free is no event
            AddressSpace<X86LongModeFormat>* a, b, c;
            using (TraceRecorder.Record(trace))
            {
                a = m.Spawn(page, page);
                b = m.Spawn(page, page);
                m.Exit(m.Spawn(page, page));
                c = m.Fork(a);
                m.Exit(before);
                live = m.SpaceCache->ActiveObjects;
            }
            m.Exit(a); m.Exit(b); m.Exit(c);
        }
        finally { m.Dispose(); }
        if (trace.PageEnd > trace.Header.BasePfn + trace.Header.Frames) trace.Header.Frames = trace.PageEnd - trace.Header.BasePfn;
        trace.Header.SetZones(ZoneLayout.X86_64());
        Assert.Equal(3UL, live);
        Assert.Equal(4UL, trace.Count(TraceEventKind.CacheAlloc));
        Assert.Equal(1UL, trace.Count(TraceEventKind.CacheFree));

        TraceFile file = Load(trace);
        Assert.Equal("mm_struct", Assert.Single(file.Caches).Value);
        ReplayResult r = TraceReplay.Run(file, "kmalloc");
        Assert.True(r.Clean);
        Assert.Equal(4UL, r.Replayed[(int)TraceEventKind.CacheAlloc]);
        Assert.Equal(1UL, r.Replayed[(int)TraceEventKind.CacheFree]);
        Assert.Equal(0UL, r.Unmatched);
        Assert.Equal(live, r.End.LiveObjects);
    }

    [Fact]
    public void AnUnmapOfAPageNotMapped_IsCountedAndSkipped()
    {
        var w = new TraceWriter(16, 16);
        w.Header.SetZones(ZoneLayout.Flat());
        w.Map(0x400, 20);
        w.Map(0x400, 21); // a second space maps the same page
        w.Unmap(0x400);
        w.Unmap(0x401);   // never mapped
        ReplayResult r = TraceReplay.Run(Load(w), "buddy");
        Assert.Equal(1UL, r.UnmatchedUnmaps);
        Assert.Equal(1UL, r.End.LiveMappings);
        Assert.Equal(2UL, r.PeakMappings);
    }
}
