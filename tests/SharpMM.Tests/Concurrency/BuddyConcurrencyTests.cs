using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Numerics;
using System.Threading;
using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Hosted;
using SharpMM.Hosted.Workloads;
using SharpMM.Physical;
using SharpMM.Tests.Physical;
using Xunit;

namespace SharpMM.Tests.Concurrency;

/// <summary>
/// The buddy allocator shared by simulated CPUs: allocation storms of mixed orders where blocks
/// are freed by other CPUs than the ones that allocated them, checked as they run (no frame owned
/// twice) and after (the validator, counters, no leak); drain on demand when the lists run dry.
/// </summary>
[Collection(CpuCollection.Name)]
public sealed unsafe class BuddyConcurrencyTests
{
    private const ulong Base = 4096;

    // Who holds each frame of the arena (CPU + 1, 0 = nobody), claimed with an atomic exchange
    // at every allocation: a frame handed out twice is seen by the second taker.
    private sealed class Ownership
    {
        private readonly int[] _owner;
        private readonly ConcurrentQueue<string> _errors = new();
        public Ownership(ulong frames) => _owner = new int[frames];

        public void Claim(uint pfn, uint order, int cpu)
        {
            for (uint i = 0; i < 1u << (int)order; i++)
            {
                int before = Interlocked.Exchange(ref _owner[pfn + i - Base], cpu + 1);
                if (before != 0) _errors.Enqueue($"frame {pfn + i} handed to CPU {cpu} while CPU {before - 1} held it");
            }
        }

        public void Release(uint pfn, uint order, int cpu)
        {
            for (uint i = 0; i < 1u << (int)order; i++)
            {
                if (Interlocked.Exchange(ref _owner[pfn + i - Base], 0) == 0) _errors.Enqueue($"frame {pfn + i} freed by CPU {cpu} but owned by nobody");
            }
        }

        public string Errors(int max) => string.Join("; ", _errors.ToArray()[..Math.Min(max, _errors.Count)]);
        public int ErrorCount => _errors.Count;
    }

    private readonly record struct Block(uint Pfn, uint Order);

    // Every CPU allocates blocks of orders 0..3 (order 0 half of the time) and frees them at
    // random; a third of its frees are handed through another CPU's inbox, which that CPU frees.
    // Memory is small enough that allocations fail and drain the other CPUs' caches. Returns the
    // allocations that failed even after the drain.
    private static long Storm(BuddyFixture f, Ownership own, int cpus, ulong seed, int steps, int maxHeld)
    {
        BuddyAllocator* b = f.Buddy;
        var inbox = new ConcurrentQueue<Block>[cpus];
        for (int i = 0; i < cpus; i++) inbox[i] = new ConcurrentQueue<Block>();
        var barrier = new CpuBarrier(cpus);
        long failed = 0;
        HostedCpus.Run(cpus, cpu =>
        {
            var rng = new SplitMix64(seed * 131 + (ulong)cpu);
            var held = new List<Block>();
            void Free(Block blk)
            {
                own.Release(blk.Pfn, blk.Order, cpu);
                Status s = b->Free(Pfn.New(blk.Pfn), blk.Order);
                if (s != Status.Ok) throw new InvalidOperationException($"seed {seed}: CPU {cpu} free of {blk.Pfn} order {blk.Order}: {s}");
            }
            for (int step = 0; step < steps; step++)
            {
                while (inbox[cpu].TryDequeue(out Block got)) Free(got);
                ulong r = rng.Next();
                if (held.Count < maxHeld && (held.Count == 0 || (r & 3) != 0))
                {
                    uint order = (uint)BitOperations.TrailingZeroCount((r >> 2) | 8);
                    if (b->Allocate(order, out Pfn p) != Status.Ok) { Interlocked.Increment(ref failed); continue; }
                    own.Claim((uint)p.Value, order, cpu);
                    held.Add(new Block((uint)p.Value, order));
                }
                else
                {
                    int i = (int)SplitMix64.Bound(r, (uint)held.Count);
                    Block blk = held[i];
                    held[i] = held[^1];
                    held.RemoveAt(held.Count - 1);
                    if (cpus > 1 && (r >> 40) % 3 == 0)
                    {
                        int to = (cpu + 1 + (int)((r >> 48) % (ulong)(cpus - 1))) % cpus;
                        inbox[to].Enqueue(blk);
                    }
                    else Free(blk);
                }
            }
            barrier.SignalAndWait();   // no more allocations or hand-overs after this
            while (inbox[cpu].TryDequeue(out Block got)) Free(got);
            foreach (Block blk in held) Free(blk);
            barrier.SignalAndWait();
        });
        return failed;
    }

    [Theory]
    [InlineData(2, 1UL)]
    [InlineData(4, 2UL)]
    [InlineData(8, 3UL)]
    [InlineData(3, 4UL)]
    public void Storm_OfMixedOrdersWithCrossCpuFrees_HandsNoFrameOutTwice_AndLeaksNothing(int cpus, ulong seed)
    {
        // 2048 frames against up to 8 x 300 held blocks of 1.9 frames on average, plus the
        // caches: allocations fail and drain the other CPUs.
        const ulong frames = 2048;
        using var f = new BuddyFixture(new[] { (Base, Base + frames) }, ZoneLayout.Flat(), PcpConfig.Default);
        var own = new Ownership(frames);
        // Two CPUs run longer: they overlap least on a busy machine.
        long failed = Storm(f, own, cpus, seed, steps: cpus <= 2 ? 100_000 : 10_000, maxHeld: 300);

        Assert.True(own.ErrorCount == 0, $"seed {seed}, {cpus} CPUs: {own.ErrorCount} ownership errors: {own.Errors(5)}");
        f.B.Validate();
        Assert.Equal(frames, f.B.FreeFrames);
        f.B.Drain();
        f.B.Validate();
        Assert.Equal(0UL, f.B.CachedFrames(0));
        Assert.True(f.BlocksAt(0, 10) == frames >> 10, $"seed {seed}: after the drain every frame merged back into order-10 blocks ({f.BlocksAt(0, 10)} of {frames >> 10})");
        if (cpus >= 4) Assert.True(failed > 0, $"seed {seed}: the storm was meant to run memory dry (it never failed an allocation)");
        Assert.True(f.B.ZoneLockTotals.Acquisitions > 0, "the zone lock was taken with several CPUs online");
    }

    [Fact]
    public void FailedAllocation_DrainsTheOtherCpusCaches_AndThenSucceeds()
    {
        const ulong frames = 512;
        using var f = new BuddyFixture(new[] { (Base, Base + frames) }, ZoneLayout.Flat(), PcpConfig.Default);
        BuddyAllocator* b = f.Buddy;
        var barrier = new CpuBarrier(2);
        ulong cachedOnCpu1 = 0, allocatedByCpu0 = 0;
        int freedByCpu0 = 0;
        HostedCpus.Run(2, cpu =>
        {
            if (cpu == 1)
            {
                // Fill this CPU's cache: 300 frames allocated and freed stay cached here.
                var held = new List<Pfn>();
                for (int i = 0; i < 300; i++) { Assert.Equal(Status.Ok, b->Allocate(0, out Pfn p)); held.Add(p); }
                foreach (Pfn p in held) Assert.Equal(Status.Ok, b->Free(p, 0));
                cachedOnCpu1 = b->CachedFrames(0, 1);
                barrier.SignalAndWait();
                barrier.SignalAndWait();   // spins, answering CPU 0's drain request
                return;
            }
            barrier.SignalAndWait();
            var mine = new List<Pfn>();
            while (b->Allocate(0, out Pfn p) == Status.Ok) mine.Add(p);
            allocatedByCpu0 = (ulong)mine.Count;
            foreach (Pfn p in mine) if (b->Free(p, 0) == Status.Ok) freedByCpu0++;
            barrier.SignalAndWait();
        });
        Assert.True(cachedOnCpu1 > frames / 2, $"CPU 1 cached {cachedOnCpu1} frames");
        Assert.Equal(frames, allocatedByCpu0);   // including every frame CPU 1 had cached
        Assert.Equal((int)frames, freedByCpu0);
        Assert.Equal(0U, f.B.CachedFrames(0, 1));
        f.B.Validate();
        Assert.Equal(frames, f.B.FreeFrames);
    }

    [Fact]
    public void FrameFreedOnAnotherCpu_GoesIntoThatCpusCache()
    {
        using var f = BuddyFixture.Flat(Base, 1024, pcp: true);
        BuddyAllocator* b = f.Buddy;
        Pfn p = default;
        HostedCpus.Run(2, cpu => { if (cpu == 0) Assert.Equal(Status.Ok, b->Allocate(0, out p)); });
        uint before0 = f.B.CachedFrames(0, 0), before1 = f.B.CachedFrames(0, 1);
        HostedCpus.Run(2, cpu => { if (cpu == 1) Assert.Equal(Status.Ok, b->Free(p, 0)); });
        Assert.Equal(before0, f.B.CachedFrames(0, 0));
        Assert.Equal(before1 + 1, f.B.CachedFrames(0, 1));
        f.B.Validate();
        Assert.Equal(1024UL, f.B.FreeFrames);
    }
}
