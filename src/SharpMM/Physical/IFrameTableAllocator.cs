namespace SharpMM.Physical;

/// <summary>
/// A frame allocator whose frames have descriptors in a <see cref="FrameMap"/>: the buddy
/// allocator and the wrappers that hand out its frames. The layers above it (the kernel heap,
/// user memory) keep what they know about a frame in its owner word (<see cref="FrameOwner"/>)
/// instead of a table of their own, so they take their frames from one of these.
/// </summary>
public interface IFrameTableAllocator : IFrameAllocator
{
    /// <summary>The frame table that describes every frame <see cref="IFrameAllocator.Allocate"/>
    /// returns (a view: copies share the descriptors).</summary>
    FrameMap Map { get; }

    /// <summary>Gives frames parked in per-CPU caches back to the free lists, so that they can
    /// merge (memory pressure).</summary>
    void Drain();
}
