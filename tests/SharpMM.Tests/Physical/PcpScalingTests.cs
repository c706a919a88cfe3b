using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Hosted;
using SharpMM.Physical;
using SharpMM.Tests.Concurrency;
using Xunit;

namespace SharpMM.Tests.Physical;

/// <summary>
/// What lets the page allocator scale over CPUs: every CPU's cache on cache lines of its own, and
/// a cache whose high has grown keeps a whole burst, so that CPUs allocating and freeing in
/// bursts stop taking the zone lock. In the CPU collection: the largest high depends on the CPUs
/// online.
/// </summary>
[Collection(CpuCollection.Name)]
public sealed unsafe class PcpScalingTests
{
    private const ulong Base = 4096;
    private const int Burst = 4096;   // a W5 round

    [Fact]
    public void NoTwoCpusCaches_ShareACacheLine_WhereverTheZoneLies_AndEveryStackStartsOnALineOfItsOwn()
    {
        using var f = BuddyFixture.Flat(Base, 65536, pcp: true);
        Zone zone = f.B.GetZone(0);
        // The records sit in the zone, which lies wherever the allocator's host put it (8- or
        // 16-aligned). For every alignment, the lines a CPU's fields touch (its first bytes up to
        // the end of its last field) are no other CPU's, and none of the zone's other fields'.
        ref PcpCache first = ref Zone.Cache(ref zone, 0);
        long recordsAt = (long)Unsafe.ByteOffset(ref Unsafe.As<Zone, byte>(ref zone), ref Unsafe.As<PcpCache, byte>(ref first));
        long fieldBytes = (long)Marshal.OffsetOf<PcpCache>(nameof(PcpCache.Frames)) + sizeof(nint);
        long lockedFieldsEnd = (long)Unsafe.ByteOffset(ref Unsafe.As<Zone, byte>(ref zone), ref Unsafe.As<int, byte>(ref zone.PcpShort)) + sizeof(int);
        for (long zoneAt = 0; zoneAt < 64; zoneAt += 8)
        {
            var owner = new System.Collections.Generic.Dictionary<long, int>();
            for (int cpu = 0; cpu < Cpu.MaxCpus; cpu++)
            {
                long start = zoneAt + recordsAt + cpu * sizeof(PcpCache);
                for (long line = start >> 6; line <= (start + fieldBytes - 1) >> 6; line++)
                {
                    Assert.False(owner.TryGetValue(line, out int other), $"zone at +{zoneAt}: CPUs {other} and {cpu} share line {line}");
                    owner[line] = cpu;
                }
            }
            // The last field before the records (written under the zone lock by any CPU) and the
            // next zone's first (read by every CPU's fast path).
            long lastLineBefore = (zoneAt + lockedFieldsEnd - 1) >> 6;
            long firstLineAfter = (zoneAt + sizeof(Zone)) >> 6;
            foreach (long line in owner.Keys)
                Assert.True(line > lastLineBefore && line < firstLineAfter, $"zone at +{zoneAt}: line {line} of the caches holds other fields of a zone");
        }
        for (int cpu = 0; cpu < Cpu.MaxCpus; cpu++)
        {
            ref PcpCache c = ref Zone.Cache(ref zone, cpu);
            Assert.True((ulong)c.Frames % 64 == 0, $"CPU {cpu}'s stack at {(ulong)c.Frames:x} is not 64-byte aligned");
        }
        Assert.Equal(0u, zone.PcpStack % 16);   // a stack is whole cache lines
    }

    [Fact]
    public void TheStack_HoldsWhatTheLargestHighAllows()
    {
        // 131072 frames: an eighth is 16384, beyond the stack's capacity.
        using var f = BuddyFixture.Flat(Base, 131072, pcp: true);
        Zone zone = f.B.GetZone(0);
        Assert.Equal((uint)Zone.PcpCapacity, zone.PcpStack);
        Assert.Equal((uint)Zone.PcpCapacity - 1, BuddyAllocator.PcpHighMax(zone));
        Assert.True(Zone.PcpCapacity > Burst, "a stack holds a whole burst");
    }

    [Fact]
    public void AZoneNoLargerThanTheLeastHigh_HasNoCache_AndServesOrder0FromItsLists()
    {
        using var f = BuddyFixture.Flat(Base, 256, pcp: true);   // 256 <= 378
        Zone zone = f.B.GetZone(0);
        Assert.Equal(0u, zone.PcpStack);
        Assert.Equal(0u, zone.PcpHigh);
        Assert.Equal(0UL, f.B.PcpBytes);
        var held = new System.Collections.Generic.List<Pfn>();
        for (int i = 0; i < 256; i++) { Assert.Equal(Status.Ok, f.B.Allocate(0, out Pfn p)); held.Add(p); }
        Assert.Equal(Status.OutOfMemory, f.B.Allocate(0, out _));
        foreach (Pfn p in held) Assert.Equal(Status.Ok, f.B.Free(p, 0));
        Assert.Equal(0u, f.B.CachedFrames(0, 0));
        Assert.Equal(1UL, f.BlocksAt(0, 8));   // every frame back on the lists, merged
        f.B.Validate();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TwoCpus_InBurstsOf4096_StopTakingTheZoneLock_OnceTheirHighsHaveGrown(bool crossFrees)
    {
        // Each CPU allocates a burst, then frees one (its own, or, after a barrier, the other
        // CPU's: every free crosses CPUs). The first rounds refill, drain and grow the highs;
        // after them every round is served by the caches alone.
        using var f = BuddyFixture.Flat(Base, 131072, pcp: true);
        BuddyAllocator* b = f.Buddy;
        var barrier = new CpuBarrier(2);
        var batches = new uint[2][] { new uint[Burst], new uint[Burst] };
        ulong warm = 0, after = 0;
        uint[] highs = new uint[2];
        HostedCpus.Run(2, cpu =>
        {
            uint[] mine = batches[cpu], freed = crossFrees ? batches[1 - cpu] : mine;
            for (int round = 0; round < 8; round++)
            {
                if (round == 3)
                {
                    barrier.SignalAndWait();
                    if (cpu == 0) warm = b->ZoneLockStats(0).Acquisitions;
                    barrier.SignalAndWait();
                }
                BurstRound(b, mine, freed, barrier);
            }
            highs[cpu] = b->CacheHigh(0, cpu);
            if (cpu == 0) after = b->ZoneLockStats(0).Acquisitions;
        });
        Assert.True(warm > 0, "the first rounds refilled the caches under the zone lock");
        Assert.Equal(warm, after);
        for (int cpu = 0; cpu < 2; cpu++) Assert.True(highs[cpu] >= Burst, $"CPU {cpu}'s high grew to {highs[cpu]}, below a burst");
        f.B.Drain();
        f.B.Validate();
        Assert.Equal(131072UL, f.B.FreeFrames);
    }

    // Each CPU allocates bursts and frees its own (W5), in barrier-separated rounds, so that the
    // refills of the two CPUs interleave. After them, no line of state bytes (64 frames) holds
    // frames of both CPUs' caches: every state byte store of a CPU stays in lines no other CPU
    // writes (a refill capped by a high that is not a whole number of lines once took the rest
    // of a line as single frames, whose neighbours the other CPU's next refill took).
    [Fact]
    public void TwoCpus_FreeingTheirOwnBursts_ShareNoLineOfStateBytes()
    {
        using var f = BuddyFixture.Flat(Base, 131072, pcp: true);
        BuddyAllocator* b = f.Buddy;
        var barrier = new CpuBarrier(2);
        var batches = new uint[2][] { new uint[Burst], new uint[Burst] };
        HostedCpus.Run(2, cpu =>
        {
            uint[] mine = batches[cpu];
            for (int round = 0; round < 6; round++) BurstRound(b, mine, mine, barrier);
        });
        Zone zone = f.B.GetZone(0);
        var lineOwner = new System.Collections.Generic.Dictionary<uint, int>();
        var shared = new System.Collections.Generic.HashSet<uint>();
        for (int cpu = 0; cpu < 2; cpu++)
        {
            ref PcpCache c = ref Zone.Cache(ref zone, cpu);
            Assert.True(c.Count >= Burst / 2, $"CPU {cpu} caches {c.Count} frames after its rounds");
            for (uint i = 0; i < c.Count; i++)
            {
                uint line = c.Frames[i] >> 6;
                if (lineOwner.TryGetValue(line, out int other) && other != cpu) shared.Add(line);
                else lineOwner[line] = cpu;
            }
        }
        Assert.True(shared.Count == 0, $"{shared.Count} lines of state bytes hold frames cached by both CPUs");
        f.B.Drain();
        f.B.Validate();
        Assert.Equal(131072UL, f.B.FreeFrames);
    }

    // One W5 round on the calling CPU: allocate a burst into mine, meet, free the burst in freed
    // (mine, or another CPU's), meet.
    private static void BurstRound(BuddyAllocator* b, uint[] mine, uint[] freed, CpuBarrier barrier)
    {
        for (int i = 0; i < Burst; i++)
        {
            Assert.Equal(Status.Ok, b->Allocate(0, out Pfn p));
            mine[i] = (uint)p.Value;
        }
        barrier.SignalAndWait();
        for (int i = 0; i < Burst; i++) Assert.Equal(Status.Ok, b->Free(Pfn.New(freed[i]), 0));
        barrier.SignalAndWait();
    }
}
