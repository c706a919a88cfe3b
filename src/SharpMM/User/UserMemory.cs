using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Concurrency;
using SpinLock = SharpMM.Concurrency.SpinLock;
using SharpMM.Paging;
using SharpMM.Physical;

namespace SharpMM.User;

/// <summary>
/// The user-space memory manager: address spaces (<see cref="AddressSpace{TFormat}"/>, owned by
/// the caller and registered here), their regions and pages, the page-fault handler, fork with
/// copy-on-write, and paging to a backing store under memory pressure.
///
/// <code>
///   frames  TFrames (the buddy allocator)  -- user pages and user page tables, order 0
///   high    HighPages (optional)           -- user pages from HighMem first, reached through
///                                             temporary mappings (kmap) instead of the direct map
///   table   UserFrames (frame table words)  -- per frame: mapping count (COW), clean, cached slot
///   store   TStore : IBackingStore          -- slots [0, swap first): persistent regions;
///   slots   StoreSlots                      --   [swap first, end): swap, reference-counted
///   spaces  up to MaxSpaces registered      -- the clock's hand walks them for reclaim
/// </code>
///
/// Pages are populated on demand (<see cref="HandleFault"/>): zeroed for anonymous memory and
/// stacks, read from the store for pages that were paged out or that a persistent region
/// holds. Fork shares every populated page read-only and counts its mappings; the first write
/// copies it, or takes it back writable when the writer is its last mapping.
///
/// Under pressure (the frame allocator is empty, or <see cref="ResidentLimit"/> user frames are
/// in use) the clock (second chance over the Accessed bits) walks the registered spaces'
/// present entries in address order: an entry with Accessed set has it cleared (and its TLB
/// entry invalidated, so a later access sets it again); one with Accessed clear loses its
/// mapping. A page that is clean (zero and never written, or the same as a slot it was read
/// from: <see cref="UserFrame"/>) leaves without a write; a dirty one is written to a swap slot.
/// The entry becomes a swap entry naming the slot (or zero for a clean zero page), and the
/// frame is freed when its last mapping goes. Shared pages go the same way, one mapping at a
/// time: the first write puts the page in a slot that the later mappings reuse.
///
/// Every page-table change is flushed through the arch hooks before a call returns when the
/// space is the active one (CR3), and dropped otherwise (a CR3 load flushes user entries, none
/// is global). Failures are statuses; a process's bad access is a <see cref="FaultResult"/>.
/// Broken invariants panic naming them. Multi-step operations roll back: a fork that runs out
/// of memory destroys the half-made child (the parent keeps its pages, now copy-on-write).
///
/// Several CPUs: every operation holds the space's lock and the space's table lock, and the
/// lock of the state spaces share for its whole run or, on the fault path, for the steps that
/// touch it (UserMemory.Locking.cs): faults in different spaces run at the same time; changes reach the other CPUs running the space through
/// <see cref="TlbShootdown"/> before the operation returns and before its locks are released.
///
/// Not done: paging out shared (MAP_SHARED) anonymous
/// memory, shared file mappings, huge pages in user space, swap-slot clustering and
/// readahead, a reverse map (the clock scans page tables, Linux 2.4 style, so a shared page is
/// freed only when the clock has reached each of its mappings), an OOM killer.
/// </summary>
public unsafe partial struct UserMemory<TFormat, TFrames, TStore>
    where TFormat : struct, IPagingFormat
    where TFrames : struct, IFrameTableAllocator
    where TStore : struct, IBackingStore
{
    /// <summary>Most address spaces registered at once.</summary>
    public const int MaxSpaces = 128;

    /// <summary>The frame allocator (user pages and user page tables).</summary>
    public TFrames Frames;
    /// <summary>The backing store.</summary>
    public TStore Store;
    /// <summary>Most user frames in RAM at once (ulong.MaxValue: as many as the allocator gives).</summary>
    public ulong ResidentLimit;
    /// <summary>Pages the clock frees per reclaim (a batch, so pressure does not reclaim per fault).</summary>
    public uint ReclaimBatch;
    /// <summary>What was done.</summary>
    public UserCounters Counters;

    private DirectMap _dm;
    private HighPages _high;
    private UserFrames _table;
    private StoreSlots _slots;
    private fixed ulong _spaces[MaxSpaces];
    private int _spaceCount;
    private int _handSpace;
    private ulong _handVa;
    private ulong _userFrames;
    private PersistentRegion* _region;
    private ulong _lastIdentity;
    // (UserMemory.Locking.cs) What spaces share: the user frames' words, the swap slots, the
    // user frame count, the registry and the clock's hand, the counters and identities, the
    // persistent region, the deferred user frames, the destroyed spaces' statistics.
    private SpinLock _sharedLock;
    // The CPU (index + 1) holding _sharedLock, 0 for none, and how many times it entered it.
    private int _sharedHolder, _sharedDepth;
    // (under _sharedLock) User frames whose last mapping went, freed once no operation that
    // dropped mappings is still before its flush (_dropsInFlight of them): page number + 1,
    // linked through the frame-table word's Slot, 0 for empty.
    private ulong _deferredFrames;
    private int _dropsInFlight;
    // (under _sharedLock) Lock statistics of destroyed spaces.
    private LockStats _retiredTableStats, _retiredSpaceStats;
    private ulong _retiredSpaces;
    // (under _sharedLock) Flush counters of destroyed spaces.
    private FlushCounters _retiredFlushes;


    /// <summary>
    /// Sets up over <paramref name="frames"/> (whose frame table keeps each user page's mapping
    /// count, clean flag and cached slot) and <paramref name="store"/>, RAM reached through
    /// <paramref name="dm"/>, and the swap slots <paramref name="slots"/> (slots of the store not
    /// used by persistent regions; an empty set for no paging).
    /// </summary>
    public void Init(TFrames frames, TStore store, DirectMap dm, in StoreSlots slots)
    {
        this = default;
        Frames = frames;
        Store = store;
        _dm = dm;
        _table = new UserFrames(frames.Map);
        _slots = slots;
        _sharedLock.Init(LockRank.UserFrames);
        ResidentLimit = ulong.MaxValue;
        ReclaimBatch = 32;
        if (slots.Count != 0 && slots.First + slots.Count > SwapEntry<TFormat>.MaxSlots)
            Panic.Fail("user memory: swap slots beyond what a swap entry can name", slots.First + slots.Count);
    }

    /// <summary>
    /// Serves user pages from HighMem first (<see cref="HighPages"/>): their bytes are then
    /// reached through temporary mappings. Set before the first space is made; page tables and
    /// frame metadata stay with <see cref="Frames"/>.
    /// </summary>
    public void UseHighPages(in HighPages high)
    {
        if (_spaceCount != 0 || _userFrames != 0) Panic.Fail("user memory: HighMem set up after user pages exist", _userFrames);
        _high = high;
    }

    /// <summary>How user pages in HighMem are reached (default: none).</summary>
    public readonly HighPages High => _high;

    /// <summary>The user pages' words in the frame table.</summary>
    public readonly UserFrames FrameTable => _table;
    /// <summary>The swap slots.</summary>
    public readonly StoreSlots Slots => _slots;
    /// <summary>The TLB flush counters: every registered space's and the destroyed spaces'.</summary>
    public FlushCounters FlushCounters
    {
        get
        {
            EnterShared();
            FlushCounters total = _retiredFlushes;
            for (int i = 0; i < MaxSpaces; i++) if (_spaces[i] != 0) total.Add(in SpaceAt(i)->Flushes.Counters);
            LeaveShared();
            return total;
        }
    }
    /// <summary>User frames in RAM now (each counted once, however many spaces map it).</summary>
    public readonly ulong UserFrames => _userFrames;
    /// <summary>Registered address spaces.</summary>
    public readonly int SpaceCount => _spaceCount;
    /// <summary>The persistent region store-backed regions read from (null: none).</summary>
    public readonly PersistentRegion* Region => _region;

    /// <summary>Attaches the persistent region that store-backed regions read from and that
    /// <see cref="Snapshot"/> writes (it uses this manager's store; its slots must lie below the
    /// swap slots).</summary>
    public void AttachRegion(PersistentRegion* region)
    {
        if (region != null && region->EndSlot > _slots.First && _slots.Count != 0)
            Panic.Fail("user memory: the persistent region overlaps the swap slots", region->EndSlot);
        _region = region;
    }

    // ---- spaces ----

    private Status CreateSpaceLocked(AddressSpace<TFormat>* space, in UserLayout layout, ulong kernelRoot)
    {
        if (space->IsLive) return Status.InvalidArgument;
        int slot = FreeRegistrySlot();
        if (slot < 0) return Status.NoSpace;
        Status s = space->Init(layout, _dm, kernelRoot, ref Frames);
        if (s != Status.Ok) return s;
        Register(space, slot);
        return Status.Ok;
    }

    private readonly int FreeRegistrySlot()
    {
        for (int i = 0; i < MaxSpaces; i++) if (_spaces[i] == 0) return i;
        return -1;
    }

    private void Register(AddressSpace<TFormat>* space, int slot)
    {
        _spaces[slot] = (ulong)space;
        space->RegistryIndex = slot;
        _spaceCount++;
    }

    private readonly AddressSpace<TFormat>* SpaceAt(int i) => (AddressSpace<TFormat>*)_spaces[i];

    private Status DestroyLocked<TArch>(AddressSpace<TFormat>* space, ref TArch arch) where TArch : struct, IArchHooks
    {
        if (!space->IsLive || IsActive(space, ref arch) || space->ActiveCpus != 0) return Status.InvalidArgument;
        var batch = new FlushBatch();
        ReleaseAll(space, ref batch);
        batch.Ignore(ref space->Flushes);   // it runs on no CPU
        FreeDeferred(space);
        space->FreeTables(ref Frames);
        if (space->ResidentPages != 0 || space->SwappedPages != 0) Panic.Fail("user memory: page counts do not add up after destroy", space->ResidentPages);
        int slot = space->RegistryIndex;
        if ((uint)slot >= MaxSpaces || _spaces[slot] != (ulong)space) Panic.Fail("user memory: destroyed space is not registered", (ulong)slot);
        _spaces[slot] = 0;
        _spaceCount--;
        _retiredTableStats.Add(space->TableLock.Stats);
        _retiredSpaceStats.Add(space->Lock.Stats);
        _retiredSpaces++;
        _retiredFlushes.Add(in space->Flushes.Counters);
        space->RegistryIndex = -1;
        if (_region != null && _region->Owner == space) _region->Owner = null;
        return Status.Ok;
    }

    private Status ExecLocked<TArch>(AddressSpace<TFormat>* space, ulong textBytes, ulong dataBytes, ref TArch arch) where TArch : struct, IArchHooks
    {
        if (!space->IsLive) return Status.InvalidArgument;
        UserLayout l = space->Layout;
        if (!PageSize.TryAlignUp(textBytes, out ulong text) || !PageSize.TryAlignUp(dataBytes, out ulong data) || text == 0
            || text > l.MmapBase - l.TextBase || data > l.MmapBase - l.TextBase - text)
            return Status.InvalidArgument;
        Reset(space, ref arch);
        var t = new Vma { Start = l.TextBase, End = l.TextBase + text, Limit = l.TextBase, Offset = l.TextBase >> PageSize.Shift, Protection = VmaProtection.ReadExecute, Kind = VmaKind.Anonymous };
        Require(space->Regions.Insert(t), "exec: text");
        if (data != 0)
        {
            var d = new Vma { Start = t.End, End = t.End + data, Limit = t.End, Offset = t.End >> PageSize.Shift, Protection = VmaProtection.ReadWrite, Kind = VmaKind.Anonymous };
            Require(space->Regions.Insert(d), "exec: data");
        }
        space->BrkStart = space->Brk = t.End + data;
        var stack = new Vma
        {
            Start = l.StackTop - PageSize.Bytes, End = l.StackTop, Limit = l.StackLimit, Offset = (l.StackTop - PageSize.Bytes) >> PageSize.Shift,
            Protection = VmaProtection.ReadWrite, Kind = VmaKind.Stack,
        };
        Require(space->Regions.Insert(stack), "exec: stack");
        return Status.Ok;
    }

    private static void Require(Status s, string what)
    {
        if (s != Status.Ok) Panic.Fail(what, (ulong)s);
    }

    private void ResetLocked<TArch>(AddressSpace<TFormat>* space, ref TArch arch) where TArch : struct, IArchHooks
    {
        var batch = new FlushBatch();
        ReleaseAll(space, ref batch);
        Finish(space, ref batch, ref arch);
        space->Regions.Clear();
        space->BrkStart = space->Brk = 0;
    }

    private void ReleaseAll(AddressSpace<TFormat>* space, ref FlushBatch batch)
    {
        for (int i = 0; i < space->Regions.Count; i++)
        {
            Vma v = space->Regions[i];
            ReleasePages(space, v.Start, v.End, v.Kind, ref batch);
        }
    }

    // ---- mapping regions ----

    private Status MapAnonymousLocked(AddressSpace<TFormat>* space, ulong va, ulong bytes, VmaProtection protection, out ulong start) =>
        MapRegion(space, va, bytes, protection, VmaKind.Anonymous, 0, out start);

    private Status MapStoreLocked(AddressSpace<TFormat>* space, ulong va, ulong bytes, ulong regionPage, VmaProtection protection, out ulong start)
    {
        start = 0;
        if (_region == null) return Status.Unsupported;
        if (!PageSize.TryAlignUp(bytes, out ulong b) || regionPage > _region->PageCount || b >> PageSize.Shift > _region->PageCount - regionPage)
            return Status.OutOfRange;
        if (_region->Owner != null && _region->Owner != space) return Status.Overlap;
        Status s = MapRegion(space, va, bytes, protection, VmaKind.StoreBacked, regionPage, out start);
        if (s == Status.Ok) _region->Owner = space;
        return s;
    }

    private Status MapStackLocked(AddressSpace<TFormat>* space, ulong top, ulong maxBytes, VmaProtection protection)
    {
        if (!PageSize.IsAligned(top) || !PageSize.IsAligned(maxBytes)) return Status.Misaligned;
        if (maxBytes < PageSize.Bytes || top < maxBytes || !space->Layout.IsUserRange(top - maxBytes, top)) return Status.InvalidArgument;
        var v = new Vma { Start = top - PageSize.Bytes, End = top, Limit = top - maxBytes, Offset = (top - PageSize.Bytes) >> PageSize.Shift, Protection = protection, Kind = VmaKind.Stack };
        if (space->Regions.Overlaps(v.Start, v.End)) return Status.Overlap;
        return space->Regions.Insert(v);
    }

    private Status MapDeviceLocked<TArch>(AddressSpace<TFormat>* space, ulong va, ulong phys, ulong bytes, VmaProtection protection, ref TArch arch)
        where TArch : struct, IArchHooks
    {
        if (!PageSize.IsAligned(phys) || !PageSize.IsAligned(va)) return Status.Misaligned;
        if (va == 0) return Status.InvalidArgument;
        ulong physLimit = TFormat.LeafPhysLimit(0);
        if (!PageSize.TryAlignUp(bytes, out ulong physBytes) || phys >= physLimit || physBytes > physLimit - phys) return Status.InvalidArgument;
        Status s = MapRegion(space, va, bytes, protection, VmaKind.Device, phys, out ulong start);
        if (s != Status.Ok) return s;
        ulong end = start + ((bytes + PageSize.OffsetMask) & ~PageSize.OffsetMask);
        var batch = new FlushBatch();
        for (ulong p = start; p < end; p += PageSize.Bytes)
        {
            s = EnsureTable(space, p, ref batch, ref arch, out LeafTable<TFormat> t);
            if (s != Status.Ok) break;
            t.Write(LeafTable<TFormat>.IndexOf(p), Leaf(phys + (p - start), protection, VmaKind.Device, true, 0));
            space->ResidentPages++;
            MappingEvents.Mapped(p, (phys + (p - start)) >> PageSize.Shift);
            batch.Add(p, PageGlobality.NotGlobal);
        }
        if (s != Status.Ok)
        {
            ReleasePages(space, start, end, VmaKind.Device, ref batch);
            space->Regions.Remove(start, end);
        }
        Finish(space, ref batch, ref arch);
        return s;
    }

    private Status MapRegion(AddressSpace<TFormat>* space, ulong va, ulong bytes, VmaProtection protection, VmaKind kind, ulong offset, out ulong start, ulong file = 0)
    {
        start = 0;
        if (!space->IsLive || bytes == 0) return Status.InvalidArgument;
        if (!PageSize.TryAlignUp(bytes, out ulong b)) return Status.Overflow;
        if (va == 0)
        {
            Status f = FindFree(space, b, out va);
            if (f != Status.Ok) return f;
        }
        else if (!PageSize.IsAligned(va)) return Status.Misaligned;
        if (va + b < va || !space->Layout.IsUserRange(va, va + b)) return Status.InvalidArgument;
        if (space->Regions.Overlaps(va, va + b)) return Status.Overlap;
        // Anonymous: the page index of its start (Linux's vm_pgoff), so that a neighbour made
        // later continues it; a shared region is the first page of a new shared object.
        if (kind == VmaKind.Anonymous) offset = va >> PageSize.Shift;
        var v = new Vma
        {
            Start = va, End = va + b, Limit = va, Offset = offset, File = file, Protection = protection, Kind = kind,
            Identity = kind == VmaKind.Shared ? NewIdentity() : 0,
        };
        Status s = space->Regions.Insert(v);
        if (s == Status.Ok) start = va;
        return s;
    }

    // First fit from the mmap base up to the stack's limit less the guard gap.
    private readonly Status FindFree(AddressSpace<TFormat>* space, ulong bytes, out ulong va)
    {
        UserLayout l = space->Layout;
        ulong ceiling = l.StackLimit - l.GuardGapBytes;
        ulong at = l.MmapBase;
        int i = space->Regions.FirstEndingAfter(at);
        for (; ; i++)
        {
            ulong next = i < space->Regions.Count ? space->Regions[i].Start : ceiling;
            if (next > ceiling) next = ceiling;
            if (next >= at && next - at >= bytes) { va = at; return Status.Ok; }
            if (i >= space->Regions.Count || at >= ceiling) break;
            ulong end = space->Regions[i].End;
            if (end > at) at = end;
        }
        va = 0;
        return Status.NoSpace;
    }

    private Status UnmapLocked<TArch>(AddressSpace<TFormat>* space, ulong va, ulong bytes, ref TArch arch) where TArch : struct, IArchHooks
    {
        if (!PageSize.IsAligned(va)) return Status.Misaligned;
        if (bytes == 0 || !PageSize.TryAlignUp(bytes, out ulong b) || va + b < va) return Status.InvalidArgument;
        ulong end = va + b;
        if (space->Regions.RemoveSplits(va, end) && space->Regions.Count == VmaSet.Capacity) return Status.NoSpace;
        var batch = new FlushBatch();
        for (int i = space->Regions.FirstEndingAfter(va); i < space->Regions.Count && space->Regions[i].Start < end; i++)
        {
            Vma v = space->Regions[i];
            ReleasePages(space, v.Start > va ? v.Start : va, v.End < end ? v.End : end, v.Kind, ref batch);
        }
        Require(space->Regions.Remove(va, end), "unmap: region split after the capacity check");
        Finish(space, ref batch, ref arch);
        return Status.Ok;
    }

    private Status ProtectLocked<TArch>(AddressSpace<TFormat>* space, ulong va, ulong bytes, VmaProtection protection, ref TArch arch) where TArch : struct, IArchHooks
    {
        if (!PageSize.IsAligned(va)) return Status.Misaligned;
        if (bytes == 0 || !PageSize.TryAlignUp(bytes, out ulong b) || va + b < va) return Status.InvalidArgument;
        ulong end = va + b;
        Status s = space->Regions.Protect(va, end, protection);
        if (s != Status.Ok) return s;
        var batch = new FlushBatch();
        for (int i = space->Regions.FirstEndingAfter(va); i < space->Regions.Count && space->Regions[i].Start < end; i++)
        {
            Vma v = space->Regions[i];
            ulong lo = v.Start > va ? v.Start : va, hi = v.End < end ? v.End : end;
            ulong p = lo;
            while (p < hi)
            {
                p = space->NextLeafTable(p, hi, out LeafTable<TFormat> t);
                if (t.IsNull) break;
                ulong tableEnd = TableEnd(p, hi);
                for (; p < tableEnd; p += PageSize.Bytes)
                {
                    int idx = LeafTable<TFormat>.IndexOf(p);
                    ulong e = t.Read(idx);
                    if (!TFormat.IsPresent(e)) continue;
                    // A private page stays read-only while its region has no owner (see the fault path).
                    bool exclusive = v.Kind == VmaKind.Device
                        || SoleMapping(TFormat.Address(0, e) >> PageSize.Shift) && (!v.IsPrivate || v.Identity != 0);
                    ulong ne;
                    // Replaced atomically, with the Accessed and Dirty bits of the entry replaced:
                    // a CPU's walk may set them until then.
                    while ((ne = Leaf(TFormat.Address(0, e), protection, v.Kind, exclusive, TFormat.Flags(0, e) & (PageFlags.Accessed | PageFlags.Dirty))) != e
                        && !t.TryReplace(idx, e, ne))
                        e = t.Read(idx);
                    if (ne == e) continue;
                    batch.Add(p, PageGlobality.NotGlobal);
                }
            }
        }
        Finish(space, ref batch, ref arch);
        return Status.Ok;
    }

    private Status SetBrkLocked<TArch>(AddressSpace<TFormat>* space, ulong newBrk, ref TArch arch, out ulong brk) where TArch : struct, IArchHooks
    {
        brk = space->Brk;
        if (newBrk == 0) return Status.Ok;
        if (space->BrkStart == 0 || newBrk < space->BrkStart) return Status.InvalidArgument;
        if (!PageSize.TryAlignUp(space->Brk, out ulong oldEnd) || !PageSize.TryAlignUp(newBrk, out ulong newEnd)) return Status.InvalidArgument;
        if (newEnd > oldEnd)
        {
            if (newEnd > space->Layout.MmapBase || space->Regions.Overlaps(oldEnd, newEnd)) return Status.NoSpace;
            var v = new Vma { Start = oldEnd, End = newEnd, Limit = oldEnd, Offset = oldEnd >> PageSize.Shift, Protection = VmaProtection.ReadWrite, Kind = VmaKind.Anonymous };
            Status s = space->Regions.Insert(v);
            if (s != Status.Ok) return s;
        }
        else if (newEnd < oldEnd)
        {
            Status s = Unmap(space, newEnd, oldEnd - newEnd, ref arch);
            if (s != Status.Ok) return s;
        }
        space->Brk = brk = newBrk;
        return Status.Ok;
    }

    // ---- pages ----

    // The leaf entry for a user page: rights from the region (PROT_NONE: a supervisor-only,
    // read-only page, so every user access faults while the kernel can still reach it),
    // writable only when `exclusive` (not shared copy-on-write) or in a shared region (whose
    // frames several spaces write), uncached for devices.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Leaf(ulong phys, VmaProtection protection, VmaKind kind, bool exclusive, PageFlags extra)
    {
        PageFlags f = extra;
        if (protection != VmaProtection.None)
        {
            f |= PageFlags.User;
            if ((exclusive || kind == VmaKind.Shared) && (protection & VmaProtection.Write) != 0) f |= PageFlags.Writable;
            if ((protection & VmaProtection.Execute) != 0) f |= PageFlags.Executable;
        }
        if (kind == VmaKind.Device) f |= PageFlags.CacheDisable | PageFlags.WriteThrough;
        return TFormat.MakeLeaf(0, phys, f);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong TableEnd(ulong va, ulong limit)
    {
        ulong span = LeafTable<TFormat>.Span;
        ulong end = (va & ~(span - 1)) + span;
        return end < limit && end > va ? end : limit;
    }

    // Clears every entry in [start, end) of a region of `kind` and releases what it held; frees
    // the tables left empty unless `keepTables` (the caller is about to fill them again).
    private void ReleasePages(AddressSpace<TFormat>* space, ulong start, ulong end, VmaKind kind, ref FlushBatch batch, bool keepTables = false)
    {
        ulong p = start;
        while (p < end)
        {
            p = space->NextLeafTable(p, end, out LeafTable<TFormat> t);
            if (t.IsNull) break;
            ulong tableEnd = TableEnd(p, end);
            bool any = false;
            for (; p < tableEnd; p += PageSize.Bytes)
            {
                int idx = LeafTable<TFormat>.IndexOf(p);
                ulong e = t.Read(idx);
                if (e == 0) continue;
                t.Write(idx, 0);
                any = true;
                if (TFormat.IsPresent(e))
                {
                    batch.Add(p, PageGlobality.NotGlobal);
                    space->ResidentPages--;
                    MappingEvents.Unmapped(p, TFormat.Address(0, e) >> PageSize.Shift);
                    if (kind != VmaKind.Device) DropFrame(space, TFormat.Address(0, e) >> PageSize.Shift);
                }
                else
                {
                    space->SwappedPages--;
                    _slots.Release(SwapEntry<TFormat>.SlotOf(e));
                }
            }
            if (any && !keepTables) FreeEmptyTablesLater(space, p - PageSize.Bytes, ref batch);
        }
    }

    // A frame for a user page: under the resident limit, reclaiming first when at it, and again
    // when the allocator is empty. Return: Ok; OutOfMemory (nothing left to reclaim).
    private Status AllocateUserFrame<TArch>(ref TArch arch, out ulong pfn) where TArch : struct, IArchHooks
    {
        EnterShared();
        Status s = AllocateUserFrameShared(ref arch, out pfn);
        LeaveShared();
        return s;
    }

    private Status AllocateUserFrameShared<TArch>(ref TArch arch, out ulong pfn) where TArch : struct, IArchHooks
    {
        pfn = 0;
        if (_userFrames >= ResidentLimit && ReclaimWaiting(ref arch) == 0 && _userFrames >= ResidentLimit) return Status.OutOfMemory;
        for (int attempt = 0; ; attempt++)
        {
            Status s = _high.Allocate(out Pfn p);
            if (s != Status.Ok) s = Frames.Allocate(0, out p);
            if (s == Status.Ok)
            {
                if (!_table.Covers(p) || (p.Value << PageSize.Shift) >= TFormat.LeafPhysLimit(0))
                {
                    Frames.Free(p, 0);
                    return Status.OutOfRange;
                }
                pfn = p.Value;
                _userFrames++;
                return Status.Ok;
            }
            if (attempt >= 2 || ReclaimWaiting(ref arch) == 0) return Status.OutOfMemory;
        }
    }

    // Reclaim for an allocation (shared lock held): when nothing could be freed because the
    // spaces that hold pages were busy (another CPU holds their table locks, and may be waiting
    // for the shared lock this CPU holds), lets the shared lock go a moment and tries again, a
    // bounded number of times; a CPU that holds the shared lock from further out cannot let it
    // go and takes the first answer.
    private ulong ReclaimWaiting<TArch>(ref TArch arch) where TArch : struct, IArchHooks
    {
        for (int attempt = 0; ; attempt++)
        {
            ulong freed = ReclaimLocked(ReclaimBatch, ref arch, out int busy);
            if (freed != 0 || busy == 0 || _sharedDepth != 1 || attempt >= MaxReclaimRetries) return freed;
            LeaveShared();
            Cpu.Relax();
            EnterShared();
        }
    }

    // How often an allocation tries the clock again when it found the spaces busy.
    private const int MaxReclaimRetries = 1000;

    // The leaf table for va, reclaiming when the allocator is empty. (A reclaim may free
    // tables, any table handle taken before it included.) A failed attempt's tables are shot
    // down and freed before the reclaim, which frees what is deferred after flushing only the
    // space it scans.
    private Status EnsureTable<TArch>(AddressSpace<TFormat>* space, ulong va, ref FlushBatch batch, ref TArch arch, out LeafTable<TFormat> table)
        where TArch : struct, IArchHooks
    {
        Status s = EnsureLeafTableLater(space, va, ref batch, out table);
        for (int attempt = 0; s == Status.OutOfMemory && attempt < 2; attempt++)
        {
            Finish(space, ref batch, ref arch);
            EnterShared();
            ulong freed = ReclaimWaiting(ref arch);
            LeaveShared();
            if (freed == 0) break;
            s = EnsureLeafTableLater(space, va, ref batch, out table);
        }
        return s;
    }

    // A user page's bytes: in the direct map, or (HighMem) in a temporary mapping that
    // EndPage ends. Every MapPage is paired with an EndPage before the call returns. HighPages
    // does not promise that a host's temporary mappings are the calling CPU's own (the i386
    // kernel's kmap slots are; a host may have one window for every space), so a HighMem page
    // is mapped under the shared lock, held until its EndPage.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte* MapPage(ulong pfn)
    {
        if (!_high.IsHigh(pfn)) return (byte*)(_dm.Offset + (pfn << PageSize.Shift));
        EnterShared();
        return _high.Map(pfn);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EndPage(ulong pfn, byte* page)
    {
        if (!_high.IsHigh(pfn)) return;
        _high.Unmap(page);
        LeaveShared();
    }

    /// <summary>True when <paramref name="space"/> is the one CR3 holds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsActive<TArch>(AddressSpace<TFormat>* space, ref TArch arch) where TArch : struct, IArchHooks =>
        space->RootPhys != 0 && arch.ReadCr3() == space->RootPhys;

    // Flushes what changed in `space`: on the other CPUs running it by a shootdown (waited for,
    // so the frames and tables freed under this operation's locks are not reused before every
    // TLB dropped them), and here when it is active; a CPU not running it drops its
    // translations with its next CR3 load. `onlyAdded`: the changes only made entries or gave
    // them rights (a fault filling a page, taking a copy-on-write page back): another CPU
    // holds at worst a translation that faults, and that fault drops it (x86 caches no
    // not-present entry), so no other CPU is interrupted, as Linux does.
    private void Finish<TArch>(AddressSpace<TFormat>* space, ref FlushBatch batch, ref TArch arch, bool onlyAdded = false) where TArch : struct, IArchHooks
    {
        if (!batch.IsEmpty)
        {
            if (!onlyAdded) TlbShootdown.Send(space->ActiveCpus, in batch);
            if (IsActive(space, ref arch)) batch.Flush(ref arch, ref space->Flushes);
            else batch.Ignore(ref space->Flushes);
        }
        FreeDeferred(space);
    }
}
