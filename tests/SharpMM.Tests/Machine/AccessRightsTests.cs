using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using Xunit;
using static SharpMM.Tests.Machine.PagingFixture;

namespace SharpMM.Tests.Machine;

/// <summary>
/// Access rights (SDM vol. 3A, 4.6) and the page-fault error code (4.7) under 4-level paging.
/// Error code bits: P = 1 (protection, else not present), W/R = 2, U/S = 4, RSVD = 8, I/D = 0x10.
/// </summary>
public class AccessRightsTests
{
    private const ulong Va = 0x0000_1234_5678_9000;

    /// <summary>
    /// One page at <see cref="Va"/>; <paramref name="pte"/> are its PTE flags and
    /// <paramref name="tables"/> the flags of the PML4E, PDPTE and PDE above it.
    /// Expect: <paramref name="expected"/> = -1 for success, else that error code.
    /// </summary>
    [Theory]
    // reads
    [InlineData(P, P | RW | US, AccessKind.Read, Privilege.Supervisor, true, false, -1)]
    [InlineData(P, P | RW | US, AccessKind.Read, Privilege.User, true, false, 0x5)]            // PTE supervisor-only
    [InlineData(P | US, P | RW, AccessKind.Read, Privilege.User, true, false, 0x5)]            // U/S = 0 above the PTE is enough
    [InlineData(P | US, P | RW | US, AccessKind.Read, Privilege.User, true, false, -1)]
    // writes
    [InlineData(P | US, P | RW | US, AccessKind.Write, Privilege.User, true, false, 0x7)]      // user write, read-only
    [InlineData(P | US, P | RW | US, AccessKind.Write, Privilege.User, false, false, 0x7)]     // WP does not matter for user
    [InlineData(P, P | RW | US, AccessKind.Write, Privilege.Supervisor, true, false, 0x3)]     // WP = 1: supervisor honours R/W
    [InlineData(P, P | RW | US, AccessKind.Write, Privilege.Supervisor, false, false, -1)]     // WP = 0: supervisor writes anyway
    [InlineData(P | RW, P | US, AccessKind.Write, Privilege.Supervisor, true, false, 0x3)]     // R/W = 0 in a PDE is enough
    [InlineData(P | RW | US, P | RW | US, AccessKind.Write, Privilege.User, true, false, -1)]
    // fetches (EFER.NXE = 1)
    [InlineData(P | NX, P | RW | US, AccessKind.Fetch, Privilege.Supervisor, true, true, 0x11)]
    [InlineData(P | US | NX, P | RW | US, AccessKind.Fetch, Privilege.User, true, true, 0x15)]
    [InlineData(P | US, P | RW | US | NX, AccessKind.Fetch, Privilege.User, true, true, 0x15)] // XD in a table entry
    [InlineData(P | US, P | RW | US, AccessKind.Fetch, Privilege.User, true, true, -1)]
    [InlineData(P, P | RW | US, AccessKind.Fetch, Privilege.User, true, true, 0x15)]          // user fetch, supervisor page
    // XD without NXE is a reserved bit, and I/D stays 0
    [InlineData(P | NX, P | RW | US, AccessKind.Fetch, Privilege.Supervisor, true, false, 0x9)]
    [InlineData(P | NX, P | RW | US, AccessKind.Read, Privilege.User, true, false, 0xD)]
    // not present
    [InlineData(RW | US, P | RW | US, AccessKind.Write, Privilege.User, true, false, 0x6)]
    [InlineData(US, P | RW | US, AccessKind.Fetch, Privilege.User, true, true, 0x14)]
    [InlineData(US, P | RW | US, AccessKind.Fetch, Privilege.Supervisor, true, false, 0x0)]
    public void RightsAndErrorCode(ulong pte, ulong tables, AccessKind access, Privilege privilege, bool wp, bool nxe, int expected)
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.Map4K(Va, Frame(1), pte, tables),
            cr0: wp ? Cr0Flags.WriteProtect : Cr0Flags.None,
            efer: nxe ? EferFlags.NoExecuteEnable : EferFlags.None);
        (TranslationResult r, ulong pa) = f.T(Va + 0x10, access, privilege);
        if (expected < 0)
        {
            Assert.Equal(TranslationResult.Ok, r);
            Assert.Equal(Frame(1) + 0x10, pa);
            return;
        }
        Assert.Equal(TranslationResult.PageFault, r);
        Assert.Equal((PageFaultErrorCode)expected, f.Mmu.LastFault.Error);
        Assert.Equal(Va + 0x10, f.Mmu.Cr2);
    }

    [Fact]
    public void SupervisorWriteToReadOnlyPageWithWpClearSetsDirty()
    {
        using var f = new PagingFixture();
        ulong pte = 0;
        f.Boot(PagingMode.FourLevel, t => pte = t.Map4K(Va, Frame(1), P), cr0: Cr0Flags.None);
        f.Mmu.Write64(Va, 42);
        Assert.Equal(D | A, f.Get(pte) & (A | D));
        Assert.Equal(42UL, f.Peek64(Frame(1)));
    }

    [Fact]
    public void SettingWpLaterAppliesToCachedTranslations()
    {
        // The TLB caches R/W, not the decision: CR0.WP is applied at each access.
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.Map4K(Va, Frame(1), P), cr0: Cr0Flags.None);
        Assert.Equal(TranslationResult.Ok, f.T(Va, AccessKind.Write).Result);
        f.Mmu.Cr0 |= Cr0Flags.WriteProtect;
        Assert.Equal(TranslationResult.PageFault, f.T(Va, AccessKind.Write).Result);
        Assert.Equal((PageFaultErrorCode)0x3, f.Mmu.LastFault.Error);
    }

    [Fact]
    public void WalkReportsCombinedRights()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.Map4K(Va, Frame(1), P | RW | US | G, P | US | RW), cr4: Cr4Flags.PageGlobalEnable,
            efer: EferFlags.NoExecuteEnable);
        ulong pde = f.EntryAddress(Va, 2);
        f.Set(pde, f.Get(pde) & ~RW | NX);
        TableWalk w = f.Mmu.Walk(Va);
        Assert.Equal(WalkStatus.Mapped, w.Status);
        Assert.False(w.Writable);
        Assert.True(w.User);
        Assert.False(w.Executable);
        Assert.True(w.Global);
        Assert.Equal(1, w.Level);
        Assert.Equal(f.EntryAddress(Va, 1), w.EntryAddress);
    }
}
