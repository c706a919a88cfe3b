using SharpMM.Diagnostics;
using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Paging;

// Why this file exists: single-page Map and Unmap are the kernel's hottest page-table calls
// (W4 maps and unmaps 4 KiB pages at about 3 to 4 ns each), so their common case is a walk
// written out per level with no call, which is not how the plain walk (MapByWalk, UnmapByWalk
// in Mapper.cs) reads. Anything else falls through to the plain walk. Equivalence with it:
// tests/SharpMM.Tests/Paging/MapperConformance.FastMapUnmap.cs.
public unsafe partial struct Mapper<TFormat, TAccess>
{
    // The byte offset of va's entry in a level-`level` table: one rotate and one mask (the bits
    // the rotate brings round land above the mask), so the fast paths address entries without a
    // separate index.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nuint EntryOffset(int level, ulong va)
    {
        int entryShift = TFormat.EntrySize == 8 ? 3 : 2;
        return (nuint)(System.Numerics.BitOperations.RotateRight(va, TFormat.IndexShift(level) - entryShift)
            & ((ulong)(TFormat.EntriesPerTable(level) - 1) << entryShift));
    }
    // IsCanonicalAligned(va, PageSize.OffsetMask) with the instance's copies of the constants.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly bool IsCanonicalPage(ulong va) => ((va + _pageCheckBias) & _pageCheckMask) == 0;
    // The table a pointer entry points at (TFormat.TableAddress), with the instance's mask
    // where the format's is a mask.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly ulong TableOf(ulong entry) => TFormat.TableAddressMask != 0 ? entry & _tableMask : TFormat.TableAddress(entry);

    /// <summary>
    /// Maps one page of <paramref name="size"/> at <paramref name="va"/> to <paramref name="pa"/>,
    /// allocating missing tables from <paramref name="frames"/>.
    /// Return: Ok; InvalidArgument (size the format cannot map, unknown flag bits, non-canonical
    /// or reserved va, pa beyond what the level can map); Misaligned (va or pa not aligned to
    /// size); AlreadyMapped (the entry is in use: a leaf, a table, or an entry the OS keeps); ParentIsHugePage (a
    /// larger page covers va); OutOfMemory / OutOfRange (no usable table frame; tables
    /// allocated by this call are freed again).
    /// The token is empty on success when the format caches no not-present entry
    /// (<see cref="IPagingFormat.NewMappingNeedsFlush"/>: x86), apart from a PAE root reload.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Status Map<TFrames>(VirtAddr va, PhysAddr pa, MappingSize size, PageFlags flags, ref TFrames frames, out FlushToken token)
        where TFrames : struct, IFrameAllocator =>
        Map(va, pa, size, flags, ref frames, ref frames, out token);

    /// <summary>
    /// Map for tables other CPUs walk: when it fails after linking tables, they go to
    /// <paramref name="release"/> (a <see cref="FreeAfterFlush"/>) instead of
    /// <paramref name="frames"/>, and the token asks for the page (another CPU may have cached
    /// the entries that pointed at them): the caller flushes it everywhere, then releases them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Status Map<TFrames, TRelease>(VirtAddr va, PhysAddr pa, MappingSize size, PageFlags flags, ref TFrames frames, ref TRelease release, out FlushToken token)
        where TFrames : struct, IFrameAllocator where TRelease : struct, IFrameAllocator
    {
        token = default;
        int level = LevelOf(size);
        if (level < 0 || !ValidFlags(flags)) return Status.InvalidArgument;
        ulong v = va.Value, p = pa.Value;
        ulong mask = Span(level) - 1;
        ulong limit = TFormat.LeafPhysLimit(level);
        // One test for the common case; any failure is sorted out by the full checks, in order.
        // A canonical va aligned to a page smaller than half the virtual space is followed by
        // the whole page without leaving the canonical range (IPagingFormat.IsCanonical: below
        // 2^VirtualBits, or sign-extended from bit VirtualBits - 1); an aligned pa below a
        // limit aligned to the page size has the whole page below it.
        // When the limit is a power of two aligned to the page (x86, RISC-V), pa's two tests are
        // one: no bit at or above the limit, none below the page size.
        if (!IsCanonicalAligned(v, mask)) goto Slow;
        if ((limit & (limit - 1)) == 0 && (limit & mask) == 0)
        {
            if ((p & (mask | ~(limit - 1))) != 0) goto Slow;
        }
        else if ((p & mask) != 0 || p >= limit || ((limit & mask) != 0 && mask >= limit - p)) goto Slow;
        if (mask >= 1UL << (TFormat.VirtualBits - 1) || _access.OverlapsReserved(v, v | mask))
            goto Slow;

        // The walk, written out per level (each step folds for its constant level; `level < L`
        // picks the steps the page size needs). Everything else (bad arguments, a missing
        // table, a larger page on the way) is one call to the plain walk, MapByWalk, so that
        // no value of this path has to live across a call.
        // The last step leaves in (ep, e) the entry pointing at the leaf's table.
        ulong tablePhys = _root;
        byte* ep = null;
        ulong e = 0;
        if (Top >= 4 && level < 4 && !Descend(4, v, ref tablePhys, out ep, out e)) goto Slow;
        if (Top >= 3 && level < 3 && !Descend(3, v, ref tablePhys, out ep, out e)) goto Slow;
        if (Top >= 2 && level < 2 && !Descend(2, v, ref tablePhys, out ep, out e)) goto Slow;
        if (level < 1 && !Descend(1, v, ref tablePhys, out ep, out e)) goto Slow;
        byte* lp = _access.Table(tablePhys, level, v) + EntryOffset(level, v);
        if (TFormat.Read(lp, 0) != 0) return Status.AlreadyMapped; // a mapping, a table, or an entry the OS keeps
        // p was checked above (aligned, below the level's limit).
        TFormat.Write(lp, 0, TFormat.MakeLeaf(level, p, flags));
        if (TFormat.CountsChildren && level < Top - 1) TFormat.AddChildCount(ep, 0, e, 1);
        if (TFormat.NewMappingNeedsFlush)
            token = new FlushToken(v, FlushToken.Kind.Page | ((flags & PageFlags.Global) != 0 ? FlushToken.Kind.Global : 0));
        return Status.Ok;
    Slow:
        // (The token is made here from MapByWalk's result, so that it never has an address.)
        SinglePageResult r = MapByWalk(v, p, level, flags, ref frames, ref release);
        if (TFormat.NewMappingNeedsFlush && r.Status == Status.Ok) token = new FlushToken(v, r.Kinds);
        else if ((r.Kinds & FlushToken.Kind.Page) != 0) token = new FlushToken(v, r.Kinds); // a failure that freed tables
        else if (r.Kinds != 0) token = new FlushToken(0, r.Kinds); // a root reload alone
        return r.Status;
    }

    /// <summary>
    /// Unmaps the page that starts at <paramref name="va"/> (of whatever size) and frees the
    /// tables that become empty. Return: Ok; NotMapped; ParentIsHugePage (va lies inside a
    /// larger page but not at its start: use <see cref="UnmapRange"/>, which splits);
    /// Misaligned; InvalidArgument (non-canonical or reserved).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Status Unmap<TFrames>(VirtAddr va, ref TFrames frames, out FlushToken token)
        where TFrames : struct, IFrameAllocator
    {
        // (token is set on each path, so that the common one writes it once.)
        ulong v = va.Value;
        if (!IsCanonicalPage(v) || _access.OverlapsReserved(v, v))
        {
            token = default;
            return RejectedPage(v);
        }
        // The walk, written out per level as in Map, for a 4 KiB page; a larger one is left to
        // the plain walk, UnmapByWalk. (pep, pe): the entry pointing at the page table.
        ulong tablePhys = _root;
        byte* ep;
        ulong e;
        if (Top >= 4 && !Descend(4, v, ref tablePhys, out ep, out e)) goto Stopped;
        if (Top >= 3 && !Descend(3, v, ref tablePhys, out ep, out e)) goto Stopped;
        if (Top >= 2 && !Descend(2, v, ref tablePhys, out ep, out e)) goto Stopped;
        if (!Descend(1, v, ref tablePhys, out ep, out e)) goto Stopped;
        byte* pep = ep;
        ulong pe = e;
        ep = _access.Table(tablePhys, 0, v) + EntryOffset(0, v);
        e = TFormat.Read(ep, 0);
        if (!TFormat.IsPresent(e)) { token = default; return Status.NotMapped; }
        if (!TFormat.IsLeaf(0, e)) Panic.Fail("mapper: a present level-0 entry that is not a leaf", v);
        TFormat.Write(ep, 0, 0);
        // The common case inline: the page table's count stays well above empty. Everything
        // else (a count near its limits, no count, a table that may now be empty) is one call,
        // so that no value of this path has to live across a call.
        if (TFormat.CountsChildren && Top > 1 && TFormat.CountDownFastBits != 0 && (pe & _countDownFastBits) != 0)
        {
            TFormat.Write(pep, 0, pe - _countDownUnit);
            token = PageToken(v, 0, e);
            return Status.Ok;
        }
        token = UnmapTail(v, PageToken(v, 0, e), ref frames);
        return Status.Ok;
    Stopped:
        if (!TFormat.IsPresent(e)) { token = default; return Status.NotMapped; }
        SinglePageResult r = UnmapByWalk(v, ref frames);
        token = new FlushToken(v, r.Kinds);
        return r.Status;
    }

    /// <summary>The rest of a 4 KiB Unmap after the leaf for <paramref name="v"/> was cleared:
    /// the count in the entry pointing at its page table, and the tables left empty. The path
    /// is walked again (the tables are still linked), so that Unmap passes only the address.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private FlushToken UnmapTail<TFrames>(ulong v, FlushToken token, ref TFrames frames)
        where TFrames : struct, IFrameAllocator
    {
        ulong tablePhys = _root;
        byte* pt = null;
        int pi = 0;
        ulong pe = 0;
        for (int l = Top; l >= 1; l--)
        {
            pt = _access.Table(tablePhys, l, v);
            pi = Index(l, v);
            pe = TFormat.Read(pt, pi);
            if (!TFormat.PointsToTable(l, pe)) Panic.Fail("mapper: the path to an unmapped page's table is gone", v);
            tablePhys = TFormat.TableAddress(pe);
        }
        byte* t = _access.Table(tablePhys, 0, v);
        int i = Index(0, v);
        int c = TFormat.CountsChildren && Top > 1 ? TFormat.AddChildCount(pt, pi, pe, -1) : 0;
        if (c == 2) return token;
        if (c == 1 || IsTableEmpty(t, 0, i)) token = UnmapFreeTables(v, 0, token, ref frames);
        return token;
    }

    // One level of a walk: when the entry for `va` in the level-`level` table at `tablePhys`
    // points at a table, `tablePhys` moves there (true); otherwise (not present, or a leaf) the
    // walk stops there (false). Either way `ep` is the entry's address and `e` its value.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Descend(int level, ulong va, ref ulong tablePhys, out byte* ep, out ulong e)
    {
        byte* t = _access.Table(tablePhys, level, va);
        nuint off = EntryOffset(level, va);
        e = TFormat.Read(t + off, 0);
        ep = t + off;
        if (!TFormat.PointsToTable(level, e)) return false;
        tablePhys = TableOf(e);
        return true;
    }
}
