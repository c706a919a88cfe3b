using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Paging;

// Range operations of Mapper: one recursive pass per table level, so each table is reached once
// per range and checked for emptiness once, whatever the number of pages in it.
//
// Large-page choice (MapRange): at each entry, a leaf of that level is written when the entry's
// whole span lies inside the range, the level may hold leaves, it is no larger than the caller's
// `largest`, and the physical address at that point is aligned to the span. Otherwise the walk
// descends (creating a table when needed). So [0x1FF000, 0x601000) mapped to 0x1FF000 on x86-64
// becomes one 4 KiB page, two 2 MiB pages and one 4 KiB page:
//
//    0x1FF000   0x200000                      0x600000   0x601000
//       | 4K |        2M        |        2M        | 4K |
//
// Splitting (UnmapRange, ProtectRange): a leaf that straddles either end of the range is first
// rewritten as a table of next-smaller leaves with the same address run and attributes,
// repeatedly until the end falls on a leaf boundary; then the range is processed leaf by leaf.
// Both ends are split before anything else changes, and undone (the original leaf put back,
// the new tables freed) if the second end runs out of memory.
public unsafe partial struct Mapper<TFormat, TAccess>
{
    /// <summary>Maps [va, va + byteCount) to [pa, ...) using pages up to the format's largest
    /// (see the overload with <c>largest</c>).</summary>
    public Status MapRange<TFrames>(VirtAddr va, PhysAddr pa, ulong byteCount, PageFlags flags, ref TFrames frames, ref FlushBatch batch)
        where TFrames : struct, IFrameAllocator =>
        MapRange(va, pa, byteCount, flags, LargestSize, ref frames, ref batch);

    /// <summary>
    /// Maps [va, va + byteCount) to [pa, pa + byteCount) with the largest pages that alignment
    /// and size allow, none larger than <paramref name="largest"/> (pass 2 MiB on a CPU without
    /// 1 GiB pages, 4 KiB to force small pages). Every changed page is added to
    /// <paramref name="batch"/>.
    /// Return: Ok; InvalidArgument (zero length, non-canonical or reserved range, unknown flags,
    /// physical range beyond the format; <paramref name="largest"/> smaller than 4 KiB);
    /// Misaligned (va, pa or byteCount not 4 KiB multiples); Overflow; AlreadyMapped (part of
    /// the range is mapped); ParentIsHugePage (a large page covers part of the range);
    /// OutOfMemory / OutOfRange. On failure nothing stays mapped and every table the call
    /// allocated is freed (the allocator's free count is back where it was).
    /// </summary>
    public Status MapRange<TFrames>(VirtAddr va, PhysAddr pa, ulong byteCount, PageFlags flags, MappingSize largest, ref TFrames frames, ref FlushBatch batch)
        where TFrames : struct, IFrameAllocator
    {
        if (!ValidFlags(flags) || !TryGetMaxLevel(largest, out int maxLevel)) return Status.InvalidArgument;
        Status s = CheckRange(va.Value, byteCount, out ulong last);
        if (s != Status.Ok) return s;
        if ((pa.Value & PageSize.OffsetMask) != 0) return Status.Misaligned;
        ulong limit = 0;
        for (int l = 0; l <= maxLevel; l++)
            if (TFormat.CanBeLeaf(l) && TFormat.LeafPhysLimit(l) > limit) limit = TFormat.LeafPhysLimit(l);
        if (pa.Value >= limit || byteCount > limit - pa.Value) return Status.InvalidArgument;
        return MapCore(va.Value, last, pa.Value, flags, 0, maxLevel, ref frames, ref batch);
    }

    /// <summary>
    /// Unmaps every page in [va, va + byteCount) (holes and entries the OS keeps are skipped),
    /// splitting large pages that straddle either end, and frees tables that become empty.
    /// Return: Ok; NotMapped (nothing in the range was mapped); InvalidArgument; Misaligned;
    /// Overflow; OutOfMemory / OutOfRange / Unsupported (a needed split could not be made;
    /// nothing changed).
    /// </summary>
    public Status UnmapRange<TFrames>(VirtAddr va, ulong byteCount, ref TFrames frames, ref FlushBatch batch)
        where TFrames : struct, IFrameAllocator
    {
        Status s = CheckRange(va.Value, byteCount, out ulong last);
        if (s != Status.Ok) return s;
        s = SplitBoundaries(va.Value, last, ref frames, ref batch);
        if (s != Status.Ok) return s;
        return (UnmapIn(Top, _root, null, 0, va.Value, last, ref frames, ref batch) & Unmapped) != 0 ? Status.Ok : Status.NotMapped;
    }

    /// <summary>
    /// Sets the flags of every page in [va, va + byteCount), splitting large pages that
    /// straddle either end (a large page inside the range keeps its size). Every page must be
    /// mapped.
    /// Return: Ok; NotMapped (a hole; nothing changed); InvalidArgument; Misaligned; Overflow;
    /// OutOfMemory / OutOfRange / Unsupported (a needed split could not be made; nothing changed).
    /// </summary>
    public Status ProtectRange<TFrames>(VirtAddr va, ulong byteCount, PageFlags flags, ref TFrames frames, ref FlushBatch batch)
        where TFrames : struct, IFrameAllocator
    {
        if (!ValidFlags(flags)) return Status.InvalidArgument;
        Status s = CheckRange(va.Value, byteCount, out ulong last);
        if (s != Status.Ok) return s;
        s = CheckMapped(Top, _root, va.Value, last);
        if (s != Status.Ok) return s;
        s = SplitBoundaries(va.Value, last, ref frames, ref batch);
        if (s != Status.Ok) return s;
        ProtectIn(Top, _root, va.Value, last, flags, ref batch);
        return Status.Ok;
    }

    // ---- the passes ----

    /// <summary>Maps [first, last] at first + (pa - first) with leaves of levels minLeaf..maxLeaf;
    /// on failure unmaps what it mapped (tables it created go with it).</summary>
    private Status MapCore<TFrames, TRec>(ulong first, ulong last, ulong pa, PageFlags flags, int minLeaf, int maxLeaf, ref TFrames frames, ref TRec rec)
        where TFrames : struct, IFrameAllocator where TRec : struct, IFlushRecorder
    {
        ulong done = first;
        Status s = MapIn(Top, _root, null, 0, first, last, pa - first, flags, minLeaf, maxLeaf, ref frames, ref rec, ref done);
        if (s != Status.Ok && done != first)
        {
            // [first, done) consists of leaves this call wrote, so no split is needed to remove them.
            if ((UnmapIn(Top, _root, null, 0, first, done - 1, ref frames, ref rec) & Unmapped) == 0) Panic.Fail("mapper: rollback found nothing to unmap", first);
        }
        return s;
    }

    // `delta` = pa - va (mod 2^64); `done` = one past the last byte mapped so far; (pt, pi) is the
    // entry pointing at this table (null for the root), whose count this call keeps.
    private Status MapIn<TFrames, TRec>(int level, ulong tablePhys, byte* pt, int pi, ulong cur, ulong last, ulong delta, PageFlags flags, int minLeaf, int maxLeaf,
        ref TFrames frames, ref TRec rec, ref ulong done)
        where TFrames : struct, IFrameAllocator where TRec : struct, IFlushRecorder
    {
        byte* t = _access.Table(tablePhys, level, cur);
        ulong span = Span(level);
        int idx = Index(level, cur);
        bool global = (flags & PageFlags.Global) != 0;
        int added = 0;
        Status result = Status.Ok;
        while (true)
        {
            ulong entryLast = cur | (span - 1);
            ulong chunkLast = entryLast < last ? entryLast : last;
            bool whole = (cur & (span - 1)) == 0 && chunkLast == entryLast;
            ulong pcur = cur + delta;
            ulong limit = TFormat.LeafPhysLimit(level);
            ulong e = TFormat.Read(t, idx);
            bool present = TFormat.IsPresent(e);
            bool leafFits = whole && level <= maxLeaf && TFormat.CanBeLeaf(level) && (pcur & (span - 1)) == 0
                && pcur < limit && span <= limit - pcur;
            if (leafFits && e == 0)
            {
                TFormat.Write(t, idx, TFormat.MakeLeaf(level, pcur, flags));
                added++;
                if (TFormat.NewMappingNeedsFlush) rec.Page(cur, global);
                done = chunkLast + 1;
            }
            else if (e != 0 && (level <= minLeaf || !present || TFormat.IsLeaf(level, e)))
            {
                // In use where this call would map: a mapping, an entry the OS keeps (or a
                // table, which is never empty) covering the whole chunk, or a larger page
                // covering part of it.
                result = whole || !TFormat.IsLeaf(level, e) ? Status.AlreadyMapped : Status.ParentIsHugePage;
                break;
            }
            else if (level <= minLeaf)
            {
                result = Status.InvalidArgument; // the physical address is beyond what the smallest allowed page can map
                break;
            }
            else
            {
                ulong child;
                if (present) child = TFormat.Address(level, e);
                else if (level == Top && _rootFixed) { result = Status.Unsupported; break; }
                else
                {
                    Status a = LinkNewTable(t, level, idx, cur, ref frames, ref rec, out child);
                    if (a != Status.Ok) { result = a; break; }
                    added++;
                }
                Status s = MapIn(level - 1, child, t, idx, cur, chunkLast, delta, flags, minLeaf, maxLeaf, ref frames, ref rec, ref done);
                if (s != Status.Ok)
                {
                    // A table left empty by the failure (made by this call) goes now; tables that
                    // still hold this call's pages go with the rollback.
                    if (IsChildEmpty(t, idx, level, child, cur))
                    {
                        UnlinkTable(t, level, idx, cur, child, ref frames, ref rec);
                        added--;
                    }
                    result = s;
                    break;
                }
            }
            if (chunkLast >= last) break;
            cur = chunkLast + 1;
            idx++;
        }
        AdjustCount(pt, pi, level + 1, added);
        return result;
    }

    /// <summary>Clears every leaf in [cur, last] and frees tables that become empty; every leaf
    /// met must lie wholly inside (boundaries already split); entries the OS keeps (non-zero,
    /// not present) stay, and so do their tables. Returns whether anything was mapped
    /// (<see cref="Unmapped"/>) and whether such an entry was left (<see cref="KeptEntries"/>).
    /// (pt, pi) is the entry pointing at this table (null for the root).</summary>
    private int UnmapIn<TFrames, TRec>(int level, ulong tablePhys, byte* pt, int pi, ulong cur, ulong last, ref TFrames frames, ref TRec rec)
        where TFrames : struct, IFrameAllocator where TRec : struct, IFlushRecorder
    {
        byte* t = _access.Table(tablePhys, level, cur);
        ulong span = Span(level);
        int idx = Index(level, cur);
        int result = 0;
        int removed = 0;
        while (true)
        {
            ulong entryLast = cur | (span - 1);
            ulong chunkLast = entryLast < last ? entryLast : last;
            bool whole = (cur & (span - 1)) == 0 && chunkLast == entryLast;
            ulong e = TFormat.Read(t, idx);
            if (TFormat.IsPresent(e))
            {
                if (TFormat.IsLeaf(level, e))
                {
                    if (!whole) Panic.Fail("mapper: unmap cuts through a leaf whose boundary was not split", cur);
                    TFormat.Write(t, idx, 0);
                    removed++;
                    rec.Page(cur, IsGlobal(level, e));
                    result |= Unmapped;
                }
                else
                {
                    ulong child = TFormat.Address(level, e);
                    int below = UnmapIn(level - 1, child, t, idx, cur, chunkLast, ref frames, ref rec);
                    result |= below;
                    // A wholly covered table is empty now unless it kept entries; a partly
                    // covered one has to be looked at.
                    if (whole && !(level == Top && _rootFixed) ? (below & KeptEntries) == 0 : IsChildEmpty(t, idx, level, child, cur))
                    {
                        UnlinkTable(t, level, idx, cur, child, ref frames, ref rec);
                        removed++;
                    }
                }
            }
            else if (e != 0) result |= KeptEntries;
            if (chunkLast >= last) break;
            cur = chunkLast + 1;
            idx++;
        }
        AdjustCount(pt, pi, level + 1, -removed);
        return result;
    }

    // UnmapIn's result bits.
    private const int Unmapped = 1, KeptEntries = 2;

    /// <summary>Rewrites the flags of every leaf in [cur, last]; boundaries already split, no holes.</summary>
    private void ProtectIn<TRec>(int level, ulong tablePhys, ulong cur, ulong last, PageFlags flags, ref TRec rec)
        where TRec : struct, IFlushRecorder
    {
        byte* t = _access.Table(tablePhys, level, cur);
        ulong span = Span(level);
        int idx = Index(level, cur);
        while (true)
        {
            ulong entryLast = cur | (span - 1);
            ulong chunkLast = entryLast < last ? entryLast : last;
            bool whole = (cur & (span - 1)) == 0 && chunkLast == entryLast;
            ulong e = TFormat.Read(t, idx);
            if (!TFormat.IsPresent(e)) Panic.Fail("mapper: protect found a hole after checking there was none", cur);
            if (TFormat.IsLeaf(level, e))
            {
                if (!whole) Panic.Fail("mapper: protect cuts through a leaf whose boundary was not split", cur);
                ulong ne = TFormat.WithFlags(level, e, flags);
                if (ne != e)
                {
                    TFormat.Write(t, idx, ne);
                    rec.Page(cur, IsGlobal(level, e) || IsGlobal(level, ne));
                }
            }
            else
            {
                ProtectIn(level - 1, TFormat.Address(level, e), cur, chunkLast, flags, ref rec);
            }
            if (chunkLast >= last) return;
            cur = chunkLast + 1;
            idx++;
        }
    }

    /// <summary>NotMapped when any page in [cur, last] is not mapped.</summary>
    private Status CheckMapped(int level, ulong tablePhys, ulong cur, ulong last)
    {
        byte* t = _access.Table(tablePhys, level, cur);
        ulong span = Span(level);
        int idx = Index(level, cur);
        while (true)
        {
            ulong entryLast = cur | (span - 1);
            ulong chunkLast = entryLast < last ? entryLast : last;
            ulong e = TFormat.Read(t, idx);
            if (!TFormat.IsPresent(e)) return Status.NotMapped;
            if (!TFormat.IsLeaf(level, e))
            {
                Status s = CheckMapped(level - 1, TFormat.Address(level, e), cur, chunkLast);
                if (s != Status.Ok) return s;
            }
            if (chunkLast >= last) return Status.Ok;
            cur = chunkLast + 1;
            idx++;
        }
    }

    // ---- splitting ----

    // The splits one range operation made, to undo them if a later one fails.
    private struct SplitLog
    {
        public const int Capacity = 2 * PageWalk.MaxSteps;
        public int Count;
        public fixed int Level[Capacity];
        public fixed ulong Va[Capacity];
        public fixed ulong Original[Capacity];
        public fixed ulong Child[Capacity];

        public void Push(int level, ulong va, ulong original, ulong child)
        {
            if (Count == Capacity) Panic.Fail("mapper: more splits than two ends times the levels");
            Level[Count] = level; Va[Count] = va; Original[Count] = original; Child[Count] = child;
            Count++;
        }
    }

    /// <summary>Makes both ends of [first, last] fall on leaf boundaries. On failure every
    /// split made here is undone and the status returned.</summary>
    private Status SplitBoundaries<TFrames, TRec>(ulong first, ulong last, ref TFrames frames, ref TRec rec)
        where TFrames : struct, IFrameAllocator where TRec : struct, IFlushRecorder
    {
        SplitLog log = default;
        Status s = EnsureBoundary(first, ref frames, ref rec, ref log);
        ulong end = last + 1;
        if (s == Status.Ok && end != 0 && TFormat.IsCanonical(end)) s = EnsureBoundary(end, ref frames, ref rec, ref log);
        if (s != Status.Ok) UndoSplits(ref log, ref frames, ref rec);
        return s;
    }

    /// <summary>Splits, level by level, every leaf that has <paramref name="va"/> strictly inside.</summary>
    private Status EnsureBoundary<TFrames, TRec>(ulong va, ref TFrames frames, ref TRec rec, ref SplitLog log)
        where TFrames : struct, IFrameAllocator where TRec : struct, IFlushRecorder
    {
        ulong tablePhys = _root;
        for (int level = Top; level > 0; level--)
        {
            // va starting this entry means it starts every entry below it on its path too.
            if ((va & (Span(level) - 1)) == 0) return Status.Ok;
            byte* t = _access.Table(tablePhys, level, va);
            int idx = Index(level, va);
            ulong e = TFormat.Read(t, idx);
            if (!TFormat.IsPresent(e)) return Status.Ok;
            if (TFormat.IsLeaf(level, e))
            {
                Status s = SplitLeafAt(t, level, idx, va, ref frames, ref rec, out ulong child);
                if (s != Status.Ok) return s;
                log.Push(level, va, e, child);
                tablePhys = child;
            }
            else
            {
                tablePhys = TFormat.Address(level, e);
            }
        }
        return Status.Ok;
    }

    /// <summary>Replaces the leaf at entry <paramref name="index"/> of the level-<paramref name="level"/>
    /// table <paramref name="t"/> by a table of level - 1 leaves covering the same physical run
    /// with the same attributes. The new table is filled before it is linked.</summary>
    private Status SplitLeafAt<TFrames, TRec>(byte* t, int level, int index, ulong va, ref TFrames frames, ref TRec rec, out ulong child)
        where TFrames : struct, IFrameAllocator where TRec : struct, IFlushRecorder
    {
        child = 0;
        ulong e = TFormat.Read(t, index);
        int cl = level - 1;
        ulong page = TFormat.Address(level, e);
        ulong cspan = Span(cl);
        int n = TFormat.EntriesPerTable(cl);
        if ((ulong)n * cspan != Span(level)) Panic.Fail("mapper: child table does not cover its parent entry", (ulong)level);
        if (!TFormat.CanBeLeaf(cl) || page + Span(level) > TFormat.LeafPhysLimit(cl)) return Status.Unsupported;
        Status s = TableFrames<TFormat>.Allocate(ref frames, cl, out ulong phys);
        if (s != Status.Ok) return s;
        byte* p = _access.BeginUnlinked(phys);
        if (p == null)
        {
            TableFrames<TFormat>.Free(ref frames, phys);
            return Status.Unsupported;
        }
        ulong template = TFormat.SplitLeaf(level, e);
        for (int i = 0; i < n; i++) TFormat.Write(p, i, TFormat.WithAddress(cl, template, page + (ulong)i * cspan));
        _access.EndUnlinked(phys);
        TFormat.Write(t, index, NewPointer(level, phys, n));
        _access.Linked(cl, va);
        rec.SizeChanged(IsGlobal(level, e));
        if (level == Top && TFormat.RootEntriesLatched) rec.RootChanged();
        child = phys;
        return Status.Ok;
    }

    private void UndoSplits<TFrames, TRec>(ref SplitLog log, ref TFrames frames, ref TRec rec)
        where TFrames : struct, IFrameAllocator where TRec : struct, IFlushRecorder
    {
        // Newest first: a deeper split lives inside the table an older one made.
        for (int i = log.Count - 1; i >= 0; i--)
        {
            int level = log.Level[i];
            ulong va = log.Va[i], original = log.Original[i];
            ulong tablePhys = TablePhysAt(level, va);
            TFormat.Write(_access.Table(tablePhys, level, va), Index(level, va), original);
            _access.Unlinked(level - 1, va);
            TableFrames<TFormat>.Free(ref frames, log.Child[i]);
            rec.SizeChanged(IsGlobal(level, original));
            if (level == Top && TFormat.RootEntriesLatched) rec.RootChanged();
        }
        log.Count = 0;
    }

    /// <summary>The physical address of the table at <paramref name="level"/> on the walk for
    /// <paramref name="va"/>; every entry above it must be a present pointer.</summary>
    private ulong TablePhysAt(int level, ulong va)
    {
        ulong tablePhys = _root;
        for (int l = Top; l > level; l--)
        {
            ulong e = TFormat.Read(_access.Table(tablePhys, l, va), Index(l, va));
            if (!TFormat.PointsToTable(l, e)) Panic.Fail("mapper: the path to a split table is gone", va);
            tablePhys = TFormat.TableAddress(e);
        }
        return tablePhys;
    }
}
