using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Paging;
using SharpMM.Physical;

namespace SharpMM.Virtual;

/// <summary>
/// The kernel's virtually contiguous allocations and device mappings (Linux's vmalloc and
/// ioremap; Phantom OS's page_map_io into its address-space pool), over one address space:
///
/// <code>
///   vmalloc window:  [ area | guard | area | guard | ... ]   pages from the frame allocator,
///                                                            mapped RW NX, freed with the area
///   device window:   [ mmio | guard | ... ]                  caller's physical range, mapped
///                                                            uncached RW NX, never freed here
/// </code>
///
/// Every area is followed by an unmapped guard page (<see cref="VirtualRangeAllocator"/>).
/// Multi-step operations roll back: a <see cref="Vmalloc"/> that runs out of frames or table
/// pages half way unmaps and frees what it did and returns the range, so the frame allocator's
/// free count is what it was. Page-table changes are flushed through the policy and the arch
/// hooks before a call returns (new mappings need none on x86; removals invalidate).
///
/// Several CPUs: kernel mappings are in every space, so a removal is shot down on every CPU
/// online (<see cref="TlbShootdown"/>), in batches, and the frames and table pages it let go of
/// are freed only after (<see cref="FreeAfterFlush"/>). The windows and the tables are changed
/// under <see cref="Lock"/> (rank KernelVirtual).
///
/// Not done: huge-page vmalloc, lazy purging of freed ranges, write-combining (needs PAT).
/// </summary>
public unsafe struct KernelVirtualMemory<TFormat, TAccess>
    where TFormat : struct, IPagingFormat
    where TAccess : struct, ITableAccess
{
    private VirtualRangeAllocator _vmalloc;
    private VirtualRangeAllocator _devices;
    private Mapper<TFormat, TAccess> _mapper;
    private FlushPolicy _policy;
    private ulong _vmallocPages;
    /// <summary>Held by every operation: the two windows, the kernel tables they map, the counts.</summary>
    public SpinLock Lock;

    /// <summary>Uses <paramref name="mapper"/>'s address space, vmalloc window
    /// [vmallocStart, vmallocEnd) and device window [deviceStart, deviceEnd).</summary>
    public Status Init(Mapper<TFormat, TAccess> mapper, ulong vmallocStart, ulong vmallocEnd, ulong deviceStart, ulong deviceEnd)
    {
        Status s = _vmalloc.Init(vmallocStart, vmallocEnd);
        if (s == Status.Ok) s = _devices.Init(deviceStart, deviceEnd);
        if (s != Status.Ok) return s;
        _mapper = mapper;
        _policy = FlushPolicy.Default;
        Lock.Init(LockRank.KernelVirtual);
        _vmallocPages = 0;
        return Status.Ok;
    }

    /// <summary>Adds <see cref="Lock"/> to <paramref name="report"/>.</summary>
    public readonly void AddLockStats(ref LockReport report) => report.Add(LockRank.KernelVirtual, 1, Lock.Stats);

    /// <summary>Pages currently backing vmalloc areas.</summary>
    public readonly ulong VmallocPages => _vmallocPages;
    /// <summary>The flush counters.</summary>
    public readonly FlushCounters Counters => _policy.Counters;
    /// <summary>The vmalloc window's range allocator (for reports).</summary>
    public readonly VirtualRangeAllocator VmallocRanges => _vmalloc;

    /// <summary>
    /// <paramref name="bytes"/> (rounded up to pages) of virtually contiguous kernel memory:
    /// order-0 frames from <paramref name="frames"/>, mapped read-write, not executable.
    /// Return: Ok and the address; InvalidArgument; OutOfMemory (window, frames or table pages:
    /// everything undone); NoSpace.
    /// </summary>
    public Status Vmalloc<TFrames, TArch>(ulong bytes, ref TFrames frames, ref TArch arch, out ulong va)
        where TFrames : struct, IFrameAllocator where TArch : struct, IArchHooks
    {
        Lock.Acquire();
        Status s = VmallocLocked(bytes, ref frames, ref arch, out va);
        Lock.Release();
        return s;
    }

    private Status VmallocLocked<TFrames, TArch>(ulong bytes, ref TFrames frames, ref TArch arch, out ulong va)
        where TFrames : struct, IFrameAllocator where TArch : struct, IArchHooks
    {
        Status s = _vmalloc.Allocate(bytes, PageSize.Bytes, out va);
        if (s != Status.Ok) return s;
        _vmalloc.TryGetSize(va, out ulong size);
        ulong done = 0;
        for (; done < size; done += PageSize.Bytes)
        {
            s = frames.Allocate(0, out Pfn pfn);
            if (s != Status.Ok) break;
            // A failed Map may have linked tables and taken them out again (every CPU walks
            // kernel tables): they are freed only after the flush on every CPU online.
            var later = new FreeAfterFlush();
            s = _mapper.Map(VirtAddr.NewTruncate(va + done), pfn.ToAddr(), MappingSize.Size4KiB, PageFlags.Writable, ref frames, ref later, out FlushToken t);
            if (s != Status.Ok)
            {
                frames.Free(pfn, 0);
                var failed = new FlushBatch();
                failed.Add(in t);
                FlushEverywhere(ref failed, ref later, ref frames, ref arch);
                break;
            }
            t.Flush(ref arch, ref _policy);
            MappingEvents.Mapped(va + done, pfn.Value);
        }
        if (s == Status.Ok)
        {
            _vmallocPages += size >> PageSize.Shift;
            return Status.Ok;
        }
        UnmapAndFree(va, done, ref frames, ref arch);
        _vmalloc.Free(va);
        va = 0;
        return s == Status.NoSpace ? s : Status.OutOfMemory;
    }

    /// <summary>Frees a vmalloc area: unmaps it, returns its frames, releases the range.
    /// Return: Ok; NotAllocated / OutOfRange for an address that is not a live area's start
    /// (nothing changed).</summary>
    public Status Vfree<TFrames, TArch>(ulong va, ref TFrames frames, ref TArch arch)
        where TFrames : struct, IFrameAllocator where TArch : struct, IArchHooks
    {
        Lock.Acquire();
        Status s = VfreeLocked(va, ref frames, ref arch);
        Lock.Release();
        return s;
    }

    private Status VfreeLocked<TFrames, TArch>(ulong va, ref TFrames frames, ref TArch arch)
        where TFrames : struct, IFrameAllocator where TArch : struct, IArchHooks
    {
        if (va < _vmalloc.WindowStart || va >= _vmalloc.WindowEnd) return Status.OutOfRange;
        if (!_vmalloc.TryGetSize(va, out ulong size)) return Status.NotAllocated;
        UnmapAndFree(va, size, ref frames, ref arch);
        _vmallocPages -= size >> PageSize.Shift;
        return _vmalloc.Free(va);
    }

    // Unmaps [va, va + bytes) of a vmalloc area and frees its frames and emptied tables, in
    // batches: each batch is invalidated on every CPU online before its frames go back.
    private void UnmapAndFree<TFrames, TArch>(ulong va, ulong bytes, ref TFrames frames, ref TArch arch)
        where TFrames : struct, IFrameAllocator where TArch : struct, IArchHooks
    {
        var batch = new FlushBatch();
        var later = new FreeAfterFlush();
        for (ulong off = 0; off < bytes; off += PageSize.Bytes)
        {
            VirtAddr page = VirtAddr.NewTruncate(va + off);
            if (_mapper.Translate(page, out Translation tr) != Status.Ok) Panic.Fail("vmalloc: page of a live area is not mapped", va + off);
            if (_mapper.Unmap(page, ref later, out FlushToken t) != Status.Ok) Panic.Fail("vmalloc: unmap of a live area failed", va + off);
            batch.Add(in t);
            MappingEvents.Unmapped(va + off, tr.PageBase.Value >> PageSize.Shift);
            later.Free(Pfn.NewUnchecked(tr.PageBase.Value >> PageSize.Shift), 0);
            if (later.NearlyFull || batch.Count == FlushBatch.Capacity) FlushEverywhere(ref batch, ref later, ref frames, ref arch);
        }
        FlushEverywhere(ref batch, ref later, ref frames, ref arch);
    }

    // Kernel mappings are in every address space: the other CPUs online invalidate too, then
    // this one, and only then are the frames let go of reused.
    private void FlushEverywhere<TFrames, TArch>(ref FlushBatch batch, ref FreeAfterFlush later, ref TFrames frames, ref TArch arch)
        where TFrames : struct, IFrameAllocator where TArch : struct, IArchHooks
    {
        TlbShootdown.Send(Cpu.OnlineMask, in batch);
        batch.Flush(ref arch, ref _policy);
        later.Release(ref frames);
    }

    /// <summary>
    /// Maps device memory [phys, phys + bytes) (page-aligned start) into the device window with
    /// <paramref name="mode"/> caching, read-write, not executable. The frames stay the caller's.
    /// Return: Ok and the address; Misaligned; InvalidArgument; OutOfMemory (window or tables:
    /// nothing left mapped); NoSpace.
    /// </summary>
    public Status MapDevice<TFrames, TArch>(ulong phys, ulong bytes, CacheMode mode, ref TFrames frames, ref TArch arch, out ulong va)
        where TFrames : struct, IFrameAllocator where TArch : struct, IArchHooks
    {
        Lock.Acquire();
        Status s = MapDeviceLocked(phys, bytes, mode, ref frames, ref arch, out va);
        Lock.Release();
        return s;
    }

    private Status MapDeviceLocked<TFrames, TArch>(ulong phys, ulong bytes, CacheMode mode, ref TFrames frames, ref TArch arch, out ulong va)
        where TFrames : struct, IFrameAllocator where TArch : struct, IArchHooks
    {
        va = 0;
        if (!PageSize.IsAligned(phys)) return Status.Misaligned;
        // The whole physical range first (no page is mapped for a range the entries cannot hold).
        ulong physLimit = TFormat.LeafPhysLimit(0);
        if (!PageSize.TryAlignUp(bytes, out ulong physBytes) || phys >= physLimit || physBytes > physLimit - phys) return Status.InvalidArgument;
        Status s = _devices.Allocate(bytes, PageSize.Bytes, out va);
        if (s != Status.Ok) return s;
        _devices.TryGetSize(va, out ulong size);
        PageFlags flags = PageFlags.Writable | mode switch
        {
            CacheMode.Uncached => PageFlags.CacheDisable | PageFlags.WriteThrough,
            CacheMode.WriteThrough => PageFlags.WriteThrough,
            _ => 0,
        };
        // A page at a time, as Vmalloc: a failed map's tables, and the tables the rollback
        // empties, are kept until every CPU online has flushed (any CPU's walk may have cached
        // the entries that pointed at them meanwhile), then freed.
        var batch = new FlushBatch();
        var later = new FreeAfterFlush();
        ulong done = 0;
        for (; done < size; done += PageSize.Bytes)
        {
            s = _mapper.Map(VirtAddr.NewTruncate(va + done), PhysAddr.NewUnchecked(phys + done), MappingSize.Size4KiB, flags, ref frames, ref later, out FlushToken t);
            batch.Add(in t);
            if (s != Status.Ok) break;
            if (batch.Count == FlushBatch.Capacity) batch.Flush(ref arch, ref _policy);   // new mappings: this CPU only
        }
        if (s == Status.Ok)
        {
            batch.Flush(ref arch, ref _policy);
            return Status.Ok;
        }
        FlushEverywhere(ref batch, ref later, ref frames, ref arch);
        UnmapPages(va, done, ref frames, ref arch);
        _devices.Free(va);
        va = 0;
        return s;
    }

    /// <summary>
    /// Maps frames the caller owns (kmalloc's large blocks: the classic "buddy pages mapped at a
    /// free virtual address") at a free range of the physical-mapping window, write-back,
    /// read-write, not executable, followed by a guard page. Undo with <see cref="UnmapDevice"/>.
    /// </summary>
    public Status MapFrames<TFrames, TArch>(ulong phys, ulong bytes, ref TFrames frames, ref TArch arch, out ulong va)
        where TFrames : struct, IFrameAllocator where TArch : struct, IArchHooks =>
        MapDevice(phys, bytes, CacheMode.WriteBack, ref frames, ref arch, out va);

    /// <summary>True when <paramref name="va"/> lies in the physical-mapping (device) window.</summary>
    public readonly bool InPhysicalWindow(ulong va) => va >= _devices.WindowStart && va < _devices.WindowEnd;

    /// <summary>Unmaps a device mapping made by <see cref="MapDevice"/>.
    /// Return: Ok; NotAllocated / OutOfRange (nothing changed).</summary>
    public Status UnmapDevice<TFrames, TArch>(ulong va, ref TFrames frames, ref TArch arch)
        where TFrames : struct, IFrameAllocator where TArch : struct, IArchHooks
    {
        Lock.Acquire();
        Status s = UnmapDeviceLocked(va, ref frames, ref arch);
        Lock.Release();
        return s;
    }

    private Status UnmapDeviceLocked<TFrames, TArch>(ulong va, ref TFrames frames, ref TArch arch)
        where TFrames : struct, IFrameAllocator where TArch : struct, IArchHooks
    {
        if (va < _devices.WindowStart || va >= _devices.WindowEnd) return Status.OutOfRange;
        if (!_devices.TryGetSize(va, out ulong size)) return Status.NotAllocated;
        UnmapPages(va, size, ref frames, ref arch);
        return _devices.Free(va);
    }

    // Unmaps [va, va + bytes) of the device window, a page at a time into the batch so that the
    // tables it empties fit the list kept for after the flush; every CPU online flushes before
    // they are freed.
    private void UnmapPages<TFrames, TArch>(ulong va, ulong bytes, ref TFrames frames, ref TArch arch)
        where TFrames : struct, IFrameAllocator where TArch : struct, IArchHooks
    {
        var batch = new FlushBatch();
        var later = new FreeAfterFlush();
        for (ulong off = 0; off < bytes; off += PageSize.Bytes)
        {
            if (_mapper.UnmapRange(VirtAddr.NewTruncate(va + off), PageSize.Bytes, ref later, ref batch) != Status.Ok) Panic.Fail("ioremap: unmap of a live mapping failed", va + off);
            if (later.NearlyFull || batch.Count == FlushBatch.Capacity) FlushEverywhere(ref batch, ref later, ref frames, ref arch);
        }
        FlushEverywhere(ref batch, ref later, ref frames, ref arch);
    }
}
