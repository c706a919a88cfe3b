using SharpMM.Diagnostics;
using System.Runtime.CompilerServices;
using SharpMM.Addressing;
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
///   - every table below the root holds at least one non-zero entry: a table is freed (its
///     parent entry cleared, its frame returned) as soon as every entry in it is zero; the
///     root is never freed except by <see cref="Destroy"/>. An entry that is not present but
///     not zero is one the OS keeps (a swap entry, <see cref="SwapEntry{TFormat}"/>): it holds
///     its table like a mapping, Map refuses to write over it (AlreadyMapped), Unmap, Protect
///     and Translate see no mapping there (NotMapped), UnmapRange leaves it. Such entries are
///     written through <see cref="LeafTable{TFormat}"/> (Mapper.Tables.cs), the walker that
///     callers keeping their own level-0 entries (user address spaces) use;
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
/// access strategy or format cannot do, a new top-level entry after <see cref="FixRootEntries"/>).
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
    // FixRootEntries: the top-level entries are neither added nor removed any more.
    private bool _rootFixed;
    // The format's 64-bit constants on the tuned single-page paths (Mapper.FastMapUnmap.cs),
    // kept in the instance so that they are memory operands: the JIT builds a 64-bit constant
    // anew at each use (a 10-byte move), and an unmap that waits for its page table's line
    // from memory overlaps with more of the next ones the fewer instructions it has (W4's
    // unmap: about 0.17 ns an instruction). Set by the constructor; nothing else writes them.
    // (Declared here: a struct's fields stay in one part, so its layout is defined.)
    private readonly ulong _tableMask, _pageCheckBias, _pageCheckMask, _countDownFastBits, _countDownUnit;

    /// <summary>A mapper over the existing top-level table at <paramref name="rootPhys"/> (for
    /// instance the one CR3 points at), reached through <paramref name="access"/>.</summary>
    public Mapper(ulong rootPhys, TAccess access)
    {
        _root = rootPhys;
        _access = access;
        _tableMask = TFormat.TableAddressMask;
        _countDownFastBits = TFormat.CountDownFastBits;
        _countDownUnit = TFormat.CountDownUnit;
        PageCheck(PageSize.OffsetMask, out _pageCheckBias, out _pageCheckMask);
    }

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
        Status s = TableFrames<TFormat>.Allocate(ref frames, Top, out ulong phys);
        if (s != Status.Ok) return s;
        byte* p = m._access.BeginUnlinked(phys);
        if (p == null) { TableFrames<TFormat>.Free(ref frames, phys); return Status.Unsupported; }
        MemoryOps.Zero(p, PageSize.Bytes);
        m._access.EndUnlinked(phys);
        m._root = phys;
        mapper = m;
        return Status.Ok;
    }

    /// <summary>
    /// From now on the top-level entries stay as they are: a table the root points at is never
    /// freed (unmapping the last page under it leaves it, empty), and a mapping that would need
    /// a new top-level entry fails with Unsupported. A kernel whose upper top-level entries are
    /// copied into every user address space when it is made calls this once it has made all of
    /// them, so that a later kernel mapping is seen by every space.
    /// </summary>
    public void FixRootEntries() => _rootFixed = true;

    /// <summary>True after <see cref="FixRootEntries"/>.</summary>
    public readonly bool RootEntriesFixed => _rootFixed;

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

    // The level whose leaves have `size`, or -1; the same answer as TryGetLevel, written out per
    // level so that it folds to a compare or two for each format.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int LevelOf(MappingSize size)
    {
        int s = (int)size;
        if (TFormat.CanBeLeaf(0) && s == TFormat.IndexShift(0)) return 0;
        if (TFormat.Levels > 1 && TFormat.CanBeLeaf(1) && s == TFormat.IndexShift(1)) return 1;
        if (TFormat.Levels > 2 && TFormat.CanBeLeaf(2) && s == TFormat.IndexShift(2)) return 2;
        if (TFormat.Levels > 3 && TFormat.CanBeLeaf(3) && s == TFormat.IndexShift(3)) return 3;
        if (TFormat.Levels > 4 && TFormat.CanBeLeaf(4) && s == TFormat.IndexShift(4)) return 4;
        return -1;
    }

    // ---- geometry ----

    private static int Top { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => TFormat.Levels - 1; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Span(int level) => 1UL << TFormat.IndexShift(level);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Index(int level, ulong va) => (int)((va >> TFormat.IndexShift(level)) & (ulong)(TFormat.EntriesPerTable(level) - 1));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static MappingSize SizeOf(int level) => (MappingSize)TFormat.IndexShift(level);
    // The one entry bit that Global sets in a leaf of `level` (x86 G, RISC-V G); a constant.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong GlobalBit(int level) =>
        TFormat.WithFlags(level, 0, PageFlags.Global | PageFlags.Executable) ^ TFormat.WithFlags(level, 0, PageFlags.Executable);
    // The Global flag of a leaf: the same answer as Flags(level, entry) & Global, in one test.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsGlobal(int level, ulong entry) => (entry & GlobalBit(level)) != 0;
    // IsCanonical(va) and va aligned to `mask` + 1, as one test (both fold for a format's
    // constants): a sign-extended format's canonical addresses are those that, offset by half
    // the space, fall below 2^VirtualBits; the others' are those below it.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsCanonicalAligned(ulong va, ulong mask)
    {
        PageCheck(mask, out ulong bias, out ulong reject);
        return ((va + bias) & reject) == 0;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PageCheck(ulong mask, out ulong bias, out ulong reject)
    {
        int bits = TFormat.VirtualBits;
        bias = TFormat.IsCanonical(ulong.MaxValue) ? 1UL << (bits - 1) : 0;
        reject = ~((1UL << bits) - 1) | mask;
    }

    // The token for a change of the leaf `entry` of the page at `v`: Page, and Global when the
    // leaf is global, without a branch (the format's G bit, one bit, moved to Kind.Global's
    // place: for x86 that is where it already is), in 64-bit arithmetic throughout.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static FlushToken PageToken(ulong v, int level, ulong entry)
    {
        ulong g = GlobalBit(level);
        const ulong kg = (ulong)FlushToken.Kind.Global;
        ulong global = g >= kg ? (entry & g) / (g / kg) : (entry & g) * (kg / g);
        return FlushToken.ForPage(v, global);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly Status CheckPage(ulong va)
    {
        if (!TFormat.IsCanonical(va) || _access.OverlapsReserved(va, va)) return Status.InvalidArgument;
        return (va & PageSize.OffsetMask) != 0 ? Status.Misaligned : Status.Ok;
    }

    // Why a single-page operation's one-test check failed (out of line: the fast paths' cold side).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly Status RejectedPage(ulong va) => CheckPage(va);

    // ---- table frames ----

    /// <summary>
    /// True when every entry of the table at <paramref name="t"/> is zero; <paramref name="hint"/>
    /// is the index of the entry just cleared. Entries are read a 64-byte cache line at a time
    /// and OR-ed (the OR of a line is zero exactly when each of its entries is): first the
    /// hint's own line, which the caller has just
    /// touched, then lines moving outward on both sides, since a neighbour is the likeliest
    /// entry to be present. Page-by-page unmapping in any order stops within a line or two
    /// while the table is well filled; only the last pages of a table scan further.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsTableEmpty(byte* t, int level, int hint)
    {
        if (TFormat.EntriesPerTable(level) * TFormat.EntrySize < LineBytes) return IsSmallTableEmpty(t, level);
        if (LineHasEntry(t + (hint * TFormat.EntrySize & ~(LineBytes - 1)))) return false;
        return AreOtherLinesEmpty(t, level, hint);
    }

    private const int LineBytes = 64;

    private static bool IsSmallTableEmpty(byte* t, int level)
    {
        for (int i = 0; i < TFormat.EntriesPerTable(level); i++)
            if (TFormat.Read(t, i) != 0) return false;
        return true;
    }

    // The lines other than the hint's, moving outward on both sides.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool AreOtherLinesEmpty(byte* t, int level, int hint)
    {
        int lines = TFormat.EntriesPerTable(level) * TFormat.EntrySize / LineBytes;
        int home = hint * TFormat.EntrySize / LineBytes;
        for (int d = 1; ; d++)
        {
            int above = home + d, below = home - d;
            if (above < lines)
            {
                if (LineHasEntry(t + above * LineBytes)) return false;
            }
            else if (below < 0) return true;
            if (below >= 0 && LineHasEntry(t + below * LineBytes)) return false;
        }
    }

    // True when one of the entries in the 64-byte line at `line` is not zero (whatever the
    // entry size: the line is read as eight words).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool LineHasEntry(byte* line)
    {
        ulong* q = (ulong*)line;
        return ((q[0] | q[1]) | (q[2] | q[3]) | ((q[4] | q[5]) | (q[6] | q[7]))) != 0;
    }

    // The table at `level` for `va`, found empty or not, by a scan from `va`'s entry.
    private bool IsTableEmpty(ulong tablePhys, int level, ulong va) =>
        IsTableEmpty(_access.Table(tablePhys, level, va), level, Index(level, va));

    // ---- occupancy counts ----
    //
    // With TFormat.CountsChildren, every pointer entry the mapper makes below the top level
    // carries 1 + the number of non-zero entries of the table it points at (the count field;
    // top-level entries carry none, as the tables below the root may be shared between address
    // spaces, whose root entries would then hold diverging copies). An entry that becomes
    // non-zero or zero in a table adjusts the field in the entry pointing at it, so a table is
    // seen to become empty without reading it. (The mapper itself writes only present entries
    // and zeros, so for its own calls "non-zero" and "present" are the same test;
    // LeafTable.Write keeps the field for the entries others keep.) Entries made elsewhere (tables built before the mapper took them
    // over) have field 0: those tables are scanned, as with formats without room for a count.

    // A pointer entry of `level` for the table at `phys`, which holds `used` non-zero entries.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong NewPointer(int level, ulong phys, int used)
    {
        ulong e = TFormat.MakeTable(level, phys);
        if (TFormat.CountsChildren && level < Top) e = TFormat.WithChildCountField(e, used + 1);
        return e;
    }

    // The table pointed at by entry `index` of the level-`level` table `t` (null: the root, which
    // has no such entry) gained `delta` non-zero entries (lost, when negative).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AdjustCount(byte* t, int index, int level, int delta)
    {
        if (!TFormat.CountsChildren || t == null || level >= Top || delta == 0) return;
        ulong e = TFormat.Read(t, index);
        int f = TFormat.ChildCountField(e);
        if (f == 0) return;
        f += delta;
        if (f < 1 || f > TFormat.EntriesPerTable(level - 1) + 1) Panic.Fail("mapper: a table-occupancy count out of range", e);
        TFormat.Write(t, index, TFormat.WithChildCountField(e, f));
    }

    /// <summary>True when the table <paramref name="child"/>, pointed at by entry
    /// <paramref name="index"/> of the level-<paramref name="level"/> table <paramref name="t"/>,
    /// holds only zero entries: by its count when the entry has one (checked against the table,
    /// which is read only then, just before it is freed), otherwise by a scan.</summary>
    private bool IsChildEmpty(byte* t, int index, int level, ulong child, ulong va)
    {
        if (level == Top && _rootFixed) return false;   // kept even when empty: FixRootEntries
        if (TFormat.CountsChildren && level < Top)
        {
            int f = TFormat.ChildCountField(TFormat.Read(t, index));
            if (f != 0)
            {
                if (f != 1) return false;
                if (!IsTableEmpty(child, level - 1, va)) Panic.Fail("mapper: a table counted empty holds non-zero entries", child);
                return true;
            }
        }
        return IsTableEmpty(child, level - 1, va);
    }

    /// <summary>Allocates a zeroed table for level - 1 and links it at entry
    /// <paramref name="index"/> of the level-<paramref name="level"/> table <paramref name="t"/>.
    /// The table is zeroed before it is linked when the access strategy can reach it. The
    /// caller adjusts the count of <paramref name="t"/>.</summary>
    private Status LinkNewTable<TFrames, TRec>(byte* t, int level, int index, ulong va, ref TFrames frames, ref TRec rec, out ulong child)
        where TFrames : struct, IFrameAllocator where TRec : struct, IFlushRecorder
    {
        child = 0;
        Status s = LinkNewTable(t, level, index, va, ref frames);
        if (s != Status.Ok) return s;
        if (level == Top && TFormat.RootEntriesLatched) rec.RootChanged();
        child = TFormat.Address(level, TFormat.Read(t, index));
        return Status.Ok;
    }

    // The same, leaving the flush record to the caller (a new top-level entry of a format with
    // RootEntriesLatched needs a root reload) and the count of `t` (it gained an entry); the
    // entry now at `index` points at the table.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Status LinkNewTable<TFrames>(byte* t, int level, int index, ulong va, ref TFrames frames)
        where TFrames : struct, IFrameAllocator
    {
        Status s = TableFrames<TFormat>.Allocate(ref frames, level - 1, out ulong phys);
        if (s != Status.Ok) return s;
        byte* p = _access.BeginUnlinked(phys);
        if (p != null)
        {
            MemoryOps.Zero(p, PageSize.Bytes);
            _access.EndUnlinked(phys);
        }
        TFormat.Write(t, index, NewPointer(level, phys, 0));
        _access.Linked(level - 1, va);
        if (p == null) MemoryOps.Zero(_access.Table(phys, level - 1, va), PageSize.Bytes);
        return Status.Ok;
    }

    /// <summary>Frees, bottom up, the tables on <paramref name="va"/>'s path from level
    /// <paramref name="level"/> upward that are empty, stopping at the first that is not (its
    /// ancestors hold it, so they are not empty either). The root is never freed. Returns the
    /// number of tables freed.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int FreeEmptyTables<TFrames, TRec>(ulong va, int level, ref TFrames frames, ref TRec rec)
        where TFrames : struct, IFrameAllocator where TRec : struct, IFlushRecorder
    {
        WalkPath path = default;
        ulong tablePhys = _root;
        for (int l = Top; l >= level; l--)
        {
            path.Table[l] = tablePhys;
            if (l == level) break;
            ulong e = TFormat.Read(_access.Table(tablePhys, l, va), Index(l, va));
            if (!TFormat.PointsToTable(l, e)) Panic.Fail("mapper: the path to an emptied table is gone", va);
            tablePhys = TFormat.TableAddress(e);
        }
        int freed = 0;
        for (int l = level; l < Top; l++)
        {
            byte* parent = _access.Table(path.Table[l + 1], l + 1, va);
            int pi = Index(l + 1, va);
            if (!IsChildEmpty(parent, pi, l + 1, path.Table[l], va)) break;
            UnlinkTable(parent, l + 1, pi, va, path.Table[l], ref frames, ref rec);
            freed++;
            if (l + 1 < Top) AdjustCount(_access.Table(path.Table[l + 2], l + 2, va), Index(l + 2, va), l + 2, -1);
        }
        return freed;
    }

    /// <summary>Clears entry <paramref name="index"/> (pointing at the empty table
    /// <paramref name="child"/>) and frees the table. The caller adjusts the count of
    /// <paramref name="t"/>.</summary>
    private void UnlinkTable<TFrames, TRec>(byte* t, int level, int index, ulong va, ulong child, ref TFrames frames, ref TRec rec)
        where TFrames : struct, IFrameAllocator where TRec : struct, IFlushRecorder
    {
        TFormat.Write(t, index, 0);
        _access.Unlinked(level - 1, va);
        TableFrames<TFormat>.Free(ref frames, child);
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
    /// Map (Mapper.FastMapUnmap.cs, which takes the common case itself) as the hardware walk
    /// reads, for any page size and any arguments: the checks in their documented order, then from the root
    /// down to the leaf's table, making the tables that are missing (<see cref="EnsurePath"/>),
    /// then the leaf. On failure the tables this call linked are freed. Returns the status and
    /// what the flush token must ask for (its page is <paramref name="va"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal SinglePageResult MapByWalk<TFrames, TRelease>(ulong va, ulong pa, int level, PageFlags flags, ref TFrames frames, ref TRelease release)
        where TFrames : struct, IFrameAllocator where TRelease : struct, IFrameAllocator
    {
        Status c = CheckMap(va, pa, level);
        if (c != Status.Ok) return new SinglePageResult(c, 0);
        var rec = new TokenRecorder();
        Status s = EnsurePath(va, level, ref frames, ref release, ref rec, out ulong tablePhys, out byte* pt, out int pi, out _);
        FlushToken.Kind root = rec.Token.NeedsRootReload ? FlushToken.Kind.RootReload : 0;
        // A failure that took tables out again asks for the page too (see EnsurePath).
        if (s != Status.Ok) return new SinglePageResult(s, rec.Token.Kinds);
        byte* leafTable = _access.Table(tablePhys, level, va);
        int li = Index(level, va);
        if (TFormat.Read(leafTable, li) != 0) return new SinglePageResult(Status.AlreadyMapped, 0); // a mapping, a table, or an entry the OS keeps
        TFormat.Write(leafTable, li, TFormat.MakeLeaf(level, pa, flags));
        AdjustCount(pt, pi, level + 1, 1);
        if (!TFormat.NewMappingNeedsFlush) return new SinglePageResult(Status.Ok, root);
        return new SinglePageResult(Status.Ok,
            FlushToken.Kind.Page | ((flags & PageFlags.Global) != 0 ? FlushToken.Kind.Global : 0) | root);
    }

    /// <summary>
    /// The walk from the root to the level-<paramref name="level"/> table for
    /// <paramref name="va"/>, making the missing tables on the way (Map's slow path and
    /// the EnsureLeafTable overloads). Return: Ok with the table's physical address, the entry
    /// pointing at it (<paramref name="pt"/>, <paramref name="pi"/>; null for the root) and the
    /// number of tables made; ParentIsHugePage; AlreadyMapped (a pointer entry the OS keeps);
    /// OutOfMemory / OutOfRange (the tables this call made are freed again, to
    /// <paramref name="release"/>, and <paramref name="va"/>'s page recorded in
    /// <paramref name="rec"/>: another CPU's walk may have cached the entries that pointed at
    /// them). A changed latched root entry is recorded in <paramref name="rec"/>.
    /// </summary>
    private Status EnsurePath<TFrames, TRelease, TRec>(ulong va, int level, ref TFrames frames, ref TRelease release, ref TRec rec, out ulong tablePhys, out byte* pt, out int pi, out int made)
        where TFrames : struct, IFrameAllocator where TRelease : struct, IFrameAllocator where TRec : struct, IFlushRecorder
    {
        tablePhys = _root;
        pt = null;
        pi = 0;
        made = 0;
        for (int l = Top; l > level; l--)
        {
            byte* t = _access.Table(tablePhys, l, va);
            int i = Index(l, va);
            ulong e = TFormat.Read(t, i);
            if (e == 0)
            {
                if (l == Top && _rootFixed) return Status.Unsupported;   // made == 0 here: nothing to undo
                Status s = LinkNewTable(t, l, i, va, ref frames, ref rec, out _);
                if (s != Status.Ok)
                {
                    // The tables linked above are empty: free them again.
                    if (made != 0)
                    {
                        if (FreeEmptyTables(va, l, ref release, ref rec) != made) Panic.Fail("mapper: a table made on a walk was not empty", va);
                        rec.Page(va, false);
                    }
                    made = 0;
                    return s;
                }
                AdjustCount(pt, pi, l + 1, 1);
                made++;
                e = TFormat.Read(t, i);
            }
            else if (TFormat.IsLeaf(l, e)) return Status.ParentIsHugePage;
            else if (!TFormat.IsPresent(e)) return Status.AlreadyMapped; // an entry the OS keeps
            pt = t;
            pi = i;
            tablePhys = TFormat.Address(l, e);
        }
        return Status.Ok;
    }

    // Map's argument checks in their documented order (the first failing one gives the status).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly Status CheckMap(ulong va, ulong pa, int level)
    {
        ulong bytes = Span(level);
        Status s = CheckRange(va, bytes, out _);
        if (s == Status.Overflow) s = Status.Misaligned; // a page that would wrap cannot be aligned
        if (s != Status.Ok) return s;
        if (((va | pa) & (bytes - 1)) != 0) return Status.Misaligned;
        ulong limit = TFormat.LeafPhysLimit(level);
        if (pa >= limit || bytes > limit - pa) return Status.InvalidArgument;
        return Status.Ok;
    }

    /// <summary>
    /// Unmap (Mapper.FastMapUnmap.cs, which takes the common case itself) as the hardware walk
    /// reads, for any page size and any address: from the root down to the leaf (<see cref="FindLeaf"/>),
    /// clear it, take one from the count of the table that held it, and free the tables left
    /// empty. Returns the status and what the flush token must ask for (its page is
    /// <paramref name="va"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal SinglePageResult UnmapByWalk<TFrames>(ulong va, ref TFrames frames)
        where TFrames : struct, IFrameAllocator
    {
        Status status = CheckPage(va);
        if (status != Status.Ok) return new SinglePageResult(status, 0);
        WalkPath path = default;
        status = FindLeaf(va, ref path, out int level, out ulong e);
        if (status != Status.Ok) return new SinglePageResult(status, 0);
        if ((va & (Span(level) - 1)) != 0) return new SinglePageResult(Status.ParentIsHugePage, 0);
        byte* t = _access.Table(path.Table[level], level, va);
        int i = path.Index[level];
        TFormat.Write(t, i, 0);
        var token = PageToken(va, level, e);
        if (level < Top)
        {
            int c = 0;
            if (TFormat.CountsChildren && level < Top - 1)
            {
                byte* pt = _access.Table(path.Table[level + 1], level + 1, va);
                int pi = path.Index[level + 1];
                c = TFormat.AddChildCount(pt, pi, TFormat.Read(pt, pi), -1);
            }
            if (c == 1 || (c == 0 && IsTableEmpty(t, level, i))) token = UnmapFreeTables(va, level, token, ref frames);
        }
        return new SinglePageResult(Status.Ok, token.Kinds);
    }

    // Unmap emptied the table at `level`: free it and the ancestors it leaves empty.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private FlushToken UnmapFreeTables<TFrames>(ulong va, int level, FlushToken token, ref TFrames frames)
        where TFrames : struct, IFrameAllocator
    {
        var rec = new TokenRecorder();
        rec.Page(va, token.IsGlobal);
        FreeEmptyTables(va, level, ref frames, ref rec);
        return rec.Token;
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
