using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.User;
using Xunit;

namespace SharpMM.Tests.User;

/// <summary>
/// fork with copy-on-write on the MMU model: each side sees only its own writes, a page is
/// copied on the first write and only then, the last mapping takes the page back without a
/// copy, swap entries are shared, destroy drops the references, and a fork that runs out of
/// memory leaves the parent whole.
/// </summary>
public abstract unsafe class ForkTests<TFormat> where TFormat : struct, IPagingFormat
{
    //   parent: A B C D (written)  --fork-->  child shares A B C D read-only
    //   parent writes A -> copy (A'); child writes B -> copy (B'); C, D still shared
    // Expect: each sees its own A/B and the other's untouched values; C, D stay one frame.
    [Fact]
    public void ParentAndChild_SeeOnlyTheirOwnWrites()
    {
        using var f = new UserFixture<TFormat>();
        var p = f.NewSpace();
        f.Switch(p);
        Assert.Equal(Status.Ok, f.M.MapAnonymous(p, 0, 4 * 4096, VmaProtection.ReadWrite, out ulong va));
        for (ulong i = 0; i < 4; i++) f.MustWrite(va + i * 4096, 10 + i);
        var c = f.Blank();
        Assert.Equal(Status.Ok, f.M.Fork(p, c, ref f.Arch));
        f.Validate("after fork");
        for (ulong i = 0; i < 4; i++) Assert.Equal(f.FrameAt(p, va + i * 4096), f.FrameAt(c, va + i * 4096));

        f.MustWrite(va, 100);                        // parent, active: COW copy
        Assert.Equal(FaultKind.CopyOnWrite, f.LastFault);
        f.Switch(c);
        Assert.Equal(10UL, f.MustRead(va));
        f.MustWrite(va + 4096, 200);
        Assert.Equal(FaultKind.CopyOnWrite, f.LastFault);
        Assert.Equal(12UL, f.MustRead(va + 2 * 4096));
        f.Switch(p);
        Assert.Equal(100UL, f.MustRead(va));
        Assert.Equal(11UL, f.MustRead(va + 4096));
        Assert.Equal(f.FrameAt(p, va + 2 * 4096), f.FrameAt(c, va + 2 * 4096));
        Assert.NotEqual(f.FrameAt(p, va), f.FrameAt(c, va));
        Assert.Equal(2, f.Count(FaultKind.CopyOnWrite));
        f.Validate("after writes");
    }

    // Expect: after the child copies page A, the parent's write to A takes the original frame
    // back writable with no copy (CowReuse: same frame number).
    [Fact]
    public void LastOwner_GetsThePageBackWithoutACopy()
    {
        using var f = new UserFixture<TFormat>();
        var p = f.NewSpace();
        f.Switch(p);
        Assert.Equal(Status.Ok, f.M.MapAnonymous(p, 0, 4096, VmaProtection.ReadWrite, out ulong va));
        f.MustWrite(va, 1);
        ulong frame = f.FrameAt(p, va);
        var c = f.Blank();
        Assert.Equal(Status.Ok, f.M.Fork(p, c, ref f.Arch));
        f.Switch(c);
        f.MustWrite(va, 2);
        Assert.Equal(FaultKind.CopyOnWrite, f.LastFault);
        f.Switch(p);
        ulong free = f.FreeFrames;
        f.MustWrite(va, 3);
        Assert.Equal(FaultKind.CowReuse, f.LastFault);
        Assert.Equal(frame, f.FrameAt(p, va));
        Assert.Equal(free, f.FreeFrames);
        f.Switch(c);
        Assert.Equal(2UL, f.MustRead(va));
    }

    // Expect: when the child exits (destroy), the parent's shared pages drop to one mapping and
    // the next write reuses them; the frames and tables the child had are back.
    [Fact]
    public void Destroy_DropsReferences()
    {
        using var f = new UserFixture<TFormat>();
        var p = f.NewSpace();
        f.Switch(p);
        Assert.Equal(Status.Ok, f.M.Exec(p, 4096, 4096, ref f.Arch));
        Assert.Equal(Status.Ok, f.M.MapAnonymous(p, 0, 16 * 4096, VmaProtection.ReadWrite, out ulong va));
        for (ulong i = 0; i < 16; i++) f.MustWrite(va + i * 4096, i);
        ulong free0 = f.FreeFrames;
        var c = f.Blank();
        Assert.Equal(Status.Ok, f.M.Fork(p, c, ref f.Arch));
        f.Switch(c);
        f.MustWrite(va, 99);
        f.MustWrite(f.Layout.StackTop - 8 - 5 * 4096, 1);
        f.Switch(p);
        Assert.Equal(Status.Ok, f.M.Destroy(c, ref f.Arch));
        Assert.Equal(free0, f.FreeFrames);
        for (ulong i = 0; i < 16; i++) f.MustWrite(va + i * 4096, i + 1);
        Assert.Equal(16, f.Count(FaultKind.CowReuse));
        Assert.Equal(1, f.Count(FaultKind.CopyOnWrite));
        f.Validate();
    }

    // Expect: a fork that runs out of frames at any allocation leaves the parent with every
    // page and value, the frame count where it was, and no child registered.
    [Fact]
    public void Fork_OutOfMemory_AtEveryStep_LeavesTheParentWhole()
    {
        using var f = new UserFixture<TFormat>();
        var p = f.NewSpace();
        f.Switch(p);
        Assert.Equal(Status.Ok, f.M.MapAnonymous(p, 0, 8 * 4096, VmaProtection.ReadWrite, out ulong a));
        Assert.Equal(Status.Ok, f.M.MapAnonymous(p, f.Layout.MmapBase + (1UL << 30), 4096, VmaProtection.ReadWrite, out ulong b));
        for (ulong i = 0; i < 8; i++) f.MustWrite(a + i * 4096, i);
        f.MustWrite(b, 77);
        ulong free0 = f.FreeFrames;
        for (int failAt = 1; failAt < 12; failAt++)
        {
            f.M.Frames.Allocations = 0;
            f.M.Frames.FailAt = failAt;
            var c = f.Blank();
            Status s = f.M.Fork(p, c, ref f.Arch);
            f.M.Frames.FailAt = 0;
            if (s == Status.Ok)
            {
                Assert.Equal(Status.Ok, f.M.Destroy(c, ref f.Arch));
                continue;
            }
            Assert.Equal(Status.OutOfMemory, s);
            Assert.False(c->IsLive);
            Assert.Equal(1, f.M.SpaceCount);
            Assert.Equal(free0, f.FreeFrames);
            f.Validate($"fail at {failAt}");
            for (ulong i = 0; i < 8; i++) Assert.Equal(i, f.MustRead(a + i * 4096));
            Assert.Equal(77UL, f.MustRead(b));
        }
        f.MustWrite(a, 5); // read-only after the failed fork, now the only mapping: reused
        Assert.Equal(FaultKind.CowReuse, f.LastFault);
    }

    // Expect: a paged-out page is shared through its slot: both sides read it back, and each
    // one's later write stays its own.
    [Fact]
    public void SwappedPages_AreSharedThroughTheirSlot()
    {
        using var f = new UserFixture<TFormat>();
        var p = f.NewSpace();
        f.Switch(p);
        Assert.Equal(Status.Ok, f.M.MapAnonymous(p, 0, 4 * 4096, VmaProtection.ReadWrite, out ulong va));
        for (ulong i = 0; i < 4; i++) f.MustWrite(va + i * 4096, 40 + i);
        f.M.Reclaim(4, ref f.Arch);
        Assert.Equal(4UL, p->SwappedPages);
        var c = f.Blank();
        Assert.Equal(Status.Ok, f.M.Fork(p, c, ref f.Arch));
        f.Validate("fork of swapped pages");
        f.Switch(c);
        Assert.Equal(40UL, f.MustRead(va));
        f.MustWrite(va + 4096, 1);
        f.Switch(p);
        Assert.Equal(41UL, f.MustRead(va + 4096));
        f.MustWrite(va, 2);
        f.Switch(c);
        Assert.Equal(40UL, f.MustRead(va));
        f.Validate("after page-ins");
        f.Switch(null);
        Assert.Equal(Status.Ok, f.M.Destroy(c, ref f.Arch));
        Assert.Equal(Status.Ok, f.M.Destroy(p, ref f.Arch));
        Assert.Equal(0u, f.M.Slots.UsedCount);
    }
}

public sealed class ForkTests64 : ForkTests<X86LongModeFormat> { }
public sealed class ForkTests32 : ForkTests<X86LegacyFormat> { }
