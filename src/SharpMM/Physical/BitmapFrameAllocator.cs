using SharpMM.Addressing;
using SharpMM.Concurrency;

namespace SharpMM.Physical;

/// <summary>
/// A bitmap allocator over one frame range, three bits per frame: <c>used</c> is set while the
/// frame is allocated or not available, <c>head</c> on the first frame of each allocation,
/// <c>avail</c> on every frame that was handed over as free RAM. It hands out contiguous runs of any length with any power-of-two alignment
/// (first fit from a next-fit hint, a word at a time), which the buddy allocator cannot do for
/// lengths that are not powers of two. The head bits let <see cref="FreeRun"/> check that it is
/// given exactly what was allocated: a wrong length, an interior frame, or a frame already free
/// is refused and changes nothing.
/// <para>Several CPUs: one lock (rank FramePool) around every change; the allocator is small
/// and off the hot paths (low memory, benchmarks), so it is not worth more.</para>
/// </summary>
public unsafe struct BitmapFrameAllocator : IFrameAllocator
{
    private ulong _start, _count, _free, _hint;
    private ulong* _used;
    private ulong* _head;
    private ulong* _avail;
    // Protects everything above after Init.
    private SpinLock _lock;

    /// <summary>The lock's statistics (acquisitions, contention, spin time).</summary>
    public readonly LockStats LockStats => _lock.Stats;

    /// <summary>Manages the frames of <paramref name="ram"/> (page-aligned), every frame
    /// unavailable until <see cref="AddFreeRange"/>. Bitmaps come from <paramref name="meta"/>.
    /// Return: InvalidArgument (empty range, or frame 0 included); Misaligned; OutOfMemory.</summary>
    public Status Init<TMeta>(ref TMeta meta, PhysRange ram) where TMeta : struct, IMetadataAllocator
    {
        if (((ram.Start | ram.End) & PageSize.OffsetMask) != 0) return Status.Misaligned;
        ulong startPfn = ram.Start >> PageSize.Shift, endPfn = ram.End >> PageSize.Shift;
        if (endPfn <= startPfn || startPfn == 0) return Status.InvalidArgument;
        ulong words = (endPfn - startPfn + 63) / 64;
        Status s = meta.AllocateMetadata(words * 24, 64, out byte* bits, out _);
        if (s != Status.Ok) return s;
        Init((ulong*)bits, (ulong*)bits + words, (ulong*)bits + 2 * words, startPfn, endPfn);
        return Status.Ok;
    }

    /// <summary>Manages [startPfn, endPfn) with three caller-provided bitmaps of
    /// (end-start+63)/64 words each; every frame starts unavailable.</summary>
    public void Init(ulong* used, ulong* head, ulong* avail, ulong startPfn, ulong endPfn)
    {
        _lock.Init(LockRank.FramePool);
        _used = used; _head = head; _avail = avail;
        _start = startPfn; _count = endPfn - startPfn; _free = 0; _hint = 0;
        ulong words = (_count + 63) / 64;
        for (ulong i = 0; i < words; i++) { used[i] = ~0UL; head[i] = 0; avail[i] = 0; }
    }

    /// <summary>Frames [<paramref name="start"/>, <paramref name="end"/>) become available. Frames outside the range, or not
    /// unavailable (already added or allocated), panic: that would hand a frame out twice.</summary>
    public void AddFreeRange(Pfn start, Pfn end)
    {
        _lock.Acquire();
        AddFreeRangeLocked(start, end);
        _lock.Release();
    }

    private void AddFreeRangeLocked(Pfn start, Pfn end)
    {
        ulong startPfn = start.Value, endPfn = end.Value;
        if (startPfn < _start || endPfn > _start + _count || endPfn < startPfn) Panic.Fail("bitmap: free range outside the managed range", startPfn);
        ulong n = endPfn - startPfn;
        if (n == 0) return;
        if (BitmapOps.LastSet(_avail, startPfn - _start, n) >= 0) Panic.Fail("bitmap: free range handed over twice", startPfn);
        BitmapOps.Assign(_avail, startPfn - _start, n, true);
        BitmapOps.Assign(_used, startPfn - _start, n, false);
        _free += n;
    }

    /// <inheritdoc/>
    public readonly uint MaxOrder => BuddyAllocator.MaxOrderValue;
    /// <inheritdoc/>
    public readonly bool CanFree => true;
    /// <inheritdoc/>
    public readonly ulong FreeFrames => _free;
    /// <inheritdoc/>
    public readonly ulong ManagedFrames => _count;

    /// <summary>First frame managed.</summary>
    public readonly ulong StartPfn => _start;

    /// <summary>2^order frames aligned to 2^order.</summary>
    public Status Allocate(uint order, out Pfn pfn)
    {
        pfn = default;
        if (order > MaxOrder) return Status.InvalidArgument;
        return AllocateRun(1UL << (int)order, 1UL << (int)order, out pfn);
    }

    /// <summary>
    /// <paramref name="count"/> contiguous frames whose first frame number is a multiple of
    /// <paramref name="alignFrames"/> (a power of two). Return: Ok; InvalidArgument (count 0,
    /// alignment not a power of two); OutOfMemory when no such run is free (nothing changed).
    /// </summary>
    public Status AllocateRun(ulong count, ulong alignFrames, out Pfn pfn)
    {
        _lock.Acquire();
        Status s = AllocateRunLocked(count, alignFrames, out pfn);
        _lock.Release();
        return s;
    }

    private Status AllocateRunLocked(ulong count, ulong alignFrames, out Pfn pfn)
    {
        pfn = default;
        if (count == 0 || alignFrames == 0 || (alignFrames & (alignFrames - 1)) != 0) return Status.InvalidArgument;
        if (count > _free) return Status.OutOfMemory;
        // Alignment is of the absolute frame number: search in bitmap coordinates shifted by start.
        ulong misalign = _start & (alignFrames - 1);
        ulong skip = misalign == 0 ? 0 : alignFrames - misalign;
        if (skip >= _count) return Status.OutOfMemory;
        ulong hint = _hint > skip ? _hint - skip : 0;
        if (!BitmapOps.FindClearRun(_used, _count, count, alignFrames, skip, hint, out ulong index)) return Status.OutOfMemory;
        BitmapOps.Assign(_used, index, count, true);
        BitmapOps.Set(_head, index);
        _free -= count;
        _hint = index + count;
        pfn = Pfn.NewUnchecked(_start + index);
        return Status.Ok;
    }

    /// <summary>Frees a block of 2^order frames (see <see cref="FreeRun"/>).</summary>
    public Status Free(Pfn pfn, uint order)
    {
        if (order > MaxOrder) return Status.InvalidArgument;
        if ((pfn.Value & ((1UL << (int)order) - 1)) != 0) return Status.Misaligned;
        return FreeRun(pfn, 1UL << (int)order);
    }

    /// <summary>
    /// Frees a run allocated with exactly <paramref name="count"/> frames.
    /// Return: OutOfRange; DoubleFree when the first frame is free; NotAllocated when it is not
    /// the first frame of an allocation; WrongOrder when the allocation is not exactly
    /// <paramref name="count"/> frames long. Nothing changes on failure.
    /// </summary>
    public Status FreeRun(Pfn pfn, ulong count)
    {
        _lock.Acquire();
        Status s = FreeRunLocked(pfn, count);
        _lock.Release();
        return s;
    }

    private Status FreeRunLocked(Pfn pfn, ulong count)
    {
        ulong p = pfn.Value;
        if (p < _start || p - _start >= _count || count == 0 || count > _count - (p - _start)) return Status.OutOfRange;
        ulong i = p - _start;
        if (!BitmapOps.Test(_avail, i) || !BitmapOps.Test(_head, i))
            return BitmapOps.Test(_avail, i) && !BitmapOps.Test(_used, i) ? Status.DoubleFree : Status.NotAllocated;
        if (!BitmapOps.AllSet(_used, i, count) || !BitmapOps.AllSet(_avail, i, count) || (count > 1 && BitmapOps.LastSet(_head, i + 1, count - 1) >= 0)) return Status.WrongOrder;
        // The allocation must end here: the next frame is free or starts something else.
        if (i + count < _count && BitmapOps.Test(_avail, i + count) && BitmapOps.Test(_used, i + count) && !BitmapOps.Test(_head, i + count))
            return Status.WrongOrder;
        BitmapOps.Assign(_used, i, count, false);
        BitmapOps.Clear(_head, i);
        _free += count;
        if (i < _hint) _hint = i;
        return Status.Ok;
    }
}
