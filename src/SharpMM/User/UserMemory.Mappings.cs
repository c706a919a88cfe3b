using SharpMM.Addressing;
using SharpMM.Paging;

namespace SharpMM.User;

// The region kinds and page operations the Linux calls need beyond map, unmap and protect:
// shared anonymous memory, private file mappings, dropping pages, moving pages.
public unsafe partial struct UserMemory<TFormat, TFrames, TStore>
{
    private Status MapSharedLocked(AddressSpace<TFormat>* space, ulong va, ulong bytes, VmaProtection protection, out ulong start) =>
        MapRegion(space, va, bytes, protection, VmaKind.Shared, 0, out start);

    private Status MapFileLocked(AddressSpace<TFormat>* space, ulong va, ulong bytes, FileImage* file, ulong offset, VmaProtection protection, out ulong start)
    {
        start = 0;
        if (!PageSize.IsAligned(offset)) return Status.Misaligned;
        if (file == null || !PageSize.TryAlignUp(bytes, out ulong b) || offset + b < offset) return Status.InvalidArgument;
        return MapRegion(space, va, bytes, protection, VmaKind.File, offset, out start, (ulong)file);
    }

    private Status DiscardLocked<TArch>(AddressSpace<TFormat>* space, ulong va, ulong bytes, ref TArch arch) where TArch : struct, IArchHooks
    {
        if (!PageSize.IsAligned(va)) return Status.Misaligned;
        if (bytes == 0 || !PageSize.TryAlignUp(bytes, out ulong b) || va + b < va) return Status.InvalidArgument;
        ulong end = va + b;
        var batch = new FlushBatch();
        for (int i = space->Regions.FirstEndingAfter(va); i < space->Regions.Count && space->Regions[i].Start < end; i++)
        {
            Vma v = space->Regions[i];
            if (v.Kind == VmaKind.Shared || v.Kind == VmaKind.Device) continue;
            ReleasePages(space, v.Start > va ? v.Start : va, v.End < end ? v.End : end, v.Kind, ref batch);
        }
        Finish(space, ref batch, ref arch);
        return Status.Ok;
    }

    private Status MovePagesLocked<TArch>(AddressSpace<TFormat>* space, ulong from, ulong fromBytes, ulong to, ulong toBytes, ref TArch arch) where TArch : struct, IArchHooks
    {
        if (!PageSize.IsAligned(from) || !PageSize.IsAligned(to) || !PageSize.IsAligned(fromBytes) || !PageSize.IsAligned(toBytes)) return Status.Misaligned;
        if (fromBytes == 0 || toBytes == 0 || from + fromBytes < from || to + toBytes < to
            || !space->Layout.IsUserRange(from, from + fromBytes) || !space->Layout.IsUserRange(to, to + toBytes)
            || (from < to + toBytes && to < from + fromBytes))
            return Status.InvalidArgument;
        ulong bytes = fromBytes < toBytes ? fromBytes : toBytes;
        var batch = new FlushBatch();
        // 1. The destination's tables, for every page that has an entry (no reclaim here: it
        //    could free a table made for the move).
        for (ulong p = from; p < from + bytes;)
        {
            p = space->NextLeafTable(p, from + bytes, out LeafTable<TFormat> t);
            if (t.IsNull) break;
            ulong tableEnd = TableEnd(p, from + bytes);
            for (; p < tableEnd; p += PageSize.Bytes)
            {
                if (t.Read(LeafTable<TFormat>.IndexOf(p)) == 0) continue;
                Status s = space->EnsureLeafTable(to + (p - from), ref Frames, ref batch, out _);
                if (s != Status.Ok)
                {
                    FreeEmptyTablesIn(space, to, to + toBytes, ref batch);
                    Finish(space, ref batch, ref arch);
                    return Status.OutOfMemory;
                }
            }
        }
        // 2. What the destination held goes; its tables stay for the entries to come.
        ReleaseByRegion(space, to, to + toBytes, ref batch, keepTables: true);
        // 3. The entries move.
        for (ulong p = from; p < from + bytes;)
        {
            p = space->NextLeafTable(p, from + bytes, out LeafTable<TFormat> t);
            if (t.IsNull) break;
            ulong tableEnd = TableEnd(p, from + bytes);
            for (; p < tableEnd; p += PageSize.Bytes)
            {
                int idx = LeafTable<TFormat>.IndexOf(p);
                ulong e = t.Read(idx);
                if (e == 0) continue;
                ulong q = to + (p - from);
                LeafTable<TFormat> dt = space->FindLeafTable(q);
                if (dt.IsNull) Panic.Fail("user memory: a table made for a move is gone", q);
                int didx = LeafTable<TFormat>.IndexOf(q);
                if (dt.Read(didx) != 0) Panic.Fail("user memory: a move's destination entry was not released", q);
                dt.Write(didx, e);
                t.Write(idx, 0);
                if (TFormat.IsPresent(e))
                {
                    batch.Add(p, PageGlobality.NotGlobal);
                    MappingEvents.Unmapped(p, TFormat.Address(0, e) >> PageSize.Shift);
                    MappingEvents.Mapped(q, TFormat.Address(0, e) >> PageSize.Shift);
                }
            }
        }
        // 4. The source's pages that did not move (a move that shrinks).
        if (fromBytes > bytes) ReleaseByRegion(space, from + bytes, from + fromBytes, ref batch, keepTables: false);
        FreeEmptyTablesIn(space, from, from + fromBytes, ref batch);
        FreeEmptyTablesIn(space, to, to + toBytes, ref batch);
        Finish(space, ref batch, ref arch);
        return Status.Ok;
    }

    private Status SharePagesLocked<TArch>(AddressSpace<TFormat>* space, in Vma v, ulong from, ulong to, ulong bytes, ref TArch arch) where TArch : struct, IArchHooks
    {
        if (!PageSize.IsAligned(from) || !PageSize.IsAligned(to) || !PageSize.IsAligned(bytes)) return Status.Misaligned;
        if (bytes == 0 || from + bytes < from || to + bytes < to || !space->Layout.IsUserRange(to, to + bytes)
            || v.Kind != VmaKind.Shared || from < v.Start || from + bytes > v.End || (from < to + bytes && to < from + bytes))
            return Status.InvalidArgument;
        for (ulong p = from; p < from + bytes; p += PageSize.Bytes)
        {
            if (space->Entry(p) != 0) continue;
            FaultKind k = ResolvePage(space, v, p, new PageFault(p, PageFaultErrorCode.User), ref arch);
            if (k >= FaultKind.FirstError) return k == FaultKind.OutOfMemory ? Status.OutOfMemory : Status.IoError;
        }
        var batch = new FlushBatch();
        // Tables only (no reclaim here, and shared pages are never paged out): the source
        // entries stay as they are while the destination is made.
        for (ulong p = from; p < from + bytes; p += PageSize.Bytes)
        {
            if (space->EnsureLeafTable(to + (p - from), ref Frames, ref batch, out _) == Status.Ok) continue;
            FreeEmptyTablesIn(space, to, to + bytes, ref batch);
            Finish(space, ref batch, ref arch);
            return Status.OutOfMemory;
        }
        ReleaseByRegion(space, to, to + bytes, ref batch, keepTables: true);
        for (ulong p = from; p < from + bytes; p += PageSize.Bytes)
        {
            ulong e = space->Entry(p);
            if (!TFormat.IsPresent(e)) Panic.Fail("user memory: a populated shared page is not present", p);
            ref UserFrame f = ref _table[TFormat.Address(0, e) >> PageSize.Shift];
            if (f.Refs == ushort.MaxValue) Panic.Fail("user memory: frame mapping count overflow", TFormat.Address(0, e));
            f.Refs++;
            if ((TFormat.Flags(0, e) & PageFlags.Dirty) != 0) f.Flags &= unchecked((byte)~UserFrame.CleanFlag);
            ulong q = to + (p - from);
            LeafTable<TFormat> dt = space->FindLeafTable(q);
            if (dt.IsNull) Panic.Fail("user memory: a table made for shared pages is gone", q);
            dt.Write(LeafTable<TFormat>.IndexOf(q), TFormat.WithFlags(0, e, TFormat.Flags(0, e) & ~(PageFlags.Accessed | PageFlags.Dirty)));
            space->ResidentPages++;
            MappingEvents.Mapped(q, TFormat.Address(0, e) >> PageSize.Shift);
        }
        Finish(space, ref batch, ref arch);
        return Status.Ok;
    }

    // Releases the pages of [start, end) region by region (each by its kind).
    private void ReleaseByRegion(AddressSpace<TFormat>* space, ulong start, ulong end, ref FlushBatch batch, bool keepTables)
    {
        for (int i = space->Regions.FirstEndingAfter(start); i < space->Regions.Count && space->Regions[i].Start < end; i++)
        {
            Vma v = space->Regions[i];
            ReleasePages(space, v.Start > start ? v.Start : start, v.End < end ? v.End : end, v.Kind, ref batch, keepTables);
        }
    }

    // Frees the tables of [start, end) that hold only zero entries.
    private void FreeEmptyTablesIn(AddressSpace<TFormat>* space, ulong start, ulong end, ref FlushBatch batch)
    {
        for (ulong p = start; p < end;)
        {
            p = space->NextLeafTable(p, end, out LeafTable<TFormat> t);
            if (t.IsNull) break;
            FreeEmptyTablesLater(space, p, ref batch);
            p = TableEnd(p, end);
        }
    }
}
