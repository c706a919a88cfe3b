using System;
using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using Xunit;
using static SharpMM.Tests.Machine.PagingFixture;

namespace SharpMM.Tests.Machine;

/// <summary>
/// The TLB (SDM vol. 3A, 4.10): cached translations survive table changes until invalidated;
/// the model reports their use; invlpg, CR3 loads and full flushes drop what the SDM says.
/// </summary>
[Collection(AllocationFreeCollection.Name)]
public class TlbTests
{
    private const ulong Va = 0x0000_0000_4000_0000;

    private static PagingFixture FourLevel(int pages = 4, MmuOptions? options = null, ulong leafFlags = P | RW,
        Cr4Flags cr4 = Cr4Flags.None)
    {
        var f = new PagingFixture(options);
        f.Boot(PagingMode.FourLevel, t =>
        {
            for (int i = 0; i < pages; i++) t.Map4K(Va + (ulong)i * KiB4, Frame(i), leafFlags);
        }, cr4: cr4);
        return f;
    }

    [Fact]
    public void FirstAccessMissesAndTheNextHits()
    {
        using PagingFixture f = FourLevel();
        Assert.Equal(TranslationResult.Ok, f.T(Va).Result);
        Assert.Equal((1L, 0L, 1L), (f.Mmu.Tlb.Misses, f.Mmu.Tlb.Hits, f.Mmu.Counters.Walks));
        Assert.Equal(TranslationResult.Ok, f.T(Va + 0x800).Result);
        Assert.Equal((1L, 1L, 1L), (f.Mmu.Tlb.Misses, f.Mmu.Tlb.Hits, f.Mmu.Counters.Walks));
        Assert.True(f.Mmu.Tlb.Contains(Va));
        Assert.Equal(1, f.Mmu.Tlb.Count);
    }

    [Fact]
    public void StaleTranslationIsServedAndReportedOnceUntilInvlpg()
    {
        // PTE(Va): Frame(0) -> Frame(1) with no invlpg. Expect: the old frame is still used, one
        // violation naming Va and the PTE; after invlpg the new frame, no further violation.
        using PagingFixture f = FourLevel();
        f.Poke64(Frame(0), 0xAAAA);
        f.Poke64(Frame(1), 0xBBBB);
        Assert.Equal(0xAAAAUL, f.Mmu.Read64(Va));
        ulong pte = f.EntryAddress(Va, 1);
        ulong cachedPte = f.Get(pte);
        f.Set(pte, Frame(1) | P | RW);

        Assert.Equal(0xAAAAUL, f.Mmu.Read64(Va));
        TlbViolation v = Assert.Single(f.Mmu.Tlb.Violations);
        Assert.Equal(Va, v.VirtualAddress);
        Assert.Equal(StaleKind.MappingChanged, v.Kind);
        Assert.Equal(1, v.Level);
        Assert.Equal(pte, v.EntryAddress);
        Assert.Equal(cachedPte, v.CachedValue);
        Assert.Equal(Frame(1) | P | RW, v.CurrentValue);
        Assert.Contains("translation used after its entry changed without invalidation", v.ToString());
        Assert.Contains($"0x{Va:x}", v.ToString());

        Assert.Equal(0xAAAAUL, f.Mmu.Read64(Va));   // still the old frame, not reported again
        Assert.Equal(1, f.Mmu.Tlb.ViolationCount);

        f.Mmu.InvalidatePage(Va);
        Assert.Equal(0xBBBBUL, f.Mmu.Read64(Va));
        Assert.Equal(1, f.Mmu.Tlb.ViolationCount);
    }

    [Fact]
    public void PanicModeThrowsOnTheFirstViolation()
    {
        using PagingFixture f = FourLevel();
        f.Mmu.Tlb.PanicOnViolation = true;
        f.Mmu.Read64(Va + KiB4);
        ulong pte = f.EntryAddress(Va + KiB4, 1);
        f.Set(pte, 0);   // unmapped without invlpg
        var ex = Assert.Throws<StaleTranslationException>(() => f.Mmu.Read64(Va + KiB4));
        Assert.Equal(Va + KiB4, ex.Violation.VirtualAddress);
        Assert.Equal(StaleKind.NotPresent, ex.Violation.Kind);
        Assert.Contains($"0x{Va + KiB4:x}", ex.Message);
    }

    [Fact]
    public void RewrittenPdeIsCaughtWhenEveryLevelIsChecked()
    {
        // The PDE is pointed at a new page table that maps Va to Frame(5); the old page table is
        // unchanged. Expect: a violation at level 2 with AllLevels, none with Leaf.
        foreach (StaleCheck check in new[] { StaleCheck.AllLevels, StaleCheck.Leaf })
        {
            using PagingFixture f = FourLevel();
            f.Mmu.Tlb.StaleCheck = check;
            f.Mmu.Read64(Va);
            ulong pde = f.EntryAddress(Va, 2);
            ulong newTable = f.NewTable();
            f.Poke64(newTable, Frame(5) | P | RW);
            f.Set(pde, newTable | P | RW | US);
            Assert.Equal(TranslationResult.Ok, f.T(Va).Result);
            if (check == StaleCheck.AllLevels)
            {
                TlbViolation v = Assert.Single(f.Mmu.Tlb.Violations);
                Assert.Equal((2, pde, StaleKind.MappingChanged), (v.Level, v.EntryAddress, v.Kind));
            }
            else
            {
                Assert.Empty(f.Mmu.Tlb.Violations);
            }
        }
    }

    [Fact]
    public void RaisingRightsWithoutInvalidationGivesASpuriousFaultThatDropsTheEntry()
    {
        // Read-only -> writable without invlpg (allowed by SDM 4.10.4.3). Expect: the write faults
        // from the cached rights (error 0x3), the fault drops the entry, the retry walks and succeeds.
        using PagingFixture f = FourLevel(leafFlags: P);
        f.Mmu.Cr0 |= Cr0Flags.WriteProtect;
        f.Mmu.Tlb.StalePolicy = StalePolicy.ReportUnsafeUse;
        f.Mmu.Read64(Va);
        ulong pte = f.EntryAddress(Va, 1);
        f.Set(pte, f.Get(pte) | RW);

        Assert.Equal(TranslationResult.PageFault, f.T(Va, AccessKind.Write).Result);
        Assert.Equal((PageFaultErrorCode)0x3, f.Mmu.LastFault.Error);
        Assert.Equal(1, f.Mmu.Tlb.CachedRightsFaults);
        Assert.False(f.Mmu.Tlb.Contains(Va));
        Assert.Equal(TranslationResult.Ok, f.T(Va, AccessKind.Write).Result);
        Assert.Empty(f.Mmu.Tlb.Violations);
    }

    [Fact]
    public void HarmlessChangeIsReportedOnlyUnderReportAnyChange()
    {
        foreach (StalePolicy policy in new[] { StalePolicy.ReportAnyChange, StalePolicy.ReportUnsafeUse })
        {
            using PagingFixture f = FourLevel(leafFlags: P);
            f.Mmu.Tlb.StalePolicy = policy;
            f.Mmu.Read64(Va);
            ulong pte = f.EntryAddress(Va, 1);
            f.Set(pte, f.Get(pte) | RW | US);   // rights raised
            f.Mmu.Read64(Va);
            if (policy == StalePolicy.ReportAnyChange)
                Assert.Equal(StaleKind.HarmlessChange, Assert.Single(f.Mmu.Tlb.Violations).Kind);
            else
                Assert.Empty(f.Mmu.Tlb.Violations);
        }
    }

    [Fact]
    public void AccessedAndSoftwareBitsMayChangeWithoutInvalidation()
    {
        using PagingFixture f = FourLevel();
        f.Mmu.Read64(Va);
        ulong pte = f.EntryAddress(Va, 1);
        f.Set(pte, (f.Get(pte) & ~A) | (1UL << 9) | (1UL << 52));   // age the page, use software bits
        f.Mmu.Read64(Va);
        Assert.Empty(f.Mmu.Tlb.Violations);
    }

    [Theory]
    [InlineData(StalePolicy.ReportAnyChange)]
    [InlineData(StalePolicy.ReportUnsafeUse)]
    public void UnsafeChangesAreReportedUnderEitherPolicy(StalePolicy policy)
    {
        (ulong Clear, ulong Set, StaleKind Kind)[] cases =
        {
            (D, 0, StaleKind.DirtyCleared),
            (RW, 0, StaleKind.RightsReduced),
            (0, PCD, StaleKind.AttributesChanged),
            (P, 0, StaleKind.NotPresent),
            (0, 1UL << 50, StaleKind.ReservedBit),
        };
        foreach (var c in cases)
        {
            using PagingFixture f = FourLevel();
            f.Mmu.Tlb.StalePolicy = policy;
            f.Mmu.Write64(Va, 1);   // cached dirty and writable
            ulong pte = f.EntryAddress(Va, 1);
            f.Set(pte, (f.Get(pte) & ~c.Clear) | c.Set);
            f.Mmu.Read64(Va);
            Assert.Equal(c.Kind, Assert.Single(f.Mmu.Tlb.Violations).Kind);
        }
    }

    [Fact]
    public void StaleLargePageIsReported()
    {
        using var f = new PagingFixture();
        ulong pde = 0;
        f.Boot(PagingMode.FourLevel, t => pde = t.MapLarge(0x4000_0000, 0x20_0000, P | RW));
        Assert.Equal((TranslationResult.Ok, 0x20_1234UL), f.T(0x4000_1234));
        f.Set(pde, 0x40_0000 | P | RW | PS);
        Assert.Equal((TranslationResult.Ok, 0x21_0000UL), f.T(0x4001_0000));
        Assert.Equal(0x4001_0000UL, Assert.Single(f.Mmu.Tlb.Violations).VirtualAddress);
        f.Mmu.InvalidatePage(0x401F_F000);   // any address inside the 2 MiB page
        Assert.Equal((TranslationResult.Ok, 0x41_0000UL), f.T(0x4001_0000));
    }

    [Fact]
    public void StaleCheckOffBehavesAsHardwareAndReportsNothing()
    {
        using PagingFixture f = FourLevel();
        f.Mmu.Tlb.StaleCheck = StaleCheck.Off;
        Assert.Equal(Frame(0), f.T(Va).Pa);
        f.Set(f.EntryAddress(Va, 1), Frame(3) | P | RW);
        Assert.Equal(Frame(0), f.T(Va).Pa);
        Assert.Empty(f.Mmu.Tlb.Violations);
    }

    [Theory]
    [InlineData(StaleCheck.Off, StaleCheck.Leaf, true)]
    [InlineData(StaleCheck.Off, StaleCheck.AllLevels, true)]
    [InlineData(StaleCheck.Leaf, StaleCheck.AllLevels, true)]
    [InlineData(StaleCheck.AllLevels, StaleCheck.Leaf, false)]
    [InlineData(StaleCheck.Leaf, StaleCheck.Off, false)]
    public void TurningTheStaleCheckUpDropsTranslationsCachedWithoutCopies(StaleCheck from, StaleCheck to, bool drops)
    {
        // Entries cached while an entry was not checked hold no copy of it: a check that covers
        // more starts from an empty TLB, and then catches a change made without invalidation.
        using PagingFixture f = FourLevel();
        f.Mmu.Tlb.StaleCheck = from;
        Assert.Equal(Frame(0), f.T(Va).Pa);
        Assert.True(f.Mmu.Tlb.Contains(Va));
        f.Mmu.Tlb.StaleCheck = to;
        Assert.Equal(!drops, f.Mmu.Tlb.Contains(Va));
        if (to == StaleCheck.Off) return;
        Assert.Equal(Frame(0), f.T(Va).Pa);
        f.Set(f.EntryAddress(Va, 1), Frame(3) | P | RW);
        Assert.Equal(Frame(0), f.T(Va).Pa);   // served stale, and reported
        Assert.Equal(Va, Assert.Single(f.Mmu.Tlb.Violations).VirtualAddress);
    }

    [Fact]
    public void InvlpgDropsGlobalEntries()
    {
        using PagingFixture f = FourLevel(leafFlags: P | RW | G, cr4: Cr4Flags.PageGlobalEnable);
        f.T(Va);
        Assert.True(f.Mmu.Tlb.Contains(Va));
        f.Mmu.InvalidatePage(Va + 0x123);
        Assert.False(f.Mmu.Tlb.Contains(Va));
        Assert.Equal(1, f.Mmu.Tlb.PageInvalidations);
    }

    [Fact]
    public void Cr3LoadKeepsGlobalEntriesOnlyWhenPgeIsSet()
    {
        // Pages 0 and 1; page 0 global. Expect after a CR3 load: page 0 cached (and still
        // served stale), page 1 gone; with CR4.PGE = 0 both gone.
        using (var f = new PagingFixture())
        {
            f.Boot(PagingMode.FourLevel, t =>
            {
                t.Map4K(Va, Frame(0), P | RW | G);
                t.Map4K(Va + KiB4, Frame(1), P | RW);
            }, cr4: Cr4Flags.PageGlobalEnable);
            f.T(Va);
            f.T(Va + KiB4);
            f.Set(f.EntryAddress(Va, 1), Frame(7) | P | RW | G);
            f.Mmu.Cr3 = f.Root;
            Assert.True(f.Mmu.Tlb.Contains(Va));
            Assert.False(f.Mmu.Tlb.Contains(Va + KiB4));
            Assert.Equal(Frame(0), f.T(Va).Pa);
            Assert.Equal(Va, Assert.Single(f.Mmu.Tlb.Violations).VirtualAddress);
        }
        using (var f = new PagingFixture())
        {
            f.Boot(PagingMode.FourLevel, t => t.Map4K(Va, Frame(0), P | RW | G));
            f.T(Va);
            f.Mmu.Cr3 = f.Root;
            Assert.False(f.Mmu.Tlb.Contains(Va));
        }
    }

    [Fact]
    public void FlushAllAndTogglingPgeDropGlobalEntries()
    {
        using PagingFixture f = FourLevel(leafFlags: P | RW | G, cr4: Cr4Flags.PageGlobalEnable);
        long flushes = f.Mmu.Tlb.FullFlushes;
        f.T(Va);
        f.Mmu.FlushAll();
        Assert.Equal(0, f.Mmu.Tlb.Count);
        f.T(Va);
        f.Mmu.Cr4 &= ~Cr4Flags.PageGlobalEnable;
        Assert.Equal(0, f.Mmu.Tlb.Count);
        Assert.Equal(flushes + 2, f.Mmu.Tlb.FullFlushes);
    }

    [Theory]
    [InlineData(4, 3)]     // sets padded to 4 slots, the fourth never used
    [InlineData(1, 200)]   // one set wider than 4 KiB of slots
    public void SetAssociativeTlb_WithAnyWayCount_CachesEvictsAndInvalidates(int sets, int ways)
    {
        // 13 pages through a TLB of sets x ways: Count is min(13, capacity) minus nothing, a
        // second pass over the last pages hits, invlpg drops exactly its page.
        using PagingFixture f = FourLevel(pages: 13, options: new MmuOptions { Tlb = new TlbGeometry(sets, ways, 1, 1, 1) });
        for (int i = 0; i < 13; i++) f.T(Va + (ulong)i * KiB4);
        int capacity = sets * ways;
        Assert.Equal(System.Math.Min(13, capacity), f.Mmu.Tlb.Count);
        Assert.Equal(System.Math.Max(0, 13 - capacity), f.Mmu.Tlb.Evictions);
        long hits = f.Mmu.Tlb.Hits;
        f.T(Va + 12 * KiB4);
        Assert.Equal(hits + 1, f.Mmu.Tlb.Hits);
        f.Mmu.InvalidatePage(Va + 12 * KiB4);
        Assert.False(f.Mmu.Tlb.Contains(Va + 12 * KiB4));
        Assert.Equal(System.Math.Min(13, capacity) - 1, f.Mmu.Tlb.Count);
    }

    [Fact]
    public void DirectMappedTlbEvictsOnConflict()
    {
        // 4 sets x 1 way. Pages 0..3 fill sets 0..3; page 4 maps to set 0 and evicts page 0.
        // Expect: 4 entries, one eviction, page 0 misses again.
        using PagingFixture f = FourLevel(pages: 5, options: new MmuOptions { Tlb = new TlbGeometry(4, 1, 1, 1, 1) });
        for (int i = 0; i < 5; i++) f.T(Va + (ulong)i * KiB4);
        Assert.Equal(4, f.Mmu.Tlb.Count);
        Assert.Equal(1, f.Mmu.Tlb.Evictions);
        Assert.False(f.Mmu.Tlb.Contains(Va));
        long misses = f.Mmu.Tlb.Misses;
        Assert.Equal(Frame(0), f.T(Va).Pa);
        Assert.Equal(misses + 1, f.Mmu.Tlb.Misses);
    }

    [Fact]
    public void SetAssociativeTlbKeepsConflictingPagesUpToItsWaysAndReplacesFifo()
    {
        // 2 sets x 2 ways. Pages 0, 2, 4 all map to set 0. Expect: 0 and 2 both cached; 4 evicts
        // 0 (first in); then 6 evicts 2.
        using PagingFixture f = FourLevel(pages: 7, options: new MmuOptions { Tlb = new TlbGeometry(2, 2, 1, 1, 1) });
        f.T(Va);
        f.T(Va + 2 * KiB4);
        Assert.True(f.Mmu.Tlb.Contains(Va) && f.Mmu.Tlb.Contains(Va + 2 * KiB4));
        f.T(Va);   // a hit does not refresh FIFO order
        f.T(Va + 4 * KiB4);
        Assert.False(f.Mmu.Tlb.Contains(Va));
        Assert.True(f.Mmu.Tlb.Contains(Va + 2 * KiB4));
        f.T(Va + 6 * KiB4);
        Assert.False(f.Mmu.Tlb.Contains(Va + 2 * KiB4));
        Assert.True(f.Mmu.Tlb.Contains(Va + 4 * KiB4) && f.Mmu.Tlb.Contains(Va + 6 * KiB4));
        Assert.Equal(2, f.Mmu.Tlb.Evictions);
    }

    [Fact]
    public void LargeAndHugePagesUseTheirOwnArrays()
    {
        using var f = new PagingFixture(new MmuOptions { Tlb = new TlbGeometry(1, 1, 1, 1, 1) });
        f.Boot(PagingMode.FourLevel, t =>
        {
            t.Map4K(0x1000, Frame(0), P | RW);
            t.MapLarge(0x4000_0000, 0x20_0000, P | RW);
            t.Map1G(0x80_0000_0000, 0x4000_0000, P | RW);
        });
        f.T(0x1000);
        f.T(0x4000_0000);
        f.T(0x80_0000_0000);
        Assert.Equal(3, f.Mmu.Tlb.Count);
        Assert.Equal(0, f.Mmu.Tlb.Evictions);
    }

    [Fact]
    public void GeometryIsValidated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TlbGeometry(3, 1, 1, 1, 1).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new TlbGeometry(4, 0, 1, 1, 1).Validate());
        // A set of the 4 KiB array must fit in 4 KiB of 32-byte slots unless it is the only set.
        Assert.Throws<ArgumentOutOfRangeException>(() => new TlbGeometry(2, 129, 1, 1, 1).Validate());
        new TlbGeometry(2, 128, 1, 1, 1).Validate();
        new TlbGeometry(1, 255, 1, 1, 1).Validate();
        Assert.Equal(1536, TlbGeometry.Default.SmallEntries);
        Assert.Equal(64, TlbGeometry.DirectMapped64.SmallEntries);
    }

    [Fact]
    public void TlbHitPathDoesNotAllocate()
    {
        using PagingFixture f = FourLevel();
        ulong sum = 0;
        f.Mmu.Translate(Va, AccessKind.Read, Privilege.Supervisor, out _);
        long before, after;
        using (new NoGcRegion())
        {
            before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10_000; i++)
            {
                f.Mmu.Translate(Va + (ulong)(i & 0xFF8), AccessKind.Read, Privilege.Supervisor, out ulong pa);
                sum += pa;
                sum += f.Mmu.Read64(Va + 8);
            }
            after = GC.GetAllocatedBytesForCurrentThread();
            Assert.True(NoGcRegion.Held, "a collection ran during the measurement");
        }
        Assert.Equal(before, after);
        Assert.NotEqual(0UL, sum);
    }
}
