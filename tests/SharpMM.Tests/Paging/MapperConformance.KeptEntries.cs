using SharpMM.Addressing;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using Xunit;
using static SharpMM.Tests.Paging.PagingAssert;

namespace SharpMM.Tests.Paging;

// Entries the OS keeps (non-zero, not present: swap entries) and the walker at table
// granularity (Mapper.Tables.cs), for every format: a table is in use while any entry is
// non-zero, whether the format counts its entries (x86-64) or the mapper scans the table.
public abstract unsafe partial class MapperConformance<TFormat>
{
    private FlushBatch _kb;

    // The level-0 table of va, made if missing, with its entry for va.
    private LeafTable<TFormat> Ensure(ulong va, out int made)
    {
        Assert.Equal(Status.Ok, M.EnsureLeafTable(V(va), ref Frames, ref _kb, out LeafTable<TFormat> t, out made));
        Assert.False(t.IsNull);
        return t;
    }

    private static int Idx(ulong va) => LeafTable<TFormat>.IndexOf(va);

    // The occupancy count of va's level-0 table, where the format keeps one.
    private int? CountOf(ulong va)
    {
        if (typeof(TFormat) != typeof(X86LongModeFormat)) return null;
        PageWalk w = M.Walk(V(va));
        return PresentCounts.Field(w[2].Entry) - 1; // PML4E, PDPTE, PDE: the PDE counts the page table
    }

    /// <summary>
    /// <code>
    ///   level-0 table of Boundary:  [0] page A (present)   [1] swap entry (slot 7)
    ///   unmap A                  -> [1] alone: the table and its parents stay
    ///   clear [1], free tables   -> nothing below the root
    /// </code>
    /// Expect: the table survives the unmap of its last present entry, and goes (with every
    /// table above it) once its last non-zero entry is cleared.
    /// </summary>
    [Fact]
    public void ATableHoldingOnlyASwapEntry_IsKept_AndFreedWithItsLastNonZeroEntry()
    {
        ulong va = Boundary, swapVa = Boundary + PageSize.Bytes;
        Assert.Equal(Status.Ok, Map(va, Phys(va), MappingSize.Size4KiB, PageFlags.Writable));
        ulong tablesAfterMap = Tables();
        LeafTable<TFormat> t = Ensure(swapVa, out int made);
        Assert.Equal(0, made);
        ulong swap = SwapEntry<TFormat>.Make(7);
        t.Write(Idx(swapVa), swap);
        Assert.Equal(2, CountOf(va) ?? 2);

        Assert.Equal(Status.Ok, M.Unmap(V(va), ref Frames, out _));
        Assert.Equal(tablesAfterMap, Tables());
        Assert.Equal(FreeBeforeRoot - tablesAfterMap, Ram.Free);
        Assert.Equal(Status.Ok, M.FindLeafTable(V(swapVa), out LeafTable<TFormat> kept));
        Assert.Equal(swap, kept.Read(Idx(swapVa)));
        Assert.Equal(1, CountOf(swapVa) ?? 1);
        CheckInvariants("after the unmap");

        // Freeing while the entry is there frees nothing.
        Assert.Equal(0, M.FreeEmptyTables(V(swapVa), ref Frames, ref _kb));
        kept.Write(Idx(swapVa), 0);
        Assert.Equal(Top, M.FreeEmptyTables(V(swapVa), ref Frames, ref _kb));
        Assert.False(_kb.IsEmpty); // the freed tables' pointers may be cached: a flush is recorded
        Assert.Equal(1UL, Tables());
        Assert.Equal(FreeBeforeRoot - 1, Ram.Free);
        Assert.Equal(Status.NotMapped, M.FindLeafTable(V(swapVa), out _));
    }

    /// <summary>The mapper never takes a kept entry for a mapping, nor writes over it.
    /// Expect: Map AlreadyMapped, Unmap/Translate/Protect NotMapped, the entry unchanged.</summary>
    [Fact]
    public void ASwapEntry_IsNeitherAMapping_NorFreeToMapOver()
    {
        ulong va = Boundary + 3 * PageSize.Bytes;
        LeafTable<TFormat> t = Ensure(va, out int made);
        Assert.Equal(Top, made);
        ulong swap = SwapEntry<TFormat>.Make(0); // slot 0 still gives a non-zero entry
        Assert.NotEqual(0UL, swap);
        Assert.True(SwapEntry<TFormat>.Is(swap));
        Assert.False(TFormat.IsPresent(swap));
        t.Write(Idx(va), swap);

        Assert.Equal(Status.AlreadyMapped, Map(va, Phys(va), MappingSize.Size4KiB, PageFlags.Writable));
        Assert.Equal(Status.AlreadyMapped, MapRange(va, Phys(va), PageSize.Bytes, PageFlags.Writable));
        Assert.Equal(Status.NotMapped, M.Unmap(V(va), ref Frames, out _));
        Assert.Equal(Status.NotMapped, M.Translate(V(va), out _));
        Assert.Equal(Status.NotMapped, M.Protect(V(va), PageFlags.None, out _));
        Assert.Equal(swap, t.Read(Idx(va)));
        Assert.Equal(0U, SwapEntry<TFormat>.SlotOf(swap));
        CheckInvariants("after the refused calls");
    }

    /// <summary>
    /// <code>
    ///   Boundary: pages 0..15 mapped, page 20 a swap entry (one level-0 table)
    ///   UnmapRange [Boundary, + 32 pages)
    /// </code>
    /// Expect: the 16 pages go; the swap entry and its tables stay (a wholly covered table is
    /// not taken for empty when it keeps entries).
    /// </summary>
    [Fact]
    public void UnmapRange_LeavesSwapEntries_AndTheirTables()
    {
        ulong va = Boundary;
        Assert.Equal(Status.Ok, MapRange(va, Phys(va), 16 * PageSize.Bytes, PageFlags.Writable, MappingSize.Size4KiB));
        ulong swapVa = va + 20 * PageSize.Bytes;
        ulong swap = SwapEntry<TFormat>.Make(1234);
        Ensure(swapVa, out _).Write(Idx(swapVa), swap);
        ulong tables = Tables();
        Assert.Equal(Status.Ok, UnmapRange(va, 32 * PageSize.Bytes));
        Assert.Empty(Leaves());
        Assert.Equal(tables, Tables());
        Assert.Equal(swap, Ensure(swapVa, out int made).Read(Idx(swapVa)));
        Assert.Equal(0, made);
        Assert.Equal(1, CountOf(swapVa) ?? 1);
        CheckInvariants("after the range unmap");
        // A range of nothing but the kept entry: nothing was mapped there.
        Assert.Equal(Status.NotMapped, UnmapRange(swapVa, PageSize.Bytes));
        Assert.Equal(tables, Tables());
    }

    /// <summary>Expect: a failed ensure gives back every table it made (the frame count is
    /// back), at each allocation it can fail at.</summary>
    [Fact]
    public void EnsureLeafTable_OutOfMemory_FreesTheTablesItMade()
    {
        for (int failAt = 1; failAt <= Top; failAt++)
        {
            ulong free = Ram.Free;
            var frames = Ram.Frames(failAt);
            Assert.Equal(Status.OutOfMemory, M.EnsureLeafTable(V(Boundary), ref frames, ref _kb, out LeafTable<TFormat> t, out int made));
            Assert.True(t.IsNull);
            Assert.Equal(0, made);
            Assert.Equal(free, Ram.Free);
            Assert.Equal(1UL, Tables());
        }
    }

    /// <summary>
    /// <code>
    ///   Boundary - 1 page       one level-0 table (below the boundary's top-level entry)
    ///   Boundary + 5 spans      another, 5 level-0 spans further (missing tables between)
    /// </code>
    /// Expect: NextLeafTable from the first page finds the first table at its own address, from
    /// just past it the second at the start of its span, and past that nothing (the end).
    /// </summary>
    [Fact]
    public void NextLeafTable_SkipsMissingTables()
    {
        ulong span = LeafTable<TFormat>.Span;
        ulong a = Boundary - PageSize.Bytes, b = Boundary + 5 * span + 7 * PageSize.Bytes;
        Ensure(a, out _).Write(Idx(a), SwapEntry<TFormat>.Make(1));
        Ensure(b, out _).Write(Idx(b), SwapEntry<TFormat>.Make(2));
        ulong end = Boundary + 8 * span;
        Assert.Equal(a, M.NextLeafTable(a, end, out LeafTable<TFormat> t1));
        Assert.Equal(SwapEntry<TFormat>.Make(1), t1.Read(Idx(a)));
        Assert.Equal(Boundary + 5 * span, M.NextLeafTable(Boundary, end, out LeafTable<TFormat> t2));
        Assert.Equal(SwapEntry<TFormat>.Make(2), t2.Read(Idx(b)));
        Assert.Equal(end, M.NextLeafTable(Boundary + 6 * span, end, out LeafTable<TFormat> none));
        Assert.True(none.IsNull);
    }
}
