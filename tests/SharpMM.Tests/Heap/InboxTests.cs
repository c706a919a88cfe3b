using System;
using System.Collections.Generic;
using System.Threading;
using SharpMM.Heap;
using SharpMM.Hosted;
using SharpMM.Tests.Concurrency;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>
/// A CPU's inbox in a slab cache (<see cref="Inbox"/>): objects of its slabs freed on another CPU
/// are handed to it in batches of a magazine's returns; its next refill takes them with no
/// cache lock; they are free and counted while they wait (validation, a second free); a full
/// inbox sends the rest to their slabs; a shrink on any CPU and a drain of the owner give them
/// back; a drain sends the draining CPU's returns to their slabs, not to an inbox.
/// Two simulated CPUs take turns between barriers, so each step sees a quiescent heap.
/// </summary>
[Collection(CpuCollection.Name)]
public unsafe class InboxTests
{
    private const ulong Size = 64;

    [Fact]
    public void ObjectsFreedOnAnotherCpu_WaitInTheOwnersInbox_AndItsNextRefillTakesThem_WithoutTheCacheLock()
    {
        using var f = new HeapFixture(8192);
        var mine = new List<nint>();
        SlabCache* c = null;
        TwoCpus(f,
            cpu0: () => { mine.AddRange(Allocate(f, 200)); c = CacheOf(f, mine[0]); },
            cpu1: () => { for (int i = 0; i < 64; i++) Assert.Equal(Status.Ok, f.H.Kfree((void*)mine[i])); },
            cpu0After: () =>
            {
                Assert.Equal(64u, c->InboxCount(0));
                Assert.Equal(0u, c->InboxCount(1));
                f.H.Validate();
                ulong cached = c->CpuCachedObjects, locks = c->LockStats.Acquisitions;
                var again = new HashSet<nint>(Allocate(f, (int)cached));
                for (int i = 0; i < 64; i++) Assert.Contains(mine[i], again);
                Assert.Equal(0u, c->InboxCount(0));
                Assert.Equal(locks, c->LockStats.Acquisitions);
                Assert.True(c->InboxLockStats.Acquisitions >= 3, "two batches sent and one refill taken");
                FreeAll(f, again);
                for (int i = 64; i < mine.Count; i++) Assert.Equal(Status.Ok, f.H.Kfree((void*)mine[i]));
                f.Pages.DrainCurrentCpu();
            });
        f.H.Validate();
        f.DestroyAndCheck();
    }

    [Fact]
    public void OneCpu_TakesNoInboxPage_TwoCpus_OnePerCacheAndCpuThatRefills_GivenBackByDestroy()
    {
        using var f = new HeapFixture(8192);
        var one = Allocate(f, 200);
        FreeAll(f, one);
        Assert.Equal(0UL, f.Pages.InboxPages);
        TwoCpus(f,
            cpu0: () => { FreeAll(f, Allocate(f, 100)); },
            cpu1: () => { FreeAll(f, Allocate(f, 100)); },
            cpu0After: () => f.Pages.DrainCurrentCpu());
        Assert.Equal(2UL, f.Pages.InboxPages); // kmalloc-64, on CPU 0 and on CPU 1
        f.H.Validate();
        f.DestroyAndCheck();
    }

    [Fact]
    public void AnObjectWaitingInTheInbox_FreedAgainOnEitherCpu_IsADoubleFree()
    {
        using var f = new HeapFixture(8192);
        var mine = new List<nint>();
        TwoCpus(f,
            cpu0: () => mine.AddRange(Allocate(f, 32)),
            cpu1: () =>
            {
                FreeAll(f, mine);
                Assert.Equal(32u, CacheOf(f, mine[0])->InboxCount(0));
                Assert.Equal(Status.DoubleFree, f.H.Kfree((void*)mine[5]));
            },
            cpu0After: () =>
            {
                Assert.Equal(Status.DoubleFree, f.H.Kfree((void*)mine[7]));
                f.H.Validate();
                f.Pages.DrainCurrentCpu();
                Assert.Equal(0u, CacheOf(f, mine[0])->InboxCount(0));
            });
        f.H.Validate();
        f.DestroyAndCheck();
    }

    [Fact]
    public void AFullInbox_SendsTheRestToTheirSlabs()
    {
        using var f = new HeapFixture(8192);
        var mine = new List<nint>();
        ulong cacheLocksOnCpu1 = 0;
        int sent = 0;
        TwoCpus(f,
            cpu0: () => mine.AddRange(Allocate(f, 400)),
            cpu1: () =>
            {
                SlabCache* c = CacheOf(f, mine[0]);
                sent = (int)c->InboxCapacity + 64;
                ulong before = c->LockStats.Acquisitions;
                for (int i = 0; i < sent; i++) Assert.Equal(Status.Ok, f.H.Kfree((void*)mine[i]));
                cacheLocksOnCpu1 = c->LockStats.Acquisitions - before;
                Assert.Equal(c->InboxCapacity, c->InboxCount(0));
            },
            cpu0After: () =>
            {
                Assert.True(cacheLocksOnCpu1 > 0, "what the inbox had no room for went to the slabs");
                f.H.Validate();
                for (int i = sent; i < mine.Count; i++) Assert.Equal(Status.Ok, f.H.Kfree((void*)mine[i]));
                f.Pages.DrainCurrentCpu();
            });
        f.H.Validate();
        f.DestroyAndCheck();
    }

    [Fact]
    public void AShrinkOnAnotherCpu_GivesTheInboxBackToTheSlabs()
    {
        using var f = new HeapFixture(8192);
        var mine = new List<nint>();
        TwoCpus(f,
            cpu0: () => mine.AddRange(Allocate(f, 64)),
            cpu1: () =>
            {
                FreeAll(f, mine);
                SlabCache* c = CacheOf(f, mine[0]);
                Assert.Equal(64u, c->InboxCount(0));
                c->Shrink();
                Assert.Equal(0u, c->InboxCount(0));
            },
            cpu0After: () =>
            {
                f.H.Validate();
                f.Pages.DrainCurrentCpu();
            });
        f.H.Validate();
        f.DestroyAndCheck();
    }

    [Fact]
    public void ADrain_SendsTheCpusReturnsToTheirSlabs_NotToTheOwnersInbox()
    {
        using var f = new HeapFixture(8192);
        var mine = new List<nint>();
        TwoCpus(f,
            cpu0: () => mine.AddRange(Allocate(f, 10)),
            cpu1: () =>
            {
                FreeAll(f, mine);
                SlabCache* c = CacheOf(f, mine[0]);
                Assert.Equal(0u, c->InboxCount(0)); // ten wait in CPU 1's returns
                f.Pages.DrainCurrentCpu();
                Assert.Equal(0u, c->InboxCount(0));
            },
            cpu0After: () =>
            {
                f.H.Validate();
                f.Pages.DrainCurrentCpu();
                Assert.Equal(0UL, CacheOf(f, mine[0])->CpuCachedObjects);
            });
        f.H.Validate();
        f.DestroyAndCheck();
    }

    // CPU 0 runs cpu0, then CPU 1 runs cpu1, then CPU 0 runs cpu0After; CPU 1 drains last.
    private static void TwoCpus(HeapFixture f, Action cpu0, Action cpu1, Action cpu0After)
    {
        using var turn = new Barrier(2);
        HostedCpus.Run(2, cpu =>
        {
            try
            {
                if (cpu == 0) cpu0();
                turn.SignalAndWait();
                if (cpu == 1) cpu1();
                turn.SignalAndWait();
                if (cpu == 0) cpu0After();
                turn.SignalAndWait();
                if (cpu == 1) f.Pages.DrainCurrentCpu();
            }
            catch { turn.RemoveParticipant(); throw; }
        });
    }

    private static List<nint> Allocate(HeapFixture f, int n)
    {
        var list = new List<nint>(n);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(Status.Ok, f.H.Kmalloc(Size, out void* p));
            list.Add((nint)p);
        }
        return list;
    }

    private static void FreeAll(HeapFixture f, IEnumerable<nint> objects)
    {
        foreach (nint p in objects) Assert.Equal(Status.Ok, f.H.Kfree((void*)p));
    }

    private static SlabCache* CacheOf(HeapFixture f, nint p) => f.Pages.SlabOf((void*)p)->Cache;
}
