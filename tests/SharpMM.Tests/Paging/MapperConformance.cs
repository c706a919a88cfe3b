using System;
using System.Collections.Generic;
using System.Linq;
using SharpMM.Addressing;
using SharpMM.Paging;
using SharpMM.Paging.RiscV;
using SharpMM.Paging.X86;
using Xunit;
using static SharpMM.Tests.Paging.PagingAssert;

namespace SharpMM.Tests.Paging;

/// <summary>
/// What the mapper guarantees on every format, checked over a private address space whose
/// tables live in simulated RAM, taken from a poisoning frame allocator (so an unzeroed or
/// freed table shows up as garbage) and reached through the direct map.
///
/// Geometry used by the tests (B = <see cref="Boundary"/>, the start of a top-level entry;
/// S1 = the level-1 span: 4 MiB on 32-bit and Sv32, 2 MiB elsewhere):
/// <code>
///     B - 8*S1                       B                        B + 8*S1
///        |-------- top entry n-1 -----|------ top entry n ------|
///   the randomised window and the multi-table MapRange straddle B, so both sides need
///   their own tables at every level below the top.
/// </code>
/// </summary>
public abstract unsafe partial class MapperConformance<TFormat> : IDisposable where TFormat : struct, IPagingFormat
{
    protected readonly TableRam Ram = new(8192);
    protected TestFrames Frames;
    protected Mapper<TFormat, DirectMapTableAccess> M;
    /// <summary>Free frames before the root was allocated.</summary>
    protected readonly ulong FreeBeforeRoot;

    /// <summary>A virtual address aligned to a top-level entry, with the one below it usable too.</summary>
    protected abstract ulong Boundary { get; }
    /// <summary>A virtual address the format rejects.</summary>
    protected abstract ulong NonCanonical { get; }

    protected static int Top => TFormat.Levels - 1;
    protected static ulong Span(int level) => 1UL << TFormat.IndexShift(level);
    protected static ulong S1 => Span(1);
    protected static PageFlags Eff(PageFlags f) => TFormat.Effective(f);
    /// <summary>The largest page the format maps.</summary>
    protected static ulong BigSpan => 1UL << (int)Mapper<TFormat, DirectMapTableAccess>.LargestSize;
    /// <summary>A physical address with the same alignment as <paramref name="va"/> up to the
    /// largest page size, low enough for every format.</summary>
    protected ulong Phys(ulong va) => va - Boundary + 4 * BigSpan;

    protected MapperConformance()
    {
        Frames = Ram.Frames();
        FreeBeforeRoot = Ram.Free;
        Assert.Equal(Status.Ok, Mapper<TFormat, DirectMapTableAccess>.Create(Ram.Access, ref Frames, out M));
        Assert.Equal(FreeBeforeRoot - 1, Ram.Free);
    }

    public void Dispose()
    {
        Ram.Dispose();
        GC.SuppressFinalize(this);
    }

    protected static IEnumerable<MappingSize> Sizes()
    {
        foreach (MappingSize s in Enum.GetValues<MappingSize>())
            if (Mapper<TFormat, DirectMapTableAccess>.TryGetLevel(s, out _)) yield return s;
    }

    protected List<LeafMapping> Leaves()
    {
        var v = LeafList.New();
        M.Visit(ref v);
        return v.Leaves;
    }

    protected ulong Tables() => M.Census().TotalTables;

    // An unmap allocates frames only to split large pages.
    protected ulong SplitCount() => (ulong)Frames.Allocations;

    /// <summary>Every table below the root holds at least one non-zero entry (except, after
    /// FixRootEntries, the root's own children, which stay even when empty), and the frame
    /// count adds up: free now + tables = free before the root.</summary>
    protected void CheckInvariants(string ctx)
    {
        var v = LeafList.New();
        M.Visit(ref v);
        foreach (var (level, va, phys) in v.Tables)
        {
            if (level == Top) continue;
            if (level == Top - 1 && M.RootEntriesFixed) continue;
            bool any = false;
            for (int i = 0; i < TFormat.EntriesPerTable(level); i++)
                if (TFormat.Read(Ram.Ptr(phys), i) != 0) { any = true; break; }
            Assert.True(any, $"{ctx}: empty level-{level} table at 0x{phys:x} (va 0x{va:x}) was not freed");
        }
        Assert.True(Ram.Free + (ulong)v.Tables.Count == FreeBeforeRoot, $"{ctx}: {Ram.Free} free + {v.Tables.Count} tables != {FreeBeforeRoot}");
        if (typeof(TFormat) == typeof(X86LongModeFormat)) PresentCounts.Check(ref M, Ram, v.Tables, ctx);
    }

    private FlushToken _t;
    private FlushBatch _b;

    protected Status Map(ulong va, ulong pa, MappingSize size, PageFlags f) => M.Map(V(va), P(pa), size, f, ref Frames, out _t);
    protected Status Unmap(ulong va) => M.Unmap(V(va), ref Frames, out _t);
    protected Status Protect(ulong va, PageFlags f) => M.Protect(V(va), f, out _t);
    protected Status MapRange(ulong va, ulong pa, ulong bytes, PageFlags f) => M.MapRange(V(va), P(pa), bytes, f, ref Frames, ref _b);
    protected Status MapRange(ulong va, ulong pa, ulong bytes, PageFlags f, MappingSize largest) => M.MapRange(V(va), P(pa), bytes, f, largest, ref Frames, ref _b);
    protected Status UnmapRange(ulong va, ulong bytes) => M.UnmapRange(V(va), bytes, ref Frames, ref _b);
    protected Status ProtectRange(ulong va, ulong bytes, PageFlags f) => M.ProtectRange(V(va), bytes, f, ref Frames, ref _b);

    [Fact]
    public void MapTranslateUnmap_EveryPageSize()
    {
        const PageFlags f = PageFlags.Writable | PageFlags.Global;
        foreach (MappingSize size in Sizes())
        {
            ulong bytes = 1UL << (int)size;
            ulong va = Boundary + 2 * bytes, pa = 5 * bytes;
            Assert.Equal(Status.Ok, Map(va, pa, size, f));
            if (TFormat.NewMappingNeedsFlush) Assert.True(_t.HasPage && _t.VirtualAddress == va && _t.IsGlobal);
            else Assert.False(_t.HasPage, "a new mapping where nothing was present needs no invalidation");
            foreach (ulong off in new[] { 0UL, 0x123UL, bytes - 1 })
            {
                Assert.Equal(Status.Ok, M.Translate(V(va + off), out Translation t));
                Assert.Equal(pa + off, t.Phys.Value);
                Assert.Equal(pa, t.PageBase.Value);
                Assert.Equal(va, t.PageStart.Value);
                Assert.Equal(size, t.Size);
                Assert.Equal(Eff(f), t.Flags);
            }
            Assert.Equal(Status.NotMapped, M.Translate(V(va + bytes), out _));
            Assert.Equal(Status.NotMapped, M.Translate(V(va - 1), out _));
            CheckInvariants($"after mapping {size}");
            Assert.Equal(Status.Ok, Unmap(va));
            Assert.True(_t.HasPage && _t.VirtualAddress == va && _t.IsGlobal, $"{size}: unmap token {_t.VirtualAddress:x} page {_t.HasPage} global {_t.IsGlobal}");
            Assert.Equal(Status.NotMapped, M.Translate(V(va), out _));
            Assert.Equal(1UL, Tables());
            Assert.Equal(FreeBeforeRoot - 1, Ram.Free);
        }
    }

    // The unmap token carries Global from the old entry (kept apart from the page word): set
    // for a global page, clear otherwise, with a neighbour keeping the table (the inline path)
    // and without (the path that frees tables).
    [Fact]
    public void UnmapToken_GlobalComesFromTheOldEntry()
    {
        ulong keeper = Boundary + 9 * PageSize.Bytes;
        foreach (bool neighbour in new[] { true, false })
            foreach (PageFlags f in new[] { PageFlags.Writable, PageFlags.Writable | PageFlags.Global })
            {
                ulong va = Boundary + 3 * PageSize.Bytes;
                if (neighbour) Assert.Equal(Status.Ok, Map(keeper, 0x7000, MappingSize.Size4KiB, PageFlags.None));
                Assert.Equal(Status.Ok, Map(va, 0x5000, MappingSize.Size4KiB, f));
                Assert.Equal(Status.Ok, Unmap(va));
                bool global = (f & PageFlags.Global) != 0;
                Assert.True(_t.HasPage && _t.VirtualAddress == va && _t.IsGlobal == global && !_t.NeedsFullFlush,
                    $"neighbour {neighbour}, {f}: token page {_t.HasPage} at {_t.VirtualAddress:x}, global {_t.IsGlobal}, full {_t.NeedsFullFlush}");
                if (neighbour) Assert.Equal(Status.Ok, Unmap(keeper));
                Assert.Equal(1UL, Tables());
            }
    }

    [Fact]
    public void Protect_EveryFlagCombination()
    {
        ulong va = Boundary + 7 * PageSize.Bytes;
        Assert.Equal(Status.Ok, Map(va, 0x1234_5000, MappingSize.Size4KiB, PageFlags.None));
        for (int bits = 0; bits < 256; bits++)
        {
            var f = (PageFlags)bits;
            Assert.Equal(Status.Ok, Protect(va, f));
            Assert.Equal(Status.Ok, M.Translate(V(va), out Translation t));
            Assert.Equal(Eff(f), t.Flags);
            Assert.Equal(0x1234_5000UL, t.PageBase.Value);
        }
        Assert.Equal(Status.Ok, Protect(va, PageFlags.Writable));
        Assert.Equal(Status.Ok, Protect(va, PageFlags.Writable));
        Assert.True(_t.IsEmpty, "an unchanged entry needs no flush");
    }

    [Fact]
    public void Failures_AreStatuses_AndChangeNothing()
    {
        MappingSize large = Sizes().Where(s => s != MappingSize.Size4KiB).Min();
        ulong lb = 1UL << (int)large;
        ulong va = Boundary + 4 * lb;
        Assert.Equal(Status.Ok, Map(va, 4 * lb, large, PageFlags.Writable));
        Assert.Equal(Status.Ok, Map(va + lb, 0x7000, MappingSize.Size4KiB, PageFlags.None));
        var before = Leaves();
        ulong free = Ram.Free;

        // AlreadyMapped: the same page again, a range over it, a large page over a table.
        Assert.Equal(Status.AlreadyMapped, Map(va, 0, large, PageFlags.None));
        Assert.Equal(Status.AlreadyMapped, Map(va + lb, 0x9000, MappingSize.Size4KiB, PageFlags.None));
        Assert.Equal(Status.AlreadyMapped, Map(va + lb, 0, large, PageFlags.None));
        Assert.Equal(Status.AlreadyMapped, MapRange(va + lb, 0x1000, 2 * PageSize.Bytes, PageFlags.None));
        // ParentIsHugePage: a 4 KiB page inside the large one; unmap/protect of its inside.
        Assert.Equal(Status.ParentIsHugePage, Map(va + PageSize.Bytes, 0, MappingSize.Size4KiB, PageFlags.None));
        Assert.Equal(Status.ParentIsHugePage, Unmap(va + PageSize.Bytes));
        Assert.Equal(Status.ParentIsHugePage, Protect(va + PageSize.Bytes, PageFlags.None));
        Assert.Equal(Status.ParentIsHugePage, MapRange(va + PageSize.Bytes, 0x1000, PageSize.Bytes, PageFlags.None));
        Assert.Equal(Status.ParentIsHugePage, MapRange(va - 4 * PageSize.Bytes, 0, lb, PageFlags.None)); // runs into the large page
        // NotMapped.
        ulong hole = va + 3 * lb;
        Assert.Equal(Status.NotMapped, Unmap(hole));
        Assert.Equal(Status.NotMapped, Protect(hole, PageFlags.None));
        Assert.Equal(Status.NotMapped, M.Translate(V(hole), out _));
        Assert.Equal(Status.NotMapped, UnmapRange(hole, lb));
        Assert.Equal(Status.NotMapped, ProtectRange(va, 3 * lb, PageFlags.None)); // a hole after the second page
        // Misaligned.
        Assert.Equal(Status.Misaligned, Map(hole + 1, 0, MappingSize.Size4KiB, PageFlags.None));
        Assert.Equal(Status.Misaligned, Map(hole, 0x1001, MappingSize.Size4KiB, PageFlags.None));
        Assert.Equal(Status.Misaligned, Map(hole + PageSize.Bytes, 0, large, PageFlags.None));
        Assert.Equal(Status.Misaligned, Map(hole, PageSize.Bytes, large, PageFlags.None));
        Assert.Equal(Status.Misaligned, MapRange(hole, 0, 100, PageFlags.None));
        Assert.Equal(Status.Misaligned, MapRange(hole, 0x10, PageSize.Bytes, PageFlags.None));
        Assert.Equal(Status.Misaligned, Unmap(va + 8));
        Assert.Equal(Status.Misaligned, UnmapRange(va, 0x800));
        // InvalidArgument: non-canonical, a size the format does not have, unknown flag bits,
        // physical addresses beyond the format, zero length.
        Assert.Equal(Status.InvalidArgument, Map(NonCanonical, 0, MappingSize.Size4KiB, PageFlags.None));
        Assert.Equal(Status.InvalidArgument, M.Translate(V(NonCanonical), out _));
        Assert.Equal(Status.InvalidArgument, Unmap(NonCanonical));
        foreach (MappingSize s in Enum.GetValues<MappingSize>().Except(Sizes()))
            Assert.Equal(Status.InvalidArgument, Map(hole & ~((1UL << (int)s) - 1), 0, s, PageFlags.None));
        Assert.Equal(Status.InvalidArgument, Map(hole, 0, MappingSize.Size4KiB, (PageFlags)(1 << 20)));
        Assert.Equal(Status.InvalidArgument, Map(hole, TFormat.LeafPhysLimit(0), MappingSize.Size4KiB, PageFlags.None));
        Assert.Equal(Status.InvalidArgument, MapRange(hole, 0, 0, PageFlags.None));
        Assert.Equal(Status.InvalidArgument, MapRange(NonCanonical - PageSize.Bytes, 0, 2 * PageSize.Bytes, PageFlags.None));
        // OutOfMemory: the first table allocation fails.
        Frames.FailAt = Frames.Allocations + 1;
        Assert.Equal(Status.OutOfMemory, Map(Boundary - 64 * S1, 0, MappingSize.Size4KiB, PageFlags.None));
        Frames.FailAt = 0;

        Assert.Equal(free, Ram.Free);
        Assert.Equal(before.Select(l => (l.Start, l.Phys, l.Size, l.Flags)), Leaves().Select(l => (l.Start, l.Phys, l.Size, l.Flags)));
        CheckInvariants("after the failures");
    }

    [Fact]
    public void MapRange_UsesTheLargestPagesAlignmentAllows()
    {
        var levels = Enumerable.Range(0, TFormat.Levels).Where(TFormat.CanBeLeaf).ToArray();
        ulong big = Span(levels[^1]);
        // [B - 2 pages, B + big + S1 + 4K) mapped 1:1: two 4K pages, one page of each larger size, one 4K page.
        ulong start = Boundary - 2 * PageSize.Bytes;
        ulong bytes = 2 * PageSize.Bytes + big + (levels.Length > 2 ? S1 : 0) + PageSize.Bytes;
        Assert.Equal(Status.Ok, MapRange(start, Phys(start), bytes, PageFlags.Writable));
        var sizes = Leaves().Select(l => (int)l.Size).ToList();
        var expected = new List<int> { 12, 12, TFormat.IndexShift(levels[^1]) };
        if (levels.Length > 2) expected.Add(TFormat.IndexShift(1));
        expected.Add(12);
        Assert.Equal(expected, sizes);
        CheckInvariants("large pages");
        Assert.Equal(Status.Ok, UnmapRange(start, bytes));
        Assert.Equal(1UL, Tables());

        // The same range with the physical side off by 4 KiB: only 4 KiB pages fit.
        Assert.Equal(Status.Ok, MapRange(Boundary, Phys(Boundary) + PageSize.Bytes, 2 * S1, PageFlags.None));
        Assert.True(Leaves().All(l => l.Size == MappingSize.Size4KiB));
        Assert.Equal((int)(2 * S1 / PageSize.Bytes), Leaves().Count);
        Assert.Equal(Status.Ok, UnmapRange(Boundary, 2 * S1));

        // A cap on the page size.
        Assert.Equal(Status.Ok, MapRange(Boundary, 0, 2 * S1, PageFlags.None, MappingSize.Size4KiB));
        Assert.Equal((int)(2 * S1 / PageSize.Bytes), Leaves().Count);
        Assert.Equal(Status.Ok, UnmapRange(Boundary, 2 * S1));
        Assert.Equal(FreeBeforeRoot - 1, Ram.Free);
    }

    [Fact]
    public void UnmapRange_InsideTheLargestPage_SplitsAndKeepsEveryOtherPage()
    {
        var levels = Enumerable.Range(0, TFormat.Levels).Where(TFormat.CanBeLeaf).ToArray();
        int top = levels[^1];
        ulong big = Span(top), pa = 3 * big;
        ulong va = Boundary;
        const PageFlags f = PageFlags.Writable | PageFlags.User | PageFlags.Accessed;
        Assert.Equal(Status.Ok, MapRange(va, pa, big, f));
        ulong cut = va + big / 2 + 5 * PageSize.Bytes;
        Assert.Equal(Status.Ok, UnmapRange(cut, 2 * PageSize.Bytes));
        var pages = Pages(Leaves());
        Assert.Equal((int)(big / PageSize.Bytes) - 2, pages.Count);
        for (ulong off = 0; off < big; off += PageSize.Bytes)
        {
            ulong v = va + off;
            if (v == cut || v == cut + PageSize.Bytes) { Assert.False(pages.ContainsKey(v)); continue; }
            Assert.True(pages.TryGetValue(v, out var m) && m.pa == pa + off && m.flags == Eff(f), $"page 0x{v:x} lost its mapping");
        }
        // Only the pieces that had to shrink did: one table per level, the chain down to the cut.
        var census = M.Census();
        for (int l = 0; l < TFormat.Levels; l++) Assert.Equal(1UL, census.Tables(l));
        CheckInvariants("after the split");
        // Map the hole back, then remove all: every table goes back.
        Assert.Equal(Status.Ok, MapRange(cut, pa + (cut - va), 2 * PageSize.Bytes, f));
        Assert.Equal(Status.Ok, UnmapRange(va, big));
        Assert.Equal(FreeBeforeRoot - 1, Ram.Free);
    }

    [Fact]
    public void ProtectRange_SplitsOnlyAtTheEdges()
    {
        ulong va = Boundary;
        Assert.Equal(Status.Ok, MapRange(va, 0, 4 * S1, PageFlags.Writable));
        Assert.Equal(4, Leaves().Count);
        // Read-only from the middle of the first S1 page to the middle of the fourth.
        ulong from = va + S1 / 2, to = va + 3 * S1 + S1 / 4;
        Assert.Equal(Status.Ok, ProtectRange(from, to - from, PageFlags.User));
        var leaves = Leaves();
        Assert.Equal(2, leaves.Count(l => l.Size == (MappingSize)TFormat.IndexShift(1))); // the two inner S1 pages kept their size
        foreach (var (v, (pa, flags)) in Pages(leaves))
        {
            Assert.Equal(v - va, pa);
            Assert.Equal(v >= from && v < to ? Eff(PageFlags.User) : Eff(PageFlags.Writable), flags);
        }
        CheckInvariants("after protect");
        Assert.Equal(Status.Ok, UnmapRange(va, 4 * S1));
        Assert.Equal(FreeBeforeRoot - 1, Ram.Free);
    }

    [Fact]
    public void EmptyTables_AreFreed_AsTheLastPageGoes()
    {
        var rng = new Random(3);
        var vas = new List<ulong>();
        for (int i = 0; i < 40; i++)
        {
            ulong va = Boundary - 4 * S1 + (ulong)rng.Next(0, (int)(8 * S1 / PageSize.Bytes)) * PageSize.Bytes;
            if (Map(va, 0x10_0000, MappingSize.Size4KiB, PageFlags.None) == Status.Ok) vas.Add(va);
        }
        foreach (ulong va in vas.OrderBy(_ => rng.Next()))
        {
            ulong tables = Tables();
            bool lastInTable = vas.Count(x => x / S1 == va / S1) == 1;
            Assert.Equal(Status.Ok, Unmap(va));
            vas.Remove(va);
            if (lastInTable) Assert.True(Tables() < tables, $"the page table of 0x{va:x} stayed after its last page went");
            else Assert.Equal(tables, Tables());
            CheckInvariants($"after unmapping 0x{va:x}");
        }
        Assert.Equal(1UL, Tables());
        Assert.Equal(FreeBeforeRoot - 1, Ram.Free);
    }

    [Fact]
    public void MapRange_OutOfMemoryAtEveryAllocation_RollsBackCompletely()
    {
        // A neighbour that shares the first page table, so rollback must keep shared tables.
        ulong start = Boundary - S1 - 2 * PageSize.Bytes;
        Assert.Equal(Status.Ok, Map(start - 2 * PageSize.Bytes, 0x5000, MappingSize.Size4KiB, PageFlags.None));
        ulong bytes = 2 * S1 + 4 * PageSize.Bytes;
        var before = Leaves().Select(l => (l.Start, l.Phys, l.Size, l.Flags)).ToList();
        ulong free = Ram.Free;

        int first = Frames.Allocations;
        Assert.Equal(Status.Ok, MapRange(start, Phys(start), bytes, PageFlags.Writable));
        int needed = Frames.Allocations - first;
        Assert.True(needed >= TFormat.Levels - 1, $"expected several tables, got {needed}");
        Assert.Equal(Status.Ok, UnmapRange(start, bytes));
        Assert.Equal(free, Ram.Free);

        for (int k = 1; k <= needed; k++)
        {
            Frames.FailAt = Frames.Allocations + k;
            Assert.Equal(Status.OutOfMemory, MapRange(start, Phys(start), bytes, PageFlags.Writable));
            Frames.FailAt = 0;
            Assert.True(free == Ram.Free, $"failing allocation {k} of {needed}: {free} free before, {Ram.Free} after");
            Assert.Equal(before, Leaves().Select(l => (l.Start, l.Phys, l.Size, l.Flags)));
            CheckInvariants($"rollback at allocation {k}");
        }
    }

    [Fact]
    public void SplittingRanges_OutOfMemory_UndoesTheSplits()
    {
        var levels = Enumerable.Range(0, TFormat.Levels).Where(TFormat.CanBeLeaf).ToArray();
        ulong big = Span(levels[^1]);
        Assert.Equal(Status.Ok, MapRange(Boundary, 0, 2 * big, PageFlags.Writable));
        var before = Leaves().Select(l => (l.Start, l.Phys, l.Size, l.Flags)).ToList();
        ulong free = Ram.Free;
        // Both ends inside large pages: (levels - 1) splits per end.
        ulong from = Boundary + PageSize.Bytes, bytes = big;
        int splits = 2 * (levels.Length - 1);
        for (int k = 1; k <= splits; k++)
        {
            Frames.FailAt = Frames.Allocations + k;
            Assert.Equal(Status.OutOfMemory, UnmapRange(from, bytes));
            Frames.FailAt = Frames.Allocations + k;
            Assert.Equal(Status.OutOfMemory, ProtectRange(from, bytes, PageFlags.None));
            Frames.FailAt = 0;
            Assert.Equal(free, Ram.Free);
            Assert.Equal(before, Leaves().Select(l => (l.Start, l.Phys, l.Size, l.Flags)));
        }
        int a0 = Frames.Allocations;
        Assert.Equal(Status.Ok, UnmapRange(from, bytes));
        Assert.Equal(splits, Frames.Allocations - a0);
        Assert.Equal(Status.Ok, UnmapRange(Boundary, 2 * big));
        Assert.Equal(FreeBeforeRoot - 1, Ram.Free);
    }

    [Fact]
    public void Destroy_ReturnsEveryTable()
    {
        Assert.Equal(Status.Ok, MapRange(Boundary - 3 * S1 - PageSize.Bytes, 0, 6 * S1 + 2 * PageSize.Bytes, PageFlags.None));
        Assert.True(Tables() > 2);
        M.Destroy(ref Frames);
        Assert.Equal(0UL, M.RootPhys);
        Assert.Equal(FreeBeforeRoot, Ram.Free);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(20240607)]
    public void Randomised_AgainstAReferenceModel(int seed)
    {
        var rng = new Random(seed);
        var model = new Dictionary<ulong, (ulong pa, PageFlags flags)>();
        ulong lo = Boundary - 8 * S1, pages = 16 * S1 / PageSize.Bytes;
        var sizes = Sizes().ToArray();
        PageFlags RandomFlags() => (PageFlags)rng.Next(0, 256);
        ulong RandomPage() => lo + (ulong)rng.NextInt64(0, (long)pages) * PageSize.Bytes;
        ulong RandomLength(ulong va)
        {
            ulong room = (lo + pages * PageSize.Bytes - va) / PageSize.Bytes;
            ulong n = rng.Next(4) switch { 0 => 1, 1 => (ulong)rng.Next(1, 40), 2 => S1 / PageSize.Bytes, _ => (ulong)rng.NextInt64(1, (long)room + 1) };
            return Math.Min(n, room) * PageSize.Bytes;
        }

        int mapped = 0, unmapped = 0, protectedRanges = 0, singles = 0, largeSeen = 0, splitSeen = 0;
        for (int step = 0; step < 400; step++)
        {
            string ctx = $"seed {seed}, step {step}";
            int op = rng.Next(7);
            ulong va = RandomPage();
            switch (op)
            {
                case 0: case 1: // MapRange, pa often sharing the large-page alignment
                {
                    ulong bytes = RandomLength(va);
                    ulong pa = rng.Next(2) == 0 ? va - lo + 0x4000_0000 : (ulong)rng.Next(1, 1 << 18) * PageSize.Bytes;
                    var f = RandomFlags();
                    bool overlap = Enumerable.Range(0, (int)(bytes / PageSize.Bytes)).Any(i => model.ContainsKey(va + (ulong)i * PageSize.Bytes));
                    Status s = MapRange(va, pa, bytes, f);
                    if (overlap) Assert.True(s == Status.AlreadyMapped || s == Status.ParentIsHugePage, $"{ctx}: MapRange over a mapping gave {s}");
                    else
                    {
                        Assert.True(s == Status.Ok, $"{ctx}: MapRange 0x{va:x}+0x{bytes:x} gave {s}");
                        mapped++;
                        for (ulong o = 0; o < bytes; o += PageSize.Bytes) model[va + o] = (pa + o, Eff(f));
                    }
                    break;
                }
                case 2: // UnmapRange
                {
                    ulong bytes = RandomLength(va);
                    bool any = false;
                    for (ulong o = 0; o < bytes; o += PageSize.Bytes) any |= model.Remove(va + o);
                    ulong splitsBefore = SplitCount();
                    Assert.True(UnmapRange(va, bytes) == (any ? Status.Ok : Status.NotMapped), $"{ctx}: UnmapRange");
                    if (any) unmapped++;
                    if (SplitCount() > splitsBefore) splitSeen++;
                    break;
                }
                case 3: // ProtectRange
                {
                    ulong bytes = RandomLength(va);
                    var f = RandomFlags();
                    bool all = true;
                    for (ulong o = 0; o < bytes; o += PageSize.Bytes) all &= model.ContainsKey(va + o);
                    Status s = ProtectRange(va, bytes, f);
                    Assert.True(s == (all ? Status.Ok : Status.NotMapped), $"{ctx}: ProtectRange gave {s}");
                    if (all) for (ulong o = 0; o < bytes; o += PageSize.Bytes) model[va + o] = (model[va + o].pa, Eff(f));
                    if (all) protectedRanges++;
                    break;
                }
                case 4: // Map one page of a random size
                {
                    var size = sizes[rng.Next(sizes.Length)];
                    ulong b = 1UL << (int)size;
                    va &= ~(b - 1);
                    if (va < lo || va + b > lo + pages * PageSize.Bytes) break;
                    ulong pa = (ulong)rng.Next(1, 64) * b;
                    var f = RandomFlags();
                    bool overlap = false;
                    for (ulong o = 0; o < b; o += PageSize.Bytes) overlap |= model.ContainsKey(va + o);
                    Status s = Map(va, pa, size, f);
                    if (overlap) Assert.True(s == Status.AlreadyMapped || s == Status.ParentIsHugePage, $"{ctx}: Map over a mapping gave {s}");
                    else
                    {
                        Assert.True(s == Status.Ok, $"{ctx}: Map {size} at 0x{va:x} gave {s}");
                        for (ulong o = 0; o < b; o += PageSize.Bytes) model[va + o] = (pa + o, Eff(f));
                    }
                    break;
                }
                case 5: case 6: // Unmap or Protect the page at va: whole leaf only
                {
                    Status tr = M.Translate(V(va), out Translation t);
                    var f = RandomFlags();
                    Status s = op == 5 ? Unmap(va) : Protect(va, f);
                    if (!model.ContainsKey(va)) { Assert.True(s == Status.NotMapped && tr == Status.NotMapped, $"{ctx}: unmapped page gave {s}"); break; }
                    if (t.PageStart.Value != va) { Assert.True(s == Status.ParentIsHugePage, $"{ctx}: inside a large page gave {s}"); break; }
                    Assert.True(s == Status.Ok, $"{ctx}: {(op == 5 ? "Unmap" : "Protect")} gave {s}");
                    singles++;
                    for (ulong o = 0; o < (1UL << (int)t.Size); o += PageSize.Bytes)
                        if (op == 5) model.Remove(va + o); else model[va + o] = (model[va + o].pa, Eff(f));
                    break;
                }
            }
            var leaves = Leaves();
            if (leaves.Any(l => l.Size != MappingSize.Size4KiB)) largeSeen++;
            var actual = Pages(leaves);
            Assert.True(actual.Count == model.Count, $"{ctx}: {actual.Count} pages mapped, model has {model.Count}");
            foreach (var (v, m) in model)
                Assert.True(actual.TryGetValue(v, out var a) && a == m, $"{ctx}: page 0x{v:x} is {(actual.ContainsKey(v) ? actual[v].ToString() : "unmapped")}, model says {m}");
            CheckInvariants(ctx);
        }
        // The sequence has to have reached the interesting paths, or it proves little.
        Assert.True(mapped > 20 && unmapped > 20 && protectedRanges > 5 && singles > 5 && largeSeen > 20 && splitSeen > 0,
            $"seed {seed}: too few interesting steps: {mapped} maps, {unmapped} unmaps, {protectedRanges} protects, {singles} single ops, {largeSeen} steps with large pages, {splitSeen} splitting unmaps");
        Status end = UnmapRange(lo, pages * PageSize.Bytes);
        Assert.True(end == (model.Count > 0 ? Status.Ok : Status.NotMapped), $"seed {seed}: final unmap gave {end}");
        Assert.True(Ram.Free == FreeBeforeRoot - 1, $"seed {seed}: {FreeBeforeRoot - 1 - Ram.Free} table frames not returned");
        M.Destroy(ref Frames);
        Assert.Equal(FreeBeforeRoot, Ram.Free);
    }
}

public sealed class X86LegacyMapperTests : MapperConformance<X86LegacyFormat>
{
    protected override ulong Boundary => 0x8000_0000;
    protected override ulong NonCanonical => 0x1_0000_0000;

    /// <summary>PSE-36: a 4 MiB page may lie above 4 GiB (entry bits 20:13 = physical 39:32),
    /// a 4 KiB page may not, and such a 4 MiB page cannot be split into 4 KiB pages.</summary>
    [Fact]
    public void Pse36_LargePagesAbove4GiB()
    {
        Assert.Equal(Status.Ok, Map(0xC000_0000, 0xAB_FFC0_0000, MappingSize.Size4MiB, PageFlags.Writable));
        Assert.Equal(Status.Ok, M.Translate(V(0xC012_3456), out Translation t));
        Assert.Equal(0xAB_FFD2_3456UL, t.Phys.Value);
        Assert.Equal(Status.InvalidArgument, Map(0xC040_0000, 0x1_0000_0000, MappingSize.Size4KiB, PageFlags.None));
        Assert.Equal(Status.InvalidArgument, Map(0xC040_0000, 1UL << 40, MappingSize.Size4MiB, PageFlags.None));
        // A range above 4 GiB maps with 4 MiB pages where it can and fails (rolled back) where it cannot.
        ulong free = Ram.Free;
        Assert.Equal(Status.InvalidArgument, MapRange(0xC040_0000, 0x2_0040_0000, (4UL << 20) + PageSize.Bytes, PageFlags.None));
        Assert.Equal(free, Ram.Free);
        Assert.Equal(Status.NotMapped, M.Translate(V(0xC040_0000), out _));
        Assert.Equal(Status.Ok, MapRange(0xC040_0000, 0x2_0040_0000, 8UL << 20, PageFlags.None));
        Assert.Equal(Status.Unsupported, UnmapRange(0xC000_1000, PageSize.Bytes));
        Assert.Equal(Status.Unsupported, ProtectRange(0xC000_0000, PageSize.Bytes, PageFlags.None));
        Assert.Equal(free, Ram.Free);
        Assert.Equal(Status.Ok, UnmapRange(0xC000_0000, 12UL << 20));
        Assert.Equal(FreeBeforeRoot - 1, Ram.Free);
    }
}

public sealed class X86PaeMapperTests : MapperConformance<X86PaeFormat>
{
    protected override ulong Boundary => 0x8000_0000;
    protected override ulong NonCanonical => 0x1_0000_0000;
}

public sealed class X86LongModeMapperTests : MapperConformance<X86LongModeFormat>
{
    protected override ulong Boundary => 0x0000_0100_0000_0000;
    protected override ulong NonCanonical => 0x0000_8000_0000_0000;
}

public sealed class X86LongModeHighHalfMapperTests : MapperConformance<X86LongModeFormat>
{
    protected override ulong Boundary => 0xFFFF_8880_0000_0000;
    protected override ulong NonCanonical => 0xFFFF_7FFF_FFFF_F000;
}

public sealed class Sv32MapperTests : MapperConformance<Sv32Format>
{
    protected override ulong Boundary => 0x8000_0000;
    protected override ulong NonCanonical => 0x1_0000_0000;
}

public sealed class Sv39MapperTests : MapperConformance<Sv39Format>
{
    protected override ulong Boundary => 0x0000_0010_0000_0000;
    protected override ulong NonCanonical => 0x0000_0040_0000_0000;
}

public sealed class Sv39HighHalfMapperTests : MapperConformance<Sv39Format>
{
    protected override ulong Boundary => 0xFFFF_FFD0_0000_0000;
    protected override ulong NonCanonical => 0xFFFF_FFBF_FFFF_F000;
}
