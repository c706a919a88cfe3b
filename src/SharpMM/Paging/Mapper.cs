using SharpMM.Addressing;
using SharpMM.Diagnostics;
using SharpMM.Physical;

namespace SharpMM.Paging;

/// <summary>
/// Maps, unmaps, protects and translates virtual addresses in one address space, for any
/// <typeparamref name="TFormat"/> (x86 32-bit, PAE, 4-level; RISC-V Sv32, Sv39) through any
/// <typeparamref name="TAccess"/> (direct map, recursive self-map). The mapper holds only the
/// root table's physical address and the access strategy; page-table frames come from a frame
/// allocator passed to each call that may allocate or free (order-0 frames), so one allocator
/// can serve many address spaces and tests can inject failures.
///
/// Invariants kept between calls:
///   - every table below the root holds at least one present entry: a table is freed (its
///     parent entry cleared, its frame returned) as soon as it becomes empty; the root is
///     never freed except by <see cref="Destroy"/>;
///   - pointer entries are permissive (x86: P | R/W | U/S; PAE PDPTE: P; RISC-V: V), so a
///     leaf's own flags decide access;
///   - every call that returns a status other than Ok leaves the mappings and the number of
///     table frames as they were (multi-step operations roll back: a MapRange that fails half
///     way unmaps what it mapped and frees the tables it allocated; a range operation that
///     must split large pages at its ends splits both first and undoes the splits if the
///     second one fails).
///
/// Page-table changes are reported, never flushed here: single-page calls return a
/// <see cref="FlushToken"/>, range calls add to a caller-owned <see cref="FlushBatch"/>; the
/// caller flushes them through a <see cref="FlushPolicy"/> and the arch hooks.
///
/// Failures: InvalidArgument (non-canonical or reserved address, a size or flag the format
/// cannot do, a physical address the format cannot reach, zero length), Misaligned, Overflow
/// (a range that wraps), AlreadyMapped, NotMapped, ParentIsHugePage (the address lies inside
/// a larger page), OutOfMemory (no frame for a table), OutOfRange (the allocator gave a frame
/// the format cannot point at, e.g. above 4 GiB for 32-bit tables), Unsupported (a split the
/// access strategy or format cannot do).
///
/// Not done: locking (the caller serialises calls on one address space), merging small pages
/// back into large ones, 5-level paging, PCID/ASID, copy-on-write or reference counts of
/// shared tables (<see cref="Destroy"/> frees every table it reaches).
/// </summary>
public unsafe partial struct Mapper<TFormat, TAccess>
    where TFormat : struct, IPagingFormat
    where TAccess : struct, ITableAccess
{
    /// <summary>Every portable flag.</summary>
    public const PageFlags AllFlags = PageFlags.Writable | PageFlags.User | PageFlags.Executable | PageFlags.Global |
        PageFlags.WriteThrough | PageFlags.CacheDisable | PageFlags.Accessed | PageFlags.Dirty;

    private ulong _root;
    private TAccess _access;

    /// <summary>A mapper over the existing top-level table at <paramref name="rootPhys"/> (for
    /// instance the one CR3 points at), reached through <paramref name="access"/>.</summary>
    public Mapper(ulong rootPhys, TAccess access) { _root = rootPhys; _access = access; }

    /// <summary>
    /// A new, empty address space: allocates and zeroes a top-level table.
    /// Return: Ok; OutOfMemory; OutOfRange (the frame lies where the format cannot have its
    /// root, e.g. a PAE PDPT above 4 GiB; the frame is given back); Unsupported (the access
    /// strategy cannot reach an unlinked frame).
    /// </summary>
    public static Status Create<TFrames>(TAccess access, ref TFrames frames, out Mapper<TFormat, TAccess> mapper)
        where TFrames : struct, IFrameAllocator
    {
        mapper = default;
        var m = new Mapper<TFormat, TAccess>(0, access);
        Status s = AllocateFrame(ref frames, Top, out ulong phys);
        if (s != Status.Ok) return s;
        byte* p = m._access.BeginUnlinked(phys);
        if (p == null) { FreeFrame(ref frames, phys); return Status.Unsupported; }
        MemoryOps.Zero(p, PageSize.Bytes);
        m._access.EndUnlinked(phys);
        m._root = phys;
        mapper = m;
        return Status.Ok;
    }

    /// <summary>Physical address of the top-level table (what CR3 or satp holds).</summary>
    public readonly ulong RootPhys => _root;

    /// <summary>The access strategy (a copy).</summary>
    public readonly TAccess Access => _access;

    /// <summary>The largest page the format can map.</summary>
    public static MappingSize LargestSize
    {
        get
        {
            int level = Top;
            while (!TFormat.CanBeLeaf(level)) level--;
            return SizeOf(level);
        }
    }

    /// <summary>The level whose leaves have <paramref name="size"/>; false when the format has
    /// no such page size.</summary>
    public static bool TryGetLevel(MappingSize size, out int level)
    {
        for (level = 0; level < TFormat.Levels; level++)
            if (TFormat.IndexShift(level) == (int)size && TFormat.CanBeLeaf(level)) return true;
        level = -1;
        return false;
    }

    // ---- geometry ----

    private static int Top => TFormat.Levels - 1;
    private static ulong Span(int level) => 1UL << TFormat.IndexShift(level);
    private static int Index(int level, ulong va) => (int)((va >> TFormat.IndexShift(level)) & (ulong)(TFormat.EntriesPerTable(level) - 1));
    private static MappingSize SizeOf(int level) => (MappingSize)TFormat.IndexShift(level);
    private static bool IsGlobal(int level, ulong entry) => (TFormat.Flags(level, entry) & PageFlags.Global) != 0;
    private static bool ValidFlags(PageFlags flags) => (flags & ~AllFlags) == 0;

    // The highest leaf level whose pages are no larger than `largest`.
    private static bool TryGetMaxLevel(MappingSize largest, out int maxLevel)
    {
        for (maxLevel = Top; maxLevel >= 0; maxLevel--)
            if (TFormat.CanBeLeaf(maxLevel) && TFormat.IndexShift(maxLevel) <= (int)largest) return true;
        return false;
    }

    /// <summary>
    /// Checks [va, va + byteCount) for a range operation and gives its last byte: InvalidArgument
    /// for zero bytes, a non-canonical end, a range across the non-canonical hole or one
    /// touching a reserved window; Misaligned; Overflow when it wraps past 2^64.
    /// </summary>
    private readonly Status CheckRange(ulong va, ulong byteCount, out ulong last)
    {
        last = 0;
        if (byteCount == 0 || !TFormat.IsCanonical(va)) return Status.InvalidArgument;
        if (((va | byteCount) & PageSize.OffsetMask) != 0) return Status.Misaligned;
        if (byteCount - 1 > ulong.MaxValue - va) return Status.Overflow;
        last = va + (byteCount - 1);
        if (!TFormat.IsCanonical(last)) return Status.InvalidArgument;
        // Sign-extended formats have a hole between the halves; both ends canonical is not enough.
        ulong hole = 1UL << (TFormat.VirtualBits - 1);
        if (!TFormat.IsCanonical(hole) && va < hole && last >= hole) return Status.InvalidArgument;
        if (_access.OverlapsReserved(va, last)) return Status.InvalidArgument;
        return Status.Ok;
    }

    // Checks one page-aligned address for a single-page operation.
    private readonly Status CheckPage(ulong va)
    {
        if (!TFormat.IsCanonical(va) || _access.OverlapsReserved(va, va)) return Status.InvalidArgument;
        return (va & PageSize.OffsetMask) != 0 ? Status.Misaligned : Status.Ok;
    }

    // ---- table frames ----

    private static Status AllocateFrame<TFrames>(ref TFrames frames, int level, out ulong phys) where TFrames : struct, IFrameAllocator
    {
        phys = 0;
        Status s = frames.Allocate(0, out Pfn pfn);
        if (s != Status.Ok) return s;
        ulong p = pfn.Value << PageSize.Shift;
        if (p >= TFormat.TablePhysLimit(level))
        {
            FreeFrame(ref frames, p);
            return Status.OutOfRange;
        }
        phys = p;
        return Status.Ok;
    }

    private static void FreeFrame<TFrames>(ref TFrames frames, ulong phys) where TFrames : struct, IFrameAllocator
    {
        if (frames.Free(Pfn.NewUnchecked(phys >> PageSize.Shift), 0) != Status.Ok)
            Panic.Fail("mapper: the frame allocator refused a page-table frame back", phys);
    }

    /// <summary>True when the table holds no present entry. The scan starts at
    /// <paramref name="va"/>'s entry (the one just cleared) and moves outward on both sides: a
    /// neighbour is the likeliest entry to be present, so page-by-page unmapping in either
    /// direction costs O(1) per page instead of O(entries).</summary>
    private bool IsTableEmpty(ulong tablePhys, int level, ulong va)
    {
        byte* t = _access.Table(tablePhys, level, va);
        int n = TFormat.EntriesPerTable(level);
        int hint = Index(level, va);
        if (TFormat.IsPresent(TFormat.Read(t, hint))) return false;
        for (int d = 1; ; d++)
        {
            int above = hint + d, below = hint - d;
            if (above >= n && below < 0) return true;
            if (above < n && TFormat.IsPresent(TFormat.Read(t, above))) return false;
            if (below >= 0 && TFormat.IsPresent(TFormat.Read(t, below))) return false;
        }
    }

    /// <summary>Allocates a zeroed table for level - 1 and links it at entry
    /// <paramref name="index"/> of the level-<paramref name="level"/> table <paramref name="t"/>.
    /// The table is zeroed before it is linked when the access strategy can reach it.</summary>
    private Status LinkNewTable<TFrames, TRec>(byte* t, int level, int index, ulong va, ref TFrames frames, ref TRec rec, out ulong child)
        where TFrames : struct, IFrameAllocator where TRec : struct, IFlushRecorder
    {
        child = 0;
        Status s = AllocateFrame(ref frames, level - 1, out ulong phys);
        if (s != Status.Ok) return s;
        byte* p = _access.BeginUnlinked(phys);
        if (p != null)
        {
            MemoryOps.Zero(p, PageSize.Bytes);
            _access.EndUnlinked(phys);
        }
        TFormat.Write(t, index, TFormat.MakeTable(level, phys));
        _access.Linked(level - 1, va);
        if (p == null) MemoryOps.Zero(_access.Table(phys, level - 1, va), PageSize.Bytes);
        if (level == Top && TFormat.RootEntriesLatched) rec.RootChanged();
        child = phys;
        return Status.Ok;
    }

    /// <summary>Clears entry <paramref name="index"/> (pointing at the empty table
    /// <paramref name="child"/>) and frees the table.</summary>
    private void UnlinkTable<TFrames, TRec>(byte* t, int level, int index, ulong va, ulong child, ref TFrames frames, ref TRec rec)
        where TFrames : struct, IFrameAllocator where TRec : struct, IFlushRecorder
    {
        TFormat.Write(t, index, 0);
        _access.Unlinked(level - 1, va);
        FreeFrame(ref frames, child);
        if (level == Top && TFormat.RootEntriesLatched) rec.RootChanged();
    }

    // The tables and indices a walk went through, by level.
    private struct WalkPath
    {
        public fixed ulong Table[PageWalk.MaxSteps];
        public fixed int Index[PageWalk.MaxSteps];
    }

    /// <summary>Walks to the leaf translating <paramref name="va"/>. Return: Ok with its level
    /// and the path; NotMapped at the first entry that is not present.</summary>
    private Status FindLeaf(ulong va, ref WalkPath path, out int level, out ulong entry)
    {
        ulong tablePhys = _root;
        for (level = Top; level >= 0; level--)
        {
            int i = Index(level, va);
            path.Table[level] = tablePhys;
            path.Index[level] = i;
            entry = TFormat.Read(_access.Table(tablePhys, level, va), i);
            if (!TFormat.IsPresent(entry)) return Status.NotMapped;
            if (TFormat.IsLeaf(level, entry)) return Status.Ok;
            if (level == 0) break;
            tablePhys = TFormat.Address(level, entry);
        }
        Panic.Fail("mapper: a present level-0 entry that is not a leaf", va);
        entry = 0;
        return Status.NotMapped;
    }

    // ---- single-page operations ----

    /// <summary>
    /// Maps one page of <paramref name="size"/> at <paramref name="va"/> to <paramref name="pa"/>,
    /// allocating missing tables from <paramref name="frames"/>.
    /// Return: Ok; InvalidArgument (size the format cannot map, unknown flag bits, non-canonical
    /// or reserved va, pa beyond what the level can map); Misaligned (va or pa not aligned to
    /// size); AlreadyMapped (the entry is in use, as a leaf or a table); ParentIsHugePage (a
    /// larger page covers va); OutOfMemory / OutOfRange (no usable table frame; tables
    /// allocated by this call are freed again).
    /// </summary>
    public Status Map<TFrames>(VirtAddr va, PhysAddr pa, MappingSize size, PageFlags flags, ref TFrames frames, out FlushToken token)
        where TFrames : struct, IFrameAllocator
    {
        token = default;
        if (!TryGetLevel(size, out int level) || !ValidFlags(flags)) return Status.InvalidArgument;
        ulong bytes = Span(level);
        Status s = CheckRange(va.Value, bytes, out ulong last);
        if (s == Status.Overflow) s = Status.Misaligned; // a page that would wrap cannot be aligned
        if (s != Status.Ok) return s;
        if (((va.Value | pa.Value) & (bytes - 1)) != 0) return Status.Misaligned;
        ulong limit = TFormat.LeafPhysLimit(level);
        if (pa.Value >= limit || bytes > limit - pa.Value) return Status.InvalidArgument;
        var rec = new TokenRecorder();
        s = MapCore(va.Value, last, pa.Value, flags, level, level, ref frames, ref rec);
        token = rec.Token;
        return s;
    }

    /// <summary>
    /// Unmaps the page that starts at <paramref name="va"/> (of whatever size) and frees the
    /// tables that become empty. Return: Ok; NotMapped; ParentIsHugePage (va lies inside a
    /// larger page but not at its start: use <see cref="UnmapRange"/>, which splits);
    /// Misaligned; InvalidArgument (non-canonical or reserved).
    /// </summary>
    public Status Unmap<TFrames>(VirtAddr va, ref TFrames frames, out FlushToken token)
        where TFrames : struct, IFrameAllocator
    {
        token = default;
        ulong v = va.Value;
        Status s = CheckPage(v);
        if (s != Status.Ok) return s;
        WalkPath path = default;
        s = FindLeaf(v, ref path, out int level, out ulong e);
        if (s != Status.Ok) return s;
        if ((v & (Span(level) - 1)) != 0) return Status.ParentIsHugePage;
        var rec = new TokenRecorder();
        TFormat.Write(_access.Table(path.Table[level], level, v), path.Index[level], 0);
        rec.Page(v, IsGlobal(level, e));
        for (int l = level; l < Top; l++)
        {
            if (!IsTableEmpty(path.Table[l], l, v)) break;
            byte* parent = _access.Table(path.Table[l + 1], l + 1, v);
            UnlinkTable(parent, l + 1, path.Index[l + 1], v, path.Table[l], ref frames, ref rec);
        }
        token = rec.Token;
        return Status.Ok;
    }

    /// <summary>
    /// Replaces the flags of the page that starts at <paramref name="va"/>; the address and the
    /// bits portable flags do not name (PAT, protection key, software bits) stay. An unchanged
    /// entry gives an empty token. Return: Ok; NotMapped; ParentIsHugePage (inside a larger
    /// page: use <see cref="ProtectRange"/>); Misaligned; InvalidArgument.
    /// </summary>
    public Status Protect(VirtAddr va, PageFlags flags, out FlushToken token)
    {
        token = default;
        ulong v = va.Value;
        if (!ValidFlags(flags)) return Status.InvalidArgument;
        Status s = CheckPage(v);
        if (s != Status.Ok) return s;
        WalkPath path = default;
        s = FindLeaf(v, ref path, out int level, out ulong e);
        if (s != Status.Ok) return s;
        if ((v & (Span(level) - 1)) != 0) return Status.ParentIsHugePage;
        ulong ne = TFormat.WithFlags(level, e, flags);
        if (ne == e) return Status.Ok;
        TFormat.Write(_access.Table(path.Table[level], level, v), path.Index[level], ne);
        var rec = new TokenRecorder();
        rec.Page(v, IsGlobal(level, e) || IsGlobal(level, ne));
        token = rec.Token;
        return Status.Ok;
    }
}
