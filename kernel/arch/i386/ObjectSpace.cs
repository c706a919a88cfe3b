using SharpMM.Addressing;
using SharpMM.Diagnostics;
using SharpMM.Paging;
using SharpMM.User;

namespace SharpMM.Kernel;

/// <summary>
/// layout=phantom's object space, 0x80000000-0xC0000000: pages backed by the library's
/// <see cref="PersistentRegion"/> on a RAM disk (<see cref="RamDisk"/>) and paged in on demand
/// by the page-fault handler, as Phantom OS pages its object space from disk. The region covers
/// the first <see cref="Pages"/> pages of the space (a fault above them is not handled).
/// <code>
///   not present, read or write  a frame (kernel class, low memory) filled from the region's last
///                               good copy (zero when it has none), mapped read-only
///   write to a read-only page   made writable and marked changed (PersistentRegion.MarkDirty)
///   Snapshot()                  every changed resident page written, the commit record written;
///                               the pages are read-only again, so the next write marks them
///   DropResident()              every resident page unmapped and its frame freed (the next
///                               access pages it in from the RAM disk)
/// </code>
/// One CPU, interrupts off: the handler runs on the kernel stack of the faulting access.
/// </summary>
internal static unsafe class ObjectSpace
{
    public const ulong Start = 0x80000000, End = 0xC0000000;
    /// <summary>Pages of the object space the persistent region covers (1 MiB).</summary>
    public const ulong Pages = 256;

    private static RamDisk s_disk;
    private static PersistentRegion s_region;
    private static bool s_ready;

    /// <summary>Pages paged in by the fault handler since boot.</summary>
    public static ulong PageIns;
    /// <summary>Writes that marked a page changed since boot.</summary>
    public static ulong DirtyMarks;

    public static bool Ready => s_ready;
    public static ref PersistentRegion Region => ref s_region;

    /// <summary>The RAM disk and the region's metadata from the buddy allocator, the region
    /// formatted (an empty first snapshot). False, with the reason on serial, when memory is short.</summary>
    public static bool Init()
    {
        TextWriter<SerialSink> w = Log.Writer();
        KernelFrames frames = default;
        ulong slots = PersistentRegion.SlotsFor(Pages);
        uint diskOrder = OrderFor(slots), metaOrder = OrderFor((PersistentRegion.MetadataBytes(Pages) + PageSize.OffsetMask) >> PageSize.Shift);
        if (frames.Allocate(diskOrder, out Pfn disk) != Status.Ok) { w.Line("object space: no memory for the RAM disk, not set up"); return false; }
        if (frames.Allocate(metaOrder, out Pfn meta) != Status.Ok)
        {
            frames.Free(disk, diskOrder);
            w.Line("object space: no memory for the region's metadata, not set up");
            return false;
        }
        s_disk = new RamDisk(Platform.DirectMap.ToVirt(disk.ToAddr().Value), slots);
        Status s = s_region.Format(ref s_disk, 0, Pages, Platform.DirectMap.ToVirt(meta.ToAddr().Value));
        if (s != Status.Ok) KernelPanic.Fail("object space: formatting the persistent region failed, status", (ulong)s);
        s_ready = true;
        w.Str("object space: ");
        w.Hex(Start, 8);
        w.Str("-");
        w.Hex(End, 8);
        w.Str(", the first ");
        w.Size(Pages * PageSize.Bytes);
        w.Str(" backed by a persistent region on a RAM disk of ");
        w.Dec(slots);
        w.Str(" pages at ");
        w.Hex(disk.ToAddr().Value, 8);
        w.Line(", paged in on demand");
        return true;
    }

    private static uint OrderFor(ulong pages)
    {
        uint order = 0;
        while ((1UL << (int)order) < pages) order++;
        return order;
    }

    /// <summary>The page-fault handler's part: true when the fault at <paramref name="cr2"/> was
    /// an object-space access it resolved (the access runs again).</summary>
    public static bool TryHandle(uint cr2, uint error)
    {
        if (!s_ready || cr2 < Start || cr2 >= Start + Pages * PageSize.Bytes || (error & 0x18) != 0) return false;
        ulong va = cr2 & ~PageSize.OffsetMask;
        ulong page = (va - Start) >> PageSize.Shift;
        ref var m = ref KernelAddressSpace.Live;
        if ((error & 1) != 0)
        {
            // Present: a write to a read-only (clean) page marks it changed.
            if ((error & 2) == 0) return false;
            if (m.Protect(VirtAddr.NewUnchecked(va), PageFlags.Writable, out FlushToken pt) != Status.Ok) return false;
            pt.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
            s_region.MarkDirty(page);
            DirtyMarks++;
            return true;
        }
        KernelFrames frames = default;
        if (frames.Allocate(0, out Pfn f) != Status.Ok) return false;
        if (s_region.ReadPage(ref s_disk, page, Platform.DirectMap.ToVirt(f.ToAddr().Value)) != Status.Ok
            || m.Map(VirtAddr.NewUnchecked(va), f.ToAddr(), MappingSize.Size4KiB, PageFlags.None, ref frames, out FlushToken token) != Status.Ok)
        {
            frames.Free(f, 0);
            return false;
        }
        token.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
        PageIns++;
        return true;
    }

    /// <summary>A snapshot of the changed resident pages. Returns the library's status.</summary>
    public static Status Snapshot(out ulong written)
    {
        written = 0;
        s_region.BeginSnapshot();
        ref var m = ref KernelAddressSpace.Live;
        for (ulong p = 0; p < Pages; p++)
        {
            if (!s_region.IsDirty(p)) continue;
            ulong va = Start + p * PageSize.Bytes;
            if (m.Translate(VirtAddr.NewUnchecked(va), out Translation t) != Status.Ok) continue;
            Status s = s_region.WritePage(ref s_disk, p, Platform.DirectMap.ToVirt(t.PageBase.Value));
            if (s != Status.Ok) { s_region.AbortSnapshot(); return s; }
            written++;
        }
        Status c = s_region.Commit(ref s_disk);
        if (c != Status.Ok) return c;
        // Clean again: read-only, so that the next write marks the page.
        for (ulong p = 0; p < Pages; p++)
        {
            ulong va = Start + p * PageSize.Bytes;
            if (m.Translate(VirtAddr.NewUnchecked(va), out _) != Status.Ok) continue;
            if (m.Protect(VirtAddr.NewUnchecked(va), PageFlags.None, out FlushToken pt) == Status.Ok)
                pt.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
        }
        return Status.Ok;
    }

    /// <summary>Unmaps every resident page and frees its frame. Returns the pages dropped.</summary>
    public static ulong DropResident()
    {
        ref var m = ref KernelAddressSpace.Live;
        KernelFrames frames = default;
        ulong dropped = 0;
        for (ulong p = 0; p < Pages; p++)
        {
            ulong va = Start + p * PageSize.Bytes;
            if (m.Translate(VirtAddr.NewUnchecked(va), out Translation t) != Status.Ok) continue;
            if (m.Unmap(VirtAddr.NewUnchecked(va), ref frames, out FlushToken token) != Status.Ok)
                KernelPanic.Fail("object space: unmapping a resident page failed at", va);
            token.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
            frames.Free(Pfn.NewUnchecked(t.PageBase.Value >> PageSize.Shift), 0);
            dropped++;
        }
        return dropped;
    }

    /// <summary>The store: contiguous pages of low memory reached through the direct map, one
    /// page per slot; a write is durable when it returns (RAM).</summary>
    private struct RamDisk : IBackingStore
    {
        private readonly byte* _base;
        private readonly ulong _slots;

        public RamDisk(byte* @base, ulong slots) { _base = @base; _slots = slots; }

        public ulong SlotCount => _slots;

        public Status Read(ulong slot, byte* page)
        {
            if (slot >= _slots) return Status.OutOfRange;
            MemoryOps.Copy(page, _base + slot * PageSize.Bytes, PageSize.Bytes);
            return Status.Ok;
        }

        public Status Write(ulong slot, byte* page)
        {
            if (slot >= _slots) return Status.OutOfRange;
            MemoryOps.Copy(_base + slot * PageSize.Bytes, page, PageSize.Bytes);
            return Status.Ok;
        }

        public Status Flush() => Status.Ok;
    }
}
