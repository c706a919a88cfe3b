using SharpMM.Diagnostics;
using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Paging;
using SharpMM.Physical;

namespace SharpMM.User;

/// <summary>
/// One process's address space: its own top-level table whose kernel half is a copy of the
/// kernel's top-level entries (so every space maps the same kernel tables, which are never freed
/// here), its regions (<see cref="VmaSet"/>), its brk, and counters. The operations that need
/// frames, the store or other spaces (map, fault, fork, reclaim) are in
/// <see cref="UserMemory{TFormat, TFrames, TStore}"/>; this type holds the state and walks the
/// user half of the tables.
///
/// Level-0 entries of the user half are in one of three states:
/// <code>
///   0                        nothing: the page is not populated (first touch faults it in)
///   present                  a frame (its metadata in <see cref="UserFrames"/>)
///   not present, non-zero    a swap entry: (slot &lt;&lt; 12) | 0b10, the page is in store slot `slot`
/// </code>
/// The user half holds only 4 KiB pages. Tables are reached through the direct map. A table is
/// freed when every entry in it is zero (not merely not present: a table of swap entries stays),
/// which is why this walks the tables itself instead of using the kernel's <c>Mapper</c>, whose
/// invariant is that a table without a present entry is freed.
///
/// The kernel half is copied when the space is made (<see cref="SyncKernelHalf"/> copies it again
/// after the kernel adds a top-level entry; on x86-64 the kernel's PML4 entries are made once at
/// boot, so this is needed only for 32-bit layouts that add page tables for the kernel later).
/// Where the layout has a recursive self-map, this space's slot points at its own table. A layout
/// with low kernel entries (<see cref="UserLayout.KernelLowEndIndex"/>) has them copied the same
/// way: a kernel identity-mapped at the bottom of the address space stays reachable.
///
/// Callers serialise operations on one space (no locking: one CPU).
/// </summary>
public unsafe struct AddressSpace<TFormat> where TFormat : struct, IPagingFormat
{
    /// <summary>The tag of a swap entry: bit 1 set, present (bit 0) clear.</summary>
    public const ulong SwapTag = 0b10;

    private ulong _root;
    private DirectMap _dm;
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

    /// <summary>Physical address of the top-level table (what CR3 holds while it runs); 0 when destroyed.</summary>
    public readonly ulong RootPhys => _root;
    /// <summary>True once created and until destroyed.</summary>
    public readonly bool IsLive => _root != 0;

    private static int Top { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => TFormat.Levels - 1; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Index(int level, ulong va) => (int)((va >> TFormat.IndexShift(level)) & (ulong)(TFormat.EntriesPerTable(level) - 1));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly byte* Table(ulong phys) => (byte*)(_dm.Offset + phys);

    /// <summary>Bytes one level-0 table covers (4 MiB on 32-bit x86, 2 MiB on 4-level).</summary>
    public static ulong LeafTableSpan => 1UL << TFormat.IndexShift(1);

    /// <summary>The swap entry for store slot <paramref name="slot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SwapEntry(uint slot) => ((ulong)slot << PageSize.Shift) | SwapTag;
    /// <summary>True for a swap entry (non-zero, not present).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsSwapEntry(ulong e) => e != 0 && !TFormat.IsPresent(e);
    /// <summary>The slot of a swap entry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint SlotOf(ulong e) => (uint)(e >> PageSize.Shift);
    /// <summary>Most slots a swap entry can name (20 bits with 4-byte entries).</summary>
    public static ulong MaxSlots => TFormat.EntrySize == 4 ? 1UL << 20 : 1UL << 32;

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
            || !TFormat.IsCanonical(layout.UserEnd - 1) || (layout.UserEnd - 1) >> TFormat.IndexShift(Top) >= (ulong)layout.KernelFirstIndex
            || layout.KernelLowEndIndex < 0 || layout.KernelLowEndIndex > layout.KernelFirstIndex
            || layout.UserStart >> TFormat.IndexShift(Top) < (ulong)layout.KernelLowEndIndex)
            return Status.InvalidArgument;
        this = default;
        _dm = dm;
        Layout = layout;
        RegistryIndex = -1;
        Status s = AllocateTable(ref frames, Top, out ulong root);
        if (s != Status.Ok) return s;
        _root = root;
        TablePages = 1;
        if (kernelRoot != 0) SyncKernelHalf(kernelRoot);
        return Status.Ok;
    }

    /// <summary>Copies the kernel's top-level entries [KernelFirstIndex, KernelEndIndex) and
    /// [0, KernelLowEndIndex) from <paramref name="kernelRoot"/>; the recursive slot, if any, is
    /// pointed at this space's own table with the kernel entry's other bits (supervisor only).</summary>
    public readonly void SyncKernelHalf(ulong kernelRoot)
    {
        byte* k = Table(kernelRoot), u = Table(_root);
        for (int i = 0; i < Layout.KernelLowEndIndex; i++) TFormat.Write(u, i, TFormat.Read(k, i));
        for (int i = Layout.KernelFirstIndex; i < Layout.KernelEndIndex; i++)
        {
            ulong e = TFormat.Read(k, i);
            if (i == Layout.RecursiveIndex && TFormat.IsPresent(e))
                e = (e & ~TFormat.Address(Top, e)) | _root;
            TFormat.Write(u, i, e);
        }
    }

    // ---- user-half tables ----

    // A zeroed table frame (TableFrames: the limits of the format).
    private readonly Status AllocateTable<TFrames>(ref TFrames frames, int level, out ulong phys) where TFrames : struct, IFrameAllocator
    {
        Status s = TableFrames<TFormat>.Allocate(ref frames, level, out phys);
        if (s == Status.Ok) MemoryOps.Zero(Table(phys), PageSize.Bytes);
        return s;
    }

    /// <summary>The level-0 table holding <paramref name="va"/>'s entry, or null when a table on
    /// the path is missing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly byte* LeafTable(ulong va)
    {
        ulong t = _root;
        for (int level = Top; level > 0; level--)
        {
            ulong e = TFormat.Read(Table(t), Index(level, va));
            if (!TFormat.IsPresent(e)) return null;
            if (TFormat.IsLeaf(level, e)) Panic.Fail("user tables: a large page in the user half", va);
            t = TFormat.Address(level, e);
        }
        return Table(t);
    }

    /// <summary>The level-0 entry for <paramref name="va"/> (0 when its table is missing).</summary>
    public readonly ulong Entry(ulong va)
    {
        byte* t = LeafTable(va);
        return t == null ? 0 : TFormat.Read(t, Index(0, va));
    }

    /// <summary>Index of <paramref name="va"/>'s entry in its level-0 table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int LeafIndex(ulong va) => Index(0, va);

    /// <summary>
    /// The level-0 table for <paramref name="va"/>, making the missing tables on the way
    /// (zeroed, from <paramref name="frames"/>). Return: Ok; OutOfMemory / OutOfRange (the
    /// tables this call made are freed again).
    /// </summary>
    public Status EnsureLeafTable<TFrames>(ulong va, ref TFrames frames, out byte* table) where TFrames : struct, IFrameAllocator
    {
        table = LeafTable(va);
        if (table != null) return Status.Ok;
        ulong t = _root;
        for (int level = Top; level > 0; level--)
        {
            byte* p = Table(t);
            int i = Index(level, va);
            ulong e = TFormat.Read(p, i);
            if (!TFormat.IsPresent(e))
            {
                Status s = AllocateTable(ref frames, level - 1, out ulong child);
                if (s != Status.Ok)
                {
                    ReleaseTables(va, ref frames);
                    return s;
                }
                e = TFormat.MakeTable(level, child);
                TFormat.Write(p, i, e);
                TablePages++;
            }
            t = TFormat.Address(level, e);
        }
        table = Table(t);
        return Status.Ok;
    }

    /// <summary>Frees, bottom up, the tables on <paramref name="va"/>'s path that hold only zero
    /// entries, stopping at the first that does not. The top-level table stays.</summary>
    public void ReleaseTables<TFrames>(ulong va, ref TFrames frames) where TFrames : struct, IFrameAllocator
    {
        ulong* path = stackalloc ulong[8];
        ulong t = _root;
        int level = Top;
        for (; level > 0; level--)
        {
            path[level] = t;
            ulong e = TFormat.Read(Table(t), Index(level, va));
            if (!TFormat.IsPresent(e)) return;
            t = TFormat.Address(level, e);
        }
        path[0] = t;
        for (level = 0; level < Top; level++)
        {
            if (!IsZeroTable(Table(path[level]))) return;
            TFormat.Write(Table(path[level + 1]), Index(level + 1, va), 0);
            TableFrames<TFormat>.Free(ref frames, path[level]);
            TablePages--;
        }
    }

    private static bool IsZeroTable(byte* t)
    {
        ulong* q = (ulong*)t;
        for (int i = 0; i < (int)(PageSize.Bytes / 8); i += 4)
            if ((q[i] | q[i + 1] | q[i + 2] | q[i + 3]) != 0) return false;
        return true;
    }

    /// <summary>
    /// The first level-0 table at or above <paramref name="va"/> and below <paramref name="end"/>,
    /// skipping missing tables at every level: returns the address where it starts to matter
    /// (<paramref name="va"/> itself, or the start of the span of the next table found) and the
    /// table in <paramref name="table"/>; <paramref name="end"/> and null when none is left.
    /// </summary>
    public readonly ulong NextLeafTable(ulong va, ulong end, out byte* table)
    {
        while (va < end)
        {
            ulong t = _root;
            int level = Top;
            for (; level > 0; level--)
            {
                ulong e = TFormat.Read(Table(t), Index(level, va));
                if (!TFormat.IsPresent(e)) break;
                t = TFormat.Address(level, e);
            }
            if (level == 0)
            {
                table = Table(t);
                return va;
            }
            // Skip the span the missing entry at `level` covers.
            ulong span = 1UL << TFormat.IndexShift(level);
            ulong next = (va & ~(span - 1)) + span;
            if (next <= va) break;
            va = next;
        }
        table = null;
        return end;
    }

    /// <summary>
    /// Frees every table of the user half (every level-0 entry must already be zero: the owner
    /// released what they held) and the top-level table, leaving the space dead. The kernel
    /// half's tables (and those under the low kernel entries, <see cref="UserLayout.KernelLowEndIndex"/>)
    /// are shared and untouched.
    /// </summary>
    public void FreeTables<TFrames>(ref TFrames frames) where TFrames : struct, IFrameAllocator
    {
        if (_root == 0) return;
        byte* top = Table(_root);
        for (int i = 0; i < Layout.KernelLowEndIndex; i++) TFormat.Write(top, i, 0);
        for (int i = Layout.KernelLowEndIndex; i < Layout.KernelFirstIndex; i++)
        {
            ulong e = TFormat.Read(top, i);
            if (!TFormat.IsPresent(e)) continue;
            FreeBelow(Top - 1, TFormat.Address(Top, e), ref frames);
            TFormat.Write(top, i, 0);
        }
        TableFrames<TFormat>.Free(ref frames, _root);
        TablePages--;
        if (TablePages != 0) Panic.Fail("user tables: table count does not add up after destroy", TablePages);
        _root = 0;
    }

    private void FreeBelow<TFrames>(int level, ulong tablePhys, ref TFrames frames) where TFrames : struct, IFrameAllocator
    {
        byte* t = Table(tablePhys);
        if (level == 0)
        {
            if (!IsZeroTable(t)) Panic.Fail("user tables: a populated entry left at destroy", tablePhys);
        }
        else
        {
            for (int i = 0; i < TFormat.EntriesPerTable(level); i++)
            {
                ulong e = TFormat.Read(t, i);
                if (!TFormat.IsPresent(e)) continue;
                if (TFormat.IsLeaf(level, e)) Panic.Fail("user tables: a large page in the user half", tablePhys);
                FreeBelow(level - 1, TFormat.Address(level, e), ref frames);
            }
        }
        TableFrames<TFormat>.Free(ref frames, tablePhys);
        TablePages--;
    }

    /// <summary>Visits every non-zero level-0 entry of the user half in address order (a check
    /// for tests and validators: entries outside regions, counts).</summary>
    public readonly void VisitEntries<TVisitor>(ref TVisitor visitor) where TVisitor : struct, IUserEntryVisitor
    {
        if (_root == 0) return;
        VisitIn(Top, _root, 0, ref visitor);
    }

    private readonly void VisitIn<TVisitor>(int level, ulong tablePhys, ulong first, ref TVisitor visitor) where TVisitor : struct, IUserEntryVisitor
    {
        byte* t = Table(tablePhys);
        int n = level == Top ? Layout.KernelFirstIndex : TFormat.EntriesPerTable(level);
        ulong span = 1UL << TFormat.IndexShift(level);
        for (int i = level == Top ? Layout.KernelLowEndIndex : 0; i < n; i++)
        {
            ulong e = TFormat.Read(t, i);
            if (e == 0) continue;
            ulong va = first + (ulong)i * span;
            if (level == 0) visitor.Entry(va, e);
            else if (TFormat.IsPresent(e)) VisitIn(level - 1, TFormat.Address(level, e), va, ref visitor);
            else Panic.Fail("user tables: a non-present non-zero pointer entry", va);
        }
    }
}
