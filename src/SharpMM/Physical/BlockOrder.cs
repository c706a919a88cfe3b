using System.Numerics;
using SharpMM.Addressing;

namespace SharpMM.Physical;

/// <summary>Block orders: a block of order k is 2^k contiguous frames (see <see cref="IFrameAllocator"/>).</summary>
public static class BlockOrder
{
    /// <summary>The smallest order whose block holds <paramref name="pageCount"/> pages (0 for 0
    /// or 1 page). Callers compare it with their allocator's MaxOrder.</summary>
    public static uint ForPages(ulong pageCount) =>
        pageCount <= 1 ? 0 : (uint)(64 - BitOperations.LeadingZeroCount(pageCount - 1));

    /// <summary>The smallest order whose block holds <paramref name="byteCount"/> bytes (0 for
    /// 0 bytes); 52 for counts that round past 2^64.</summary>
    public static uint ForBytes(ulong byteCount) =>
        ForPages((byteCount >> PageSize.Shift) + ((byteCount & PageSize.OffsetMask) != 0 ? 1UL : 0));
}
