namespace SharpMM.Addressing;

/// <summary>Page geometry shared by every layer: 4 KiB base pages.</summary>
public static class PageSize
{
    /// <summary>log2 of the base page size.</summary>
    public const int Shift = 12;
    /// <summary>The base page size in bytes (4096).</summary>
    public const ulong Bytes = 1UL << Shift;
    /// <summary>Mask of the offset bits within a page.</summary>
    public const ulong OffsetMask = Bytes - 1;

    /// <summary>Rounds down to a page boundary.</summary>
    public static ulong AlignDown(ulong value) => value & ~OffsetMask;

    /// <summary>Rounds up to a page boundary; false when that would wrap past 2^64.</summary>
    public static bool TryAlignUp(ulong value, out ulong aligned)
    {
        if (value > ulong.MaxValue - OffsetMask) { aligned = 0; return false; }
        aligned = (value + OffsetMask) & ~OffsetMask;
        return true;
    }

    /// <summary>True when <paramref name="value"/> is a multiple of the page size.</summary>
    public static bool IsAligned(ulong value) => (value & OffsetMask) == 0;
}
