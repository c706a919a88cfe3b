using System.Runtime.CompilerServices;
using SharpMM.Addressing;

namespace SharpMM.Boot;

/// <summary>
/// Turns a raw map (as parsed: unsorted, overlapping, with empty entries) into the map the rest
/// of the library trusts, following Linux's e820__update_table:
///
/// Algorithm. Every entry start and end, plus the fixed points 0x1000, 0xA0000 and 0x100000, is
/// collected into a sorted set of boundaries (insertion sort; at most 2 * 256 + 3). Between two
/// neighbouring boundaries every raw entry either covers the whole piece or none of it, so the
/// piece takes the highest type number among the entries covering it (Linux's rule: every
/// non-RAM type beats RAM, reserved beats ACPI data, and so on); no entry means a hole. Usable
/// pieces inside page 0 [0, 0x1000) or the ISA hole [0xA0000, 0x100000) become
/// <see cref="MemoryType.Reserved"/>, as Linux marks page 0 reserved and takes the legacy BIOS
/// area out of RAM. Adjacent pieces of one type are merged, and each usable run is then aligned
/// inward to 4 KiB: the partial pages at its ends are dropped (they become holes), as Linux trims
/// them from RAM.
///
/// <code>
///   raw:        |--usable-----------------|
///                     |--reserved--|
///   sanitized:  |usable|--reserved--|usable|      (usable ends trimmed to whole pages)
/// </code>
///
/// Result: sorted by start, non-overlapping, no empty entry, no two adjacent entries of one type,
/// usable entries page-aligned. Unlike Linux, persistent (type 12) and soft-reserved ranges are
/// merged like every other type. Entries of type 0 are treated as holes. An entry reaching the
/// top of the address space ends at ulong.MaxValue and is handled without overflow.
///
/// Cost: O(n^2) over at most 515 boundaries, no allocation; 4 KiB of stack. The output is built
/// in two passes (count, then write) so the destination changes only on success.
/// </summary>
public static class MapSanitizer
{
    /// <summary>End of page 0, never usable RAM.</summary>
    public const ulong FirstPageEnd = 0x1000;
    /// <summary>Start of the legacy VGA/ROM hole (640 KiB).</summary>
    public const ulong IsaHoleStart = 0xA0000;
    /// <summary>End of the legacy VGA/ROM hole (1 MiB).</summary>
    public const ulong IsaHoleEnd = 0x100000;

    private const int MaxBounds = 2 * MemoryMap.Capacity + 3;

    /// <summary>
    /// Replaces <paramref name="sanitized"/> with the sanitized form of <paramref name="raw"/>,
    /// which is not modified. Returns <see cref="Status.EndBeforeStart"/> naming the first raw
    /// entry whose end lies before its start, <see cref="Status.EmptyMap"/> when no usable RAM
    /// remains, <see cref="Status.NoSpace"/> when the result needs more than
    /// <see cref="MemoryMap.Capacity"/> entries, <see cref="Status.InvalidArgument"/> when both
    /// arguments are the same map. On failure <paramref name="sanitized"/> is unchanged.
    /// </summary>
    public static unsafe Status Sanitize(ref MemoryMap raw, ref MemoryMap sanitized, out MapError error)
    {
        if (Unsafe.AreSame(ref raw, ref sanitized))
        {
            error = MapError.Whole(Status.InvalidArgument, "raw and sanitized must be different maps");
            return error.Status;
        }
        for (int i = 0; i < raw.Count; i++)
        {
            if (raw[i].End < raw[i].Start)
            {
                error = MapError.At(Status.EndBeforeStart, MapErrorKind.Entry, i, "end before start");
                return error.Status;
            }
        }

        ulong* bounds = stackalloc ulong[MaxBounds];
        int n = 0;
        for (int i = 0; i < raw.Count; i++)
        {
            MemoryMapEntry e = raw[i];
            if (e.End == e.Start || e.Type == 0) continue;
            Insert(bounds, ref n, e.Start);
            Insert(bounds, ref n, e.End);
        }
        Insert(bounds, ref n, FirstPageEnd);
        Insert(bounds, ref n, IsaHoleStart);
        Insert(bounds, ref n, IsaHoleEnd);

        Build(ref raw, bounds, n, ref sanitized, false, out int count, out bool anyUsable);
        if (!anyUsable)
        {
            error = MapError.Whole(Status.EmptyMap, "no usable RAM");
            return error.Status;
        }
        if (count > MemoryMap.Capacity)
        {
            error = MapError.Whole(Status.NoSpace, "sanitized map needs more than 256 entries");
            return error.Status;
        }
        sanitized.Clear();
        Build(ref raw, bounds, n, ref sanitized, true, out int written, out _);
        if (written != count) Panic.Fail("MapSanitizer: write pass disagrees with count pass", (ulong)written);
        error = MapError.Ok;
        return Status.Ok;
    }

    /// <summary>Inserts <paramref name="value"/> into the sorted, duplicate-free bounds[0..n).</summary>
    private static unsafe void Insert(ulong* bounds, ref int n, ulong value)
    {
        int i = n;
        while (i > 0 && bounds[i - 1] > value) i--;
        if (i > 0 && bounds[i - 1] == value) return;
        if (n >= MaxBounds) Panic.Fail("MapSanitizer: boundary array full", (ulong)n);
        for (int k = n; k > i; k--) bounds[k] = bounds[k - 1];
        bounds[i] = value;
        n++;
    }

    /// <summary>Walks the elementary pieces, merging runs and trimming usable ones; counts the
    /// resulting entries and, when <paramref name="write"/>, appends them to <paramref name="output"/>.</summary>
    private static unsafe void Build(ref MemoryMap raw, ulong* bounds, int n, ref MemoryMap output, bool write, out int count, out bool anyUsable)
    {
        count = 0;
        anyUsable = false;
        ulong runStart = 0, runEnd = 0;
        uint runType = 0;
        for (int k = 0; k + 1 < n; k++)
        {
            ulong lo = bounds[k], hi = bounds[k + 1];
            uint type = HighestTypeCovering(ref raw, lo, hi);
            if (type == (uint)MemoryType.Usable && (hi <= FirstPageEnd || (lo >= IsaHoleStart && hi <= IsaHoleEnd)))
                type = (uint)MemoryType.Reserved;
            if (type != 0 && type == runType && runEnd == lo)
            {
                runEnd = hi;
                continue;
            }
            Flush(ref output, write, runStart, runEnd, runType, ref count, ref anyUsable);
            runStart = lo;
            runEnd = hi;
            runType = type;
        }
        Flush(ref output, write, runStart, runEnd, runType, ref count, ref anyUsable);
    }

    private static void Flush(ref MemoryMap output, bool write, ulong start, ulong end, uint type, ref int count, ref bool anyUsable)
    {
        if (type == 0) return;
        if (type == (uint)MemoryType.Usable)
        {
            if (!PageSize.TryAlignUp(start, out start)) return;
            end = PageSize.AlignDown(end);
            if (end <= start) return;
            anyUsable = true;
        }
        if (write && output.Add(start, end, (MemoryType)type) != Status.Ok)
            Panic.Fail("MapSanitizer: output full after counting", (ulong)count);
        count++;
    }

    /// <summary>Highest type among non-empty raw entries containing [lo, hi); 0 when none does.</summary>
    private static uint HighestTypeCovering(ref MemoryMap raw, ulong lo, ulong hi)
    {
        uint best = 0;
        for (int i = 0; i < raw.Count; i++)
        {
            MemoryMapEntry e = raw[i];
            if (e.Start <= lo && hi <= e.End && e.Start != e.End && (uint)e.Type > best) best = (uint)e.Type;
        }
        return best;
    }
}
