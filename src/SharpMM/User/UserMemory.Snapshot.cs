using SharpMM.Addressing;
using SharpMM.Paging;

namespace SharpMM.User;

// Snapshots of the persistent region from its owner's store-backed regions.
public unsafe partial struct UserMemory<TFormat, TFrames, TStore>
{
    private Status SnapshotLocked<TArch>(ref TArch arch, out ulong pagesWritten) where TArch : struct, IArchHooks
    {
        pagesWritten = 0;
        if (_region == null || _region->Owner == null) return Status.Unsupported;
        var space = (AddressSpace<TFormat>*)_region->Owner;
        _region->BeginSnapshot();
        Status s = Status.Ok;
        byte* scratch = stackalloc byte[(int)PageSize.Bytes];
        for (int r = 0; r < space->Regions.Count && s == Status.Ok; r++)
        {
            Vma v = space->Regions[r];
            if (v.Kind == VmaKind.StoreBacked) s = SnapshotRegion(space, v, scratch);
        }
        if (s == Status.Ok) s = _region->Commit(ref Store);
        if (s != Status.Ok)
        {
            _region->AbortSnapshot();
            Counters.StoreErrors++;
            return s;
        }
        pagesWritten = _region->WrittenCount;
        var batch = new FlushBatch();
        for (int r = 0; r < space->Regions.Count; r++)
        {
            Vma v = space->Regions[r];
            if (v.Kind == VmaKind.StoreBacked) ClearDirty(space, v, ref batch);
        }
        Finish(space, ref batch, ref arch);
        return Status.Ok;
    }

    private Status SnapshotRegion(AddressSpace<TFormat>* space, in Vma v, byte* scratch)
    {
        ulong p = v.Start;
        while (p < v.End)
        {
            p = space->NextLeafTable(p, v.End, out LeafTable<TFormat> t);
            if (t.IsNull) break;
            ulong tableEnd = TableEnd(p, v.End);
            for (; p < tableEnd; p += PageSize.Bytes)
            {
                ulong e = t.Read(LeafTable<TFormat>.IndexOf(p));
                if (e == 0) continue;
                ulong page = v.OffsetAt(p);
                bool present = TFormat.IsPresent(e);
                bool changed = _region->IsDirty(page) || (present && (TFormat.Flags(0, e) & PageFlags.Dirty) != 0);
                if (!changed) continue;
                byte* data;
                ulong pfn = present ? TFormat.Address(0, e) >> PageSize.Shift : 0;
                if (present) data = MapPage(pfn);
                else
                {
                    Status rs = Store.Read(SwapEntry<TFormat>.SlotOf(e), scratch);
                    if (rs != Status.Ok) return rs;
                    data = scratch;
                }
                Status ws = _region->WritePage(ref Store, page, data);
                if (present) EndPage(pfn, data);
                if (ws != Status.Ok) return ws;
            }
        }
        return Status.Ok;
    }

    // After a commit: the saved pages' Dirty bits go (into the frames' clean state first).
    private void ClearDirty(AddressSpace<TFormat>* space, in Vma v, ref FlushBatch batch)
    {
        ulong p = v.Start;
        while (p < v.End)
        {
            p = space->NextLeafTable(p, v.End, out LeafTable<TFormat> t);
            if (t.IsNull) break;
            ulong tableEnd = TableEnd(p, v.End);
            for (; p < tableEnd; p += PageSize.Bytes)
            {
                int idx = LeafTable<TFormat>.IndexOf(p);
                ulong e = t.Read(idx);
                if (!TFormat.IsPresent(e)) continue;
                PageFlags f = TFormat.Flags(0, e);
                if ((f & PageFlags.Dirty) == 0) continue;
                _table[TFormat.Address(0, e) >> PageSize.Shift].Flags &= unchecked((byte)~UserFrame.CleanFlag);
                t.Write(idx, TFormat.WithFlags(0, e, f & ~PageFlags.Dirty));
                batch.Add(p, PageGlobality.NotGlobal);
            }
        }
    }
}
