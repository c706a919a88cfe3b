using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Paging;

/// <summary>
/// Frames (table pages a walker let go of, pages an unmap released) kept until the TLBs that may
/// still reach them are flushed, then given back with <see cref="Release"/>: what a shootdown's
/// sender must do before anyone reuses them (Linux's mmu_gather page list). Passed as the frame
/// allocator of an unmap, it only takes frees; the caller ends its batch when
/// <see cref="NearlyFull"/> (flush, then release) and goes on.
/// </summary>
public struct FreeAfterFlush : IFrameAllocator
{
    /// <summary>Frames kept at most.</summary>
    public const int Capacity = 96;
    /// <summary>Room an unmap of one page may need (its tables, every level, and its frame).</summary>
    public const int RoomPerPage = 6;

    [InlineArray(Capacity)]
    private struct PfnArray { private ulong _first; }

    private PfnArray _pfns;
    private int _count;

    /// <summary>Frames kept.</summary>
    public readonly int Count => _count;

    /// <summary>Less than one page's unmap worth of room left: flush and release now.</summary>
    public readonly bool NearlyFull => _count > Capacity - RoomPerPage;

    /// <summary>Not an allocator: panics.</summary>
    public Status Allocate(uint order, out Pfn pfn)
    {
        pfn = default;
        Panic.Fail("free after flush: asked for a frame", order);
        return Status.OutOfMemory;
    }

    /// <summary>Keeps <paramref name="pfn"/> (order 0) for <see cref="Release"/>.</summary>
    public Status Free(Pfn pfn, uint order)
    {
        if (order != 0) Panic.Fail("free after flush: a block above order 0", order);
        if (_count == Capacity) Panic.Fail("free after flush: full (the caller did not release at NearlyFull)", pfn.Value);
        _pfns[_count++] = pfn.Value;
        return Status.Ok;
    }

    /// <summary>Gives every kept frame to <paramref name="frames"/> (after the flush) and empties the list.</summary>
    public void Release<TFrames>(ref TFrames frames) where TFrames : struct, IFrameAllocator
    {
        for (int i = 0; i < _count; i++)
            if (frames.Free(Pfn.NewUnchecked(_pfns[i]), 0) != Status.Ok) Panic.Fail("free after flush: the allocator refused a frame", _pfns[i]);
        _count = 0;
    }

    /// <inheritdoc/>
    public readonly uint MaxOrder => 0;
    /// <inheritdoc/>
    public readonly bool CanFree => true;
    /// <inheritdoc/>
    public readonly ulong FreeFrames => 0;
    /// <inheritdoc/>
    public readonly ulong ManagedFrames => 0;
}
