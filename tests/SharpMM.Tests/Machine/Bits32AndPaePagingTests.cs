using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using Xunit;
using static SharpMM.Tests.Machine.PagingFixture;

namespace SharpMM.Tests.Machine;

/// <summary>32-bit paging (SDM vol. 3A, 4.3) and PAE paging (4.4).</summary>
public class Bits32AndPaePagingTests
{
    private const PageFaultErrorCode Rsvd = PageFaultErrorCode.ProtectionViolation | PageFaultErrorCode.ReservedBit;

    [Fact]
    public void Bits32_Translates4KiBPage()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.Bits32, t => t.Map4K(0xC040_3000, Frame(7), P | RW));
        Assert.Equal(PagingMode.Bits32, f.Mmu.Mode);
        Assert.Equal((TranslationResult.Ok, Frame(7) + 0xABC), f.T(0xC040_3ABC));
    }

    [Fact]
    public void Bits32_Translates4MiBPageWithPse()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.Bits32, t => t.MapLarge(0x0800_0000, 0x0C00_0000, P | RW), cr4: Cr4Flags.PageSizeExtensions);
        Assert.Equal((TranslationResult.Ok, 0x0C00_0000UL + 0x32_1234), f.T(0x0832_1234));
        Assert.Equal(MiB4, f.Mmu.Walk(0x0832_1234).PageBytes);
    }

    [Fact]
    public void Bits32_Pse36TakesAddressBits39To32FromPdeBits20To13()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.Bits32, t => t.SetEntry(0x0040_0000, 2, 0x0080_0000 | (0x5UL << 13) | P | RW | PS),
            cr4: Cr4Flags.PageSizeExtensions);
        Assert.Equal((TranslationResult.Ok, 0x5_0080_0000UL + 0x1234), f.T(0x0040_1234));
    }

    [Fact]
    public void Bits32_PsIsIgnoredWithoutCr4Pse()
    {
        // PDE.PS = 1 but CR4.PSE = 0: the PDE still references a page table (SDM 4.3).
        using var f = new PagingFixture();
        f.Boot(PagingMode.Bits32, t => t.Map4K(0x0040_2000, Frame(2), P | RW));
        ulong pde = f.EntryAddress(0x0040_2000, 2);
        f.Set(pde, f.Get(pde) | PS);
        Assert.Equal((TranslationResult.Ok, Frame(2) + 4), f.T(0x0040_2004));
    }

    [Theory]
    [InlineData(40, 21)]
    [InlineData(36, 17)]   // PSE-36 with MAXPHYADDR 36: bits 21:17 reserved
    public void Bits32_ReservedBitsOfA4MiBPde(int maxPhys, int reservedBit)
    {
        using var f = new PagingFixture(new MmuOptions { MaxPhysicalAddressBits = maxPhys });
        f.Boot(PagingMode.Bits32, t => t.SetEntry(0, 2, (1UL << reservedBit) | P | RW | US | PS), cr4: Cr4Flags.PageSizeExtensions);
        Assert.Equal(TranslationResult.PageFault, f.T(0x10, AccessKind.Write, Privilege.User).Result);
        Assert.Equal(Rsvd | PageFaultErrorCode.Write | PageFaultErrorCode.User, f.Mmu.LastFault.Error);
    }

    [Fact]
    public void Bits32_FetchFaultHasNoInstructionFetchBit()
    {
        // I/D is reported only with CR4.PAE = 1 and EFER.NXE = 1 (SDM 4.7).
        using var f = new PagingFixture();
        f.Boot(PagingMode.Bits32, _ => { });
        Assert.Equal(TranslationResult.PageFault, f.T(0x1000, AccessKind.Fetch, Privilege.User).Result);
        Assert.Equal(PageFaultErrorCode.User, f.Mmu.LastFault.Error);
    }

    [Fact]
    public void Bits32_AccessedAndDirtyAreSetInFourByteEntries()
    {
        using var f = new PagingFixture();
        ulong pte = 0;
        f.Boot(PagingMode.Bits32, t =>
        {
            pte = t.Map4K(0x3000, Frame(3), P | RW);
            t.Map4K(0x4000, Frame(4), P | RW);
        });
        f.Mmu.Write8(0x3000, 1);
        Assert.Equal(Frame(3) | P | RW | A | D, f.Get(pte));
        Assert.Equal(Frame(4) | P | RW, f.Get(pte + 4));   // the neighbour is untouched
        Assert.Equal(A, f.Get(f.EntryAddress(0x3000, 2)) & (A | D));
    }

    [Fact]
    public void Bits32_AddressAbove4GiBIsGeneralProtection()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.Bits32, _ => { });
        Assert.Equal(TranslationResult.GeneralProtection, f.T(0x1_0000_0000).Result);
    }

    [Fact]
    public void Pae_Translates4KiBAnd2MiBPagesThroughPdpteRegisters()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.Pae, t =>
        {
            t.Map4K(0xC010_2000, Frame(9), P | RW);
            t.MapLarge(0x4020_0000, 0x60_0000, P | RW);
        });
        Assert.Equal(PagingMode.Pae, f.Mmu.Mode);
        Assert.Equal((TranslationResult.Ok, Frame(9) + 0x10), f.T(0xC010_2010));
        Assert.Equal((TranslationResult.Ok, 0x60_0000UL + 0x1_2345), f.T(0x4021_2345));
        Assert.Equal(TranslationResult.PageFault, f.T(0x0000_1000).Result);   // PDPTE 0 not present
        Assert.Equal(3, f.Mmu.Walk(0x1000).Level);
    }

    [Fact]
    public void Pae_ExecuteDisableWithNxe()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.Pae, t => t.Map4K(0x1000, Frame(1), P | RW | US | NX), efer: EferFlags.NoExecuteEnable);
        Assert.Equal(TranslationResult.Ok, f.T(0x1000, AccessKind.Read, Privilege.User).Result);
        Assert.Equal(TranslationResult.PageFault, f.T(0x1000, AccessKind.Fetch).Result);
        Assert.Equal(PageFaultErrorCode.ProtectionViolation | PageFaultErrorCode.InstructionFetch, f.Mmu.LastFault.Error);
        Assert.Equal(TranslationResult.PageFault, f.T(0x1000, AccessKind.Fetch, Privilege.User).Result);
        Assert.Equal((PageFaultErrorCode)0x15, f.Mmu.LastFault.Error);
    }

    [Fact]
    public void Pae_NxBitWithoutNxeIsReserved()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.Pae, t => t.Map4K(0x1000, Frame(1), P | RW | NX));
        Assert.Equal(TranslationResult.PageFault, f.T(0x1000, AccessKind.Fetch).Result);
        Assert.Equal(Rsvd, f.Mmu.LastFault.Error);   // no I/D without NXE
    }

    [Fact]
    public void Pae_BitsAboveMaxPhyAddrAndLargePageLowBitsAreReserved()
    {
        using var f = new PagingFixture(new MmuOptions { MaxPhysicalAddressBits = 36 });
        f.Boot(PagingMode.Pae, t =>
        {
            t.Map4K(0x1000, Frame(1) | (1UL << 36), P | RW);
            t.MapLarge(0x4000_0000, 0x20_0000 | (1UL << 13), P | RW);
            t.Map4K(0x8000_0000, Frame(2) | (1UL << 62), P | RW);   // 62:M reserved with PAE
        });
        foreach (ulong va in new ulong[] { 0x1000, 0x4000_0000, 0x8000_0000 })
        {
            Assert.Equal(TranslationResult.PageFault, f.T(va).Result);
            Assert.Equal(Rsvd, f.Mmu.LastFault.Error);
        }
    }

    [Fact]
    public void Pae_PdpteWithReservedBitMakesCr3LoadRaiseGeneralProtection()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.Pae, t => t.Map4K(0x1000, Frame(1), P | RW));
        ulong oldCr3 = f.Mmu.Cr3;
        ulong other = f.NewTable();
        f.Poke64(other + 8, f.NewTable() | P | RW);   // R/W is reserved in a PAE PDPTE
        var ex = Assert.Throws<MachineFaultException>(() => f.Mmu.WriteCr3(other));
        Assert.Equal(AccessStatus.GeneralProtection, ex.Status);
        Assert.Contains("PDPTE 1", ex.Message);
        Assert.Equal(oldCr3, f.Mmu.Cr3);
        Assert.Equal(TranslationResult.Ok, f.T(0x1000).Result);
    }

    [Fact]
    public void Pae_PdpteChangedInMemoryHasNoEffectUntilCr3Reload()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.Pae, t => t.Map4K(0xC000_0000, Frame(1), P | RW));
        // Add a page directory for [1 GiB, 2 GiB) after CR3 was loaded.
        ulong pdpte1 = f.Root + 8;
        ulong pd = f.NewTable(), pt = f.NewTable();
        f.Poke64(pdpte1, pd | P);
        f.Poke64(pd, pt | P | RW);
        f.Poke64(pt, Frame(2) | P | RW);
        Assert.Equal(TranslationResult.PageFault, f.T(0x4000_0000).Result);
        Assert.Equal(PageFaultErrorCode.None, f.Mmu.LastFault.Error);
        TlbViolation v = Assert.Single(f.Mmu.Tlb.Violations);
        Assert.Equal(StaleKind.PdpteNotReloaded, v.Kind);
        Assert.Equal(pdpte1, v.EntryAddress);

        f.Mmu.Cr3 = f.Mmu.Cr3;
        Assert.Equal((TranslationResult.Ok, Frame(2)), f.T(0x4000_0000));
    }
}
