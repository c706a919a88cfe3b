using System;
using System.Numerics;

namespace SharpMM.Hosted.Machine;

/// <summary>
/// The shape of the model's TLB: a set-associative array for 4 KiB pages, one for 2 MiB / 4 MiB
/// pages, and a small fully associative one for 1 GiB pages, as in the split TLBs of current
/// cores. Set counts are powers of two; a set is chosen by the low bits of the page number.
/// </summary>
/// <param name="SmallSets">Sets of the 4 KiB array.</param>
/// <param name="SmallWays">Ways of the 4 KiB array (1 = direct-mapped).</param>
/// <param name="LargeSets">Sets of the 2 MiB / 4 MiB array.</param>
/// <param name="LargeWays">Ways of the 2 MiB / 4 MiB array.</param>
/// <param name="HugeEntries">Entries of the 1 GiB array (fully associative).</param>
public readonly record struct TlbGeometry(int SmallSets, int SmallWays, int LargeSets, int LargeWays, int HugeEntries)
{
    /// <summary>1536 entries, 128 sets x 12 ways for 4 KiB pages (a second-level TLB of a recent
    /// core); 32 entries, 8 x 4 for large pages; 16 for 1 GiB pages.</summary>
    public static TlbGeometry Default => new(128, 12, 8, 4, 16);

    /// <summary>64 direct-mapped entries for 4 KiB pages, 8 direct-mapped large, 4 huge: small
    /// enough that tests and workloads see conflicts and evictions.</summary>
    public static TlbGeometry DirectMapped64 => new(64, 1, 8, 1, 4);

    /// <summary>Entries for 4 KiB pages.</summary>
    public int SmallEntries => SmallSets * SmallWays;

    /// <summary>Throws when a count is not usable (sets not a power of two, ways outside 1..255,
    /// more than 128 ways in a 4 KiB array of more than one set: the model finds a set by
    /// shifting the linear address, which keeps a set within 4 KiB of 32-byte slots).</summary>
    public void Validate()
    {
        Check(SmallSets, SmallWays, "4 KiB");
        if (SmallSets > 1 && SmallWays > 128)
            throw new ArgumentOutOfRangeException(nameof(SmallWays), $"4 KiB TLB: {SmallWays} ways need a single set (at most 128 ways with {SmallSets} sets)");
        Check(LargeSets, LargeWays, "large-page");
        if (HugeEntries < 1 || HugeEntries > 255) throw new ArgumentOutOfRangeException(nameof(HugeEntries), "1 GiB array needs 1..255 entries");
    }

    private static void Check(int sets, int ways, string what)
    {
        if (sets < 1 || !BitOperations.IsPow2(sets) || sets > (1 << 20))
            throw new ArgumentOutOfRangeException(nameof(sets), $"{what} TLB: set count {sets} is not a power of two in 1..2^20");
        if (ways < 1 || ways > 255)
            throw new ArgumentOutOfRangeException(nameof(ways), $"{what} TLB: way count {ways} is outside 1..255");
    }
}
