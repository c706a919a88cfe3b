using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using Xunit;
using static SharpMM.Tests.Machine.PagingFixture;

namespace SharpMM.Tests.Machine;

/// <summary>4-level paging (SDM vol. 3A, 4.5): translations for each page size, reserved bits,
/// canonical addresses, tables outside RAM.</summary>
public class FourLevelPagingTests
{
    private const PageFaultErrorCode Rsvd = PageFaultErrorCode.ProtectionViolation | PageFaultErrorCode.ReservedBit;

    [Fact]
    public void Translates4KiB2MiBAnd1GiBPages()
    {
        //   0x0000_0040_0020_3000  4 KiB -> Frame(3)
        //   0x0000_0000_4060_0000  2 MiB -> 0x0200_0000 (PDE.PS)
        //   0x0000_0080_0000_0000  1 GiB -> 0x4000_0000 (PDPTE.PS)
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t =>
        {
            t.Map4K(0x40_0020_3000, Frame(3), P | RW);
            t.MapLarge(0x4060_0000, 0x200_0000, P | RW);
            t.Map1G(0x80_0000_0000, 0x4000_0000, P | RW);
        });
        Assert.Equal((TranslationResult.Ok, Frame(3) + 0x123), f.T(0x40_0020_3123));
        Assert.Equal((TranslationResult.Ok, 0x200_0000UL + 0x1_2345), f.T(0x4061_2345));
        Assert.Equal((TranslationResult.Ok, 0x4000_0000UL + 0x3456_789A), f.T(0x80_3456_789A));

        TableWalk w = f.Mmu.Walk(0x80_3456_789A);
        Assert.Equal(WalkStatus.Mapped, w.Status);
        Assert.Equal(GiB1, w.PageBytes);
        Assert.Equal(3, w.Level);
        Assert.Equal(MiB2, f.Mmu.Walk(0x4060_0000).PageBytes);
    }

    [Fact]
    public void HigherHalfCanonicalAddressTranslates()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.Map4K(0xFFFF_8000_0000_1000, Frame(1), P | RW));
        Assert.Equal((TranslationResult.Ok, Frame(1) + 8), f.T(0xFFFF_8000_0000_1008));
    }

    [Theory]
    [InlineData(0x0000_8000_0000_0000UL)]
    [InlineData(0xFFFF_7FFF_FFFF_F000UL)]
    [InlineData(0x1000_0000_0000_1000UL)]
    public void NonCanonicalAddressIsGeneralProtectionNotPageFault(ulong va)
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, _ => { });
        f.Mmu.Cr2 = 0x1234;
        Assert.Equal(TranslationResult.GeneralProtection, f.T(va).Result);
        Assert.Equal(0x1234UL, f.Mmu.Cr2);
        Assert.Equal(0, f.Mmu.Counters.PageFaults);
        Assert.Equal(1, f.Mmu.Counters.GeneralProtection);
        Assert.Equal(WalkStatus.GeneralProtection, f.Mmu.Walk(va).Status);
    }

    [Theory]
    [InlineData(4, 0x0UL)]
    [InlineData(3, 0x0UL)]
    [InlineData(2, 0x0UL)]
    [InlineData(1, 0x0UL)]
    public void NotPresentAtEachLevelFaultsWithP0AndSetsCr2(int level, ulong expectedError)
    {
        const ulong va = 0x7F_1234_5678;
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.Map4K(va & ~0xFFFUL, Frame(0), P | RW));
        ulong ea = f.EntryAddress(va, level);
        f.Set(ea, f.Get(ea) & ~P);
        Assert.Equal(TranslationResult.PageFault, f.T(va).Result);
        Assert.Equal(va, f.Mmu.Cr2);
        Assert.Equal(va, f.Mmu.LastFault.Address);
        Assert.Equal((PageFaultErrorCode)expectedError, f.Mmu.LastFault.Error);
        Assert.Equal(level, f.Mmu.Walk(va).Level);
        Assert.Equal(1, f.Mmu.Counters.NotPresent);
    }

    [Fact]
    public void PsInPml4eIsReserved()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.Map4K(0x1000, Frame(0), P | RW));
        ulong pml4e = f.EntryAddress(0x1000, 4);
        f.Set(pml4e, f.Get(pml4e) | PS);
        f.Mmu.FlushAll();
        Assert.Equal(TranslationResult.PageFault, f.T(0x1000).Result);
        Assert.Equal(Rsvd, f.Mmu.LastFault.Error);
        Assert.Equal(WalkStatus.ReservedBit, f.Mmu.Walk(0x1000).Status);
        Assert.Equal(4, f.Mmu.Walk(0x1000).Level);
    }

    [Fact]
    public void OneGiBPageWithoutCpuSupportIsReservedBitFault()
    {
        using var f = new PagingFixture(new MmuOptions { Supports1GiBPages = false });
        f.Boot(PagingMode.FourLevel, t => t.Map1G(0x4000_0000, 0x4000_0000, P | RW));
        Assert.Equal(TranslationResult.PageFault, f.T(0x4000_0000, AccessKind.Write).Result);
        Assert.Equal(Rsvd | PageFaultErrorCode.Write, f.Mmu.LastFault.Error);
    }

    [Theory]
    [InlineData(3, 1UL << 13)]   // 1 GiB PDPTE: bits 29:13 reserved
    [InlineData(3, 1UL << 29)]
    [InlineData(2, 1UL << 13)]   // 2 MiB PDE: bits 20:13 reserved
    [InlineData(2, 1UL << 20)]
    public void LowAddressBitsOfALargePageAreReserved(int level, ulong bit)
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.SetEntry(0, level, P | RW | PS | bit));
        Assert.Equal(TranslationResult.PageFault, f.T(0x10, AccessKind.Read, Privilege.User).Result);
        Assert.Equal(Rsvd | PageFaultErrorCode.User, f.Mmu.LastFault.Error);
        Assert.Equal(1, f.Mmu.Counters.ReservedBit);
    }

    [Fact]
    public void PatBitOfALargePageIsNotReserved()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.SetEntry(0, 2, P | RW | PS | (1UL << 12)));
        Assert.Equal((TranslationResult.Ok, 0x10UL), f.T(0x10));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void AddressBitsAtOrAboveMaxPhyAddrAreReserved(int level)
    {
        // MAXPHYADDR 40: bit 40 of any entry (table pointer or page) is reserved.
        using var f = new PagingFixture(new MmuOptions { MaxPhysicalAddressBits = 40 });
        f.Boot(PagingMode.FourLevel, t => t.Map4K(0x5000, Frame(5), P | RW));
        ulong ea = f.EntryAddress(0x5000, level);
        f.Set(ea, f.Get(ea) | (1UL << 40));
        Assert.Equal(TranslationResult.PageFault, f.T(0x5000).Result);
        Assert.Equal(Rsvd, f.Mmu.LastFault.Error);

        f.Set(ea, f.Get(ea) & ~(1UL << 40) | (1UL << 39));  // bit 39 is an address bit: fine for the walk
        if (level == 1) Assert.Equal((TranslationResult.Ok, Frame(5) | (1UL << 39)), f.T(0x5000));
    }

    [Fact]
    public void ReservedBitsAreNotCheckedInANotPresentEntry()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.Map4K(0x5000, (1UL << 51) | Frame(5), RW));  // P = 0
        Assert.Equal(TranslationResult.PageFault, f.T(0x5000).Result);
        Assert.Equal(PageFaultErrorCode.None, f.Mmu.LastFault.Error);
    }

    [Fact]
    public void TableOutsideRamThrowsNamingTheEntry()
    {
        using var f = new PagingFixture(ramBytes: 16UL << 20);
        f.Boot(PagingMode.FourLevel, t => t.Map4K(0x5000, Frame(0) - 0x80_0000, P | RW));
        ulong pde = f.EntryAddress(0x5000, 2);
        f.Set(pde, 0x4000_0000 | P | RW);   // a page table at 1 GiB, past the 16 MiB of RAM
        var ex = Assert.Throws<PhysicalAddressException>(() => f.T(0x5000));
        Assert.Equal(0x4000_0000UL + 5 * 8, ex.PhysicalAddress);
        Assert.Contains("PTE", ex.Message);
        Assert.Contains("0x5000", ex.Message);
        Assert.Equal(WalkStatus.TableOutsideRam, f.Mmu.Walk(0x5000).Status);
    }

    [Fact]
    public void DataFrameOutsideRamTranslatesButTheAccessThrows()
    {
        using var f = new PagingFixture(ramBytes: 16UL << 20);
        f.Boot(PagingMode.FourLevel, t => t.Map4K(0x5000, 0x8000_0000, P | RW));
        Assert.Equal((TranslationResult.Ok, 0x8000_0010UL), f.T(0x5010));
        var ex = Assert.Throws<PhysicalAddressException>(() => f.Mmu.Read64(0x5010));
        Assert.Contains("linear 0x5010", ex.Message);
    }
}
