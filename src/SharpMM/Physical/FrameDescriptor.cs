using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpMM.Physical;

/// <summary>
/// Per-frame state, checked on every transition. Zero is <see cref="Reserved"/>, so zeroed
/// metadata means "not for the allocator" until a range is handed over.
/// </summary>
public enum FrameState : byte
{
    /// <summary>Not managed: a hole in RAM, or reserved at boot (kernel, metadata, firmware).</summary>
    Reserved = 0,
    /// <summary>Inside a block (free or allocated) whose first frame is elsewhere.</summary>
    Tail = 1,
    /// <summary>First frame of a free block on a free list.</summary>
    Free = 2,
    /// <summary>First frame of an allocated block.</summary>
    Allocated = 3,
    /// <summary>An order-0 frame parked in a per-CPU cache (free, but not in the buddy lists).</summary>
    PerCpu = 4,
}

/// <summary>
/// The per-frame state byte: the <see cref="FrameState"/> in the high nibble and the order of the
/// block that starts here (0..10) in the low nibble. Kept in its own dense array (1 byte per
/// frame, 256 KiB per GiB) rather than beside the list links, because every free reads it to
/// validate the caller's frame, and a small array stays in cache where a 12-byte descriptor array
/// does not: the validating load measured as the dominant cost of a random free.
/// </summary>
public static class FrameInfo
{
    /// <summary>Packs a state and an order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Make(FrameState state, uint order) => (byte)(((uint)state << 4) | order);

    /// <summary>The state part.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FrameState State(byte info) => (FrameState)(info >> 4);

    /// <summary>The order part.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Order(byte info) => info & 15u;
}

/// <summary>
/// Free-list links of one frame (8 bytes; Linux's struct page reduced to the lru list), in the
/// frame's word of <see cref="FrameMap"/>: the word holds them while the frame heads a free
/// block, and the owner word (<see cref="FrameOwner"/>) otherwise; the buddy allocator zeroes
/// the word when a frame leaves its lists. Links live here, not in the free pages: links stored
/// in the pages measured 7-15x slower on random frees because every free touched a cold page.
/// Links are frame numbers; 0 means "none" (frame 0 is never managed: page 0 stays unmapped).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct FrameLinks
{
    /// <summary>Next block on the same free list (frame number), 0 at the end.</summary>
    public uint Next;
    /// <summary>Previous block on the same free list, 0 at the head.</summary>
    public uint Prev;
}
