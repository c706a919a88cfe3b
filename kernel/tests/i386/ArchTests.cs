using SharpMM.Addressing;
using SharpMM.Paging;
using SharpMM.Physical;
using SharpMM.Virtual;

namespace SharpMM.Kernel;

/// <summary>
/// The i386 part of the in-kernel suite (KernelTests.RunAll runs it last): the final page
/// directory as the library's walk and the MMU see it (page 0 and the identity map gone, text
/// read-only, low memory in 4 MiB pages), the recursive slot (the directory at 0xFFFFF000, a
/// table at 0xFFC00000 + 4096 * (va >> 22), a PTE changed there taking effect after invlpg, a page
/// mapped and unmapped through the live (recursive) mapper), kmap (a reused slot shows its new
/// frame; a HighMem frame, which the direct map does not reach, is written and zeroed through it).
/// </summary>
internal static unsafe class ArchTests
{
    public static void RunAll(ref TestRunner r)
    {
        r.Run("i386: the address space follows the library's layout (i386-higher-half, i386-low-2g or phantom-ia32)", &FollowsLayout);
        r.Run("i386: page 0 and the identity map fault", &NoIdentityMap);
        r.Run("i386: the earliest allocator's pages are zero and its limit holds", &EarlyPagesZeroAndLimit);
        r.Run("i386: running on the kernel stack, its guard page faults", &OnKernelStack);
        r.Run("i386: kernel text is read-only", &TextIsReadOnly);
        r.Run("i386: RAM beyond the tables' reach is in no zone (above 4 GiB without PAE)", &RamBeyondReachIgnored);
        if (!PagingMode.Pae)
        {
            r.Run("i386: a 4 MiB page of the direct map translates", &LargePageTranslates);
            r.Run("i386: the directory through the recursive slot", &DirectoryThroughRecursiveSlot);
            r.Run("i386: a PTE changed through 0xFFC00000 takes effect after invlpg", &PteThroughRecursiveSlot);
        }
        else
        {
            r.Run("i386 PAE: a 2 MiB page of the direct map translates", &PaeLargePageTranslates);
            r.Run("i386 PAE: the PDPT, and the tables through the direct map", &PaeTablesThroughDirectMap);
            r.Run("i386 PAE: a PTE changed through the direct map takes effect after invlpg", &PteThroughRecursiveSlot);
            r.Run("i386 PAE: an NX page faults on execution, text is executable", &PaeNoExecute);
            r.Run("i386 PAE: a HighMem frame above 4 GiB is zeroed through kmap", &PaeFrameAbove4GiBThroughKmap);
        }
        if (KernelAddressSpace.SharesKernelTables)
            r.Run("i386: vmalloc grows into an unused 4 MiB span while a user space is loaded; both directories see it", &KernelTablesReachEverySpace);
        if (Platform.Phantom)
        {
            r.Run("i386 phantom: the local APIC's version register through MapDevice in the device pool", &PhantomApicThroughDevicePool);
            r.Run("i386 phantom: the VGA text buffer written through MapDevice in the device pool", &PhantomVgaThroughDevicePool);
            r.Run("i386 phantom: object space: objects written, snapshot, resident pages dropped, read back from the RAM disk", &PhantomObjectSpace);
            r.Run("i386 phantom: object space: a snapshot larger than the RAM disk is refused, the last one stays", &PhantomObjectSpaceFull);
        }
        r.Run("i386: an exception saves the interrupted FS, runs with the per-CPU FS, and restores it (every CPU)", &FsAcrossException);
        r.Run("i386: kmap takes this CPU's slots as a stack; a reused slot shows the new frame (invlpg on reuse)", &KmapSlotReuse);
        r.Run("i386: every CPU at once kmaps 16 frames of its own, writes them, kmaps them again in reverse order and reads its patterns back", &KmapEveryCpuAtOnce);
        r.Run("i386: a HighMem frame is zeroed through kmap", &HighMemFrameThroughKmap);
        // User memory on the live MMU: the layout below 0xC0000000 fits the higher half, with
        // legacy paging and with PAE (see Platform.UserLayout).
        if (Platform.HasUserSpace) UserTests.RunAll(ref r);
    }

    /// <summary>Every zone ends at or below the tables' reach (Platform.PhysicalLimit), and what the
    /// library refused is exactly the usable RAM of the map above it; on a guest with such RAM,
    /// no frame the buddy allocator hands out lies above it.</summary>
    private static void RamBeyondReachIgnored(ref TestContext t)
    {
        ref SharpMM.Boot.PhysicalMemory pm = ref PhysicalBoot.Memory;
        ulong limit = Platform.PhysicalLimit, above = 0;
        t.Equal(pm.RefusedFrom, limit, "the library refuses RAM from the tables' limit");
        ref SharpMM.Boot.MemoryMap map = ref PhysicalBoot.Sanitized;
        for (int i = 0; i < map.Count; i++)
            if (map[i].Type == SharpMM.Boot.MemoryType.Usable && map[i].End > limit)
                above += map[i].End - (map[i].Start > limit ? map[i].Start : limit);
        t.Equal(pm.RefusedRamBytes, above, "refused bytes = the usable RAM above the limit");
        for (int z = 0; z < pm.Buddy.ZoneCount; z++)
            t.Check(pm.Buddy.GetZone(z).SpannedEndPfn <= limit >> PageSize.Shift, "a zone ends at or below the limit");
        if (above == 0) return;
        // The highest user-class order-10 block the allocator gives (HighMem first) is below the limit.
        ref BuddyAllocator buddy = ref pm.Buddy;
        bool got = buddy.Allocate(10, MemoryClass.User, out Pfn b) == Status.Ok;
        t.Check(got, "a 4 MiB user block");
        if (got)
        {
            t.Check(b.ToAddr().Value + (PageSize.Bytes << 10) <= limit, "the block lies below the limit");
            buddy.Free(b, 10);
        }
        SharpMM.Diagnostics.TextWriter<SerialSink> w = Log.Writer();
        w.Str("  ");
        w.Size(above);
        w.Str(" of RAM above ");
        w.Size(limit);
        w.Str(" left out; the last zone ends at pfn ");
        w.Hex(buddy.GetZone(buddy.ZoneCount - 1).SpannedEndPfn, 8);
        w.Line();
    }

    /// <summary>
    /// Legacy paging with user spaces: the kernel's tables are shared with every directory
    /// (KernelAddressSpace.MakeKernelTables). A user space is made and loaded; vmalloc then grows,
    /// 64 KiB at a time, into a 4 MiB span of its area that held no mapping when the space was
    /// made. Expect: the space's PDE for that span is the kernel directory's (the same table);
    /// what the kernel writes there with the space loaded reads back with the kernel's directory
    /// loaded and the other way round; a kernel mapping that would need a directory entry of its
    /// own (in the user half) is refused with Unsupported instead of landing in one directory.
    /// </summary>
    private static void KernelTablesReachEverySpace(ref TestContext t)
    {
        const ulong Span = 4UL << 20, Block = 64UL << 10;
        const int MaxBlocks = 128;   // 8 MiB: more than a span, so a free one is always reached
        byte* kernelDir = Platform.DirectMap.ToVirt(KernelAddressSpace.Mapper.RootPhys);
        if (LiveUserMemory.Create(0, out LiveUserMemory* m) != Status.Ok) { t.Check(false, "user machine created"); return; }
        ref SharpMM.User.UserMemory<KernelPagingFormat, KernelFrames, SharpMM.User.RamDiskStore> mem = ref m->Memory;
        SharpMM.User.AddressSpace<KernelPagingFormat>* space = m->Space(0);
        t.Equal((ulong)mem.CreateSpace(space, m->Layout, KernelAddressSpace.Mapper.RootPhys), (ulong)Status.Ok, "space created");
        byte* userDir = Platform.DirectMap.ToVirt(space->RootPhys);
        // The vmalloc spans with no present PTE now (the space has just copied the kernel's PDEs).
        int firstSpan = (int)(Platform.VmallocStart >> 22), spans = (int)((Platform.VmallocEnd - Platform.VmallocStart) / Span);
        bool* fresh = stackalloc bool[spans];
        for (int i = 0; i < spans; i++)
        {
            ulong pde = I386Format.Read(kernelDir, firstSpan + i);
            t.Check(pde != 0, "every vmalloc span's table exists from boot on");
            fresh[i] = pde != 0;
            if (pde == 0) continue;
            byte* table = Platform.DirectMap.ToVirt(I386Format.TableAddress(pde));
            for (int k = 0; k < 1024 && fresh[i]; k++) fresh[i] = I386Format.Read(table, k) == 0;
        }

        DemandPaging.Load(&m->Memory, space);
        t.Equal(Arch.ReadCr3() & 0xFFFFF000, space->RootPhys, "the user space's directory is loaded");

        // Grow vmalloc with the space loaded until a block lies in a span that was fresh.
        ulong* blocks = stackalloc ulong[MaxBlocks];
        int count = 0;
        ulong target = 0;
        KernelFrames frames = default;
        while (count < MaxBlocks && target == 0)
        {
            if (VmallocLargeMapper.Vm.Vmalloc(Block, ref frames, ref KernelAddressSpace.Hooks, out ulong va) != Status.Ok) break;
            blocks[count++] = va;
            for (ulong p = va; p < va + Block && target == 0; p += PageSize.Bytes)
            {
                int span = (int)(p >> 22) - firstSpan;
                if (span >= 0 && span < spans && fresh[span]) target = p;
            }
        }
        t.Check(target != 0, "vmalloc reached a span that held no mapping when the space was made");
        if (target != 0)
        {
            int pdeIndex = (int)(target >> 22);
            // The same table (the CPU sets the Accessed bit of the entry it walked, the space's).
            ulong userPde = I386Format.Read(userDir, pdeIndex), kernelPde = I386Format.Read(kernelDir, pdeIndex);
            t.Check(userPde != 0, "the space's PDE for the span is present");
            t.Equal(I386Format.TableAddress(userPde), I386Format.TableAddress(kernelPde), "the space's PDE for the span names the kernel's table (one shared table)");
            ulong written = 0x5AFE_0000_0000_0000UL ^ target;
            t.Check(FaultProbe.Write(target, written), "written with the user space loaded");
            DemandPaging.Load(null, null);
            t.Check(FaultProbe.Read(target, out ulong seen) && seen == written, "read back with the kernel's directory loaded");
            t.Check(FaultProbe.Write(target + 8, ~written), "written with the kernel's directory loaded");
            DemandPaging.Load(&m->Memory, space);
            t.Check(FaultProbe.Read(target + 8, out seen) && seen == ~written, "read back with the user space loaded");
        }
        // A kernel mapping in the user half would need a PDE of its own: refused.
        if (frames.Allocate(0, out Pfn f) == Status.Ok)
        {
            Status s = KernelAddressSpace.Live.Map(VirtAddr.NewUnchecked(m->Layout.UserStart + (64UL << 20)), f.ToAddr(), MappingSize.Size4KiB, PageFlags.Writable, ref frames, out FlushToken token);
            t.Equal((ulong)s, (ulong)Status.Unsupported, "a kernel mapping needing a new directory entry is refused");
            if (s == Status.Ok) token.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
            frames.Free(f, 0);
        }
        DemandPaging.Load(null, null);
        for (int i = 0; i < count; i++)
            t.Equal((ulong)VmallocLargeMapper.Vm.Vfree(blocks[i], ref frames, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "vfree");
        t.Check(I386Format.Read(kernelDir, (int)(target >> 22)) != 0 || target == 0, "the span's table stays after the vfree (entries are fixed)");
        t.Equal((ulong)mem.Destroy(space, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "space destroyed");
        m->Destroy();
        SharpMM.Diagnostics.TextWriter<SerialSink> w = Log.Writer();
        w.Str("  ");
        w.Dec((ulong)count);
        w.Str(" blocks of 64 KiB; the first in an unused span at ");
        w.Hex(target, 8);
        w.Line(", seen from both directories");
    }

    /// <summary>The table holding the level-0 entry of <paramref name="va"/> (which must have
    /// one): with legacy paging its window in the recursive slot, with PAE its direct-map address.
    /// The entry's index is (va &gt;&gt; 12) mod the entries per table.</summary>
    private static byte* LeafTable(ulong va)
    {
        if (!PagingMode.Pae) return (byte*)(nuint)(KernelAddressSpace.PageTablesBase + PageSize.Bytes * (va >> 22));
        DirectMap dm = Platform.DirectMap;
        byte* table = dm.ToVirt(KernelAddressSpace.Mapper.RootPhys);
        for (int level = I386Format.Levels - 1; level > 0; level--)
            table = dm.ToVirt(I386Format.TableAddress(I386Format.Read(table, PaeIndex(va, level))));
        return table;
    }

    /// <summary>Maps <paramref name="phys"/> (one page) uncached in the physical-mapping window,
    /// which on phantom is the device pool, and checks where and how it landed.</summary>
    private static ulong MapDeviceInPool(ref TestContext t, ulong phys)
    {
        KernelFrames frames = default;
        Status s = VmallocLargeMapper.Vm.MapDevice(phys, PageSize.Bytes, CacheMode.Uncached, ref frames, ref KernelAddressSpace.Hooks, out ulong va);
        t.Equal((ulong)s, (ulong)Status.Ok, "MapDevice");
        if (s != Status.Ok) return 0;
        t.Check(va >= Platform.DevicePoolStart && va < Platform.DevicePoolEnd, "mapped in the device pool 0x40000000-0x80000000");
        t.Check(KernelAddressSpace.Translate(va, out Translation tr) == Status.Ok && tr.Phys.Value == phys, "the tables map it to the device");
        t.Check((tr.Flags & PageFlags.CacheDisable) != 0, "uncached (PCD)");
        return va;
    }

    private static void PhantomApicThroughDevicePool(ref TestContext t)
    {
        const ulong ApicBase = 0xFEE00000;
        ulong va = MapDeviceInPool(ref t, ApicBase);
        if (va == 0) return;
        // The version register (offset 0x30): version in bits 0-7 (0x1x for an integrated APIC),
        // the highest LVT entry in bits 16-23.
        uint version = *(uint*)(nuint)(va + 0x30);
        t.Check((version & 0xF0) == 0x10, "an integrated local APIC's version (0x1x)");
        t.Check(((version >> 16) & 0xFF) >= 2, "at least three LVT entries");
        SharpMM.Diagnostics.TextWriter<SerialSink> w = Log.Writer();
        w.Str("  local APIC at ");
        w.Hex(ApicBase, 8);
        w.Str(" mapped at ");
        w.Hex(va, 8);
        w.Str(": version register ");
        w.Hex(version, 8);
        w.Line();
        KernelFrames frames = default;
        t.Equal((ulong)VmallocLargeMapper.Vm.UnmapDevice(va, ref frames, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "unmap");
    }

    private static void PhantomVgaThroughDevicePool(ref TestContext t)
    {
        const ulong VgaText = 0xB8000;
        ulong va = MapDeviceInPool(ref t, VgaText);
        if (va == 0) return;
        // Row 0 of the 80x25 text screen: characters with attribute 0x1F (white on blue).
        ushort* screen = (ushort*)(nuint)va;
        string text = "SharpMM phantom: VGA through page_map_io";
        for (int i = 0; i < text.Length; i++) screen[i] = (ushort)(0x1F00 | text[i]);
        int wrong = 0;
        for (int i = 0; i < text.Length; i++) if (screen[i] != (ushort)(0x1F00 | text[i])) wrong++;
        t.Equal((ulong)wrong, 0, "cells that do not read back as written");
        t.Check(!KernelAddressSpace.IsMapped(VgaText), "the buffer has no identity mapping (not RAM)");
        KernelFrames frames = default;
        t.Equal((ulong)VmallocLargeMapper.Vm.UnmapDevice(va, ref frames, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "unmap");
    }

    private static ulong ObjectWord(ulong page, ulong k) => (page << 32) ^ (k * 0x9E3779B97F4A7C15UL) ^ 0x5348_4152_504D_4D00UL;

    // Three objects of one page: at the start, the middle and the end of the window.
    private static ulong ObjectPage(ulong i) => i == 0 ? 0 : i == 1 ? ObjectSpace.WindowPages / 2 : ObjectSpace.WindowPages - 1;

    private static ulong WrongWords(ulong objects)
    {
        ulong wrong = 0;
        for (ulong i = 0; i < objects; i++)
        {
            ulong page = ObjectPage(i);
            ulong* o = (ulong*)(nuint)(ObjectSpace.Start + page * PageSize.Bytes);
            for (ulong k = 0; k < 512; k++) if (o[k] != ObjectWord(page, k)) wrong++;
        }
        return wrong;
    }

    /// <summary>
    /// Objects at the start, the middle and the last page of the 1 GiB window are written (each
    /// first write: one fault, the page in and changed), saved by a snapshot (3 object pages, the
    /// directory pages naming them, a new generation), changed once more (one page marked, the
    /// next snapshot writes it alone), dropped from RAM and read back through page-ins from the
    /// RAM disk. Expect: every word back; a page never written reads zero; the directory in the
    /// store equals the one in RAM; above the window nothing is object space.
    /// </summary>
    private static void PhantomObjectSpace(ref TestContext t)
    {
        if (!ObjectSpace.Ready) { t.Check(false, "the object space is set up"); return; }
        const ulong Objects = 3;
        ulong in0 = ObjectSpace.PageIns, d0 = ObjectSpace.DirtyMarks, gen0 = ObjectSpace.Region.Generation, used0 = ObjectSpace.Used;
        for (ulong i = 0; i < Objects; i++)
        {
            ulong page = ObjectPage(i);
            ulong* o = (ulong*)(nuint)(ObjectSpace.Start + page * PageSize.Bytes);
            for (ulong k = 0; k < 512; k++) o[k] = ObjectWord(page, k);
        }
        t.Equal(ObjectSpace.PageIns - in0, Objects, "pages paged in by the first writes");
        t.Equal(ObjectSpace.DirtyMarks - d0, Objects, "pages marked changed (one fault each)");

        t.Equal((ulong)ObjectSpace.Snapshot(out ulong written), (ulong)Status.Ok, "snapshot");
        t.Equal(written, Objects, "object pages the snapshot wrote");
        t.Equal(ObjectSpace.DirectoryPagesWritten, Objects, "directory pages it wrote (one per object, they lie far apart)");
        t.Equal(ObjectSpace.Used - used0, Objects, "region pages given to the objects");
        t.Equal(ObjectSpace.Region.Generation, gen0 + 1, "a new generation");
        t.Check(ObjectSpace.DirectoryMatchesStore(), "the directory in the store equals the one in RAM");
        // The snapshot left the pages clean (read-only): one write marks its page again, and the
        // next snapshot writes that page alone and no directory page.
        ulong last = ObjectPage(2);
        *(ulong*)(nuint)(ObjectSpace.Start + last * PageSize.Bytes) = ObjectWord(last, 0);
        t.Equal(ObjectSpace.DirtyMarks - d0, Objects + 1, "a write after the snapshot marks its page");
        t.Equal((ulong)ObjectSpace.Snapshot(out written), (ulong)Status.Ok, "second snapshot");
        t.Equal(written, 1, "pages the second snapshot wrote");
        t.Equal(ObjectSpace.DirectoryPagesWritten, 0, "no directory page changed");

        t.Equal(ObjectSpace.DropResident(), Objects, "resident pages dropped");
        t.Check(!KernelAddressSpace.IsMapped(ObjectSpace.Start), "a dropped page is not mapped");
        ulong in1 = ObjectSpace.PageIns;
        t.Equal(WrongWords(Objects), 0, "words that differ after reading back from the RAM disk");
        t.Equal(ObjectSpace.PageIns - in1, Objects, "pages paged in again from the region");
        t.Equal(*(ulong*)(nuint)(ObjectSpace.Start + PageSize.Bytes), 0, "a page never written reads zero");
        t.Check(!FaultProbe.Read(ObjectSpace.End, out _), "above the window nothing is object space");
        ObjectSpace.DropResident();
    }

    /// <summary>
    /// After <see cref="PhantomObjectSpace"/>: one more changed page than the region has pages
    /// left (one word each, consecutive pages from 1 MiB into the window). Expect: the snapshot
    /// refuses with NoSpace, writes nothing and keeps the generation; after the resident pages
    /// are dropped (the unsaved changes lost, as in a crash) the objects of the last snapshot
    /// read back whole and a page of the refused snapshot reads zero; then a snapshot that fits
    /// succeeds.
    /// </summary>
    private static void PhantomObjectSpaceFull(ref TestContext t)
    {
        if (!ObjectSpace.Ready) { t.Check(false, "the object space is set up"); return; }
        ulong left = ObjectSpace.Capacity - ObjectSpace.Used, gen0 = ObjectSpace.Region.Generation;
        const ulong First = 256;   // 1 MiB into the window, clear of the test objects
        for (ulong p = First; p < First + left + 1; p++)
            *(ulong*)(nuint)(ObjectSpace.Start + p * PageSize.Bytes) = ObjectWord(p, 0);
        t.Equal((ulong)ObjectSpace.Snapshot(out ulong written), (ulong)Status.NoSpace, "a snapshot one page larger than the store refused");
        t.Equal(written, 0, "nothing written");
        t.Equal(ObjectSpace.Region.Generation, gen0, "the generation is unchanged");
        t.Equal(ObjectSpace.Capacity - ObjectSpace.Used, left, "no region page handed out");
        t.Equal(ObjectSpace.DropResident(), left + 1, "the unsaved pages dropped");
        t.Equal(WrongWords(3), 0, "the last snapshot's objects read back whole");
        t.Equal(*(ulong*)(nuint)(ObjectSpace.Start + First * PageSize.Bytes), 0, "a page of the refused snapshot reads zero");
        *(ulong*)(nuint)(ObjectSpace.Start + First * PageSize.Bytes) = ObjectWord(First, 0);
        t.Equal((ulong)ObjectSpace.Snapshot(out written), (ulong)Status.Ok, "a snapshot that fits succeeds");
        t.Equal(written, 1, "it wrote its one page");
        SharpMM.Diagnostics.TextWriter<SerialSink> w = Log.Writer();
        w.Str("  ");
        w.Dec(left + 1);
        w.Str(" changed pages for ");
        w.Dec(left);
        w.Str(" left of ");
        w.Dec(ObjectSpace.Capacity);
        w.Line(": refused with NoSpace, the last snapshot intact");
        ObjectSpace.DropResident();
    }

    private static int PaeIndex(ulong va, int level) => (int)((va >> (12 + 9 * level)) & (level == 2 ? 3UL : 511UL));

    private static void PaeLargePageTranslates(ref TestContext t)
    {
        // Low memory at 8 MiB (2 MiB aligned, above the image in every guest test.sh boots).
        const ulong phys = 8UL << 20;
        ulong va = Arch.KernelVirtualBase + phys;
        t.Equal((ulong)KernelAddressSpace.Translate(va + 0x1234, out Translation tr), (ulong)Status.Ok, "translate 0xC0801234");
        t.Equal((ulong)tr.Size, (ulong)MappingSize.Size2MiB, "a 2 MiB page");
        t.Equal(tr.Phys.Value, phys + 0x1234, "physical address");
        // The entry as the MMU reads it: PDPT[va >> 30] -> the directory, PD[(va >> 21) & 511], 8 bytes.
        DirectMap dm = Platform.DirectMap;
        ulong* pdpt = (ulong*)dm.ToVirt(KernelAddressSpace.Mapper.RootPhys);
        ulong* pd = (ulong*)dm.ToVirt(pdpt[va >> 30] & 0x000FFFFFFFFFF000UL);
        ulong pde = pd[(va >> 21) & 511];
        t.Equal(pde & 0x83, 0x83, "PDE present, writable, PS set");
        t.Equal(pde & 0x000FFFFFFFE00000UL, phys, "PDE frame");
        t.Equal(pde >> 63, PagingMode.NoExecute ? 1UL : 0UL, "XD set on the direct map when NX is on");
    }

    private static void PaeTablesThroughDirectMap(ref TestContext t)
    {
        t.Check((Arch.ReadCr4() & (1U << 5)) != 0, "CR4.PAE set");
        ulong root = KernelAddressSpace.Mapper.RootPhys;
        t.Equal(Arch.ReadCr3() & 0xFFFFF000, root, "CR3 holds the kernel's PDPT");
        ulong* pdpt = (ulong*)Platform.DirectMap.ToVirt(root);
        if (Platform.Phantom)
            t.Equal(pdpt[0] & 0x7, 0x1, "PDPT[0] present (the identity layout's low memory)");
        else
            t.Equal(pdpt[0], 0, "PDPT[0] (the boot identity map) empty");
        t.Equal(pdpt[3] & 0x7, 0x1, "PDPT[3] (the kernel's gigabyte) present, bits 1-2 (reserved in a PDPTE) clear");
        // The walk through the live tables (direct map) and the built mapper agree on every image
        // page; the cost of a walk is printed, as the legacy kernel prints the recursive one.
        ulong start = Arch.KernelVirtualBase + KernelImage.Start, end = Arch.KernelVirtualBase + KernelImage.End;
        int pages = 0, disagree = 0;
        for (ulong va = start; va < end; va += PageSize.Bytes)
        {
            pages++;
            if (KernelAddressSpace.Mapper.Translate(VirtAddr.NewUnchecked(va), out Translation d) != Status.Ok
                || KernelAddressSpace.Live.Translate(VirtAddr.NewUnchecked(va), out Translation l) != Status.Ok
                || d.Phys.Value != l.Phys.Value || d.Flags != l.Flags) disagree++;
        }
        t.Equal((ulong)disagree, 0, "image pages where the two walks disagree");
        ulong t0 = Arch.Rdtsc();
        for (ulong va = start; va < end; va += PageSize.Bytes) KernelAddressSpace.Live.Translate(VirtAddr.NewUnchecked(va), out _);
        ulong cycles = Arch.Rdtsc() - t0;
        SharpMM.Diagnostics.TextWriter<SerialSink> w = Log.Writer();
        w.Str("  translate through the direct map (PAE, three levels): ");
        w.Dec(cycles / (ulong)pages);
        w.Str(" cycles a page (");
        w.Dec((ulong)pages);
        w.Line(" image pages)");
    }

    private static void PaeNoExecute(ref TestContext t)
    {
        ulong text = Arch.KernelVirtualBase + KernelImage.Start + 0x1000;
        t.Check(KernelAddressSpace.Translate(text, out Translation tr) == Status.Ok && (tr.Flags & PageFlags.Executable) != 0, "text mapped executable");
        if (!PagingMode.NoExecute)
        {
            Log.Line("  this CPU has no NX: every page is executable (nothing to fault)");
            return;
        }
        ulong data = Arch.KernelVirtualBase + KernelImage.DataStart;
        t.Check(KernelAddressSpace.Translate(data, out tr) == Status.Ok && (tr.Flags & PageFlags.Executable) == 0, "data mapped no-execute");
        // A frame of low memory holding a `ret`, called through the direct map: the fetch faults.
        KernelFrames frames = default;
        if (frames.Allocate(0, out Pfn f) != Status.Ok) { t.Check(false, "a frame"); return; }
        byte* p = Platform.DirectMap.ToVirt(f.ToAddr().Value);
        p[0] = 0xC3;
        ulong va = (ulong)(nuint)p;
        t.Check(!FaultProbe.Execute(va), "calling a ret in the direct map faults");
        t.Equal(FaultProbe.LastCr2, va, "CR2 at the called address");
        t.Equal(FaultProbe.LastErrorCode & 0x11, 0x11, "protection fault on an instruction fetch");
        frames.Free(f, 0);
    }

    private static void PaeFrameAbove4GiBThroughKmap(ref TestContext t)
    {
        const ulong FourGiB = 4UL << 30;
        ref BuddyAllocator buddy = ref PhysicalBoot.Memory.Buddy;
        if (KernelMain.Loader.HighestUsableEnd() <= FourGiB)
        {
            t.Check(buddy.ManagedFrames > 0, "frames managed");
            Log.Line("  no RAM above 4 GiB on this machine: nothing to kmap there");
            return;
        }
        // User blocks of 4 MiB until one lies above 4 GiB; the blocks below are held in a chain
        // (each holds the address of the one before, written through kmap) and freed after.
        const uint Order = 10;
        ulong chain = ulong.MaxValue, found = 0;
        int held = 0;
        while (true)
        {
            if (buddy.Allocate(Order, MemoryClass.User, out Pfn b) != Status.Ok) break;
            ulong phys = b.ToAddr().Value;
            if (phys >= FourGiB) { found = phys; break; }
            byte* q = Kmap.Map(phys);
            *(ulong*)q = chain;
            Kmap.Unmap(q);
            chain = phys;
            held++;
        }
        t.Check(found >= FourGiB, "a user block above 4 GiB");
        if (found >= FourGiB)
        {
            byte* p = Kmap.Map(found + PageSize.Bytes);
            for (int i = 0; i < 4096; i++) p[i] = 0x5A;
            Kmap.Unmap(p);
            p = Kmap.Map(found + PageSize.Bytes);
            int kept = 0;
            for (int i = 0; i < 4096; i++) if (p[i] == 0x5A) kept++;
            t.Equal((ulong)kept, 4096, "the pattern reads back through another kmap");
            SharpMM.Diagnostics.MemoryOps.Zero(p, 4096);
            Kmap.Unmap(p);
            p = Kmap.Map(found + PageSize.Bytes);
            int nonzero = 0;
            for (int i = 0; i < 4096; i++) if (p[i] != 0) nonzero++;
            t.Equal((ulong)nonzero, 0, "non-zero bytes after zeroing through kmap");
            Kmap.Unmap(p);
            SharpMM.Diagnostics.TextWriter<SerialSink> w = Log.Writer();
            w.Str("  frame ");
            w.Hex(found + PageSize.Bytes);
            w.Str(" zeroed through kmap (");
            w.Dec((ulong)held);
            w.Line(" blocks below 4 GiB taken first)");
            t.Equal((ulong)buddy.Free(Pfn.NewUnchecked(found >> PageSize.Shift), Order), (ulong)Status.Ok, "free the block above 4 GiB");
        }
        while (chain != ulong.MaxValue)
        {
            byte* q = Kmap.Map(chain);
            ulong next = *(ulong*)q;
            Kmap.Unmap(q);
            buddy.Free(Pfn.NewUnchecked(chain >> PageSize.Shift), Order);
            chain = next;
        }
    }

    private static void FollowsLayout(ref TestContext t)
    {
        AddressSpaceLayout layout = AddressSpaceLayout.Get(Platform.Layout);
        t.Equal(layout.KernelVirtualOffset, Arch.KernelVirtualBase, "kernel virtual offset");
        t.Check(layout.TryFind(RegionKind.KernelStack, out LayoutRegion stack) && stack.End == KernelStack.Top && stack.Start <= KernelStack.Guard,
            "the kernel stack (and its guard) at the top of the kernel-stack region");
        t.Check(layout.TryFind(RegionKind.PageTables, out LayoutRegion tables) && tables.Start == KernelAddressSpace.PageTablesBase, "page tables where the layout puts them");
        t.Check(layout.TryFind(RegionKind.PageDirectory, out LayoutRegion dir) && dir.Start == KernelAddressSpace.DirectoryAddress, "the directory where the layout puts it");
        t.Check(layout.TryFind(RegionKind.KernelImage, out LayoutRegion image) && image.Start <= Arch.KernelVirtualBase + KernelImage.Start
            && Arch.KernelVirtualBase + KernelImage.End <= image.End, "the image inside the kernel-image region");
        // The higher half draws one kernel-heap region over the direct map and the windows;
        // low-2g and phantom draw a HighMem window at the top, which holds them (on phantom the
        // physical-mapping window is the device pool).
        RegionKind windows = Platform.Low2G || Platform.Phantom ? RegionKind.HighMemWindow : RegionKind.KernelHeap;
        t.Check(layout.TryFind(Kmap.WindowStart, out LayoutRegion window) && window.Kind == windows
            && Kmap.WindowEnd <= window.End, "the kmap window inside the layout's window region");
        t.Check(layout.TryFind(Platform.VmallocStart, out LayoutRegion heap) && heap.Kind == windows && Platform.VmallocEnd <= heap.End
            && Platform.VmallocStart >= Arch.KernelVirtualBase + Platform.DirectMapLimit, "vmalloc in that region, above the direct map");
        t.Check(layout.TryFind(Platform.WindowStart, out LayoutRegion pmw) && Platform.WindowEnd <= pmw.End
            && pmw.Kind == (Platform.Phantom ? RegionKind.DevicePool : windows), "the physical-mapping window in its region (phantom: the device pool)");
        if (Platform.Low2G)
            t.Check(layout.TryFind(Arch.KernelVirtualBase + Platform.DirectMapLimit - 1, out LayoutRegion direct) && direct.Kind == RegionKind.DirectMap
                && direct.End == Arch.KernelVirtualBase + Platform.DirectMapLimit && layout.DirectMapPhysStart == direct.Start - Arch.KernelVirtualBase,
                "the direct map ends where the layout's does, at the same offset");
    }

    private static void EarlyPagesZeroAndLimit(ref TestContext t)
    {
        byte* region = Arch.FreeRam(), regionEnd = Arch.FreeRamEnd();
        ulong regionPhys = (ulong)(nuint)region - Arch.KernelVirtualBase;
        t.Check(regionPhys >= KernelImage.Start && (ulong)(nuint)regionEnd - Arch.KernelVirtualBase <= KernelImage.End,
            "the region lies inside the image (memblock reserved it)");
        uint left = EarlyPages.Remaining;
        t.Check(left >= 2 && left < 16, "EarlyInit took the double-fault stack, some pages left");
        byte* p = EarlyPages.Alloc(1);
        t.Check(p >= region && p + 4096 <= regionEnd, "the page comes from the region");
        int nonzero = 0;
        for (int i = 0; i < 4096; i++) if (p[i] != 0) nonzero++;
        t.Equal((ulong)nonzero, 0, "non-zero bytes in a new page");
        t.Equal(EarlyPages.Remaining, left - 1, "one page fewer left");
        t.Check(EarlyPages.TryAlloc(EarlyPages.Remaining + 1) == null, "asking for more than is left is refused");
        t.Equal(EarlyPages.Remaining, left - 1, "a refused request takes nothing");
        t.Check(EarlyPages.TryAlloc(0) == null, "zero pages is refused");
    }

    private static void NoIdentityMap(ref TestContext t)
    {
        t.Check(!KernelAddressSpace.IsMapped(0), "page 0 not in the kernel's tables");
        t.Check(!FaultProbe.Read(0, out _), "reading address 0 faults");
        t.Equal(FaultProbe.LastCr2, 0, "CR2 of the fault on address 0");
        t.Equal(FaultProbe.LastErrorCode & 1, 0, "not-present fault");
        if (Platform.Phantom)
        {
            // The identity layout: the image runs at its physical address, page 0 alone faults.
            t.Check(FaultProbe.Read(KernelImage.Start, out _), "the image reads at its physical address");
            t.Check(FaultProbe.Read(0x1000, out _), "page 1 reads (low memory identity-mapped)");
            t.Equal(Arch.ReadCr3() & 0xFFFFF000, KernelAddressSpace.Mapper.RootPhys, "CR3 holds the kernel's directory");
            return;
        }
        t.Check(!KernelAddressSpace.IsMapped(KernelImage.Start), "the image's physical address is not mapped");
        t.Check(!FaultProbe.Read(KernelImage.Start, out _), "reading the image at its physical address faults");
        t.Check(FaultProbe.Read(Arch.KernelVirtualBase + KernelImage.Start, out _), "the image reads at the kernel base + phys");
        t.Equal(Arch.ReadCr3() & 0xFFFFF000, KernelAddressSpace.Mapper.RootPhys, "CR3 holds the kernel's directory");
    }

    private static void OnKernelStack(ref TestContext t)
    {
        byte local = 0;
        ulong esp = (ulong)(nuint)(&local);
        t.Check(esp >= KernelStack.Bottom && esp < KernelStack.Top, "a local lives in [Bottom, Top)");
        t.Check(KernelAddressSpace.IsMapped(KernelStack.Bottom) && KernelAddressSpace.IsMapped(KernelStack.Top - 1), "stack pages mapped");
        t.Check(!KernelAddressSpace.IsMapped(KernelStack.Guard), "guard page not mapped");
        t.Check(!FaultProbe.Write(KernelStack.Guard + 8, 0), "a write to the guard page faults");
        t.Equal(FaultProbe.LastCr2, KernelStack.Guard + 8, "CR2 in the guard page");
        t.Equal(FaultProbe.LastErrorCode & 3, 2, "not-present write");
    }

    private static void TextIsReadOnly(ref TestContext t)
    {
        ulong text = Arch.KernelVirtualBase + KernelImage.Start + 0x1000;
        t.Check(FaultProbe.Read(text, out ulong v), "kernel text reads");
        t.Check(!FaultProbe.Write(text, v), "a write to kernel text faults (CR0.WP)");
        t.Equal(FaultProbe.LastErrorCode & 3, 3, "protection fault on a write");
        t.Equal(FaultProbe.LastCr2, text, "CR2 of the write");
        ulong rodata = Arch.KernelVirtualBase + KernelImage.RodataStart;
        t.Check(KernelAddressSpace.Translate(rodata, out Translation tr) == Status.Ok && (tr.Flags & PageFlags.Writable) == 0, "rodata mapped read-only");
        ulong data = Arch.KernelVirtualBase + KernelImage.DataStart;
        t.Check(KernelAddressSpace.Translate(data, out tr) == Status.Ok && (tr.Flags & PageFlags.Writable) != 0, "data mapped writable");
    }

    private static void LargePageTranslates(ref TestContext t)
    {
        // The first 4 MiB-aligned usable run above the image: low memory at 8 MiB (every guest
        // test.sh boots has at least 32 MiB).
        const ulong phys = 8UL << 20;
        ulong va = Arch.KernelVirtualBase + phys;
        t.Equal((ulong)KernelAddressSpace.Translate(va + 0x1234, out Translation tr), (ulong)Status.Ok, "translate 0xC0801234");
        t.Equal((ulong)tr.Size, (ulong)MappingSize.Size4MiB, "a 4 MiB page");
        t.Equal(tr.Phys.Value, phys + 0x1234, "physical address");
        // The MMU agrees: a value written through the large page reads back through the recursive
        // view of its directory entry's frame, i.e. the same physical memory.
        uint pde = ((uint*)KernelAddressSpace.DirectoryAddress)[va >> 22];
        t.Equal(pde & 0x81, 0x81, "PDE present with PS set");
        t.Equal(pde & 0xFFC00000, phys, "PDE frame");
    }

    private static void DirectoryThroughRecursiveSlot(ref TestContext t)
    {
        uint* dir = (uint*)KernelAddressSpace.DirectoryAddress;
        ulong root = KernelAddressSpace.Mapper.RootPhys;
        t.Equal(dir[KernelAddressSpace.RecursiveSlot] & 0xFFFFF000, root, "PD[1023] points at the directory");
        t.Equal(dir[KernelAddressSpace.RecursiveSlot] & 0x7, 0x3, "PD[1023] present, writable, supervisor");
        if (Platform.Phantom)
            t.Equal(dir[0] & 0x81, 0x1, "PD[0] a page table (the identity layout, page 0 left out)");
        else
            t.Equal(dir[0], 0, "PD[0] (the identity map) empty");
        // The directory read through the slot is the one the library built (through the direct map).
        uint* built = (uint*)Platform.DirectMap.ToVirt(root);
        int differ = 0;
        for (int i = 0; i < 1024; i++) if (dir[i] != built[i]) differ++;
        t.Equal((ulong)differ, 0, "entries that differ from the directory read through the direct map");
        // The kernel text's page table at 0xFFC00000 + 4096 * 768: its PTE for the text page.
        ulong text = Arch.KernelVirtualBase + KernelImage.Start;
        uint pte = ((uint*)(KernelAddressSpace.PageTablesBase + 4096 * (uint)(text >> 22)))[(text >> 12) & 1023];
        t.Equal(pte & 0xFFFFF000, KernelImage.Start, "text PTE frame through the slot");
        t.Equal(pte & 0x3, 0x1, "text PTE present, read-only");

        // The walk through the recursive window and through the direct map give the same answer
        // for every page of the image; the cost of each is printed.
        ulong start = Arch.KernelVirtualBase + KernelImage.Start, end = Arch.KernelVirtualBase + KernelImage.End;
        int pages = 0, disagree = 0;
        for (ulong va = start; va < end; va += PageSize.Bytes)
        {
            pages++;
            if (KernelAddressSpace.Mapper.Translate(VirtAddr.NewUnchecked(va), out Translation d) != Status.Ok
                || KernelAddressSpace.Live.Translate(VirtAddr.NewUnchecked(va), out Translation l) != Status.Ok
                || d.Phys.Value != l.Phys.Value || d.Flags != l.Flags) disagree++;
        }
        // Timed after that first pass, so both walks' code is translated (TCG) and warm.
        ulong t0 = Arch.Rdtsc();
        for (ulong va = start; va < end; va += PageSize.Bytes) KernelAddressSpace.Live.Translate(VirtAddr.NewUnchecked(va), out _);
        ulong recursive = Arch.Rdtsc() - t0;
        t0 = Arch.Rdtsc();
        for (ulong va = start; va < end; va += PageSize.Bytes) KernelAddressSpace.Mapper.Translate(VirtAddr.NewUnchecked(va), out _);
        ulong direct = Arch.Rdtsc() - t0;
        t.Equal((ulong)disagree, 0, "image pages where the two walks disagree");
        SharpMM.Diagnostics.TextWriter<SerialSink> w = Log.Writer();
        w.Str("  translate through the recursive window: ");
        w.Dec(recursive / (ulong)pages);
        w.Str(" cycles a page; through the direct map: ");
        w.Dec(direct / (ulong)pages);
        w.Str(" (");
        w.Dec((ulong)pages);
        w.Line(" image pages)");
    }

    private static void PteThroughRecursiveSlot(ref TestContext t)
    {
        // A page outside the direct map (the kernel-heap region above 0xF8000000), mapped to
        // frame A; its PTE is then pointed at frame B through 0xFFC00000.
        const ulong va = 0xF8400000;
        KernelFrames frames = default;
        if (frames.Allocate(0, out Pfn a) != Status.Ok || frames.Allocate(0, out Pfn b) != Status.Ok) { t.Check(false, "two frames"); return; }
        DirectMap dm = Platform.DirectMap;
        *(ulong*)dm.ToVirt(a.ToAddr().Value) = 0xAAAA_0001;
        *(ulong*)dm.ToVirt(b.ToAddr().Value) = 0xBBBB_0002;
        // Through the live mapper (with legacy paging and user spaces the span's table exists
        // from boot on; on phantom it is made here: zeroed through the direct map, linked, its
        // window address invalidated, and freed again by the unmap).
        ref var m = ref KernelAddressSpace.Live;
        Status s = m.Map(VirtAddr.NewUnchecked(va), a.ToAddr(), MappingSize.Size4KiB, PageFlags.Writable, ref frames, out FlushToken token);
        t.Equal((ulong)s, (ulong)Status.Ok, "map the test page");
        if (s != Status.Ok) return;
        token.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
        t.Check(FaultProbe.Read(va, out ulong before) && before == 0xAAAA_0001, "the page reads frame A");

        byte* table = LeafTable(va);
        int index = (int)((va >> 12) & (ulong)(I386Format.EntriesPerTable(0) - 1));
        ulong pte = I386Format.Read(table, index);
        t.Equal(I386Format.Address(0, pte), a.ToAddr().Value, "the PTE (through the slot, or the direct map with PAE) names frame A");
        I386Format.Write(table, index, I386Format.WithAddress(0, pte, b.ToAddr().Value));
        Arch.Invlpg((uint)va);
        t.Check(FaultProbe.Read(va, out ulong after) && after == 0xBBBB_0002, "after invlpg the page reads frame B");
        t.Check(m.Translate(VirtAddr.NewUnchecked(va), out Translation tr) == Status.Ok && tr.PageBase.Value == b.ToAddr().Value, "the library's walk sees frame B");

        s = m.Unmap(VirtAddr.NewUnchecked(va), ref frames, out token);
        t.Equal((ulong)s, (ulong)Status.Ok, "unmap");
        token.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
        t.Check(!FaultProbe.Read(va, out _), "the page faults after unmap");
        t.Check(!KernelAddressSpace.IsMapped(va), "the direct-map walk agrees");
        frames.Free(a, 0);
        frames.Free(b, 0);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.InternalCall), System.Runtime.RuntimeImport("*", "arch_fs_across_int3")]
    private static extern uint FsAcrossInt3(uint selector);

    private struct FsSeen
    {
        public uint InFrame, After;
        public int HandlerCpu;
    }

    private static FsSeen* s_fsSeen;

    /// <summary>On the CPU that runs it: int3 with FS = the user data selector (as a program's FS
    /// would be), what the handler saw and what came back.</summary>
    private static void FsTrap(ulong index)
    {
        ExceptionDispatcher.ExpectBreakpoint = true;
        uint after = FsAcrossInt3(UserMode.UserDataSelector);
        FsSeen* seen = s_fsSeen + index;
        seen->After = after;
        seen->InFrame = ExceptionDispatcher.BreakpointFs;
        seen->HandlerCpu = ExceptionDispatcher.BreakpointCpu;
    }

    /// <summary>
    /// The kernel's per-CPU register is FS (user programs own GS): every way in saves the
    /// interrupted FS in the frame and loads the per-CPU selector, the way out restores the
    /// interrupted one. An int3 taken with FS = 0x33 on each CPU in turn: the frame holds 0x33,
    /// the handler's FS gives that CPU's index, and FS is 0x33 again after the iret.
    /// </summary>
    private static void FsAcrossException(ref TestContext t)
    {
        FsSeen* seen = stackalloc FsSeen[PerCpus.MaxCpus];
        s_fsSeen = seen;
        for (int i = 0; i < Smp.Online; i++)
        {
            seen[i] = new FsSeen { HandlerCpu = -1 };
            t.Check(Smp.RunOn(i, &FsTrap, (ulong)i, 5000), "the CPU ran the trap");
            t.Equal(seen[i].InFrame, UserMode.UserDataSelector, "the frame holds the interrupted FS");
            t.Equal((ulong)seen[i].HandlerCpu, (ulong)i, "the handler's FS gives this CPU's index");
            t.Equal(seen[i].After, UserMode.UserDataSelector, "FS after the iret is the interrupted one");
        }
        t.Equal((ulong)PerCpus.Current, (ulong)PerCpus.Area(0), "FS is the boot CPU's area again");
        s_fsSeen = null;
    }

    /// <summary>
    /// The running CPU's slots are a stack: a kmap takes the CPU's next slot, the slot just ended
    /// is the next one taken (and shows its new frame: invlpg on every kmap), 16 held at once
    /// take 16 consecutive slots of this CPU, and ending them in reverse order gives them all back.
    /// </summary>
    private static void KmapSlotReuse(ref TestContext t)
    {
        KernelFrames frames = default;
        if (frames.Allocate(0, out Pfn a) != Status.Ok || frames.Allocate(0, out Pfn b) != Status.Ok) { t.Check(false, "two frames"); return; }
        DirectMap dm = Platform.DirectMap;
        *(ulong*)dm.ToVirt(a.ToAddr().Value) = 0xA1A1;
        *(ulong*)dm.ToVirt(b.ToAddr().Value) = 0xB2B2;
        int cpu = PerCpus.CurrentIndex;
        t.Equal((ulong)Kmap.Held, 0, "kmaps held before the test");
        byte* pa = Kmap.Map(a.ToAddr().Value);
        t.Equal((ulong)(nuint)pa, Kmap.SlotAddress(cpu, 0), "the first kmap takes this CPU's first slot");
        t.Equal(*(ulong*)pa, 0xA1A1, "frame A through its slot");
        Kmap.Unmap(pa);
        byte* pb = Kmap.Map(b.ToAddr().Value);
        t.Equal((ulong)(nuint)pb, (ulong)(nuint)pa, "the slot just ended is taken again");
        t.Equal(*(ulong*)pb, 0xB2B2, "frame B through the reused slot");
        Kmap.Unmap(pb);
        t.Check(!FaultProbe.Read((ulong)(nuint)pb, out _), "the slot faults after kunmap");

        // All of this CPU's slots at once, A and B alternating: consecutive slots, each its frame.
        byte** held = stackalloc byte*[Kmap.SlotsPerCpu];
        for (int i = 0; i < Kmap.SlotsPerCpu; i++)
        {
            held[i] = Kmap.Map(((i & 1) == 0 ? a : b).ToAddr().Value);
            t.Equal((ulong)(nuint)held[i], Kmap.SlotAddress(cpu, i), "kmap number i takes this CPU's slot i");
        }
        t.Equal((ulong)Kmap.Held, Kmap.SlotsPerCpu, "kmaps held with every slot taken");
        for (int i = 0; i < Kmap.SlotsPerCpu; i++) t.Equal(*(ulong*)held[i], (i & 1) == 0 ? 0xA1A1UL : 0xB2B2UL, "each held slot shows its own frame");
        for (int i = Kmap.SlotsPerCpu - 1; i >= 0; i--) Kmap.Unmap(held[i]);
        t.Equal((ulong)Kmap.Held, 0, "kmaps held after ending them in reverse order");

        // Round trips: each kmap of A or B, alternating, in the same slot, must show that frame
        // (and prints the cost).
        const int Trips = 256;
        int wrong = 0;
        ulong t0 = Arch.Rdtsc();
        for (int i = 0; i < Trips; i++)
        {
            ulong expect = (i & 1) == 0 ? 0xA1A1UL : 0xB2B2UL;
            byte* q = Kmap.Map(((i & 1) == 0 ? a : b).ToAddr().Value);
            if (*(ulong*)q != expect) wrong++;
            Kmap.Unmap(q);
        }
        ulong cycles = (Arch.Rdtsc() - t0) / Trips;
        t.Equal((ulong)wrong, 0, "round trips that read the wrong frame");
        SharpMM.Diagnostics.TextWriter<SerialSink> w = Log.Writer();
        w.Str("  kmap round trip (PTE write, invlpg, one read, PTE clear, invlpg): ");
        w.Dec(cycles);
        w.Line(" cycles (mean of 256)");
        frames.Free(a, 0);
        frames.Free(b, 0);
    }

    // ---- kmap on every CPU at once ------------------------------------------------------------

    private const int KmapRounds = 32;
    private const ulong KmapTimeoutMs = 30_000;

    /// <summary>What one CPU saw in <see cref="KmapEveryCpuAtOnce"/>.</summary>
    private struct KmapShare
    {
        public int Ran;
        public int OutsideOwnSlots;
        public int WrongWords;
        public int ForeignWords;
        public int HeldAfter;
        public ulong FirstSeen, FirstExpected;
    }

    private static ulong* s_kmapFrames;     // s_kmapFrames[cpu * SlotsPerCpu + i]: cpu's frames
    private static KmapShare* s_kmapShares;
    private static int s_kmapArrived;

    /// <summary>The pattern CPU <paramref name="cpu"/> writes into its frame <paramref name="frame"/> in round <paramref name="round"/>.</summary>
    private static ulong KmapTag(ulong cpu, int frame, int round) => 0x4B4D_0000_0000_0000UL | cpu << 32 | (ulong)frame << 16 | (uint)round;

    /// <summary>
    /// Every online CPU at once (a barrier first), 32 rounds: kmaps its 16 frames (distinct from
    /// every other CPU's), all held together, fills each with a pattern naming the CPU, the frame
    /// and the round, ends them; then kmaps them again in reverse order, so that each slot now
    /// holds another frame than it just did, and reads every word back. Expect: every kmap in
    /// the CPU's own slots, every word the pattern of this CPU's frame and round (a shared
    /// slot shows another CPU's pattern; a slot whose stale translation survived shows another
    /// frame's), nothing held after. User-class frames, so HighMem where the guest has it.
    /// </summary>
    private static void KmapEveryCpuAtOnce(ref TestContext t)
    {
        ref BuddyAllocator buddy = ref PhysicalBoot.Memory.Buddy;
        int cpus = Smp.Online, perCpu = Kmap.SlotsPerCpu, total = cpus * perCpu, got = 0, high = 0;
        ulong* frames = stackalloc ulong[PerCpus.MaxCpus * Kmap.SlotsPerCpu];
        KmapShare* shares = stackalloc KmapShare[PerCpus.MaxCpus];
        for (; got < total; got++)
        {
            if (buddy.Allocate(0, MemoryClass.User, out Pfn f) != Status.Ok) break;
            frames[got] = f.ToAddr().Value;
            if (frames[got] >= Platform.DirectMapLimit) high++;
        }
        t.Equal((ulong)got, (ulong)total, "16 frames for each CPU");
        if (got == total)
        {
            for (int i = 0; i < cpus; i++) shares[i] = default;
            s_kmapFrames = frames;
            s_kmapShares = shares;
            s_kmapArrived = 0;
            t.Check(Smp.RunOnAll(&KmapShareWork, KmapTimeoutMs), "every CPU ran its share");
            for (int i = 0; i < cpus; i++)
            {
                KmapShare* r = shares + i;
                t.Equal((ulong)r->Ran, 1, "the CPU met the others at the barrier and ran its rounds");
                t.Equal((ulong)r->OutsideOwnSlots, 0, "kmaps outside the CPU's own slots");
                t.Equal((ulong)r->ForeignWords, 0, "words holding another CPU's pattern");
                t.Equal((ulong)r->WrongWords, 0, "words not the pattern of the CPU's frame and round");
                if (r->WrongWords != 0) t.Equal(r->FirstSeen, r->FirstExpected, "the first wrong word (pattern 0x4B4D, cpu, frame, round)");
                t.Equal((ulong)r->HeldAfter, 0, "kmaps the CPU still held after its rounds");
            }
            s_kmapFrames = null;
            s_kmapShares = null;
        }
        for (int i = 0; i < got; i++) buddy.Free(Pfn.NewUnchecked(frames[i] >> PageSize.Shift), 0);

        SharpMM.Diagnostics.TextWriter<SerialSink> w = Log.Writer();
        w.Str("  ");
        w.Dec((ulong)cpus);
        w.Str(cpus == 1 ? " CPU, " : " CPUs at once, ");
        w.Dec(KmapRounds);
        w.Str(" rounds of 16 frames each (");
        w.Dec((ulong)high);
        w.Str(" of ");
        w.Dec((ulong)got);
        w.Str(" in HighMem) written and read back through kmap; slots from");
        for (int i = 0; i < cpus; i++)
        {
            w.Str(i == 0 ? " " : ", ");
            w.Hex(Kmap.SlotAddress(i, 0), 8);
            w.Str(" (cpu ");
            w.Dec((ulong)i);
            w.Char(')');
        }
        w.Line();
    }

    private static void KmapShareWork(ulong cpu)
    {
        KmapShare* r = s_kmapShares + cpu;
        ulong* frames = s_kmapFrames + cpu * Kmap.SlotsPerCpu;
        int n = Kmap.SlotsPerCpu;
        System.Threading.Interlocked.Increment(ref s_kmapArrived);
        ulong deadline = Arch.Rdtsc() + Tsc.Hz / 1000 * KmapTimeoutMs;
        while (System.Threading.Volatile.Read(ref s_kmapArrived) < Smp.Online)
        {
            if (Arch.Rdtsc() > deadline) return;
            SharpMM.Concurrency.Cpu.Relax();
        }
        r->Ran = 1;
        ulong** held = stackalloc ulong*[Kmap.SlotsPerCpu];
        for (int round = 0; round < KmapRounds; round++)
        {
            for (int f = 0; f < n; f++)
            {
                held[f] = (ulong*)Kmap.Map(frames[f]);
                if ((ulong)(nuint)held[f] != Kmap.SlotAddress((int)cpu, f)) r->OutsideOwnSlots++;
                ulong tag = KmapTag(cpu, f, round);
                for (int i = 0; i < 512; i++) held[f][i] = tag;
            }
            for (int f = n - 1; f >= 0; f--) Kmap.Unmap((byte*)held[f]);

            // Slot k now gets frame n-1-k, not the frame it held a moment ago.
            for (int k = 0; k < n; k++)
            {
                int f = n - 1 - k;
                held[k] = (ulong*)Kmap.Map(frames[f]);
                if ((ulong)(nuint)held[k] != Kmap.SlotAddress((int)cpu, k)) r->OutsideOwnSlots++;
                ulong expected = KmapTag(cpu, f, round);
                for (int i = 0; i < 512; i++)
                {
                    ulong seen = held[k][i];
                    if (seen == expected) continue;
                    if (r->WrongWords++ == 0) { r->FirstSeen = seen; r->FirstExpected = expected; }
                    if (seen >> 48 == 0x4B4D && (seen >> 32 & 0xFFFF) != cpu) r->ForeignWords++;
                }
            }
            for (int k = n - 1; k >= 0; k--) Kmap.Unmap((byte*)held[k]);
        }
        r->HeldAfter = Kmap.Held;
    }

    private static void HighMemFrameThroughKmap(ref TestContext t)
    {
        ref BuddyAllocator buddy = ref PhysicalBoot.Memory.Buddy;
        ulong highMem = 0;
        for (int z = 0; z < buddy.ZoneCount; z++)
            if (buddy.GetZone(z).Kind == ZoneKind.HighMem) highMem = buddy.GetZone(z).ManagedFrames;
        if (highMem == 0)
        {
            // Nothing to reach: every frame of this guest is in the direct map.
            t.Check(PhysicalBoot.Memory.Buddy.ManagedFrames > 0, "frames managed");
            Log.Line("  no HighMem on this machine (RAM below 896 MiB): nothing to kmap");
            return;
        }
        t.Equal((ulong)buddy.Allocate(0, MemoryClass.User, out Pfn f), (ulong)Status.Ok, "a user frame");
        ulong phys = f.ToAddr().Value;
        t.Check(phys >= Platform.DirectMapLimit, "user frames come from HighMem first");
        // Base + phys lies beyond the direct map's end (where it is an address at all): there the
        // windows are, so nothing maps the frame linearly.
        t.Check(!Platform.InDirectMap(Arch.KernelVirtualBase + phys), "the frame has no direct-map address");
        byte* p = Kmap.Map(phys);
        for (int i = 0; i < 4096; i++) p[i] = 0xA5;
        Kmap.Unmap(p);
        p = Kmap.Map(phys);
        int dirty = 0;
        for (int i = 0; i < 4096; i++) if (p[i] != 0xA5) dirty++;
        t.Equal((ulong)dirty, 0, "bytes that lost the pattern between two kmaps");
        SharpMM.Diagnostics.MemoryOps.Zero(p, 4096);
        Kmap.Unmap(p);
        p = Kmap.Map(phys);
        int nonzero = 0;
        for (int i = 0; i < 4096; i++) if (p[i] != 0) nonzero++;
        t.Equal((ulong)nonzero, 0, "non-zero bytes after zeroing through kmap");
        Kmap.Unmap(p);
        t.Equal((ulong)buddy.Free(f, 0), (ulong)Status.Ok, "free");
    }
}
