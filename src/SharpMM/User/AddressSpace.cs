using SharpMM.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;
using SpinLock = SharpMM.Concurrency.SpinLock;
using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Paging;
using SharpMM.Physical;

namespace SharpMM.User;

/// <summary>
/// One process's address space: its own top-level table whose kernel half is a copy of the
/// kernel's top-level entries (so every space maps the same kernel tables, which are never freed
/// here), its regions (<see cref="VmaSet"/>), its brk, and counters. The operations that need
/// frames, the store or other spaces (map, fault, fork, reclaim) are in
/// <see cref="UserMemory{TFormat, TFrames, TStore}"/>; this type holds the state and reaches the
/// user half's tables through the same walker as the kernel's mappings
/// (<see cref="Mapper{TFormat, TAccess}"/>: find, make, step through and free level-0 tables),
/// keeping count of its table pages.
///
/// Level-0 entries of the user half are in one of three states (the format's entry states,
/// <see cref="SwapEntry{TFormat}"/>):
/// <code>
///   0                        nothing: the page is not populated (first touch faults it in)
///   present                  a frame (its metadata in <see cref="UserFrames"/>)
///   not present, non-zero    a swap entry: (slot &lt;&lt; 12) | 0b10, the page is in store slot `slot`
/// </code>
/// The user half holds only 4 KiB pages. Tables are reached through the direct map. A table is
/// freed when every entry in it is zero (a table of swap entries stays): the walker's rule for
/// every address space.
///
/// The kernel half is copied when the space is made (<see cref="SyncKernelHalf"/> copies it again
/// after the kernel adds a top-level entry; on x86-64 the kernel's PML4 entries are made once at
/// boot, so this is needed only for 32-bit layouts that add page tables for the kernel later).
/// Where the layout has a recursive self-map, this space's slot points at its own table.
///
/// Several CPUs: <see cref="Lock"/> (rank AddressSpace, Linux's mmap_lock) is held by every
/// operation of <see cref="UserMemory{TFormat, TFrames, TStore}"/> on the space, page faults
/// included, so two CPUs faulting one page are served one after the other (the second finds it
/// mapped: Spurious); its page tables, and the entries and counters in them, are changed under
/// <see cref="TableLock"/> (rank PageTables, Linux's page_table_lock), which the clock also takes
/// (with a try-lock) for a space it reclaims from. <see cref="ActiveCpus"/> says which CPUs may hold its translations: the
/// CPUs a shootdown must reach when a mapping is removed or weakened.
/// </summary>
public unsafe struct AddressSpace<TFormat> where TFormat : struct, IPagingFormat
{
    private Mapper<TFormat, DirectMapTableAccess> _tables;
    /// <summary>Where user space is, and the shared kernel entries.</summary>
    public UserLayout Layout;
    /// <summary>The regions.</summary>
    public VmaSet Regions;
    /// <summary>Start of the brk heap (the end of the data).</summary>
    public ulong BrkStart;
    /// <summary>The current break (brk heap is [BrkStart, Brk) rounded up to pages).</summary>
    public ulong Brk;
    /// <summary>Present user pages (frames mapped here, shared ones included: the resident set).</summary>
    public ulong ResidentPages;
    /// <summary>Pages whose content is in the store (swap entries).</summary>
    public ulong SwappedPages;
    /// <summary>Page-table pages of the user half, the top-level table included.</summary>
    public ulong TablePages;
    /// <summary>Index in the owner's registry, -1 when not registered.</summary>
    public int RegistryIndex;
    /// <summary>Serialises the operations on this space: its regions, brk and counters, and the
    /// faults in it (rank <see cref="LockRank.AddressSpace"/>). Taken through
    /// <see cref="Acquire"/>, which lets an operation call another on the same space.</summary>
    public SpinLock Lock;
    // The CPU (index + 1) holding Lock, 0 for none, and how many times it entered it.
    private int _holder, _depth;
    /// <summary>This space's page tables: their entries, <see cref="ResidentPages"/>,
    /// <see cref="SwappedPages"/>, <see cref="TablePages"/> and the tables freed after the
    /// flush (rank <see cref="LockRank.PageTables"/>). Held by every operation on the space
    /// within <see cref="Lock"/>, and by the clock for a space it scans. Taken through
    /// <see cref="AcquireTables"/>.</summary>
    public SpinLock TableLock;
    // The CPU (index + 1) holding TableLock, 0 for none, and how many times it entered it.
    private int _tableHolder, _tableDepth;
    // (UserMemory.Locking.cs, under TableLock) Table pages emptied since the last flush, freed
    // after it: a list linked through entry 0 of each, page number + 1, 0 for empty.
    internal ulong DeferredTables;
    // (under TableLock) This space dropped mappings of user frames since its last flush: it is
    // one of the operations the user frames' deferred frees wait for (UserMemory.DropFrame).
    internal bool DropsInFlight;
    // (under TableLock) How this space's changes are flushed, and the counts
    // (UserMemory.FlushCounters sums them).
    internal FlushPolicy Flushes;
    // A bit per CPU whose CR3 holds this space (Linux's mm_cpumask), set before the CR3 load
    // and cleared after the load away from it: a superset of the CPUs that may cache its
    // translations. Written with atomics only.
    private int _cpus;

    /// <summary>Physical address of the top-level table (what CR3 holds while it runs); 0 when destroyed.</summary>
    public readonly ulong RootPhys => _tables.RootPhys;
    /// <summary>True once created and until destroyed.</summary>
    public readonly bool IsLive => _tables.RootPhys != 0;

    private static int Top { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => TFormat.Levels - 1; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly byte* RootTable() => _tables.Access.Map.ToVirt(_tables.RootPhys);

    /// <summary>
    /// Makes the space: a zeroed top-level table from <paramref name="frames"/> with the kernel
    /// half copied from <paramref name="kernelRoot"/> (0: no kernel half, for tests of the user
    /// half alone). Return: Ok; OutOfMemory; OutOfRange (a frame the format cannot use as its
    /// root; given back); InvalidArgument (a layout whose kernel indices do not fit the format).
    /// </summary>
    public Status Init<TFrames>(in UserLayout layout, DirectMap dm, ulong kernelRoot, ref TFrames frames)
        where TFrames : struct, IFrameAllocator
    {
        if (layout.KernelEndIndex > TFormat.EntriesPerTable(Top) || layout.KernelFirstIndex > layout.KernelEndIndex
            || !TFormat.IsCanonical(layout.UserEnd - 1) || (layout.UserEnd - 1) >> TFormat.IndexShift(Top) >= (ulong)layout.KernelFirstIndex)
            return Status.InvalidArgument;
        this = default;
        Layout = layout;
        RegistryIndex = -1;
        Lock.Init(LockRank.AddressSpace);
        TableLock.Init(LockRank.PageTables);
        Flushes = FlushPolicy.Default;
        Status s = Mapper<TFormat, DirectMapTableAccess>.Create(new DirectMapTableAccess(dm), ref frames, out _tables);
        if (s != Status.Ok) return s;
        TablePages = 1;
        if (kernelRoot != 0) SyncKernelHalf(kernelRoot);
        return Status.Ok;
    }

    /// <summary>Copies the kernel's top-level entries [KernelFirstIndex, KernelEndIndex) from
    /// <paramref name="kernelRoot"/>; the recursive slot, if any, is
    /// pointed at this space's own table with the kernel entry's other bits (supervisor only).
    /// (Top-level entries carry no occupancy count, so a copy is exact.)</summary>
    public readonly void SyncKernelHalf(ulong kernelRoot)
    {
        byte* k = _tables.Access.Map.ToVirt(kernelRoot), u = RootTable();
        for (int i = Layout.KernelFirstIndex; i < Layout.KernelEndIndex; i++)
        {
            ulong e = TFormat.Read(k, i);
            if (i == Layout.RecursiveIndex && TFormat.IsPresent(e))
                e = (e & ~TFormat.Address(Top, e)) | _tables.RootPhys;
            TFormat.Write(u, i, e);
        }
    }

    // ---- locking and the CPUs running the space ----

    /// <summary>Takes <see cref="Lock"/>, or enters it again when the current CPU holds it
    /// already. A space never made gets its lock here (no other CPU can know of it yet).</summary>
    public void Acquire()
    {
        int me = Cpu.Current + 1;
        if (Volatile.Read(ref _holder) == me)
        {
            _depth++;
            return;
        }
        if (Lock.Rank == LockRank.None) Lock.Init(LockRank.AddressSpace);
        Lock.Acquire();
        _holder = me;
        _depth = 1;
    }

    /// <summary>Leaves what <see cref="Acquire"/> entered; the last leave releases the lock.</summary>
    public void Release()
    {
        if (_holder != Cpu.Current + 1 || _depth <= 0) Panic.Fail("address space: released by a CPU that does not hold it", (ulong)_holder);
        if (--_depth != 0) return;
        Volatile.Write(ref _holder, 0);
        Lock.Release();
    }

    /// <summary>Takes <see cref="TableLock"/>, or enters it again when the current CPU holds it
    /// already.</summary>
    public void AcquireTables()
    {
        if (EnterTablesAgain()) return;
        TableLock.Acquire();
        _tableHolder = Cpu.Current + 1;
        _tableDepth = 1;
    }

    /// <summary>Takes <see cref="TableLock"/> if it is free (or enters it again when the current
    /// CPU holds it); false when another CPU holds it. May be called while holding another
    /// space's table lock or locks of higher rank (a try-lock never waits).</summary>
    public bool TryAcquireTables()
    {
        if (EnterTablesAgain()) return true;
        if (!TableLock.TryAcquire()) return false;
        _tableHolder = Cpu.Current + 1;
        _tableDepth = 1;
        return true;
    }

    private bool EnterTablesAgain()
    {
        if (Volatile.Read(ref _tableHolder) != Cpu.Current + 1) return false;
        _tableDepth++;
        return true;
    }

    /// <summary>Leaves what <see cref="AcquireTables"/> entered; the last leave releases the lock.</summary>
    public void ReleaseTables()
    {
        if (_tableHolder != Cpu.Current + 1 || _tableDepth <= 0) Panic.Fail("address space: table lock released by a CPU that does not hold it", (ulong)_tableHolder);
        if (--_tableDepth != 0) return;
        Volatile.Write(ref _tableHolder, 0);
        TableLock.Release();
    }

    /// <summary>True when the current CPU holds <see cref="TableLock"/>.</summary>
    public bool TablesHeldHere => Volatile.Read(ref _tableHolder) == Cpu.Current + 1;

    /// <summary>CPUs whose CR3 holds this space (bit n = CPU n): where shootdowns go. A full
    /// barrier, so that a page-table write before it is visible to a CPU that enters after.</summary>
    public ulong ActiveCpus => (uint)Interlocked.CompareExchange(ref _cpus, 0, 0);

    /// <summary>The current CPU is about to load this space into CR3 (call before the load: from
    /// then on shootdowns of the space reach it).</summary>
    public void Enter() => ChangeCpus(1 << Cpu.Current, 0);

    /// <summary>The current CPU has loaded another space into CR3 (call after the load, which
    /// dropped this space's translations from its TLB).</summary>
    public void Leave() => ChangeCpus(0, 1 << Cpu.Current);

    private void ChangeCpus(int set, int clear)
    {
        int old = Volatile.Read(ref _cpus);
        while (true)
        {
            int seen = Interlocked.CompareExchange(ref _cpus, (old | set) & ~clear, old);
            if (seen == old) return;
            old = seen;
        }
    }

    // ---- user-half tables, through the mapper's walker ----

    /// <summary>The level-0 table holding <paramref name="va"/>'s entry, or a null table when a
    /// table on the path is missing.</summary>
    public LeafTable<TFormat> FindLeafTable(ulong va)
    {
        Status s = _tables.FindLeafTable(VirtAddr.NewUnchecked(va), out LeafTable<TFormat> t);
        if (s != Status.Ok && s != Status.NotMapped) Panic.Fail("user tables: a large page or a bad address in the user half", va);
        return t;
    }

    /// <summary>The level-0 entry for <paramref name="va"/> (0 when its table is missing).</summary>
    public ulong Entry(ulong va)
    {
        LeafTable<TFormat> t = FindLeafTable(va);
        return t.IsNull ? 0 : t.Read(LeafTable<TFormat>.IndexOf(va));
    }

    /// <summary>
    /// The level-0 table for <paramref name="va"/>, making the missing tables on the way
    /// (zeroed, from <paramref name="frames"/>). Return: Ok; OutOfMemory / OutOfRange (the
    /// tables this call made go to <paramref name="release"/>, to be freed after the flush of
    /// <paramref name="batch"/>, which records the page).
    /// </summary>
    public Status EnsureLeafTable<TFrames, TRelease>(ulong va, ref TFrames frames, ref TRelease release, ref FlushBatch batch, out LeafTable<TFormat> table)
        where TFrames : struct, IFrameAllocator where TRelease : struct, IFrameAllocator
    {
        Status s = _tables.EnsureLeafTable(VirtAddr.NewUnchecked(va), ref frames, ref release, ref batch, out table, out int made);
        if (s == Status.Ok) TablePages += (ulong)made;
        else if (s != Status.OutOfMemory && s != Status.OutOfRange) Panic.Fail("user tables: a large page or a bad address in the user half", va);
        return s;
    }

    /// <summary>Frees, bottom up, the tables on <paramref name="va"/>'s path that hold only zero
    /// entries, stopping at the first that does not (the top-level table stays); a freed table
    /// is recorded in <paramref name="batch"/>. Call it after clearing entries, once done with
    /// their table.</summary>
    public void FreeEmptyTables<TFrames>(ulong va, ref TFrames frames, ref FlushBatch batch) where TFrames : struct, IFrameAllocator =>
        TablePages -= (ulong)_tables.FreeEmptyTables(VirtAddr.NewUnchecked(va), ref frames, ref batch);

    /// <summary>
    /// The first level-0 table at or above <paramref name="va"/> and below <paramref name="end"/>,
    /// skipping missing tables at every level: returns the address where it starts to matter
    /// (<paramref name="va"/> itself, or the start of the span of the next table found) and the
    /// table in <paramref name="table"/>; <paramref name="end"/> and a null table when none is left.
    /// </summary>
    public ulong NextLeafTable(ulong va, ulong end, out LeafTable<TFormat> table) => _tables.NextLeafTable(va, end, out table);

    /// <summary>
    /// Frees the top-level table, leaving the space dead. Every table below the user half must
    /// be gone already (the owner released every page, and the walker freed each table with
    /// its last entry); the kernel half's tables are shared and untouched.
    /// </summary>
    public void FreeTables<TFrames>(ref TFrames frames) where TFrames : struct, IFrameAllocator
    {
        if (!IsLive) return;
        if (NextLeafTable(UserHalfStart, UserHalfEnd, out _) != UserHalfEnd || TablePages != 1)
            Panic.Fail("user tables: a table left after every page was released", TablePages);
        // The kernel entries are copies: cleared, so that the walk below reaches none of the
        // kernel's tables and frees only the top-level table.
        byte* top = RootTable();
        for (int i = Layout.KernelFirstIndex; i < Layout.KernelEndIndex; i++) TFormat.Write(top, i, 0);
        _tables.Destroy(ref frames);
        TablePages = 0;
    }

    // The user half's span of the top-level table: [0, KernelFirstIndex) entries.
    private const ulong UserHalfStart = 0;
    private readonly ulong UserHalfEnd => (ulong)Layout.KernelFirstIndex << TFormat.IndexShift(Top);

    /// <summary>Visits every non-zero level-0 entry of the user half in address order (a check
    /// for tests and validators: entries outside regions, counts).</summary>
    public void VisitEntries<TVisitor>(ref TVisitor visitor) where TVisitor : struct, IUserEntryVisitor
    {
        if (!IsLive) return;
        ulong end = UserHalfEnd;
        ulong p = UserHalfStart;
        while (p < end)
        {
            p = NextLeafTable(p, end, out LeafTable<TFormat> t);
            if (t.IsNull) break;
            ulong tableEnd = (p & ~(LeafTable<TFormat>.Span - 1)) + LeafTable<TFormat>.Span;
            for (; p < tableEnd && p < end; p += PageSize.Bytes)
            {
                ulong e = t.Read(LeafTable<TFormat>.IndexOf(p));
                if (e != 0) visitor.Entry(p, e);
            }
        }
    }
}
