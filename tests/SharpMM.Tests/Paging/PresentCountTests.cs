using System;
using System.Collections.Generic;
using System.Linq;
using SharpMM.Addressing;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using Xunit;
using static SharpMM.Tests.Paging.PagingAssert;

namespace SharpMM.Tests.Paging;

/// <summary>
/// The x86-64 mapper keeps, in every PDPTE and PDE it makes that points at a table, 1 + the
/// number of non-zero entries of that table (present ones, and swap entries the OS keeps) (bits 58:52 and 11:9, which the processor ignores);
/// PML4 entries carry none. Entries without the field (tables built before the mapper took them
/// over) make the mapper scan the table instead.
/// </summary>
public static unsafe class PresentCounts
{
    public const ulong Mask = 0x07F0_0000_0000_0E00;

    public static int Field(ulong entry) => (int)((entry >> 52) & 0x7F) | (int)((entry >> 2) & 0x380);

    public static int NonZero(byte* table)
    {
        int n = 0;
        for (int i = 0; i < 512; i++) if (((ulong*)table)[i] != 0) n++;
        return n;
    }

    /// <summary>Every table below the root: the entry pointing at it has the field
    /// <paramref name="expected"/> gives (default: 0 for PDPTs, 1 + non-zero entries otherwise).</summary>
    public static void Check<TFormat>(ref Mapper<TFormat, DirectMapTableAccess> m, TableRam ram, List<(int level, ulong va, ulong phys)> tables, string ctx,
        Func<int, ulong, int, int>? expected = null) where TFormat : struct, IPagingFormat
    {
        foreach (var (level, va, phys) in tables)
        {
            if (level == 3) continue;
            PageWalk w = m.Walk(V(va));
            WalkStep parent = w[3 - (level + 1)];
            Assert.True(parent.Level == level + 1 && (parent.Entry & 0x000F_FFFF_FFFF_F000) == phys, $"{ctx}: walk to the table at 0x{phys:x}");
            int present = NonZero(ram.Ptr(phys));
            int want = expected != null ? expected(level, va, present) : level == 2 ? 0 : 1 + present;
            Assert.True(Field(parent.Entry) == want,
                $"{ctx}: level-{level} table 0x{phys:x} (va 0x{va:x}) has {present} non-zero entries, its entry 0x{parent.Entry:x} carries field {Field(parent.Entry)}, expected {want}");
        }
    }
}

public sealed unsafe class PresentCountTests : IDisposable
{
    private const ulong Base = 0x0000_7f00_0000_0000;
    private readonly TableRam _ram = new(4096);
    private TestFrames _frames;
    private Mapper<X86LongModeFormat, DirectMapTableAccess> _m;
    private readonly ulong _freeBeforeRoot;

    public PresentCountTests()
    {
        _frames = _ram.Frames();
        _freeBeforeRoot = _ram.Free;
        Assert.Equal(Status.Ok, Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(_ram.Access, ref _frames, out _m));
    }

    public void Dispose() => _ram.Dispose();

    private List<(int level, ulong va, ulong phys)> Tables()
    {
        var v = LeafList.New();
        _m.Visit(ref v);
        return v.Tables;
    }

    private Status Map(ulong va) => _m.Map(V(va), P(0x1000 + (va & 0xFFF_F000)), MappingSize.Size4KiB, PageFlags.Writable, ref _frames, out _);
    private Status Unmap(ulong va) => _m.Unmap(V(va), ref _frames, out _);

    [Fact]
    public void TheCount_CrossesItsSevenBitBoundary_BothWays()
    {
        // 0..300 pages in one page table: the field's low 7 bits overflow at 127 and 255 present.
        for (int i = 0; i < 300; i++)
        {
            Assert.Equal(Status.Ok, Map(Base + (ulong)i * PageSize.Bytes));
            if (i % 37 == 0 || i == 126 || i == 127 || i == 128 || i == 255 || i == 256) PresentCounts.Check(ref _m, _ram, Tables(), $"after {i + 1} maps");
        }
        for (int i = 299; i >= 1; i--)
        {
            Assert.Equal(Status.Ok, Unmap(Base + (ulong)i * PageSize.Bytes));
            if (i % 37 == 0 || i == 129 || i == 128 || i == 127 || i == 256 || i == 255) PresentCounts.Check(ref _m, _ram, Tables(), $"after unmapping down to {i}");
        }
        Assert.Equal(4, Tables().Count);
        Assert.Equal(Status.Ok, Unmap(Base));
        Assert.Single(Tables());
        Assert.Equal(_freeBeforeRoot - 1, _ram.Free);
    }

    [Fact]
    public void AFullTable_FromASplit_CountsEveryEntry_AndGoesWithItsLastPage()
    {
        var b = new FlushBatch();
        Assert.Equal(Status.Ok, _m.MapRange(V(Base), P(0x4000_0000), 2UL << 20, PageFlags.Writable, ref _frames, ref b));
        Assert.Equal(Status.Ok, _m.UnmapRange(V(Base + 0x5000), PageSize.Bytes, ref _frames, ref b));
        PresentCounts.Check(ref _m, _ram, Tables(), "after the split");
        var order = Enumerable.Range(0, 512).Where(i => i != 5).OrderBy(i => (i * 7919) % 512).ToList();
        foreach (int i in order)
        {
            int before = Tables().Count;
            Assert.Equal(Status.Ok, Unmap(Base + (ulong)i * PageSize.Bytes));
            Assert.Equal(i == order[^1] ? before - 3 : before, Tables().Count); // the PT, PD and PDPT go with the last page
        }
        Assert.Equal(_freeBeforeRoot - 1, _ram.Free);
    }

    [Fact]
    public void TablesWithoutCounts_AreScanned_AndMixWithCountedOnes()
    {
        // Two page tables under one directory, then every count stripped: as if the tables
        // had been built before the mapper took them over.
        var vas = new List<ulong>();
        for (int i = 0; i < 40; i++) vas.Add(Base + (ulong)(i * 37 % 1024) * PageSize.Bytes);
        foreach (ulong va in vas) Assert.Equal(Status.Ok, Map(va));
        foreach (var (level, va, phys) in Tables())
            for (int i = 0; i < 512; i++) ((ulong*)_ram.Ptr(phys))[i] &= ~PresentCounts.Mask;
        PresentCounts.Check(ref _m, _ram, Tables(), "stripped", (_, _, _) => 0);

        // New pages go into the uncounted tables (no count appears) and into a new counted one.
        ulong far = Base + (4UL << 20);
        Assert.Equal(Status.Ok, Map(far));
        Assert.Equal(Status.Ok, Map(Base + 1023 * PageSize.Bytes - PageSize.Bytes * 3));
        vas.Add(Base + 1023 * PageSize.Bytes - PageSize.Bytes * 3);
        PresentCounts.Check(ref _m, _ram, Tables(), "mixed", (level, va, present) => level == 0 && va == far ? 1 + present : 0);

        var rng = new Random(5);
        foreach (ulong va in vas.OrderBy(_ => rng.Next()))
        {
            int tablesBefore = Tables().Count;
            bool last = vas.Count(x => x >> 21 == va >> 21) == 1;
            Assert.Equal(Status.Ok, Unmap(va));
            vas.Remove(va);
            Assert.Equal(last ? tablesBefore - 1 : tablesBefore, Tables().Count);
        }
        Assert.Equal(Status.Ok, Unmap(far));
        Assert.Single(Tables());
        Assert.Equal(_freeBeforeRoot - 1, _ram.Free);
    }

    [Fact]
    public void Pml4Entries_CarryNoCount()
    {
        Assert.Equal(Status.Ok, Map(Base));
        Assert.Equal(0, PresentCounts.Field(_m.Walk(V(Base))[0].Entry));
        Assert.Equal(2, PresentCounts.Field(_m.Walk(V(Base))[1].Entry)); // the PD holds one table
        Assert.Equal(2, PresentCounts.Field(_m.Walk(V(Base))[2].Entry)); // the PT holds one page
    }
}
