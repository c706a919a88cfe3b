using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace SharpMM.User;

/// <summary>Inline storage for <see cref="VmaSet"/>.</summary>
[InlineArray(VmaSet.Capacity)]
public struct VmaArray
{
    private Vma _first;
}

/// <summary>
/// The regions of one address space: a sorted array of non-overlapping <see cref="Vma"/>s of
/// fixed capacity (no allocation), searched by binary search. Inserting merges with neighbours
/// that <see cref="Vma.CanMergeWith"/> (the merged region takes the owner of whichever part had
/// private pages); removing or re-protecting part of a region splits it
/// (at most one extra entry per call, counted before anything moves, so a full array gives
/// NoSpace and changes nothing).
///
/// <code>
///   [ text r-x ][ data rw- ][ heap rw- ]   ...   [ mmap rw- ]  ...  [ stack rw- (v) ]
///      Remove(a, b) inside one region:   [ x ][hole][ x' ]  (one region becomes two)
///      Protect(a, b) across two:        [ x ][ p ][ p ][ y ] then merge: [ x ][  p  ][ y ]
/// </code>
/// Not done: a tree for thousands of regions (Linux's maple tree); O(n) moves per change.
/// </summary>
public struct VmaSet
{
    /// <summary>Most regions one address space holds: enough for a malloc that maps its large
    /// blocks one by one (musl's) and for programs that fragment a range page by page; Linux's
    /// own limit (vm.max_map_count, 65530) is far above, so a program that needs more gets
    /// ENOMEM here first. 56 bytes each: the set is 56 KiB.</summary>
    public const int Capacity = 1024;

    private VmaArray _items;
    private int _count;

    /// <summary>Number of regions.</summary>
    public readonly int Count => _count;

    /// <summary>Region <paramref name="i"/> in address order.</summary>
    public readonly Vma this[int i]
    {
        get
        {
            if ((uint)i >= (uint)_count) Panic.Fail("vma set: index out of range", (ulong)i);
            return _items[i];
        }
    }

    /// <summary>A reference to region <paramref name="i"/>, for changes that keep the order and
    /// leave no overlap (growing a stack down into free space).</summary>
    [UnscopedRef]
    public ref Vma At(int i)
    {
        if ((uint)i >= (uint)_count) Panic.Fail("vma set: index out of range", (ulong)i);
        return ref _items[i];
    }

    /// <summary>Empties the set.</summary>
    public void Clear() => _count = 0;

    /// <summary>Index of the region containing <paramref name="va"/>, or -1.</summary>
    public readonly int Find(ulong va)
    {
        int i = FirstEndingAfter(va);
        return i < _count && _items[i].Start <= va ? i : -1;
    }

    /// <summary>Index of the first region whose end is above <paramref name="va"/> (the region
    /// containing it, or the next one above); <see cref="Count"/> when there is none.</summary>
    public readonly int FirstEndingAfter(ulong va)
    {
        int lo = 0, hi = _count;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (_items[mid].End <= va) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>True when some region overlaps [start, end).</summary>
    public readonly bool Overlaps(ulong start, ulong end)
    {
        int i = FirstEndingAfter(start);
        return i < _count && _items[i].Start < end;
    }

    /// <summary>
    /// Adds <paramref name="vma"/>, which must not overlap any region, merging it with the
    /// regions on either side when they allow. Return: Ok; Overlap (nothing changed);
    /// NoSpace (full, and no merge made room).
    /// </summary>
    public Status Insert(in Vma vma)
    {
        if (vma.End <= vma.Start) Panic.Fail("vma set: empty region", vma.Start);
        int i = FirstEndingAfter(vma.Start);
        if (i < _count && _items[i].Start < vma.End) return Status.Overlap;
        bool left = i > 0 && _items[i - 1].CanMergeWith(vma);
        bool right = i < _count && vma.CanMergeWith(_items[i]);
        // Both sides take the new region, but their own pages may have different owners (as
        // Linux: then it joins the left one only).
        if (left && right && _items[i - 1].Identity != 0 && _items[i].Identity != 0 && _items[i - 1].Identity != _items[i].Identity)
            right = false;
        if (left && right)
        {
            _items[i - 1].End = _items[i].End;
            _items[i - 1].TakeIdentity(vma);
            _items[i - 1].TakeIdentity(_items[i]);
            RemoveAt(i);
            return Status.Ok;
        }
        if (left)
        {
            _items[i - 1].End = vma.End;
            _items[i - 1].TakeIdentity(vma);
            return Status.Ok;
        }
        if (right)
        {
            ref Vma r = ref _items[i];
            r.TakeIdentity(vma);
            r.Offset = vma.Offset;
            r.Start = vma.Start;
            if (r.Limit > r.Start) r.Limit = r.Start;
            return Status.Ok;
        }
        if (_count == Capacity) return Status.NoSpace;
        for (int k = _count; k > i; k--) _items[k] = _items[k - 1];
        _items[i] = vma;
        _count++;
        return Status.Ok;
    }

    /// <summary>
    /// Removes [start, end) from every region it touches, splitting a region that extends past
    /// both ends. Return: Ok (also when nothing was there); NoSpace when a split needs an entry
    /// and the set is full (nothing changed).
    /// </summary>
    public Status Remove(ulong start, ulong end)
    {
        int i = FirstEndingAfter(start);
        if (i >= _count || _items[i].Start >= end) return Status.Ok;
        if (_items[i].Start < start && _items[i].End > end)
        {
            if (_count == Capacity) return Status.NoSpace;
            Vma upper = _items[i];
            upper.Offset = upper.OffsetAt(end);
            upper.Start = end;
            upper.Limit = end;
            _items[i].End = start;
            for (int k = _count; k > i + 1; k--) _items[k] = _items[k - 1];
            _items[i + 1] = upper;
            _count++;
            return Status.Ok;
        }
        if (_items[i].Start < start) { _items[i].End = start; i++; }
        int first = i;
        while (i < _count && _items[i].End <= end) i++;
        int removed = i - first;
        if (i < _count && _items[i].Start < end)
        {
            ref Vma r = ref _items[i];
            r.Offset = r.OffsetAt(end);
            r.Start = end;
            if (r.Kind != VmaKind.Stack) r.Limit = end;
        }
        if (removed > 0)
        {
            for (int k = first; k + removed < _count; k++) _items[k] = _items[k + removed];
            _count -= removed;
        }
        return Status.Ok;
    }

    /// <summary>True when removing [start, end) would split one region in two (and so needs a
    /// free entry).</summary>
    public readonly bool RemoveSplits(ulong start, ulong end)
    {
        int i = FirstEndingAfter(start);
        return i < _count && _items[i].Start < start && _items[i].End > end;
    }

    /// <summary>
    /// Gives every region in [start, end) <paramref name="protection"/>, splitting at both
    /// ends and merging with neighbours afterwards. [start, end) must be covered by regions
    /// without holes. Return: Ok; NotMapped (a hole: nothing changed); NoSpace (the splits
    /// need more entries than are free: nothing changed).
    /// </summary>
    public Status Protect(ulong start, ulong end, VmaProtection protection)
    {
        int i = FirstEndingAfter(start);
        if (i >= _count || _items[i].Start > start) return Status.NotMapped;
        int j = i;
        while (_items[j].End < end)
        {
            if (j + 1 >= _count || _items[j + 1].Start != _items[j].End) return Status.NotMapped;
            j++;
        }
        int extra = (_items[i].Start < start && _items[i].Protection != protection ? 1 : 0)
                  + (_items[j].End > end && _items[j].Protection != protection ? 1 : 0);
        if (_count + extra > Capacity) return Status.NoSpace;
        if (_items[j].End > end && _items[j].Protection != protection) SplitAt(j, end);
        if (_items[i].Start < start && _items[i].Protection != protection) { SplitAt(i, start); i++; j++; }
        for (int k = i; k <= j; k++) _items[k].Protection = protection;
        MergeAround(i, j);
        return Status.Ok;
    }

    // Splits region i at `va` (strictly inside) into two entries; the caller checked capacity.
    private void SplitAt(int i, ulong va)
    {
        for (int k = _count; k > i + 1; k--) _items[k] = _items[k - 1];
        Vma upper = _items[i];
        upper.Offset = upper.OffsetAt(va);
        upper.Start = va;
        upper.Limit = va;
        _items[i + 1] = upper;
        _items[i].End = va;
        _count++;
    }

    // Merges the entries from i - 1 to j + 1 wherever neighbours allow.
    private void MergeAround(int i, int j)
    {
        int k = i > 0 ? i - 1 : 0;
        int last = j + 1 < _count ? j + 1 : _count - 1;
        while (k < last)
        {
            if (_items[k].CanMergeWith(_items[k + 1]))
            {
                _items[k].TakeIdentity(_items[k + 1]);
                _items[k].End = _items[k + 1].End;
                RemoveAt(k + 1);
                last--;
            }
            else k++;
        }
    }

    private void RemoveAt(int i)
    {
        for (int k = i; k + 1 < _count; k++) _items[k] = _items[k + 1];
        _count--;
    }

    /// <summary>Panics naming the broken invariant when the set is not sorted, overlapping,
    /// unaligned, empty somewhere, or holds two neighbours that should have merged.</summary>
    public readonly void Validate()
    {
        for (int i = 0; i < _count; i++)
        {
            Vma v = _items[i];
            if (v.End <= v.Start || ((v.Start | v.End) & Addressing.PageSize.OffsetMask) != 0) Panic.Fail("vma set: empty or unaligned region", v.Start);
            if (v.Limit > v.Start) Panic.Fail("vma set: limit above start", v.Start);
            if (i > 0 && _items[i - 1].End > v.Start) Panic.Fail("vma set: regions overlap or are out of order", v.Start);
            if (i > 0 && _items[i - 1].CanMergeWith(v)) Panic.Fail("vma set: mergeable neighbours left apart", v.Start);
        }
    }
}
