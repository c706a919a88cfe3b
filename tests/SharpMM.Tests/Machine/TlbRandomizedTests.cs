using System.Collections.Generic;
using SharpMM.Hosted.Machine;
using SharpMM.Hosted.Workloads;
using Xunit;
using static SharpMM.Tests.Machine.PagingFixture;

namespace SharpMM.Tests.Machine;

/// <summary>
/// Seeded sequences of table changes, invalidations and accesses against a shadow map, on a TLB
/// small enough (4 sets x 2 ways) that entries are also evicted. Failures name the seed and step.
/// </summary>
public class TlbRandomizedTests
{
    private const ulong Va = 0x0000_0010_0000_0000;
    private const int Pages = 32, Frames = 64, Steps = 4000;

    private static PagingFixture Build(ulong?[] shadow)
    {
        var f = new PagingFixture(new MmuOptions { Tlb = new TlbGeometry(4, 2, 1, 1, 1) });
        f.Boot(PagingMode.FourLevel, t =>
        {
            for (int i = 0; i < Pages; i++)
            {
                shadow[i] = Frame(i);
                t.Map4K(Va + (ulong)i * KiB4, Frame(i), P | RW);
            }
        });
        return f;
    }

    /// <summary>Every change is followed by invlpg (or a CR3 reload, or a full flush).
    /// Expect: every translation equals the shadow map and no violation is ever reported.</summary>
    [Theory]
    [InlineData(1UL)]
    [InlineData(0xC0FFEEUL)]
    [InlineData(20240601UL)]
    public void DisciplinedInvalidationNeverServesAStaleTranslation(ulong seed)
    {
        var shadow = new ulong?[Pages];
        using PagingFixture f = Build(shadow);
        var rng = new SplitMix64(seed);
        for (int step = 0; step < Steps; step++)
        {
            int page = (int)SplitMix64.Bound(rng.Next(), Pages);
            ulong va = Va + (ulong)page * KiB4;
            uint op = SplitMix64.Bound(rng.Next(), 10);
            if (op < 3)
            {
                ChangeMapping(f, shadow, page, ref rng);
                uint how = SplitMix64.Bound(rng.Next(), 8);
                if (how == 0) f.Mmu.Cr3 = f.Root;
                else if (how == 1) f.Mmu.FlushAll();
                else f.Mmu.InvalidatePage(va);
            }
            else
            {
                CheckAccess(f, shadow, page, seed, step, staleAllowed: null);
            }
            Assert.True(f.Mmu.Tlb.ViolationCount == 0, $"seed {seed} step {step}: {(f.Mmu.Tlb.ViolationCount > 0 ? f.Mmu.Tlb.Violations[0] : default)}");
        }
        Assert.True(f.Mmu.Tlb.Evictions > 0, $"seed {seed}: the TLB never filled");
    }

    /// <summary>Changes are invalidated only sometimes. Expect: a translation is either the
    /// shadow's or a frame the page had since its last invalidation; the first stale use after an
    /// invalidation is reported by that very access, at its address (later ones may have been
    /// reported earlier: a change is reported once, and A -> B -> A between two uses is invisible
    /// to a hit); after a full flush none is stale.</summary>
    [Theory]
    [InlineData(7UL)]
    [InlineData(0xBADC0DEUL)]
    [InlineData(99991UL)]
    public void MissedInvalidationsAreReportedWhenTheStaleEntryIsUsed(ulong seed)
    {
        var shadow = new ulong?[Pages];
        using PagingFixture f = Build(shadow);
        var since = new HashSet<ulong>[Pages];   // frames the page had since its last invalidation
        for (int i = 0; i < Pages; i++) since[i] = new HashSet<ulong> { Frame(i) };
        var reported = new bool[Pages];          // a stale use was reported since the last invalidation
        var rng = new SplitMix64(seed);
        int staleServed = 0;
        for (int step = 0; step < Steps; step++)
        {
            int page = (int)SplitMix64.Bound(rng.Next(), Pages);
            ulong va = Va + (ulong)page * KiB4;
            uint op = SplitMix64.Bound(rng.Next(), 20);
            if (op < 4)
            {
                ChangeMapping(f, shadow, page, ref rng);
                if (shadow[page] is ulong frame) since[page].Add(frame);
            }
            else if (op < 6)
            {
                f.Mmu.InvalidatePage(va);
                since[page] = Current(shadow, page);
                reported[page] = false;
            }
            else if (op == 6 && SplitMix64.Bound(rng.Next(), 8) == 0)
            {
                f.Mmu.FlushAll();
                for (int i = 0; i < Pages; i++) (since[i], reported[i]) = (Current(shadow, i), false);
            }
            else
            {
                long before = f.Mmu.Tlb.ViolationCount;
                if (CheckAccess(f, shadow, page, seed, step, since[page]))
                {
                    staleServed++;
                    if (!reported[page])
                    {
                        Assert.True(f.Mmu.Tlb.ViolationCount == before + 1, $"seed {seed} step {step}: stale translation of 0x{va:x} served unreported");
                        IReadOnlyList<TlbViolation> v = f.Mmu.Tlb.Violations;
                        Assert.Equal(va + 8, v[v.Count - 1].VirtualAddress);
                        reported[page] = true;
                    }
                }
                Assert.True(f.Mmu.Tlb.ViolationCount - before <= 1, $"seed {seed} step {step}: one access, several reports");
            }
        }
        Assert.True(staleServed > 0, $"seed {seed}: no stale translation was ever served");
        f.Mmu.FlushAll();
        for (int i = 0; i < Pages; i++) CheckAccess(f, shadow, i, seed, Steps, staleAllowed: null);
    }

    private static HashSet<ulong> Current(ulong?[] shadow, int page) =>
        shadow[page] is ulong frame ? new HashSet<ulong> { frame } : new HashSet<ulong>();

    /// <summary>Remaps the page to a random frame (or unmaps it, one time in four).</summary>
    private static void ChangeMapping(PagingFixture f, ulong?[] shadow, int page, ref SplitMix64 rng)
    {
        ulong pte = f.EntryAddress(Va + (ulong)page * KiB4, 1);
        if (SplitMix64.Bound(rng.Next(), 4) == 0)
        {
            f.Set(pte, 0);
            shadow[page] = null;
            return;
        }
        ulong frame = Frame((int)SplitMix64.Bound(rng.Next(), Frames));
        f.Set(pte, frame | P | RW);
        shadow[page] = frame;
    }

    /// <summary>Reads the page. Returns true when the frame served is stale (allowed only when
    /// <paramref name="staleAllowed"/> holds it).</summary>
    private static bool CheckAccess(PagingFixture f, ulong?[] shadow, int page, ulong seed, int step, HashSet<ulong>? staleAllowed)
    {
        ulong va = Va + (ulong)page * KiB4;
        TranslationResult r = f.Mmu.Translate(va + 8, AccessKind.Read, Privilege.Supervisor, out ulong pa);
        ulong? served = r == TranslationResult.Ok ? pa - 8 : null;
        if (served == shadow[page]) return false;
        Assert.True(staleAllowed != null && served is ulong s && staleAllowed.Contains(s),
            $"seed {seed} step {step}: page {page} served {(served is ulong x ? $"0x{x:x}" : "a fault")}, tables say {(shadow[page] is ulong y ? $"0x{y:x}" : "unmapped")}");
        return true;
    }
}
