using SharpMM.Addressing;
using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.User;
using Xunit;

namespace SharpMM.Tests.User;

/// <summary>
/// Address spaces on the MMU model: the shared kernel half, exec's layout, brk, map, unmap and
/// protect as the hardware sees them, and destroy giving back every frame and table page.
/// Run for the classic i386 higher half's 32-bit layout and for x86-64.
/// </summary>
public abstract unsafe class AddressSpaceTests<TFormat> where TFormat : struct, IPagingFormat
{
    private static UserFixture<TFormat> New(ulong ram = 16UL << 20) => new(ram);

    // Expect: the kernel page is reachable from a user space in supervisor mode only; a user
    // access to it is a KernelAddress fault result, not a panic.
    [Fact]
    public void KernelHalf_IsShared_AndSupervisorOnly()
    {
        using var f = New();
        var s = f.NewSpace();
        f.Switch(s);
        Assert.Equal(TranslationResult.Ok, f.Mmu.Translate(f.KernelPageVa, AccessKind.Write, Privilege.Supervisor, out ulong pa));
        Assert.Equal(f.KernelPagePhys, pa);
        Assert.Equal(AccessStatus.PageFault, f.Read(f.KernelPageVa, out _));
        Assert.Equal(FaultKind.KernelAddress, f.LastFault);
    }

    // Expect: a kernel mapping under a top-level entry made after the space was created is not
    // seen until SyncKernelHalf copies the kernel's entries again; then it is.
    [Fact]
    public void SyncKernelHalf_BringsLaterKernelEntries()
    {
        using var f = New();
        var s = f.NewSpace();
        var dm = new DirectMap((ulong)f.Ram.Base);
        var kernel = new Mapper<TFormat, DirectMapTableAccess>(f.KernelRoot, new DirectMapTableAccess(dm));
        var frames = new SharpMM.Hosted.User.BuddyFrames(f.Buddy.Buddy, f.Ram.Base);
        ulong va = UserFixture<TFormat>.Is32Bit ? 0xD0000000UL : 0xFFFF900000000000UL;
        Assert.Equal(Status.Ok, frames.Allocate(0, out Pfn page));
        Assert.Equal(Status.Ok, kernel.Map(VirtAddr.NewTruncate(va), page.ToAddr(), MappingSize.Size4KiB, PageFlags.Writable, ref frames, out _));
        f.Switch(s);
        Assert.Equal(TranslationResult.PageFault, f.Mmu.Translate(va, AccessKind.Read, Privilege.Supervisor, out _));
        s->SyncKernelHalf(f.KernelRoot);
        f.Arch.WriteCr3(s->RootPhys);
        Assert.Equal(TranslationResult.Ok, f.Mmu.Translate(va, AccessKind.Read, Privilege.Supervisor, out ulong pa));
        Assert.Equal(page.Value << 12, pa);
    }

    // Expect (32-bit): directory entry 1023 of a user space points at the space's own directory,
    // so the self-map shows its tables, not the kernel's.
    [Fact]
    public void RecursiveSlot_PointsAtTheSpacesOwnDirectory()
    {
        if (!UserFixture<TFormat>.Is32Bit) return;
        using var f = New();
        var s = f.NewSpace();
        f.Switch(s);
        Assert.Equal(TranslationResult.Ok, f.Mmu.Translate(0xFFFFF000, AccessKind.Read, Privilege.Supervisor, out ulong pa));
        Assert.Equal(s->RootPhys, pa);
        Assert.Equal(TranslationResult.PageFault, f.Mmu.Translate(0xFFFFF000, AccessKind.Read, Privilege.User, out _));
    }

    //   text r-x | data rw- | brk heap ->        ...        <- stack rw- (one page, may grow 8 MiB)
    // Expect: text readable not writable, data writable, the stack's top page writable, the
    // first access to each zero.
    [Fact]
    public void Exec_LaysOutTextDataBrkAndStack()
    {
        using var f = New();
        var s = f.NewSpace();
        f.Switch(s);
        Assert.Equal(Status.Ok, f.M.Exec(s, 3 * 4096, 2 * 4096, ref f.Arch));
        UserLayout l = f.Layout;
        Assert.Equal(0UL, f.MustRead(l.TextBase));
        Assert.Equal(AccessStatus.PageFault, f.Write(l.TextBase + 8, 1));
        Assert.Equal(FaultKind.AccessViolation, f.LastFault);
        f.MustWrite(l.TextBase + 3 * 4096, 42);
        Assert.Equal(42UL, f.MustRead(l.TextBase + 3 * 4096));
        Assert.Equal(l.TextBase + 5 * 4096, s->BrkStart);
        f.MustWrite(l.StackTop - 8, 7);
        Assert.Equal(3, s->Regions.Count);
        f.Validate();
    }

    // Expect: brk grows into demand-zero pages and shrinking releases them (frames come back).
    [Fact]
    public void Brk_GrowsAndShrinks()
    {
        using var f = New();
        var s = f.NewSpace();
        f.Switch(s);
        Assert.Equal(Status.Ok, f.M.Exec(s, 4096, 4096, ref f.Arch));
        ulong start = s->BrkStart;
        ulong free0 = f.FreeFrames;
        Assert.Equal(Status.Ok, f.M.SetBrk(s, start + 10 * 4096 + 100, ref f.Arch, out ulong brk));
        Assert.Equal(start + 10 * 4096 + 100, brk);
        for (ulong p = start; p < brk; p += 4096) f.MustWrite(p, p);
        Assert.Equal(AccessStatus.PageFault, f.Write(start + 11 * 4096, 1)); // past the break
        Assert.Equal(FaultKind.NoRegion, f.LastFault);
        Assert.Equal(Status.Ok, f.M.SetBrk(s, start + 4096, ref f.Arch, out brk));
        Assert.Equal(start, f.MustRead(start));
        Assert.Equal(AccessStatus.PageFault, f.Read(start + 4096, out _));
        Assert.Equal(Status.InvalidArgument, f.M.SetBrk(s, start - 4096, ref f.Arch, out _));
        Assert.Equal(Status.Ok, f.M.SetBrk(s, start, ref f.Arch, out _));
        Assert.True(f.FreeFrames >= free0 - 1, "one table page at most stays");
        f.Validate();
    }

    //   [  a  ][  b  ][  c  ]  unmap b -> [ a ]       [ c ]   protect c read-only
    // Expect: b faults NoRegion after unmap (the TLB was flushed), c's write faults AccessViolation.
    [Fact]
    public void Unmap_And_Protect_AreSeenByTheHardware()
    {
        using var f = New();
        var s = f.NewSpace();
        f.Switch(s);
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 3 * 4096, VmaProtection.ReadWrite, out ulong va));
        Assert.Equal(f.Layout.MmapBase, va);
        for (int i = 0; i < 3; i++) f.MustWrite(va + (ulong)i * 4096, (ulong)i + 1);
        Assert.Equal(1, s->Regions.Count);
        Assert.Equal(Status.Ok, f.M.Unmap(s, va + 4096, 4096, ref f.Arch));
        Assert.Equal(2, s->Regions.Count);
        Assert.Equal(AccessStatus.PageFault, f.Read(va + 4096, out _));
        Assert.Equal(FaultKind.NoRegion, f.LastFault);
        Assert.Equal(Status.Ok, f.M.Protect(s, va + 2 * 4096, 4096, VmaProtection.Read, ref f.Arch));
        Assert.Equal(3UL, f.MustRead(va + 2 * 4096));
        Assert.Equal(AccessStatus.PageFault, f.Write(va + 2 * 4096, 9));
        Assert.Equal(FaultKind.AccessViolation, f.LastFault);
        Assert.Equal(Status.Ok, f.M.Protect(s, va + 2 * 4096, 4096, VmaProtection.ReadWrite, ref f.Arch));
        f.MustWrite(va + 2 * 4096, 9);
        Assert.Equal(Status.NotMapped, f.M.Protect(s, va, 3 * 4096, VmaProtection.Read, ref f.Arch)); // hole in the middle
        Assert.Equal(Status.Ok, f.M.Protect(s, va, 4096, VmaProtection.None, ref f.Arch));
        Assert.Equal(AccessStatus.PageFault, f.Read(va, out _));
        Assert.Equal(FaultKind.AccessViolation, f.LastFault);
        Assert.Equal(Status.Overlap, f.M.MapAnonymous(s, va, 4096, VmaProtection.Read, out _));
        f.Validate();
    }

    // Expect: fetch from a non-executable region is refused on x86-64 (by the region check
    // when the page is absent, by the entry's XD bit once present); 32-bit paging cannot.
    [Fact]
    public void Fetch_FromData_IsAnAccessViolation()
    {
        using var f = New();
        var s = f.NewSpace();
        f.Switch(s);
        Assert.Equal(Status.Ok, f.M.Exec(s, 4096, 4096, ref f.Arch));
        Assert.Equal(AccessStatus.Ok, f.Fetch(f.Layout.TextBase));
        if (UserFixture<TFormat>.Is32Bit)
        {
            // 32-bit paging has no NX and reports a fetch fault as a read: data is executable.
            Assert.Equal(AccessStatus.Ok, f.Fetch(f.Layout.TextBase + 4096));
            return;
        }
        Assert.Equal(AccessStatus.PageFault, f.Fetch(f.Layout.TextBase + 4096));
        Assert.Equal(FaultKind.AccessViolation, f.LastFault);
        f.MustWrite(f.Layout.TextBase + 4096, 1);
        Assert.Equal(AccessStatus.PageFault, f.Fetch(f.Layout.TextBase + 4096));
        Assert.Equal(FaultKind.AccessViolation, f.LastFault);
    }

    // Expect: a device mapping reaches the given frames, uncached, and unmapping or destroying
    // never frees them.
    [Fact]
    public void MapDevice_MapsTheCallersFrames()
    {
        using var f = New();
        var s = f.NewSpace();
        f.Switch(s);
        ulong phys = 0x80000; // below the buddy's frames: not the allocator's
        *(ulong*)(f.Ram.Base + phys + 16) = 0xDE71CE;
        ulong va = f.Layout.MmapBase + 0x100000;
        Assert.Equal(Status.Ok, f.M.MapDevice(s, va, phys, 2 * 4096, VmaProtection.ReadWrite, ref f.Arch));
        Assert.Equal(0xDE71CEUL, f.MustRead(va + 16));
        var m = new Mapper<TFormat, DirectMapTableAccess>(s->RootPhys, new DirectMapTableAccess(new DirectMap((ulong)f.Ram.Base)));
        Assert.Equal(Status.Ok, m.Translate(VirtAddr.NewTruncate(va), out Translation t));
        Assert.True((t.Flags & PageFlags.CacheDisable) != 0);
        f.Validate();
        f.Switch(null);
        ulong free = f.FreeFrames;
        Assert.Equal(Status.Ok, f.M.Destroy(s, ref f.Arch));
        Assert.Equal(0xDE71CEUL, *(ulong*)(f.Ram.Base + phys + 16));
        Assert.True(f.FreeFrames > free);
    }

    // A device range the format's entries cannot hold (x86-64/PAE: 2^52, 32-bit: 4 GiB), wholly
    // above the limit or crossing it. Expect: InvalidArgument, no region registered, no page
    // mapped, the tables untouched (no frame taken).
    [Fact]
    public void MapDevice_BeyondTheFormatsPhysicalLimit_IsRefused_NothingChanged()
    {
        using var f = New();
        var s = f.NewSpace();
        ulong limit = TFormat.LeafPhysLimit(0);
        ulong va = f.Layout.MmapBase + 0x100000;
        ulong free = f.FreeFrames;
        Assert.Equal(Status.InvalidArgument, f.M.MapDevice(s, va, limit, 4096, VmaProtection.ReadWrite, ref f.Arch));
        Assert.Equal(Status.InvalidArgument, f.M.MapDevice(s, va, limit - 4096, 2 * 4096, VmaProtection.ReadWrite, ref f.Arch));
        Assert.Equal(Status.InvalidArgument, f.M.MapDevice(s, va, limit - 4096, ulong.MaxValue - 4095, VmaProtection.ReadWrite, ref f.Arch));
        Assert.False(s->Regions.Overlaps(va, va + 2 * 4096));
        var m = new Mapper<TFormat, DirectMapTableAccess>(s->RootPhys, new DirectMapTableAccess(new DirectMap((ulong)f.Ram.Base)));
        Assert.NotEqual(Status.Ok, m.Translate(VirtAddr.NewTruncate(va), out _));
        Assert.Equal(free, f.FreeFrames);
        // The last page below the limit is accepted.
        Assert.Equal(Status.Ok, f.M.MapDevice(s, va, limit - 4096, 4096, VmaProtection.ReadWrite, ref f.Arch));
        Assert.Equal(Status.Ok, m.Translate(VirtAddr.NewTruncate(va), out Translation t));
        Assert.Equal(limit - 4096, t.PageBase.Value);
        f.Validate();
    }

    // A 64 KiB read-write region with 3 pages written and 2 read, a 16 KiB read-only one never
    // touched. Expect: pmap -x lines (Kbytes, RSS, Dirty, Mode, Mapping) and totals to match.
    [Fact]
    public void ProcessMap_ListsRegionsLikePmap()
    {
        using var f = New();
        var s = f.NewSpace();
        f.Switch(s);
        ulong va = f.Layout.MmapBase + 0x100000;
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, va, 64 << 10, VmaProtection.ReadWrite, out _));
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, va + (1 << 20), 16 << 10, VmaProtection.Read, out _));
        for (ulong i = 0; i < 3; i++) f.MustWrite(va + i * 4096, i + 1);
        for (ulong i = 3; i < 5; i++) f.MustRead(va + i * 4096);
        var w = SharpMM.Hosted.StringSink.NewWriter();
        ProcessMap.Write(ref w, in *s);
        string[] lines = w.Sink.Text.ToString().Split('\n');
        int digits = UserFixture<TFormat>.Is32Bit ? 8 : 16;
        string Addr(ulong a) => a.ToString(UserFixture<TFormat>.Is32Bit ? "x8" : "x16");
        Assert.Equal("Address" + new string(' ', digits - 7) + "   Kbytes     RSS   Dirty Mode  Mapping", lines[0]);
        Assert.Equal($"{Addr(va)}       64      20      12 rw--- [ anon ]", lines[1]);
        Assert.Equal($"{Addr(va + (1 << 20))}       16       0       0 r---- [ anon ]", lines[2]);
        Assert.Equal(new string('-', digits) + " ------- ------- -------", lines[3]);
        Assert.Equal("total kB" + new string(' ', digits - 8) + "       80      20      12", lines[4]);
    }

    // Expect: after touching pages in several regions (tables at several levels), destroy gives
    // back every frame and every table page: the allocator's free count is what it was before
    // the space existed. Destroying the active space is refused.
    [Fact]
    public void Destroy_ReturnsEveryFrameAndTablePage()
    {
        using var f = New();
        ulong free0 = f.FreeFrames;
        var s = f.NewSpace();
        f.Switch(s);
        Assert.Equal(Status.Ok, f.M.Exec(s, 8 * 4096, 4 * 4096, ref f.Arch));
        for (ulong p = 0; p < 12 * 4096; p += 4096) f.Read(f.Layout.TextBase + p, out _);
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 64 * 4096, VmaProtection.ReadWrite, out ulong a));
        for (ulong p = 0; p < 64 * 4096; p += 3 * 4096) f.MustWrite(a + p, p);
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, f.Layout.MmapBase + (1UL << 30), 4096, VmaProtection.ReadWrite, out ulong b));
        f.MustWrite(b, 1);
        for (ulong p = 0; p < 20 * 4096; p += 4096) f.MustWrite(f.Layout.StackTop - 8 - p, p);
        Assert.True(s->TablePages > 2);
        Assert.True(f.FreeFrames < free0 - 40);
        Assert.Equal(Status.InvalidArgument, f.M.Destroy(s, ref f.Arch));
        f.Switch(null);
        Assert.Equal(Status.Ok, f.M.Destroy(s, ref f.Arch));
        Assert.Equal(free0, f.FreeFrames);
        Assert.Equal(0UL, f.M.UserFrames);
        Assert.Equal(0, f.M.SpaceCount);
        Assert.False(s->IsLive);
    }

    // Expect: exec on a populated space releases everything it had and starts over.
    [Fact]
    public void Exec_ReleasesTheOldImage()
    {
        using var f = New();
        var s = f.NewSpace();
        ulong free0 = f.FreeFrames;
        f.Switch(s);
        Assert.Equal(Status.Ok, f.M.Exec(s, 4096, 4096, ref f.Arch));
        f.MustWrite(f.Layout.TextBase + 4096, 5);
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 16 * 4096, VmaProtection.ReadWrite, out ulong a));
        for (ulong p = 0; p < 16 * 4096; p += 4096) f.MustWrite(a + p, 1);
        Assert.Equal(Status.Ok, f.M.Exec(s, 4096, 4096, ref f.Arch));
        Assert.Equal(0UL, f.MustRead(f.Layout.TextBase + 4096)); // fresh, zero
        Assert.Equal(AccessStatus.PageFault, f.Read(a, out _));
        Assert.Equal(FaultKind.NoRegion, f.LastFault);
        Assert.True(f.FreeFrames >= free0 - 4);
        f.Validate();
    }
}

public sealed class AddressSpaceTests64 : AddressSpaceTests<X86LongModeFormat> { }
public sealed class AddressSpaceTests32 : AddressSpaceTests<X86LegacyFormat> { }
