using SharpMM.Addressing;
using SharpMM.Hosted.Machine;
using SharpMM.Hosted.User;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.Physical;
using SharpMM.User;
using Xunit;

namespace SharpMM.Tests.User;

/// <summary>
/// User pages in HighMem (<see cref="HighPages"/>) on the MMU model: the frames above a
/// direct-map limit are taken from the HighMem allocator and their bytes are reached only
/// through the temporary mapping, every mapping ended before the call returns. The "temporary
/// mapping" here is the fixture's RAM at the frame's address, so the model sees the same bytes;
/// what the tests check is who asked for it and that every Map has its Unmap.
/// </summary>
public abstract unsafe class HighPagesTests<TFormat> where TFormat : struct, IPagingFormat
{
    // The machine the static callbacks serve (xunit runs a class's tests one at a time).
    private static BuddyFrames s_frames;
    private static byte* s_ram;
    private static ulong s_directEnd;
    private static int s_allocations, s_maps, s_unmaps, s_open, s_maxOpen, s_mapsBelowLimit;

    private static Status Allocate(out Pfn pfn)
    {
        s_allocations++;
        return s_frames.Allocate(0, out pfn);
    }

    private static byte* Map(ulong phys)
    {
        s_maps++;
        if (phys >> PageSize.Shift < s_directEnd) s_mapsBelowLimit++;
        if (++s_open > s_maxOpen) s_maxOpen = s_open;
        return s_ram + phys;
    }

    private static void Unmap(byte* page)
    {
        s_unmaps++;
        s_open--;
    }

    // A fixture whose user pages from frame `directEnd` on are "HighMem".
    private static UserFixture<TFormat> NewMachine(ulong directEnd)
    {
        var f = new UserFixture<TFormat>();
        s_frames = f.M.Frames;
        s_ram = f.Ram.Base;
        s_directEnd = directEnd;
        s_allocations = s_maps = s_unmaps = s_open = s_maxOpen = s_mapsBelowLimit = 0;
        f.M.UseHighPages(new HighPages(directEnd, &Allocate, &Map, &Unmap));
        return f;
    }

    // Every page HighMem. 8 pages written, forked, the child rewrites 4, then the clock takes
    // every page out and the reads bring them back.
    // Expect: each new page came from the HighMem allocator and was zeroed through a mapping;
    // each copy-on-write held two mappings at once; each page written to the store and each
    // read back went through a mapping; every mapping ended (none open after any call); the
    // contents are right in both spaces.
    [Fact]
    public void EveryPageTouch_GoesThroughTheTemporaryMapping_AndEndsIt()
    {
        using var f = NewMachine(0);
        var p = f.NewSpace();
        f.Switch(p);
        Assert.Equal(Status.Ok, f.M.MapAnonymous(p, 0, 8 * 4096, VmaProtection.ReadWrite, out ulong va));
        for (ulong i = 0; i < 8; i++) Assert.Equal(0UL, f.MustRead(va + i * 4096));
        Assert.Equal(8, s_allocations);
        Assert.Equal(8, s_maps);                          // one per demand-zero page
        for (ulong i = 0; i < 8; i++) f.MustWrite(va + i * 4096, 100 + i);
        var c = f.Blank();
        Assert.Equal(Status.Ok, f.M.Fork(p, c, ref f.Arch));
        f.Switch(c);
        int mapsBeforeCopies = s_maps;
        for (ulong i = 0; i < 8; i += 2) f.MustWrite(va + i * 4096 + 8, 200 + i);
        Assert.Equal(4, f.Count(FaultKind.CopyOnWrite));
        Assert.Equal(8, s_maps - mapsBeforeCopies);       // source and copy for each
        Assert.Equal(2, s_maxOpen);
        Assert.Equal(12, s_allocations);

        f.Switch(p);
        ulong writes0 = (ulong)f.Control->Writes;
        int mapsBeforeReclaim = s_maps;
        f.M.Reclaim(100, ref f.Arch);
        f.M.Reclaim(100, ref f.Arch);
        ulong written = (ulong)f.Control->Writes - writes0;
        Assert.True(written > 0, "the clock wrote pages to the store");
        Assert.Equal((int)written, s_maps - mapsBeforeReclaim);
        int mapsBeforeReads = s_maps;
        for (ulong i = 0; i < 8; i++)
        {
            Assert.Equal(100 + i, f.MustRead(va + i * 4096));
            Assert.Equal(0UL, f.MustRead(va + i * 4096 + 8));
        }
        f.Switch(c);
        for (ulong i = 0; i < 8; i++)
        {
            Assert.Equal(100 + i, f.MustRead(va + i * 4096));
            Assert.Equal((i & 1) == 0 ? 200 + i : 0, f.MustRead(va + i * 4096 + 8));
        }
        Assert.True(f.Count(FaultKind.PageIn) > 0, "pages came back from the store");
        Assert.Equal(f.Count(FaultKind.PageIn), s_maps - mapsBeforeReads);
        Assert.Equal(s_maps, s_unmaps);
        Assert.Equal(0, s_open);
        Assert.Equal(0, s_mapsBelowLimit);
        f.Validate("after paging");
    }

    // Expect: with the limit above every frame, nothing is mapped: the direct map serves all.
    [Fact]
    public void FramesBelowTheLimit_UseTheDirectMap()
    {
        using var f = NewMachine(ulong.MaxValue >> PageSize.Shift);
        var p = f.NewSpace();
        f.Switch(p);
        Assert.Equal(Status.Ok, f.M.MapAnonymous(p, 0, 4 * 4096, VmaProtection.ReadWrite, out ulong va));
        for (ulong i = 0; i < 4; i++) f.MustWrite(va + i * 4096, 7 + i);
        for (ulong i = 0; i < 4; i++) Assert.Equal(7 + i, f.MustRead(va + i * 4096));
        Assert.Equal(4, s_allocations);
        Assert.Equal(0, s_maps);
    }

    // Expect: ResolveUserPage refuses a HighMem page (it would hand out a lasting pointer).
    [Fact]
    public void ResolveUserPage_RefusesAHighMemPage()
    {
        using var f = NewMachine(0);
        var p = f.NewSpace();
        f.Switch(p);
        Assert.Equal(Status.Ok, f.M.MapAnonymous(p, 0, 4096, VmaProtection.ReadWrite, out ulong va));
        f.MustWrite(va, 5);
        Assert.Equal(Status.Unsupported, f.M.ResolveUserPage(p, va, false, ref f.Arch, out byte* ptr));
        Assert.True(ptr == null);
    }

    // Every page HighMem: a system call's copies (UserCopy, over CopyUserPage) into a page that
    // does not exist yet, out of it, a string across two pages, and a copy-on-write page after
    // a fork.
    // Expect: the bytes arrive and read back; each page copy held one temporary mapping and ended
    // it; the copy into the shared page broke copy-on-write for the child only.
    [Fact]
    public void UserCopy_ReachesHighMemPages_ThroughTheTemporaryMapping()
    {
        using var f = NewMachine(0);
        var p = f.NewSpace();
        f.Switch(p);
        Assert.Equal(Status.Ok, f.M.MapAnonymous(p, 0, 2 * 4096, VmaProtection.ReadWrite, out ulong va));
        byte* text = stackalloc byte[16];
        for (int i = 0; i < 16; i++) text[i] = (byte)(i < 15 ? 'a' + i : 0);
        ulong at = va + 4096 - 6; // the string runs into the second page
        Assert.Equal(Status.Ok, SharpMM.User.Exec.UserCopy.ToUser(ref f.M, p, at, text, 16, ref f.Arch));
        Assert.Equal(4, s_maps);                          // per page: one to zero it (demand zero), one for the copy
        byte* back = stackalloc byte[32];
        Assert.Equal(Status.Ok, SharpMM.User.Exec.UserCopy.StringFromUser(ref f.M, p, at, back, 32, ref f.Arch, out ulong length));
        Assert.Equal(15UL, length);
        for (int i = 0; i < 16; i++) Assert.Equal(text[i], back[i]);
        var c = f.Blank();
        Assert.Equal(Status.Ok, f.M.Fork(p, c, ref f.Arch));
        ulong word = 0x1122334455667788;
        Assert.Equal(Status.Ok, SharpMM.User.Exec.UserCopy.ToUser(ref f.M, c, va, (byte*)&word, 8, ref f.Arch));
        ulong got = 0;
        Assert.Equal(Status.Ok, SharpMM.User.Exec.UserCopy.FromUser(ref f.M, c, va, (byte*)&got, 8, ref f.Arch));
        Assert.Equal(word, got);
        Assert.Equal(Status.Ok, SharpMM.User.Exec.UserCopy.FromUser(ref f.M, p, va, (byte*)&got, 8, ref f.Arch));
        Assert.Equal(0UL, got);                           // the parent's page is its own
        Assert.Equal(0, s_open);
        Assert.Equal(0, s_mapsBelowLimit);
    }
}

public sealed class HighPagesTests32 : HighPagesTests<X86LegacyFormat> { }
public sealed class HighPagesTests64 : HighPagesTests<X86LongModeFormat> { }
