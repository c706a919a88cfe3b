using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Diagnostics;
using SharpMM.Paging;
using SharpMM.Paging.X86;

namespace SharpMM.Kernel;

/// <summary>
/// The kernel's own x86-64 page tables, built with the library's mapper once the buddy allocator
/// is up, then loaded into CR3. From then on the boot stub's tables are unused (their frames stay
/// in the image, reserved) and every mapping change goes through <see cref="Mapper"/>, with the
/// flush tokens flushed through <see cref="Policy"/> and <see cref="Hooks"/>.
/// <code>
///   virtual address                          maps                                     flags
///   0x0000000000000000-0x00007fffffffffff    nothing: user space (PML4 entries 0..255
///                                            empty; page 0 and physical addresses fault)
///   0xffff888000000000 + phys                direct map: every RAM-like map entry      RW NX G
///                                            (usable, ACPI data, ACPI NVS) but page 0
///                                            and the image, largest pages alignment allows
///   0xffffc90000000000-0xffffc90400000000    vmalloc area (VmallocLargeMapper)
///   0xffffc91000000000-0xffffc91400000000    physical-mapping window (kmalloc large)
///   0xffffc94000000000-0xffffc98000000000    test window (in-kernel paging tests map
///                                            and unmap here; empty between tests)
///   0xffffffff80000000 + phys                kernel image:
///     __kernel_start-__rodata_start          text (Multiboot header, boot stub, asm,   ro x G
///                                            managed code)
///     __rodata_start-__data_start            rodata                                    ro NX G
///     __data_start-__kernel_end              data, bss: GDT, IDT, TSS, IST stack,      RW NX G
///                                            boot stack and boot page tables (unused)
///     boot_stack_guard                       not present
///   0xfffffffffffbe000                       kernel stack guard page: not present
///   0xfffffffffffbf000-0xfffffffffffff000    kernel stack, 64 buddy frames             RW NX G
/// </code>
/// The regions come from <see cref="KernelRegions"/> (AddressSpaceLayout.X86_64). Device memory
/// (the 3-4 GiB hole, the VGA window, the BIOS ROM) is not mapped: nothing uses it. Every PML4
/// entry of the kernel half the kernel uses is made here and fixed (<see cref="MakeTopLevelEntries"/>),
/// because user spaces copy them when they are made. The boot stub's tables map the same direct
/// map and image, so pointers taken before the switch stay valid; the library's table access is
/// <see cref="Platform.DirectMap"/> before and after.
/// </summary>
internal static unsafe class KernelAddressSpace
{
    /// <summary>Base of the region the in-kernel tests map and unmap in (<see cref="KernelRegions"/>).</summary>
    public static ulong TestWindow => KernelRegions.TestWindow;

    /// <summary>The two pages the TLB shootdown test (SmpShootdownTests) maps and unmaps: 4 MiB
    /// into the test window, under a page table nothing else uses.</summary>
    public static ulong SmpTestPage => TestWindow + 0x40_0000;

    private static Mapper<X86LongModeFormat, DirectMapTableAccess> s_mapper;
    private static FlushPolicy s_policy;
    private static KernelArchHooks s_hooks;

    /// <summary>The kernel address space (valid after <see cref="Build"/>).</summary>
    public static ref Mapper<X86LongModeFormat, DirectMapTableAccess> Mapper => ref s_mapper;
    /// <summary>How flush tokens become invlpg / CR3 reloads / CR4.PGE toggles; its counters.</summary>
    public static ref FlushPolicy Policy => ref s_policy;
    /// <summary>The CPU behind the policy.</summary>
    public static ref KernelArchHooks Hooks => ref s_hooks;

    /// <summary>True once CR3 holds <see cref="Mapper"/>'s root.</summary>
    public static bool Active { get; private set; }
    /// <summary>The largest page the direct map uses: 1 GiB when the CPU has it, else 2 MiB.</summary>
    public static MappingSize Largest { get; private set; }
    /// <summary>Flags every no-execute mapping carries: none with NX, Executable without (then
    /// nothing can be no-execute and W^X is not enforced).</summary>
    public static PageFlags NoExecute { get; private set; }
    /// <summary>rdtsc cycles from creating the root to the last mapping (CR3 load excluded).</summary>
    public static ulong BuildCycles { get; private set; }
    /// <summary>Page-table frames the build took from the buddy allocator.</summary>
    public static ulong TablePages { get; private set; }
    /// <summary>CR3 at kmain entry (the boot stub's PML4).</summary>
    public static ulong BootCr3 { get; private set; }
    /// <summary>Bytes of RAM the direct map covers.</summary>
    public static ulong DirectMapBytes { get; private set; }
    /// <summary>One past the highest byte the direct map covers.</summary>
    public static ulong DirectMapEnd { get; private set; }

    /// <summary>Builds the tables, loads CR3 and prints the ptdump and a summary line. Panics on
    /// any failure (the kernel cannot go on without an address space).</summary>
    public static void Build(ref LoaderInfo loader)
    {
        CpuFeatures.EnablePaging();
        Largest = CpuFeatures.Page1GiB ? MappingSize.Size1GiB : MappingSize.Size2MiB;
        NoExecute = CpuFeatures.Nx ? PageFlags.None : PageFlags.Executable;
        s_policy = FlushPolicy.Default;
        BootCr3 = s_hooks.ReadCr3();
        KernelRegions.Init();

        ulong framesBefore = KernelFrames.InUse;
        KernelFrames frames = default;
        FlushBatch batch = default;
        ulong t0 = Arch.Rdtsc();
        Status s = Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(new DirectMapTableAccess(Platform.DirectMap), ref frames, out s_mapper);
        if (s != Status.Ok) KernelPanic.Fail("address space: no frame for the PML4, status", (ulong)s);

        Populate(ref s_mapper, ref loader, ref batch);
        ulong tablesBeforeStack = KernelFrames.InUse;
        KernelStack.Map(ref s_mapper, NoExecute, ref batch);
        MakeTopLevelEntries(ref s_mapper);
        BuildCycles = Arch.Rdtsc() - t0;
        // Stack frames are data, not tables: count the tables the stack mapping needed only.
        TablePages = (tablesBeforeStack - framesBefore) + (KernelFrames.InUse - tablesBeforeStack - KernelStack.Size / PageSize.Bytes);

        // Not active yet: nothing in the TLB can come from these tables. The CR3 load below
        // drops every (non-global) boot translation; the boot tables have no global entries.
        FlushPolicy unused = FlushPolicy.Default;
        batch.Ignore(ref unused);
        s_hooks.WriteCr3(s_mapper.RootPhys);
        Active = true;

        Report();
    }

    /// <summary>
    /// Everything but the kernel stack, into <paramref name="m"/>: the kernel image W^X by section
    /// (the boot stack's guard page a hole), the direct map of RAM, the loader's data. Used for the
    /// live tables at boot and by a test that builds a second copy and compares it.
    /// </summary>
    public static void Populate(ref Mapper<X86LongModeFormat, DirectMapTableAccess> m, ref LoaderInfo loader, ref FlushBatch batch)
    {
        PageFlags nx = NoExecute;
        ulong guard = KernelImage.ToPhys(Arch.BootStackGuard());
        MapImage(ref m, KernelImage.Start, KernelImage.RodataStart, PageFlags.Executable | PageFlags.Global, "kernel text", ref batch);
        MapImage(ref m, KernelImage.RodataStart, KernelImage.DataStart, PageFlags.Global | nx, "kernel rodata", ref batch);
        MapImage(ref m, KernelImage.DataStart, guard, PageFlags.Writable | PageFlags.Global | nx, "kernel data", ref batch);
        MapImage(ref m, guard + PageSize.Bytes, KernelImage.End, PageFlags.Writable | PageFlags.Global | nx, "kernel bss", ref batch);
        MapRam(ref m, ref batch);
        MapLoaderData(ref m, ref loader, ref batch);
    }

    /// <summary>
    /// Makes every PML4 entry the kernel will use (the direct map's, the vmalloc entry of
    /// <see cref="KernelRegions"/>, the image's and stack's) and fixes them
    /// (<see cref="Mapper{TFormat, TAccess}.FixRootEntries"/>): a user address space copies
    /// entries 256..511 when it is made, so a kernel mapping made later must not need a new one.
    /// Entries 0..255 stay empty: the lower half belongs to user space. Panics when a table
    /// cannot be had or a lower-half entry is in use (the kernel mapped something there).
    /// </summary>
    private static void MakeTopLevelEntries(ref Mapper<X86LongModeFormat, DirectMapTableAccess> m)
    {
        ulong* root = (ulong*)Platform.DirectMap.ToVirt(m.RootPhys);
        for (int i = 0; i < 256; i++)
            if (root[i] != 0) KernelPanic.Fail("address space: the kernel maps a lower-half PML4 entry", (ulong)i);
        ulong* made = stackalloc ulong[256];
        int count = 0;
        ulong directEnd = DirectMapEnd > PageSize.Bytes ? DirectMapEnd : PageSize.Bytes;
        for (ulong va = Arch.DirectMapBase; va < Arch.DirectMapBase + directEnd; va += KernelRegions.TopLevelSpan)
            MakeTopLevelEntry(ref m, root, va, made, ref count);
        MakeTopLevelEntry(ref m, root, KernelRegions.VmallocStart, made, ref count);
        MakeTopLevelEntry(ref m, root, KernelImage.ToVirt(KernelImage.Start), made, ref count);
        MakeTopLevelEntry(ref m, root, KernelStack.Bottom, made, ref count);
        m.FixRootEntries();
        // The paths EnsureLeafTable made below the new entries are empty: give them back (the
        // entries themselves stay now). Not active yet: nothing in the TLB comes from them.
        KernelFrames frames = default;
        FlushBatch batch = default;
        for (int i = 0; i < count; i++) m.FreeEmptyTables(VirtAddr.NewUnchecked(made[i]), ref frames, ref batch);
        FlushPolicy none = FlushPolicy.Default;
        batch.Ignore(ref none);
    }

    private static void MakeTopLevelEntry(ref Mapper<X86LongModeFormat, DirectMapTableAccess> m, ulong* root, ulong va, ulong* made, ref int count)
    {
        if (root[(va >> 39) & 511] != 0) return;
        KernelFrames frames = default;
        FlushBatch batch = default;
        Status s = m.EnsureLeafTable(VirtAddr.NewUnchecked(va), ref frames, ref batch, out _, out _);
        if (s != Status.Ok) KernelPanic.Fail("address space: no table for a kernel PML4 entry, status", (ulong)s);
        FlushPolicy none = FlushPolicy.Default;
        batch.Ignore(ref none);
        made[count++] = va;
    }

    /// <summary>Maps physical [start, end) of the image at its linked address
    /// (<see cref="KernelImage.ToVirt"/>).</summary>
    private static void MapImage(ref Mapper<X86LongModeFormat, DirectMapTableAccess> m, ulong start, ulong end, PageFlags flags, string what, ref FlushBatch batch) =>
        MapAt(ref m, KernelImage.ToVirt(start), start, end, flags, what, ref batch);

    /// <summary>Maps physical [start, end) into the direct map (<see cref="Platform.DirectMap"/>).</summary>
    private static void MapDirect(ref Mapper<X86LongModeFormat, DirectMapTableAccess> m, ulong start, ulong end, PageFlags flags, string what, ref FlushBatch batch) =>
        MapAt(ref m, (ulong)Platform.DirectMap.ToVirt(start), start, end, flags, what, ref batch);

    /// <summary>Maps physical [start, end) at <paramref name="virt"/> with <paramref name="flags"/>
    /// and the largest pages alignment allows (up to <see cref="Largest"/>). Empty ranges are skipped.</summary>
    private static void MapAt(ref Mapper<X86LongModeFormat, DirectMapTableAccess> m, ulong virt, ulong start, ulong end, PageFlags flags, string what, ref FlushBatch batch)
    {
        if (end <= start) return;
        KernelFrames frames = default;
        Status s = m.MapRange(VirtAddr.NewUnchecked(virt), PhysAddr.NewUnchecked(start), end - start, flags, Largest, ref frames, ref batch);
        if (s == Status.Ok) return;
        MappingFailure.Fail(what, virt, virt + (end - start), s, 16);
    }

    private const int MaxRanges = MemoryMap.Capacity;

    /// <summary>The direct map: every RAM-like entry of the sanitized map rounded out to 4 KiB,
    /// overlapping or touching ranges merged, minus page 0 and the kernel image (mapped above).</summary>
    private static void MapRam(ref Mapper<X86LongModeFormat, DirectMapTableAccess> mapper, ref FlushBatch batch)
    {
        ref MemoryMap map = ref PhysicalBoot.Sanitized;
        ulong* starts = stackalloc ulong[MaxRanges];
        ulong* ends = stackalloc ulong[MaxRanges];
        int n = 0;
        for (int i = 0; i < map.Count; i++)
        {
            MemoryMapEntry e = map[i];
            if (e.Type != MemoryType.Usable && e.Type != MemoryType.AcpiData && e.Type != MemoryType.AcpiNvs) continue;
            ulong s = e.Start & ~PageSize.OffsetMask;
            ulong t = (e.End + PageSize.OffsetMask) & ~PageSize.OffsetMask;
            if (t <= s) continue;
            // Insertion by start (the sanitized map is sorted already; this keeps it so).
            int j = n++;
            while (j > 0 && starts[j - 1] > s) { starts[j] = starts[j - 1]; ends[j] = ends[j - 1]; j--; }
            starts[j] = s;
            ends[j] = t;
        }
        int m = 0;
        for (int i = 0; i < n; i++)
        {
            if (m > 0 && starts[i] <= ends[m - 1])
            {
                if (ends[i] > ends[m - 1]) ends[m - 1] = ends[i];
                continue;
            }
            starts[m] = starts[i];
            ends[m] = ends[i];
            m++;
        }

        PageFlags flags = PageFlags.Writable | PageFlags.Global | NoExecute;
        ulong kStart = KernelImage.Start, kEnd = KernelImage.End;
        ulong bytes = 0, top = 0;
        for (int i = 0; i < m; i++)
        {
            ulong s = starts[i] < PageSize.Bytes ? PageSize.Bytes : starts[i];
            ulong t = ends[i];
            if (t <= s) continue;
            bytes += t - s;
            if (t > top) top = t;
            if (s < kEnd && t > kStart)
            {
                bytes -= (t < kEnd ? t : kEnd) - (s > kStart ? s : kStart);
                MapDirect(ref mapper, s, kStart < t ? kStart : t, flags, "RAM below the kernel", ref batch);
                MapDirect(ref mapper, kEnd > s ? kEnd : s, t, flags, "RAM above the kernel", ref batch);
            }
            else
            {
                MapDirect(ref mapper, s, t, flags, "RAM", ref batch);
            }
        }
        DirectMapBytes = bytes;
        DirectMapEnd = top;
    }

    /// <summary>The Multiboot structures, the command line and the modules, read-only, where the
    /// direct map does not already cover them (QEMU puts them in usable RAM; another loader may not).</summary>
    private static void MapLoaderData(ref Mapper<X86LongModeFormat, DirectMapTableAccess> m, ref LoaderInfo loader, ref FlushBatch batch)
    {
        MultibootInfo* mb = loader.Multiboot;
        DirectMap dm = Platform.DirectMap;
        MapReadOnly(ref m, dm.ToPhys(mb), (ulong)sizeof(MultibootInfo), ref batch);
        if ((mb->Flags & MultibootInfo.FlagMemoryMap) != 0) MapReadOnly(ref m, mb->MmapAddr, mb->MmapLength, ref batch);
        if (loader.CommandLine.Text != null) MapReadOnly(ref m, dm.ToPhys(loader.CommandLine.Text), (ulong)loader.CommandLine.Length + 1, ref batch);
        if ((mb->Flags & MultibootInfo.FlagModules) != 0)
        {
            MultibootModule* mods = (MultibootModule*)dm.ToVirt(mb->ModulesAddr);
            MapReadOnly(ref m, mb->ModulesAddr, mb->ModuleCount * (ulong)sizeof(MultibootModule), ref batch);
            for (uint i = 0; i < mb->ModuleCount; i++)
                if (mods[i].End > mods[i].Start) MapReadOnly(ref m, mods[i].Start, (ulong)mods[i].End - mods[i].Start, ref batch);
        }
    }

    /// <summary>Physical [start, start + bytes) read-only in the direct map, page by page where
    /// nothing maps it yet.</summary>
    private static void MapReadOnly(ref Mapper<X86LongModeFormat, DirectMapTableAccess> m, ulong start, ulong bytes, ref FlushBatch batch)
    {
        if (bytes == 0) return;
        ulong first = start & ~PageSize.OffsetMask;
        ulong end = (start + bytes + PageSize.OffsetMask) & ~PageSize.OffsetMask;
        KernelFrames frames = default;
        for (ulong p = first; p < end; p += PageSize.Bytes)
        {
            ulong va = (ulong)Platform.DirectMap.ToVirt(p);
            if (p == 0 || m.Translate(VirtAddr.NewUnchecked(va), out _) == Status.Ok) continue;
            Status s = m.Map(VirtAddr.NewUnchecked(va), PhysAddr.NewUnchecked(p), MappingSize.Size4KiB,
                PageFlags.Global | NoExecute, ref frames, out FlushToken token);
            if (s != Status.Ok) KernelPanic.Fail("address space: mapping loader data failed at", p);
            batch.Add(in token);
        }
    }

    /// <summary>True when the kernel tables translate <paramref name="va"/> (a software walk).</summary>
    public static bool IsMapped(ulong va) =>
        X86LongModeFormat.IsCanonical(va) && s_mapper.Translate(VirtAddr.NewUnchecked(va), out _) == Status.Ok;

    /// <summary>The translation of <paramref name="va"/> by the kernel tables.</summary>
    public static Status Translate(ulong va, out Translation t)
    {
        t = default;
        if (!X86LongModeFormat.IsCanonical(va)) return Status.InvalidArgument;
        return s_mapper.Translate(VirtAddr.NewUnchecked(va), out t);
    }

    private static void Report()
    {
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("paging: CPU NX ");
        w.Str(CpuFeatures.Nx ? "yes" : "no (W^X not enforced: every page executable)");
        w.Str(", PGE ");
        w.Str(CpuFeatures.Pge ? "yes" : "no");
        w.Str(", 1 GiB pages ");
        w.Str(CpuFeatures.Page1GiB ? "yes" : "no");
        w.Str("; direct map pages up to ");
        PageTableDump.WriteSize(ref w, 1UL << (int)Largest);
        w.Line();
        w.Str("kernel address space (library page tables; direct map at ");
        w.Hex(Arch.DirectMapBase, 16);
        w.Str(", image at ");
        w.Hex(Arch.KernelVirtualBase, 16);
        w.Str(" + phys, no identity map; ");
        w.Size(DirectMapBytes);
        w.Str(" of RAM up to ");
        w.Hex(DirectMapEnd - 1, 16);
        w.Line("):");
        PageTableDump.Write(ref s_mapper, ref w);
        PageTablesLine.Write(ref w, TablePages, BuildCycles, BootCr3, s_hooks.ReadCr3(), KernelStack.Bottom, KernelStack.Top, KernelStack.Guard, 16);
        w.Line();
    }
}
