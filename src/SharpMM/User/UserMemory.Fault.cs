using SharpMM.Diagnostics;
using SharpMM.Addressing;
using SharpMM.Paging;

namespace SharpMM.User;

// The page-fault handler.
public unsafe partial struct UserMemory<TFormat, TFrames, TStore>
{
    private FaultResult HandleFaultLocked<TArch>(AddressSpace<TFormat>* space, PageFault fault, ref TArch arch) where TArch : struct, IArchHooks
    {
        FaultKind kind = Resolve(space, fault, ref arch);
        Count(kind);
        return new FaultResult(kind, fault.Address);
    }

    private Status ResolveUserPageLocked<TArch>(AddressSpace<TFormat>* space, ulong va, bool write, ref TArch arch, out byte* pointer) where TArch : struct, IArchHooks
    {
        pointer = null;
        Status s = ResolveUserFrame(space, va, write, ref arch, out ulong pfn);
        if (s != Status.Ok) return s;
        if (_high.IsHigh(pfn)) return Status.Unsupported;   // no lasting pointer into HighMem
        pointer = (byte*)(_dm.Offset + (pfn << PageSize.Shift)) + (va & PageSize.OffsetMask);
        return Status.Ok;
    }

    private Status CopyUserPageLocked<TArch>(AddressSpace<TFormat>* space, ulong va, bool toUser, byte* kernel, ulong bytes, ref TArch arch) where TArch : struct, IArchHooks
    {
        if (bytes > PageSize.Bytes - (va & PageSize.OffsetMask)) return Status.InvalidArgument;
        Status s = ResolveUserFrame(space, va, toUser, ref arch, out ulong pfn);
        if (s != Status.Ok) return s;
        byte* page = MapPage(pfn);
        byte* at = page + (va & PageSize.OffsetMask);
        if (toUser) MemoryOps.Copy(at, kernel, bytes);
        else MemoryOps.Copy(kernel, at, bytes);
        EndPage(pfn, page);
        return Status.Ok;
    }

    // ResolveUserPage's work: the frame behind `va`, made to allow the access.
    private Status ResolveUserFrame<TArch>(AddressSpace<TFormat>* space, ulong va, bool write, ref TArch arch, out ulong pfn) where TArch : struct, IArchHooks
    {
        pfn = 0;
        if (!space->IsLive || va < space->Layout.UserStart || va >= space->Layout.UserEnd) return Status.OutOfRange;
        var fault = new PageFault(va, PageFaultErrorCode.User | (write ? PageFaultErrorCode.Write : PageFaultErrorCode.None));
        ulong page = va & ~PageSize.OffsetMask;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            LeafTable<TFormat> t = space->FindLeafTable(page);
            ulong e = t.IsNull ? 0 : t.Read(LeafTable<TFormat>.IndexOf(page));
            if (EntryAllows(e, fault))
            {
                if (write && (TFormat.Flags(0, e) & PageFlags.Dirty) == 0)
                {
                    t.Write(LeafTable<TFormat>.IndexOf(page), TFormat.MakeLeaf(0, TFormat.Address(0, e), TFormat.Flags(0, e) | PageFlags.Accessed | PageFlags.Dirty));
                    var batch = new FlushBatch();
                    batch.Add(page, PageGlobality.NotGlobal);
                    Finish(space, ref batch, ref arch, onlyAdded: true);   // Dirty set: nothing taken away
                }
                pfn = TFormat.Address(0, e) >> PageSize.Shift;
                return Status.Ok;
            }
            if (attempt > 0) break;
            FaultKind kind = Resolve(space, fault, ref arch);
            Count(kind);
            switch (kind)
            {
                case FaultKind.NoRegion: case FaultKind.StackOverflow: return Status.NotMapped;
                case FaultKind.AccessViolation: return Status.AccessDenied;
                case FaultKind.KernelAddress: return Status.OutOfRange;
                case FaultKind.OutOfMemory: return Status.OutOfMemory;
                case FaultKind.StoreError: return Status.IoError;
            }
        }
        Panic.Fail("user memory: a resolved fault left an entry that does not allow the access", va);
        return Status.InvalidArgument;
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
        ulong oldOffset = v.Offset;
        if (grows)
        {
            regions.At(i).Start = page;
            regions.At(i).Offset = oldOffset - ((oldStart - page) >> PageSize.Shift);
        }
        FaultKind kind = ResolvePage(space, v, page, fault, ref arch);
        if (grows)
        {
            if (kind < FaultKind.FirstError) kind = FaultKind.StackGrowth;
            else { regions.At(i).Start = oldStart; regions.At(i).Offset = oldOffset; }
        }
        // The first write to a private region gives its pages an owner (Linux's anon_vma_prepare
        // at a write fault; a read maps the page read-only until then, as Linux's zero page).
        if (kind < FaultKind.FirstError && fault.IsWrite && v.IsPrivate && regions[i].Identity == 0)
        {
            EnterShared();
            regions.At(i).Identity = OwnerForFirstWrite(ref regions, i);
            LeaveShared();
        }
        return kind;
    }

    // Counts a fault of `kind` (the fault path holds the shared lock only for such steps).
    private void Count(FaultKind kind)
    {
        EnterShared();
        Counters.Faults[(int)kind]++;
        LeaveShared();
    }

    private void CountPageIn(bool failed)
    {
        EnterShared();
        if (failed) Counters.StoreErrors++;
        else Counters.PagesIn++;
        LeaveShared();
    }

    // The owner a region's first written page gives it: a neighbour's when the region continues
    // it (adjacent, same kind and file, offsets continuing; rights may differ) and that
    // neighbour's owner is its own (not a fork's copy), the one above first, as Linux's
    // find_mergeable_anon_vma; else a new one. Sharing it lets the two merge again later.
    private ulong OwnerForFirstWrite(ref VmaSet regions, int i)
    {
        Vma v = regions[i];
        if (i + 1 < regions.Count && OwnerReusable(v, regions[i + 1], regions[i + 1])) return regions[i + 1].Identity;
        if (i > 0 && OwnerReusable(regions[i - 1], v, regions[i - 1])) return regions[i - 1].Identity;
        return NewIdentity();
    }

    private static bool OwnerReusable(in Vma lower, in Vma upper, in Vma owner) =>
        owner.Identity != 0 && !owner.ForkedIdentity && lower.End == upper.Start && lower.Kind == upper.Kind
        && lower.File == upper.File && upper.Offset == lower.OffsetAt(upper.Start);

    /// <summary>A new owner of private pages or shared object (<see cref="Vma.Identity"/>).</summary>
    private ulong NewIdentity() => ++_lastIdentity;

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
                // Our mapping keeps the frame (no other CPU can drop it: the table lock), but
                // its count is shared with other spaces: read under the shared lock.
                EnterShared();
                bool sole = SoleMapping(pfn);
                LeaveShared();
                if (fault.IsWrite && !sole && v.Kind != VmaKind.Shared)
                {
                    if (!haveFrame) goto NeedFrame;
                    // Copy-on-write: a private copy, the shared frame loses this mapping.
                    byte* copy = MapPage(frame), original = MapPage(pfn);
                    MemoryOps.Copy(copy, original, PageSize.Bytes);
                    EndPage(pfn, original);
                    EndPage(frame, copy);
                    _table.Claim(frame, new UserFrame { Refs = 1 });
                    haveFrame = false;
                    EnterShared();
                    DropFrame(space, pfn);
                    LeaveShared();
                    t.Write(idx, Leaf(frame << PageSize.Shift, v.Protection, v.Kind, true, PageFlags.Accessed | PageFlags.Dirty));
                    batch.Add(page, PageGlobality.NotGlobal);
                    MappingEvents.Unmapped(page, pfn);
                    MappingEvents.Mapped(page, frame);
                    kind = FaultKind.CopyOnWrite;
                    break;
                }
                // The last mapping of a copy-on-write page, or rights the region allows that the
                // entry lacks: rebuild the entry's rights from the region.
                t.Write(idx, Leaf(pfn << PageSize.Shift, v.Protection, v.Kind, sole, TFormat.Flags(0, e) & (PageFlags.Accessed | PageFlags.Dirty)));
                batch.Add(page, PageGlobality.NotGlobal);
                kind = fault.IsWrite ? FaultKind.CowReuse : FaultKind.Spurious;
                break;
            }
            if (!haveFrame) goto NeedFrame;
            byte* data = MapPage(frame);   // ended on every way out of this block
            if (e != 0)
            {
                // Paged out: read back; the entry's reference on the slot passes to the frame.
                uint slot = SwapEntry<TFormat>.SlotOf(e);
                if (Store.Read(slot, data) != Status.Ok)
                {
                    CountPageIn(failed: true);
                    kind = FaultKind.StoreError;
                    EndPage(frame, data);
                    break;
                }
                _table.Claim(frame, new UserFrame { Refs = 1, Flags = UserFrame.CleanFlag | UserFrame.HasSlotFlag, Slot = slot });
                space->SwappedPages--;
                CountPageIn(failed: false);
                kind = FaultKind.PageIn;
            }
            else if (v.Kind == VmaKind.StoreBacked && ReadRegionPage(v.OffsetAt(page), data, out bool failed))
            {
                if (failed)
                {
                    kind = FaultKind.StoreError;
                    EndPage(frame, data);
                    break;
                }
                // Not clean: a store-backed page leaves RAM through a swap slot, never back to
                // the region, which only snapshots write.
                _table.Claim(frame, new UserFrame { Refs = 1 });
                kind = FaultKind.StoreFill;
            }
            else if (v.Kind == VmaKind.File)
            {
                // Clean: the file's bytes are its origin, so the clock drops it unwritten and
                // the next touch copies them again.
                FillFromFile((FileImage*)v.File, v.OffsetAt(page), data);
                _table.Claim(frame, new UserFrame { Refs = 1, Flags = UserFrame.CleanFlag });
                kind = FaultKind.FileFill;
            }
            else
            {
                MemoryOps.Zero(data, PageSize.Bytes);
                _table.Claim(frame, new UserFrame { Refs = 1, Flags = UserFrame.CleanFlag });
                kind = FaultKind.DemandZero;
            }
            EndPage(frame, data);
            haveFrame = false;
            // A read of a private region whose pages have no owner yet maps the page read-only:
            // its first write faults and gives the region its owner.
            t.Write(idx, Leaf(frame << PageSize.Shift, v.Protection, v.Kind, fault.IsWrite || !v.IsPrivate || v.Identity != 0, PageFlags.Accessed));
            space->ResidentPages++;
            MappingEvents.Mapped(page, frame);
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
        if (kind >= FaultKind.FirstError) FreeEmptyTablesLater(space, page, ref batch);
        // Only a copy-on-write break (the frame changed) or freed tables concern other CPUs.
        Finish(space, ref batch, ref arch, onlyAdded: kind != FaultKind.CopyOnWrite && kind < FaultKind.FirstError);
        return kind;
    }

    // One page of a file from byte `offset`: its bytes, zero past its end.
    private static void FillFromFile(FileImage* file, ulong offset, byte* page)
    {
        ulong n = offset >= file->Length ? 0 : file->Length - offset;
        if (n > PageSize.Bytes) n = PageSize.Bytes;
        if (n != 0) MemoryOps.Copy(page, file->Data + offset, n);
        if (n < PageSize.Bytes) MemoryOps.Zero(page + n, PageSize.Bytes - n);
    }

    private void ReturnUnusedFrame(ulong pfn)
    {
        _table.Release(pfn);
        if (Frames.Free(Addressing.Pfn.NewUnchecked(pfn), 0) != Status.Ok) Panic.Fail("user memory: an unused frame was refused back", pfn);
        EnterShared();
        _userFrames--;
        LeaveShared();
    }

    // The last good copy of page `regionPage` of the persistent region into `data`, under the
    // shared lock (a snapshot may be committing): false when the region does not hold the page
    // (the caller zero-fills it); `failed`: the store's read failed (counted).
    private bool ReadRegionPage(ulong regionPage, byte* data, out bool failed)
    {
        failed = false;
        EnterShared();
        bool has = _region != null && _region->HasPage(regionPage);
        if (has)
        {
            failed = _region->ReadPage(ref Store, regionPage, data) != Status.Ok;
            if (failed) Counters.StoreErrors++;
            else Counters.PagesIn++;
        }
        LeaveShared();
        return has;
    }
}
