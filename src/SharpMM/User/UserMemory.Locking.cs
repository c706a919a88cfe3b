using System.Threading;
using SpinLock = SharpMM.Concurrency.SpinLock;
using SharpMM.Concurrency;
using SharpMM.Paging;

namespace SharpMM.User;

// Locking (the table in docs/architecture.md, "Locks"):
//
//   space->Lock        rank AddressSpace   one per space: its regions, brk; held by every
//                                          operation on the space, faults included
//   space->TableLock   rank PageTables     one per space: its tables and page counts, the
//                                          tables it frees after the flush, its flush counts
//   _sharedLock        rank UserFrames     one per manager: what spaces share (user frames'
//                                          words, swap slots, the frame allocator's user pages
//                                          count, the registry, the clock's hand, counters,
//                                          the persistent region, deferred user frames,
//                                          HighMem pages' temporary mappings)

//
// Every public operation is a body (XxxLocked) run by a wrapper that takes the space's lock and
// its table lock; all three locks may be entered again by the CPU that holds them, so one
// operation may call another (exec resets, brk unmaps, a fault reclaims). The page-fault path
// (HandleFault, ResolveUserPage, CopyUserPage) holds only its space's two locks and takes the
// shared lock for the short steps that touch shared state (allocating a frame, dropping one,
// counting), so faults in different spaces run at the same time and meet only there; the other
// operations hold the shared lock for their whole run. A CPU never waits for a table lock while
// it holds the shared lock or another space's table lock: the clock takes the table lock of a
// space it scans with a try-lock and skips the space when it is busy (as Linux's shrinkers do),
// and fork's child is new, so no other CPU can hold its table lock.
//
// A user frame's last mapping may go in one space while another space that dropped a mapping
// of it has not flushed its TLBs yet: such frames wait on one list until no operation that
// dropped mappings is between its drops and its flush (DropFrame, Finish); and a mapping count
// of 1 means the page is the writer's alone (copy-on-write reuse, rights) only while no such
// operation is in flight (SoleMapping), as Linux reuses a page only when no gather still holds it.
public unsafe partial struct UserMemory<TFormat, TFrames, TStore>
{
    /// <summary>Statistics of the page-table locks: every registered space's, plus the
    /// destroyed spaces' (acquisitions, contention, spin time).</summary>
    public LockStats TableLockStats
    {
        get
        {
            EnterShared();
            LockStats total = _retiredTableStats;
            for (int i = 0; i < MaxSpaces; i++) if (_spaces[i] != 0) total.Add(SpaceAt(i)->TableLock.Stats);
            LeaveShared();
            return total;
        }
    }

    /// <summary>Statistics of the address-space locks (every registered space's, plus the
    /// destroyed spaces').</summary>
    public LockStats SpaceLockStats
    {
        get
        {
            EnterShared();
            LockStats total = _retiredSpaceStats;
            for (int i = 0; i < MaxSpaces; i++) if (_spaces[i] != 0) total.Add(SpaceAt(i)->Lock.Stats);
            LeaveShared();
            return total;
        }
    }

    /// <summary>Adds this manager's locks to <paramref name="report"/>: the address-space and
    /// page-table locks of every space it has had (registered now or destroyed), and its shared
    /// lock.</summary>
    public void AddLockStats(ref LockReport report)
    {
        EnterShared();
        ulong spaces = _retiredSpaces;
        for (int i = 0; i < MaxSpaces; i++) if (_spaces[i] != 0) spaces++;
        LeaveShared();
        report.Add(LockRank.AddressSpace, spaces, SpaceLockStats);
        report.Add(LockRank.PageTables, spaces, TableLockStats);
        report.Add(LockRank.UserFrames, 1, _sharedLock.Stats);
    }

    /// <summary>Statistics of the lock over the state spaces share.</summary>
    public readonly LockStats SharedLockStats => _sharedLock.Stats;

    /// <summary>True while some CPU holds a space's table lock or the shared lock: an operation
    /// may be changing tables and not yet have finished its shootdown (a snapshot, for the
    /// hosted machine's stale-TLB check, <c>Tlb.ChangeInFlight</c>).</summary>
    public bool TablesBusy
    {
        get
        {
            if (_sharedLock.IsHeld) return true;
            for (int i = 0; i < MaxSpaces; i++)
            {
                AddressSpace<TFormat>* s = SpaceAt(i);   // a snapshot: a plain read suffices
                if (s != null && s->TableLock.IsHeld) return true;
            }
            return false;
        }
    }

    private void EnterShared()
    {
        int me = Cpu.Current + 1;
        if (Volatile.Read(ref _sharedHolder) == me)
        {
            _sharedDepth++;
            return;
        }
        if (_sharedLock.Rank == LockRank.None) Panic.Fail("user memory: used before Init");
        _sharedLock.Acquire();
        _sharedHolder = me;
        _sharedDepth = 1;
    }

    private void LeaveShared()
    {
        if (_sharedHolder != Cpu.Current + 1 || _sharedDepth <= 0) Panic.Fail("user memory: shared lock left by a CPU that does not hold it", (ulong)_sharedHolder);
        if (--_sharedDepth != 0) return;
        Volatile.Write(ref _sharedHolder, 0);
        _sharedLock.Release();
    }

    private bool SharedHeldHere => Volatile.Read(ref _sharedHolder) == Cpu.Current + 1;

    private void RequireShared(string what)
    {
        if (!SharedHeldHere) Panic.Fail(what);
    }

    // An operation's locks: the space's, its tables', the shared state's.
    private void Enter(AddressSpace<TFormat>* space)
    {
        space->Acquire();
        space->AcquireTables();
        EnterShared();
    }

    private void Leave(AddressSpace<TFormat>* space)
    {
        LeaveShared();
        space->ReleaseTables();
        space->Release();
    }

    // The fault path's locks: the space's and its tables'; the shared lock step by step.
    private void EnterFault(AddressSpace<TFormat>* space)
    {
        space->Acquire();
        space->AcquireTables();
    }

    private void LeaveFault(AddressSpace<TFormat>* space)
    {
        space->ReleaseTables();
        space->Release();
    }

    /// <summary>
    /// Loads <paramref name="next"/> (null: <paramref name="kernelRoot"/>, the kernel's own
    /// tables) into the current CPU's CR3, keeping the spaces' <see cref="AddressSpace{TFormat}.ActiveCpus"/>
    /// right: the next space counts this CPU before the load, the previous one (the space CR3
    /// held, <paramref name="previous"/>; null for none) stops counting it after. The kernel's
    /// context switch does the same around its own CR3 load.
    /// </summary>
    public static void Switch<TArch>(AddressSpace<TFormat>* previous, AddressSpace<TFormat>* next, ulong kernelRoot, ref TArch arch) where TArch : struct, IArchHooks
    {
        if (previous == next) return;
        if (next != null) next->Enter();
        arch.WriteCr3(next != null ? next->RootPhys : kernelRoot);
        if (previous != null) previous->Leave();
    }

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
    ///                file                           -> FileFill (the file's bytes, zero past
    ///                                                  its end)
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
        EnterFault(space);
        FaultResult result = HandleFaultLocked(space, fault, ref arch);
        LeaveFault(space);
        return result;
    }

    /// <summary>
    /// Makes the page holding <paramref name="va"/> in <paramref name="space"/> allow a user
    /// read (or write, with <paramref name="write"/>) and returns where its byte at
    /// <paramref name="va"/> is in the direct map: the kernel's way to copy from or to user
    /// memory without taking a fault. A page whose entry already allows the access is used as
    /// it is; otherwise the fault path runs as for a user fault of that kind (demand zero, page-in,
    /// stack growth, copy-on-write break; counted in <see cref="Counters"/> like a fault), so a
    /// region must exist and allow the access. For a write the entry's Dirty bit is set, as the
    /// CPU would set it: the clock then writes the page out instead of dropping it as clean.
    /// The pointer is good until the next call that may allocate or reclaim (copy one page at a time).
    /// Return: Ok; OutOfRange (outside user space: kernel or non-canonical); NotMapped (no
    /// region; below a stack past its reach); AccessDenied (the region forbids the access);
    /// OutOfMemory; IoError (the store failed to read the page back); Unsupported (the page is a
    /// HighMem frame, which has no lasting mapping: see <see cref="HighPages"/>).
    /// </summary>
    public Status ResolveUserPage<TArch>(AddressSpace<TFormat>* space, ulong va, bool write, ref TArch arch, out byte* pointer) where TArch : struct, IArchHooks
    {
        EnterFault(space);
        Status result = ResolveUserPageLocked(space, va, write, ref arch, out pointer);
        LeaveFault(space);
        return result;
    }

    /// <summary>
    /// Copies <paramref name="bytes"/> between kernel memory at <paramref name="kernel"/> and
    /// user address <paramref name="va"/> of <paramref name="space"/> (into the user page with
    /// <paramref name="toUser"/>, else out of it), resolving the page as
    /// <see cref="ResolveUserPage"/> does; a HighMem page is reached through a temporary mapping
    /// (<see cref="HighPages"/>) for the copy alone, so user memory on a kernel with HighMem can be
    /// copied too. The range must lie in one page. Return: as <see cref="ResolveUserPage"/>, but
    /// never Unsupported; InvalidArgument (the range crosses a page).
    /// </summary>
    public Status CopyUserPage<TArch>(AddressSpace<TFormat>* space, ulong va, bool toUser, byte* kernel, ulong bytes, ref TArch arch) where TArch : struct, IArchHooks
    {
        EnterFault(space);
        Status result = CopyUserPageLocked(space, va, toUser, kernel, bytes, ref arch);
        LeaveFault(space);
        return result;
    }

    /// <summary>
    /// Makes <paramref name="child"/> (caller's memory, not live) a copy of
    /// <paramref name="parent"/>: the same regions and break, and every populated page shared
    /// instead of copied. A present page becomes read-only in both spaces and its mapping count
    /// goes up (a write copies it, or takes it back when the writer holds the last mapping); a
    /// paged-out page's slot gains a reference; device mappings are shared as they are. Shared
    /// regions (MAP_SHARED anonymous) are populated in the parent first, every page, and their
    /// frames mapped writable in both spaces: each sees the other's writes from then on. The
    /// parent's Dirty bits are folded into the frames' clean state first, so a page written
    /// before the fork is never taken for an untouched one. The kernel half is copied from the
    /// parent. Return: Ok; OutOfMemory (the half-made child is destroyed: the parent keeps
    /// every page, some now read-only until written, and the shared pages populated so far);
    /// NoSpace (no registry slot).
    /// </summary>
    public Status Fork<TArch>(AddressSpace<TFormat>* parent, AddressSpace<TFormat>* child, ref TArch arch) where TArch : struct, IArchHooks
    {
        Enter(parent);
        Status result = ForkLocked(parent, child, ref arch);
        Leave(parent);
        return result;
    }

    /// <summary>
    /// A shared anonymous region (MAP_SHARED | MAP_ANONYMOUS): zero-filled on demand like an
    /// anonymous one; a fork populates it and maps the same frames writable in parent and
    /// child, so each sees the other's writes. Its pages are never paged out. Arguments and
    /// return: as <see cref="MapAnonymous"/>.
    /// </summary>
    public Status MapShared(AddressSpace<TFormat>* space, ulong va, ulong bytes, VmaProtection protection, out ulong start)
    {
        Enter(space);
        Status result = MapSharedLocked(space, va, bytes, protection, out start);
        Leave(space);
        return result;
    }

    /// <summary>
    /// A private mapping of <paramref name="file"/> from byte <paramref name="offset"/>
    /// (page-aligned): each page is copied from the file on first touch (zero past its end),
    /// private after that. The image must outlive the region (see <see cref="FileImage"/>).
    /// Return: as <see cref="MapAnonymous"/>; Misaligned (offset); InvalidArgument (no file,
    /// or offsets past 2^64).
    /// </summary>
    public Status MapFile(AddressSpace<TFormat>* space, ulong va, ulong bytes, FileImage* file, ulong offset, VmaProtection protection, out ulong start)
    {
        Enter(space);
        Status result = MapFileLocked(space, va, bytes, file, offset, protection, out start);
        Leave(space);
        return result;
    }

    /// <summary>
    /// Drops the pages of [va, va + bytes) (MADV_DONTNEED): frames and swap slots released as
    /// by an unmap, the regions kept, so the next touch fills the page again (zero, or the
    /// file's bytes). Shared regions keep their pages (their content is the shared object's,
    /// which Linux keeps too); device regions are left alone. Holes are skipped.
    /// Return: Ok; Misaligned; InvalidArgument (zero bytes or a range past 2^64).
    /// </summary>
    public Status Discard<TArch>(AddressSpace<TFormat>* space, ulong va, ulong bytes, ref TArch arch) where TArch : struct, IArchHooks
    {
        Enter(space);
        Status result = DiscardLocked(space, va, bytes, ref arch);
        Leave(space);
        return result;
    }

    /// <summary>
    /// Moves the page-table entries of [from, from + fromBytes) to [to, to + toBytes) (mremap):
    /// the first min(fromBytes, toBytes) bytes' entries move with their frames, swap entries,
    /// Accessed and Dirty bits as they are, nothing copied, mapping and slot counts unchanged.
    /// Whatever [to, to + toBytes) held is released first, and the source's pages past
    /// toBytes after (each by the kind of the region holding it). The regions are not changed:
    /// the caller moves them (moved pages must land in a region of a compatible kind). The
    /// tables the destination needs are made before anything else, so OutOfMemory changes
    /// nothing. Return: Ok; Misaligned; InvalidArgument (zero bytes, overlapping ranges,
    /// outside user space); OutOfMemory.
    /// </summary>
    public Status MovePages<TArch>(AddressSpace<TFormat>* space, ulong from, ulong fromBytes, ulong to, ulong toBytes, ref TArch arch) where TArch : struct, IArchHooks
    {
        Enter(space);
        Status result = MovePagesLocked(space, from, fromBytes, to, toBytes, ref arch);
        Leave(space);
        return result;
    }

    /// <summary>
    /// Maps the pages of [from, from + bytes) of shared region <paramref name="v"/> at [to, to +
    /// bytes) too (mremap's MREMAP_DONTUNMAP and old_size 0 on a MAP_SHARED mapping): the source
    /// pages are populated first (a page first touched later would be filled in one range
    /// only), then each destination entry maps the same frame (one more mapping of it), so both
    /// ranges see the same shared object. Whatever [to, to + bytes) held is released first.
    /// The regions are not changed: the caller adds the destination's (a shared region of the
    /// same object). Return: Ok; Misaligned; InvalidArgument (zero bytes, overlapping ranges,
    /// outside user space, or <paramref name="v"/> not a shared region holding the source);
    /// OutOfMemory (the destination unchanged; source pages populated so far stay).
    /// </summary>
    public Status SharePages<TArch>(AddressSpace<TFormat>* space, in Vma v, ulong from, ulong to, ulong bytes, ref TArch arch) where TArch : struct, IArchHooks
    {
        Enter(space);
        Status result = SharePagesLocked(space, in v, from, to, bytes, ref arch);
        Leave(space);
        return result;
    }

    /// <summary>
    /// Frees up to <paramref name="pages"/> user frames by the clock: the hand moves through the
    /// registered spaces, their regions and present entries in address order, from where it
    /// stopped last time. Accessed set: cleared, a second chance. Accessed clear: the mapping
    /// goes (see the type's notes); the frame is freed with its last mapping. Device and shared
    /// regions are skipped; a dirty page with no free swap slot (or a failing store) stays. The hand
    /// passes each present entry at most twice per call, so a call ends even when nothing can
    /// go. Return: frames freed (0: nothing could be reclaimed).
    /// </summary>
    public ulong Reclaim<TArch>(ulong pages, ref TArch arch) where TArch : struct, IArchHooks
    {
        EnterShared();
        ulong result = ReclaimLocked(pages, ref arch, out _);
        LeaveShared();
        return result;
    }

    /// <summary>
    /// Saves the attached persistent region: every page of the owner's store-backed regions that
    /// changed since the last snapshot goes to its in-progress copy, then the commit record
    /// (<see cref="PersistentRegion.Commit"/>). A page changed when its entry has Dirty set, or
    /// when it left RAM dirty since (the region's mark); its current content is the frame when
    /// present, the swap slot when paged out. Pages never touched keep their last good copy.
    /// Once the record is durable, Dirty bits are cleared (folded into the frames' clean state
    /// first) and flushed when the owner is active. Return: Ok and the pages written;
    /// Unsupported (no region or no owner); IoError (the last good snapshot stays the previous
    /// one; nothing in RAM changed).
    /// </summary>
    public Status Snapshot<TArch>(ref TArch arch, out ulong pagesWritten) where TArch : struct, IArchHooks
    {
        // The owner's table lock, then the shared lock (the order of every operation); the
        // owner read before is checked again under both (it may have changed meanwhile).
        for (; ; )
        {
            EnterShared();
            var owner = _region == null ? null : (AddressSpace<TFormat>*)_region->Owner;
            if (owner == null)
            {
                Status none = SnapshotLocked(ref arch, out pagesWritten);
                LeaveShared();
                return none;
            }
            LeaveShared();
            owner->AcquireTables();
            EnterShared();
            if (_region->Owner == owner)
            {
                Status result = SnapshotLocked(ref arch, out pagesWritten);
                LeaveShared();
                owner->ReleaseTables();
                return result;
            }
            LeaveShared();
            owner->ReleaseTables();
        }
    }

    /// <summary>
    /// Makes <paramref name="space"/> (caller's memory, not live) an empty address space with
    /// <paramref name="layout"/>, its kernel half copied from <paramref name="kernelRoot"/>, and
    /// registers it. Return: Ok; OutOfMemory; NoSpace (<see cref="MaxSpaces"/> registered);
    /// InvalidArgument (a live space, or a layout the format cannot hold).
    /// </summary>
    public Status CreateSpace(AddressSpace<TFormat>* space, in UserLayout layout, ulong kernelRoot)
    {
        EnterShared();
        Status result = CreateSpaceLocked(space, in layout, kernelRoot);
        LeaveShared();
        return result;
    }

    /// <summary>
    /// Releases every page and table of <paramref name="space"/> and unregisters it: its frames
    /// go back to the allocator when no other space maps them, its slots when no entry names
    /// them. Return: Ok; InvalidArgument (not live, or the active space: switch CR3 away first).
    /// </summary>
    public Status Destroy<TArch>(AddressSpace<TFormat>* space, ref TArch arch) where TArch : struct, IArchHooks
    {
        Enter(space);
        Status result = DestroyLocked(space, ref arch);
        Leave(space);
        return result;
    }

    /// <summary>
    /// The exec-like reset: every region and page of <paramref name="space"/> goes, then a
    /// fresh image is laid out: text (read, execute) of <paramref name="textBytes"/> at the
    /// layout's text base, data (read, write) of <paramref name="dataBytes"/> after it, the brk
    /// heap starting empty after the data, and a stack of one page below the layout's stack top
    /// that may grow to the layout's maximum. All of it is populated on demand (the caller fills
    /// text and data, for instance through faults). Return: Ok; InvalidArgument (sizes that do
    /// not fit below the mmap base).
    /// </summary>
    public Status Exec<TArch>(AddressSpace<TFormat>* space, ulong textBytes, ulong dataBytes, ref TArch arch) where TArch : struct, IArchHooks
    {
        Enter(space);
        Status result = ExecLocked(space, textBytes, dataBytes, ref arch);
        Leave(space);
        return result;
    }

    /// <summary>Removes every region and page of <paramref name="space"/> (exec's first half);
    /// the space stays live and registered, its kernel half untouched.</summary>
    public void Reset<TArch>(AddressSpace<TFormat>* space, ref TArch arch) where TArch : struct, IArchHooks
    {
        Enter(space);
        ResetLocked(space, ref arch);
        Leave(space);
    }

    /// <summary>
    /// A new anonymous region of <paramref name="bytes"/> (rounded up to pages), populated on
    /// demand, at <paramref name="va"/> or, when it is 0, at the lowest free range at or above
    /// the mmap base that ends below the stack's guard gap. Return: Ok and the start;
    /// InvalidArgument (zero bytes, outside user space); Misaligned; Overlap (va given and in
    /// use: nothing is replaced); NoSpace (no free range, or the region table is full).
    /// </summary>
    public Status MapAnonymous(AddressSpace<TFormat>* space, ulong va, ulong bytes, VmaProtection protection, out ulong start)
    {
        Enter(space);
        Status result = MapAnonymousLocked(space, va, bytes, protection, out start);
        Leave(space);
        return result;
    }

    /// <summary>
    /// A store-backed region of <paramref name="bytes"/> whose first page is page
    /// <paramref name="regionPage"/> of the attached persistent region: each page is read from
    /// the region's last good snapshot on first touch (zero when the region never held it).
    /// The space becomes the region's owner, whose pages <see cref="Snapshot"/> saves. A page
    /// not yet touched in a space reads the last snapshot at its first touch, so a child forked
    /// from the owner may see snapshots taken after the fork in pages neither had touched (as a
    /// MAP_PRIVATE file mapping may see later writes to its file).
    /// Return: as <see cref="MapAnonymous"/>; Unsupported (no region attached); OutOfRange
    /// (pages beyond the region).
    /// </summary>
    public Status MapStore(AddressSpace<TFormat>* space, ulong va, ulong bytes, ulong regionPage, VmaProtection protection, out ulong start)
    {
        Enter(space);
        Status result = MapStoreLocked(space, va, bytes, regionPage, protection, out start);
        Leave(space);
        return result;
    }

    /// <summary>
    /// A stack region: [top - 1 page, top), growing down on faults to top -
    /// <paramref name="maxBytes"/>, never into the guard gap above the region below.
    /// Return: Ok; InvalidArgument; Misaligned; Overlap; NoSpace.
    /// </summary>
    public Status MapStack(AddressSpace<TFormat>* space, ulong top, ulong maxBytes, VmaProtection protection)
    {
        Enter(space);
        Status result = MapStackLocked(space, top, maxBytes, protection);
        Leave(space);
        return result;
    }

    /// <summary>
    /// Maps the caller's physical range [phys, phys + bytes) at <paramref name="va"/> now
    /// (uncached; a device's registers or a frame buffer). Its frames are never counted, paged
    /// or freed; fork shares the mapping as it is. Return: Ok; Misaligned; InvalidArgument
    /// (also a physical range the format's entries cannot hold: at or above 2^52 on x86-64 and
    /// PAE, 4 GiB on 32-bit; nothing registered or mapped); Overlap; NoSpace; OutOfMemory
    /// (tables: nothing left mapped).
    /// </summary>
    public Status MapDevice<TArch>(AddressSpace<TFormat>* space, ulong va, ulong phys, ulong bytes, VmaProtection protection, ref TArch arch) where TArch : struct, IArchHooks
    {
        Enter(space);
        Status result = MapDeviceLocked(space, va, phys, bytes, protection, ref arch);
        Leave(space);
        return result;
    }

    /// <summary>
    /// Removes [va, va + bytes) from <paramref name="space"/>: the regions there are cut (split
    /// where the range is inside one), their pages released (frames freed when no other space
    /// maps them, swap slots when no entry names them). Holes are skipped.
    /// Return: Ok; Misaligned; InvalidArgument; NoSpace (a split with the region table full:
    /// nothing changed).
    /// </summary>
    public Status Unmap<TArch>(AddressSpace<TFormat>* space, ulong va, ulong bytes, ref TArch arch) where TArch : struct, IArchHooks
    {
        Enter(space);
        Status result = UnmapLocked(space, va, bytes, ref arch);
        Leave(space);
        return result;
    }

    /// <summary>
    /// Gives [va, va + bytes) <paramref name="protection"/>: regions split and merge, present
    /// pages get the new rights at once (a shared copy-on-write page stays read-only until it
    /// is written). Return: Ok; Misaligned; InvalidArgument; NotMapped (a hole in the range:
    /// nothing changed); NoSpace (the region table is full: nothing changed).
    /// </summary>
    public Status Protect<TArch>(AddressSpace<TFormat>* space, ulong va, ulong bytes, VmaProtection protection, ref TArch arch) where TArch : struct, IArchHooks
    {
        Enter(space);
        Status result = ProtectLocked(space, va, bytes, protection, ref arch);
        Leave(space);
        return result;
    }

    /// <summary>
    /// Moves the break of <paramref name="space"/> to <paramref name="newBrk"/> (0: only report
    /// it): growing adds anonymous read-write pages after the data (populated on demand),
    /// shrinking releases the pages past the new break. Return: Ok and the break; InvalidArgument
    /// (below the start of the heap, or no heap: exec first); NoSpace (the growth would run into
    /// another region or the mmap base).
    /// </summary>
    public Status SetBrk<TArch>(AddressSpace<TFormat>* space, ulong newBrk, ref TArch arch, out ulong brk) where TArch : struct, IArchHooks
    {
        Enter(space);
        Status result = SetBrkLocked(space, newBrk, ref arch, out brk);
        Leave(space);
        return result;
    }
    // ---- frees after the flush ----

    // The leaf table for va (AddressSpace.EnsureLeafTable); when it fails, the tables it linked
    // on the way go to the space's deferred list and the page into the batch: a CPU running the
    // space may have cached the entries that pointed at them until the caller's Finish.
    private Status EnsureLeafTableLater(AddressSpace<TFormat>* space, ulong va, ref FlushBatch batch, out LeafTable<TFormat> table)
    {
        var later = new DeferredTables { Head = &space->DeferredTables, DirectMapOffset = _dm.Offset };
        return space->EnsureLeafTable(va, ref Frames, ref later, ref batch, out table);
    }

    // Frees the empty tables on va's path (as AddressSpace.FreeEmptyTables) into the space's
    // deferred list: a CPU may still walk them until the flush.
    private void FreeEmptyTablesLater(AddressSpace<TFormat>* space, ulong va, ref FlushBatch batch)
    {
        var later = new DeferredTables { Head = &space->DeferredTables, DirectMapOffset = _dm.Offset };
        space->FreeEmptyTables(va, ref later, ref batch);
    }

    // Drops one mapping of a user frame in `space` (shared lock held); the last one frees it
    // (and its cached slot) once no TLB can reach it: when no operation that dropped mappings
    // of user frames is between its drops and its flush (the space counts as one until its
    // Finish). Until then another CPU may still reach the frame through its TLB, and must find
    // the page as it was.
    private void DropFrame(AddressSpace<TFormat>* space, ulong pfn)
    {
        RequireShared("user memory: a user frame dropped without the shared lock");
        if (!space->DropsInFlight)
        {
            space->DropsInFlight = true;
            _dropsInFlight++;
        }
        ref UserFrame f = ref _table[pfn];
        if (f.Refs == 0) Panic.Fail("user memory: a mapped frame has no references", pfn);
        if (--f.Refs != 0) return;
        if (f.HasSlot) _slots.Release(f.Slot);
        if (pfn >= uint.MaxValue) Panic.Fail("user memory: a frame number too large for the deferred list", pfn);
        f = default;
        f.Slot = (uint)_deferredFrames;
        _deferredFrames = pfn + 1;
        _userFrames--;
    }

    // True when the frame's one mapping is the only way to it (shared lock held): its count is
    // 1 and no operation's dropped mapping of it may still be in a TLB, so the page may be made
    // writable without a copy.
    private readonly bool SoleMapping(ulong pfn) => _table[pfn].Refs == 1 && _dropsInFlight == 0;

    // After `space`'s flush (here and on every other CPU running it), or when it runs nowhere:
    // its emptied tables go back to the allocator, and when it had dropped mappings, it stops
    // counting as in flight; the last such operation frees the frames whose last mapping went.
    private void FreeDeferred(AddressSpace<TFormat>* space)
    {
        for (ulong next = space->DeferredTables; next != 0;)
        {
            ulong pfn = next - 1;
            next = TFormat.Read((byte*)(_dm.Offset + (pfn << Addressing.PageSize.Shift)), 0) >> Addressing.PageSize.Shift;
            if (Frames.Free(Addressing.Pfn.NewUnchecked(pfn), 0) != Status.Ok) Panic.Fail("user memory: the frame allocator refused a table page", pfn);
        }
        space->DeferredTables = 0;
        if (!space->DropsInFlight) return;
        EnterShared();
        space->DropsInFlight = false;
        if (--_dropsInFlight < 0) Panic.Fail("user memory: more flushes than operations that dropped frames");
        if (_dropsInFlight == 0)
        {
            for (ulong next = _deferredFrames; next != 0;)
            {
                ulong pfn = next - 1;
                ref UserFrame f = ref _table[pfn];
                next = f.Slot;
                f = default;
                _table.Release(pfn);
                if (Frames.Free(Addressing.Pfn.NewUnchecked(pfn), 0) != Status.Ok) Panic.Fail("user memory: the frame allocator refused a user frame", pfn);
            }
            _deferredFrames = 0;
        }
        LeaveShared();
    }

    // The frame allocator the walker frees empty tables to: it keeps them in a list linked
    // through entry 0 of each (the link is page-aligned, so the entry reads as not present to
    // a CPU that still walks the table) for FreeDeferred. It never allocates.
    private struct DeferredTables : Physical.IFrameAllocator
    {
        public ulong* Head;
        public ulong DirectMapOffset;

        public Status Allocate(uint order, out Addressing.Pfn pfn)
        {
            pfn = default;
            Panic.Fail("user memory: the deferred table list was asked for a frame", order);
            return Status.OutOfMemory;
        }

        public Status Free(Addressing.Pfn pfn, uint order)
        {
            if (order != 0) Panic.Fail("user memory: a table page of order above 0", order);
            TFormat.Write((byte*)(DirectMapOffset + (pfn.Value << Addressing.PageSize.Shift)), 0, *Head << Addressing.PageSize.Shift);
            *Head = pfn.Value + 1;
            return Status.Ok;
        }

        public readonly uint MaxOrder => 0;
        public readonly bool CanFree => true;
        public readonly ulong FreeFrames => 0;
        public readonly ulong ManagedFrames => 0;
    }
}
