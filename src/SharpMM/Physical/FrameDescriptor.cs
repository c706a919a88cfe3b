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
/// The per-frame state byte: the <see cref="FrameState"/> in bits 6..4, the order of the block
/// that starts here (0..10) in bits 3..0, and in bit 7 <see cref="Owned"/>: the frame's word is
/// its owner's (<see cref="FrameOwner"/>). Kept in its own dense array (1 byte per
/// frame, 256 KiB per GiB) rather than beside the list links, because every free reads it to
/// validate the caller's frame, and a small array stays in cache where a 12-byte descriptor array
/// does not: the validating load measured as the dominant cost of a random free.
/// </summary>
public static class FrameInfo
{
    /// <summary>
    /// Bit 7: the frame's word holds an owner word, written by the frame's owner since it got
    /// the frame (<see cref="FrameMap.ClaimOwnerWord"/> sets it, <see cref="FrameMap.ReleaseOwnerWord"/>
    /// clears it). The buddy allocator never sets it and writes whole bytes with <see cref="Make"/>,
    /// so every frame it turns into a list head (whose word then holds links), takes off a list or
    /// merges comes out with the bit clear: links left in the word are never read as an owner, and
    /// the allocator's paths pay nothing to keep it so.
    /// </summary>
    public const byte Owned = 0x80;

    /// <summary>Packs a state and an order (<see cref="Owned"/> clear).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Make(FrameState state, uint order) => (byte)(((uint)state << 4) | order);

    /// <summary>The state part.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FrameState State(byte info) => (FrameState)((info >> 4) & 7);

    /// <summary>The order part.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Order(byte info) => info & 15u;
}

/// <summary>
/// Free-list links of one frame (8 bytes; Linux's struct page reduced to the lru list), in the
/// frame's word of <see cref="FrameMap"/>: the word holds them while the frame heads a free
/// block, and the owner word (<see cref="FrameOwner"/>) once an owner writes it; links left in
/// the word when the frame leaves the lists stay there, unread, until its owner writes it
/// (<see cref="FrameInfo.Owned"/>). Links live here, not in the free pages: links stored
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
