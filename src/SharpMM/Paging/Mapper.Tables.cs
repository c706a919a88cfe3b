using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Paging;

// The walker at the granularity of level-0 tables, for callers that keep level-0 entries of
// their own (user address spaces: swap entries, copy-on-write rights): find a table, make the
// tables on a path, step through the tables of a range, free the tables a path leaves empty.
// Same rule and same occupancy counts as Map and Unmap (a table is in use while any entry is
// non-zero); the entries themselves are written through LeafTable, which keeps the counts.
public unsafe partial struct Mapper<TFormat, TAccess>
{
    /// <summary>
    /// The level-0 table holding <paramref name="va"/>'s entry. Return: Ok; NotMapped (a table
    /// on the path is missing; <paramref name="table"/> is null); ParentIsHugePage (a larger
    /// page covers va); InvalidArgument (non-canonical or reserved va).
    /// </summary>
    public Status FindLeafTable(VirtAddr va, out LeafTable<TFormat> table)
    {
        table = default;
        ulong v = va.Value;
        if (!TFormat.IsCanonical(v) || _access.OverlapsReserved(v, v)) return Status.InvalidArgument;
        ulong tablePhys = _root;
        byte* ep = null;
        for (int l = Top; l >= 1; l--)
        {
            byte* t = _access.Table(tablePhys, l, v);
            int i = Index(l, v);
            ulong e = TFormat.Read(t, i);
            if (!TFormat.PointsToTable(l, e)) return TFormat.IsLeaf(l, e) ? Status.ParentIsHugePage : Status.NotMapped;
            ep = t + i * TFormat.EntrySize;
            tablePhys = TFormat.TableAddress(e);
        }
        table = new LeafTable<TFormat>(_access.Table(tablePhys, 0, v), ep);
        return Status.Ok;
    }

    /// <summary>
    /// The level-0 table for <paramref name="va"/>, making the missing tables on the way (zeroed,
    /// from <paramref name="frames"/>; a new top-level entry of a format with latched root
    /// entries is recorded in <paramref name="batch"/>). <paramref name="tablesMade"/>: how many.
    /// Return: Ok; OutOfMemory / OutOfRange (no usable frame: the tables this call made are
    /// freed again, to <paramref name="frames"/>); ParentIsHugePage; AlreadyMapped (a pointer
    /// entry on the path is kept by the OS, which only level-0 entries may be); InvalidArgument
    /// (non-canonical or reserved va). For tables no other CPU walks (a boot CPU alone); others
    /// use the overload with a release list.
    /// </summary>
    public Status EnsureLeafTable<TFrames>(VirtAddr va, ref TFrames frames, ref FlushBatch batch, out LeafTable<TFormat> table, out int tablesMade)
        where TFrames : struct, IFrameAllocator =>
        EnsureLeafTable(va, ref frames, ref frames, ref batch, out table, out tablesMade);

    /// <summary>
    /// <see cref="EnsureLeafTable{TFrames}(VirtAddr, ref TFrames, ref FlushBatch, out LeafTable{TFormat}, out int)"/>
    /// for tables other CPUs may walk: when it fails, the tables it linked on the way go to
    /// <paramref name="release"/> (a <see cref="FreeAfterFlush"/> or the like) and
    /// <paramref name="va"/>'s page is recorded in <paramref name="batch"/>, since a CPU may have
    /// cached the entries that pointed at them in the meantime: the caller flushes the batch
    /// (a shootdown where the tables are shared) before it gives them back.
    /// </summary>
    public Status EnsureLeafTable<TFrames, TRelease>(VirtAddr va, ref TFrames frames, ref TRelease release, ref FlushBatch batch, out LeafTable<TFormat> table, out int tablesMade)
        where TFrames : struct, IFrameAllocator where TRelease : struct, IFrameAllocator
    {
        table = default;
        tablesMade = 0;
        ulong v = va.Value;
        if (!TFormat.IsCanonical(v) || _access.OverlapsReserved(v, v)) return Status.InvalidArgument;
        Status s = EnsurePath(v, 0, ref frames, ref release, ref batch, out ulong tablePhys, out byte* pt, out int pi, out int made);
        if (s != Status.Ok) return s;
        table = new LeafTable<TFormat>(_access.Table(tablePhys, 0, v), pt + pi * TFormat.EntrySize);
        tablesMade = made;
        return Status.Ok;
    }

    /// <summary>
    /// The first level-0 table at or above <paramref name="va"/> whose span reaches into
    /// [va, end): returns the address from which it matters (<paramref name="va"/> itself, or
    /// the start of the next table's span) with the table in <paramref name="table"/>;
    /// <paramref name="end"/> and a null table when none is left. Missing tables are skipped at
    /// every level, so a sparse range costs one read per missing table, not per page; large
    /// pages are skipped too (they have no level-0 table).
    /// </summary>
    public ulong NextLeafTable(ulong va, ulong end, out LeafTable<TFormat> table)
    {
        while (va < end)
        {
            ulong tablePhys = _root;
            byte* ep = null;
            int l = Top;
            for (; l >= 1; l--)
            {
                byte* t = _access.Table(tablePhys, l, va);
                int i = Index(l, va);
                ulong e = TFormat.Read(t, i);
                if (!TFormat.PointsToTable(l, e)) break;
                ep = t + i * TFormat.EntrySize;
                tablePhys = TFormat.TableAddress(e);
            }
            if (l == 0)
            {
                table = new LeafTable<TFormat>(_access.Table(tablePhys, 0, va), ep);
                return va;
            }
            // Skip what the entry at level l covers.
            ulong next = (va & ~(Span(l) - 1)) + Span(l);
            if (next <= va) break;
            va = next;
        }
        table = default;
        return end;
    }

    /// <summary>
    /// Frees, bottom up, the tables on <paramref name="va"/>'s path that hold only zero entries,
    /// from its level-0 table up, stopping at the first that holds something; the root stays.
    /// A freed table is recorded in <paramref name="batch"/> as a change of <paramref name="va"/>'s
    /// page (the paging-structure caches may hold the entries that pointed at it). Returns the
    /// number of tables freed (0 also when va has no level-0 table).
    /// </summary>
    public int FreeEmptyTables<TFrames>(VirtAddr va, ref TFrames frames, ref FlushBatch batch)
        where TFrames : struct, IFrameAllocator
    {
        if (FindLeafTable(va, out _) != Status.Ok) return 0;
        int freed = FreeEmptyTables(va.Value, 0, ref frames, ref batch);
        if (freed != 0) batch.Add(va.Value & ~PageSize.OffsetMask, PageGlobality.NotGlobal);
        return freed;
    }
}
