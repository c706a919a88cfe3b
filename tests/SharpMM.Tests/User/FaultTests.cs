using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.User;
using Xunit;

namespace SharpMM.Tests.User;

/// <summary>
/// Every fault kind, through the MMU model (the hardware delivers the fault, the library's
/// handler answers) or, for the kinds hardware cannot provoke at will, by calling the handler.
/// Frames are poisoned when allocated and freed, so a page handed out without zeroing shows.
/// </summary>
public abstract unsafe class FaultTests<TFormat> where TFormat : struct, IPagingFormat
{
    private static (UserFixture<TFormat> f, nint s) Running()
    {
        var f = new UserFixture<TFormat>();
        var s = f.NewSpace();
        f.Switch(s);
        return (f, (nint)s);
    }

    // Expect: DemandZero, and the page reads zero although the frame was poisoned (and was
    // used before by another space: no page reaches a process with old data).
    [Fact]
    public void DemandZero_GivesZeroedPages_EvenReusedFrames()
    {
        var (f, sp) = Running();
        using var owner = f;
        var a = (AddressSpace<TFormat>*)sp;
        Assert.Equal(Status.Ok, f.M.MapAnonymous(a, 0, 32 * 4096, VmaProtection.ReadWrite, out ulong va));
        for (ulong p = 0; p < 32 * 4096; p += 4096) f.MustWrite(va + p, 0x5EC2E7);
        f.Switch(null);
        Assert.Equal(Status.Ok, f.M.Destroy(a, ref f.Arch));
        var b = f.NewSpace();
        f.Switch(b);
        Assert.Equal(Status.Ok, f.M.MapAnonymous(b, 0, 32 * 4096, VmaProtection.ReadWrite, out va));
        for (ulong p = 0; p < 32 * 4096; p += 8)
            Assert.True(f.MustRead(va + p) == 0, $"old data at 0x{va + p:x}");
        Assert.Equal(64, f.Count(FaultKind.DemandZero));
    }

    // Expect: a read fault maps the page read-only while the region has never been written (as
    // Linux's zero page: the first write faults and gives the region its owner of private
    // pages); once it has one, a read fault maps a page writable; one fault per page after that.
    [Fact]
    public void DemandZero_OneFaultPerPage()
    {
        var (f, sp) = Running();
        using var owner = f;
        var s = (AddressSpace<TFormat>*)sp;
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 4 * 4096, VmaProtection.ReadWrite, out ulong va));
        f.MustRead(va);
        Assert.Equal(0UL, s->Regions[s->Regions.Find(va)].Identity);
        f.MustWrite(va, 1);
        f.MustWrite(va + 8, 2);
        Assert.Equal(2, f.Faults.Count);
        Assert.Equal(FaultKind.DemandZero, f.Faults[0].Kind);
        Assert.Equal(FaultKind.CowReuse, f.Faults[1].Kind);
        Assert.NotEqual(0UL, s->Regions[s->Regions.Find(va)].Identity);
        f.MustRead(va + 4096);
        f.MustWrite(va + 4096, 3);
        Assert.Equal(3, f.Faults.Count);
        Assert.Equal(FaultKind.DemandZero, f.LastFault);
        Assert.Equal(2UL, s->ResidentPages);
    }

    //   stack top -> [ page ]           (one page at exec)
    //                [ grows ... ]      down to top - 8 MiB (its limit)
    //   limit - gap  [ guard gap ]      below the limit: StackOverflow; far below: NoRegion
    // Expect: touching pages below the stack grows it (StackGrowth), 8 MiB down at most.
    [Fact]
    public void Stack_GrowsToItsLimit_ThenOverflows()
    {
        var (f, sp) = Running();
        using var owner = f;
        var s = (AddressSpace<TFormat>*)sp;
        Assert.Equal(Status.Ok, f.M.Exec(s, 4096, 4096, ref f.Arch));
        UserLayout l = f.Layout;
        f.MustWrite(l.StackTop - 8, 1);
        f.MustWrite(l.StackTop - 3 * 4096, 2); // skips a page: fine, the region covers it now
        Assert.Equal(FaultKind.StackGrowth, f.LastFault);
        int stack = s->Regions.FirstEndingAfter(l.StackTop - 1);
        Assert.Equal(l.StackTop - 3 * 4096, s->Regions[stack].Start);
        f.MustWrite(l.StackLimit, 3); // the last page it may have
        Assert.Equal(FaultKind.StackGrowth, f.LastFault);
        Assert.Equal(AccessStatus.PageFault, f.Write(l.StackLimit - 8, 4));
        Assert.Equal(FaultKind.StackOverflow, f.LastFault);
        Assert.Equal(AccessStatus.PageFault, f.Write(l.StackLimit - l.GuardGapBytes - 4096, 4));
        Assert.Equal(FaultKind.NoRegion, f.LastFault);
        Assert.Equal(l.StackLimit, s->Regions[stack].Start);
        f.Validate();
    }

    //   [ mmap region ][ gap: 256 pages ][ stack (v) ]
    // Expect: the stack does not grow into the guard gap above a region mapped below it.
    [Fact]
    public void Stack_StopsAtTheGuardGap()
    {
        var (f, sp) = Running();
        using var owner = f;
        var s = (AddressSpace<TFormat>*)sp;
        UserLayout l = f.Layout;
        ulong top = l.MmapBase + (64UL << 20);
        Assert.Equal(Status.Ok, f.M.MapStack(s, top, 1UL << 20, VmaProtection.ReadWrite));
        ulong below = top - (1UL << 20) - l.GuardGapBytes + 8 * 4096; // ends inside the stack's reach
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, below - 4096, 4096, VmaProtection.ReadWrite, out _));
        f.MustWrite(below + l.GuardGapBytes, 1);          // exactly a gap above the region: allowed
        Assert.Equal(FaultKind.StackGrowth, f.LastFault);
        Assert.Equal(AccessStatus.PageFault, f.Write(below + l.GuardGapBytes - 4096, 1));
        Assert.Equal(FaultKind.StackOverflow, f.LastFault);
    }

    // Expect: an address in no region is NoRegion; page 0 too; nothing is mapped by the fault.
    [Fact]
    public void NoRegion_IsAResult()
    {
        var (f, sp) = Running();
        using var owner = f;
        var s = (AddressSpace<TFormat>*)sp;
        Assert.Equal(AccessStatus.PageFault, f.Read(0, out _));
        Assert.Equal(FaultKind.NoRegion, f.LastFault);
        Assert.Equal(AccessStatus.PageFault, f.Write(f.Layout.MmapBase + 0x12345678, 1));
        Assert.Equal(FaultKind.NoRegion, f.LastFault);
        Assert.Equal(0UL, s->ResidentPages);
        Assert.Equal(1UL, s->TablePages); // tables a failed fault made are gone again
        Assert.True(f.Faults[^1].IsSegmentationFault);
    }

    // Expect: read-only, PROT_NONE and execute checks give AccessViolation; the kernel half
    // gives KernelAddress.
    [Fact]
    public void Violations_AreResults()
    {
        var (f, sp) = Running();
        using var owner = f;
        var s = (AddressSpace<TFormat>*)sp;
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 4096, VmaProtection.Read, out ulong ro));
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 4096, VmaProtection.None, out ulong none));
        Assert.Equal(AccessStatus.PageFault, f.Write(ro, 1));
        Assert.Equal(FaultKind.AccessViolation, f.LastFault);
        Assert.Equal(0UL, f.MustRead(ro));
        Assert.Equal(AccessStatus.PageFault, f.Write(ro, 1)); // now present: a protection fault
        Assert.Equal(FaultKind.AccessViolation, f.LastFault);
        Assert.Equal(AccessStatus.PageFault, f.Read(none, out _));
        Assert.Equal(FaultKind.AccessViolation, f.LastFault);
        Assert.Equal(AccessStatus.PageFault, f.Read(f.KernelPageVa, out _));
        Assert.Equal(FaultKind.KernelAddress, f.LastFault);
    }

    // Expect: with every frame gone and no store, a fault is OutOfMemory (a result); it leaves
    // nothing mapped, and the next fault after frames come back succeeds.
    [Fact]
    public void OutOfMemory_IsAResult()
    {
        var (f, sp) = Running();
        using var owner = f;
        var s = (AddressSpace<TFormat>*)sp;
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 4096, VmaProtection.ReadWrite, out ulong va));
        f.M.ResidentLimit = 0;
        Assert.Equal(AccessStatus.PageFault, f.Write(va, 1));
        Assert.Equal(FaultKind.OutOfMemory, f.LastFault);
        Assert.Equal(0UL, s->ResidentPages);
        f.M.ResidentLimit = ulong.MaxValue;
        f.MustWrite(va, 1);
    }

    // Expect: a page that left RAM comes back with its content (PageIn); a failing store read is
    // StoreError and leaves the swap entry in place.
    [Fact]
    public void PageIn_And_StoreError()
    {
        var (f, sp) = Running();
        using var owner = f;
        var s = (AddressSpace<TFormat>*)sp;
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 8 * 4096, VmaProtection.ReadWrite, out ulong va));
        for (ulong p = 0; p < 8; p++) f.MustWrite(va + p * 4096, 100 + p);
        Assert.Equal(8UL, f.M.Reclaim(8, ref f.Arch) + f.M.Reclaim(8, ref f.Arch)); // A bits first, then out
        Assert.Equal(8UL, s->SwappedPages);
        f.Control->FailReads = true;
        Assert.Equal(AccessStatus.PageFault, f.Read(va, out _));
        Assert.Equal(FaultKind.StoreError, f.LastFault);
        f.Control->FailReads = false;
        for (ulong p = 0; p < 8; p++) Assert.Equal(100 + p, f.MustRead(va + p * 4096));
        Assert.Equal(FaultKind.PageIn, f.LastFault);
        Assert.Equal(8, f.Count(FaultKind.PageIn));
        f.Validate();
    }

    // Expect: a fault on a page whose entry already allows the access (a stale TLB entry on
    // hardware) is Spurious and changes nothing.
    [Fact]
    public void Spurious_WhenTheEntryAllows()
    {
        var (f, sp) = Running();
        using var owner = f;
        var s = (AddressSpace<TFormat>*)sp;
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 4096, VmaProtection.ReadWrite, out ulong va));
        f.MustWrite(va, 1);
        ulong e = s->Entry(va);
        var r = f.M.HandleFault(s, new PageFault(va, PageFaultErrorCode.ProtectionViolation | PageFaultErrorCode.Write | PageFaultErrorCode.User), ref f.Arch);
        Assert.Equal(FaultKind.Spurious, r.Kind);
        Assert.Equal(e, s->Entry(va));
        Assert.Equal(1UL, f.M.Counters.Of(FaultKind.Spurious));
    }
}

public sealed class FaultTests64 : FaultTests<X86LongModeFormat> { }
public sealed class FaultTests32 : FaultTests<X86LegacyFormat> { }
