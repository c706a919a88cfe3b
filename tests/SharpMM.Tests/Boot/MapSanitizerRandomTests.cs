using System;
using System.Collections.Generic;
using System.Linq;
using SharpMM.Boot;
using Xunit;
using static SharpMM.Tests.Boot.BootTestKit;

namespace SharpMM.Tests.Boot;

/// <summary>
/// Random raw maps checked against a byte-interval reference model: for a sampled address the
/// sanitized type must equal the highest raw type covering it, where usable becomes reserved in
/// page 0 and the ISA hole, and usable survives elsewhere only when its whole 4 KiB page is usable.
/// </summary>
public class MapSanitizerRandomTests
{
    private static readonly MemoryType[] Types =
    {
        MemoryType.Usable, MemoryType.Usable, MemoryType.Usable, MemoryType.Reserved, MemoryType.AcpiData,
        MemoryType.AcpiNvs, MemoryType.Unusable, MemoryType.Persistent, MemoryType.PersistentLegacy, MemoryType.SoftReserved,
    };

    private record struct Raw(ulong Start, ulong End, MemoryType Type);

    /// <summary>Highest type among non-empty, non-zero-type entries holding <paramref name="a"/> (0: none).</summary>
    private static uint RawType(List<Raw> raw, ulong a)
    {
        uint best = 0;
        foreach (var e in raw)
            if (e.Start <= a && a < e.End && (uint)e.Type > best) best = (uint)e.Type;
        return best;
    }

    /// <summary>True when every byte of [lo, hi) has raw type usable: no higher type intersects it
    /// and the usable entries cover it without a gap.</summary>
    private static bool AllUsable(List<Raw> raw, ulong lo, ulong hi)
    {
        if (raw.Any(e => e.Type > MemoryType.Usable && e.Start < e.End && e.Start < hi && lo < e.End)) return false;
        ulong at = lo;
        foreach (var e in raw.Where(e => e.Type == MemoryType.Usable && e.Start < e.End).OrderBy(e => e.Start))
        {
            if (e.Start > at) break;
            if (e.End > at) at = e.End;
            if (at >= hi) return true;
        }
        return at >= hi;
    }

    private static uint Expected(List<Raw> raw, ulong a)
    {
        uint t = RawType(raw, a);
        if (t != (uint)MemoryType.Usable) return t;
        if (a < 0x1000 || (a >= 0xA0000 && a < 0x100000)) return (uint)MemoryType.Reserved;
        ulong page = a & ~0xfffUL;
        if (page > ulong.MaxValue - 0x1000) return 0; // the last page cannot be whole (End tops out at MaxValue)
        return AllUsable(raw, page, page + 0x1000) ? (uint)MemoryType.Usable : 0;
    }

    private static uint Actual(in MemoryMap map, ulong a)
    {
        for (int i = 0; i < map.Count; i++)
            if (map[i].Start <= a && a < map[i].End) return (uint)map[i].Type;
        return 0;
    }

    private static ulong RandomAddress(Random rng, ulong space)
    {
        ulong v = (ulong)rng.NextInt64(0, (long)space);
        return rng.Next(3) == 0 ? v & ~0xfffUL : v;  // a third page-aligned, the rest anywhere
    }

    private static List<Raw> RandomMap(Random rng)
    {
        var list = new List<Raw>();
        int n = rng.Next(1, 40);
        bool nearTop = rng.Next(8) == 0;
        ulong space = rng.Next(2) == 0 ? 0x200000UL : 0x4000000UL;
        for (int i = 0; i < n; i++)
        {
            ulong s = RandomAddress(rng, space);
            ulong len = rng.Next(10) == 0 ? 0 : (ulong)rng.NextInt64(1, (long)(space / (ulong)rng.Next(1, 16)));
            ulong e = Math.Min(space, s + len);
            if (nearTop)
            {
                s = ulong.MaxValue - space + s;
                e = e == space ? ulong.MaxValue : ulong.MaxValue - space + e;
            }
            list.Add(new Raw(s, e, Types[rng.Next(Types.Length)]));
        }
        return list;
    }

    [Fact]
    public void RandomMaps_MatchTheReferenceModel()
    {
        int baseSeed = Environment.GetEnvironmentVariable("SHARPMM_SEED") is string s ? int.Parse(s) : 20261121;
        int ok = 0, empty = 0;
        for (int iteration = 0; iteration < 400; iteration++)
        {
            int seed = baseSeed + iteration;
            var rng = new Random(seed);
            var rawList = RandomMap(rng);
            var raw = new MemoryMap();
            foreach (var e in rawList) raw.Add(e.Start, e.End, e.Type);
            var clean = Map((0x1000, 0x2000, MemoryType.Reserved));
            var status = MapSanitizer.Sanitize(ref raw, ref clean, out var error);

            // Sample every boundary and its neighbours, plus random addresses.
            var samples = new List<ulong>();
            foreach (var e in rawList)
                foreach (var b in new[] { e.Start, e.End, e.Start & ~0xfffUL, (e.End + 0xfff) & ~0xfffUL })
                    for (long d = -2; d <= 2; d++) samples.Add(unchecked(b + (ulong)d));
            foreach (var f in new ulong[] { 0xfff, 0x1000, 0x9ffff, 0xA0000, 0xfffff, 0x100000 }) samples.Add(f);
            ulong lowest = rawList.Min(e => e.Start);
            for (int k = 0; k < 200; k++) samples.Add(lowest + RandomAddress(rng, 0x4000000));

            bool anyUsable = HasWholeUsablePage(rawList);
            if (status == Status.EmptyMap)
            {
                Assert.False(anyUsable, $"seed {seed}: EmptyMap although a whole usable page exists");
                Assert.Equal(new[] { (0x1000UL, 0x2000UL, MemoryType.Reserved) }, Entries(clean));
                empty++;
                continue;
            }
            if (status == Status.NoSpace) continue;
            Assert.True(status == Status.Ok, $"seed {seed}: {Describe(error)}");
            ok++;
            Assert.True(anyUsable, $"seed {seed}: Ok without usable RAM");
            Assert.True(CheckSanitized(clean) is null, $"seed {seed}: {CheckSanitized(clean)}");
            foreach (ulong a in samples)
            {
                uint want = Expected(rawList, a), got = Actual(clean, a);
                Assert.True(want == got, $"seed {seed}: address 0x{a:x}: expected type {want}, got {got}\n{Dump(clean)}");
            }
        }
        // The generator must mostly produce maps with surviving RAM, or the comparison proves little.
        Assert.True(ok >= 200 && empty >= 10, $"only {ok} sanitized maps and {empty} empty ones out of 400");
    }

    /// <summary>Reference for "some usable RAM survives": a whole usable page outside page 0 and the
    /// ISA hole. If one exists, the maximal usable run holding it starts at an entry boundary or at
    /// 0x1000 / 0x100000, and the first whole page of that run is whole-usable too, so those
    /// candidates suffice.</summary>
    private static bool HasWholeUsablePage(List<Raw> raw)
    {
        var bounds = raw.SelectMany(e => new[] { e.Start, e.End }).Concat(new ulong[] { 0x1000, 0x100000 });
        foreach (ulong b in bounds)
        {
            if (b > ulong.MaxValue - 0x1fff) continue;
            ulong p = (b + 0xfff) & ~0xfffUL;
            if (p < 0x1000 || (p >= 0xA0000 && p < 0x100000)) continue;
            if (AllUsable(raw, p, p + 0x1000)) return true;
        }
        return false;
    }
}
