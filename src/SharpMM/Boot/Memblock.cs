using SharpMM.Addressing;
using SharpMM.Diagnostics;
using SharpMM.Physical;

namespace SharpMM.Boot;

/// <summary>
/// The bootstrap allocator (after Linux mm/memblock.c): two sorted, non-overlapping range sets,
/// "memory" (RAM the firmware reported usable) and "reserved" (what must not be handed out, each
/// range tagged with who reserved it). Allocation is a top-down search of memory minus reserved,
/// below a caller's limit, never touching page 0. There is no free: memblock only lives until the
/// page allocator is up; <see cref="HandOver{TSink}"/> gives it every free range and retires
/// memblock, after which any use panics.
///
/// Capacity is fixed (<see cref="Capacity"/> ranges per set) so it works before any allocator
/// exists. Every mutating call builds its result in scratch space first: on failure (NoSpace,
/// Overflow, OutOfMemory) nothing has changed.
///
/// One CPU only, and no lock: memblock is used and retired before the other CPUs are started.
/// </summary>
public unsafe struct Memblock : IMetadataAllocator
{
    /// <summary>Ranges per set (Linux starts with 128 and doubles; we refuse instead).</summary>
    public const int Capacity = 128;

    private MemblockRegions _memory;
    private MemblockRegions _reserved;
    private int _memoryCount;
    private int _reservedCount;
    private DirectMap _directMap;
    private ulong _metadataLimit;
    private bool _retired;
    private bool _initialised;

    /// <summary>Empties both sets and records how physical memory is reached (for zeroing
    /// metadata allocations).</summary>
    public void Init(DirectMap directMap) => Init(directMap, 0);

    /// <summary>As <see cref="Init(DirectMap)"/>, with metadata kept below
    /// <paramref name="directMapLimit"/> (physical, exclusive; 0: no limit), where the direct map
    /// reaches it.</summary>
    public void Init(DirectMap directMap, ulong directMapLimit)
    {
        _memoryCount = 0;
        _reservedCount = 0;
        _directMap = directMap;
        _metadataLimit = directMapLimit == 0 ? ulong.MaxValue : directMapLimit;
        _retired = false;
        _initialised = true;
    }

    /// <summary>True after <see cref="HandOver{TSink}"/>.</summary>
    public readonly bool IsRetired => _retired;

    /// <summary>Number of memory ranges.</summary>
    public readonly int MemoryCount => _memoryCount;

    /// <summary>Number of reserved ranges.</summary>
    public readonly int ReservedCount => _reservedCount;

    /// <summary>Memory range <paramref name="i"/>.</summary>
    public readonly MemblockRegion Memory(int i)
    {
        if ((uint)i >= (uint)_memoryCount) Panic.Fail("memblock: memory index out of range", (ulong)i);
        return _memory[i];
    }

    /// <summary>Reserved range <paramref name="i"/>.</summary>
    public readonly MemblockRegion Reserved(int i)
    {
        if ((uint)i >= (uint)_reservedCount) Panic.Fail("memblock: reserved index out of range", (ulong)i);
        return _reserved[i];
    }

    private readonly void CheckUsable()
    {
        if (!_initialised) Panic.Fail("memblock: used before Init");
        if (_retired) Panic.Fail("memblock: used after hand-over to the page allocator");
    }

    /// <summary>Adds RAM [start, end). Overlapping or touching ranges merge.
    /// Return: Ok; EndBeforeStart; NoSpace when the set is full (nothing changed).</summary>
    public Status AddMemory(ulong start, ulong end)
    {
        CheckUsable();
        if (end < start) return Status.EndBeforeStart;
        if (end == start) return Status.Ok;
        return Insert(ref _memory, ref _memoryCount, start, end, ReservedFor.None);
    }

    /// <summary>Reserves [start, end) for <paramref name="owner"/>. Parts already reserved keep
    /// their owner; touching reservations of the same owner merge. Reserving outside memory is
    /// allowed (firmware areas). Return: Ok; EndBeforeStart; NoSpace (nothing changed).</summary>
    public Status Reserve(ulong start, ulong end, ReservedFor owner)
    {
        CheckUsable();
        if (end < start) return Status.EndBeforeStart;
        if (end == start) return Status.Ok;
        if (owner == ReservedFor.None) owner = ReservedFor.Other;
        return Insert(ref _reserved, ref _reservedCount, start, end, owner);
    }

    /// <summary>Reserves [start, start + size); Overflow when that wraps.</summary>
    public Status ReserveSize(ulong start, ulong size, ReservedFor owner)
    {
        if (size > ulong.MaxValue - start) return Status.Overflow;
        return Reserve(start, start + size, owner);
    }

    /// <summary>
    /// Finds the highest free, <paramref name="alignment"/>-aligned range of
    /// <paramref name="size"/> bytes that ends at or below <paramref name="limit"/> and does not
    /// touch page 0, and reserves it for <paramref name="owner"/>.
    /// Return: Ok and the physical address; InvalidArgument for size 0 or an alignment that is
    /// not a power of two; OutOfMemory when nothing fits; NoSpace when the reserved set is full.
    /// </summary>
    public Status Allocate(ulong size, ulong alignment, ulong limit, ReservedFor owner, out ulong phys)
    {
        CheckUsable();
        phys = 0;
        if (size == 0 || alignment == 0 || (alignment & (alignment - 1)) != 0) return Status.InvalidArgument;
        if (alignment < PageSize.Bytes) alignment = PageSize.Bytes;
        if (!PageSize.TryAlignUp(size, out size)) return Status.Overflow;

        // Walk memory top-down and, inside each memory range, the gaps between reservations
        // top-down; take the first (highest) fit.
        for (int m = _memoryCount - 1; m >= 0; m--)
        {
            ulong memStart = _memory[m].Start, memEnd = _memory[m].End;
            if (memStart < PageSize.Bytes) memStart = PageSize.Bytes; // never page 0
            ulong gapEnd = memEnd;
            int r = _reservedCount - 1;
            while (r >= 0 && _reserved[r].Start >= memEnd) r--;
            while (true)
            {
                ulong gapStart = memStart;
                if (r >= 0 && _reserved[r].End > memStart) gapStart = _reserved[r].End > gapEnd ? gapEnd : _reserved[r].End;
                if (TryFit(gapStart, gapEnd, size, alignment, limit, out ulong found))
                {
                    Status s = Reserve(found, found + size, owner == ReservedFor.None ? ReservedFor.BootAllocation : owner);
                    if (s != Status.Ok) return s;
                    phys = found;
                    return Status.Ok;
                }
                if (r < 0 || _reserved[r].End <= memStart) break;
                gapEnd = _reserved[r].Start > memStart ? _reserved[r].Start : memStart;
                r--;
                if (gapEnd <= memStart) break;
            }
        }
        return Status.OutOfMemory;
    }

    private static bool TryFit(ulong start, ulong end, ulong size, ulong alignment, ulong limit, out ulong found)
    {
        found = 0;
        if (end > limit) end = limit;
        if (end <= start || end - start < size) return false;
        ulong candidate = (end - size) & ~(alignment - 1);
        if (candidate < start) return false;
        found = candidate;
        return true;
    }

    /// <summary><see cref="IMetadataAllocator"/>: a zeroed top-down allocation for
    /// <see cref="ReservedFor.FrameMetadata"/>, below the direct-map limit given to
    /// <see cref="Init(DirectMap, ulong)"/> (else below the 52-bit limit).</summary>
    public Status AllocateMetadata(ulong bytes, ulong alignment, out byte* virt, out PhysAddr phys)
    {
        virt = null;
        phys = default;
        Status s = Allocate(bytes, alignment, _metadataLimit, ReservedFor.FrameMetadata, out ulong start);
        if (s != Status.Ok) return s;
        phys = PhysAddr.NewUnchecked(start);
        virt = _directMap.ToVirt(start);
        MemoryOps.Zero(virt, (bytes + PageSize.OffsetMask) & ~PageSize.OffsetMask);
        return Status.Ok;
    }

    /// <summary>Total bytes of memory.</summary>
    public readonly ulong TotalMemory()
    {
        ulong sum = 0;
        for (int i = 0; i < _memoryCount; i++) sum += _memory[i].End - _memory[i].Start;
        return sum;
    }

    /// <summary>Bytes of memory that are reserved (reservations outside memory do not count).</summary>
    public readonly ulong ReservedMemory()
    {
        ulong sum = 0;
        for (int i = 0; i < _reservedCount; i++)
            for (int m = 0; m < _memoryCount; m++)
            {
                ulong s = _reserved[i].Start > _memory[m].Start ? _reserved[i].Start : _memory[m].Start;
                ulong e = _reserved[i].End < _memory[m].End ? _reserved[i].End : _memory[m].End;
                if (e > s) sum += e - s;
            }
        return sum;
    }

    /// <summary>
    /// Gives every free range (memory minus reserved, aligned inward to whole frames) to
    /// <paramref name="sink"/> in ascending order, then retires memblock: any later call panics.
    /// Returns the number of frames handed over.
    /// </summary>
    public ulong HandOver<TSink>(ref TSink sink) where TSink : struct, IFreeRangeSink
    {
        ulong frames = ForEachFree(ref sink, ulong.MaxValue);
        _retired = true;
        return frames;
    }

    /// <summary>
    /// Calls <paramref name="sink"/> for every free frame range below <paramref name="endPfn"/>
    /// (memory minus reserved, aligned inward to whole frames), in ascending order, without
    /// changing memblock. Returns the number of frames visited.
    /// </summary>
    public readonly ulong ForEachFree<TSink>(ref TSink sink, ulong endPfn) where TSink : struct, IFreeRangeSink
    {
        if (!_initialised) Panic.Fail("memblock: used before Init");
        if (_retired) Panic.Fail("memblock: used after hand-over to the page allocator");
        ulong frames = 0;
        for (int m = 0; m < _memoryCount; m++)
        {
            ulong cursor = _memory[m].Start, memEnd = _memory[m].End;
            int k = 0;
            while (k < _reservedCount && _reserved[k].End <= cursor) k++;
            while (cursor < memEnd)
            {
                ulong freeEnd = memEnd;
                if (k < _reservedCount && _reserved[k].Start < memEnd) freeEnd = _reserved[k].Start > cursor ? _reserved[k].Start : cursor;
                ulong s = (cursor + PageSize.OffsetMask) >> PageSize.Shift, e = freeEnd >> PageSize.Shift;
                if (e > endPfn) e = endPfn;
                if (e > s)
                {
                    sink.AddFreeRange(Pfn.NewUnchecked(s), Pfn.NewUnchecked(e));
                    frames += e - s;
                }
                if (k >= _reservedCount || _reserved[k].Start >= memEnd) break;
                if (_reserved[k].End > cursor) cursor = _reserved[k].End;
                k++;
            }
        }
        return frames;
    }

    /// <summary>Prints both sets the way Linux's memblock=debug does.</summary>
    public readonly void Dump<TSink>(ref TextWriter<TSink> w) where TSink : struct, ITextSink
    {
        w.Str("memblock: memory "); w.Dec((ulong)_memoryCount); w.Str(" ranges, "); w.Size(TotalMemory()); w.Line();
        for (int i = 0; i < _memoryCount; i++)
        {
            w.Str("  memory[");  w.Dec((ulong)i); w.Str("]   [mem "); w.Hex(_memory[i].Start, 16); w.Char('-'); w.Hex(_memory[i].End - 1, 16);
            w.Str("] "); w.Size(_memory[i].End - _memory[i].Start); w.Line();
        }
        w.Str("memblock: reserved "); w.Dec((ulong)_reservedCount); w.Str(" ranges, "); w.Size(ReservedMemory()); w.Str(" of memory"); w.Line();
        for (int i = 0; i < _reservedCount; i++)
        {
            w.Str("  reserved["); w.Dec((ulong)i); w.Str("] [mem "); w.Hex(_reserved[i].Start, 16); w.Char('-'); w.Hex(_reserved[i].End - 1, 16);
            w.Str("] "); w.StrPad(ReservedForNames.Name(_reserved[i].Owner), 16); w.Size(_reserved[i].End - _reserved[i].Start); w.Line();
        }
    }

    // Union of the sorted set with [start, end): existing parts keep their owner, new parts get
    // `owner`; touching neighbours with equal owners merge. Built in scratch, copied on success.
    private static Status Insert(ref MemblockRegions set, ref int count, ulong start, ulong end, ReservedFor owner)
    {
        MemblockScratch scratch = default;
        int n = 0;
        ulong cursor = start;
        for (int i = 0; i < count; i++)
        {
            MemblockRegion cur = set[i];
            if (cursor < end && cur.Start > cursor)
            {
                ulong pieceEnd = cur.Start < end ? cur.Start : end;
                Append(ref scratch, ref n, cursor, pieceEnd, owner);
                cursor = pieceEnd;
            }
            Append(ref scratch, ref n, cur.Start, cur.End, cur.Owner);
            if (cur.End > cursor) cursor = cur.End;
        }
        if (cursor < end) Append(ref scratch, ref n, cursor, end, owner);
        if (n > Capacity) return Status.NoSpace;
        for (int i = 0; i < n; i++) set[i] = scratch[i];
        count = n;
        return Status.Ok;
    }

    private static void Append(ref MemblockScratch scratch, ref int n, ulong start, ulong end, ReservedFor owner)
    {
        if (n > 0 && scratch[n - 1].End == start && scratch[n - 1].Owner == owner)
        {
            scratch[n - 1].End = end;
            return;
        }
        scratch[n++] = new MemblockRegion(start, end, owner);
    }
}
