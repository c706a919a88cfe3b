using System;
using System.Runtime.CompilerServices;
using SharpMM.Heap;
using SharpMM.Hosted;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>Debug mode: poison, red zones, use after free, double and invalid frees recorded,
/// allocation sites and the leak report.</summary>
public unsafe class DebugModeTests
{
    private static int Here([CallerLineNumber] int line = 0) => line;

    private static HeapFixture Debug(ulong frames = 2048) => new(frames, HeapConfig.Debugging);

    // Expect: a new object reads 0x5a, a freed one 0x6b; magazines are off in debug mode.
    [Fact]
    public void Poison_OnAllocateAndOnFree()
    {
        using var f = Debug();
        Assert.True(f.Pages.IsDebug);
        Assert.False(f.Pages.HotEnabled);
        Assert.Equal(0u, f.H.Cache(3).MagazineCapacity);
        Assert.Equal(Status.Ok, f.H.Kmalloc(50, out void* p));
        Assert.True(new Span<byte>(p, 50).IndexOfAnyExcept(SlabCache.PoisonAlloc) < 0);
        Assert.Equal(SlabCache.RedActive, ((byte*)p)[50]); // the slack after the request is red zone
        Assert.Equal(SlabCache.RedActive, ((byte*)p)[-1]);
        Assert.Equal(Status.Ok, f.H.Ksize(p, out ulong usable));
        Assert.Equal(50UL, usable);
        Assert.Equal(Status.Ok, f.H.Kfree(p));
        Assert.True(new Span<byte>(p, 64).IndexOfAnyExcept(SlabCache.PoisonFree) < 0);
        Assert.Equal(SlabCache.RedInactive, ((byte*)p)[-1]);
        Assert.Equal(0UL, f.Pages.Debug->EventTotal);
        f.DestroyAndCheck();
    }

    // A write into a freed object is found when the object is handed out again: the event
    // names the object and the sites of its last allocation and free.
    [Fact]
    public void UseAfterFree_IsFoundWhenTheObjectIsHandedOutAgain()
    {
        using var f = Debug();
        f.H.Kmalloc(64, out void* a);
        int allocLine = Here(); f.H.Kmalloc(64, out void* b);
        f.H.Kmalloc(64, out void* c);
        int freeLine = Here(); f.H.Kfree(b);
        ((byte*)b)[10] = 0x42;                  // the bug
        f.H.Kmalloc(64, out void* again);       // lowest free object of the fullest slab: b
        Assert.Equal((ulong)b, (ulong)again);
        HeapDebug* dbg = f.Pages.Debug;
        Assert.Equal(1UL, dbg->Count(HeapEventKind.UseAfterFree));
        Assert.True(dbg->TryGetEvent(0, out HeapEvent e));
        Assert.Equal(HeapEventKind.UseAfterFree, e.Kind);
        Assert.Equal((ulong)b, e.Address);
        Assert.Equal((uint)allocLine, dbg->SiteAt(e.AllocSite).Line);
        Assert.Equal((uint)freeLine, dbg->SiteAt(e.FreeSite).Line);
        var w = StringSink.NewWriter();
        HeapReport.WriteEvents(ref w, in f.Pages);
        string text = w.Sink.Text.ToString();
        Assert.Contains("use-after-free", text);
        Assert.Contains($"DebugModeTests.cs:{freeLine}", text);
        foreach (void* p in new[] { a, again, c }) Assert.Equal(Status.Ok, f.H.Kfree(p));
        f.DestroyAndCheck();
    }

    // One byte past the request (still inside the 32-byte class) and one byte before the object
    // are both caught on free: the free is refused, the object stays allocated, an event is
    // recorded; repaired, the free goes through.
    [Fact]
    public void RedZoneOverflow_IsFoundOnFree()
    {
        using var f = Debug();
        f.H.Kmalloc(20, out void* p);
        ((byte*)p)[20] = 0;
        Assert.Equal(Status.Malformed, f.H.Kfree(p));
        Assert.Equal(1UL, f.H.Cache(2).ActiveObjects);
        Assert.Equal(1UL, f.Pages.Debug->Count(HeapEventKind.RedZoneOverflow));
        ((byte*)p)[20] = SlabCache.RedActive;
        ((byte*)p)[-3] = 7;
        Assert.Equal(Status.Malformed, f.H.Kfree(p));
        ((byte*)p)[-3] = SlabCache.RedActive;
        Assert.Equal(Status.Ok, f.H.Kfree(p));

        f.H.Kmalloc(20_000, out void* big);    // large blocks: the slack after the request
        ((byte*)big)[20_000] = 1;
        Assert.Equal(Status.Malformed, f.H.Kfree(big));
        ((byte*)big)[20_000] = SlabCache.RedActive;
        Assert.Equal(Status.Ok, f.H.Kfree(big));
        Assert.Equal(2UL + 1, f.Pages.Debug->Count(HeapEventKind.RedZoneOverflow));
        f.DestroyAndCheck();
    }

    // Double and invalid frees return their status as in fast mode and are recorded.
    [Fact]
    public void DoubleAndInvalidFrees_AreRecorded()
    {
        using var f = Debug();
        f.H.Kmalloc(100, out void* p);
        f.H.Kmalloc(100, out void* q);
        f.H.Kfree(p);
        var before = HeapSnapshot.Take(f);
        Assert.Equal(Status.DoubleFree, f.H.Kfree(p));
        Assert.Equal(Status.Misaligned, f.H.Kfree((byte*)q + 4));
        ulong x = 0;
        Assert.Equal(Status.OutOfRange, f.H.Kfree(&x));
        Assert.Equal(before, HeapSnapshot.Take(f));
        HeapDebug* dbg = f.Pages.Debug;
        Assert.Equal(1UL, dbg->Count(HeapEventKind.DoubleFree));
        Assert.Equal(2UL, dbg->Count(HeapEventKind.InvalidFree));
        f.H.Kfree(q);
        f.DestroyAndCheck();
    }

    // Expect: the report lists each site with live allocations (file:line, objects, bytes)
    // and the totals; freed allocations leave it.
    [Fact]
    public void LeakReport_ListsSitesAndLiveBytes()
    {
        using var f = Debug();
        var keep = new void*[5];
        int lineA = Here(); for (int i = 0; i < 3; i++) f.H.Kmalloc(100, out keep[i]);
        int lineB = Here(); f.H.Kmalloc(30_000, out keep[3]);
        int lineC = Here(); f.H.Kmalloc(8, out keep[4]);
        f.H.Kfree(keep[4]);
        var w = StringSink.NewWriter();
        HeapReport.WriteLeaks(ref w, in f.Pages);
        string text = w.Sink.Text.ToString();
        Assert.Contains("4 live allocations, 30300 bytes, from 2 sites", text);
        Assert.Contains($"DebugModeTests.cs:{lineA}", text);
        Assert.Contains($"DebugModeTests.cs:{lineB}", text);
        Assert.DoesNotContain($"DebugModeTests.cs:{lineC}", text);
        Assert.Matches($@"DebugModeTests\.cs:{lineA}\s+3 objects\s+300 bytes", text);
        for (int i = 0; i < 4; i++) f.H.Kfree(keep[i]);
        f.Pages.Debug->Totals(out ulong objects, out ulong bytes, out uint sites);
        Assert.Equal((0UL, 0UL, 0u), (objects, bytes, sites));
        f.DestroyAndCheck();
    }

    // krealloc in place moves the red zone; growing fills the new bytes with 0x5a.
    [Fact]
    public void Krealloc_InPlace_MovesTheRedZone()
    {
        using var f = Debug();
        f.H.Kmalloc(40, out void* p);
        new Span<byte>(p, 40).Fill(1);
        Assert.Equal(Status.Ok, f.H.Krealloc(p, 60, out void* q));
        Assert.Equal((ulong)p, (ulong)q);
        Assert.Equal(SlabCache.PoisonAlloc, ((byte*)q)[45]);
        Assert.Equal(SlabCache.RedActive, ((byte*)q)[60]);
        Assert.Equal(Status.Ok, f.H.Krealloc(q, 20, out q));
        ((byte*)q)[30] = 0; // now inside the red zone
        Assert.Equal(Status.Malformed, f.H.Kfree(q));
        ((byte*)q)[30] = SlabCache.RedActive;
        Assert.Equal(Status.Ok, f.H.Kfree(q));
        f.DestroyAndCheck();
    }
}
