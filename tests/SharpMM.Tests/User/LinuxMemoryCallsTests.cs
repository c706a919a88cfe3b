using System;
using System.Runtime.InteropServices;
using SharpMM.Hosted.Machine;
using SharpMM.Hosted.User;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.User;
using SharpMM.User.Linux;
using Xunit;
using static SharpMM.User.Linux.LinuxErrno;
using static SharpMM.User.Linux.LinuxMap;
using static SharpMM.User.Linux.LinuxProt;

namespace SharpMM.Tests.User;

/// <summary>
/// Linux's memory system calls (brk, mmap, munmap, mprotect, mremap, madvise) on the MMU model,
/// for the classic i386 layout's 32-bit tables and for x86-64: what each returns, the errno
/// cases, what the process then sees through the MMU, and that every frame and table page is
/// back when the space is destroyed.
/// </summary>
public abstract unsafe class LinuxMemoryCallsTests<TFormat> where TFormat : struct, IPagingFormat
{
    private const ulong Page = 4096;
    private const ulong RW = PROT_READ | PROT_WRITE;
    private const ulong AnonPrivate = MAP_ANONYMOUS | MAP_PRIVATE;

    private sealed class Env : IDisposable
    {
        public readonly UserFixture<TFormat> F;
        public AddressSpace<TFormat>* S;
        public LinuxLimits Limits = LinuxLimits.Unlimited;
        public readonly ulong Free0;

        public Env(ulong ram = 16UL << 20)
        {
            F = new UserFixture<TFormat>(ram);
            Free0 = F.FreeFrames;
            S = F.NewSpace();
            Assert.Equal(Status.Ok, F.M.Exec(S, 4 * Page, 2 * Page, ref F.Arch));
            F.Switch(S);
        }

        public long Mmap(ulong addr, ulong len, ulong prot, ulong flags, FileImage* file = null, ulong offset = 0) =>
            LinuxMemoryCalls<TFormat, BuddyFrames, TestStore>.Mmap(ref F.M, S, addr, len, prot, flags, file, offset, Limits, ref F.Arch);
        public ulong MustMmap(ulong addr, ulong len, ulong prot, ulong flags, FileImage* file = null, ulong offset = 0)
        {
            long r = Mmap(addr, len, prot, flags, file, offset);
            Assert.True(r > 0, $"mmap(0x{addr:x}, 0x{len:x}) = {r}");
            return (ulong)r;
        }
        public long Munmap(ulong addr, ulong len) => LinuxMemoryCalls<TFormat, BuddyFrames, TestStore>.Munmap(ref F.M, S, addr, len, ref F.Arch);
        public long Mprotect(ulong addr, ulong len, ulong prot) => LinuxMemoryCalls<TFormat, BuddyFrames, TestStore>.Mprotect(ref F.M, S, addr, len, prot, ref F.Arch);
        public long Mremap(ulong old, ulong oldLen, ulong newLen, ulong flags, ulong newAddr = 0) =>
            LinuxMemoryCalls<TFormat, BuddyFrames, TestStore>.Mremap(ref F.M, S, old, oldLen, newLen, flags, newAddr, Limits, ref F.Arch);
        public long Madvise(ulong addr, ulong len, int advice) => LinuxMemoryCalls<TFormat, BuddyFrames, TestStore>.Madvise(ref F.M, S, addr, len, advice, ref F.Arch);
        public long Brk(ulong addr) => LinuxMemoryCalls<TFormat, BuddyFrames, TestStore>.Brk(ref F.M, S, addr, Limits, ref F.Arch);

        public ulong StackReachFloor => F.Layout.StackLimit - F.Layout.GuardGapBytes;

        public void Write(ulong va, ulong v) => F.MustWrite(va, v);
        public ulong Read(ulong va) => F.MustRead(va);
        public AccessStatus TryWrite(ulong va) => F.Write(va, 1);
        public AccessStatus TryRead(ulong va) => F.Read(va, out _);

        /// <summary>Validates the metadata, destroys the space and checks every frame is back.</summary>
        public void DestroyAndCheck()
        {
            F.Validate("before destroy");
            F.Switch(null);
            Assert.Equal(Status.Ok, F.M.Destroy(S, ref F.Arch));
            Assert.Equal(Free0, F.FreeFrames);
            Assert.Equal(0UL, F.M.UserFrames);
        }

        public void Dispose() => F.Dispose();
    }

    // ---- mmap ----

    //   x86-64:  ... [ second ][ first ] guard gap [ stack reach ... stack ]
    //   i386:    mmap base [ first ][ second ] ...                (bottom-up, the legacy layout)
    // Expect: without a hint a mapping goes to the highest free range below the stack's reach,
    // the next one right below it, or on the classic i386 layout to the lowest free range from
    // the mmap base, the next one right above it; both read zero and take writes; destroy gives
    // all back.
    [Fact]
    public void Mmap_WithoutHint_PlacesInTheLayoutsDirection()
    {
        using var e = new Env();
        ulong a = e.MustMmap(0, 3 * Page, RW, AnonPrivate);
        ulong b = e.MustMmap(0, Page, RW, AnonPrivate);
        Assert.Equal(UserFixture<TFormat>.Is32Bit, e.F.Layout.MmapBottomUp);
        if (e.F.Layout.MmapBottomUp)
        {
            Assert.Equal(e.F.Layout.MmapBase, a);
            Assert.Equal(a + 3 * Page, b);
        }
        else
        {
            Assert.Equal(e.StackReachFloor - 3 * Page, a);
            Assert.Equal(a - Page, b);
        }
        Assert.Equal(0UL, e.Read(a + 2 * Page));
        e.Write(a, 5);
        e.Write(b, 6);
        Assert.Equal(5UL, e.Read(a));
        Assert.Equal(FaultKind.DemandZero, e.F.LastFault);
        e.DestroyAndCheck();
    }

    // Expect: a free hint is used (rounded up to a page); a hint over a mapping is not, and the
    // mapping goes elsewhere without touching the one there.
    [Fact]
    public void Mmap_Hint_IsUsedOnlyWhenFree()
    {
        using var e = new Env();
        ulong hint = e.F.Layout.MmapBase + 0x10000000;
        Assert.Equal(hint + Page, e.MustMmap(hint + 1, 2 * Page, RW, AnonPrivate));
        e.Write(hint + Page, 42);
        ulong other = e.MustMmap(hint + Page, Page, RW, AnonPrivate);
        Assert.NotEqual(hint + Page, other);
        Assert.Equal(42UL, e.Read(hint + Page));
        e.DestroyAndCheck();
    }

    // Expect: on 64-bit layouts MAP_32BIT places bottom-up from 1 GiB, the next mapping right
    // above the first, and a hint whose range ends above 2 GiB is not taken, one below it is;
    // on 32-bit layouts every address is below 4 GiB and the flag changes nothing (the mapping
    // goes where any other would: the mmap base, bottom-up).
    [Fact]
    public void Mmap_32Bit_PlacesBottomUpBelow2GiB()
    {
        using var e = new Env();
        if (UserFixture<TFormat>.Is32Bit)
        {
            Assert.Equal(e.F.Layout.MmapBase, e.MustMmap(0, Page, RW, AnonPrivate | MAP_32BIT));
            e.DestroyAndCheck();
            return;
        }
        ulong a = e.MustMmap(0, 2 * Page, RW, AnonPrivate | MAP_32BIT);
        ulong b = e.MustMmap(0, Page, RW, AnonPrivate | MAP_32BIT);
        Assert.Equal(0x40000000UL, a);
        Assert.Equal(a + 2 * Page, b);
        ulong high = e.F.Layout.MmapBase + 0x10000000;
        Assert.Equal(b + Page, e.MustMmap(high, Page, RW, AnonPrivate | MAP_32BIT));
        Assert.Equal(0x50000000UL, e.MustMmap(0x50000000, Page, RW, AnonPrivate | MAP_32BIT));
        e.DestroyAndCheck();
    }

    //   [ A A A A ]  --MAP_FIXED over the middle two-->  [ A ][ B B ][ A ]
    // Expect: the replaced pages read zero (new memory), the rest keep A's values; the frames
    // of the replaced pages are released (free count back after destroy).
    [Fact]
    public void Mmap_Fixed_ReplacesWhatIsThere()
    {
        using var e = new Env();
        ulong a = e.MustMmap(0, 4 * Page, RW, AnonPrivate);
        for (ulong i = 0; i < 4; i++) e.Write(a + i * Page, 10 + i);
        Assert.Equal((long)(a + Page), e.Mmap(a + Page, 2 * Page, PROT_READ, AnonPrivate | MAP_FIXED));
        Assert.Equal(10UL, e.Read(a));
        Assert.Equal(0UL, e.Read(a + Page));
        Assert.Equal(0UL, e.Read(a + 2 * Page));
        Assert.Equal(13UL, e.Read(a + 3 * Page));
        Assert.Equal(AccessStatus.PageFault, e.TryWrite(a + Page));
        e.DestroyAndCheck();
    }

    // Expect: with the region table full, a MAP_FIXED that needs a split fails with ENOMEM and
    // the old mapping is whole: same pages, same values, still writable.
    [Fact]
    public void Mmap_Fixed_ThatCannotBeMade_LeavesTheOldMappingIntact()
    {
        using var e = new Env();
        ulong a = e.MustMmap(0, 4 * Page, RW, AnonPrivate);
        for (ulong i = 0; i < 4; i++) e.Write(a + i * Page, 10 + i);
        // Fill the table with regions that cannot merge (alternating rights).
        for (int n = 0; e.S->Regions.Count < VmaSet.Capacity; n++)
            e.MustMmap(0, Page, (n & 1) == 0 ? PROT_READ : RW, AnonPrivate);
        int count = e.S->Regions.Count;
        Assert.Equal(-ENOMEM, e.Mmap(a + Page, Page, PROT_READ, AnonPrivate | MAP_FIXED));
        Assert.Equal(count, e.S->Regions.Count);
        for (ulong i = 0; i < 4; i++) Assert.Equal(10 + i, e.Read(a + i * Page));
        e.Write(a + Page, 99);
        e.DestroyAndCheck();
    }

    // Expect: MAP_FIXED_NOREPLACE over any mapped page is EEXIST and changes nothing; over a
    // free range it maps exactly there.
    [Fact]
    public void Mmap_FixedNoReplace_RefusesOverAMapping()
    {
        using var e = new Env();
        ulong a = e.MustMmap(0, 2 * Page, RW, AnonPrivate);
        e.Write(a, 7);
        Assert.Equal(-EEXIST, e.Mmap(a + Page, 2 * Page, RW, AnonPrivate | MAP_FIXED_NOREPLACE));
        Assert.Equal(-EEXIST, e.Mmap(a - Page, 2 * Page, RW, AnonPrivate | MAP_FIXED_NOREPLACE));
        Assert.Equal(7UL, e.Read(a));
        Assert.Equal((long)(a - 4 * Page), e.Mmap(a - 4 * Page, Page, RW, AnonPrivate | MAP_FIXED_NOREPLACE));
        e.DestroyAndCheck();
    }

    // Expect: each bad argument gives Linux's errno and maps nothing.
    [Fact]
    public void Mmap_BadArguments_GiveLinuxErrnos()
    {
        using var e = new Env();
        int regions = e.S->Regions.Count;
        ulong end = e.F.Layout.UserEnd;
        var file = new FileImage { Data = null, Length = 0 };
        Assert.Equal(-EINVAL, e.Mmap(0, 0, RW, AnonPrivate));                                   // length 0
        Assert.Equal(-EINVAL, e.Mmap(0, Page, RW, AnonPrivate, null, 1));                       // offset unaligned
        Assert.Equal(-EINVAL, e.Mmap(0x10001, Page, RW, AnonPrivate | MAP_FIXED));              // fixed, unaligned
        Assert.Equal(-EINVAL, e.Mmap(0, Page, RW, MAP_ANONYMOUS));                              // neither shared nor private
        Assert.Equal(-EINVAL, e.Mmap(0, Page, RW, MAP_ANONYMOUS | MAP_SHARED_VALIDATE));        // anonymous: shared or private only
        Assert.Equal(-EINVAL, e.Mmap(0, Page, RW, MAP_ANONYMOUS | MAP_SHARED | MAP_GROWSDOWN));
        Assert.Equal(-EINVAL, e.Mmap(0, Page, RW, AnonPrivate | MAP_HUGETLB));
        Assert.Equal(-EBADF, e.Mmap(0, Page, PROT_READ, MAP_PRIVATE));                          // no file
        Assert.Equal(-ENOMEM, e.Mmap(0, ulong.MaxValue - 100, RW, AnonPrivate));                // rounds past 2^64
        Assert.Equal(-ENOMEM, e.Mmap(0, end + Page, RW, AnonPrivate));                          // larger than user space
        Assert.Equal(-ENOMEM, e.Mmap(end - Page, 2 * Page, RW, AnonPrivate | MAP_FIXED));       // past user space
        Assert.Equal(-EPERM, e.Mmap(0, Page, RW, AnonPrivate | MAP_FIXED));                     // below mmap_min_addr
        Assert.Equal(-EOVERFLOW, e.Mmap(0, 2 * Page, PROT_READ, MAP_PRIVATE, &file, ulong.MaxValue & ~(Page - 1)));
        Assert.Equal(-EOPNOTSUPP, e.Mmap(0, Page, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, &file));
        Assert.Equal(-EACCES, e.Mmap(0, Page, RW, MAP_SHARED, &file));                          // read-only file
        Assert.Equal(-ENODEV, e.Mmap(0, Page, PROT_READ, MAP_SHARED, &file));                   // shared file mappings
        Assert.Equal(regions, e.S->Regions.Count);
        e.DestroyAndCheck();
    }

    // Expect: a PROT_NONE mapping reserves its range (the next mapping goes past it: below it
    // top-down, above it bottom-up; MAP_FIXED_NOREPLACE refuses it) and every access faults;
    // mprotect then makes it usable.
    [Fact]
    public void Mmap_ProtNone_ReservesTheRange()
    {
        using var e = new Env();
        ulong a = e.MustMmap(0, 4 * Page, PROT_NONE, AnonPrivate);
        ulong next = e.MustMmap(0, Page, RW, AnonPrivate);
        Assert.True(e.F.Layout.MmapBottomUp ? next >= a + 4 * Page : next + Page <= a, "the next mapping is outside the reservation");
        Assert.Equal(-EEXIST, e.Mmap(a, Page, RW, AnonPrivate | MAP_FIXED_NOREPLACE));
        Assert.Equal(AccessStatus.PageFault, e.TryRead(a));
        Assert.Equal(FaultKind.AccessViolation, e.F.LastFault);
        Assert.Equal(0, e.Mprotect(a, Page, RW));
        e.Write(a, 3);
        Assert.Equal(AccessStatus.PageFault, e.TryRead(a + Page));
        e.DestroyAndCheck();
    }

    // Expect: RLIMIT_AS counts every region's bytes: a mapping that would pass it is ENOMEM, one
    // that fits is made; a MAP_FIXED replacement counts only what it adds.
    [Fact]
    public void Mmap_BeyondTheAddressSpaceLimit_IsENOMEM()
    {
        using var e = new Env();
        ulong used = LinuxMemoryCalls<TFormat, BuddyFrames, TestStore>.VirtualBytes(e.S);
        e.Limits.AddressSpaceBytes = used + 4 * Page;
        Assert.Equal(-ENOMEM, e.Mmap(0, 5 * Page, RW, AnonPrivate));
        ulong a = e.MustMmap(0, 4 * Page, RW, AnonPrivate);
        Assert.Equal(-ENOMEM, e.Mmap(0, Page, RW, AnonPrivate));
        Assert.Equal((long)a, e.Mmap(a, 4 * Page, PROT_READ, AnonPrivate | MAP_FIXED));
        Assert.Equal(-ENOMEM, e.Mmap(a - Page, 2 * Page, RW, AnonPrivate | MAP_FIXED));
        e.DestroyAndCheck();
    }

    // Expect: MAP_POPULATE maps every page at once (no fault on first touch); with
    // MAP_NONBLOCK it does not; when frames run out it still returns the mapping (Linux's best
    // effort) and the unpopulated pages fill on touch later.
    [Fact]
    public void Mmap_Populate_MapsThePagesNow()
    {
        using var e = new Env();
        ulong a = e.MustMmap(0, 8 * Page, RW, AnonPrivate | MAP_POPULATE);
        for (ulong i = 0; i < 8; i++) Assert.True(TFormat.IsPresent(e.S->Entry(a + i * Page)));
        ulong b = e.MustMmap(0, 2 * Page, RW, AnonPrivate | MAP_POPULATE | MAP_NONBLOCK);
        Assert.False(TFormat.IsPresent(e.S->Entry(b)));
        int faults = e.F.Faults.Count;
        e.Write(a + 3 * Page, 1);
        Assert.Equal(faults, e.F.Faults.Count);

        e.F.M.Frames.Allocations = 0;
        e.F.M.Frames.FailAt = 3;
        ulong c = e.MustMmap(0, 8 * Page, RW, AnonPrivate | MAP_POPULATE);
        e.F.M.Frames.FailAt = 0;
        e.Write(c + 7 * Page, 9);
        Assert.Equal(9UL, e.Read(c + 7 * Page));
        e.DestroyAndCheck();
    }

    //   file: 'F' * 5000 bytes  -> page 0 all file bytes, page 1: 904 file bytes then zeros,
    //   page 2 (past the end) zeros. Mapped from offset 4096: page 0 is the file's second page.
    // Expect: first touch is a FileFill with those bytes; writes are private (the file is not
    // changed; a second mapping reads the file's bytes); a child forked after a write sees the
    // written value, and its own write copies; an unwritten page dropped by the clock is read
    // from the file again (no store write).
    [Fact]
    public void Mmap_PrivateFile_CopiesTheFileOnDemand()
    {
        using var e = new Env();
        const int Size = 5000;
        byte* data = (byte*)NativeMemory.Alloc(Size);
        try
        {
            for (int i = 0; i < Size; i++) data[i] = (byte)(i * 7 + 1);
            var file = new FileImage { Data = data, Length = Size };
            ulong a = e.MustMmap(0, 3 * Page, PROT_READ, MAP_PRIVATE, &file);
            Assert.Equal(FileBytes(data, 0), e.Read(a));
            Assert.Equal(FaultKind.FileFill, e.F.LastFault);
            Assert.Equal(FileBytes(data, 4096), e.Read(a + Page));
            ulong tail = e.Read(a + Page + 896); // bytes 4992..4999 of the file: all in it
            Assert.Equal(FileBytes(data, 4992), tail);
            Assert.Equal(0UL, e.Read(a + Page + 904));  // past the end of the file
            Assert.Equal(0UL, e.Read(a + 2 * Page));
            Assert.Equal(AccessStatus.PageFault, e.TryWrite(a));

            ulong b = e.MustMmap(0, Page, RW, MAP_PRIVATE, &file, 4096);
            Assert.Equal(FileBytes(data, 4096), e.Read(b));
            e.Write(b, 0x1234);
            Assert.Equal(FileBytes(data, 4096), e.Read(a + Page));
            Assert.Equal(unchecked((byte)(4096 * 7 + 1)), data[4096]);

            var c = e.F.Blank();
            Assert.Equal(Status.Ok, e.F.M.Fork(e.S, c, ref e.F.Arch));
            e.F.Switch(c);
            Assert.Equal(0x1234UL, e.F.MustRead(b));
            e.F.MustWrite(b, 0x5678);
            Assert.Equal(FaultKind.CopyOnWrite, e.F.LastFault);
            e.F.Switch(e.S);
            Assert.Equal(0x1234UL, e.Read(b));
            e.F.Switch(null);
            Assert.Equal(Status.Ok, e.F.M.Destroy(c, ref e.F.Arch));
            e.F.Switch(e.S);

            // The clock: one pass clears Accessed, the next drops the unwritten file pages.
            long writes = e.F.Control->Writes;
            e.F.M.Reclaim(1000, ref e.F.Arch);
            e.F.M.Reclaim(1000, ref e.F.Arch);
            Assert.False(TFormat.IsPresent(e.S->Entry(a)));
            Assert.Equal(0UL, e.S->Entry(a));
            Assert.Equal(FileBytes(data, 0), e.Read(a));
            Assert.Equal(FaultKind.FileFill, e.F.LastFault);
            Assert.Equal(0x1234UL, e.Read(b));                      // written: came back from swap
            Assert.Equal(writes + 1, e.F.Control->Writes);          // only the written page was stored
            e.DestroyAndCheck();
        }
        finally { NativeMemory.Free(data); }
    }

    private static ulong FileBytes(byte* data, int offset) => *(ulong*)(data + offset);

    //   parent: shared S (2 pages), page 0 written before fork; page 1 never touched
    // Expect: after fork both map the same frames writable; the child's write to page 1 and
    // the parent's later write to page 0 are seen by the other; the clock leaves shared pages
    // mapped; private memory stays copy-on-write beside it; destroying both returns every frame.
    [Fact]
    public void Mmap_SharedAnonymous_StaysSharedAcrossFork()
    {
        using var e = new Env();
        ulong s = e.MustMmap(0, 2 * Page, RW, MAP_ANONYMOUS | MAP_SHARED);
        ulong p = e.MustMmap(0, Page, RW, AnonPrivate);
        e.Write(s, 1);
        e.Write(p, 2);
        var c = e.F.Blank();
        Assert.Equal(Status.Ok, e.F.M.Fork(e.S, c, ref e.F.Arch));
        e.F.Validate("after fork");
        Assert.Equal(e.F.FrameAt(e.S, s + Page), e.F.FrameAt(c, s + Page));

        e.F.Switch(c);
        Assert.Equal(1UL, e.F.MustRead(s));
        e.F.MustWrite(s + Page, 11);
        e.F.MustWrite(p, 22);
        e.F.Switch(e.S);
        Assert.Equal(11UL, e.Read(s + Page));
        Assert.Equal(2UL, e.Read(p));
        e.Write(s, 100);
        e.F.M.Reclaim(1000, ref e.F.Arch);
        e.F.M.Reclaim(1000, ref e.F.Arch);
        Assert.True(TFormat.IsPresent(e.S->Entry(s)));
        e.F.Switch(c);
        Assert.Equal(100UL, e.F.MustRead(s));
        Assert.Equal(22UL, e.F.MustRead(p));
        e.F.Validate("after writes");

        // Protect and back keeps the sharing (the entries stay writable in both).
        e.F.Switch(e.S);
        Assert.Equal(0, e.Mprotect(s, 2 * Page, PROT_READ));
        Assert.Equal(0, e.Mprotect(s, 2 * Page, RW));
        e.Write(s, 7);
        e.F.Switch(c);
        Assert.Equal(7UL, e.F.MustRead(s));
        e.F.Switch(null);
        Assert.Equal(Status.Ok, e.F.M.Destroy(c, ref e.F.Arch));
        e.F.Switch(e.S);
        Assert.Equal(7UL, e.Read(s));
        e.DestroyAndCheck();
    }

    // Expect: a fork that runs out of frames while populating the shared region fails with
    // OutOfMemory, no child, the parent's pages and values as they were.
    [Fact]
    public void Fork_OutOfMemory_WhilePopulatingShared_LeavesTheParentWhole()
    {
        using var e = new Env();
        ulong s = e.MustMmap(0, 4 * Page, RW, MAP_ANONYMOUS | MAP_SHARED);
        e.Write(s, 5);
        e.F.M.Frames.Allocations = 0;
        e.F.M.Frames.FailAt = 2;
        var c = e.F.Blank();
        Status st = e.F.M.Fork(e.S, c, ref e.F.Arch);
        e.F.M.Frames.FailAt = 0;
        Assert.Equal(Status.OutOfMemory, st);
        Assert.False(c->IsLive);
        Assert.Equal(5UL, e.Read(s));
        e.DestroyAndCheck();
    }

    // ---- munmap ----

    //   [ A A A A A A ]  munmap pages 2-3  ->  [ A A ] hole [ A A ]
    // Expect: two regions, the outer pages keep their values, the hole faults (NoRegion); the
    // freed frames are back at once.
    [Fact]
    public void Munmap_InTheMiddle_SplitsTheRegion()
    {
        using var e = new Env();
        ulong a = e.MustMmap(0, 6 * Page, RW, AnonPrivate);
        for (ulong i = 0; i < 6; i++) e.Write(a + i * Page, i + 1);
        int regions = e.S->Regions.Count;
        ulong free = e.F.FreeFrames;
        Assert.Equal(0, e.Munmap(a + 2 * Page, 2 * Page));
        Assert.Equal(regions + 1, e.S->Regions.Count);
        Assert.Equal(free + 2, e.F.FreeFrames);
        Assert.Equal(2UL, e.Read(a + Page));
        Assert.Equal(5UL, e.Read(a + 4 * Page));
        Assert.Equal(AccessStatus.PageFault, e.TryRead(a + 2 * Page));
        Assert.Equal(FaultKind.NoRegion, e.F.LastFault);
        e.DestroyAndCheck();
    }

    //   [ A A ] hole [ B ] hole [ C C ]  munmap from A's second page to C's first
    // Expect: A and C are cut, B goes, holes are fine; length not a page multiple is rounded up.
    [Fact]
    public void Munmap_AcrossRegionsAndHoles()
    {
        using var e = new Env();
        ulong b0 = e.F.Layout.MmapBase + 0x100000;
        ulong a = e.MustMmap(b0, 2 * Page, RW, AnonPrivate | MAP_FIXED);
        ulong b = e.MustMmap(b0 + 3 * Page, Page, PROT_READ, AnonPrivate | MAP_FIXED);
        ulong c = e.MustMmap(b0 + 5 * Page, 2 * Page, RW, AnonPrivate | MAP_FIXED);
        e.Write(a, 1);
        e.Write(a + Page, 2);
        e.Write(c + Page, 3);
        Assert.Equal(0, e.Munmap(a + Page, c - (a + Page) + 1));
        Assert.Equal(1UL, e.Read(a));
        Assert.Equal(3UL, e.Read(c + Page));
        Assert.Equal(-1, e.S->Regions.Find(a + Page));
        Assert.Equal(-1, e.S->Regions.Find(b));
        Assert.Equal(-1, e.S->Regions.Find(c));
        Assert.Equal(0, e.Munmap(b0 + 100 * Page, Page)); // nothing there: fine
        e.DestroyAndCheck();
    }

    // Expect: unaligned address, length 0 and ranges past user space are EINVAL; a split with
    // the region table full is ENOMEM and changes nothing.
    [Fact]
    public void Munmap_BadArguments()
    {
        using var e = new Env();
        ulong a = e.MustMmap(0, 3 * Page, RW, AnonPrivate);
        e.Write(a + Page, 4);
        Assert.Equal(-EINVAL, e.Munmap(a + 1, Page));
        Assert.Equal(-EINVAL, e.Munmap(a, 0));
        Assert.Equal(-EINVAL, e.Munmap(e.F.Layout.UserEnd - Page, 2 * Page));
        Assert.Equal(-EINVAL, e.Munmap(a, ulong.MaxValue - 10));
        for (int n = 0; e.S->Regions.Count < VmaSet.Capacity; n++)
            e.MustMmap(0, Page, (n & 1) == 0 ? PROT_READ : RW, AnonPrivate);
        Assert.Equal(-ENOMEM, e.Munmap(a + Page, Page));
        Assert.Equal(4UL, e.Read(a + Page));
        e.DestroyAndCheck();
    }

    // ---- mprotect ----

    //   [ rw rw rw rw ] mprotect pages 1-2 read-only -> [rw][r r][rw]; back to rw -> one region
    // Expect: writes fault only in the read-only part; values survive; the regions merge again.
    [Fact]
    public void Mprotect_SplitsAndMerges()
    {
        using var e = new Env();
        ulong a = e.MustMmap(0, 4 * Page, RW, AnonPrivate);
        for (ulong i = 0; i < 4; i++) e.Write(a + i * Page, i);
        int regions = e.S->Regions.Count;
        Assert.Equal(0, e.Mprotect(a + Page, 2 * Page, PROT_READ));
        Assert.Equal(regions + 2, e.S->Regions.Count);
        Assert.Equal(AccessStatus.PageFault, e.TryWrite(a + 2 * Page));
        Assert.Equal(FaultKind.AccessViolation, e.F.LastFault);
        e.Write(a + 3 * Page, 30);
        Assert.Equal(1UL, e.Read(a + Page));
        Assert.Equal(0, e.Mprotect(a, 4 * Page, RW));
        Assert.Equal(regions, e.S->Regions.Count);
        e.Write(a + 2 * Page, 20);
        e.DestroyAndCheck();
    }

    // Expect: a range with a hole or past the end of a mapping is ENOMEM and changes nothing;
    // unaligned address, unknown bits and GROWSUP are EINVAL; length 0 is 0; GROWSDOWN where the
    // first region in the range is not a stack is EINVAL, in the stack it covers it down to its
    // start.
    [Fact]
    public void Mprotect_Errors()
    {
        using var e = new Env();
        ulong a = e.MustMmap(e.F.Layout.MmapBase + 0x200000, 2 * Page, RW, AnonPrivate | MAP_FIXED);
        e.MustMmap(a + 3 * Page, Page, RW, AnonPrivate | MAP_FIXED);
        Assert.Equal(-ENOMEM, e.Mprotect(a, 4 * Page, PROT_READ));
        Assert.Equal(-ENOMEM, e.Mprotect(a - Page, 2 * Page, PROT_READ));
        Assert.Equal(-ENOMEM, e.Mprotect(a, ulong.MaxValue - 10, PROT_READ));
        e.Write(a, 1);  // still writable: nothing changed
        Assert.Equal(-EINVAL, e.Mprotect(a + 1, Page, PROT_READ));
        Assert.Equal(-EINVAL, e.Mprotect(a, Page, 0x10));
        Assert.Equal(-EINVAL, e.Mprotect(a, Page, PROT_READ | PROT_GROWSUP));
        Assert.Equal(-EINVAL, e.Mprotect(a, Page, PROT_READ | PROT_GROWSDOWN));
        // The first region in the range decides, whether or not it holds the address (Linux).
        Assert.Equal(-EINVAL, e.Mprotect(a - Page, 2 * Page, PROT_READ | PROT_GROWSDOWN));
        Assert.Equal(-ENOMEM, e.Mprotect(a - Page, 2 * Page, PROT_READ | PROT_GROWSUP));
        Assert.Equal(-ENOMEM, e.Mprotect(a - 2 * Page, Page, PROT_READ | PROT_GROWSDOWN)); // no region in the range
        Assert.Equal(0, e.Mprotect(a, 0, PROT_READ));
        Assert.Equal(0, e.Mprotect(0x12345000, 0, PROT_READ));
        e.Write(a, 2);

        ulong top = e.F.Layout.StackTop;
        e.Write(top - 3 * Page, 5);                   // the stack grows to three pages
        Assert.Equal(0, e.Mprotect(top - Page, Page, PROT_READ | PROT_GROWSDOWN));
        Assert.Equal(AccessStatus.PageFault, e.TryWrite(top - 3 * Page));
        Assert.Equal(5UL, e.Read(top - 3 * Page));
        e.DestroyAndCheck();
    }

    // Expect: PROT_WRITE on a private file mapping is allowed (its pages are private); PROT_EXEC
    // with PROT_WRITE is allowed (no W^X policy) and the page is fetchable where the hardware
    // has NX.
    [Fact]
    public void Mprotect_WriteOnPrivateFile_AndWritableCode_AreAllowed()
    {
        using var e = new Env();
        byte* data = (byte*)NativeMemory.AllocZeroed((nuint)Page);
        try
        {
            data[0] = 0x42;
            var file = new FileImage { Data = data, Length = Page };
            ulong a = e.MustMmap(0, Page, PROT_READ, MAP_PRIVATE, &file);
            Assert.Equal(0, e.Mprotect(a, Page, RW | PROT_EXEC));
            e.Write(a + 8, 1);
            Assert.Equal(0x42UL, e.Read(a) & 0xFF);
            Assert.Equal(AccessStatus.Ok, e.F.Fetch(a));
            Assert.Equal(0, e.Mprotect(a, Page, RW));
            if (!UserFixture<TFormat>.Is32Bit) Assert.Equal(AccessStatus.PageFault, e.F.Fetch(a));
            Assert.Equal(0, data[8]);
            e.DestroyAndCheck();
        }
        finally { NativeMemory.Free(data); }
    }

    // ---- brk ----

    // Expect: brk(0) and any address below the heap's start report the break; growing returns
    // the new break and the pages take writes; shrinking releases the pages past the new break
    // (freed frames, the range faults); an unaligned break is kept as given.
    [Fact]
    public void Brk_GrowsAndShrinks()
    {
        using var e = new Env();
        ulong start = e.S->BrkStart;
        Assert.Equal((long)start, e.Brk(0));
        Assert.Equal((long)start, e.Brk(start - Page));
        Assert.Equal((long)(start + 3 * Page + 5), e.Brk(start + 3 * Page + 5));
        for (ulong i = 0; i < 4; i++) e.Write(start + i * Page, i + 1);
        ulong free = e.F.FreeFrames;
        Assert.Equal((long)(start + Page), e.Brk(start + Page));
        Assert.Equal(free + 3, e.F.FreeFrames);
        Assert.Equal(1UL, e.Read(start));
        Assert.Equal(AccessStatus.PageFault, e.TryRead(start + Page));
        Assert.Equal((long)(start + 2 * Page), e.Brk(start + 2 * Page));
        Assert.Equal(0UL, e.Read(start + Page));     // grown again: zero-filled
        e.DestroyAndCheck();
    }

    // Expect: growth that would reach a mapping (or the page below it), pass the data limit or
    // RLIMIT_AS fails and returns the old break, changing nothing.
    [Fact]
    public void Brk_Failures_ReturnTheOldBreak()
    {
        using var e = new Env();
        ulong start = e.S->BrkStart;
        e.MustMmap(start + 8 * Page, Page, RW, AnonPrivate | MAP_FIXED);
        Assert.Equal((long)start, e.Brk(start + 8 * Page));
        Assert.Equal((long)start, e.Brk(start + 7 * Page + 1));      // would leave no gap page
        Assert.Equal((long)(start + 7 * Page), e.Brk(start + 7 * Page));
        e.Limits.DataBytes = 8 * Page;
        Assert.Equal((long)(start + 7 * Page), e.Brk(start + 8 * Page + 1));
        Assert.Equal((long)(start + 2 * Page), e.Brk(start + 2 * Page));
        e.Limits = LinuxLimits.Unlimited;
        e.Limits.AddressSpaceBytes = LinuxMemoryCalls<TFormat, BuddyFrames, TestStore>.VirtualBytes(e.S) + Page;
        Assert.Equal((long)(start + 2 * Page), e.Brk(start + 4 * Page));
        Assert.Equal((long)(start + 3 * Page), e.Brk(start + 3 * Page));
        e.DestroyAndCheck();
    }

    // ---- mremap ----

    // Expect: shrinking returns the same address and releases the tail; growing into free
    // space after the region stays in place with the values; growing into a mapping without
    // MREMAP_MAYMOVE is ENOMEM and changes nothing.
    [Fact]
    public void Mremap_InPlace()
    {
        using var e = new Env();
        ulong a = e.MustMmap(e.F.Layout.MmapBase + 0x400000, 4 * Page, RW, AnonPrivate | MAP_FIXED);
        for (ulong i = 0; i < 4; i++) e.Write(a + i * Page, i + 1);
        ulong free = e.F.FreeFrames;
        Assert.Equal((long)a, e.Mremap(a, 4 * Page, 2 * Page, 0));
        Assert.True(e.F.FreeFrames >= free + 2);
        Assert.Equal(AccessStatus.PageFault, e.TryRead(a + 2 * Page));
        Assert.Equal((long)a, e.Mremap(a, 2 * Page, 6 * Page, 0));
        Assert.Equal(2UL, e.Read(a + Page));
        Assert.Equal(0UL, e.Read(a + 5 * Page));
        e.MustMmap(a + 6 * Page, Page, RW, AnonPrivate | MAP_FIXED);
        int regions = e.S->Regions.Count;
        Assert.Equal(-ENOMEM, e.Mremap(a, 6 * Page, 8 * Page, 0));
        Assert.Equal(regions, e.S->Regions.Count);
        Assert.Equal(1UL, e.Read(a));
        e.DestroyAndCheck();
    }

    //   [ A: 4 pages, page 1 paged out, page 3 never touched ][ B ]  grow A to 8 pages
    // Expect: with MAYMOVE it moves: the same frames at the new address (no copy), the swap
    // entry moved with its slot count unchanged, the old range unmapped; Accessed and Dirty
    // kept; then every frame is back after destroy.
    [Fact]
    public void Mremap_MayMove_MovesEntriesNotContents()
    {
        using var e = new Env();
        ulong a = e.MustMmap(e.F.Layout.MmapBase + 0x400000, 4 * Page, RW, AnonPrivate | MAP_FIXED);
        e.MustMmap(a + 4 * Page, Page, PROT_READ, AnonPrivate | MAP_FIXED);
        for (ulong i = 0; i < 3; i++) e.Write(a + i * Page, 100 + i);
        // Everything out to the store, then pages 0 and 2 read back: page 1 stays a swap entry.
        e.F.M.Reclaim(1000, ref e.F.Arch);
        e.F.M.Reclaim(1000, ref e.F.Arch);
        ulong swapEntry = e.S->Entry(a + Page);
        Assert.True(swapEntry != 0 && !TFormat.IsPresent(swapEntry), $"page 1 not paged out: 0x{swapEntry:x}");
        Assert.Equal(100UL, e.Read(a));
        Assert.Equal(102UL, e.Read(a + 2 * Page));
        ulong before0 = e.F.FrameAt(e.S, a), before2 = e.F.FrameAt(e.S, a + 2 * Page);
        ulong entry2 = e.S->Entry(a + 2 * Page);
        uint slot = SwapEntry<TFormat>.SlotOf(swapEntry);
        uint slotRefs = e.F.M.Slots.RefCount(slot);
        ulong free = e.F.FreeFrames;

        long r = e.Mremap(a, 4 * Page, 8 * Page, LinuxMremap.MREMAP_MAYMOVE);
        Assert.True(r > 0 && (ulong)r != a, $"mremap = {r}");
        ulong n = (ulong)r;
        Assert.Equal(before0, e.F.FrameAt(e.S, n));
        Assert.Equal(before2, e.F.FrameAt(e.S, n + 2 * Page));
        Assert.Equal(entry2, e.S->Entry(n + 2 * Page));
        Assert.Equal(swapEntry, e.S->Entry(n + Page));
        Assert.Equal(slotRefs, e.F.M.Slots.RefCount(slot));
        Assert.Equal(-1, e.S->Regions.Find(a));
        Assert.True(e.F.FreeFrames + 4 >= free, "no page was copied"); // at most new tables
        e.F.Validate("after move");
        Assert.Equal(100UL, e.Read(n));
        Assert.Equal(101UL, e.Read(n + Page));
        Assert.Equal(FaultKind.PageIn, e.F.LastFault);
        Assert.Equal(102UL, e.Read(n + 2 * Page));
        Assert.Equal(0UL, e.Read(n + 7 * Page));
        Assert.Equal(AccessStatus.PageFault, e.TryRead(a));
        e.DestroyAndCheck();
    }

    // Expect: MREMAP_FIXED moves to the given address, replacing what is there, and shrinks on
    // the way when asked; MREMAP_DONTUNMAP keeps the old range mapped and empty (it reads zero).
    [Fact]
    public void Mremap_Fixed_AndDontUnmap()
    {
        using var e = new Env();
        ulong baseVa = e.F.Layout.MmapBase + 0x800000;
        ulong a = e.MustMmap(baseVa, 3 * Page, RW, AnonPrivate | MAP_FIXED);
        ulong t = e.MustMmap(baseVa + 16 * Page, 4 * Page, RW, AnonPrivate | MAP_FIXED);
        for (ulong i = 0; i < 3; i++) e.Write(a + i * Page, 1 + i);
        for (ulong i = 0; i < 4; i++) e.Write(t + i * Page, 50 + i);
        Assert.Equal((long)t, e.Mremap(a, 3 * Page, 2 * Page, LinuxMremap.MREMAP_MAYMOVE | LinuxMremap.MREMAP_FIXED, t));
        Assert.Equal(1UL, e.Read(t));
        Assert.Equal(2UL, e.Read(t + Page));
        Assert.Equal(52UL, e.Read(t + 2 * Page));  // the target's pages past the move stay
        Assert.Equal(-1, e.S->Regions.Find(a + 2 * Page));

        long d = e.Mremap(t, 2 * Page, 2 * Page, LinuxMremap.MREMAP_MAYMOVE | LinuxMremap.MREMAP_DONTUNMAP);
        Assert.True(d > 0, $"mremap = {d}");
        Assert.Equal(1UL, e.Read((ulong)d));
        Assert.Equal(0UL, e.Read(t));
        e.DestroyAndCheck();
    }

    private static bool SameRegion(Env e, ulong a, ulong b) => e.S->Regions.Find(a) == e.S->Regions.Find(b);

    //   X [0, 2) written | Y written elsewhere, then moved by MREMAP_FIXED to [2, 4)
    // Expect: X and Y stay two regions (different owners of their pages, and Y keeps its old
    // offset), so an mremap of [0, 4) is EFAULT as on Linux; an unwritten region moved next to
    // X takes its new address as offset and joins X, so the same mremap then works.
    [Fact]
    public void Mremap_AcrossRegionsLinuxKeepsApart_IsEFAULT()
    {
        using var e = new Env();
        const ulong M = LinuxMremap.MREMAP_MAYMOVE, Fx = LinuxMremap.MREMAP_FIXED;
        ulong x = e.MustMmap(e.F.Layout.MmapBase + 0x800000, 2 * Page, RW, AnonPrivate | MAP_FIXED);
        ulong y = e.MustMmap(x + 16 * Page, Page, RW, AnonPrivate | MAP_FIXED);
        e.Write(x, 1);
        e.Write(y, 2);
        Assert.Equal((long)(x + 2 * Page), e.Mremap(y, Page, 2 * Page, M | Fx, x + 2 * Page));
        Assert.False(SameRegion(e, x, x + 2 * Page));
        Assert.Equal(-EFAULT, e.Mremap(x, 4 * Page, 8 * Page, M));
        Assert.Equal(2UL, e.Read(x + 2 * Page));

        // Written pages, but the offset does not continue either: apart.
        Assert.Equal(0, e.Munmap(x + 2 * Page, 2 * Page));
        ulong z = e.MustMmap(x + 32 * Page, Page, RW, AnonPrivate | MAP_FIXED);
        e.Write(z, 3);
        Assert.Equal(0, e.Munmap(x, 2 * Page));
        ulong fresh = e.MustMmap(x, 2 * Page, RW, AnonPrivate | MAP_FIXED);   // never written
        Assert.Equal((long)(x + 2 * Page), e.Mremap(z, Page, 2 * Page, M | Fx, x + 2 * Page));
        Assert.False(SameRegion(e, fresh, x + 2 * Page));

        // Never written: the moved region's offset is its new address, and it joins.
        Assert.Equal(0, e.Munmap(x + 2 * Page, 2 * Page));
        ulong w = e.MustMmap(x + 48 * Page, 2 * Page, RW, AnonPrivate | MAP_FIXED);
        Assert.Equal((long)(x + 2 * Page), e.Mremap(w, 2 * Page, 2 * Page, M | Fx, x + 2 * Page));
        Assert.True(SameRegion(e, x, x + 2 * Page));
        long r = e.Mremap(x, 4 * Page, 8 * Page, M);
        Assert.True(r > 0, $"mremap = {r}");
        e.DestroyAndCheck();
    }

    //   one unwritten region, its upper half made executable: [RW][RWX]
    // Expect: the first write to each half gives both the same owner (the upper half reuses
    // its neighbour's, as Linux's find_mergeable_anon_vma), so making the rights equal again
    // merges them; halves written as separate mappings would stay apart.
    [Fact]
    public void FirstWrite_ReusesTheOwnerOfTheRegionItContinues()
    {
        using var e = new Env();
        ulong a = e.MustMmap(e.F.Layout.MmapBase + 0x800000, 4 * Page, RW, AnonPrivate | MAP_FIXED);
        Assert.Equal(0, e.Mprotect(a + 2 * Page, 2 * Page, RW | PROT_EXEC));
        e.Write(a, 1);
        e.Write(a + 2 * Page, 2);
        Assert.Equal(e.S->Regions[e.S->Regions.Find(a)].Identity, e.S->Regions[e.S->Regions.Find(a + 2 * Page)].Identity);
        Assert.Equal(0, e.Mprotect(a + 2 * Page, 2 * Page, RW));
        Assert.True(SameRegion(e, a, a + 3 * Page));

        ulong b = e.MustMmap(a + 16 * Page, 2 * Page, RW, AnonPrivate | MAP_FIXED);
        e.Write(b, 3);
        ulong c = e.MustMmap(a + 18 * Page, 2 * Page, RW | PROT_EXEC, AnonPrivate | MAP_FIXED);
        Assert.Equal(0, e.Munmap(b, 2 * Page));
        e.Write(c, 4);                        // no neighbour now: an owner of its own
        b = e.MustMmap(a + 16 * Page, 2 * Page, RW, AnonPrivate | MAP_FIXED);
        e.Write(b, 5);                        // reuses c's owner (c continues it)
        Assert.Equal(0, e.Mprotect(c, 2 * Page, RW));
        Assert.True(SameRegion(e, b, c));
        e.DestroyAndCheck();
    }

    // Expect: after fork the child's copy of a written region has an owner of its own, marked
    // as a fork's: a new mapping right after it stays a separate region in the child (mremap
    // across both is EFAULT) while the parent's joins.
    [Fact]
    public void Fork_ChildsWrittenRegion_MergesWithNoNewNeighbour()
    {
        using var e = new Env();
        ulong a = e.MustMmap(e.F.Layout.MmapBase + 0x800000, 2 * Page, RW, AnonPrivate | MAP_FIXED);
        e.Write(a, 1);
        var c = e.F.Blank();
        Assert.Equal(Status.Ok, e.F.M.Fork(e.S, c, ref e.F.Arch));
        Assert.True(c->Regions[c->Regions.Find(a)].ForkedIdentity);
        Assert.NotEqual(e.S->Regions[e.S->Regions.Find(a)].Identity, c->Regions[c->Regions.Find(a)].Identity);

        var parent = e.S;
        e.S = c;
        e.F.Switch(c);
        e.MustMmap(a + 2 * Page, 2 * Page, RW, AnonPrivate | MAP_FIXED);
        Assert.False(SameRegion(e, a, a + 2 * Page));
        Assert.Equal(-EFAULT, e.Mremap(a, 4 * Page, 8 * Page, LinuxMremap.MREMAP_MAYMOVE));
        Assert.Equal(1UL, e.Read(a));
        e.F.Switch(null);
        Assert.Equal(Status.Ok, e.F.M.Destroy(c, ref e.F.Arch));

        e.S = parent;
        e.F.Switch(parent);
        e.MustMmap(a + 2 * Page, 2 * Page, RW, AnonPrivate | MAP_FIXED);
        Assert.True(SameRegion(e, a, a + 2 * Page));
        e.DestroyAndCheck();
    }

    // Expect: MREMAP_DONTUNMAP on a MAP_SHARED mapping (Linux since 5.13) moves it and keeps the
    // old range, which goes on showing the same shared pages: writes through either range are
    // seen through the other, pages never touched before included.
    [Fact]
    public void Mremap_DontUnmap_OnShared_KeepsBothRangesOnTheSamePages()
    {
        using var e = new Env();
        ulong s = e.MustMmap(0, 2 * Page, RW, MAP_ANONYMOUS | MAP_SHARED);
        e.Write(s, 5);
        long d = e.Mremap(s, 2 * Page, 2 * Page, LinuxMremap.MREMAP_MAYMOVE | LinuxMremap.MREMAP_DONTUNMAP);
        Assert.True(d > 0 && (ulong)d != s, $"mremap = {d}");
        ulong n = (ulong)d;
        Assert.Equal(5UL, e.Read(n));
        e.Write(n + Page, 6);
        Assert.Equal(6UL, e.Read(s + Page));
        e.Write(s, 7);
        Assert.Equal(7UL, e.Read(n));
        Assert.Equal(e.S->Regions[e.S->Regions.Find(s)].Identity, e.S->Regions[e.S->Regions.Find(n)].Identity);
        Assert.Equal(0, e.Munmap(s, 2 * Page));
        Assert.Equal(7UL, e.Read(n));
        e.DestroyAndCheck();
    }

    // Expect: old_size 0 with MREMAP_MAYMOVE on a MAP_SHARED mapping maps its pages a second
    // time (the first new_size bytes from old_address); without MAYMOVE it is ENOMEM, and on a
    // private mapping EINVAL.
    [Fact]
    public void Mremap_OldSizeZero_OnShared_MapsTheSamePagesAgain()
    {
        using var e = new Env();
        ulong s = e.MustMmap(0, 2 * Page, RW, MAP_ANONYMOUS | MAP_SHARED);
        e.Write(s + Page, 5);
        Assert.Equal(-ENOMEM, e.Mremap(s, 0, Page, 0));
        long d = e.Mremap(s + Page, 0, Page, LinuxMremap.MREMAP_MAYMOVE);
        Assert.True(d > 0 && (ulong)d != s + Page, $"mremap = {d}");
        Assert.Equal(5UL, e.Read((ulong)d));
        e.Write((ulong)d, 9);
        Assert.Equal(9UL, e.Read(s + Page));
        Assert.True(e.S->Regions.Find(s) >= 0);   // the old mapping stays
        ulong p = e.MustMmap(0, Page, RW, AnonPrivate);
        Assert.Equal(-EINVAL, e.Mremap(p, 0, Page, LinuxMremap.MREMAP_MAYMOVE));

        // MREMAP_FIXED onto the region's own later pages: the target is replaced first, so the
        // pages before it are mapped again there; a target at old_address is EFAULT (replaced,
        // nothing is left to map again), one from below over it EINVAL (the ranges overlap).
        const ulong MF = LinuxMremap.MREMAP_MAYMOVE | LinuxMremap.MREMAP_FIXED;
        ulong t = e.MustMmap(e.F.Layout.MmapBase + 0x800000, 4 * Page, RW, MAP_ANONYMOUS | MAP_SHARED | MAP_FIXED);
        e.Write(t, 11);
        Assert.Equal(-EFAULT, e.Mremap(t + Page, 0, 2 * Page, MF, t + Page));
        Assert.Equal(-EINVAL, e.Mremap(t + Page, 0, 2 * Page, MF, t));
        Assert.Equal((long)(t + 2 * Page), e.Mremap(t, 0, 3 * Page, MF, t + 2 * Page));
        Assert.Equal(11UL, e.Read(t + 2 * Page));
        e.Write(t + 2 * Page, 12);
        Assert.Equal(12UL, e.Read(t));
        e.DestroyAndCheck();
    }

    // Expect: Linux's errnos for each bad argument, nothing changed.
    [Fact]
    public void Mremap_BadArguments()
    {
        using var e = new Env();
        ulong a = e.MustMmap(e.F.Layout.MmapBase + 0x400000, 2 * Page, RW, AnonPrivate | MAP_FIXED);
        e.Write(a, 9);
        const ulong M = LinuxMremap.MREMAP_MAYMOVE, Fx = LinuxMremap.MREMAP_FIXED, Du = LinuxMremap.MREMAP_DONTUNMAP;
        Assert.Equal(-EINVAL, e.Mremap(a, Page, 2 * Page, 8));
        Assert.Equal(-EINVAL, e.Mremap(a, Page, 2 * Page, Fx, a + 8 * Page));
        Assert.Equal(-EINVAL, e.Mremap(a, Page, 2 * Page, Du | M));
        Assert.Equal(-EINVAL, e.Mremap(a, Page, Page, Du));
        Assert.Equal(-EINVAL, e.Mremap(a + 1, Page, 2 * Page, M));
        Assert.Equal(-EINVAL, e.Mremap(a, Page, 0, M));
        Assert.Equal(-EINVAL, e.Mremap(a, 0, Page, M));
        Assert.Equal(-EINVAL, e.Mremap(a, Page, 1UL << 63, M));                     // larger than user space
        Assert.Equal(-EINVAL, e.Mremap(a, Page, Page, M | Fx, a + 8 * Page + 1));
        Assert.Equal(-EINVAL, e.Mremap(a, 2 * Page, 2 * Page, M | Fx, a + Page));  // overlapping
        Assert.Equal(-EFAULT, e.Mremap(a - 8 * Page, Page, 2 * Page, M));           // unmapped
        Assert.Equal(-EFAULT, e.Mremap(a, 3 * Page, 4 * Page, M));                  // past the region
        Assert.Equal(-EPERM, e.Mremap(a, Page, Page, M | Fx, 0));
        e.Limits.AddressSpaceBytes = LinuxMemoryCalls<TFormat, BuddyFrames, TestStore>.VirtualBytes(e.S);
        Assert.Equal(-ENOMEM, e.Mremap(a, 2 * Page, 3 * Page, M));
        e.Limits = LinuxLimits.Unlimited;
        Assert.Equal(9UL, e.Read(a));
        Assert.Equal(a, e.S->Regions[e.S->Regions.Find(a)].Start);
        e.DestroyAndCheck();
    }

    // Expect: a move whose destination page tables cannot be had is ENOMEM, with the pages, the
    // regions and the free count as before.
    [Fact]
    public void Mremap_OutOfMemory_ChangesNothing()
    {
        using var e = new Env();
        ulong a = e.MustMmap(e.F.Layout.MmapBase + 0x400000, 2 * Page, RW, AnonPrivate | MAP_FIXED);
        e.MustMmap(a + 2 * Page, Page, PROT_READ, AnonPrivate | MAP_FIXED);
        e.Write(a, 1);
        e.Write(a + Page, 2);
        ulong free = e.F.FreeFrames;
        int regions = e.S->Regions.Count;
        e.F.M.Frames.Allocations = 0;
        e.F.M.Frames.FailAt = 1;
        // Far away (another top-level entry on x86-64, another directory entry on i386): new tables.
        ulong far = e.F.Layout.MmapBase + (UserFixture<TFormat>.Is32Bit ? 0x10000000UL : 0x8000000000UL);
        long r = e.Mremap(a, 2 * Page, 2 * Page, LinuxMremap.MREMAP_MAYMOVE | LinuxMremap.MREMAP_FIXED, far);
        e.F.M.Frames.FailAt = 0;
        Assert.Equal(-ENOMEM, r);
        Assert.Equal(free, e.F.FreeFrames);
        Assert.Equal(regions, e.S->Regions.Count);
        Assert.Equal(1UL, e.Read(a));
        Assert.Equal(2UL, e.Read(a + Page));
        e.DestroyAndCheck();
    }

    // ---- madvise ----

    // Expect: MADV_DONTNEED drops private anonymous pages (frames freed, next touch zero, the
    // region still there), makes file pages read the file again, keeps shared pages; unknown
    // advice is EINVAL; a range with a hole is ENOMEM after the advice was applied to the rest.
    [Fact]
    public void Madvise_DontNeed_AndErrors()
    {
        using var e = new Env();
        ulong a = e.MustMmap(e.F.Layout.MmapBase + 0x400000, 4 * Page, RW, AnonPrivate | MAP_FIXED);
        for (ulong i = 0; i < 4; i++) e.Write(a + i * Page, 7 + i);
        ulong free = e.F.FreeFrames;
        Assert.Equal(0, e.Madvise(a + Page, 2 * Page, LinuxMadv.MADV_DONTNEED));
        Assert.Equal(free + 2, e.F.FreeFrames);
        Assert.Equal(7UL, e.Read(a));
        Assert.Equal(0UL, e.Read(a + Page));
        Assert.Equal(FaultKind.DemandZero, e.F.LastFault);
        Assert.Equal(10UL, e.Read(a + 3 * Page));

        ulong s = e.MustMmap(0, Page, RW, MAP_ANONYMOUS | MAP_SHARED);
        e.Write(s, 3);
        Assert.Equal(0, e.Madvise(s, Page, LinuxMadv.MADV_DONTNEED));
        Assert.Equal(3UL, e.Read(s));
        Assert.Equal(-EINVAL, e.Madvise(s, Page, LinuxMadv.MADV_FREE));

        Assert.Equal(0, e.Madvise(a, 4 * Page, LinuxMadv.MADV_FREE));
        Assert.Equal(0UL, e.Read(a));
        foreach (int adv in new[] { LinuxMadv.MADV_NORMAL, LinuxMadv.MADV_RANDOM, LinuxMadv.MADV_SEQUENTIAL, LinuxMadv.MADV_WILLNEED })
            Assert.Equal(0, e.Madvise(a, Page, adv));
        Assert.Equal(-EINVAL, e.Madvise(a, Page, 999));
        Assert.Equal(-EINVAL, e.Madvise(a, Page, LinuxMadv.MADV_DONTFORK));
        Assert.Equal(-EINVAL, e.Madvise(a + 1, Page, LinuxMadv.MADV_DONTNEED));
        Assert.Equal(0, e.Madvise(a, 0, LinuxMadv.MADV_DONTNEED));
        e.Write(a + 3 * Page, 5);
        Assert.Equal(-ENOMEM, e.Madvise(a + 3 * Page, 2 * Page, LinuxMadv.MADV_DONTNEED));
        Assert.Equal(0UL, e.Read(a + 3 * Page));   // applied to the mapped part
        Assert.Equal(-ENOMEM, e.Madvise(a - 2 * Page, Page, LinuxMadv.MADV_WILLNEED));
        e.DestroyAndCheck();
    }
}

public sealed class LinuxMemoryCallsTests64 : LinuxMemoryCallsTests<X86LongModeFormat> { }
public sealed class LinuxMemoryCallsTests32 : LinuxMemoryCallsTests<X86LegacyFormat> { }
