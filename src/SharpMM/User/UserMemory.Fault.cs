using SharpMM.Diagnostics;
using SharpMM.Addressing;
using SharpMM.Paging;

namespace SharpMM.User;

// The page-fault handler.
public unsafe partial struct UserMemory<TFormat, TFrames, TStore>
{
    /// <summary>
    /// Resolves a page fault in <paramref name="space"/> (which must be the active space when
    /// the fault came from the hardware; any space when called directly):
    /// <code>
    ///   outside user space                          -> KernelAddress
    ///   in no region, not within a stack's reach    -> NoRegion
    ///   below a stack, above its limit less the
    ///   guard gap: past the limit, or inside the
    ///   guard gap over the region below             -> StackOverflow; else the stack grows to
    ///                                                  the page: StackGrowth (zero-filled)
    ///   the region forbids the access               -> AccessViolation (32-bit paging reports
    ///                                                  fetches as reads: without NX, data is
    ///                                                  executable there)
    ///   entry empty: anonymous or stack             -> DemandZero (a zeroed frame)
    ///                store-backed                   -> StoreFill (read from the region's last
    ///                                                  good snapshot; zero when it has none)
    ///   swap entry                                  -> PageIn (read back from its slot)
    ///   present, write, read-only, region writable  -> CowReuse (last mapping: made writable)
    ///                                                  or CopyOnWrite (copied to a new frame)
    ///   present and the entry allows the access     -> Spurious (a stale TLB entry)
    ///   no frame even after reclaim                 -> OutOfMemory; a failed store read -> StoreError
    /// </code>
    /// Every resolved kind leaves an entry that allows the access, flushed when the space is
    /// active; an error kind changes nothing. Counted in <see cref="Counters"/>.
    /// </summary>
    public FaultResult HandleFault<TArch>(AddressSpace<TFormat>* space, PageFault fault, ref TArch arch) where TArch : struct, IArchHooks
    {
        FaultKind kind = Resolve(space, fault, ref arch);
        Counters.Faults[(int)kind]++;
        return new FaultResult(kind, fault.Address);
    }

    private FaultKind Resolve<TArch>(AddressSpace<TFormat>* space, PageFault fault, ref TArch arch) where TArch : struct, IArchHooks
    {
        ulong va = fault.Address;
        if (!space->IsLive || va < space->Layout.UserStart || va >= space->Layout.UserEnd)
            return va >= space->Layout.UserEnd ? FaultKind.KernelAddress : FaultKind.NoRegion;
        ulong page = va & ~PageSize.OffsetMask;
        ref VmaSet regions = ref space->Regions;
        int i = regions.FirstEndingAfter(va);
        bool grows = false;
        ulong oldStart = 0;
        if (i >= regions.Count) return FaultKind.NoRegion;
        if (regions[i].Start > va)
        {
            Vma st = regions[i];
            ulong gap = space->Layout.GuardGapBytes;
            // Only the stack's reach (its limit, and the guard gap below it) is about the stack.
            if (st.Kind != VmaKind.Stack || page < st.Limit && st.Limit - page > gap) return FaultKind.NoRegion;
            ulong below = i > 0 ? regions[i - 1].End : space->Layout.UserStart;
            if (page < st.Limit || page < below || page - below < gap) return FaultKind.StackOverflow;
            grows = true;
            oldStart = st.Start;
        }
        Vma v = regions[i];
        if (!Allows(v.Protection, fault)) return FaultKind.AccessViolation;
        if (v.Kind == VmaKind.Device) return FaultKind.AccessViolation; // mapped eagerly: a fault here is a bad access
        if (grows) regions.At(i).Start = page;
        FaultKind kind = ResolvePage(space, v, page, fault, ref arch);
        if (grows)
        {
            if (kind < FaultKind.FirstError) kind = FaultKind.StackGrowth;
            else regions.At(i).Start = oldStart;
        }
        return kind;
    }

    private static bool Allows(VmaProtection protection, PageFault fault)
    {
        if (protection == VmaProtection.None) return false;
        if (fault.IsWrite && (protection & VmaProtection.Write) == 0) return false;
        if (fault.IsFetch && (protection & VmaProtection.Execute) == 0) return false;
        return true;
    }

    // The entry allows the access the fault describes.
    private static bool EntryAllows(ulong e, PageFault fault)
    {
        if (!TFormat.IsPresent(e)) return false;
        PageFlags f = TFormat.Flags(0, e);
        if ((f & PageFlags.User) == 0) return false;
        if (fault.IsWrite && (f & PageFlags.Writable) == 0) return false;
        if (fault.IsFetch && (f & PageFlags.Executable) == 0) return false;
        return true;
    }

    private FaultKind ResolvePage<TArch>(AddressSpace<TFormat>* space, in Vma v, ulong page, PageFault fault, ref TArch arch) where TArch : struct, IArchHooks
    {
        var batch = new FlushBatch();
        Status s = EnsureTable(space, page, ref batch, ref arch, out LeafTable<TFormat> t);
        if (s != Status.Ok)
        {
            Finish(space, ref batch, ref arch);
            return FaultKind.OutOfMemory;
        }
        int idx = LeafTable<TFormat>.IndexOf(page);
        ulong frame = 0;
        bool haveFrame = false;
        FaultKind kind;
        // Decide on the entry as it is now; a frame is allocated first where one is needed
        // (allocation may reclaim, and so change this very entry or free its table), then the
        // table is found again and the entry read again.
        for (; ; )
        {
            ulong e = t.Read(idx);
            if (TFormat.IsPresent(e))
            {
                ulong pfn = TFormat.Address(0, e) >> PageSize.Shift;
                if (EntryAllows(e, fault))
                {
                    batch.Add(page, PageGlobality.NotGlobal);
                    kind = FaultKind.Spurious;
                    break;
                }
                ref UserFrame f = ref _table[pfn];
                if (fault.IsWrite && f.Refs > 1)
                {
                    if (!haveFrame) goto NeedFrame;
                    // Copy-on-write: a private copy, the shared frame loses this mapping.
                    MemoryOps.Copy(PagePointer(frame), PagePointer(pfn), PageSize.Bytes);
                    _table.Claim(frame, new UserFrame { Refs = 1 });
                    haveFrame = false;
                    DropFrame(pfn);
                    t.Write(idx, Leaf(frame << PageSize.Shift, v.Protection, v.Kind, true, PageFlags.Accessed | PageFlags.Dirty));
                    batch.Add(page, PageGlobality.NotGlobal);
                    kind = FaultKind.CopyOnWrite;
                    break;
                }
                // The last mapping of a copy-on-write page, or rights the region allows that the
                // entry lacks: rebuild the entry's rights from the region.
                t.Write(idx, Leaf(pfn << PageSize.Shift, v.Protection, v.Kind, f.Refs == 1, TFormat.Flags(0, e) & (PageFlags.Accessed | PageFlags.Dirty)));
                batch.Add(page, PageGlobality.NotGlobal);
                kind = fault.IsWrite ? FaultKind.CowReuse : FaultKind.Spurious;
                break;
            }
            if (!haveFrame) goto NeedFrame;
            byte* data = PagePointer(frame);
            if (e != 0)
            {
                // Paged out: read back; the entry's reference on the slot passes to the frame.
                uint slot = SwapEntry<TFormat>.SlotOf(e);
                if (Store.Read(slot, data) != Status.Ok)
                {
                    Counters.StoreErrors++;
                    kind = FaultKind.StoreError;
                    break;
                }
                _table.Claim(frame, new UserFrame { Refs = 1, Flags = UserFrame.CleanFlag | UserFrame.HasSlotFlag, Slot = slot });
                space->SwappedPages--;
                Counters.PagesIn++;
                kind = FaultKind.PageIn;
            }
            else if (v.Kind == VmaKind.StoreBacked && _region != null && _region->HasPage(v.OffsetAt(page)))
            {
                if (_region->ReadPage(ref Store, v.OffsetAt(page), data) != Status.Ok)
                {
                    Counters.StoreErrors++;
                    kind = FaultKind.StoreError;
                    break;
                }
                // Not clean: a store-backed page leaves RAM through a swap slot, never back to
                // the region, which only snapshots write.
                _table.Claim(frame, new UserFrame { Refs = 1 });
                Counters.PagesIn++;
                kind = FaultKind.StoreFill;
            }
            else
            {
                MemoryOps.Zero(data, PageSize.Bytes);
                _table.Claim(frame, new UserFrame { Refs = 1, Flags = UserFrame.CleanFlag });
                kind = FaultKind.DemandZero;
            }
            haveFrame = false;
            t.Write(idx, Leaf(frame << PageSize.Shift, v.Protection, v.Kind, true, PageFlags.Accessed));
            space->ResidentPages++;
            batch.Add(page, PageGlobality.NotGlobal);
            break;
        NeedFrame:
            s = AllocateUserFrame(ref arch, out frame);
            if (s != Status.Ok)
            {
                kind = FaultKind.OutOfMemory;
                break;
            }
            haveFrame = true;
            s = EnsureTable(space, page, ref batch, ref arch, out t);
            if (s != Status.Ok)
            {
                kind = FaultKind.OutOfMemory;
                break;
            }
        }
        if (haveFrame) ReturnUnusedFrame(frame);
        // An error changed no entry: the tables made for it (if this call made them) go again.
        if (kind >= FaultKind.FirstError) space->FreeEmptyTables(page, ref Frames, ref batch);
        Finish(space, ref batch, ref arch);
        return kind;
    }

    private void ReturnUnusedFrame(ulong pfn)
    {
        _table.Release(pfn);
        if (Frames.Free(Addressing.Pfn.NewUnchecked(pfn), 0) != Status.Ok) Panic.Fail("user memory: an unused frame was refused back", pfn);
        _userFrames--;
    }
}
