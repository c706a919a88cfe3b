using System.Runtime.CompilerServices;

namespace SharpMM.Physical;

/// <summary>
/// The owner word: what the owner of an allocated frame keeps about it, in the frame's 8-byte
/// word of <see cref="FrameMap"/> (Linux's struct page fields for slab, anonymous pages and
/// mappings, reduced to one word). The word is shared with the free-list links: while a frame
/// heads a free block (<see cref="FrameState.Free"/>) it holds <see cref="FrameLinks"/>, and
/// the links stay in it after the frame leaves the lists. So the word counts as an owner word
/// only while the state byte's <see cref="FrameInfo.Owned"/> bit is set, which the owner sets
/// when it claims the word (<see cref="FrameMap.ClaimOwnerWord"/>) and the buddy allocator never
/// sets; <see cref="FrameMap.TryOwnerWord"/> reads 0 ("no owner") without it. Every owner kind
/// is listed here so that two layers cannot pick the same encoding.
/// <code>
///   bits 5..0 (kind)   the rest of the word
///   0                  0: no owner (what TryOwnerWord reads for a frame no owner has marked);
///                      otherwise the address of the heap's SlabDescriptor (64-byte aligned)
///   1  LargeHead       bits 15..8: order; first frame of a live heap large block
///   2  LargeTail       another frame of a live heap large block
///   3                  unused (a freed block is told by its frame state, FrameMap.IsFree)
///   4  UserPage        a user page: bits 15..8 flags, 31..16 mapping count, 63..32 swap slot
///                      (<see cref="SharpMM.User.UserFrame"/> is this word as a struct)
/// </code>
/// Rules: a frame comes out of the buddy allocator unmarked (its word may hold old links); an
/// owner that keeps a word claims it once with <see cref="FrameMap.ClaimOwnerWord"/>, which marks it,
/// and writes it before anything may read it (later accesses: <see cref="FrameMap.OwnerWord"/>,
/// which leaves the state byte alone), and before giving the frame back releases it
/// (<see cref="FrameMap.ReleaseOwnerWord"/>), every frame of the block: the buddy allocator
/// refuses a block whose first frame is still marked, and its validation panics on a marked
/// frame outside an allocated block.
/// </summary>
public static class FrameOwner
{
    /// <summary>Bits of the word that hold the kind.</summary>
    public const ulong KindMask = 63;
    /// <summary>No owner.</summary>
    public const ulong None = 0;
    /// <summary>Kind: first frame of a live heap large block (order in bits 15..8).</summary>
    public const ulong LargeHead = 1;
    /// <summary>Kind: another frame of a live heap large block.</summary>
    public const ulong LargeTail = 2;
    /// <summary>Kind: a user page.</summary>
    public const ulong UserPage = 4;

    /// <summary>True when <paramref name="word"/> is an owner object's address (a slab descriptor).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsAddress(ulong word) => (word & KindMask) == 0 && word != 0;

    /// <summary>The kind of <paramref name="word"/> (0 for an address or no owner).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Kind(ulong word) => word & KindMask;

    /// <summary>The word of the first frame of a live heap large block of 2^<paramref name="order"/> frames.</summary>
    public static ulong LargeHeadOf(uint order) => LargeHead | ((ulong)order << 8);

    /// <summary>The order in a <see cref="LargeHead"/> word.</summary>
    public static uint LargeOrder(ulong word) => (uint)(word >> 8) & 0xFF;
}
