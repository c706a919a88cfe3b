using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.User;

/// <summary>
/// The side array of <see cref="UserFrame"/>s, one per frame number in [BasePfn, BasePfn + Count)
/// (the span of the frame allocator's managed frames): reference counts for copy-on-write and
/// the clean/slot state for paging. 8 bytes per frame (0.2% of RAM). Its memory is given by the
/// caller or taken from the frame allocator as one block (<see cref="InitFromFrames"/>, up to
/// the allocator's largest order: 4 MiB of table covers 2 GiB of RAM with the buddy allocator).
/// A frame outside the span is refused where a user page is mapped (OutOfRange), and looking one
/// up panics: every user frame must be covered.
/// </summary>
public unsafe struct UserFrameTable
{
    private UserFrame* _frames;
    private ulong _basePfn, _count;
    private ulong _blockPfn;
    private uint _blockOrder;
    private bool _ownsBlock;

    /// <summary>First frame covered.</summary>
    public readonly ulong BasePfn => _basePfn;
    /// <summary>Frames covered.</summary>
    public readonly ulong Count => _count;
    /// <summary>True when the table was taken from the frame allocator (see <see cref="Release"/>).</summary>
    public readonly bool OwnsBlock => _ownsBlock;

    /// <summary>Bytes of table for <paramref name="frameCount"/> frames.</summary>
    public static ulong BytesFor(ulong frameCount) => frameCount * (ulong)sizeof(UserFrame);

    /// <summary>Covers [basePfn, basePfn + count) with the caller's zeroed or unzeroed memory
    /// (<see cref="BytesFor"/> bytes; zeroed here).</summary>
    public void Init(void* memory, ulong basePfn, ulong count)
    {
        _frames = (UserFrame*)memory;
        _basePfn = basePfn;
        _count = count;
        _ownsBlock = false;
        for (ulong i = 0; i < count; i++) _frames[i] = default;
    }

    /// <summary>Covers [basePfn, endPfn) with memory from <paramref name="frames"/>, reached through
    /// <paramref name="dm"/>. Return: Ok; InvalidArgument (empty span); OutOfMemory (no block,
    /// or the table needs more than the largest order).</summary>
    public Status InitFromFrames<TFrames>(ref TFrames frames, DirectMap dm, ulong basePfn, ulong endPfn) where TFrames : struct, IFrameAllocator
    {
        if (endPfn <= basePfn) return Status.InvalidArgument;
        ulong pages = (BytesFor(endPfn - basePfn) + PageSize.OffsetMask) >> PageSize.Shift;
        uint order = 0;
        while ((1UL << (int)order) < pages) order++;
        if (order > frames.MaxOrder) return Status.OutOfMemory;
        Status s = frames.Allocate(order, out Pfn block);
        if (s != Status.Ok) return s;
        Init(dm.ToVirt(block.Value << PageSize.Shift), basePfn, endPfn - basePfn);
        _blockPfn = block.Value;
        _blockOrder = order;
        _ownsBlock = true;
        return Status.Ok;
    }

    /// <summary>Gives a table taken with <see cref="InitFromFrames"/> back to the allocator.</summary>
    public void Release<TFrames>(ref TFrames frames) where TFrames : struct, IFrameAllocator
    {
        if (_ownsBlock && frames.Free(Pfn.NewUnchecked(_blockPfn), _blockOrder) != Status.Ok)
            Panic.Fail("user frame table: its block was refused back", _blockPfn);
        this = default;
    }

    /// <summary>True when <paramref name="pfn"/> is covered.</summary>
    public readonly bool Covers(ulong pfn) => pfn - _basePfn < _count;

    /// <summary>The entry of frame <paramref name="pfn"/>; panics outside the span.</summary>
    public readonly ref UserFrame this[ulong pfn]
    {
        get
        {
            ulong i = pfn - _basePfn;
            if (i >= _count) Panic.Fail("user frame table: frame outside the covered span", pfn);
            return ref _frames[i];
        }
    }

    /// <summary>Frames with a non-zero reference count (O(n): for tests and reports).</summary>
    public readonly ulong CountInUse()
    {
        ulong n = 0;
        for (ulong i = 0; i < _count; i++) if (_frames[i].Refs != 0) n++;
        return n;
    }
}
