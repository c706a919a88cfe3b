using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Diagnostics;

namespace SharpMM.Physical;

/// <summary>
/// The simplest frame allocator, the bump allocator many small kernels boot with: a cursor
/// moving up through one frame range. Each allocation aligns the cursor to its order, zeroes
/// the frames through the direct map and advances. There is no free (<see cref="Free"/>
/// returns Unsupported); frames skipped for alignment are lost. Out of memory is a status.
/// Useful before anything else exists and as the baseline every other allocator is compared
/// with. Several CPUs: the cursor moves under one lock (rank FramePool); the zeroing is done
/// outside it.
/// </summary>
public unsafe struct BumpFrameAllocator : IFrameAllocator
{
    private ulong _start, _end, _next;
    private DirectMap _directMap;
    // Protects the cursor after Init.
    private SpinLock _lock;

    /// <summary>Manages the frames of <paramref name="ram"/> (page-aligned), reached through
    /// <paramref name="directMap"/>. Return: InvalidArgument when frame 0 is included;
    /// Misaligned.</summary>
    public Status Init(DirectMap directMap, PhysRange ram)
    {
        if (((ram.Start | ram.End) & PageSize.OffsetMask) != 0) return Status.Misaligned;
        ulong startPfn = ram.Start >> PageSize.Shift, endPfn = ram.End >> PageSize.Shift;
        if (startPfn == 0) return Status.InvalidArgument;
        _lock.Init(LockRank.FramePool);
        _start = startPfn; _end = endPfn; _next = startPfn; _directMap = directMap;
        return Status.Ok;
    }

    /// <inheritdoc/>
    public readonly uint MaxOrder => BuddyAllocator.MaxOrderValue;
    /// <inheritdoc/>
    public readonly bool CanFree => false;
    /// <inheritdoc/>
    public readonly ulong FreeFrames => _end - _next;
    /// <inheritdoc/>
    public readonly ulong ManagedFrames => _end - _start;

    /// <summary>Allocates 2^order zeroed frames aligned to 2^order.</summary>
    public Status Allocate(uint order, out Pfn pfn)
    {
        pfn = default;
        if (order > MaxOrder) return Status.InvalidArgument;
        ulong count = 1UL << (int)order;
        _lock.Acquire();
        ulong aligned = (_next + count - 1) & ~(count - 1);
        bool fits = aligned < _end && _end - aligned >= count;
        if (fits) _next = aligned + count;
        _lock.Release();
        if (!fits) return Status.OutOfMemory;
        MemoryOps.Zero(_directMap.ToVirt(aligned << PageSize.Shift), count << PageSize.Shift);
        pfn = Pfn.NewUnchecked(aligned);
        return Status.Ok;
    }

    /// <summary>A bump allocator cannot free: Unsupported (OutOfRange for frames it never managed).</summary>
    public readonly Status Free(Pfn pfn, uint order)
    {
        if (pfn.Value < _start || pfn.Value >= _end) return Status.OutOfRange;
        return Status.Unsupported;
    }
}
