using SharpMM.Addressing;

namespace SharpMM.Physical;

/// <summary>
/// The usable frames below 1 MiB, kept apart from the buddy allocator (as Phantom OS keeps its
/// low-memory pool): real-mode trampolines, BIOS call buffers and AP start-up pages must live
/// there, and a general allocator would hand them out for anything. A bitmap allocator over
/// frames [1, 256); page 0 is never managed. Firmware areas (EBDA, the 640 KiB-1 MiB hole) are
/// simply never added. Several CPUs: the bitmap's lock (rank FramePool) serialises them.
/// </summary>
public unsafe struct LowMemoryAllocator : IFrameAllocator, IFreeRangeSink
{
    /// <summary>One past the last frame below 1 MiB.</summary>
    public const ulong EndPfn = (1UL << 20) >> PageSize.Shift;

    private BitmapFrameAllocator _bitmap;

    /// <summary>Takes its bitmaps from <paramref name="meta"/>; every frame starts unavailable.</summary>
    public Status Init<TMeta>(ref TMeta meta) where TMeta : struct, IMetadataAllocator =>
        _bitmap.Init(ref meta, PhysRange.FromFrames(Pfn.New(1), Pfn.New(EndPfn)));

    /// <summary>Frames [<paramref name="start"/>, <paramref name="end"/>) (clipped to [1, 256)) become available.</summary>
    public void AddFreeRange(Pfn start, Pfn end)
    {
        ulong startPfn = start.Value, endPfn = end.Value;
        if (startPfn < 1) startPfn = 1;
        if (endPfn > EndPfn) endPfn = EndPfn;
        if (endPfn > startPfn) _bitmap.AddFreeRange(Pfn.NewUnchecked(startPfn), Pfn.NewUnchecked(endPfn));
    }

    /// <inheritdoc/>
    public readonly uint MaxOrder => 8;
    /// <inheritdoc/>
    public readonly bool CanFree => true;
    /// <inheritdoc/>
    public readonly ulong FreeFrames => _bitmap.FreeFrames;

    /// <summary>Adds the allocator's lock (rank FramePool) to <paramref name="report"/>.</summary>
    public readonly void AddLockStats(ref Concurrency.LockReport report) => report.Add(Concurrency.LockRank.FramePool, 1, _bitmap.LockStats);
    /// <inheritdoc/>
    public readonly ulong ManagedFrames => _bitmap.ManagedFrames;

    /// <inheritdoc/>
    public Status Allocate(uint order, out Pfn pfn)
    {
        if (order > MaxOrder) { pfn = default; return Status.InvalidArgument; }
        return _bitmap.Allocate(order, out pfn);
    }

    /// <summary><paramref name="count"/> contiguous frames below 1 MiB aligned to <paramref name="alignFrames"/>.</summary>
    public Status AllocateRun(ulong count, ulong alignFrames, out Pfn pfn) => _bitmap.AllocateRun(count, alignFrames, out pfn);

    /// <inheritdoc/>
    public Status Free(Pfn pfn, uint order) => _bitmap.Free(pfn, order);

    /// <summary>Frees a run from <see cref="AllocateRun"/>.</summary>
    public Status FreeRun(Pfn pfn, ulong count) => _bitmap.FreeRun(pfn, count);
}
