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
    /// <summary>First frame of a free block of <see cref="FrameDescriptor.Order"/> on a free list.</summary>
    Free = 2,
    /// <summary>First frame of an allocated block of <see cref="FrameDescriptor.Order"/>.</summary>
    Allocated = 3,
    /// <summary>An order-0 frame parked in a per-CPU cache (free, but not in the buddy lists).</summary>
    PerCpu = 4,
}

/// <summary>
/// The compact per-frame descriptor (12 bytes, Linux's struct page reduced to what the buddy
/// allocator needs). Free-list links live here, not in the free pages: links stored in the pages
/// measured 7-15x slower on random frees because every free touched a cold page.
/// Links are frame numbers; 0 means "none" (frame 0 is never managed: page 0 stays unmapped).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct FrameDescriptor
{
    /// <summary>Next block on the same free list (frame number), 0 at the end.</summary>
    public uint Next;
    /// <summary>Previous block on the same free list, 0 at the head.</summary>
    public uint Prev;
    /// <summary>Order of the block that starts here (meaningful for Free, Allocated).</summary>
    public byte Order;
    /// <summary>State; see <see cref="FrameState"/>.</summary>
    public FrameState State;
    /// <summary>Owner bits for the layers above (page tables, slab); the buddy allocator keeps
    /// them zero for free frames.</summary>
    public ushort Flags;
}
