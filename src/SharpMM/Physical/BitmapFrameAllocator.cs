using SharpMM.Addressing;
using System.Numerics;
using SharpMM.Concurrency;

namespace SharpMM.Physical;

/// <summary>
/// A bitmap allocator over one frame range, three bits per frame: <c>used</c> is set while the
/// frame is allocated or not available, <c>head</c> on the first frame of each allocation,
/// <c>avail</c> on every frame that was handed over as free RAM. It hands out contiguous runs of any length with any power-of-two alignment
/// (first fit from a next-fit hint kept per size class, a word at a time), which the buddy allocator cannot do for
/// lengths that are not powers of two. Two summary levels over <c>used</c> (a bit per word that
/// is full, a bit per summary word that is full) let the search step over 4096 allocated words
/// at once, as kernel bitmap allocators do on large machines. The head bits let <see cref="FreeRun"/> check that it is
/// given exactly what was allocated: a wrong length, an interior frame, or a frame already free
/// is refused and changes nothing.
/// <para>Several CPUs: one lock (rank FramePool) around every change; the allocator is small
/// and off the hot paths (low memory, benchmarks), so it is not worth more.</para>
/// </summary>
public unsafe struct BitmapFrameAllocator : IFrameAllocator
{
    private ulong _start, _count, _free, _words;
    // Next-fit hints per size class (HintClass): where the last allocation of the class ended,
    // lowered by a free of a run at least as large. A class's search starts there and wraps.
    private fixed ulong _hints[HintClasses];
    private ulong* _used;
    private ulong* _head;
    private ulong* _avail;
    // Summary levels of _used (BitmapOps.Summarize): bits past the last word stay set.
    private ulong* _full1;
    private ulong* _full2;
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
        Status s = meta.AllocateMetadata(MetadataWords(endPfn - startPfn) * sizeof(ulong), 64, out byte* bits, out _);
        if (s != Status.Ok) return s;
        Init((ulong*)bits, startPfn, endPfn);
        return Status.Ok;
    }

    /// <summary>Words of metadata for <paramref name="frames"/> frames: three bitmaps and the
    /// two summary levels.</summary>
    public static ulong MetadataWords(ulong frames)
    {
        ulong words = (frames + 63) / 64, words1 = BitmapOps.SummaryWords(words);
        return 3 * words + words1 + BitmapOps.SummaryWords(words1);
    }

    /// <summary>Manages [startPfn, endPfn) with caller-provided metadata of
    /// <see cref="MetadataWords"/>(end - start) words; every frame starts unavailable.</summary>
    public void Init(ulong* bits, ulong startPfn, ulong endPfn)
    {
        _lock.Init(LockRank.FramePool);
        _start = startPfn; _count = endPfn - startPfn; _free = 0;
        for (int c = 0; c < HintClasses; c++) _hints[c] = 0;
        ulong words = (_count + 63) / 64, words1 = BitmapOps.SummaryWords(words);
        _words = words;
        _used = bits; _head = bits + words; _avail = bits + 2 * words;
        _full1 = bits + 3 * words; _full2 = _full1 + words1;
        for (ulong i = 0; i < words; i++) { _used[i] = ~0UL; _head[i] = 0; _avail[i] = 0; }
        // Every word starts full, and so does every summary word.
        for (ulong i = 0; i < words1; i++) _full1[i] = ~0UL;
        for (ulong i = 0, words2 = BitmapOps.SummaryWords(words1); i < words2; i++) _full2[i] = ~0UL;
    }

    // Size classes with a hint of their own: 2^class frames (the last class takes all larger).
    private const int HintClasses = 16;

    // The class of a request spanning `frames` (its count or its alignment, the larger):
    // ceil(log2), so that a class's hint only moves for requests of about its size.
    private static int HintClass(ulong frames)
    {
        int c = frames <= 1 ? 0 : BitOperations.Log2(frames - 1) + 1;
        return c < HintClasses ? c : HintClasses - 1;
    }

    // Sets or clears frames [index, index + n) of _used and brings the summaries up to date.
    private void AssignUsed(ulong index, ulong n, bool value)
    {
        BitmapOps.Assign(_used, index, n, value);
        for (ulong w = index >> 6, last = (index + n - 1) >> 6; w <= last; w++) BitmapOps.Summarize(_used, _full1, _full2, w);
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
        AssignUsed(startPfn - _start, n, false);
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
        int cls = HintClass(count > alignFrames ? count : alignFrames);
        ulong hint = _hints[cls] > skip ? _hints[cls] - skip : 0;
        if (!BitmapOps.FindClearRun(_used, _full1, _full2, _count, count, alignFrames, skip, hint, out ulong index)) return Status.OutOfMemory;
        AssignUsed(index, count, true);
        BitmapOps.Set(_head, index);
        _free -= count;
        _hints[cls] = index + count;
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
        AssignUsed(i, count, false);
        BitmapOps.Clear(_head, i);
        _free += count;
        // The freed run serves the classes no larger than itself.
        for (int c = 0, top = BitOperations.Log2(count) < HintClasses ? BitOperations.Log2(count) : HintClasses - 1; c <= top; c++)
            if (i < _hints[c]) _hints[c] = i;
        return Status.Ok;
    }

    /// <summary>
    /// Checks the bitmaps against each other and panics naming the first broken invariant: the
    /// free count is the number of clear <c>used</c> bits; a frame never handed over is used;
    /// a head bit marks an allocated frame; the bits past the last frame are set; the summary
    /// levels say exactly which words are full.
    /// </summary>
    public void Validate()
    {
        _lock.Acquire();
        ulong free = 0;
        ulong words1 = BitmapOps.SummaryWords(_words), words2 = BitmapOps.SummaryWords(words1);
        for (ulong w = 0; w < _words; w++)
        {
            ulong used = _used[w];
            free += (ulong)System.Numerics.BitOperations.PopCount(~used);
            if ((~_avail[w] & ~used) != 0) Panic.Fail("bitmap: a frame never handed over is free", _start + w * 64);
            if ((_head[w] & ~used) != 0) Panic.Fail("bitmap: a head bit on a free frame", _start + w * 64);
            if (BitmapOps.Test(_full1, w) != (used == ~0UL)) Panic.Fail("bitmap: the summary of a word is wrong", _start + w * 64);
        }
        if (free != _free) Panic.Fail("bitmap: the free count does not match the bitmap", _free);
        if (_count % 64 != 0 && (_used[_words - 1] >> (int)(_count % 64)) != ~0UL >> (int)(_count % 64))
            Panic.Fail("bitmap: a bit past the last frame is clear", _start + _count);
        for (ulong w = _words; w < words1 * 64; w++) if (!BitmapOps.Test(_full1, w)) Panic.Fail("bitmap: a summary bit past the last word is clear", w);
        for (ulong i = 0; i < words2 * 64; i++)
            if (BitmapOps.Test(_full2, i) != (i >= words1 || _full1[i] == ~0UL)) Panic.Fail("bitmap: the second summary level is wrong", i);
        _lock.Release();
    }
}
