using SharpMM.Addressing;
using SharpMM.Diagnostics;
using SharpMM.Paging;
using SharpMM.User;

namespace SharpMM.Kernel;

/// <summary>
/// layout=phantom's object space, the whole window 0x80000000-0xC0000000 (1 GiB, 262,144 pages):
/// pages paged in on demand by the page-fault handler from the library's <see cref="PersistentRegion"/>
/// on a RAM disk (<see cref="RamDisk"/>), as Phantom OS pages its object space from disk.
///
/// The window is larger than any store this machine can give it (two copies of every page of
/// 1 GiB would be 2 GiB of RAM), so a window page gets a page of the region only when a snapshot
/// first saves it, and the object directory says which: one 16-bit entry per window page (0: the
/// page was never saved and reads zero), kept in RAM and saved in the region's first
/// <see cref="DirectoryPages"/> pages with every snapshot that changes it, so that the store
/// describes itself. Region pages are handed out in order and never given back (an object page,
/// once saved, keeps its place).
/// <code>
///   not present, read           a frame (kernel class, low memory) filled from the page's last
///                               good copy (zero when it has none), mapped read-only
///   not present, write          the same, mapped writable and marked changed (one fault, not two)
///   write to a read-only page   made writable and marked changed
///   Snapshot()                  every changed resident page written (a region page assigned to
///                               the ones never saved), the directory pages that changed, the
///                               commit record; the pages are read-only again. NoSpace when the
///                               changed pages never saved do not fit the pages left: nothing is
///                               written, the last snapshot stays the good one
///   DropResident()              every resident page unmapped and its frame freed; changes since
///                               the last snapshot are lost, as in a crash (the next access pages
///                               the last good copy in)
/// </code>
/// The store's size follows the machine's RAM: the RAM disk takes an eighth of the RAM the
/// library manages, in 4 MiB blocks of low memory, at most what one region indexes
/// (<see cref="PersistentRegion.MaxPages"/> pages, 32,514 slots, 127 MiB); a 2 GiB guest gets the
/// most, 16,256 region pages of which 16,128 hold objects (63 MiB of changed pages), a 512 MiB one
/// (15 blocks) 7,679 and 7,551. One CPU, interrupts off: the handler runs on the kernel stack of the faulting
/// access.
/// </summary>
internal static unsafe class ObjectSpace
{
    public const ulong Start = 0x80000000, End = 0xC0000000;
    /// <summary>Pages of the window, all of them object space.</summary>
    public const ulong WindowPages = (End - Start) >> PageSize.Shift;
    /// <summary>Directory entries per page, and the region pages the directory takes (the first ones).</summary>
    private const ulong EntriesPerPage = PageSize.Bytes / sizeof(ushort);
    public const ulong DirectoryPages = WindowPages / EntriesPerPage;
    /// <summary>The RAM disk's block: the buddy allocator's largest (order 10, 4 MiB).</summary>
    private const uint ChunkOrder = 10;
    private const ulong ChunkSlots = 1UL << (int)ChunkOrder;
    /// <summary>The share of the machine's RAM the RAM disk takes (1 / RamShare).</summary>
    private const ulong RamShare = 8;

    private static RamDisk s_disk;
    private static PersistentRegion s_region;
    private static ushort* s_directory;
    private static ulong* s_resident, s_changed;      // one bit per window page
    private static ulong s_nextRegionPage;
    private static bool s_ready;

    /// <summary>Pages paged in by the fault handler since boot.</summary>
    public static ulong PageIns;
    /// <summary>Writes that marked a page changed since boot.</summary>
    public static ulong DirtyMarks;
    /// <summary>Directory pages the last successful snapshot wrote.</summary>
    public static ulong DirectoryPagesWritten;

    public static bool Ready => s_ready;
    public static ref PersistentRegion Region => ref s_region;
    /// <summary>Region pages that can hold objects (the region less its directory pages).</summary>
    public static ulong Capacity => s_region.PageCount - DirectoryPages;
    /// <summary>Region pages holding objects so far.</summary>
    public static ulong Used => s_nextRegionPage - DirectoryPages;

    /// <summary>The RAM disk, the directory, the bitmaps and the region's metadata from the buddy
    /// allocator (kernel class), the region formatted (an empty first snapshot). False, with the
    /// reason on serial and nothing kept, when memory is short.</summary>
    public static bool Init()
    {
        TextWriter<SerialSink> w = Log.Writer();
        KernelFrames frames = default;
        ulong maxSlots = PersistentRegion.SlotsFor(PersistentRegion.MaxPages);
        ulong wantChunks = PhysicalBoot.Memory.PresentFrames / RamShare / ChunkSlots;
        if (wantChunks > (maxSlots + ChunkSlots - 1) / ChunkSlots) wantChunks = (maxSlots + ChunkSlots - 1) / ChunkSlots;
        if (wantChunks > RamDisk.MaxChunks) wantChunks = RamDisk.MaxChunks;
        s_disk = default;
        while ((ulong)s_disk.Chunks < wantChunks && frames.Allocate(ChunkOrder, out Pfn chunk) == Status.Ok)
            s_disk.AddChunk(Platform.DirectMap.ToVirt(chunk.ToAddr().Value), chunk.Value);
        ulong slots = (ulong)s_disk.Chunks * ChunkSlots;
        if (slots > maxSlots) slots = maxSlots;
        ulong regionPages = slots < 2 ? 0 : (slots - 2) / 2;
        if (regionPages <= DirectoryPages)
        {
            s_disk.Release();
            w.Line("object space: not set up: an eighth of RAM is less than one 4 MiB block for the RAM disk, or no such block was free");
            return false;
        }
        s_disk.SetSlots(slots);

        uint dirOrder = OrderFor(DirectoryPages), bitsOrder = OrderFor(2 * WindowPages / 8 / PageSize.Bytes);
        uint metaOrder = OrderFor((PersistentRegion.MetadataBytes(regionPages) + PageSize.OffsetMask) >> PageSize.Shift);
        Pfn dir = default, bits = default, meta = default;
        bool got = frames.Allocate(dirOrder, out dir) == Status.Ok;
        if (got && frames.Allocate(bitsOrder, out bits) != Status.Ok) { frames.Free(dir, dirOrder); got = false; }
        if (got && frames.Allocate(metaOrder, out meta) != Status.Ok) { frames.Free(dir, dirOrder); frames.Free(bits, bitsOrder); got = false; }
        if (!got)
        {
            s_disk.Release();
            w.Line("object space: no memory for the object directory or the region's metadata, not set up");
            return false;
        }
        s_directory = (ushort*)Platform.DirectMap.ToVirt(dir.ToAddr().Value);
        MemoryOps.Zero((byte*)s_directory, DirectoryPages * PageSize.Bytes);
        s_resident = (ulong*)Platform.DirectMap.ToVirt(bits.ToAddr().Value);
        s_changed = s_resident + WindowPages / 64;
        MemoryOps.Zero((byte*)s_resident, 2 * WindowPages / 8);
        s_nextRegionPage = DirectoryPages;

        Status s = s_region.Format(ref s_disk, 0, regionPages, Platform.DirectMap.ToVirt(meta.ToAddr().Value));
        if (s != Status.Ok) KernelPanic.Fail("object space: formatting the persistent region failed, status", (ulong)s);
        s_ready = true;
        w.Str("object space: ");
        w.Hex(Start, 8);
        w.Str("-");
        w.Hex(End, 8);
        w.Str(", ");
        w.Dec(WindowPages);
        w.Str(" pages, backed by a persistent region on a RAM disk of ");
        w.Dec(slots);
        w.Str(" pages (");
        w.Size(slots * PageSize.Bytes);
        w.Str(" in ");
        w.Dec((ulong)s_disk.Chunks);
        w.Str(" blocks of 4 MiB: an eighth of RAM, at most one region's): ");
        w.Dec(regionPages);
        w.Str(" region pages, ");
        w.Dec(DirectoryPages);
        w.Str(" of them the object directory, room for ");
        w.Dec(Capacity);
        w.Line(" saved pages; paged in on demand");
        return true;
    }

    private static uint OrderFor(ulong pages)
    {
        uint order = 0;
        while ((1UL << (int)order) < pages) order++;
        return order;
    }

    private static bool Bit(ulong* map, ulong i) => (map[i >> 6] & (1UL << (int)(i & 63))) != 0;
    private static void Set(ulong* map, ulong i) => map[i >> 6] |= 1UL << (int)(i & 63);
    private static void Clear(ulong* map, ulong i) => map[i >> 6] &= ~(1UL << (int)(i & 63));
    private static ulong Address(ulong page) => Start + (page << PageSize.Shift);

    /// <summary>The page-fault handler's part: true when the fault at <paramref name="cr2"/> was
    /// an object-space access it resolved (the access runs again).</summary>
    public static bool TryHandle(uint cr2, uint error)
    {
        if (!s_ready || cr2 < Start || cr2 >= End || (error & 0x18) != 0) return false;
        ulong va = cr2 & ~PageSize.OffsetMask;
        ulong page = (va - Start) >> PageSize.Shift;
        bool write = (error & 2) != 0;
        ref var m = ref KernelAddressSpace.Live;
        if ((error & 1) != 0)
        {
            // Present: a write to a read-only (saved) page marks it changed.
            if (!write) return false;
            if (m.Protect(VirtAddr.NewUnchecked(va), PageFlags.Writable, out FlushToken pt) != Status.Ok) return false;
            pt.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
            Set(s_changed, page);
            DirtyMarks++;
            return true;
        }
        KernelFrames frames = default;
        if (frames.Allocate(0, out Pfn f) != Status.Ok) return false;
        byte* content = Platform.DirectMap.ToVirt(f.ToAddr().Value);
        ushort regionPage = s_directory[page];
        Status s = regionPage == 0 ? Status.Ok : s_region.ReadPage(ref s_disk, regionPage, content);
        if (regionPage == 0) MemoryOps.Zero(content, PageSize.Bytes);
        if (s != Status.Ok
            || m.Map(VirtAddr.NewUnchecked(va), f.ToAddr(), MappingSize.Size4KiB, write ? PageFlags.Writable : PageFlags.None, ref frames, out FlushToken token) != Status.Ok)
        {
            frames.Free(f, 0);
            return false;
        }
        token.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
        Set(s_resident, page);
        PageIns++;
        if (write)
        {
            Set(s_changed, page);
            DirtyMarks++;
        }
        return true;
    }

    /// <summary>
    /// A snapshot of the changed resident pages. Return: Ok (<paramref name="written"/> object
    /// pages written); NoSpace when the changed pages never saved need more region pages than are
    /// left (nothing written, the pages stay changed, the last snapshot stays the good one); the
    /// store's error otherwise (the snapshot abandoned, the directory as it was).
    /// </summary>
    public static Status Snapshot(out ulong written)
    {
        written = 0;
        ulong fresh = 0;
        for (ulong word = 0; word < WindowPages / 64; word++)
            for (ulong bits = s_changed[word]; bits != 0; bits &= bits - 1)
                if (s_directory[word * 64 + TrailingZeros(bits)] == 0) fresh++;
        if (fresh > s_region.PageCount - s_nextRegionPage) return Status.NoSpace;

        ulong firstNew = s_nextRegionPage;
        ulong* dirChanged = stackalloc ulong[(int)((DirectoryPages + 63) / 64)];
        for (ulong i = 0; i < (DirectoryPages + 63) / 64; i++) dirChanged[i] = 0;
        ref var m = ref KernelAddressSpace.Live;
        s_region.BeginSnapshot();
        Status s = Status.Ok;
        for (ulong word = 0; word < WindowPages / 64 && s == Status.Ok; word++)
        {
            for (ulong bits = s_changed[word]; bits != 0 && s == Status.Ok; bits &= bits - 1)
            {
                ulong page = word * 64 + TrailingZeros(bits);
                if (m.Translate(VirtAddr.NewUnchecked(Address(page)), out Translation t) != Status.Ok)
                    KernelPanic.Fail("object space: a changed page is not resident at", Address(page));
                if (s_directory[page] == 0)
                {
                    s_directory[page] = (ushort)s_nextRegionPage++;
                    Set(dirChanged, page / EntriesPerPage);
                }
                s = s_region.WritePage(ref s_disk, s_directory[page], Platform.DirectMap.ToVirt(t.PageBase.Value));
                if (s == Status.Ok) written++;
            }
        }
        ulong dirWritten = 0;
        for (ulong d = 0; d < DirectoryPages && s == Status.Ok; d++)
        {
            if (!Bit(dirChanged, d)) continue;
            s = s_region.WritePage(ref s_disk, d, (byte*)(s_directory + d * EntriesPerPage));
            dirWritten++;
        }
        if (s == Status.Ok) s = s_region.Commit(ref s_disk);
        else s_region.AbortSnapshot();
        if (s != Status.Ok)
        {
            // No record names what was written: the pages handed out now go back.
            for (ulong page = 0; page < WindowPages; page++)
                if (s_directory[page] >= firstNew) s_directory[page] = 0;
            s_nextRegionPage = firstNew;
            written = 0;
            return s;
        }
        DirectoryPagesWritten = dirWritten;
        // Clean again: read-only, so that the next write marks the page.
        for (ulong word = 0; word < WindowPages / 64; word++)
        {
            for (ulong bits = s_changed[word]; bits != 0; bits &= bits - 1)
            {
                ulong va = Address(word * 64 + TrailingZeros(bits));
                if (m.Protect(VirtAddr.NewUnchecked(va), PageFlags.None, out FlushToken pt) != Status.Ok)
                    KernelPanic.Fail("object space: write-protecting a saved page failed at", va);
                pt.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
            }
            s_changed[word] = 0;
        }
        return Status.Ok;
    }

    /// <summary>Unmaps every resident page and frees its frame; changes not yet in a snapshot are
    /// lost. Returns the pages dropped.</summary>
    public static ulong DropResident()
    {
        ref var m = ref KernelAddressSpace.Live;
        KernelFrames frames = default;
        ulong dropped = 0;
        for (ulong word = 0; word < WindowPages / 64; word++)
        {
            for (ulong bits = s_resident[word]; bits != 0; bits &= bits - 1)
            {
                ulong va = Address(word * 64 + TrailingZeros(bits));
                if (m.Translate(VirtAddr.NewUnchecked(va), out Translation t) != Status.Ok)
                    KernelPanic.Fail("object space: a resident page is not mapped at", va);
                if (m.Unmap(VirtAddr.NewUnchecked(va), ref frames, out FlushToken token) != Status.Ok)
                    KernelPanic.Fail("object space: unmapping a resident page failed at", va);
                token.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
                frames.Free(Pfn.NewUnchecked(t.PageBase.Value >> PageSize.Shift), 0);
                dropped++;
            }
            s_resident[word] = 0;
            s_changed[word] = 0;
        }
        return dropped;
    }

    /// <summary>True when the directory's pages in the last good snapshot equal the directory in
    /// RAM (after a successful snapshot they must).</summary>
    public static bool DirectoryMatchesStore()
    {
        KernelFrames frames = default;
        if (frames.Allocate(0, out Pfn f) != Status.Ok) return false;
        byte* copy = Platform.DirectMap.ToVirt(f.ToAddr().Value);
        bool same = true;
        for (ulong d = 0; d < DirectoryPages && same; d++)
        {
            if (s_region.ReadPage(ref s_disk, d, copy) != Status.Ok) { same = false; break; }
            ushort* mine = s_directory + d * EntriesPerPage;
            for (ulong i = 0; i < EntriesPerPage && same; i++) same = ((ushort*)copy)[i] == mine[i];
        }
        frames.Free(f, 0);
        return same;
    }

    private static ulong TrailingZeros(ulong x)
    {
        ulong n = 0;
        while ((x & 1) == 0) { x >>= 1; n++; }
        return n;
    }

    /// <summary>The store: blocks of 4 MiB of low memory reached through the direct map, one page
    /// per slot; a write is durable when it returns (RAM).</summary>
    private struct RamDisk : IBackingStore
    {
        public const int MaxChunks = 32;
        private fixed ulong _chunk[MaxChunks];   // each block's direct-map address
        private fixed uint _pfn[MaxChunks];      // and its first frame, to give it back
        private int _count;
        private ulong _slots;

        public int Chunks => _count;
        public readonly ulong SlotCount => _slots;

        public void AddChunk(byte* @base, ulong pfn)
        {
            _chunk[_count] = (ulong)(nuint)@base;
            _pfn[_count] = (uint)pfn;
            _count++;
        }

        public void SetSlots(ulong slots) => _slots = slots;

        /// <summary>Gives every block back (a setup that could not finish).</summary>
        public void Release()
        {
            KernelFrames frames = default;
            for (int i = 0; i < _count; i++) frames.Free(Pfn.NewUnchecked(_pfn[i]), ChunkOrder);
            _count = 0;
            _slots = 0;
        }

        private byte* SlotAddress(ulong slot) => (byte*)(nuint)_chunk[(int)(slot / ChunkSlots)] + (slot % ChunkSlots) * PageSize.Bytes;

        public Status Read(ulong slot, byte* page)
        {
            if (slot >= _slots) return Status.OutOfRange;
            MemoryOps.Copy(page, SlotAddress(slot), PageSize.Bytes);
            return Status.Ok;
        }

        public Status Write(ulong slot, byte* page)
        {
            if (slot >= _slots) return Status.OutOfRange;
            MemoryOps.Copy(SlotAddress(slot), page, PageSize.Bytes);
            return Status.Ok;
        }

        public Status Flush() => Status.Ok;
    }
}
