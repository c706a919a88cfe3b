using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Kernel;

/// <summary>
/// The frame allocator the kernel's user memory manager takes user pages and user page tables
/// from: the buddy allocator of <see cref="PhysicalBoot.Memory"/>, kernel class (frames the
/// direct map reaches: the library zeroes, copies and pages them through it). Stateless, like
/// <see cref="KernelFrames"/>, but counted apart, so a test can tell the frames user memory
/// holds from the kernel's own table pages.
/// </summary>
internal struct UserPageFrames : IFrameAllocator
{
    /// <summary>Frames allocated through any UserPageFrames since boot.</summary>
    public static ulong Allocated;
    /// <summary>Frames freed through any UserPageFrames since boot.</summary>
    public static ulong Freed;

    public Status Allocate(uint order, out Pfn pfn)
    {
        Status s = PhysicalBoot.Memory.Buddy.Allocate(order, MemoryClass.Kernel, out pfn);
        if (s == Status.Ok) Allocated += 1UL << (int)order;
        return s;
    }

    public Status Free(Pfn pfn, uint order)
    {
        Status s = PhysicalBoot.Memory.Buddy.Free(pfn, order);
        if (s == Status.Ok) Freed += 1UL << (int)order;
        return s;
    }

    public uint MaxOrder => PhysicalBoot.Memory.Buddy.MaxOrder;
    public bool CanFree => true;
    public ulong FreeFrames => PhysicalBoot.Memory.Buddy.FreeFrames;
    public ulong ManagedFrames => PhysicalBoot.Memory.Buddy.ManagedFrames;

    /// <summary>Frames held now (allocated minus freed).</summary>
    public static ulong InUse => Allocated - Freed;
}
