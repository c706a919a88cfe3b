using System.Collections.Generic;
using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Hosted;
using SharpMM.Physical;
using SharpMM.Tests.Concurrency;
using Xunit;

namespace SharpMM.Tests.Physical;

/// <summary>
/// The per-CPU caches size themselves (Linux 6.7's pcp high auto-tuning): a cache's high grows
/// when bursts of frees follow bursts of allocations, stays between the zone's least
/// (<see cref="Zone.PcpHigh"/>) and <see cref="BuddyAllocator.PcpHighMax"/>, shrinks when frees
/// dominate, and falls back to the least when memory runs short. In the CPU collection: the
/// largest high depends on the CPUs online.
/// </summary>
[Collection(CpuCollection.Name)]
public sealed unsafe class PcpAutoTuneTests
{
    private const ulong Base = 4096;
    private const uint Least = 378;   // PcpConfig.Default.High

    private static List<Pfn> AllocateMany(BuddyFixture f, int n)
    {
        var held = new List<Pfn>(n);
        for (int i = 0; i < n; i++) { Assert.Equal(Status.Ok, f.B.Allocate(0, out Pfn p)); held.Add(p); }
        return held;
    }

    private static void FreeAll(BuddyFixture f, List<Pfn> held)
    {
        foreach (Pfn p in held) Assert.Equal(Status.Ok, f.B.Free(p, 0));
        held.Clear();
    }

    [Fact]
    public void High_GrowsUnderAllocThenFreeBursts_AndStaysWithinItsBounds()
    {
        using var f = BuddyFixture.Flat(Base, 65536, pcp: true);
        uint max = BuddyAllocator.PcpHighMax(f.B.GetZone(0));
        Assert.Equal(Least, f.B.CacheHigh(0, 0));
        Assert.True(max > 1500 + Least, $"the largest high ({max}) leaves room to grow");

        for (int round = 0; round < 10; round++)
        {
            FreeAll(f, AllocateMany(f, 1500));
            uint high = f.B.CacheHigh(0, 0);
            Assert.True(high >= Least && high <= max, $"round {round}: high {high} outside [{Least}, {max}]");
        }
        uint grown = f.B.CacheHigh(0, 0);
        Assert.True(grown >= 1500, $"after bursts of 1500 the high is {grown}");
        // The burst now fits: a whole round comes from the cache and goes back to it.
        uint cached = f.B.CachedFrames(0, 0);
        Assert.True(cached >= 1500, $"{cached} frames cached after the bursts");
        Assert.Equal(65536UL, f.B.FreeFrames);
        f.B.Validate();
    }

    [Fact]
    public void High_NeverExceedsTheLargest_HoweverLongTheBursts()
    {
        // 16384 frames: the largest high is an eighth, 2048, less the one slot of the stack
        // (an eighth of the zone too) that a free needs before it compares with the high.
        using var f = BuddyFixture.Flat(Base, 16384, pcp: true);
        uint max = BuddyAllocator.PcpHighMax(f.B.GetZone(0));
        Assert.Equal(2048u, f.B.GetZone(0).PcpStack);
        Assert.Equal(2047u, max);
        for (int round = 0; round < 6; round++) FreeAll(f, AllocateMany(f, 6000));
        Assert.Equal(max, f.B.CacheHigh(0, 0));
        Assert.True(f.B.CachedFrames(0, 0) <= max);
        f.B.Validate();
    }

    [Fact]
    public void High_Shrinks_WhenFreesDominateWithoutAllocations()
    {
        using var f = BuddyFixture.Flat(Base, 65536, pcp: true);
        // Grow the high, then hold far more than it and free it all in one stream.
        for (int round = 0; round < 4; round++) FreeAll(f, AllocateMany(f, 1500));
        uint grown = f.B.CacheHigh(0, 0);
        Assert.True(grown > Least, $"the high grew ({grown})");
        // The first drain after the allocations raises the high to the largest (frees that
        // follow allocations); the frees that keep draining with no allocation then lower it.
        uint max = BuddyAllocator.PcpHighMax(f.B.GetZone(0));
        var many = AllocateMany(f, 40000);
        FreeAll(f, many);
        uint shrunk = f.B.CacheHigh(0, 0);
        Assert.True(shrunk < max, $"the high is {shrunk} after 40000 frees; the largest is {max}");
        Assert.True(shrunk >= Least, $"the high ({shrunk}) stays at or above the least");
        Assert.Equal(65536UL, f.B.FreeFrames);
        f.B.Validate();
    }

    [Fact]
    public void High_FallsToTheLeast_WhenTheZoneRunsShort()
    {
        using var f = BuddyFixture.Flat(Base, 16384, pcp: true);
        for (int round = 0; round < 4; round++) FreeAll(f, AllocateMany(f, 1500));
        Assert.True(f.B.CacheHigh(0, 0) > Least);
        // Hold all but the last few hundred frames: the lists fall under the low watermark
        // (a 64th of the zone) and the next refill cuts the high back.
        var held = AllocateMany(f, 16384 - 200);
        Assert.Equal(Least, f.B.CacheHigh(0, 0));
        FreeAll(f, held);
        Assert.Equal(16384UL, f.B.FreeFrames);
        f.B.Validate();
    }

    [Fact]
    public void FailedLargerAllocation_TakesTheCachedFramesBack_OnOneCpu()
    {
        // Every order-1 block held but what the cache keeps: an order-1 request then needs the
        // buddies sitting in the cache, which the failed attempt drains.
        using var f = BuddyFixture.Flat(Base, 8192, pcp: true);
        for (int round = 0; round < 4; round++) FreeAll(f, AllocateMany(f, 900));
        Assert.True(f.B.CachedFrames(0, 0) > 0);
        var pairs = new List<Pfn>();
        while (f.B.Allocate(1, out Pfn p) == Status.Ok) pairs.Add(p);
        Assert.Equal(0U, f.B.CachedFrames(0, 0));
        Assert.Equal(8192 / 2, pairs.Count);
        Assert.Equal(Least, f.B.CacheHigh(0, 0));
        foreach (Pfn p in pairs) Assert.Equal(Status.Ok, f.B.Free(p, 1));
        Assert.Equal(8192UL, f.B.FreeFrames);
        f.B.Validate();
    }

    [Fact]
    public void FailedAllocation_GetsAnotherCpusGrownCache_AndResetsItsHigh()
    {
        const ulong frames = 32768;
        using var f = BuddyFixture.Flat(Base, frames, pcp: true);
        BuddyAllocator* b = f.Buddy;
        var barrier = new CpuBarrier(2);
        uint grownOnCpu1 = 0, cachedOnCpu1 = 0;
        ulong allocatedByCpu0 = 0;
        HostedCpus.Run(2, cpu =>
        {
            if (cpu == 1)
            {
                for (int round = 0; round < 4; round++)
                {
                    var held = new List<Pfn>();
                    for (int i = 0; i < 1500; i++) { Assert.Equal(Status.Ok, b->Allocate(0, out Pfn p)); held.Add(p); }
                    foreach (Pfn p in held) Assert.Equal(Status.Ok, b->Free(p, 0));
                }
                grownOnCpu1 = b->CacheHigh(0, 1);
                cachedOnCpu1 = b->CachedFrames(0, 1);
                barrier.SignalAndWait();
                barrier.SignalAndWait();   // spins, answering CPU 0's drain request
                return;
            }
            barrier.SignalAndWait();
            var mine = new List<Pfn>();
            while (b->Allocate(0, out Pfn p) == Status.Ok) mine.Add(p);
            allocatedByCpu0 = (ulong)mine.Count;
            foreach (Pfn p in mine) Assert.Equal(Status.Ok, b->Free(p, 0));
            barrier.SignalAndWait();
        });
        Assert.True(grownOnCpu1 > Least, $"CPU 1's high grew ({grownOnCpu1})");
        Assert.True(cachedOnCpu1 > Least, $"CPU 1 cached {cachedOnCpu1} frames, more than the least high");
        Assert.Equal(frames, allocatedByCpu0);   // including every frame CPU 1 had cached
        Assert.Equal(0U, f.B.CachedFrames(0, 1));
        Assert.Equal(Least, f.B.CacheHigh(0, 1));
        f.B.Validate();
        Assert.Equal(frames, f.B.FreeFrames);
    }
}
