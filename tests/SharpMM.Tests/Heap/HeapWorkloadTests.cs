using SharpMM.Heap;
using SharpMM.Hosted.Workloads;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>W3, W3t and W3h are the peers' workloads: same generator, same trace; SharpMM runs
/// them without a failure and without GC allocation.</summary>
[Collection(AllocationFreeCollection.Name)]
public unsafe class HeapWorkloadTests
{
    // The checksums bench/peers/README.md gives for the W3 trace (10,000,000 operations), which
    // the C reference's self-test also checks (bench/peers/kmalloc.c).
    // Expect: fill-size sum 38066095, op-size sum 3820101847, slot-index sum 499865727279;
    // live bytes at the end 38148935 (what the C reference reports as live_bytes).
    [Fact]
    public void W3Trace_MatchesThePublishedChecksums()
    {
        using var t = new W3Trace(HeapWorkloads.Ops);
        Assert.Equal(38066095UL, t.FillSizeSum);
        Assert.Equal(3820101847UL, t.OpSizeSum);
        Assert.Equal(499865727279UL, t.SlotSum);
        Assert.Equal(38148935UL, t.LiveBytesAtEnd);
    }

    [Fact]
    public void W3Size_SpansEightTo2047Bytes()
    {
        Assert.Equal(8u, HeapWorkloads.W3Size(0));            // e = 3, no extra bits
        Assert.Equal(2047u, HeapWorkloads.W3Size(7 | (0x3FFUL << 8)));
        Assert.Equal(1024u + 5, HeapWorkloads.W3Size(7 | (5UL << 8)));
    }

    // A full-scale W3 run on SharpMM: no failure, no GC byte, and the footprint target of
    // issue 5 (pages held at most 1.35x the requested live bytes). The arena checks on
    // disposal that every frame came back.
    [Fact]
    public void W3_FullScale_MeetsTheFootprintTarget()
    {
        using var t = new W3Trace(HeapWorkloads.Ops);
        W3Result r;
        using (new NoGcRegion())
        {
            r = HeapWorkloads.RunW3("sharpmm", t, touch: false);
            Assert.True(NoGcRegion.Held, "a collection ran during W3");
        }
        Assert.Equal(0UL, r.Failures);
        Assert.Equal(0L, r.GcBytes);
        Assert.Equal(t.LiveBytesAtEnd, r.LiveBytes);
        Assert.True(r.FootprintBytes <= r.LiveBytes * 135 / 100, $"footprint {r.FootprintBytes} for {r.LiveBytes} live ({(double)r.FootprintBytes / r.LiveBytes:F3}x)");
    }

    [Fact]
    public void W3t_And_W3h_RunClean()
    {
        using var t = new W3Trace(200_000);
        W3Result r;
        ulong failures;
        long gc;
        using (new NoGcRegion())
        {
            r = HeapWorkloads.RunW3("sharpmm", t, touch: true);
            HeapWorkloads.RunW3h("sharpmm", 200_000, out failures, out gc);
            Assert.True(NoGcRegion.Held, "a collection ran during W3t/W3h");
        }
        Assert.Equal(0UL, r.Failures);
        Assert.Equal(0L, r.GcBytes);
        Assert.Equal(0UL, failures);
        Assert.Equal(0L, gc);
    }

    // The same workload through a validated heap: W3 in debug mode, every object checked.
    [Fact]
    public void W3_InDebugMode_FindsNothing()
    {
        using var t = new W3Trace(100_000);
        using var arena = new HeapArena(HeapConfig.Debugging);
        var b = arena.Backend;
        W3Result r = HeapWorkloads.W3(ref b, t, touch: true);
        Assert.Equal(0UL, r.Failures);
        Assert.Equal(0UL, arena.Heap->Pages.Debug->EventTotal);
        arena.Heap->Validate();
    }
}
