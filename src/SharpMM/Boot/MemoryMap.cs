using System.Runtime.CompilerServices;

namespace SharpMM.Boot;

/// <summary>Inline storage for <see cref="MemoryMap.Capacity"/> entries.</summary>
[InlineArray(MemoryMap.Capacity)]
public struct MemoryMapEntries
{
    private MemoryMapEntry _first;
}

/// <summary>
/// A fixed-capacity list of memory-map entries, usable before any allocator exists (it lives on
/// the stack or in a static). Raw (as parsed) maps may be unsorted and overlapping; a map that
/// came out of <see cref="MapSanitizer"/> is sorted, non-overlapping, free of empty entries, with
/// adjacent entries of one type merged and usable RAM aligned inward to 4 KiB.
/// </summary>
public struct MemoryMap
{
    /// <summary>Entries it can hold (Linux's E820_MAX_ENTRIES is 128 plus 3 per NUMA node).</summary>
    public const int Capacity = 256;

    private MemoryMapEntries _entries;
    private int _count;

    /// <summary>Number of entries.</summary>
    public readonly int Count => _count;

    /// <summary>Entry <paramref name="i"/>; panics when out of range.</summary>
    public MemoryMapEntry this[int i]
    {
        readonly get
        {
            if ((uint)i >= (uint)_count) Panic.Fail("MemoryMap: index out of range", (ulong)i);
            return _entries[i];
        }
        set
        {
            if ((uint)i >= (uint)_count) Panic.Fail("MemoryMap: index out of range", (ulong)i);
            _entries[i] = value;
        }
    }

    /// <summary>Appends an entry; <see cref="Status.NoSpace"/> when full (nothing is changed).</summary>
    public Status Add(ulong start, ulong end, MemoryType type)
    {
        if (_count >= Capacity) return Status.NoSpace;
        _entries[_count++] = new MemoryMapEntry(start, end, type);
        return Status.Ok;
    }

    /// <summary>Removes every entry.</summary>
    public void Clear() => _count = 0;

    /// <summary>Removes entry <paramref name="i"/>, keeping order.</summary>
    public void RemoveAt(int i)
    {
        if ((uint)i >= (uint)_count) Panic.Fail("MemoryMap.RemoveAt: index out of range", (ulong)i);
        for (int k = i; k < _count - 1; k++) _entries[k] = _entries[k + 1];
        _count--;
    }

    /// <summary>Total bytes of entries of <paramref name="type"/>.</summary>
    public readonly ulong TotalBytes(MemoryType type)
    {
        ulong sum = 0;
        for (int i = 0; i < _count; i++)
            if (_entries[i].Type == type) sum += _entries[i].End - _entries[i].Start;
        return sum;
    }

    /// <summary>Number of whole 4 KiB frames of usable RAM (a sanitized map's "present" frames).</summary>
    public readonly ulong UsableFrames()
    {
        ulong sum = 0;
        for (int i = 0; i < _count; i++)
            if (_entries[i].Type == MemoryType.Usable) sum += _entries[i].Range.EndPfn - _entries[i].Range.FirstPfn;
        return sum;
    }
}
