using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.User;
using Xunit;

namespace SharpMM.Tests.User;

/// <summary>
/// Paging to the store under a resident limit: the clock's second chance, which pages are
/// written and which leave without a write, a full store, and a working set larger than RAM.
/// </summary>
public abstract unsafe class PagingTests<TFormat> where TFormat : struct, IPagingFormat
{
    // Expect: a page touched since the last sweep survives the next eviction round while
    // untouched ones go (second chance over the Accessed bits, which the MMU sets again after
    // the clock clears them and flushes the TLB entry).
    [Fact]
    public void Clock_GivesRecentlyUsedPagesASecondChance()
    {
        using var f = new UserFixture<TFormat>();
        var s = f.NewSpace();
        f.Switch(s);
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 8 * 4096, VmaProtection.ReadWrite, out ulong va));
        for (ulong i = 0; i < 8; i++) f.MustWrite(va + i * 4096, i + 1);
        Assert.Equal(1UL, f.M.Reclaim(1, ref f.Arch)); // pass 1 clears every A bit, pass 2 evicts page 0
        Assert.Equal(7UL, s->ResidentPages);
        f.MustRead(va + 5 * 4096);                          // page 5 used again: A set by the MMU
        Assert.Equal(6UL, f.M.Reclaim(6, ref f.Arch));
        Assert.True(TFormat.IsPresent(s->Entry(va + 5 * 4096)), "the page used since the sweep stays");
        Assert.Equal(1UL, s->ResidentPages);
        for (ulong i = 0; i < 8; i++) Assert.Equal(i + 1, f.MustRead(va + i * 4096));
        f.Validate();
    }

    // Expect: a zero page never written leaves without a store write (entry back to empty); a
    // written page is written once; read back and evicted again unchanged, it is not written
    // again (its slot still holds it); written again, it goes back to the same slot.
    [Fact]
    public void OnlyDirtyPagesAreWritten()
    {
        using var f = new UserFixture<TFormat>();
        var s = f.NewSpace();
        f.Switch(s);
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 2 * 4096, VmaProtection.ReadWrite, out ulong va));
        f.MustRead(va);              // zero page, mapped writable, never written
        f.MustWrite(va + 4096, 7);   // dirty
        f.M.Reclaim(2, ref f.Arch);
        Assert.Equal(0UL, s->Entry(va));
        Assert.True(SwapEntry<TFormat>.Is(s->Entry(va + 4096)));
        Assert.Equal(1L, f.Control->Writes);
        Assert.Equal(1UL, f.M.Counters.CleanDrops);
        uint slot = SwapEntry<TFormat>.SlotOf(s->Entry(va + 4096));

        Assert.Equal(7UL, f.MustRead(va + 4096));
        f.M.Reclaim(1, ref f.Arch);
        Assert.Equal(1L, f.Control->Writes);                 // clean: the slot still holds it
        Assert.Equal(slot, SwapEntry<TFormat>.SlotOf(s->Entry(va + 4096)));

        f.MustWrite(va + 4096, 8);
        f.M.Reclaim(1, ref f.Arch);
        Assert.Equal(2L, f.Control->Writes);
        Assert.Equal(slot, SwapEntry<TFormat>.SlotOf(s->Entry(va + 4096))); // rewritten in place
        Assert.Equal(8UL, f.MustRead(va + 4096));
        Assert.Equal(0UL, f.MustRead(va));
        f.Validate();
    }

    // Expect: with the store full, dirty pages cannot leave: the clock refuses them and a fault
    // that needs a frame is OutOfMemory (a result); clean zero pages can still go.
    [Fact]
    public void FullStore_GivesOutOfMemory()
    {
        using var f = new UserFixture<TFormat>(storeSlots: PersistentRegion.SlotsFor(64) + 4);
        var s = f.NewSpace();
        f.Switch(s);
        f.M.ResidentLimit = 8;
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 32 * 4096, VmaProtection.ReadWrite, out ulong va));
        for (ulong i = 0; i < 12; i++) f.MustWrite(va + i * 4096, i);  // 4 go to the 4 slots
        Assert.Equal(AccessStatus.PageFault, f.Write(va + 12 * 4096, 1));
        Assert.Equal(FaultKind.OutOfMemory, f.LastFault);
        Assert.True(f.M.Counters.EvictionsRefused > 0);
        f.M.ResidentLimit = ulong.MaxValue;
        for (ulong i = 0; i < 12; i++) Assert.Equal(i, f.MustRead(va + i * 4096));
        f.Validate();
    }

    //   RAM for 64 user pages; a process writes 512 pages, then reads them all twice
    // Expect: every value read back; pages written out and read in; the limit never passed.
    [Fact]
    public void WorkingSetLargerThanRam_Pages()
    {
        using var f = new UserFixture<TFormat>();
        var s = f.NewSpace();
        f.Switch(s);
        f.M.ResidentLimit = 64;
        const ulong N = 512;
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, N * 4096, VmaProtection.ReadWrite, out ulong va));
        for (ulong i = 0; i < N; i++) f.MustWrite(va + i * 4096 + 8 * (i % 512), i * 3 + 1);
        for (int round = 0; round < 2; round++)
            for (ulong i = 0; i < N; i++)
            {
                Assert.Equal(i * 3 + 1, f.MustRead(va + i * 4096 + 8 * (i % 512)));
                Assert.True(f.M.UserFrames <= 64);
            }
        Assert.True(f.M.Counters.PagesOut >= N - 64);
        Assert.True(f.M.Counters.PagesIn >= N);
        f.Validate();
    }
}

public sealed class PagingTests64 : PagingTests<X86LongModeFormat> { }
public sealed class PagingTests32 : PagingTests<X86LegacyFormat> { }
