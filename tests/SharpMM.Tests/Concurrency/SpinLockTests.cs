using SharpMM.Concurrency;
using SharpMM.Hosted;
using Xunit;

namespace SharpMM.Tests.Concurrency;

[Collection(CpuCollection.Name)]
public sealed class SpinLockTests
{
    private struct Guarded
    {
        public SpinLock Lock;  // protects Count
        public long Count;
    }

    [Fact]
    public void Acquire_HoldsTheLock_UntilRelease_AndCountsIt()
    {
        var l = new SpinLock();
        l.Init(LockRank.Zone);
        Assert.False(l.IsHeld);
        l.Acquire();
        Assert.True(l.IsHeld);
        l.Release();
        Assert.False(l.IsHeld);
        l.Acquire();
        l.Release();
        Assert.Equal(2UL, l.Stats.Acquisitions);
        Assert.Equal(0UL, l.Stats.Contended);
    }

    [Fact]
    public void TryAcquire_FailsWhileHeld_AndSucceedsWhenFree()
    {
        var l = new SpinLock();
        l.Init(LockRank.Zone);
        Assert.True(l.TryAcquire());
        Assert.False(HostedCpusRunTryAcquire(ref l));
        l.Release();
        Assert.True(l.TryAcquire());
        l.Release();
        Assert.Equal(2UL, l.Stats.Acquisitions);
    }

    // Another CPU tries the held lock (the same CPU would be a lock-order error).
    private static unsafe bool HostedCpusRunTryAcquire(ref SpinLock l)
    {
        bool got = true;
        fixed (SpinLock* p = &l)
        {
            SpinLock* lp = p;
            HostedCpus.Run(2, cpu => { if (cpu == 1) got = lp->TryAcquire(); });
        }
        return got;
    }

    [Fact]
    public void Release_OfAFreeLock_Panics()
    {
        var l = new SpinLock();
        l.Init(LockRank.Zone);
        var e = Assert.Throws<PanicException>(() => l.Release());
        Assert.Contains("released while not held", e.Message);
    }

    [Fact]
    public void Init_WithoutARank_Panics()
    {
        var l = new SpinLock();
        var e = Assert.Throws<PanicException>(() => l.Init(LockRank.None));
        Assert.Contains("without a rank", e.Message);
    }

    [Theory]
    [InlineData(2, 200_000)]
    [InlineData(4, 100_000)]
    [InlineData(8, 20_000)]
    public unsafe void ConcurrentIncrements_UnderTheLock_LoseNothing(int cpus, int perCpu)
    {
        var g = new Guarded();
        g.Lock.Init(LockRank.Diagnostics);
        Guarded* p = &g;
        HostedCpus.Run(cpus, _ =>
        {
            for (int i = 0; i < perCpu; i++)
            {
                p->Lock.Acquire();
                long c = p->Count;   // a read-modify-write that two CPUs at once would break
                p->Count = c + 1;
                p->Lock.Release();
            }
        });
        Assert.Equal((long)cpus * perCpu, g.Count);
        Assert.Equal((ulong)(cpus * perCpu), g.Lock.Stats.Acquisitions);
        Assert.False(g.Lock.IsHeld);
    }
}
