using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Diagnostics;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.Virtual;

namespace SharpMM.Kernel;

/// <summary>
/// The i386 kernel's final page directory, built by the library once the buddy allocator is up
/// (after <see cref="PhysicalBoot.Run"/>), then loaded into CR3:
/// <code>
///   0xFFFFF000             the directory itself        PD[1023] -> the directory (recursive slot):
///   0xFFC00000             the page tables             the table for va at 0xFFC00000 + 4096 * (va >> 22)
///   0xFFBC0000-0xFFBFFFFF  kernel stack (256 KiB)     RW, guard page at 0xFFBBF000 not present
///   0xF8000000             (end of the direct map)
///   0xC0000000 + phys      low memory, RAM entries     RW, 4 MiB pages where aligned, else 4 KiB
///   0xC0000000 + image     kernel image, 4 KiB pages   text read-only, rodata read-only, data RW
///   below 0xC0000000       nothing: the boot stub's identity map of [0, 4 MiB) is gone, page 0 faults
/// </code>
/// The image lies inside the direct map (it is linked at 0xC0000000 + its load address), so it
/// has one mapping only: no writable alias of its text. Legacy 32-bit paging has no no-execute
/// bit, so read-only is what the W^X split can enforce. Tables come from the buddy allocator's
/// low zones (<see cref="KernelFrames"/>), built through the direct map.
/// </summary>
internal static unsafe class KernelAddressSpace
{
    /// <summary>The recursive slot and where it puts the tables and the directory.</summary>
    public const int RecursiveSlot = 1023;
    public const uint PageTablesBase = 0xFFC00000;
    public const uint DirectoryAddress = 0xFFFFF000;

    /// <summary>The flags that keep a data mapping from being executable: none to add (the
    /// format makes data NX under PAE with NX, and legacy paging has no such bit).</summary>
    public static PageFlags NoExecute => PageFlags.None;

    /// <summary>The two pages the TLB shootdown test (SmpShootdownTests) maps and unmaps: the
    /// bottom of the kernel-stack region (0xFF400000-0xFF7FFFFF), which nothing else uses.</summary>
    public const ulong SmpTestPage = 0xFF400000;

    private static Mapper<I386Format, DirectMapTableAccess> s_mapper;
    private static Mapper<I386Format, LiveTableAccess> s_live;
    private static KernelArchHooks s_hooks;
    private static FlushPolicy s_policy;

    /// <summary>The kernel's tables as built, reached through the direct map (valid after
    /// <see cref="Build"/>; for walks and dumps).</summary>
    public static ref Mapper<I386Format, DirectMapTableAccess> Mapper => ref s_mapper;

    /// <summary>The same tables as the running kernel changes them (<see cref="LiveTableAccess"/>):
    /// with legacy paging through the recursive slot (the directory at 0xFFFFF000, the tables at
    /// 0xFFC00000), with the window address of a table invalidated (invlpg) when the table is
    /// linked or freed; with PAE through the direct map.</summary>
    public static ref Mapper<I386Format, LiveTableAccess> Live => ref s_live;
    public static ref KernelArchHooks Hooks => ref s_hooks;
    public static ref FlushPolicy Policy => ref s_policy;

    /// <summary>CR3 of the boot stub's directory.</summary>
    public static ulong BootCr3 { get; private set; }
    /// <summary>Table pages the build took from the buddy allocator (directory included).</summary>
    public static ulong TablePages { get; private set; }
    public static ulong BuildCycles { get; private set; }

    /// <summary>Builds the directory, installs the recursive slot, switches CR3 and checks that
    /// the identity map is gone. Panics when a mapping fails.</summary>
    public static void Build(ref LoaderInfo loader)
    {
        TextWriter<SerialSink> w = Log.Writer();
        s_policy = FlushPolicy.Default;
        BootCr3 = s_hooks.ReadCr3();
        DirectMap dm = Platform.DirectMap;
        ulong framesBefore = KernelFrames.InUse;
        KernelFrames frames = default;
        FlushBatch batch = default;
        ulong t0 = Arch.Rdtsc();
        Status s = Mapper<I386Format, DirectMapTableAccess>.Create(new DirectMapTableAccess(dm), ref frames, out s_mapper);
        if (s != Status.Ok) KernelPanic.Fail("address space: no frame for the page directory, status", (ulong)s);

        Map(KernelImage.Start, KernelImage.RodataStart, PageFlags.Executable, MappingSize.Size4KiB, "kernel text", ref batch);
        Map(KernelImage.RodataStart, KernelImage.DataStart, PageFlags.None, MappingSize.Size4KiB, "kernel rodata", ref batch);
        Map(KernelImage.DataStart, KernelImage.End, PageFlags.Writable, MappingSize.Size4KiB, "kernel data", ref batch);
        ulong directBytes = MapLowMemory(ref batch);
        MapLoaderData(ref loader, ref batch);
        ulong tablesBeforeStack = KernelFrames.InUse;
        KernelStack.Map(ref s_mapper, ref batch);
        if (SharesKernelTables) MakeKernelTables();
        if (!PagingMode.Pae)
        {
            s = RecursiveTableAccess<I386Format, KernelWindow>.InstallLoop(dm.ToVirt(s_mapper.RootPhys), s_mapper.RootPhys, RecursiveSlot);
            if (s != Status.Ok) KernelPanic.Fail("address space: recursive slot, status", (ulong)s);
        }
        BuildCycles = Arch.Rdtsc() - t0;
        // Stack frames are data, not tables: count the tables the stack mapping needed only.
        TablePages = (tablesBeforeStack - framesBefore) + (KernelFrames.InUse - tablesBeforeStack - KernelStack.Size / PageSize.Bytes);

        BootSteps.FinalTables(ref w, s_mapper.RootPhys);
        if (!PagingMode.Pae)
        {
            BootSteps.RecursiveSlot(ref w, RecursiveSlot, PageTablesBase, DirectoryAddress);
            w.Str("paging: final page directory at ");
            w.Hex(s_mapper.RootPhys, 8);
            w.Str(": kernel image in 4 KiB pages (text and rodata read-only), direct map of ");
            w.Size(directBytes);
            w.Str(" of low memory at ");
            w.Hex(Arch.KernelVirtualBase, 8);
            w.Str(", PD[1023] -> the directory (tables at ");
            w.Hex(PageTablesBase, 8);
            w.Str(", directory at ");
            w.Hex(DirectoryAddress, 8);
            w.Line(")");
        }
        else
        {
            w.Str("paging: final PAE tables, PDPT at ");
            w.Hex(s_mapper.RootPhys, 8);
            w.Str(": kernel image in 4 KiB pages (text read-only");
            w.Str(PagingMode.NoExecute ? ", the only executable pages; rodata, data and the direct map NX" : "; no NX on this CPU");
            w.Str("), direct map of ");
            w.Size(directBytes);
            w.Str(" of low memory at ");
            w.Hex(Arch.KernelVirtualBase, 8);
            w.Line(" in 2 MiB pages where aligned; tables reached through the direct map (no recursive slot under PAE)");
        }
        PageTableDump.Write(ref s_mapper, ref w);

        // Not active yet: nothing in the TLB comes from these tables; the CR3 load drops the boot
        // stub's translations (none of them global).
        FlushPolicy unused = FlushPolicy.Default;
        batch.Ignore(ref unused);
        s_hooks.WriteCr3(s_mapper.RootPhys);
        Arch.SetDoubleFaultCr3((uint)s_mapper.RootPhys);
        BootSteps.Switched(ref w, s_mapper.RootPhys);
        PageTablesLine.Write(ref w, TablePages, BuildCycles, BootCr3, s_hooks.ReadCr3(), KernelStack.Bottom, KernelStack.Top, KernelStack.Guard, 8);

        if (!PagingMode.Pae)
        {
            s = RecursiveTableAccess<I386Format, KernelWindow>.Create((byte*)(nuint)DirectoryAddress, s_mapper.RootPhys, RecursiveSlot,
                default(KernelWindow), out RecursiveTableAccess<I386Format, KernelWindow> access);
            if (s != Status.Ok) KernelPanic.Fail("address space: the recursive slot does not check out, status", (ulong)s);
            s_live = new Mapper<I386Format, LiveTableAccess>(s_mapper.RootPhys, LiveTableAccess.Recursive(access, dm));
            if (SharesKernelTables) s_live.FixRootEntries();
            w.Str("paging: live tables through the recursive slot: directory at ");
            w.Hex(DirectoryAddress, 8);
            w.Str(", tables at ");
            w.Hex(PageTablesBase, 8);
            w.Line(", new tables filled through the direct map");
        }
        else
        {
            s_live = new Mapper<I386Format, LiveTableAccess>(s_mapper.RootPhys, LiveTableAccess.DirectMapped(dm));
            w.Line("paging: live tables through the direct map (PAE: tables come from low memory)");
        }

        if (Platform.Phantom)
        {
            // The layout is the identity map: the image's physical address is its address.
            w.Line("paging: identity layout: low memory stays at its physical address (page 0 faults)");
            BootSteps.IdentityDropped(ref w, true);
            w.Line();
            return;
        }
        // The boot stub's identity map is gone: the image's physical address faults now.
        bool identityGone = !FaultProbe.Read(KernelImage.Start, out _);
        w.Str("paging: identity map dropped: ");
        w.Hex(KernelImage.Start, 8);
        w.Line(identityGone ? " faults" : " still reads (IDENTITY MAP STILL PRESENT)");
        if (!identityGone) KernelPanic.Fail("address space: the identity map survived the switch");
        BootSteps.IdentityDropped(ref w, false);
        w.Line();
    }

    /// <summary>
    /// True when user address spaces copy the kernel's directory entries (legacy paging, a
    /// layout with user space): then every kernel table exists from boot on and none is added
    /// or freed later (<see cref="MakeKernelTables"/>). With PAE a space shares the kernel's
    /// whole page directory (its PDPT entry), so a table added there is seen by every space.
    /// </summary>
    public static bool SharesKernelTables => !PagingMode.Pae && Platform.HasUserSpace;

    /// <summary>
    /// The page tables of every 4 MiB span the kernel maps after boot, made now: the kernel-heap
    /// region from the direct map's end (0xF8000000) up to the recursive window (0xFFC00000),
    /// which holds the vmalloc area, the physical-mapping window, the kmap window and the kernel
    /// stack; then the directory's entries are fixed (<see cref="Mapper{TFormat, TAccess}.FixRootEntries"/>:
    /// never added, never freed, a mapping that would need a new one fails with Unsupported).
    /// Why: a user space's directory copies the kernel's PDEs when it is made, so a table added
    /// later (vmalloc growing into a new 4 MiB span) would reach only the directory loaded at the
    /// time. Of the ways out (a list of directories each new PDE is copied to; copying the PDE on
    /// the fault, as Linux's vmalloc_fault did; making them all at boot), this is the one with
    /// nothing to keep in step and no fault path: it costs one table per span (31 of them,
    /// 124 KiB of low memory), what Linux's PAE kernels pay for their kernel PMDs. The direct
    /// map's own entries were made above and are fixed with the rest (it never grows).
    /// </summary>
    private static void MakeKernelTables()
    {
        const ulong Span = 4UL << 20;
        byte* root = Platform.DirectMap.ToVirt(s_mapper.RootPhys);
        for (ulong va = Platform.DirectMapEnd; va < PageTablesBase; va += Span)
        {
            if (I386Format.Read(root, (int)(va >> 22)) != 0) continue;
            KernelFrames frames = default;
            FlushBatch batch = default;
            Status s = s_mapper.EnsureLeafTable(VirtAddr.NewUnchecked(va), ref frames, ref batch, out _, out _);
            if (s != Status.Ok) KernelPanic.Fail("address space: no page table for a kernel span, status", (ulong)s);
            // Not active yet: nothing in the TLB comes from these tables.
            FlushPolicy none = FlushPolicy.Default;
            batch.Ignore(ref none);
        }
        s_mapper.FixRootEntries();
    }

    /// <summary>The direct map's largest page: 4 MiB with legacy paging, 2 MiB with PAE.</summary>
    private static MappingSize LargestLow => PagingMode.Pae ? MappingSize.Size2MiB : MappingSize.Size4MiB;

    private static void Map(ulong physStart, ulong physEnd, PageFlags flags, MappingSize largest, string what, ref FlushBatch batch)
    {
        if (physEnd <= physStart) return;
        KernelFrames frames = default;
        Status s = s_mapper.MapRange(VirtAddr.NewUnchecked(Arch.KernelVirtualBase + physStart), PhysAddr.NewUnchecked(physStart),
            physEnd - physStart, flags, largest, ref frames, ref batch);
        if (s == Status.Ok) return;
        MappingFailure.Fail(what, physStart, physEnd, s, 8);
    }

    /// <summary>Every usable / ACPI page below the direct-map limit but page 0 and the image, at
    /// 0xC0000000 + phys. Returns the bytes mapped.</summary>
    private static ulong MapLowMemory(ref FlushBatch batch)
    {
        ref MemoryMap map = ref PhysicalBoot.Sanitized;
        ulong kStart = KernelImage.Start, kEnd = KernelImage.End, limit = Platform.DirectMapLimit, bytes = 0;
        for (int i = 0; i < map.Count; i++)
        {
            MemoryMapEntry e = map[i];
            if (e.Type != MemoryType.Usable && e.Type != MemoryType.AcpiData && e.Type != MemoryType.AcpiNvs) continue;
            ulong s = (e.Start + PageSize.OffsetMask) & ~PageSize.OffsetMask;
            ulong t = e.End & ~PageSize.OffsetMask;
            if (s < PageSize.Bytes) s = PageSize.Bytes;
            if (t > limit) t = limit;
            if (t <= s) continue;
            if (s < kEnd && t > kStart)
            {
                Map(s, kStart < t ? kStart : t, PageFlags.Writable, LargestLow, "low memory below the kernel", ref batch);
                Map(kEnd > s ? kEnd : s, t, PageFlags.Writable, LargestLow, "low memory above the kernel", ref batch);
                bytes += (t - s) - ((t < kEnd ? t : kEnd) - (s > kStart ? s : kStart));
            }
            else
            {
                Map(s, t, PageFlags.Writable, LargestLow, "low memory", ref batch);
                bytes += t - s;
            }
        }
        return bytes;
    }

    /// <summary>The Multiboot structures and command line, read-only, where the RAM map left
    /// them out (QEMU puts them in usable RAM: then nothing is added).</summary>
    private static void MapLoaderData(ref LoaderInfo loader, ref FlushBatch batch)
    {
        DirectMap dm = Platform.DirectMap;
        MultibootInfo* mb = loader.Multiboot;
        MapReadOnly(dm.ToPhys(mb), (ulong)sizeof(MultibootInfo), ref batch);
        if ((mb->Flags & MultibootInfo.FlagMemoryMap) != 0) MapReadOnly(mb->MmapAddr, mb->MmapLength, ref batch);
        if (loader.CommandLine.Text != null) MapReadOnly(dm.ToPhys(loader.CommandLine.Text), (ulong)loader.CommandLine.Length + 1, ref batch);
    }

    private static void MapReadOnly(ulong start, ulong bytes, ref FlushBatch batch)
    {
        ulong first = start & ~PageSize.OffsetMask;
        ulong end = (start + bytes + PageSize.OffsetMask) & ~PageSize.OffsetMask;
        KernelFrames frames = default;
        for (ulong p = first; p < end; p += PageSize.Bytes)
        {
            ulong va = Arch.KernelVirtualBase + p;
            if (p == 0 || s_mapper.Translate(VirtAddr.NewUnchecked(va), out _) == Status.Ok) continue;
            Status s = s_mapper.Map(VirtAddr.NewUnchecked(va), PhysAddr.NewUnchecked(p), MappingSize.Size4KiB, PageFlags.None, ref frames, out FlushToken token);
            if (s != Status.Ok) KernelPanic.Fail("address space: mapping loader data failed at", p);
            batch.Add(in token);
        }
    }

    /// <summary>True when the library's walk of the kernel's tables finds <paramref name="va"/> mapped.</summary>
    public static bool IsMapped(ulong va) => va <= 0xFFFFFFFFUL && s_mapper.Translate(VirtAddr.NewUnchecked(va), out _) == Status.Ok;

    public static Status Translate(ulong va, out Translation t)
    {
        t = default;
        if (va > 0xFFFFFFFFUL) return Status.InvalidArgument;
        return s_mapper.Translate(VirtAddr.NewUnchecked(va), out t);
    }

    /// <summary>The recursive window as the CPU sees it: a virtual address is a pointer; a table's
    /// window address is invalidated with invlpg when the table is linked or unlinked.</summary>
    internal struct KernelWindow : IVirtualWindow
    {
        public byte* Pointer(ulong va) => (byte*)(nuint)va;
        public void Invalidate(ulong va) => Arch.Invlpg((uint)va);
    }
}
