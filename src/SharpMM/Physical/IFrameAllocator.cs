using SharpMM.Addressing;

namespace SharpMM.Physical;

/// <summary>
/// What every page-frame allocator offers; used as a generic constraint on structs
/// (`where T : struct, IFrameAllocator`) so calls are static and inlinable, freestanding too.
/// A block of order k is 2^k contiguous frames aligned to 2^k frames.
/// </summary>
public interface IFrameAllocator
{
    /// <summary>Allocates a block of 2^<paramref name="order"/> frames.
    /// Return: Ok and its first frame; OutOfMemory (nothing changed); InvalidArgument for an
    /// order above <see cref="MaxOrder"/>.</summary>
    Status Allocate(uint order, out Pfn pfn);

    /// <summary>Frees a block allocated with the same order. A frame that is not allocated,
    /// unaligned, out of range, of the wrong order or already free gets a status (NotAllocated,
    /// Misaligned, OutOfRange, WrongOrder, DoubleFree) and changes nothing; Unsupported where
    /// the allocator cannot free.</summary>
    Status Free(Pfn pfn, uint order);

    /// <summary>Highest order <see cref="Allocate"/> accepts.</summary>
    uint MaxOrder { get; }

    /// <summary>False for allocators without free (bump).</summary>
    bool CanFree { get; }

    /// <summary>Frames that are free now (including frames parked in caches).</summary>
    ulong FreeFrames { get; }

    /// <summary>Frames the allocator manages (free or allocated).</summary>
    ulong ManagedFrames { get; }
}
