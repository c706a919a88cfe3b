using System;
using System.Numerics;
using SharpMM.Hosted.Workloads;
using SharpMM.Physical;
using Xunit;

namespace SharpMM.Tests.Workloads;

/// <summary>The workloads are the peers' workloads: same PRNG stream, same draws, same end state.</summary>
[Collection(AllocationFreeCollection.Name)]
public unsafe class PageWorkloadTests
{
    // The generator's outputs as bench/peers/README.md lists them (the C reference's self-test
    // checks the same values: bench/peers/pages.c).
    [Fact]
    public void SplitMix64_MatchesTheCGenerator()
    {
        var r = new SplitMix64(1);
        Assert.Equal(0x910a2dec89025cc1UL, r.Next());
        Assert.Equal(0xbeeb8da1658eec67UL, r.Next());
        Assert.Equal(0xf893a2eefb32555eUL, r.Next());
        Assert.Equal(0x71c18690ee42c90bUL, r.Next());
        Assert.Equal(0x975835de1c9756ceUL, new SplitMix64(2).Next());
    }

    [Fact]
    public void W1_FirstPermutation_MatchesPublishedChecks()
    {
        uint* perm = stackalloc uint[100_000];
        var rng = new SplitMix64(1);
        PageWorkloads.Permute(perm, 100_000, ref rng);
        Assert.Equal(new uint[] { 66787, 90204, 81960 }, new[] { perm[0], perm[1], perm[2] });
        Assert.Equal(56656u, perm[99_999]);
    }

    [Fact]
    public void W2_FirstOrders_MatchPublishedChecks()
    {
        var rng = new SplitMix64(2);
        var orders = new int[8];
        for (int i = 0; i < 8; i++) orders[i] = BitOperations.TrailingZeroCount(rng.Next() | (1UL << 10));
        Assert.Equal(new[] { 1, 1, 0, 2, 0, 0, 1, 0 }, orders);
    }

    // Same policy as the C reference (LIFO lists, split keeps the lower half, lists seeded
    // ascending): the end state must be the reference's, draw for draw.
    // Expect: allocs 998640, frees 1001360, failed 0, 130893 free pages, 109 order-10 and
    // 221 order-9 blocks allocatable.
    [Fact]
    public void W2_EndState_EqualsTheCReference()
    {
        var b = PageWorkloads.Create(PcpConfig.Off, out var meta);
        try
        {
            W2Result r;
            using (new NoGcRegion())
            {
                r = PageWorkloads.W2(ref *b, 2_000_000, 10);
                Assert.True(NoGcRegion.Held, "a collection ran during W2");
            }
            Assert.Equal(998640UL, r.Allocs);
            Assert.Equal(1001360UL, r.Frees);
            Assert.Equal(0UL, r.Failed);
            Assert.Equal(130893UL, r.FreePages);
            Assert.Equal(10, r.LargestOrder);
            Assert.Equal(109UL, r.Order10Blocks);
            Assert.Equal(221UL, r.Order9Blocks);
            Assert.Equal(0L, PageWorkloads.GcBytes);
            Assert.Equal((ulong)PageWorkloads.Frames, b->FreeFrames);
            b->Validate();
        }
        finally { PageWorkloads.Destroy(b, meta); }
    }

    [Fact]
    public void W0_And_W1_AllocateNothingOnTheGcHeap()
    {
        var b = PageWorkloads.Create(PcpConfig.Default, out var meta);
        try
        {
            using (new NoGcRegion())
            {
                PageWorkloads.W0(ref *b, 100_000);
                Assert.Equal(0L, PageWorkloads.GcBytes);
                PageWorkloads.W1(ref *b, 100_000, 2);
                Assert.Equal(0L, PageWorkloads.GcBytes);
                Assert.True(NoGcRegion.Held, "a collection ran during W0/W1");
            }
            Assert.Equal((ulong)PageWorkloads.Frames, b->FreeFrames);
            b->Validate();
        }
        finally { PageWorkloads.Destroy(b, meta); }
    }
}
