namespace SharpMM.Addressing;

/// <summary>
/// A half-open physical range [Start, End). Construction fails when start + size wraps around
/// 2^64 or when end lies before start; an empty range (Start == End) is valid.
/// </summary>
public readonly struct PhysRange
{
    /// <summary>First byte.</summary>
    public readonly ulong Start;
    /// <summary>One past the last byte.</summary>
    public readonly ulong End;

    private PhysRange(ulong start, ulong end) { Start = start; End = end; }

    /// <summary>[start, start + size): <see cref="Status.Overflow"/> when that wraps.</summary>
    public static Status TryFromSize(ulong start, ulong size, out PhysRange range)
    {
        if (size > ulong.MaxValue - start) { range = default; return Status.Overflow; }
        range = new PhysRange(start, start + size);
        return Status.Ok;
    }

    /// <summary>[start, end): <see cref="Status.EndBeforeStart"/> when end &lt; start.</summary>
    public static Status TryFromBounds(ulong start, ulong end, out PhysRange range)
    {
        if (end < start) { range = default; return Status.EndBeforeStart; }
        range = new PhysRange(start, end);
        return Status.Ok;
    }

    /// <summary>[start, end) for trusted values; panics when end &lt; start.</summary>
    public static PhysRange FromBounds(ulong start, ulong end)
    {
        if (end < start) Panic.Fail("PhysRange.FromBounds: end before start", start);
        return new PhysRange(start, end);
    }

    /// <summary>The frames [<paramref name="first"/>, <paramref name="end"/>) as a byte range,
    /// for trusted values; panics when end &lt; first.</summary>
    public static PhysRange FromFrames(Pfn first, Pfn end) => FromBounds(first.ToAddr().Value, end.ToAddr().Value);

    /// <summary>Size in bytes.</summary>
    public ulong Size => End - Start;

    /// <summary>True when the range holds no byte.</summary>
    public bool IsEmpty => End == Start;

    /// <summary>True when <paramref name="addr"/> lies inside.</summary>
    public bool Contains(ulong addr) => addr >= Start && addr < End;

    /// <summary>True when the two ranges share at least one byte.</summary>
    public bool Overlaps(PhysRange other) => Start < other.End && other.Start < End;

    /// <summary>The common part (possibly empty, then at Start == End == max of starts).</summary>
    public PhysRange Intersect(PhysRange other)
    {
        ulong s = Start > other.Start ? Start : other.Start;
        ulong e = End < other.End ? End : other.End;
        if (e < s) e = s;
        return new PhysRange(s, e);
    }

    /// <summary>The largest page-aligned range inside this one (start rounded up, end down).</summary>
    public PhysRange AlignInward()
    {
        ulong s = Start > ulong.MaxValue - PageSize.OffsetMask ? ulong.MaxValue & ~PageSize.OffsetMask : (Start + PageSize.OffsetMask) & ~PageSize.OffsetMask;
        ulong e = End & ~PageSize.OffsetMask;
        if (e < s) e = s;
        return new PhysRange(s, e);
    }

    /// <summary>Frame numbers covered by the page-aligned interior: [first, end).</summary>
    public ulong FirstPfn => AlignInward().Start >> PageSize.Shift;

    /// <summary>One past the last whole frame inside the range.</summary>
    public ulong EndPfn => AlignInward().End >> PageSize.Shift;
}
