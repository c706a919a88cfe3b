using SharpMM.Addressing;

namespace SharpMM.Physical;

/// <summary>
/// The buddy allocator as an <see cref="IFrameTableAllocator"/> of one <see cref="MemoryClass"/>:
/// <c>Allocate(order)</c> becomes <c>Allocate(order, class)</c>. The kernel heap takes
/// <see cref="MemoryClass.Kernel"/> frames through it (frames the direct map reaches). Holds the
/// allocator's address: the buddy allocator must not move while a copy is in use.
/// </summary>
public readonly unsafe struct BuddyClassFrames : IFrameTableAllocator
{
    private readonly BuddyAllocator* _buddy;
    private readonly MemoryClass _class;

    /// <summary>Frames of <paramref name="memoryClass"/> from <paramref name="buddy"/>.</summary>
    public BuddyClassFrames(BuddyAllocator* buddy, MemoryClass memoryClass) { _buddy = buddy; _class = memoryClass; }

    /// <summary>The allocator.</summary>
    public BuddyAllocator* Buddy => _buddy;

    /// <inheritdoc/>
    public Status Allocate(uint order, out Pfn pfn) => _buddy->Allocate(order, _class, out pfn);
    /// <inheritdoc/>
    public Status Free(Pfn pfn, uint order) => _buddy->Free(pfn, order);
    /// <inheritdoc/>
    public uint MaxOrder => BuddyAllocator.MaxOrderValue;
    /// <inheritdoc/>
    public bool CanFree => true;
    /// <inheritdoc/>
    public ulong FreeFrames => _buddy->FreeFrames;
    /// <inheritdoc/>
    public ulong ManagedFrames => _buddy->ManagedFrames;
    /// <inheritdoc/>
    public FrameMap Map => _buddy->Map;
    /// <inheritdoc/>
    public void Drain() => _buddy->Drain();
}
