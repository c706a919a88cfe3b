using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Heap;

/// <summary>
/// Which heap object owns each frame, so that kfree finds a slab from any pointer in O(1)
/// (Linux's virt_to_slab through struct page; the buddy's frame map has no spare field and is
/// not the heap's to write, so the heap keeps its own table).
///
/// Layout: a two-level radix over the frames [first, end) the heap may receive. The directory
/// (one block from the buddy allocator, allocated at <see cref="Init"/>) holds one leaf pointer
/// per 512 frames (2 MiB); a leaf is one page of 512 entries of 8 bytes. Leaves are allocated
/// when a slab or large block first lands in their 2 MiB and kept until <see cref="Release"/>;
/// until then the directory points at one shared leaf of "not the heap's" entries, so a lookup
/// never tests for a missing leaf, and kfree tells a slab frame from anything else with one
/// test of the low bits.
///
/// <code>
///   index = pfn - first
///   entry = directory[index >> 9][index &amp; 511]
///   entry: 4                      not the heap's (leaves start filled with it)
///          descriptor address     a slab frame (SlabDescriptor*, 64-byte aligned: low 6 bits 0)
///          (order &lt;&lt; 8) | 1       first frame of a live large allocation of 2^order frames
///          2                      another frame of a live large allocation
///          3                      first frame of a freed large allocation (not reused since)
/// </code>
///
/// Cost: 8 bytes per frame that shares a 2 MiB region with heap memory, plus 8 bytes of
/// directory per 2 MiB spanned. The directory is one buddy block, so the span is limited to
/// 512 Ki leaves (1 TiB); <see cref="Init"/> returns Unsupported beyond that.
/// </summary>
public unsafe struct FrameOwnerTable
{
    /// <summary>log2 of the frames per leaf.</summary>
    public const int LeafShift = 9;
    /// <summary>Frames per leaf (one 4 KiB page of 8-byte entries).</summary>
    public const ulong LeafFrames = 1UL << LeafShift;
    /// <summary>Bits of an entry that carry a tag instead of a descriptor address.</summary>
    public const ulong TagMask = 63;
    /// <summary>Tag: first frame of a live large allocation (order in bits 8..15).</summary>
    public const ulong LargeHead = 1;
    /// <summary>Tag: a later frame of a live large allocation.</summary>
    public const ulong LargeTail = 2;
    /// <summary>Tag: first frame of a freed large allocation.</summary>
    public const ulong LargeFreed = 3;
    /// <summary>Tag: not the heap's frame.</summary>
    public const ulong None = 4;

    private ulong** _dir;
    private ulong* _emptyLeaf;
    private ulong _firstPfn;
    private ulong _frames;
    private ulong _virtBase;
    private ulong _dirEntries;
    private uint _dirOrder;
    private ulong _leafPages;

    /// <summary>Direct-map address of the first frame covered: kfree computes
    /// (ptr - VirtBase) >> 12 as the table index.</summary>
    public readonly ulong VirtBase => _virtBase;
    /// <summary>Frames covered.</summary>
    public readonly ulong Frames => _frames;
    /// <summary>First frame covered.</summary>
    public readonly ulong FirstPfn => _firstPfn;
    /// <summary>Pages held: directory, the shared empty leaf and the allocated leaves.</summary>
    public readonly ulong MetadataPages => _dir == null ? 0 : (1UL << (int)_dirOrder) + 1 + _leafPages;

    /// <summary>Builds the table for frames [<paramref name="firstPfn"/>, <paramref name="endPfn"/>).
    /// Return: Ok; InvalidArgument for an empty span; Unsupported when the directory would not
    /// fit one buddy block; OutOfMemory (nothing held).</summary>
    public Status Init(HeapPageSource src, ulong firstPfn, ulong endPfn)
    {
        if (endPfn <= firstPfn) return Status.InvalidArgument;
        ulong frames = endPfn - firstPfn;
        ulong entries = (frames + LeafFrames - 1) >> LeafShift;
        ulong pages = (entries * 8 + PageSize.OffsetMask) >> PageSize.Shift;
        uint order = 0;
        while ((1UL << (int)order) < pages) order++;
        if (order > BuddyAllocator.MaxOrderValue) return Status.Unsupported;
        Status s = src.Allocate(0, out _, out byte* empty);
        if (s != Status.Ok) return s;
        s = src.Allocate(order, out _, out byte* dir);
        if (s != Status.Ok) { src.Free(empty, 0); return s; }
        FillNone(empty);
        ulong** d = (ulong**)dir;
        for (ulong i = 0; i < entries; i++) d[i] = (ulong*)empty;
        _dir = d;
        _emptyLeaf = (ulong*)empty;
        _firstPfn = firstPfn;
        _frames = frames;
        _virtBase = (ulong)src.ToVirt(firstPfn);
        _dirEntries = entries;
        _dirOrder = order;
        _leafPages = 0;
        return Status.Ok;
    }

    /// <summary>True when <paramref name="pfn"/> is covered.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Covers(ulong pfn) => pfn - _firstPfn < _frames;

    /// <summary>The entry at table index <paramref name="index"/> (pfn - FirstPfn); the caller
    /// has checked index &lt; Frames.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ulong At(ulong index) => _dir[index >> LeafShift][index & (LeafFrames - 1)];

    /// <summary>The entry of a covered frame.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ulong Get(ulong pfn) => At(pfn - _firstPfn);

    /// <summary>Makes sure leaves exist for frames [pfn, pfn + count). Return: Ok;
    /// OutOfRange when a frame is not covered; OutOfMemory (leaves allocated before the failure
    /// stay: they hold only "not the heap's" entries and are reused).</summary>
    public Status Ensure(HeapPageSource src, ulong pfn, ulong count)
    {
        if (!Covers(pfn) || count == 0 || count > _frames - (pfn - _firstPfn)) return Status.OutOfRange;
        ulong first = (pfn - _firstPfn) >> LeafShift, last = (pfn - _firstPfn + count - 1) >> LeafShift;
        for (ulong i = first; i <= last; i++)
        {
            if (_dir[i] != _emptyLeaf) continue;
            Status s = src.Allocate(0, out _, out byte* leaf);
            if (s != Status.Ok) return s;
            FillNone(leaf);
            _dir[i] = (ulong*)leaf;
            _leafPages++;
        }
        return Status.Ok;
    }

    private static void FillNone(byte* leaf)
    {
        ulong* e = (ulong*)leaf;
        for (ulong i = 0; i < LeafFrames; i++) e[i] = None;
    }

    /// <summary>Sets the entries of frames [pfn, pfn + count) to <paramref name="entry"/>
    /// (leaves must exist: <see cref="Ensure"/>).</summary>
    public void Set(ulong pfn, ulong count, ulong entry)
    {
        for (ulong k = 0; k < count; k++)
        {
            ulong index = pfn + k - _firstPfn;
            if (index >= _frames) Panic.Fail("heap: owner table write outside the span", pfn + k);
            ulong* leaf = _dir[index >> LeafShift];
            if (leaf == _emptyLeaf) Panic.Fail("heap: owner table write without a leaf", pfn + k);
            leaf[index & (LeafFrames - 1)] = entry;
        }
    }

    /// <summary>Returns every page to the buddy allocator; the table is unusable afterwards.</summary>
    public void Release(HeapPageSource src)
    {
        if (_dir == null) return;
        for (ulong i = 0; i < _dirEntries; i++)
            if (_dir[i] != _emptyLeaf) src.Free(_dir[i], 0);
        src.Free(_dir, _dirOrder);
        src.Free(_emptyLeaf, 0);
        this = default;
    }
}
