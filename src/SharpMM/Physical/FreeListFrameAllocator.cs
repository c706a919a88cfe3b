using SharpMM.Addressing;
using SharpMM.Concurrency;

namespace SharpMM.Physical;

/// <summary>
/// A singly linked stack of free frames (the classic small-kernel design, xv6's kalloc among
/// them): the link to the next free frame is stored in the first 8 bytes of each free frame,
/// reached through the direct map. O(1) allocate and free, order 0 only. A bitmap (1 bit per
/// frame, set = allocated) guards the trust boundary: a double free or a free of a frame outside
/// the range is refused instead of corrupting the list.
/// Cost of the design: every free writes the freed page, every allocation reads it (cold cache
/// lines), which is why the buddy allocator keeps its links in descriptors instead.
/// Frames never handed out are not on the list: they follow a high-water mark, taken in
/// ascending order once the list is empty (the order a list built by freeing every frame from
/// the top would give), so the RAM is written only as far as it is used. A simulated machine
/// far larger than its host therefore costs the host only the frames a run touches.
/// Several CPUs: one lock (rank FramePool) around every change.
/// </summary>
public unsafe struct FreeListFrameAllocator : IFrameAllocator
{
    private const ulong End = ulong.MaxValue;
    private ulong _start, _end, _head, _free;
    // Frames [_fresh, _end) have never been handed out and are free without being linked.
    private ulong _fresh;
    private ulong* _allocated;
    private DirectMap _directMap;
    // Protects the list, the bitmap and the count after Init.
    private SpinLock _lock;

    /// <summary>Manages the frames of <paramref name="ram"/> (page-aligned), all free; the bitmap
    /// comes from <paramref name="meta"/>. Return: InvalidArgument (frame 0 included);
    /// Misaligned; OutOfMemory for the bitmap.</summary>
    public Status Init<TMeta>(ref TMeta meta, DirectMap directMap, PhysRange ram) where TMeta : struct, IMetadataAllocator
    {
        if (((ram.Start | ram.End) & PageSize.OffsetMask) != 0) return Status.Misaligned;
        ulong startPfn = ram.Start >> PageSize.Shift, endPfn = ram.End >> PageSize.Shift;
        if (startPfn == 0) return Status.InvalidArgument;
        ulong words = (endPfn - startPfn + 63) / 64;
        Status s = meta.AllocateMetadata(words * 8 + 8, 64, out byte* bits, out _);
        if (s != Status.Ok) return s;
        _lock.Init(LockRank.FramePool);
        _allocated = (ulong*)bits;
        _start = startPfn; _end = endPfn; _directMap = directMap;
        _head = End; _free = endPfn - startPfn; _fresh = startPfn;
        return Status.Ok;
    }

    private void Push(ulong pfn)
    {
        *(ulong*)_directMap.ToVirt(pfn << PageSize.Shift) = _head;
        _head = pfn;
        _free++;
    }

    /// <inheritdoc/>
    public readonly uint MaxOrder => 0;
    /// <inheritdoc/>
    public readonly bool CanFree => true;
    /// <inheritdoc/>
    public readonly ulong FreeFrames => _free;
    /// <inheritdoc/>
    public readonly ulong ManagedFrames => _end - _start;

    /// <summary>Pops a frame. Order must be 0 (InvalidArgument otherwise).</summary>
    public Status Allocate(uint order, out Pfn pfn)
    {
        _lock.Acquire();
        Status s = AllocateLocked(order, out pfn);
        _lock.Release();
        return s;
    }

    private Status AllocateLocked(uint order, out Pfn pfn)
    {
        pfn = default;
        if (order != 0) return Status.InvalidArgument;
        ulong p = _head;
        if (p == End)
        {
            if (_fresh == _end) return Status.OutOfMemory;
            p = _fresh++;
        }
        else
        {
            if (p < _start || p >= _fresh || BitmapOps.Test(_allocated, p - _start))
                Panic.Fail("freelist: link points at a frame that is not free (page written after free?)", p);
            _head = *(ulong*)_directMap.ToVirt(p << PageSize.Shift);
        }
        BitmapOps.Set(_allocated, p - _start);
        _free--;
        pfn = Pfn.NewUnchecked(p);
        return Status.Ok;
    }

    /// <summary>Pushes a frame back. Refuses order != 0 (InvalidArgument), frames outside the
    /// range (OutOfRange) and frames already free (DoubleFree).</summary>
    public Status Free(Pfn pfn, uint order)
    {
        _lock.Acquire();
        Status s = FreeLocked(pfn, order);
        _lock.Release();
        return s;
    }

    private Status FreeLocked(Pfn pfn, uint order)
    {
        if (order != 0) return Status.InvalidArgument;
        ulong p = pfn.Value;
        if (p < _start || p >= _end) return Status.OutOfRange;
        if (!BitmapOps.Test(_allocated, p - _start)) return Status.DoubleFree;
        BitmapOps.Clear(_allocated, p - _start);
        Push(p);
        return Status.Ok;
    }
}
