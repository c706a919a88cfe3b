using SharpMM.Addressing;
using SharpMM.Paging;

namespace SharpMM.User;

// fork with copy-on-write.
public unsafe partial struct UserMemory<TFormat, TFrames, TStore>
{
    private Status ForkLocked<TArch>(AddressSpace<TFormat>* parent, AddressSpace<TFormat>* child, ref TArch arch) where TArch : struct, IArchHooks
    {
        if (!parent->IsLive || child->IsLive) return Status.InvalidArgument;
        // Before the child exists: populating may reclaim, which must not run under the copy.
        Status s = PopulateShared(parent, ref arch);
        if (s != Status.Ok) return s;
        s = CreateSpace(child, parent->Layout, parent->RootPhys);
        if (s != Status.Ok) return s;
        // The child's tables are changed under its table lock too (the clock may reach it as
        // soon as it is registered). Taken with a try-lock, allowed while holding the parent's
        // and the shared lock; it cannot fail: the child is new, and the clock, the only other
        // taker, needs the shared lock this CPU holds.
        if (!child->TryAcquireTables()) Panic.Fail("user memory: a new space's table lock was held");
        child->Regions = parent->Regions;
        // The child's copy of a region with private pages gets an owner of its own, marked as a
        // fork's (as Linux's anon_vma_fork): it merges only with parts of itself from now on.
        for (int r = 0; r < child->Regions.Count; r++)
        {
            ref Vma c = ref child->Regions.At(r);
            if (!c.IsPrivate || c.Identity == 0) continue;
            c.Identity = NewIdentity();
            c.ForkedIdentity = true;
        }
        child->BrkStart = parent->BrkStart;
        child->Brk = parent->Brk;
        var batch = new FlushBatch();
        var childBatch = new FlushBatch();
        for (int r = 0; r < parent->Regions.Count && s == Status.Ok; r++)
        {
            Vma v = parent->Regions[r];
            s = ForkRegion(parent, child, v, ref batch, ref childBatch, ref arch);
        }
        Finish(parent, ref batch, ref arch);
        Finish(child, ref childBatch, ref arch);
        if (s != Status.Ok)
        {
            DestroyLocked(child, ref arch);   // not visible to callers yet
            child->ReleaseTables();
            *child = default;
            return s;
        }
        child->ReleaseTables();
        return Status.Ok;
    }

    private Status ForkRegion<TArch>(AddressSpace<TFormat>* parent, AddressSpace<TFormat>* child, in Vma v, ref FlushBatch batch, ref FlushBatch childBatch, ref TArch arch)
        where TArch : struct, IArchHooks
    {
        ulong p = v.Start;
        while (p < v.End)
        {
            p = parent->NextLeafTable(p, v.End, out LeafTable<TFormat> pt);
            if (pt.IsNull) break;
            ulong tableEnd = TableEnd(p, v.End);
            LeafTable<TFormat> ct = default;
            for (; p < tableEnd; p += PageSize.Bytes)
            {
                int idx = LeafTable<TFormat>.IndexOf(p);
                ulong e = pt.Read(idx);
                if (e == 0) continue;
                if (ct.IsNull)
                {
                    // Tables only, never a user frame: reclaim is not run here, so the parent's
                    // entries cannot change under the loop.
                    Status s = EnsureLeafTableLater(child, p, ref childBatch, out ct);
                    if (s != Status.Ok) return s;
                }
                if (!TFormat.IsPresent(e))
                {
                    _slots.AddRef(SwapEntry<TFormat>.SlotOf(e));
                    ct.Write(idx, e);
                    child->SwappedPages++;
                    continue;
                }
                if (v.Kind != VmaKind.Device)
                {
                    if ((TFormat.Flags(0, e) & PageFlags.Writable) != 0 && v.Kind != VmaKind.Shared)
                    {
                        // Write-protected atomically (ptep_set_wrprotect): the Dirty bit folded
                        // below is the one the entry had when it stopped being writable, not an
                        // earlier read that a CPU writing the page meanwhile made stale.
                        ulong wp;
                        while (!pt.TryReplace(idx, e, wp = TFormat.WithFlags(0, e, TFormat.Flags(0, e) & ~PageFlags.Writable))) e = pt.Read(idx);
                        e = wp;
                        batch.Add(p, PageGlobality.NotGlobal);
                    }
                    ref UserFrame f = ref _table[TFormat.Address(0, e) >> PageSize.Shift];
                    if ((TFormat.Flags(0, e) & PageFlags.Dirty) != 0) f.Flags &= unchecked((byte)~UserFrame.CleanFlag);
                    if (f.Refs == ushort.MaxValue) Panic.Fail("user memory: frame mapping count overflow", TFormat.Address(0, e));
                    f.Refs++;
                    Counters.ForkSharedPages++;
                }
                ct.Write(idx, TFormat.WithFlags(0, e, TFormat.Flags(0, e) & ~(PageFlags.Accessed | PageFlags.Dirty)));
                child->ResidentPages++;
                MappingEvents.Mapped(p, TFormat.Address(0, e) >> PageSize.Shift);
            }
        }
        return Status.Ok;
    }

    // Every page of every shared region of `space` present: a page first touched after a fork
    // would otherwise be filled in one space only. (The clock never takes them out again.)
    private Status PopulateShared<TArch>(AddressSpace<TFormat>* space, ref TArch arch) where TArch : struct, IArchHooks
    {
        for (int r = 0; r < space->Regions.Count; r++)
        {
            Vma v = space->Regions[r];
            if (v.Kind != VmaKind.Shared) continue;
            for (ulong p = v.Start; p < v.End; p += PageSize.Bytes)
            {
                if (space->Entry(p) != 0) continue;
                FaultKind k = ResolvePage(space, v, p, new PageFault(p, PageFaultErrorCode.User), ref arch);
                if (k >= FaultKind.FirstError) return k == FaultKind.OutOfMemory ? Status.OutOfMemory : Status.IoError;
            }
        }
        return Status.Ok;
    }
}
