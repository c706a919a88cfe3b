using System;
using System.Threading;
using SharpMM.Concurrency;
using SharpMM.Hosted;
using Xunit;
using SpinLock = SharpMM.Concurrency.SpinLock;

namespace SharpMM.Tests.Concurrency;

/// <summary>The lock order (docs/architecture.md, "Locks"). The test assembly runs with
/// <see cref="LockOrder.Checking"/> on (TestSetup) and no test turns it off: a test that wants
/// a CPU unchecked switches that CPU (thread) alone off, so these tests run beside any other.
/// The tests that switch a thread off do it on a thread of their own, never on a test runner's
/// thread, which later tests reuse.</summary>
public sealed class LockOrderTests
{
    [Fact]
    public void Checking_IsOnInTheTests()
    {
        Assert.True(LockOrder.Checking);
        Assert.True(LockOrder.CheckingOnThisCpu);
    }

    // The same inversion (zone, then slab cache) at the same time on two threads: the one with
    // its check switched off takes both locks and is not stopped; the other, checked as every
    // thread is by default, panics naming both locks.
    [Fact]
    public void CheckingSwitchedOffOnOneThread_LeavesAnotherThreadChecked()
    {
        using var uncheckedHolds = new ManualResetEventSlim();
        using var checkedTried = new ManualResetEventSlim();
        Exception? uncheckedFailure = null;
        int heldUnchecked = -1, heldAfterRelease = -1;
        var uncheckedThread = new Thread(() =>
        {
            try
            {
                LockOrder.CheckingOnThisCpu = false;
                SpinLock zone = default, slab = default;
                zone.Init(LockRank.Zone);
                slab.Init(LockRank.SlabCache);
                zone.Acquire();
                slab.Acquire();
                heldUnchecked = LockOrder.HeldByCurrent;
                uncheckedHolds.Set();
                checkedTried.Wait();
                slab.Release();
                zone.Release();
                heldAfterRelease = LockOrder.HeldByCurrent;
            }
            catch (Exception e)
            {
                uncheckedFailure = e;
                uncheckedHolds.Set();
            }
        }) { IsBackground = true };
        uncheckedThread.Start();
        uncheckedHolds.Wait();

        // While the unchecked thread holds its inverted pair, this thread tries the same.
        SpinLock zone = default, slab = default;
        zone.Init(LockRank.Zone);
        slab.Init(LockRank.SlabCache);
        zone.Acquire();
        var e = Assert.Throws<PanicException>(() => slab.Acquire());
        checkedTried.Set();
        uncheckedThread.Join();

        Assert.Equal("panic: lock order: taken while holding a lock of equal or higher rank: zone, then slab-cache", e.Message);
        Assert.False(slab.IsHeld);
        Assert.Null(uncheckedFailure);
        Assert.Equal(2, heldUnchecked);
        Assert.Equal(0, heldAfterRelease);
        Assert.True(LockOrder.CheckingOnThisCpu);
    }

    // Switched off, a CPU still records what it takes and releases: switched back on, it releases
    // locks it took while off without complaint, and its next acquisition is checked against a
    // lock it took while off.
    [Fact]
    public void ACpuSwitchedBackOn_KeepsTheLocksItTookWhileOff()
    {
        Exception? unexpected = null, panic = null;
        int heldWhileOff = -1, heldAfterRelease = -1, heldBeforePanic = -1;
        var t = new Thread(() =>
        {
            try
            {
                SpinLock zone = default, slab = default;
                zone.Init(LockRank.Zone);
                slab.Init(LockRank.SlabCache);
                LockOrder.CheckingOnThisCpu = false;
                zone.Acquire();
                slab.Acquire();
                heldWhileOff = LockOrder.HeldByCurrent;
                LockOrder.CheckingOnThisCpu = true;
                slab.Release();
                zone.Release();
                heldAfterRelease = LockOrder.HeldByCurrent;

                LockOrder.CheckingOnThisCpu = false;
                zone.Acquire();
                LockOrder.CheckingOnThisCpu = true;
                heldBeforePanic = LockOrder.HeldByCurrent;
                try { slab.Acquire(); }
                catch (PanicException e) { panic = e; }
            }
            catch (Exception e)
            {
                unexpected = e;
            }
        }) { IsBackground = true };
        t.Start();
        t.Join();
        Assert.Null(unexpected);
        Assert.Equal(2, heldWhileOff);
        Assert.Equal(0, heldAfterRelease);
        Assert.Equal(1, heldBeforePanic);
        Assert.NotNull(panic);
        Assert.Equal("panic: lock order: taken while holding a lock of equal or higher rank: zone, then slab-cache", panic!.Message);
    }

    [Fact]
    public void Locks_TakenInRankOrder_AreAccepted()
    {
        SpinLock space = default, zone = default;
        space.Init(LockRank.AddressSpace);
        zone.Init(LockRank.Zone);
        space.Acquire();
        zone.Acquire();
        Assert.Equal(2, LockOrder.HeldByCurrent);
        zone.Release();
        space.Release();
        Assert.Equal(0, LockOrder.HeldByCurrent);
    }

    [Fact]
    public void Locks_ReleasedOutOfLifoOrder_AreForgottenCorrectly()
    {
        SpinLock space = default, zone = default;
        space.Init(LockRank.AddressSpace);
        zone.Init(LockRank.Zone);
        space.Acquire();
        zone.Acquire();
        space.Release();
        Assert.Equal(1, LockOrder.HeldByCurrent);
        zone.Release();
        Assert.Equal(0, LockOrder.HeldByCurrent);
    }

    [Fact]
    public void ALock_TakenBelowOneHeld_PanicsNamingBoth()
    {
        SpinLock zone = default, slab = default;
        zone.Init(LockRank.Zone);
        slab.Init(LockRank.SlabCache);
        zone.Acquire();
        var e = Assert.Throws<PanicException>(() => slab.Acquire());
        Assert.Equal("panic: lock order: taken while holding a lock of equal or higher rank: zone, then slab-cache", e.Message);
        // The panic abandoned this thread's held list; the lock itself stays taken.
        Assert.Equal(0, LockOrder.HeldByCurrent);
        Assert.True(zone.IsHeld);
        Assert.False(slab.IsHeld);
    }

    [Fact]
    public void TwoLocksOfOneRank_HeldAtOnce_Panic()
    {
        SpinLock a = default, b = default;
        a.Init(LockRank.Zone);
        b.Init(LockRank.Zone);
        a.Acquire();
        var e = Assert.Throws<PanicException>(() => b.Acquire());
        Assert.Contains("zone, then zone", e.Message);
    }

    [Fact]
    public void AFailedTryAcquire_LeavesNothingHeld()
    {
        SpinLock l = default;
        l.Init(LockRank.Zone);
        unsafe
        {
            SpinLock* p = &l;
            p->Acquire();
            bool got = true;
            // Another thread (its own held list) tries: fails, and records nothing.
            var t = new System.Threading.Thread(() => { got = p->TryAcquire(); HeldAfter = LockOrder.HeldByCurrent; });
            t.Start();
            t.Join();
            Assert.False(got);
            Assert.Equal(0, HeldAfter);
            p->Release();
        }
    }

    // A try-lock never waits, so it may be taken while holding a lock of the same or a higher
    // rank (the clock takes another space's table lock so); it is recorded as held, and a
    // waiting acquisition after it is still checked.
    [Fact]
    public void TryAcquire_OutOfOrder_IsAllowed_AndRecorded()
    {
        SpinLock tables = default, other = default, shared = default, zone = default;
        tables.Init(LockRank.PageTables);
        other.Init(LockRank.PageTables);
        shared.Init(LockRank.UserFrames);
        zone.Init(LockRank.Zone);
        tables.Acquire();
        shared.Acquire();
        Assert.True(other.TryAcquire());
        Assert.Equal(3, LockOrder.HeldByCurrent);
        zone.Acquire();
        Assert.Equal(4, LockOrder.HeldByCurrent);
        zone.Release();
        var e = Assert.Throws<PanicException>(() => tables.Acquire());
        Assert.Contains("user-frames, then page-tables", e.Message);
    }

    private static int HeldAfter = -1;

    [Fact]
    public void RankNames_AreDistinct()
    {
        var names = new System.Collections.Generic.HashSet<string>();
        foreach (LockRank r in System.Enum.GetValues<LockRank>())
            if (r != LockRank.None) Assert.True(names.Add(LockNames.Name(r)), $"{r} shares its name");
    }
}
