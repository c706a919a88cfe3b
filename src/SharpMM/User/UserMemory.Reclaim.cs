using SharpMM.Addressing;
using SharpMM.Paging;

namespace SharpMM.User;

// Page replacement: the clock over the registered spaces' Accessed bits.
//
// Runs under the shared lock, possibly on the fault path of a space whose table lock the CPU
// holds; every other space's table lock is taken with a try-lock (a CPU holding it may be
// waiting for the shared lock): a busy space is skipped this time, and counted in `busy`.
public unsafe partial struct UserMemory<TFormat, TFrames, TStore>
{
    private ulong ReclaimLocked<TArch>(ulong pages, ref TArch arch, out int busy) where TArch : struct, IArchHooks
    {
        RequireShared("user memory: reclaim without the shared lock");
        busy = 0;
        Counters.ReclaimRuns++;
        if (_spaceCount == 0 || pages == 0) return 0;
        ulong budget = 16;
        for (int i = 0; i < MaxSpaces; i++) if (_spaces[i] != 0) budget += 2 * SpaceAt(i)->ResidentPages;
        ulong freed = 0, scanned = 0;
        int spacesVisited = 0;
        while (freed < pages && scanned < budget)
        {
            if ((uint)_handSpace >= MaxSpaces) { _handSpace = 0; _handVa = 0; }
            AddressSpace<TFormat>* s = SpaceAt(_handSpace);
            if (s == null || !s->IsLive)
            {
                NextSpace();
                if (++spacesVisited > 2 * MaxSpaces) break;
                continue;
            }
            if (!s->TryAcquireTables())
            {
                busy++;
                NextSpace();
                if (++spacesVisited > 2 * MaxSpaces) break;
                continue;
            }
            var batch = new FlushBatch();
            bool done = ScanSpace(s, pages, ref freed, ref scanned, budget, ref batch);
            Finish(s, ref batch, ref arch);
            s->ReleaseTables();
            if (done)
            {
                NextSpace();
                if (++spacesVisited > 2 * MaxSpaces) break;
            }
        }
        return freed;
    }

    private void NextSpace()
    {
        _handSpace = _handSpace + 1 >= MaxSpaces ? 0 : _handSpace + 1;
        _handVa = 0;
    }

    // Scans `s` from the hand; true when the hand reached the end of the space.
    private bool ScanSpace(AddressSpace<TFormat>* s, ulong pages, ref ulong freed, ref ulong scanned, ulong budget, ref FlushBatch batch)
    {
        ref VmaSet regions = ref s->Regions;
        for (int r = regions.FirstEndingAfter(_handVa); r < regions.Count; r++)
        {
            Vma v = regions[r];
            // Shared pages stay: a fork maps them in several spaces, and a page that left one
            // of them would be filled again apart from the others.
            if (v.Kind == VmaKind.Device || v.Kind == VmaKind.Shared) { _handVa = v.End; continue; }
            ulong p = _handVa > v.Start ? _handVa : v.Start;
            while (p < v.End)
            {
                p = s->NextLeafTable(p, v.End, out LeafTable<TFormat> t);
                if (t.IsNull) break;
                ulong tableStart = p;
                ulong tableEnd = TableEnd(p, v.End);
                bool cleared = false; // an entry of this table became zero (a clean page dropped)
                for (; p < tableEnd; p += PageSize.Bytes)
                {
                    if (freed >= pages || scanned >= budget)
                    {
                        if (cleared) FreeEmptyTablesLater(s, tableStart, ref batch);
                        _handVa = p;
                        return false;
                    }
                    int idx = LeafTable<TFormat>.IndexOf(p);
                    ulong e = t.Read(idx);
                    if (!TFormat.IsPresent(e)) continue;
                    scanned++;
                    Counters.ClockScans++;
                    if ((TFormat.Flags(0, e) & PageFlags.Accessed) != 0)
                    {
                        // Atomically: a Dirty bit another CPU's walk sets meanwhile is kept.
                        while (!t.TryReplace(idx, e, TFormat.WithFlags(0, e, TFormat.Flags(0, e) & ~PageFlags.Accessed))) e = t.Read(idx);
                        batch.Add(p, PageGlobality.NotGlobal);
                        Counters.SecondChances++;
                        continue;
                    }
                    if (Evict(s, v, t, idx, p, e, ref batch)) freed++;
                    if (t.Read(idx) == 0) cleared = true;
                }
                if (cleared) FreeEmptyTablesLater(s, tableStart, ref batch);
            }
            _handVa = v.End;
        }
        return true;
    }

    // Takes one mapping away: the entry becomes a swap entry (or zero for a clean zero page).
    // True when the frame was freed (its last mapping). A dirty page that cannot be written
    // (no free slot, store error) keeps its mapping, and so does a page another CPU touched
    // since `e` was read.
    //
    // The entry is taken first: its present bit cleared by compare-exchange against `e`, whose
    // Accessed bit is clear. Accessed clear means no CPU caches the page (each clear of it was
    // shot down before the clock came back), so from the exchange on no CPU can write the page
    // or set Dirty without a fault, which waits for the space's table lock: the Dirty bit read is final,
    // and a page read as clean stays so while it is written out or dropped. A failed exchange
    // means a walk set Accessed or Dirty meanwhile: the page was used, it stays.
    private bool Evict(AddressSpace<TFormat>* s, in Vma v, LeafTable<TFormat> t, int idx, ulong va, ulong e, ref FlushBatch batch)
    {
        if (!t.TryReplace(idx, e, e & ~1UL)) return false;
        bool kept = EvictTaken(s, v, t, idx, va, e, ref batch, out bool last);
        if (kept) t.Write(idx, e);
        return last;
    }

    // Evict's body once the entry is taken (not present). True when the mapping must stay (the
    // caller puts `e` back); `last`: the frame was freed.
    private bool EvictTaken(AddressSpace<TFormat>* s, in Vma v, LeafTable<TFormat> t, int idx, ulong va, ulong e, ref FlushBatch batch, out bool last)
    {
        last = false;
        ulong pfn = TFormat.Address(0, e) >> PageSize.Shift;
        ref UserFrame f = ref _table[pfn];
        if ((TFormat.Flags(0, e) & PageFlags.Dirty) != 0)
        {
            f.Flags &= unchecked((byte)~UserFrame.CleanFlag);
            if (v.Kind == VmaKind.StoreBacked && _region != null && _region->Owner == s) _region->MarkDirty(v.OffsetAt(va));
        }
        ulong ne;
        if (f.IsClean && !f.HasSlot && v.Kind != VmaKind.StoreBacked)
        {
            ne = 0; // still all zero: the next touch zero-fills again
            Counters.CleanDrops++;
        }
        else if (f.IsClean && f.HasSlot)
        {
            ne = SwapEntry<TFormat>.Make(f.Slot);
            _slots.AddRef(f.Slot);
            Counters.CleanDrops++;
        }
        else
        {
            uint slot;
            bool fresh = false;
            if (f.HasSlot && _slots.RefCount(f.Slot) == 1) slot = f.Slot; // only this frame's cache names it: overwrite
            else
            {
                if (_slots.Allocate(out slot) != Status.Ok) { Counters.EvictionsRefused++; return true; }
                fresh = true;
            }
            byte* data = MapPage(pfn);
            Status ws = Store.Write(slot, data);
            EndPage(pfn, data);
            if (ws != Status.Ok)
            {
                if (fresh) _slots.Release(slot);
                Counters.StoreErrors++;
                Counters.EvictionsRefused++;
                return true;
            }
            if (fresh)
            {
                if (f.HasSlot) _slots.Release(f.Slot);
                f.Slot = slot;
            }
            f.Flags |= UserFrame.CleanFlag | UserFrame.HasSlotFlag;
            Counters.PagesOut++;
            ne = SwapEntry<TFormat>.Make(slot);
            _slots.AddRef(slot);
        }
        t.Write(idx, ne);
        batch.Add(va, PageGlobality.NotGlobal);
        s->ResidentPages--;
        MappingEvents.Unmapped(va, pfn);
        if (ne != 0) s->SwappedPages++;
        last = f.Refs == 1;
        DropFrame(s, pfn);
        return false;
    }
}
