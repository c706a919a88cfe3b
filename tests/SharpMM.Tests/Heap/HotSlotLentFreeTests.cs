using System;
using System.Collections.Generic;
using System.Threading;
using SharpMM.Heap;
using SharpMM.Hosted;
using SharpMM.Tests.Concurrency;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>
/// kfree's shortcut for the object the CPU's hot slot lent out (src/SharpMM/Heap/SlabCache.LentFree.cs)
/// against the plain path that looks every pointer up (<c>KfreePlain</c>): the same statuses,
/// the same pointers handed out and the same heap state for any sequence; and on several CPUs
/// a lent object freed elsewhere, or whose slab was released, is not trusted.
/// </summary>
[Collection(CpuCollection.Name)]
public unsafe class HotSlotLentFreeTests
{
    // Two heaps over the same frame numbers run one seeded sequence of kmalloc, kfree of live
    // objects (the newest most often, so the lent path is hit), double frees, interior pointers
    // and shrinks; one heap frees with kfree, the other with the plain path. Pointers are
    // compared as physical addresses.
    [Theory]
    [InlineData(71)]
    [InlineData(72)]
    [InlineData(73)]
    public void Kfree_WithTheLentShortcut_MatchesThePlainPath(int seed)
    {
        using var fast = new HeapFixture(2048);
        using var plain = new HeapFixture(2048);
        var rng = new Random(seed);
        var live = new List<(nint Fast, nint Plain)>();
        var freed = new List<(nint Fast, nint Plain)>();
        int shortcutCandidates = 0;
        try
        {
            for (int step = 0; step < 20000; step++)
            {
                int op = rng.Next(100);
                if (op < 45 || live.Count == 0)
                {
                    ulong size = rng.Next(4) == 0 ? (ulong)rng.Next(1, 2049) : 64;
                    Status sf = fast.H.Kmalloc(size, out void* pf);
                    Status sp = plain.H.Kmalloc(size, out void* pp);
                    Assert.Equal(sp, sf);
                    Assert.Equal(Phys(plain, pp), Phys(fast, pf));
                    if (sf == Status.Ok) live.Add(((nint)pf, (nint)pp));
                }
                else if (op < 90)
                {
                    int i = rng.Next(3) != 0 ? live.Count - 1 : rng.Next(live.Count);
                    (nint pf, nint pp) = live[i];
                    live.RemoveAt(i);
                    HotSlot hot = fast.Pages.Hot[0];
                    if (hot.IsLent && hot.Object == (ulong)pf) shortcutCandidates++;
                    Assert.Equal(plain.H.KfreePlain((void*)pp), fast.H.Kfree((void*)pf));
                    freed.Add((pf, pp));
                }
                else if (op < 95 && freed.Count > 0)
                {
                    (nint pf, nint pp) = freed[rng.Next(freed.Count)];
                    if (live.Exists(o => o.Fast == pf)) continue; // handed out again: not a double free
                    Assert.Equal(plain.H.KfreePlain((void*)pp), fast.H.Kfree((void*)pf));
                }
                else if (op < 98)
                {
                    (nint pf, nint pp) = live[rng.Next(live.Count)];
                    Assert.Equal(plain.H.KfreePlain((void*)(pp + 8)), fast.H.Kfree((void*)(pf + 8)));
                }
                else
                {
                    Assert.Equal(plain.H.Shrink(), fast.H.Shrink());
                }
                Assert.Equal(State(plain), State(fast));
                if (step % 2000 == 0) { fast.H.Validate(); plain.H.Validate(); }
            }
        }
        catch (Exception e) { throw new Xunit.Sdk.XunitException($"seed {seed}: {e.Message}\n{e}"); }
        Assert.True(shortcutCandidates > 1000, $"seed {seed}: only {shortcutCandidates} frees of a lent object");
        foreach ((nint pf, nint pp) in live)
        {
            Assert.Equal(Status.Ok, fast.H.Kfree((void*)pf));
            Assert.Equal(Status.Ok, plain.H.KfreePlain((void*)pp));
        }
        fast.H.Validate();
        plain.H.Validate();
        fast.DestroyAndCheck();
        plain.DestroyAndCheck();
    }

    private static ulong Phys(HeapFixture f, void* p) => p == null ? 0 : (ulong)p - f.Map.Offset;

    // Everything a free may change, with addresses as physical addresses.
    private static string State(HeapFixture f)
    {
        HotSlot h = f.Pages.Hot[0];
        string hot = h.OwnerWord == 0 ? "empty" : $"{(h.IsLent ? "lent" : "parked")} {Phys(f, (void*)h.Object):x} {Phys(f, (void*)h.Mark):x}";
        return $"{HeapSnapshot.Take(f) with { Hot = "" }} hot {hot} releases {f.Pages.SlabReleases}";
    }

    // CPU 0 lends an object from its hot slot; CPU 1 frees it (legitimately: it was handed
    // out) and frees it again (refused); back on CPU 0, whose slot still names the object as
    // lent, the free is a double free too.
    [Fact]
    public void LentObject_FreedOnAnotherCpu_IsADoubleFreeOnTheLender()
    {
        using var f = new HeapFixture(1024);
        nint obj = 0;
        Status onFreer = Status.Ok, again = Status.Ok, onLender = Status.Ok;
        bool lent = false;
        using var step = new Barrier(2);
        HostedCpus.Run(2, cpu =>
        {
            // A CPU that fails leaves the barrier, so that the other finishes and the failure is reported.
            try { Steps(cpu); }
            catch { step.RemoveParticipant(); throw; }
        });
        void Steps(int cpu)
        {
            if (cpu == 0)
            {
                f.H.Kmalloc(64, out void* p);
                f.H.Kfree(p);
                f.H.Kmalloc(64, out p); // from the hot slot: lent
                obj = (nint)p;
                lent = f.Pages.Hot[0].IsLent && f.Pages.Hot[0].Object == (ulong)p;
            }
            step.SignalAndWait();
            if (cpu == 1) { onFreer = f.H.Kfree((void*)obj); again = f.H.Kfree((void*)obj); }
            step.SignalAndWait();
            if (cpu == 0) onLender = f.H.Kfree((void*)obj);
            step.SignalAndWait();
            f.Pages.DrainCurrentCpu();
        }
        Assert.True(lent);
        Assert.Equal(Status.Ok, onFreer);
        Assert.Equal(Status.DoubleFree, again);
        Assert.Equal(Status.DoubleFree, onLender);
        f.H.Validate();
        f.DestroyAndCheck();
    }

    // The shortcut's two conditions, each on its own: after a slab release (here: the slot's
    // recorded count made older, as if a slab had been released since the object was lent,
    // after which the remembered byte may belong to reused memory) the slot is not trusted even
    // though the byte says allocated; with the count current, a cleared byte (the object freed
    // elsewhere) is not trusted either; with both, the object is parked again.
    [Fact]
    public void TryFreeLent_TrustsTheSlotOnlyWhileNoSlabWasReleasedAndTheByteIsSet()
    {
        using var f = new HeapFixture(1024);
        f.H.Kmalloc(64, out void* p);
        f.H.Kfree(p);
        f.H.Kmalloc(64, out void* x);
        Assert.Equal((ulong)p, (ulong)x);
        ref HotSlot hot = ref f.Pages.Hot[0];
        Assert.True(hot.IsLent);
        byte* mark = (byte*)hot.Mark;
        uint releases = hot.Releases;

        hot.Releases = releases - 1;
        Assert.False(SlabCache.TryFreeLent(f.PagesPtr, 0, x));
        Assert.Equal(1, *mark);
        Assert.True(hot.IsLent);
        hot.Releases = releases;

        *mark = 0;
        Assert.False(SlabCache.TryFreeLent(f.PagesPtr, 0, x));
        Assert.True(hot.IsLent);
        *mark = 1;

        Assert.False(SlabCache.TryFreeLent(f.PagesPtr, 0, (byte*)x + 64));
        Assert.True(SlabCache.TryFreeLent(f.PagesPtr, 0, x));
        Assert.Equal(0, *mark);
        Assert.True(hot.IsParked);
        Assert.Equal(Status.DoubleFree, f.H.Kfree(x));
        f.H.Validate();
        f.DestroyAndCheck();
    }
}
