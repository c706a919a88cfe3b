using System;
using System.Collections.Generic;
using SharpMM.Hosted.Machine;
using SharpMM.Hosted.Workloads;
using Xunit;
using static SharpMM.Tests.Machine.PagingFixture;

namespace SharpMM.Tests.Machine;

/// <summary>
/// The fast walk against the general walker: two MMUs, one with <see cref="MmuOptions.FastWalk"/>
/// and one without, over two RAMs that receive the same 4-level tables and the same seeded
/// sequence of entry rewrites (present or not, Accessed clear, reserved bits, PS, XD, tables above
/// the largest power of two within RAM or outside RAM), accesses (every kind and privilege,
/// canonical or not), invalidations, register changes and stale-check settings. After every step
/// the two must agree on the result, the physical address, the fault, every counter, the recorded
/// violations and the table bytes (Accessed and Dirty bits). Failures name the seed and step.
/// </summary>
public unsafe class FastWalkEquivalenceTests
{
    // 48 MiB of RAM: the fast walk only follows tables below 32 MiB.
    private const ulong RamBytes = 48UL << 20;
    private const ulong HighTable = 40UL << 20;       // in RAM, above the fast-walk limit
    private const ulong OutsideTable = 56UL << 20;    // beyond RAM
    private const int Steps = 6000;

    // PML4 slots 1 and 256 (the high half), PDPT slots 0 and 3, PD slots 0..3, PT slots 0..7.
    private static readonly int[] Slots4 = { 1, 256 };
    private static readonly int[] Slots3 = { 0, 3 };
    private const int Slots2 = 4, Slots1 = 8;

    private sealed class Machine : IDisposable
    {
        public readonly PagingFixture F;
        public Machine(MmuOptions options) => F = new PagingFixture(options, RamBytes);
        public void Dispose() => F.Dispose();
    }

    public static IEnumerable<object[]> Cases()
    {
        ulong[] seeds = { 1, 0xC0FFEE, 20240601 };
        foreach (ulong seed in seeds)
        {
            yield return new object[] { seed, "DirectMapped64" };
            yield return new object[] { seed, "4x2" };
            yield return new object[] { seed, "Default" };
        }
        yield return new object[] { 7UL, "DirectMapped64-no1G" };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FastWalkAgreesWithTheGeneralWalker(ulong seed, string geometry)
    {
        TlbGeometry g = geometry switch
        {
            "4x2" => new TlbGeometry(4, 2, 2, 1, 2),
            "Default" => TlbGeometry.Default,
            _ => TlbGeometry.DirectMapped64,
        };
        bool gigantic = !geometry.EndsWith("no1G", StringComparison.Ordinal);
        using var fast = new Machine(new MmuOptions { Tlb = g, Supports1GiBPages = gigantic });
        using var slow = new Machine(new MmuOptions { Tlb = g, Supports1GiBPages = gigantic, FastWalk = false });
        var rng = new SplitMix64(seed);

        // Identical tables in both RAMs: every slot of the region mapped, most entries plain.
        (ulong[] tables, Dictionary<ulong, ulong> under) = BuildTables(fast.F, slow.F);
        foreach (Machine m in new[] { fast, slow })
        {
            m.F.Mmu.Cr0 = Cr0Flags.WriteProtect;
            m.F.Mmu.Cr4 = Cr4Flags.PageGlobalEnable;
            m.F.Mmu.Efer = EferFlags.NoExecuteEnable;
            m.F.Mmu.EnablePaging(PagingMode.FourLevel, m.F.Root);
        }

        long fills = 0, ok = 0, faults = 0;
        for (int step = 0; step < Steps; step++)
        {
            uint op = SplitMix64.Bound(rng.Next(), 100);
            if (op < 12)
            {
                RewriteEntry(fast.F, slow.F, under, ref rng);
            }
            else if (op < 15)
            {
                ulong va = RandomVa(ref rng);
                if (((long)va << 16 >> 16) == (long)va)
                {
                    fast.F.Mmu.InvalidatePage(va);
                    slow.F.Mmu.InvalidatePage(va);
                }
            }
            else if (op == 15)
            {
                fast.F.Mmu.Cr3 = fast.F.Root;
                slow.F.Mmu.Cr3 = slow.F.Root;
            }
            else if (op == 16)
            {
                Cr0Flags cr0 = fast.F.Mmu.Cr0 ^ Cr0Flags.WriteProtect;
                fast.F.Mmu.Cr0 = cr0;
                slow.F.Mmu.Cr0 = cr0;
            }
            else if (op == 17)
            {
                Cr4Flags cr4 = fast.F.Mmu.Cr4 ^ Cr4Flags.PageGlobalEnable;
                fast.F.Mmu.Cr4 = cr4;
                slow.F.Mmu.Cr4 = cr4;
            }
            else if (op == 18)
            {
                // NXE can only change with paging off: off, flip, on again (flushes everything).
                EferFlags efer = fast.F.Mmu.Efer ^ EferFlags.NoExecuteEnable;
                foreach (Machine m in new[] { fast, slow })
                {
                    m.F.Mmu.Cr0 &= ~Cr0Flags.Paging;
                    m.F.Mmu.Efer = (efer & ~EferFlags.LongModeActive) | EferFlags.LongModeEnable;
                    m.F.Mmu.Cr0 |= Cr0Flags.Paging;
                }
            }
            else if (op == 19)
            {
                var check = (StaleCheck)SplitMix64.Bound(rng.Next(), 3);
                fast.F.Mmu.Tlb.StaleCheck = check;
                slow.F.Mmu.Tlb.StaleCheck = check;
            }
            else if (op == 20)
            {
                fills += fast.F.Mmu.Tlb.Fills;
                fast.F.Mmu.Tlb.ResetCounters();
                slow.F.Mmu.Tlb.ResetCounters();
                fast.F.Mmu.Counters.Reset();
                slow.F.Mmu.Counters.Reset();
            }
            else
            {
                ulong va = RandomVa(ref rng) + SplitMix64.Bound(rng.Next(), 4096);
                var kind = (AccessKind)SplitMix64.Bound(rng.Next(), 3);
                var privilege = (Privilege)SplitMix64.Bound(rng.Next(), 2);
                string a = Translate(fast.F.Mmu, va, kind, privilege);
                string b = Translate(slow.F.Mmu, va, kind, privilege);
                Assert.True(a == b, $"seed {seed} {geometry} step {step}: {kind} {privilege} 0x{va:x}: fast walk {a}, general walker {b}");
                if (a.StartsWith("ok", StringComparison.Ordinal)) ok++;
                else if (a.StartsWith("#PF", StringComparison.Ordinal)) faults++;
            }
            Compare(fast.F, slow.F, tables, $"seed {seed} {geometry} step {step}");
        }
        fills += fast.F.Mmu.Tlb.Fills;
        Assert.True(fills > 300 && ok > 1000 && faults > 300, $"seed {seed} {geometry}: {fills} fills, {ok} translations, {faults} faults");
    }

    private static string Translate(Mmu mmu, ulong va, AccessKind kind, Privilege privilege)
    {
        try
        {
            TranslationResult r = mmu.Translate(va, kind, privilege, out ulong pa);
            return r switch
            {
                TranslationResult.Ok => $"ok 0x{pa:x}",
                TranslationResult.PageFault => $"#PF {Mmu.Describe(mmu.LastFault)} cr2 0x{mmu.Cr2:x} pa 0x{pa:x}",
                _ => $"{r} pa 0x{pa:x}",
            };
        }
        catch (PhysicalAddressException e)
        {
            return $"outside RAM 0x{e.PhysicalAddress:x}";
        }
    }

    private static void Compare(PagingFixture a, PagingFixture b, ulong[] tables, string where)
    {
        Tlb ta = a.Mmu.Tlb, tb = b.Mmu.Tlb;
        MmuCounters ca = a.Mmu.Counters, cb = b.Mmu.Counters;
        Assert.True((ta.Hits, ta.Misses, ta.Fills, ta.Evictions, ta.Count, ta.DirtyWalks, ta.CachedRightsFaults, ta.FaultInvalidations)
            == (tb.Hits, tb.Misses, tb.Fills, tb.Evictions, tb.Count, tb.DirtyWalks, tb.CachedRightsFaults, tb.FaultInvalidations),
            $"{where}: TLB counters: fast walk hits {ta.Hits} misses {ta.Misses} fills {ta.Fills} evictions {ta.Evictions} count {ta.Count}, " +
            $"general walker hits {tb.Hits} misses {tb.Misses} fills {tb.Fills} evictions {tb.Evictions} count {tb.Count}");
        Assert.True((ca.Walks, ca.PageFaults, ca.NotPresent, ca.Protection, ca.ReservedBit, ca.GeneralProtection)
            == (cb.Walks, cb.PageFaults, cb.NotPresent, cb.Protection, cb.ReservedBit, cb.GeneralProtection),
            $"{where}: MMU counters: fast walk walks {ca.Walks} faults {ca.PageFaults}, general walker walks {cb.Walks} faults {cb.PageFaults}");
        Assert.True(ta.ViolationCount == tb.ViolationCount, $"{where}: violations {ta.ViolationCount} vs {tb.ViolationCount}");
        for (int i = 0; i < ta.Violations.Count; i++)
            Assert.True(ta.Violations[i] == tb.Violations[i], $"{where}: violation {i}: {ta.Violations[i]} vs {tb.Violations[i]}");
        foreach (ulong t in tables)
            Assert.True(new ReadOnlySpan<byte>(a.Ram.Base + t, 4096).SequenceEqual(new ReadOnlySpan<byte>(b.Ram.Base + t, 4096)),
                $"{where}: the table at 0x{t:x} differs");
    }

    private static ulong Va(int i4, int i3, int i2, int i1)
    {
        ulong va = ((ulong)i4 << 39) | ((ulong)i3 << 30) | ((ulong)i2 << 21) | ((ulong)i1 << 12);
        return (ulong)((long)(va << 16) >> 16);
    }

    private static ulong RandomVa(ref SplitMix64 rng)
    {
        ulong va = Va(Slots4[SplitMix64.Bound(rng.Next(), 2)], Slots3[SplitMix64.Bound(rng.Next(), 2)],
            (int)SplitMix64.Bound(rng.Next(), Slots2), (int)SplitMix64.Bound(rng.Next(), Slots1));
        // Now and then the same page with bits 63:48 flipped: non-canonical, its low 48 bits mapped.
        return SplitMix64.Bound(rng.Next(), 40) == 0 ? va ^ 0xFFFF_0000_0000_0000UL : va;
    }

    /// <summary>Builds the same tables in both RAMs: every slot of the region mapped, entries plain.
    /// Returns every table page (to compare bytes) and, per non-leaf entry, the table it points at.</summary>
    private static (ulong[] Tables, Dictionary<ulong, ulong> Under) BuildTables(PagingFixture a, PagingFixture b)
    {
        a.Start(PagingMode.FourLevel);
        b.Start(PagingMode.FourLevel);
        var tables = new List<ulong> { a.Root, HighTable };
        var under = new Dictionary<ulong, ulong>();
        foreach (int i4 in Slots4)
            foreach (int i3 in Slots3)
                for (int i2 = 0; i2 < Slots2; i2++)
                    for (int i1 = 0; i1 < Slots1; i1++)
                    {
                        ulong va = Va(i4, i3, i2, i1);
                        a.Map4K(va, Frame(i1 + 8 * i2), P | RW | US);
                        b.Map4K(va, Frame(i1 + 8 * i2), P | RW | US);
                        for (int level = 4; level >= 2; level--)
                        {
                            ulong entry = a.EntryAddress(va, level);
                            ulong table = a.Get(entry) & 0x000F_FFFF_FFFF_F000UL;
                            under[entry] = table;
                            if (!tables.Contains(table)) tables.Add(table);
                        }
                    }
        Assert.Equal(a.Root, b.Root);
        new Span<byte>(a.Ram.Base + HighTable, 4096).Clear();
        new Span<byte>(b.Ram.Base + HighTable, 4096).Clear();
        for (int i1 = 0; i1 < Slots1; i1++)
        {
            a.Poke64(HighTable + (ulong)i1 * 8, Frame(100 + i1) | P | RW | US);
            b.Poke64(HighTable + (ulong)i1 * 8, Frame(100 + i1) | P | RW | US);
        }
        return (tables.ToArray(), under);
    }

    /// <summary>Where the entry at <paramref name="level"/> for <paramref name="va"/> lies now,
    /// following the current entries' addresses whatever their flags; ulong.MaxValue when the
    /// way there leaves RAM.</summary>
    private static ulong EntryAddress(PagingFixture f, ulong va, int level)
    {
        ulong table = f.Root;
        for (int l = 4; ; l--)
        {
            ulong entry = table + (((va >> (12 + 9 * (l - 1))) & 511) << 3);
            if (entry > RamBytes - 8) return ulong.MaxValue;
            if (l == level) return entry;
            table = f.Peek64(entry) & 0x000F_FFFF_FFFF_F000UL;
        }
    }

    /// <summary>Rewrites one entry of the region, the same in both RAMs, without invalidating.</summary>
    private static void RewriteEntry(PagingFixture a, PagingFixture b, Dictionary<ulong, ulong> under, ref SplitMix64 rng)
    {
        int level = 1 + (int)SplitMix64.Bound(rng.Next(), 4);
        ulong va = RandomVa(ref rng);
        if (((long)va << 16 >> 16) != (long)va) return;
        ulong address = EntryAddress(a, va, level);
        if (address == ulong.MaxValue) return;
        ulong value;
        uint pick = SplitMix64.Bound(rng.Next(), 20);
        if (level == 1)
        {
            value = Frame((int)SplitMix64.Bound(rng.Next(), 64)) | P;
            if (pick == 0) value = (1UL << 40) | P;                                    // a frame far above RAM: fine for a PTE
            if (SplitMix64.Bound(rng.Next(), 4) != 0) value |= RW;
            if (SplitMix64.Bound(rng.Next(), 4) != 0) value |= US;
            if (SplitMix64.Bound(rng.Next(), 2) == 0) value |= A;
            if (SplitMix64.Bound(rng.Next(), 4) == 0) value |= NX;
        }
        else
        {
            if (!under.TryGetValue(address, out ulong table)) return;   // under a large page or the high table
            value = table | P | A;
            if (SplitMix64.Bound(rng.Next(), 6) != 0) value |= RW;
            if (SplitMix64.Bound(rng.Next(), 6) != 0) value |= US;
            if (pick == 0 && level == 2) value = HighTable | P | A | RW | US;            // above the fast-walk limit
            if (pick == 1) value = OutsideTable | P | A | RW | US;                      // outside RAM
            if (pick == 2 || pick == 3) value &= ~A;                                    // the walk sets A
            if (pick == 4 && level != 4) value = (level == 3 ? 0x4000_0000UL : 0x20_0000UL) | P | A | RW | US | PS;   // a large page
        }
        if (SplitMix64.Bound(rng.Next(), 2) == 0)
        {
            // Half the rewrites repair: a plain present entry (Accessed set above the PTE), some
            // of them execute-disable.
            value = level == 1 ? Frame((int)SplitMix64.Bound(rng.Next(), 64)) | P | RW | US : under[address] | P | A | RW | US;
            if (SplitMix64.Bound(rng.Next(), 4) == 0) value |= NX;
        }
        else switch (SplitMix64.Bound(rng.Next(), 16))
        {
            case 0: value &= ~P; break;
            case 1: value |= NX; break;
            case 2: value |= 1UL << 47; break;                                          // reserved: at or above MAXPHYADDR 46
            case 3: value |= G | D; break;
            case 4: value |= PWT | PCD | 0xE00UL | (0x7FFUL << 52); break;              // caching and ignored bits
            case 5: value |= PS; break;                                                 // PAT in a PTE, a large page or reserved above
        }
        a.Poke64(address, value);
        b.Poke64(address, value);
    }
}
