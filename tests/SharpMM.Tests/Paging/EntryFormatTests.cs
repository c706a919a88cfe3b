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
        Assert.Equal(sizeof(uint), Unsafe.SizeOf<LegacyPdeFlags>());
        Assert.Equal(sizeof(ulong), Unsafe.SizeOf<LongPteFlags>());
        Assert.Equal(sizeof(uint), Unsafe.SizeOf<Sv32PteFlags>());
        Assert.Equal(sizeof(ulong), Unsafe.SizeOf<Sv39PteFlags>());
    }

    [Fact]
    public void Legacy32_BitPositions()
    {
        ExpectBits((LegacyPdeFlags.Present, 0), (LegacyPdeFlags.Writable, 1), (LegacyPdeFlags.User, 2), (LegacyPdeFlags.WriteThrough, 3),
            (LegacyPdeFlags.CacheDisable, 4), (LegacyPdeFlags.Accessed, 5), (LegacyPdeFlags.Dirty, 6), (LegacyPdeFlags.PageSize, 7),
            (LegacyPdeFlags.Global, 8), (LegacyPdeFlags.Pat, 12));
        ExpectBits((LegacyPteFlags.Present, 0), (LegacyPteFlags.Writable, 1), (LegacyPteFlags.User, 2), (LegacyPteFlags.WriteThrough, 3),
            (LegacyPteFlags.CacheDisable, 4), (LegacyPteFlags.Accessed, 5), (LegacyPteFlags.Dirty, 6), (LegacyPteFlags.Pat, 7),
            (LegacyPteFlags.Global, 8));
        Assert.Equal((ulong)LegacyPde.FlagMask, AllBits<LegacyPdeFlags>());
        Assert.Equal((ulong)LegacyPte.FlagMask, AllBits<LegacyPteFlags>());
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
        var pde = LegacyPde.Table(0x0012_3000, LegacyPdeFlags.Present | LegacyPdeFlags.Writable | LegacyPdeFlags.Global | LegacyPdeFlags.Dirty);
        Assert.Equal(0x0012_3003u, pde.Raw); // G and D are 4 MiB-only: dropped from the table form
        Assert.False(pde.IsLargePage);
        Assert.Equal(0x0012_3000UL, pde.TableAddress);

        var big = LegacyPde.LargePage(0x3_8040_0000, LegacyPdeFlags.Present | LegacyPdeFlags.Global | LegacyPdeFlags.Pat);
        Assert.Equal(0x8040_0000u | (0x3u << 13) | 0x1181u, big.Raw);
        Assert.True(big.IsLargePage);
        Assert.Equal(0x3_8040_0000UL, big.LargePageAddress);
        Assert.Equal(0xFF_FFC0_0000UL, LegacyPde.LargePage(0xFF_FFC0_0000, LegacyPdeFlags.Present).LargePageAddress);

        var pte = LegacyPte.Page(0xFFFF_F000, LegacyPteFlags.Present | LegacyPteFlags.Pat);
        Assert.Equal(0xFFFF_F081u, pte.Raw);
        Assert.Equal(0xFFFF_F000UL, pte.Address);
        Assert.Equal(0xFFFF_F001u, pte.WithFlags(LegacyPteFlags.Present).Raw);

        Assert.Throws<PanicException>(() => LegacyPte.Page(0x1_0000_0000, LegacyPteFlags.Present));
        Assert.Throws<PanicException>(() => LegacyPde.LargePage(0x0020_0000, LegacyPdeFlags.Present));
        Assert.Throws<PanicException>(() => LegacyPde.LargePage(1UL << 40, LegacyPdeFlags.Present));
    }

    [Fact]
    public void Pae_BitPositions()
    {
        ExpectBits((PaePdpteFlags.Present, 0), (PaePdpteFlags.WriteThrough, 3), (PaePdpteFlags.CacheDisable, 4));
        ExpectBits((PaePdeFlags.Present, 0), (PaePdeFlags.Writable, 1), (PaePdeFlags.User, 2), (PaePdeFlags.WriteThrough, 3),
            (PaePdeFlags.CacheDisable, 4), (PaePdeFlags.Accessed, 5), (PaePdeFlags.Dirty, 6), (PaePdeFlags.PageSize, 7),
            (PaePdeFlags.Global, 8), (PaePdeFlags.Pat, 12), (PaePdeFlags.ExecuteDisable, 63));
        ExpectBits((PaePteFlags.Present, 0), (PaePteFlags.Writable, 1), (PaePteFlags.User, 2), (PaePteFlags.WriteThrough, 3),
            (PaePteFlags.CacheDisable, 4), (PaePteFlags.Accessed, 5), (PaePteFlags.Dirty, 6), (PaePteFlags.Pat, 7),
            (PaePteFlags.Global, 8), (PaePteFlags.ExecuteDisable, 63));
        Assert.Equal((ulong)PaePdpte.FlagMask, AllBits<PaePdpteFlags>());
        Assert.Equal((ulong)PaePde.FlagMask, AllBits<PaePdeFlags>());
        Assert.Equal((ulong)PaePte.FlagMask, AllBits<PaePteFlags>());
        // PDPTE reserved bits: 2:1, 8:5, 63:52.
        Assert.Equal((3UL << 1) | (0xFUL << 5) | (0xFFFUL << 52), PaePdpte.ReservedMask);
        Assert.Equal(0x000F_FFFF_FFFF_F000UL, PaePdpte.AddressMask);
        Assert.Equal(0x000F_FFFF_FFE0_0000UL, PaePde.LargeAddressMask);
        Assert.Equal(0x000F_FFFF_FFFF_F000UL, PaePte.AddressMask);
    }

    [Fact]
    public void Pae_EncodeDecode()
    {
        Assert.Equal(0x1234_5000UL | 0x19, PaePdpte.Directory(0x1234_5000, PaePdpteFlags.Present | PaePdpteFlags.WriteThrough | PaePdpteFlags.CacheDisable).Raw);
        var pde = PaePde.LargePage(0x000F_FFFF_FFE0_0000, PaePdeFlags.Present | PaePdeFlags.ExecuteDisable);
        Assert.Equal(0x800F_FFFF_FFE0_0081UL, pde.Raw);
        Assert.True(pde.IsLargePage);
        Assert.Equal(0x000F_FFFF_FFE0_0000UL, pde.LargePageAddress);
        Assert.Equal(0x5000UL | 1, PaePde.Table(0x5000, PaePdeFlags.Present | PaePdeFlags.Pat | PaePdeFlags.Global).Raw);
        var pte = PaePte.Page(0x8_0000_1000, PaePteFlags.Present | PaePteFlags.Global);
        Assert.Equal(0x8_0000_1101UL, pte.Raw);
        Assert.Throws<PanicException>(() => PaePte.Page(1UL << 52, PaePteFlags.Present));
        Assert.Throws<PanicException>(() => PaePde.LargePage(0x1000, PaePdeFlags.Present));
    }

    [Fact]
    public void LongMode_BitPositions()
    {
        ExpectBits((LongPml4eFlags.Present, 0), (LongPml4eFlags.Writable, 1), (LongPml4eFlags.User, 2), (LongPml4eFlags.WriteThrough, 3),
            (LongPml4eFlags.CacheDisable, 4), (LongPml4eFlags.Accessed, 5), (LongPml4eFlags.ExecuteDisable, 63));
        ExpectBits((LongPdpteFlags.Present, 0), (LongPdpteFlags.Writable, 1), (LongPdpteFlags.User, 2), (LongPdpteFlags.WriteThrough, 3),
            (LongPdpteFlags.CacheDisable, 4), (LongPdpteFlags.Accessed, 5), (LongPdpteFlags.Dirty, 6), (LongPdpteFlags.PageSize, 7),
            (LongPdpteFlags.Global, 8), (LongPdpteFlags.Pat, 12), (LongPdpteFlags.ExecuteDisable, 63));
        ExpectBits((LongPdeFlags.Present, 0), (LongPdeFlags.Writable, 1), (LongPdeFlags.User, 2), (LongPdeFlags.WriteThrough, 3),
            (LongPdeFlags.CacheDisable, 4), (LongPdeFlags.Accessed, 5), (LongPdeFlags.Dirty, 6), (LongPdeFlags.PageSize, 7),
            (LongPdeFlags.Global, 8), (LongPdeFlags.Pat, 12), (LongPdeFlags.ExecuteDisable, 63));
        ExpectBits((LongPteFlags.Present, 0), (LongPteFlags.Writable, 1), (LongPteFlags.User, 2), (LongPteFlags.WriteThrough, 3),
            (LongPteFlags.CacheDisable, 4), (LongPteFlags.Accessed, 5), (LongPteFlags.Dirty, 6), (LongPteFlags.Pat, 7),
            (LongPteFlags.Global, 8), (LongPteFlags.ExecuteDisable, 63));
        Assert.Equal((ulong)LongPml4e.FlagMask, AllBits<LongPml4eFlags>());
        Assert.Equal((ulong)LongPdpte.FlagMask, AllBits<LongPdpteFlags>());
        Assert.Equal((ulong)LongPde.FlagMask, AllBits<LongPdeFlags>());
        Assert.Equal((ulong)LongPte.FlagMask, AllBits<LongPteFlags>());
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
        Assert.Equal(0x2000UL | 0x7, LongPml4e.Table(0x2000, LongPml4eFlags.Present | LongPml4eFlags.Writable | LongPml4eFlags.User).Raw);
        var huge = LongPdpte.HugePage(0x000F_FFFF_C000_0000, LongPdpteFlags.Present | LongPdpteFlags.Pat);
        Assert.Equal(0x000F_FFFF_C000_1081UL, huge.Raw);
        Assert.True(huge.IsHugePage);
        Assert.Equal(0x000F_FFFF_C000_0000UL, huge.HugePageAddress);
        Assert.Equal(0x4000UL | 1, LongPdpte.Table(0x4000, LongPdpteFlags.Present | LongPdpteFlags.Dirty).Raw);
        var large = LongPde.LargePage(0x4020_0000, LongPdeFlags.Present | LongPdeFlags.Writable | LongPdeFlags.ExecuteDisable);
        Assert.Equal(0x8000_0000_4020_0083UL, large.Raw);
        var keyed = new LongPte(LongPte.Page(0x7000, LongPteFlags.Present).Raw | (5UL << 59));
        Assert.Equal(5u, keyed.ProtectionKey);
        Assert.Equal(5u, keyed.WithFlags(LongPteFlags.Present | LongPteFlags.Writable).ProtectionKey); // flags change keeps the key
        Assert.Throws<PanicException>(() => LongPdpte.HugePage(0x20_0000, LongPdpteFlags.Present));
        Assert.Throws<PanicException>(() => LongPml4e.Table(0x1001, LongPml4eFlags.Present));
    }

    [Fact]
    public void Sv32_BitPositionsAndPpnLayout()
    {
        ExpectBits((Sv32PteFlags.Valid, 0), (Sv32PteFlags.Read, 1), (Sv32PteFlags.Write, 2), (Sv32PteFlags.Execute, 3),
            (Sv32PteFlags.User, 4), (Sv32PteFlags.Global, 5), (Sv32PteFlags.Accessed, 6), (Sv32PteFlags.Dirty, 7));
        Assert.Equal((ulong)Sv32Pte.FlagMask, AllBits<Sv32PteFlags>());
        Assert.Equal(0x300u, Sv32Pte.SoftwareMask);
        Assert.Equal(0xFFFF_FC00u, Sv32Pte.PpnMask);
        // PPN[0] = entry bits 19:10 (physical 21:12), PPN[1] = entry bits 31:20 (physical 33:22).
        var leaf = Sv32Pte.Leaf(0x3_FFC0_0000, Sv32PteFlags.Read);
        Assert.Equal(0xFFF0_0003u, leaf.Raw); // PPN[1] = 0xFFF, PPN[0] = 0
        Assert.Equal(0x3_FFC0_0000UL, leaf.Address);
        Assert.Equal(0x000F_FC01u, Sv32Pte.Pointer(0x3F_F000).Raw); // PPN[0] = 0x3FF: bits 19:10
        Assert.True(leaf.IsLeaf);
        Assert.False(Sv32Pte.Pointer(0x1000).IsLeaf);
        Assert.Throws<PanicException>(() => Sv32Pte.Leaf(0x1000, Sv32PteFlags.Write)); // W without R is reserved
        Assert.Throws<PanicException>(() => Sv32Pte.Leaf(0x1000, Sv32PteFlags.User)); // no R/W/X: that is a pointer
        Assert.Throws<PanicException>(() => Sv32Pte.Pointer(1UL << 34));
    }

    [Fact]
    public void Sv39_BitPositionsAndPpnLayout()
    {
        ExpectBits((Sv39PteFlags.Valid, 0), (Sv39PteFlags.Read, 1), (Sv39PteFlags.Write, 2), (Sv39PteFlags.Execute, 3),
            (Sv39PteFlags.User, 4), (Sv39PteFlags.Global, 5), (Sv39PteFlags.Accessed, 6), (Sv39PteFlags.Dirty, 7),
            (Sv39PteFlags.PbmtNonCacheable, 61), (Sv39PteFlags.PbmtIo, 62), (Sv39PteFlags.Napot, 63));
        Assert.Equal((ulong)Sv39Pte.FlagMask, AllBits<Sv39PteFlags>());
        Assert.Equal(0x003F_FFFF_FFFF_FC00UL, Sv39Pte.PpnMask); // bits 53:10
        Assert.Equal(0x7FUL << 54, Sv39Pte.ReservedMask);
        // PPN[0] = 18:10, PPN[1] = 27:19, PPN[2] = 53:28.
        Assert.Equal((0x1FFUL << 10) | 1, Sv39Pte.Pointer(0x1FF000).Raw);
        Assert.Equal((0x1FFUL << 19) | 1, Sv39Pte.Pointer(0x3FE0_0000).Raw);
        Assert.Equal((0x3FF_FFFFUL << 28) | 1, Sv39Pte.Pointer(0x00FF_FFFF_C000_0000).Raw);
        var top = Sv39Pte.Leaf(0x00FF_FFFF_FFFF_F000, Sv39PteFlags.Read | Sv39PteFlags.Execute);
        Assert.Equal(0x00FF_FFFF_FFFF_F000UL, top.Address);
        Assert.Equal(0x00FF_FFFF_FFFF_FUL, top.Ppn);
        Assert.Throws<PanicException>(() => Sv39Pte.Leaf(1UL << 56, Sv39PteFlags.Read));
        Assert.Throws<PanicException>(() => Sv39Pte.Leaf(0x1000, Sv39PteFlags.Write | Sv39PteFlags.Execute));
    }
}
