using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Paging;

// Read-only walks of Mapper (translate, the per-level walk record, whole-space visits) and
// Destroy, which frees every table.
public unsafe partial struct Mapper<TFormat, TAccess>
{
    /// <summary>
    /// Translates <paramref name="va"/> (any byte, not only a page start) by a software walk.
    /// Return: Ok with the physical address, page size and flags; NotMapped; InvalidArgument
    /// (non-canonical).
    /// </summary>
    public Status Translate(VirtAddr va, out Translation translation)
    {
        translation = default;
        ulong v = va.Value;
        if (!TFormat.IsCanonical(v)) return Status.InvalidArgument;
        WalkPath path = default;
        Status s = FindLeaf(v, ref path, out int level, out ulong e);
        if (s != Status.Ok) return s;
        ulong span = Span(level);
        ulong page = TFormat.Address(level, e);
        translation = new Translation(PhysAddr.NewUnchecked(page + (v & (span - 1))), PhysAddr.NewUnchecked(page),
            VirtAddr.NewUnchecked(v & ~(span - 1)), SizeOf(level), TFormat.Flags(level, e), e);
        return Status.Ok;
    }

    /// <summary>Records every entry the translation of <paramref name="va"/> reads, top first
    /// (<see cref="PageWalk.Result"/>: Ok at a leaf, NotMapped at a non-present entry,
    /// InvalidArgument for a non-canonical address).</summary>
    public PageWalk Walk(VirtAddr va)
    {
        var w = new PageWalk { VirtualAddress = va.Value };
        ulong v = va.Value;
        if (!TFormat.IsCanonical(v)) { w.Result = Status.InvalidArgument; return w; }
        ulong tablePhys = _root;
        for (int level = Top; level >= 0; level--)
        {
            int i = Index(level, v);
            ulong e = TFormat.Read(_access.Table(tablePhys, level, v), i);
            w.Add(new WalkStep(level, i, tablePhys, e));
            if (!TFormat.IsPresent(e)) { w.Result = Status.NotMapped; return w; }
            if (TFormat.IsLeaf(level, e)) { w.Result = Status.Ok; return w; }
            tablePhys = TFormat.Address(level, e);
        }
        Panic.Fail("mapper: a present level-0 entry that is not a leaf", v);
        return w;
    }

    /// <summary>Visits every table and leaf in ascending virtual order, skipping reserved
    /// windows (the recursive slot).</summary>
    public void Visit<TVisitor>(ref TVisitor visitor) where TVisitor : struct, IPageTableVisitor
    {
        VisitIn(Top, _root, 0, LeafMapping.WalkRights, ref visitor);
    }

    /// <summary>Tables and leaves per level.</summary>
    public TableCensus Census()
    {
        var c = new TableCensus();
        Visit(ref c);
        return c;
    }

    // `allowed`: the rights the pointer entries above this table leave (all of WalkRights at the root).
    private void VisitIn<TVisitor>(int level, ulong tablePhys, ulong first, PageFlags allowed, ref TVisitor visitor) where TVisitor : struct, IPageTableVisitor
    {
        ulong cfirst = TFormat.Canonicalize(first);
        visitor.Table(level, cfirst, tablePhys);
        byte* t = _access.Table(tablePhys, level, cfirst);
        ulong span = Span(level);
        int n = TFormat.EntriesPerTable(level);
        for (int i = 0; i < n; i++)
        {
            ulong e = TFormat.Read(t, i);
            if (!TFormat.IsPresent(e)) continue;
            ulong va = TFormat.Canonicalize(first + (ulong)i * span);
            if (_access.WithinReserved(va, va + (span - 1))) continue;
            if (TFormat.IsLeaf(level, e))
            {
                PageFlags flags = TFormat.Flags(level, e);
                visitor.Leaf(new LeafMapping(VirtAddr.NewUnchecked(va), PhysAddr.NewUnchecked(TFormat.Address(level, e)),
                    SizeOf(level), flags, e, LeafMapping.Restrict(flags, allowed)));
            }
            else if (level > 0)
            {
                VisitIn(level - 1, TFormat.Address(level, e), first + (ulong)i * span, allowed & TFormat.PointerRights(level, e), ref visitor);
                // The recursive accessor computes table addresses from va; re-derive after the call.
                t = _access.Table(tablePhys, level, cfirst);
            }
        }
    }

    /// <summary>
    /// Frees every table of the address space, the top-level one included, and leaves the
    /// mapper empty (root 0). Mapped pages' frames are not touched: they belong to whoever
    /// mapped them. The address space must not be active on any CPU, and no table may be
    /// shared with another address space (shared kernel tables must be unlinked first).
    /// Reserved windows are skipped.
    /// </summary>
    public void Destroy<TFrames>(ref TFrames frames) where TFrames : struct, IFrameAllocator
    {
        if (_root == 0) return;
        DestroyIn(Top, _root, 0, ref frames);
        TableFrames<TFormat>.Free(ref frames, _root);
        _root = 0;
    }

    private void DestroyIn<TFrames>(int level, ulong tablePhys, ulong first, ref TFrames frames) where TFrames : struct, IFrameAllocator
    {
        if (level == 0) return;
        ulong span = Span(level);
        int n = TFormat.EntriesPerTable(level);
        for (int i = 0; i < n; i++)
        {
            byte* t = _access.Table(tablePhys, level, TFormat.Canonicalize(first));
            ulong e = TFormat.Read(t, i);
            if (!TFormat.PointsToTable(level, e)) continue;
            ulong va = TFormat.Canonicalize(first + (ulong)i * span);
            if (_access.WithinReserved(va, va + (span - 1))) continue;
            ulong child = TFormat.TableAddress(e);
            DestroyIn(level - 1, child, first + (ulong)i * span, ref frames);
            TableFrames<TFormat>.Free(ref frames, child);
        }
    }
}
