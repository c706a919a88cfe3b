using System;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.User;
using SharpMM.User.Exec;
using Xunit;

namespace SharpMM.Tests.User.Exec;

/// <summary>
/// Kernel copies to and from user space resolve each page through the fault path (demand zero,
/// copy-on-write, page-in) and never fault; every bad range is a status. Checked against what
/// the process itself reads through the MMU model.
/// </summary>
public abstract unsafe class UserCopyTests<TFormat> where TFormat : struct, IPagingFormat
{
    private static byte[] Pattern(int n, int seed)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)(i * 7 + seed);
        return b;
    }

    private static Status To(UserFixture<TFormat> f, AddressSpace<TFormat>* s, ulong va, byte[] data)
    {
        fixed (byte* p = data) return UserCopy.ToUser(ref f.M, s, va, p, (ulong)data.Length, ref f.Arch);
    }

    private static Status From(UserFixture<TFormat> f, AddressSpace<TFormat>* s, ulong va, byte[] into)
    {
        fixed (byte* p = into) return UserCopy.FromUser(ref f.M, s, va, p, (ulong)into.Length, ref f.Arch);
    }

    // The process's own view of one byte, through the MMU model in user mode.
    private static byte UserByte(UserFixture<TFormat> f, ulong va) => (byte)(f.MustRead(va & ~7UL) >> (int)(8 * (va & 7)));

    // Expect: 6000 bytes written from the middle of page 0 into page 2 land there (the process
    // reads them), one demand-zero fault per page touched, and read back equal.
    [Fact]
    public void CopyAcrossPages_RoundTrips_AndIsWhatTheProcessReads()
    {
        using var f = new UserFixture<TFormat>();
        var s = f.NewSpace();
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 3 * 4096, VmaProtection.ReadWrite, out ulong va));
        byte[] data = Pattern(6000, 3);
        Assert.Equal(Status.Ok, To(f, s, va + 3000, data));
        Assert.Equal(3UL, f.M.Counters.Of(FaultKind.DemandZero));
        var back = new byte[6000];
        Assert.Equal(Status.Ok, From(f, s, va + 3000, back));
        Assert.Equal(data, back);
        f.Switch(s);
        for (int i = 0; i < data.Length; i += 97) Assert.Equal(data[i], UserByte(f, va + 3000 + (ulong)i));
        Assert.Equal(0, UserByte(f, va + 2999));
        Assert.Empty(f.Faults); // the copies populated every page: the process takes no fault
        f.Validate("after copies");
    }

    // Expect: each bad range gives its status and changes nothing.
    [Fact]
    public void BadRanges_AreStatuses()
    {
        using var f = new UserFixture<TFormat>();
        var s = f.NewSpace();
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 4096, VmaProtection.Read, out ulong ro));
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 4096, VmaProtection.None, out ulong none));
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 2 * 4096, VmaProtection.ReadWrite, out ulong rw)); // the highest region
        var buf = new byte[16];
        Assert.Equal(Status.OutOfRange, From(f, s, f.KernelPageVa, buf));                 // kernel half
        Assert.Equal(Status.OutOfRange, To(f, s, f.KernelPageVa, buf));
        Assert.Equal(Status.OutOfRange, From(f, s, f.Layout.UserEnd - 8, buf));            // runs past user space
        Assert.Equal(Status.OutOfRange, From(f, s, ulong.MaxValue - 7, buf));              // address + length wraps
        if (!UserFixture<TFormat>.Is32Bit) Assert.Equal(Status.OutOfRange, From(f, s, 0x0000800000000000, buf)); // non-canonical
        Assert.Equal(Status.OutOfRange, From(f, s, f.Layout.UserStart - 4096, buf));        // below user space (the null guard)
        Assert.Equal(Status.NotMapped, From(f, s, f.Layout.UserStart + 0x2000, buf));        // no region
        Assert.Equal(Status.NotMapped, To(f, s, rw + 2 * 4096 - 8, buf));                  // runs off the region's end
        Assert.Equal(Status.AccessDenied, To(f, s, ro, buf));                              // read-only
        Assert.Equal(Status.Ok, From(f, s, ro, buf));
        Assert.Equal(Status.AccessDenied, From(f, s, none, buf));                          // PROT_NONE
        Assert.Equal(Status.Ok, From(f, s, rw, Array.Empty<byte>()));
        f.Validate("after refused copies");
    }

    // Expect: no frame at all (allocator empty, no swap to reclaim into) is OutOfMemory, and the
    // failed copy leaves no page or table behind.
    [Fact]
    public void NoFrame_IsOutOfMemory()
    {
        using var f = new UserFixture<TFormat>(storeSlots: PersistentRegion.SlotsFor(64));
        var s = f.NewSpace();
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 4096, VmaProtection.ReadWrite, out ulong va));
        ulong tables = s->TablePages;
        while (f.M.Frames.Allocate(0, out _) == Status.Ok) { }
        Assert.Equal(Status.OutOfMemory, To(f, s, va, new byte[8]));
        Assert.Equal(0UL, s->ResidentPages);
        Assert.Equal(tables, s->TablePages);
    }

    //   parent: [A A A A]  fork  child: [A A A A] (shared, read-only)
    //   ToUser(child, "B")  -> child's copy; the parent still reads A
    // Expect: a kernel write into a copy-on-write page breaks the sharing exactly as the
    // process's own write would.
    [Fact]
    public void WriteToSharedPage_AfterFork_CopiesIt()
    {
        using var f = new UserFixture<TFormat>();
        var p = f.NewSpace();
        Assert.Equal(Status.Ok, f.M.MapAnonymous(p, 0, 2 * 4096, VmaProtection.ReadWrite, out ulong va));
        byte[] a = Pattern(8192, 1), b = Pattern(100, 9), c = Pattern(100, 77);
        Assert.Equal(Status.Ok, To(f, p, va, a));
        var child = f.Blank();
        Assert.Equal(Status.Ok, f.M.Fork(p, child, ref f.Arch));
        Assert.Equal(Status.Ok, To(f, child, va + 4000, b)); // spans both pages
        Assert.Equal(2UL, f.M.Counters.Of(FaultKind.CopyOnWrite));
        Assert.Equal(Status.Ok, To(f, p, va + 4000, c));     // the parent is now the last mapping of each
        Assert.Equal(2UL, f.M.Counters.Of(FaultKind.CowReuse));

        var seen = new byte[8192];
        Assert.Equal(Status.Ok, From(f, child, va, seen));
        byte[] expectChild = (byte[])a.Clone(); Array.Copy(b, 0, expectChild, 4000, 100);
        Assert.Equal(expectChild, seen);
        Assert.Equal(Status.Ok, From(f, p, va, seen));
        byte[] expectParent = (byte[])a.Clone(); Array.Copy(c, 0, expectParent, 4000, 100);
        Assert.Equal(expectParent, seen);
        f.Switch(child);
        Assert.Equal(b[0], UserByte(f, va + 4000));
        f.Validate("after copy-on-write through UserCopy");
    }

    // Expect: pages written only by the kernel are dirty (the clock writes them to swap instead
    // of dropping them as untouched zero pages) and come back with their bytes.
    [Fact]
    public void KernelWrittenPages_SurvivePagingOut()
    {
        using var f = new UserFixture<TFormat>();
        var s = f.NewSpace();
        const int pages = 8;
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, pages * 4096, VmaProtection.ReadWrite, out ulong va));
        byte[] data = Pattern(pages * 4096, 5);
        Assert.Equal(Status.Ok, To(f, s, va, data));
        f.M.Reclaim(pages, ref f.Arch); // first pass clears Accessed bits
        f.M.Reclaim(pages, ref f.Arch);
        Assert.Equal((ulong)pages, s->SwappedPages);
        Assert.Equal((ulong)pages, f.M.Counters.PagesOut);
        var back = new byte[data.Length];
        Assert.Equal(Status.Ok, From(f, s, va, back));
        Assert.Equal(data, back);
        Assert.Equal((ulong)pages, f.M.Counters.Of(FaultKind.PageIn));
        f.Validate("after page-in through UserCopy");
    }

    // Expect: strings are read up to their NUL (across a page boundary, and right up to an
    // unmapped page, which is never touched); a string without a NUL in the limit is Overflow.
    [Fact]
    public void Strings_StopAtTheirNul_AndRespectTheLimit()
    {
        using var f = new UserFixture<TFormat>();
        var s = f.NewSpace();
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 2 * 4096, VmaProtection.ReadWrite, out ulong va));
        byte[] str = "/bin/hello-world\0"u8.ToArray();
        ulong across = va + 4096 - 5;
        Assert.Equal(Status.Ok, To(f, s, across, str));
        ulong atEnd = va + 2 * 4096 - 4;
        Assert.Equal(Status.Ok, To(f, s, atEnd, "abc\0"u8.ToArray())); // the page after it is unmapped
        var buf = new byte[64];
        fixed (byte* b = buf)
        {
            Assert.Equal(Status.Ok, UserCopy.StringFromUser(ref f.M, s, across, b, 64, ref f.Arch, out ulong n));
            Assert.Equal(16UL, n);
            Assert.Equal(str, buf[..17]);
            Assert.Equal(Status.Ok, UserCopy.StringFromUser(ref f.M, s, atEnd, b, 64, ref f.Arch, out n));
            Assert.Equal(3UL, n);
            Assert.Equal(Status.Overflow, UserCopy.StringFromUser(ref f.M, s, across, b, 16, ref f.Arch, out _));
            Assert.Equal(Status.Ok, UserCopy.StringFromUser(ref f.M, s, across, b, 17, ref f.Arch, out n));
            Assert.Equal(Status.NotMapped, UserCopy.StringFromUser(ref f.M, s, atEnd + 4, b, 64, ref f.Arch, out _));
        }
    }

    // Expect: argv-like arrays are read to their NULL (8- and 4-byte pointers); too many for
    // the caller's room is Overflow; an array running into unmapped memory is NotMapped.
    [Fact]
    public void PointerArrays_ReadToNull()
    {
        using var f = new UserFixture<TFormat>();
        var s = f.NewSpace();
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 4096, VmaProtection.ReadWrite, out ulong va));
        var words = new ulong[] { 0x1111, 0x2222, 0x3333, 0 };
        var bytes = new byte[32];
        Buffer.BlockCopy(words, 0, bytes, 0, 32);
        Assert.Equal(Status.Ok, To(f, s, va + 4096 - 32, bytes));
        var got = new ulong[8];
        fixed (ulong* g = got)
        {
            Assert.Equal(Status.Ok, UserCopy.PointerArrayFromUser(ref f.M, s, va + 4096 - 32, 8, g, 8, ref f.Arch, out ulong n));
            Assert.Equal(3UL, n);
            Assert.Equal(new ulong[] { 0x1111, 0x2222, 0x3333 }, got[..3]);
            Assert.Equal(Status.Overflow, UserCopy.PointerArrayFromUser(ref f.M, s, va + 4096 - 32, 8, g, 2, ref f.Arch, out _));
            Assert.Equal(Status.Ok, UserCopy.PointerArrayFromUser(ref f.M, s, va + 4096 - 32, 4, g, 8, ref f.Arch, out n));
            Assert.Equal(1UL, n); // 0x1111, then the high half of the first word: 0
            Assert.Equal(Status.Ok, UserCopy.PointerArrayFromUser(ref f.M, s, va + 4096 - 24, 8, g, 8, ref f.Arch, out n));
            Assert.Equal(2UL, n); // its NULL is the page's last word
            Assert.Equal(Status.Ok, To(f, s, va + 4096 - 8, new byte[] { 1, 0, 0, 0, 0, 0, 0, 0 })); // no NULL before the page ends
            Assert.Equal(Status.NotMapped, UserCopy.PointerArrayFromUser(ref f.M, s, va + 4096 - 8, 8, g, 8, ref f.Arch, out _));
            Assert.Equal(Status.InvalidArgument, UserCopy.PointerArrayFromUser(ref f.M, s, va, 2, g, 8, ref f.Arch, out _));
        }
    }
}

public sealed class UserCopyTests64 : UserCopyTests<X86LongModeFormat> { }
public sealed class UserCopyTests32 : UserCopyTests<X86LegacyFormat> { }
