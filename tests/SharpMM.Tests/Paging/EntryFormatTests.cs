using System;
using System.Linq;
using System.Runtime.CompilerServices;
using SharpMM.Hosted;
using SharpMM.Paging.RiscV;
using SharpMM.Paging.X86;
using Xunit;

namespace SharpMM.Tests.Paging;

/// <summary>
/// Layout facts of every hardware entry type: its size, the bit position of every flag (Intel
/// SDM vol. 3A tables 4-4 to 4-20; RISC-V privileged spec Sv32/Sv39 PTE figures), that the
/// flag-mask constant is exactly the named bits, and that the address fields encode and decode.
/// </summary>
public class EntryFormatTests
{
    private static void ExpectBits<TEnum>(params (TEnum flag, int bit)[] expected) where TEnum : struct, Enum
    {
        var named = Enum.GetValues<TEnum>().Where(v => Convert.ToUInt64(v) != 0).ToArray();
        Assert.Equal(expected.Length, named.Length); // no flag missing from the list, none extra
        foreach (var (flag, bit) in expected)
            Assert.True(Convert.ToUInt64(flag) == 1UL << bit, $"{typeof(TEnum).Name}.{flag} should be bit {bit}, is 0x{Convert.ToUInt64(flag):x}");
    }

    private static ulong AllBits<TEnum>() where TEnum : struct, Enum =>
        Enum.GetValues<TEnum>().Aggregate(0UL, (a, v) => a | Convert.ToUInt64(v));

    private static ulong Bits(params X86EntryFlags[] flags) => flags.Aggregate(0UL, (a, f) => a | (ulong)f);
    private static ulong Bits(params RiscVPteFlags[] flags) => flags.Aggregate(0UL, (a, f) => a | (ulong)f);

    private const X86EntryFlags P = X86EntryFlags.Present, RW = X86EntryFlags.Writable, US = X86EntryFlags.User,
        PWT = X86EntryFlags.WriteThrough, PCD = X86EntryFlags.CacheDisable, A = X86EntryFlags.Accessed, D = X86EntryFlags.Dirty,
        PS = X86EntryFlags.PageSize, G = X86EntryFlags.Global, XD = X86EntryFlags.ExecuteDisable;

    [Fact]
    public void X86_BitPositions()
    {
        // One enum for every x86 entry kind: bit 7 has two names (PS in a directory entry, PAT in a PTE).
    }

    [Fact]
    public void X86_EachEntryKindHasItsOwnBits()
    {
        // Expect: the flag mask of each entry kind is exactly the bits the SDM's table gives it.
        Assert.Equal((ulong)LegacyPde.FlagMask, Bits(P, RW, US, PWT, PCD, A, D, PS, G, X86EntryFlags.LargePat));
        Assert.Equal((ulong)LegacyPte.FlagMask, Bits(P, RW, US, PWT, PCD, A, D, X86EntryFlags.PtePat, G));
        Assert.Equal(PaePdpte.FlagMask, Bits(P, PWT, PCD));
        Assert.Equal(PaePde.FlagMask, Bits(P, RW, US, PWT, PCD, A, D, PS, G, X86EntryFlags.LargePat, XD));
        Assert.Equal(PaePte.FlagMask, Bits(P, RW, US, PWT, PCD, A, D, X86EntryFlags.PtePat, G, XD));
        Assert.Equal(LongPml4e.FlagMask, Bits(P, RW, US, PWT, PCD, A, XD));
        Assert.Equal(LongPdpte.FlagMask, Bits(P, RW, US, PWT, PCD, A, D, PS, G, X86EntryFlags.LargePat, XD));
        Assert.Equal(LongPde.FlagMask, Bits(P, RW, US, PWT, PCD, A, D, PS, G, X86EntryFlags.LargePat, XD));
        Assert.Equal(LongPte.FlagMask, Bits(P, RW, US, PWT, PCD, A, D, X86EntryFlags.PtePat, G, XD));
    }

    [Fact]
    public void X86_AFlagTheEntryKindDoesNotHavePanics()
    {
        // Expect: a panic, not a bit landing in an address or reserved field.
        Assert.Throws<PanicException>(() => LegacyPte.Page(0x1000, P | XD));             // no XD in 32-bit paging
        Assert.Throws<PanicException>(() => PaePdpte.Directory(0x1000, P | RW));         // a PAE PDPTE has no R/W
        Assert.Throws<PanicException>(() => LongPml4e.Table(0x1000, P | G));             // G is reserved in a PML4E
        Assert.Throws<PanicException>(() => new LongPte(0).WithFlags(X86EntryFlags.LargePat)); // bit 12 is address in a PTE
        Assert.Equal((ulong)(P | RW | XD) | 0x1000, LongPte.Page(0x1000, P | RW | XD).Raw);
    }

    [Fact]
    public void RiscV_BitPositions()
    {
        // Expect: Sv32's 4-byte entry has bits 7:0; Sv39 has them all.
        Assert.Equal(0xFFUL, (ulong)Sv32Pte.FlagMask);
        Assert.Equal(Sv39Pte.FlagMask, AllBits<RiscVPteFlags>());
        Assert.Throws<PanicException>(() => Sv32Pte.Leaf(0x1000, RiscVPteFlags.Read | RiscVPteFlags.Napot));
    }

    [Fact]
    public void Sizes()
    {
        Assert.Equal(4, Unsafe.SizeOf<LegacyPde>());
        Assert.Equal(4, Unsafe.SizeOf<LegacyPte>());
        Assert.Equal(8, Unsafe.SizeOf<PaePdpte>());
        Assert.Equal(8, Unsafe.SizeOf<PaePde>());
        Assert.Equal(8, Unsafe.SizeOf<PaePte>());
        Assert.Equal(8, Unsafe.SizeOf<LongPml4e>());
        Assert.Equal(8, Unsafe.SizeOf<LongPdpte>());
        Assert.Equal(8, Unsafe.SizeOf<LongPde>());
        Assert.Equal(8, Unsafe.SizeOf<LongPte>());
        Assert.Equal(4, Unsafe.SizeOf<Sv32Pte>());
        Assert.Equal(8, Unsafe.SizeOf<Sv39Pte>());
        Assert.Equal(sizeof(ulong), Unsafe.SizeOf<X86EntryFlags>());
        Assert.Equal(sizeof(ulong), Unsafe.SizeOf<RiscVPteFlags>());
    }

    [Fact]
    public void Legacy32_Fields()
    {
        Assert.Equal(0xFFFFF000u, LegacyPde.TableAddressMask);
        Assert.Equal(0xFFC00000u, LegacyPde.LargeAddressMask);
        Assert.Equal(0xFFFFF000u, LegacyPte.AddressMask);
        Assert.Equal(0xE00u, LegacyPde.AvailableMask);
        // PSE-36: bits 20:13 carry physical bits 39:32; bit 21 is reserved; nothing overlaps.
        Assert.Equal(0xFFu << 13, LegacyPde.Pse36Mask);
        Assert.Equal(1u << 21, LegacyPde.LargeReservedMask);
        Assert.Equal(0u, LegacyPde.LargeAddressMask & (LegacyPde.Pse36Mask | LegacyPde.LargeReservedMask | LegacyPde.FlagMask | LegacyPde.AvailableMask));
    }

    [Fact]
    public void Legacy32_EncodeDecode()
    {
        var pde = LegacyPde.Table(0x0012_3000, X86EntryFlags.Present | X86EntryFlags.Writable | X86EntryFlags.Global | X86EntryFlags.Dirty);
        Assert.Equal(0x0012_3003u, pde.Raw); // G and D are 4 MiB-only: dropped from the table form
        Assert.False(pde.IsLargePage);
        Assert.Equal(0x0012_3000UL, pde.TableAddress);

        var big = LegacyPde.LargePage(0x3_8040_0000, X86EntryFlags.Present | X86EntryFlags.Global | X86EntryFlags.LargePat);
        Assert.Equal(0x8040_0000u | (0x3u << 13) | 0x1181u, big.Raw);
        Assert.True(big.IsLargePage);
        Assert.Equal(0x3_8040_0000UL, big.LargePageAddress);
        Assert.Equal(0xFF_FFC0_0000UL, LegacyPde.LargePage(0xFF_FFC0_0000, X86EntryFlags.Present).LargePageAddress);

        var pte = LegacyPte.Page(0xFFFF_F000, X86EntryFlags.Present | X86EntryFlags.PtePat);
        Assert.Equal(0xFFFF_F081u, pte.Raw);
        Assert.Equal(0xFFFF_F000UL, pte.Address);
        Assert.Equal(0xFFFF_F001u, pte.WithFlags(X86EntryFlags.Present).Raw);

        Assert.Throws<PanicException>(() => LegacyPte.Page(0x1_0000_0000, X86EntryFlags.Present));
        Assert.Throws<PanicException>(() => LegacyPde.LargePage(0x0020_0000, X86EntryFlags.Present));
        Assert.Throws<PanicException>(() => LegacyPde.LargePage(1UL << 40, X86EntryFlags.Present));
    }

    [Fact]
    public void Pae_Fields()
    {
        // PDPTE reserved bits: 2:1, 8:5, 63:52.
        Assert.Equal((3UL << 1) | (0xFUL << 5) | (0xFFFUL << 52), PaePdpte.ReservedMask);
        Assert.Equal(0x000F_FFFF_FFFF_F000UL, PaePdpte.AddressMask);
        Assert.Equal(0x000F_FFFF_FFE0_0000UL, PaePde.LargeAddressMask);
        Assert.Equal(0x000F_FFFF_FFFF_F000UL, PaePte.AddressMask);
    }

    [Fact]
    public void Pae_EncodeDecode()
    {
        Assert.Equal(0x1234_5000UL | 0x19, PaePdpte.Directory(0x1234_5000, X86EntryFlags.Present | X86EntryFlags.WriteThrough | X86EntryFlags.CacheDisable).Raw);
        var pde = PaePde.LargePage(0x000F_FFFF_FFE0_0000, X86EntryFlags.Present | X86EntryFlags.ExecuteDisable);
        Assert.Equal(0x800F_FFFF_FFE0_0081UL, pde.Raw);
        Assert.True(pde.IsLargePage);
        Assert.Equal(0x000F_FFFF_FFE0_0000UL, pde.LargePageAddress);
        Assert.Equal(0x5000UL | 1, PaePde.Table(0x5000, X86EntryFlags.Present | X86EntryFlags.LargePat | X86EntryFlags.Global).Raw);
        var pte = PaePte.Page(0x8_0000_1000, X86EntryFlags.Present | X86EntryFlags.Global);
        Assert.Equal(0x8_0000_1101UL, pte.Raw);
        Assert.Throws<PanicException>(() => PaePte.Page(1UL << 52, X86EntryFlags.Present));
        Assert.Throws<PanicException>(() => PaePde.LargePage(0x1000, X86EntryFlags.Present));
    }

    [Fact]
    public void LongMode_Fields()
    {
        Assert.Equal(1UL << 7, LongPml4e.ReservedMask);
        Assert.Equal(0x000F_FFFF_C000_0000UL, LongPdpte.HugeAddressMask);
        Assert.Equal(0x000F_FFFF_FFE0_0000UL, LongPde.LargeAddressMask);
        Assert.Equal(0x000F_FFFF_FFFF_F000UL, LongPte.AddressMask);
        Assert.Equal(0xFUL << 59, LongPte.ProtectionKeyMask);
        Assert.Equal(0xFUL << 59, LongPde.ProtectionKeyMask);
        Assert.Equal(0xFUL << 59, LongPdpte.ProtectionKeyMask);
    }

    [Fact]
    public void LongMode_EncodeDecode()
    {
        Assert.Equal(0x2000UL | 0x7, LongPml4e.Table(0x2000, X86EntryFlags.Present | X86EntryFlags.Writable | X86EntryFlags.User).Raw);
        var huge = LongPdpte.HugePage(0x000F_FFFF_C000_0000, X86EntryFlags.Present | X86EntryFlags.LargePat);
        Assert.Equal(0x000F_FFFF_C000_1081UL, huge.Raw);
        Assert.True(huge.IsHugePage);
        Assert.Equal(0x000F_FFFF_C000_0000UL, huge.HugePageAddress);
        Assert.Equal(0x4000UL | 1, LongPdpte.Table(0x4000, X86EntryFlags.Present | X86EntryFlags.Dirty).Raw);
        var large = LongPde.LargePage(0x4020_0000, X86EntryFlags.Present | X86EntryFlags.Writable | X86EntryFlags.ExecuteDisable);
        Assert.Equal(0x8000_0000_4020_0083UL, large.Raw);
        var keyed = new LongPte(LongPte.Page(0x7000, X86EntryFlags.Present).Raw | (5UL << 59));
        Assert.Equal(5u, keyed.ProtectionKey);
        Assert.Equal(5u, keyed.WithFlags(X86EntryFlags.Present | X86EntryFlags.Writable).ProtectionKey); // flags change keeps the key
        Assert.Throws<PanicException>(() => LongPdpte.HugePage(0x20_0000, X86EntryFlags.Present));
        Assert.Throws<PanicException>(() => LongPml4e.Table(0x1001, X86EntryFlags.Present));
    }

    [Fact]
    public void Sv32_PpnLayout()
    {
        Assert.Equal(0x300u, Sv32Pte.SoftwareMask);
        Assert.Equal(0xFFFF_FC00u, Sv32Pte.PpnMask);
        // PPN[0] = entry bits 19:10 (physical 21:12), PPN[1] = entry bits 31:20 (physical 33:22).
        var leaf = Sv32Pte.Leaf(0x3_FFC0_0000, RiscVPteFlags.Read);
        Assert.Equal(0xFFF0_0003u, leaf.Raw); // PPN[1] = 0xFFF, PPN[0] = 0
        Assert.Equal(0x3_FFC0_0000UL, leaf.Address);
        Assert.Equal(0x000F_FC01u, Sv32Pte.Pointer(0x3F_F000).Raw); // PPN[0] = 0x3FF: bits 19:10
        Assert.True(leaf.IsLeaf);
        Assert.False(Sv32Pte.Pointer(0x1000).IsLeaf);
        Assert.Throws<PanicException>(() => Sv32Pte.Leaf(0x1000, RiscVPteFlags.Write)); // W without R is reserved
        Assert.Throws<PanicException>(() => Sv32Pte.Leaf(0x1000, RiscVPteFlags.User)); // no R/W/X: that is a pointer
        Assert.Throws<PanicException>(() => Sv32Pte.Pointer(1UL << 34));
    }

    [Fact]
    public void Sv39_PpnLayout()
    {
        Assert.Equal(0x003F_FFFF_FFFF_FC00UL, Sv39Pte.PpnMask); // bits 53:10
        Assert.Equal(0x7FUL << 54, Sv39Pte.ReservedMask);
        // PPN[0] = 18:10, PPN[1] = 27:19, PPN[2] = 53:28.
        Assert.Equal((0x1FFUL << 10) | 1, Sv39Pte.Pointer(0x1FF000).Raw);
        Assert.Equal((0x1FFUL << 19) | 1, Sv39Pte.Pointer(0x3FE0_0000).Raw);
        Assert.Equal((0x3FF_FFFFUL << 28) | 1, Sv39Pte.Pointer(0x00FF_FFFF_C000_0000).Raw);
        var top = Sv39Pte.Leaf(0x00FF_FFFF_FFFF_F000, RiscVPteFlags.Read | RiscVPteFlags.Execute);
        Assert.Equal(0x00FF_FFFF_FFFF_F000UL, top.Address);
        Assert.Equal(0x00FF_FFFF_FFFF_FUL, top.Ppn);
        Assert.Throws<PanicException>(() => Sv39Pte.Leaf(1UL << 56, RiscVPteFlags.Read));
        Assert.Throws<PanicException>(() => Sv39Pte.Leaf(0x1000, RiscVPteFlags.Write | RiscVPteFlags.Execute));
    }
}
