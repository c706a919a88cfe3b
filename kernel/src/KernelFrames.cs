using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Kernel;

/// <summary>
/// The frame allocator the kernel takes frames from for its page tables and for the user memory
/// the in-kernel tests run: the buddy allocator of <see cref="PhysicalBoot.Memory"/>, kernel
/// class (frames the direct map reaches, so the library can zero, copy and page them through
/// it). Stateless: every copy is the same allocator. Counts what it handed out and took back, so
/// a test can say how many frames an operation cost (user memory keeps its own count too).
/// </summary>
internal struct KernelFrames : IFrameTableAllocator
{
    /// <summary>Frames allocated through any KernelFrames since boot.</summary>
    public static ulong Allocated;
    /// <summary>Frames freed through any KernelFrames since boot.</summary>
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
    public FrameMap Map => PhysicalBoot.Memory.Buddy.Map;
    public void Drain() => PhysicalBoot.Memory.Buddy.Drain();

    /// <summary>Frames held now (allocated minus freed).</summary>
    public static ulong InUse => Allocated - Freed;
}
