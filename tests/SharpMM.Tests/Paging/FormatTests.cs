using System.Linq;
using System;
using SharpMM.Paging;
using SharpMM.Paging.RiscV;
using SharpMM.Paging.X86;
using Xunit;

namespace SharpMM.Tests.Paging;

/// <summary>
/// The static geometry of each format and how portable flags become hardware bits: every one
/// of the 256 flag combinations survives MakeLeaf/Flags at every leaf level as
/// <see cref="IPagingFormat.Effective"/> says; WithFlags keeps the address and non-portable
/// bits; SplitLeaf moves PAT where the hardware wants it.
/// </summary>
public unsafe class FormatTests
{
    [Fact]
    public void Geometry()
    {
        Check<X86LegacyFormat>(2, 4, new[] { 1024, 1024 }, new[] { 12, 22 }, new[] { true, true }, 32);
        Check<X86PaeFormat>(3, 8, new[] { 512, 512, 4 }, new[] { 12, 21, 30 }, new[] { true, true, false }, 32);
        Check<X86LongModeFormat>(4, 8, new[] { 512, 512, 512, 512 }, new[] { 12, 21, 30, 39 }, new[] { true, true, true, false }, 48);
        Check<Sv32Format>(2, 4, new[] { 1024, 1024 }, new[] { 12, 22 }, new[] { true, true }, 32);
        Check<Sv39Format>(3, 8, new[] { 512, 512, 512 }, new[] { 12, 21, 30 }, new[] { true, true, true }, 39);

        static void Check<F>(int levels, int entrySize, int[] entries, int[] shifts, bool[] leaf, int vbits) where F : struct, IPagingFormat
        {
            Assert.Equal(levels, F.Levels);
            Assert.Equal(entrySize, F.EntrySize);
            Assert.Equal(vbits, F.VirtualBits);
            for (int l = 0; l < levels; l++)
            {
                Assert.Equal(entries[l], F.EntriesPerTable(l));
                Assert.Equal(shifts[l], F.IndexShift(l));
                Assert.Equal(leaf[l], F.CanBeLeaf(l));
            }
            // The top level's entries cover exactly the virtual address bits.
            Assert.Equal(vbits, F.IndexShift(levels - 1) + System.Numerics.BitOperations.Log2((uint)entries[levels - 1]));
        }
    }

    // PointsToTable is the walk's one-test form of "present and not a leaf", and TableAddress
    // its Address: the same answers for every level and every combination of the low byte (P,
    // PS, V/R/W/X...), with random upper bits, for each format.
    [Fact]
    public void PointsToTable_IsPresentAndNotLeaf()
    {
        Check<X86LegacyFormat>(); Check<X86PaeFormat>(); Check<X86LongModeFormat>(); Check<Sv32Format>(); Check<Sv39Format>();

        static void Check<F>() where F : struct, IPagingFormat
        {
            var rng = new Random(17);
            int tables = 0;
            for (int level = 0; level < F.Levels; level++)
                for (ulong low = 0; low < 256; low++)
                    for (int k = 0; k < 8; k++)
                    {
                        ulong high = k == 0 ? 0 : (ulong)rng.NextInt64() << 8 | (k == 1 ? 1UL << 63 : 0);
                        ulong e = F.EntrySize == 4 ? (uint)(high | low) : high | low;
                        bool expected = F.IsPresent(e) && !F.IsLeaf(level, e);
                        Assert.True(expected == F.PointsToTable(level, e), $"{F.Name} level {level} entry {e:x}: PointsToTable {!expected}");
                        if (!expected) continue;
                        tables++;
                        Assert.True(F.Address(level, e) == F.TableAddress(e), $"{F.Name} level {level} entry {e:x}: TableAddress {F.TableAddress(e):x}, Address {F.Address(level, e):x}");
                    }
            Assert.True(tables > 0, $"{F.Name}: no entry pointed at a table");
        }
    }

    [Fact]
    public void CanonicalRules()
    {
        Assert.True(X86LegacyFormat.IsCanonical(0xFFFF_FFFF));
        Assert.False(X86LegacyFormat.IsCanonical(0x1_0000_0000));
        Assert.False(X86PaeFormat.IsCanonical(0x1_0000_0000));
        Assert.False(Sv32Format.IsCanonical(0x1_0000_0000));
        Assert.True(X86LongModeFormat.IsCanonical(0x0000_7FFF_FFFF_FFFF));
        Assert.False(X86LongModeFormat.IsCanonical(0x0000_8000_0000_0000));
        Assert.False(X86LongModeFormat.IsCanonical(0xFFFF_7FFF_FFFF_FFFF));
        Assert.True(X86LongModeFormat.IsCanonical(0xFFFF_8000_0000_0000));
        Assert.Equal(0xFFFF_8000_0000_0000UL, X86LongModeFormat.Canonicalize(0x0000_8000_0000_0000));
        Assert.True(Sv39Format.IsCanonical(0x0000_003F_FFFF_FFFF));
        Assert.False(Sv39Format.IsCanonical(0x0000_0040_0000_0000));
        Assert.True(Sv39Format.IsCanonical(0xFFFF_FFC0_0000_0000));
        Assert.False(Sv39Format.IsCanonical(0xFFFF_FF80_0000_0000));
        Assert.Equal(0xFFFF_FFC0_0000_0000UL, Sv39Format.Canonicalize(0x0000_0040_0000_0000));
    }

    [Fact]
    public void EveryFlagCombination_RoundTripsAtEveryLeafLevel()
    {
        Run<X86LegacyFormat>();
        Run<X86PaeFormat>();
        Run<X86LongModeFormat>();
        Run<Sv32Format>();
        Run<Sv39Format>();

        static void Run<F>() where F : struct, IPagingFormat
        {
            for (int level = 0; level < F.Levels; level++)
            {
                if (!F.CanBeLeaf(level)) continue;
                ulong pa = 3UL << F.IndexShift(level);
                for (int bits = 0; bits < 256; bits++)
                {
                    var flags = (PageFlags)bits;
                    ulong e = F.MakeLeaf(level, pa, flags);
                    Assert.True(F.IsPresent(e) && F.IsLeaf(level, e), $"{F.Name} level {level} flags {flags}: not a present leaf");
                    Assert.Equal(pa, F.Address(level, e));
                    Assert.Equal(F.Effective(flags), F.Flags(level, e));
                    ulong changed = F.WithFlags(level, e, ~flags & Mapper<F, DirectMapTableAccess>.AllFlags);
                    Assert.Equal(pa, F.Address(level, changed));
                    Assert.Equal(F.Effective(~flags & Mapper<F, DirectMapTableAccess>.AllFlags), F.Flags(level, changed));
                    Assert.True(F.IsLeaf(level, changed));
                }
            }
            for (int level = 1; level < F.Levels; level++)
            {
                ulong t = F.MakeTable(level, 0x5000);
                Assert.True(F.IsPresent(t) && !F.IsLeaf(level, t), $"{F.Name}: table entry at level {level} reads as a leaf");
                Assert.Equal(0x5000UL, F.Address(level, t));
            }
            Assert.False(F.IsPresent(0));
        }
    }

    [Fact]
    public void FlagMapping_PerFormat()
    {
        // x86: XD set exactly when Executable is absent (PAE and 4-level); 32-bit paging has no XD.
        Assert.Equal(1UL << 63, X86LongModeFormat.MakeLeaf(0, 0x1000, PageFlags.None) & (1UL << 63));
        Assert.Equal(0UL, X86LongModeFormat.MakeLeaf(0, 0x1000, PageFlags.Executable) & (1UL << 63));
        Assert.Equal(1UL << 63, X86PaeFormat.MakeLeaf(1, 0x20_0000, PageFlags.Writable) & (1UL << 63));
        Assert.Equal(PageFlags.Executable, X86LegacyFormat.Flags(0, X86LegacyFormat.MakeLeaf(0, 0x1000, PageFlags.None)));
        Assert.Equal(0x1000UL | 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x100,
            X86LongModeFormat.MakeLeaf(0, 0x1000, Mapper<X86LongModeFormat, DirectMapTableAccess>.AllFlags));
        Assert.Equal(0x40_0000UL | 0x83 | 0x100, X86LegacyFormat.MakeLeaf(1, 0x40_0000, PageFlags.Writable | PageFlags.Global));
        // RISC-V: R always; WT/CD ignored.
        Assert.Equal((0x1UL << 10) | 0x3, Sv39Format.MakeLeaf(0, 0x1000, PageFlags.WriteThrough | PageFlags.CacheDisable));
        Assert.Equal((0x1UL << 10) | 0xFF, Sv39Format.MakeLeaf(0, 0x1000, Mapper<Sv39Format, DirectMapTableAccess>.AllFlags));
        Assert.Equal(PageFlags.None, Sv32Format.Effective(PageFlags.WriteThrough | PageFlags.CacheDisable));
        // Table entries are permissive; the PAE PDPTE has only P.
        Assert.Equal(0x5007UL, X86LongModeFormat.MakeTable(3, 0x5000));
        Assert.Equal(0x5007UL, X86LegacyFormat.MakeTable(1, 0x5000));
        Assert.Equal(0x5001UL, X86PaeFormat.MakeTable(2, 0x5000));
        Assert.Equal((0x5UL << 10) | 1, Sv39Format.MakeTable(2, 0x5000));
    }

    [Fact]
    public void SplitLeaf_MovesPatAndKeepsTheRest()
    {
        // 2 MiB PDE with PAT (bit 12), G, D, a protection key and software bits -> PTE with PAT in bit 7.
        ulong pde = X86LongModeFormat.MakeLeaf(1, 0x4060_0000, PageFlags.Global | PageFlags.Dirty | PageFlags.Writable)
                    | (1UL << 12) | (0x9UL << 59) | (1UL << 10);
        ulong pte = X86LongModeFormat.SplitLeaf(1, pde);
        Assert.Equal(0x4060_0000UL, X86LongModeFormat.Address(0, pte));
        Assert.Equal(1UL << 7, pte & (1UL << 7));     // PAT moved down, PS gone
        Assert.Equal(0UL, pte & (1UL << 12));
        Assert.Equal(0x9UL << 59, pte & (0xFUL << 59));
        Assert.Equal(1UL << 10, pte & (1UL << 10));
        Assert.Equal(X86LongModeFormat.Flags(1, pde), X86LongModeFormat.Flags(0, pte));
        // 1 GiB -> 2 MiB keeps PS and PAT in place.
        ulong pdpte = X86LongModeFormat.MakeLeaf(2, 0x8000_0000, PageFlags.Executable) | (1UL << 12);
        ulong child = X86LongModeFormat.WithAddress(1, X86LongModeFormat.SplitLeaf(2, pdpte), 0x8020_0000);
        Assert.True(X86LongModeFormat.IsLeaf(1, child));
        Assert.Equal(0x8020_0000UL, X86LongModeFormat.Address(1, child));
        Assert.Equal(1UL << 12, child & (1UL << 12));
        // 32-bit: 4 MiB PDE with PAT -> PTE with PAT in bit 7; a PSE-36 page above 4 GiB cannot split.
        ulong big = X86LegacyFormat.MakeLeaf(1, 0xC040_0000, PageFlags.Writable) | (1UL << 12);
        ulong small = X86LegacyFormat.SplitLeaf(1, big);
        Assert.Equal(0xC040_0000UL | 0x80 | 0x3, small);
        Assert.Throws<global::SharpMM.Hosted.PanicException>(() => X86LegacyFormat.SplitLeaf(1, X86LegacyFormat.MakeLeaf(1, 0x1_0000_0000, PageFlags.None)));
        // RISC-V leaves look the same at every level.
        ulong mega = Sv39Format.MakeLeaf(1, 0x20_0000, PageFlags.Writable);
        Assert.Equal(mega, Sv39Format.SplitLeaf(1, mega));
    }

    [Fact]
    public void BitNames()
    {
        ulong pde = X86LongModeFormat.MakeLeaf(1, 0x20_0000, PageFlags.Writable | PageFlags.Global) | (1UL << 12);
        Assert.Equal("PS", X86LongModeFormat.BitName(1, pde, 7));
        Assert.Equal("PAT", X86LongModeFormat.BitName(1, pde, 12));
        Assert.Equal("G", X86LongModeFormat.BitName(1, pde, 8));
        Assert.Equal("XD", X86LongModeFormat.BitName(1, pde, 63));
        Assert.Null(X86LongModeFormat.BitName(1, pde, 21)); // address bit
        Assert.Equal("PAT", X86LongModeFormat.BitName(0, X86LongModeFormat.MakeLeaf(0, 0x1000, PageFlags.None), 7));
        Assert.Null(X86LongModeFormat.BitName(1, X86LongModeFormat.MakeTable(1, 0x1000), 8)); // G ignored in a pointer
        Assert.Equal("PWT", X86PaeFormat.BitName(2, 0x9, 3));
        Assert.Equal("X", Sv39Format.BitName(0, 0, 3));
        Assert.Equal("PML4", X86LongModeFormat.LevelName(3));
        Assert.Equal("PD", X86LegacyFormat.LevelName(1));
        Assert.Equal("L2", Sv39Format.LevelName(2));
    }

    // Expect: the bits the MMU ignores and software may use are named: x86 9-11 (Linux's
    // SOFTW1-3) in every format, 52-58 in 4-level entries; RISC-V's two RSW bits.
    [Fact]
    public void BitNames_SoftwareBits()
    {
        ulong pte = X86LongModeFormat.MakeLeaf(0, 0x1000, PageFlags.Writable);
        Assert.Equal(new[] { "SW1", "SW2", "SW3" }, new[] { 9, 10, 11 }.Select(b => X86LongModeFormat.BitName(0, pte, b)));
        Assert.Equal("SW52", X86LongModeFormat.BitName(0, pte, 52));
        Assert.Equal("SW58", X86LongModeFormat.BitName(3, X86LongModeFormat.MakeTable(3, 0x1000), 58));
        Assert.Equal("SW1", X86LegacyFormat.BitName(0, 0x1003, 9));
        Assert.Equal("SW3", X86PaeFormat.BitName(0, 0x1003, 11));
        Assert.Equal("RSW0", Sv39Format.BitName(0, 0, 8));
        Assert.Equal("RSW1", Sv39Format.BitName(0, 0, 9));
    }
}
