using SharpMM.Concurrency;
using SharpMM.Hosted;
using Xunit;

namespace SharpMM.Tests.Concurrency;

/// <summary>The lock order (docs/architecture.md, "Locks"). The test assembly runs with
/// <see cref="LockOrder.Checking"/> on (TestSetup); one deterministic-scheduler test turns it off
/// for its run, hence the collection of the tests that change the CPU hooks.</summary>
[Collection(CpuCollection.Name)]
public sealed class LockOrderTests
{
    [Fact]
    public void Checking_IsOnInTheTests()
    {
        Assert.True(LockOrder.Checking);
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
