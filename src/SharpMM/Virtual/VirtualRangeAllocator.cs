using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Diagnostics;

namespace SharpMM.Virtual;

/// <summary>One range of virtual addresses [Start, End).</summary>
public struct VirtualRange
{
    /// <summary>First address.</summary>
    public ulong Start;
    /// <summary>One past the last address.</summary>
    public ulong End;

    /// <summary>A range.</summary>
    public VirtualRange(ulong start, ulong end) { Start = start; End = end; }
}

/// <summary>Inline storage for a range set.</summary>
[InlineArray(VirtualRangeAllocator.Capacity)]
public struct VirtualRangeSet
{
    private VirtualRange _first;
}

/// <summary>
/// Hands out ranges of virtual addresses inside a window (the kernel heap, vmalloc, the device
/// pool), as Linux's vmap_area allocator and Phantom OS's address-space pool do: first fit at
/// the requested alignment, and every range is followed by at least one guard page that is
/// never handed out, so a run past the end of one mapping faults instead of reaching the next.
///
/// Metadata: two sorted arrays of fixed capacity, the free ranges and the allocated ranges
/// (each allocated range records its size without the guard). A free is checked against the
/// allocated array: an address that is not the start of a live range (never allocated, freed
/// already, or inside a range) gets a status and changes nothing. Freed space (with its guard)
/// merges with free neighbours. O(n) per operation in the number of ranges, which stays small
/// for kernel mappings; capacity is <see cref="Capacity"/> allocations.
///
/// Not done: mapping (the caller maps what it allocates and unmaps before freeing), lazy TLB
/// purging, per-CPU caches of ranges, a balanced tree for thousands of ranges.
/// </summary>
public struct VirtualRangeAllocator
{
    /// <summary>Most free ranges and most live allocations.</summary>
    public const int Capacity = 128;
    /// <summary>Guard bytes after every allocation (one page).</summary>
    public const ulong GuardBytes = PageSize.Bytes;

    private VirtualRangeSet _free;
    private VirtualRangeSet _used;
    private int _freeCount, _usedCount;
    private ulong _windowStart, _windowEnd;

    /// <summary>Manages [start, end): both page-aligned, end above start.
    /// Return: Ok; Misaligned; InvalidArgument.</summary>
    public Status Init(ulong start, ulong end)
    {
        if (!PageSize.IsAligned(start) || !PageSize.IsAligned(end)) return Status.Misaligned;
        if (end <= start) return Status.InvalidArgument;
        _windowStart = start; _windowEnd = end;
        _free[0] = new VirtualRange(start, end);
        _freeCount = 1; _usedCount = 0;
        return Status.Ok;
    }

    /// <summary>First address of the window.</summary>
    public readonly ulong WindowStart => _windowStart;
    /// <summary>One past the window.</summary>
    public readonly ulong WindowEnd => _windowEnd;
    /// <summary>Live allocations.</summary>
    public readonly int LiveCount => _usedCount;

    /// <summary>Bytes not allocated (guards of live ranges count as allocated).</summary>
    public readonly ulong FreeBytes
    {
        get
        {
            ulong sum = 0;
            for (int i = 0; i < _freeCount; i++) sum += _free[i].End - _free[i].Start;
            return sum;
        }
    }

    /// <summary>
    /// Allocates <paramref name="bytes"/> (rounded up to pages) at an address aligned to
    /// <paramref name="alignment"/> (a power of two, at least a page), followed by a guard page.
    /// Return: Ok and the start; InvalidArgument (zero size, bad alignment); Overflow; OutOfMemory
    /// (no free range fits: nothing changed); NoSpace (the range tables are full).
    /// </summary>
    public Status Allocate(ulong bytes, ulong alignment, out ulong start)
    {
        start = 0;
        if (bytes == 0 || alignment == 0 || (alignment & (alignment - 1)) != 0) return Status.InvalidArgument;
        if (alignment < PageSize.Bytes) alignment = PageSize.Bytes;
        if (!PageSize.TryAlignUp(bytes, out ulong size) || size > ulong.MaxValue - GuardBytes) return Status.Overflow;
        ulong need = size + GuardBytes;
        for (int i = 0; i < _freeCount; i++)
        {
            VirtualRange f = _free[i];
            ulong a = (f.Start + alignment - 1) & ~(alignment - 1);
            if (a < f.Start || a >= f.End || f.End - a < need) continue;
            // Split f into [f.Start, a) | [a, a+need) used | [a+need, f.End); count first.
            int extra = (a > f.Start ? 1 : 0) + (a + need < f.End ? 1 : 0) - 1;
            if (_freeCount + extra > Capacity || _usedCount >= Capacity) return Status.NoSpace;
            RemoveAt(ref _free, ref _freeCount, i);
            if (a > f.Start) InsertSorted(ref _free, ref _freeCount, new VirtualRange(f.Start, a));
            if (a + need < f.End) InsertSorted(ref _free, ref _freeCount, new VirtualRange(a + need, f.End));
            InsertSorted(ref _used, ref _usedCount, new VirtualRange(a, a + size));
            start = a;
            return Status.Ok;
        }
        return Status.OutOfMemory;
    }

    /// <summary>Size of the live allocation starting at <paramref name="start"/>, or false.</summary>
    public readonly bool TryGetSize(ulong start, out ulong bytes)
    {
        int i = Find(in _used, _usedCount, start);
        bytes = i < 0 ? 0 : _used[i].End - _used[i].Start;
        return i >= 0;
    }

    /// <summary>The live allocation containing <paramref name="address"/> (for fault reports), or false.</summary>
    public readonly bool TryFindContaining(ulong address, out VirtualRange range)
    {
        for (int i = 0; i < _usedCount; i++)
            if (address >= _used[i].Start && address < _used[i].End) { range = _used[i]; return true; }
        range = default;
        return false;
    }

    /// <summary>
    /// Frees the allocation starting at <paramref name="start"/> and its guard page.
    /// Return: Ok; OutOfRange (outside the window); NotAllocated (not the start of a live
    /// range: never allocated, inside a range, or already freed); NoSpace (the free table is
    /// full and the range merges with no neighbour: nothing changed).
    /// </summary>
    public Status Free(ulong start)
    {
        if (start < _windowStart || start >= _windowEnd) return Status.OutOfRange;
        int i = Find(in _used, _usedCount, start);
        if (i < 0) return Status.NotAllocated;
        VirtualRange r = _used[i];
        ulong end = r.End + GuardBytes;
        // Merge with the free neighbours [.., start) and [end, ..).
        int before = -1, after = -1;
        for (int k = 0; k < _freeCount; k++)
        {
            if (_free[k].End == start) before = k;
            if (_free[k].Start == end) after = k;
        }
        if (before < 0 && after < 0 && _freeCount >= Capacity) return Status.NoSpace;
        RemoveAt(ref _used, ref _usedCount, i);
        ulong s = start, e = end;
        if (after >= 0) { e = _free[after].End; RemoveAt(ref _free, ref _freeCount, after); if (before > after) before--; }
        if (before >= 0) { s = _free[before].Start; RemoveAt(ref _free, ref _freeCount, before); }
        InsertSorted(ref _free, ref _freeCount, new VirtualRange(s, e));
        return Status.Ok;
    }

    /// <summary>O(n) check: free and used ranges sorted, disjoint, inside the window, every used
    /// range followed by a guard page that is not free; panics naming what is broken.</summary>
    public readonly void Validate()
    {
        ulong covered = 0;
        for (int i = 0; i < _freeCount; i++)
        {
            VirtualRange f = _free[i];
            if (f.Start >= f.End || f.Start < _windowStart || f.End > _windowEnd) Panic.Fail("vrange: free range outside the window", f.Start);
            if (i > 0 && _free[i - 1].End >= f.Start) Panic.Fail("vrange: free ranges overlap, touch or are unsorted", f.Start);
            covered += f.End - f.Start;
        }
        for (int i = 0; i < _usedCount; i++)
        {
            VirtualRange u = _used[i];
            if (i > 0 && _used[i - 1].End + GuardBytes > u.Start) Panic.Fail("vrange: allocations overlap their guards", u.Start);
            for (int k = 0; k < _freeCount; k++)
                if (_free[k].Start < u.End + GuardBytes && u.Start < _free[k].End) Panic.Fail("vrange: allocated range or its guard is free", u.Start);
            covered += u.End - u.Start + GuardBytes;
        }
        if (covered != _windowEnd - _windowStart) Panic.Fail("vrange: free and allocated ranges do not cover the window", covered);
    }

    /// <summary>Prints the live allocations (like /proc/vmallocinfo).</summary>
    public readonly void Dump<TSink>(ref TextWriter<TSink> w) where TSink : struct, ITextSink
    {
        for (int i = 0; i < _usedCount; i++)
        {
            w.Hex(_used[i].Start, 16); w.Char('-'); w.Hex(_used[i].End, 16); w.Char(' '); w.Size(_used[i].End - _used[i].Start); w.Line();
        }
    }

    private static int Find(in VirtualRangeSet set, int count, ulong start)
    {
        int lo = 0, hi = count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            ulong s = set[mid].Start;
            if (s == start) return mid;
            if (s < start) lo = mid + 1; else hi = mid - 1;
        }
        return -1;
    }

    private static void RemoveAt(ref VirtualRangeSet set, ref int count, int i)
    {
        for (int k = i; k < count - 1; k++) set[k] = set[k + 1];
        count--;
    }

    private static void InsertSorted(ref VirtualRangeSet set, ref int count, VirtualRange r)
    {
        if (count >= Capacity) Panic.Fail("vrange: insert into a full table (capacity was not checked)");
        int i = count;
        while (i > 0 && set[i - 1].Start > r.Start) { set[i] = set[i - 1]; i--; }
        set[i] = r;
        count++;
    }
}
