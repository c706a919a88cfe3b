using System;
using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Diagnostics;
using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.Physical;
using SharpMM.Virtual;

namespace SharpMM.Hosted;

/// <summary>
/// The classic higher-half boot sequence for one address-space layout, run hosted: the hosted
/// MMU model is the CPU, the library does the work, and every step is checked by translating
/// addresses through the model (which reads the raw table bytes) and printed.
///
/// <code>
///  1. paging off; a temporary page directory in the kernel image's bss: the first 4 MiB
///     identity-mapped with 4 KiB pages (page 0 left out) and the same memory at the kernel's
///     base with one large page; paging on
///  2. parse and sanitize the firmware map
///  3. memblock, then the buddy allocator over all RAM (zones of the layout)
///  4. the final page tables from the buddy allocator, 4 KiB pages for the kernel image, the
///     layout's direct or identity map with large pages, the recursive self-map where the
///     layout has one, a kernel stack with a guard page below it
///  5. CR3 switched to the final tables
///  6. the identity map is gone (checked: the kernel's physical addresses now fault)
///  7. the stack relocated to the layout's stack region (checked: top writable, guard faults)
/// </code>
/// 32-bit layouts use the legacy two-level format with PSE (4 MiB pages); x86-64 uses 4-level
/// tables with 2 MiB pages. Page 0 is unmapped in every table this builds.
/// </summary>
public sealed unsafe class LayoutBoot : IDisposable
{
    /// <summary>The kernel image the sequence assumes: loaded at 1 MiB, 2 MiB long; its last four
    /// pages are the bss holding the temporary page tables.</summary>
    public const ulong KernelPhysStart = 0x100000, KernelPhysEnd = 0x300000;
    /// <summary>The image's sections, mapped W^X as the kernel maps its own (kernel/src/
    /// KernelAddressSpace.cs): text [start, RodataStart) read-only executable, rodata
    /// [RodataStart, DataStart) read-only no-execute, data and bss [DataStart, end) writable
    /// no-execute. The 32-bit formats have no NX bit: there W^X is only "text is not writable".</summary>
    public const ulong KernelRodataStart = 0x200000, KernelDataStart = 0x280000;
    private const ulong BootTablesStart = KernelPhysEnd - 8 * 4096; // 8 pages: enough for 4-level
    private const ulong StackBytes = 16 * 1024;

    /// <summary>The machine (RAM, memblock, buddy).</summary>
    public SimulatedMachine Machine { get; }
    /// <summary>The CPU model.</summary>
    public Mmu Mmu { get; }
    /// <summary>The layout booted.</summary>
    public AddressSpaceLayout Layout { get; }
    /// <summary>What each step did (text).</summary>
    public string Log { get; }
    /// <summary>Physical address of the final top-level table.</summary>
    public ulong FinalRoot { get; }
    /// <summary>Checks the MMU model failed (0 on success).</summary>
    public int FailedChecks { get; }

    private readonly DirectMap _dm;

    private LayoutBoot(SimulatedMachine machine, Mmu mmu, AddressSpaceLayout layout, string log, ulong root, int failed)
    {
        Machine = machine; Mmu = mmu; Layout = layout; Log = log; FinalRoot = root; FailedChecks = failed; _dm = machine.DirectMap;
    }

    /// <summary>Zone layout that goes with an address-space layout.</summary>
    public static ZoneLayout ZonesFor(LayoutId id) => id switch
    {
        LayoutId.I386HigherHalf => ZoneLayout.I386(),
        LayoutId.I386Low2G => ZoneLayout.LowHigh(AddressSpaceLayout.I386Low2GDirectMapBytes),
        LayoutId.PhantomIa32 => ZoneLayout.I386(1UL << 30),
        _ => ZoneLayout.X86_64(),
    };

    /// <summary>Runs the sequence for <paramref name="id"/> on the raw map; throws
    /// InvalidOperationException with <see cref="TryRun"/>'s message when it refuses.</summary>
    public static LayoutBoot Run(LayoutId id, MemoryMap raw) =>
        TryRun(id, raw, out LayoutBoot? boot, out string? error) == Status.Ok ? boot! : throw new InvalidOperationException(error);

    /// <summary>
    /// Runs the sequence for <paramref name="id"/> on the raw map. The sequence puts the kernel
    /// image and its boot tables at [<see cref="KernelPhysStart"/>, <see cref="KernelPhysEnd"/>),
    /// so the map must have usable RAM there, and the 32-bit layouts need their tables below the
    /// direct-map limit. Return: Ok with <paramref name="boot"/>; the sanitizer's status for a bad
    /// map; InvalidArgument when the kernel image is not in RAM; OutOfMemory when the machine
    /// is over the <see cref="HostBudget"/>; the status of the first step the library refuses
    /// (OutOfMemory when RAM runs out). On failure <paramref name="error"/> says why in one line
    /// and nothing is left allocated.
    /// </summary>
    public static Status TryRun(LayoutId id, MemoryMap raw, out LayoutBoot? boot, out string? error)
    {
        boot = null;
        var layout = AddressSpaceLayout.Get(id);
        var w = StringSink.NewWriter();
        BootSteps.Header(ref w, layout.Name);

        // Step 2 comes first in the code only because the simulated RAM is sized from the map.
        MemoryMap sanitized = default;
        Status st = MapSanitizer.Sanitize(ref raw, ref sanitized, out MapError err);
        if (st != Status.Ok) { error = $"layout {layout.Name}: map: {err.Reason ?? StatusNames.Name(st)}"; return st; }
        if (!IsUsableRam(in sanitized, KernelPhysStart, KernelPhysEnd))
        {
            error = $"layout {layout.Name} needs usable RAM at [0x{KernelPhysStart:x}, 0x{KernelPhysEnd:x}) for the kernel image and its boot tables; the map does not cover it with usable RAM";
            return Status.InvalidArgument;
        }
        st = HostBudget.Check(in sanitized, out error);
        if (st != Status.Ok) return st;
        BootInfo info = BootInfo.Default();
        info.Layout = ZonesFor(id);
        info.KernelImage = PhysRange.FromBounds(KernelPhysStart, KernelPhysEnd);
        // 32-bit layouts use legacy tables, whose entries hold 32-bit physical addresses: RAM
        // above 4 GiB is left out, as the i386 kernel without PAE leaves it.
        if (layout.AddressBits == 32) info.PhysicalLimit = 4UL << 30;
        var machine = SimulatedMachine.Prepare(in sanitized);
        try
        {
            var mmu = new Mmu(machine.Ram, new MmuOptions { Supports1GiBPages = false });
            boot = layout.AddressBits == 32
                ? Sequence<X86LegacyFormat>(machine, mmu, layout, sanitized, info, ref w, PagingMode.Bits32, MappingSize.Size4MiB)
                : Sequence<X86LongModeFormat>(machine, mmu, layout, sanitized, info, ref w, PagingMode.FourLevel, MappingSize.Size2MiB);
            error = null;
            return Status.Ok;
        }
        catch (StepRefused e)
        {
            machine.Dispose();
            error = $"layout {layout.Name}: boot step '{e.Step}' failed: {StatusNames.Name(e.Status)}";
            return e.Status;
        }
        catch
        {
            machine.Dispose();
            throw;
        }
    }

    // True when usable entries of the sanitized (sorted, non-overlapping) map cover [start, end).
    private static bool IsUsableRam(in MemoryMap sanitized, ulong start, ulong end)
    {
        ulong covered = start;
        for (int i = 0; i < sanitized.Count && covered < end; i++)
        {
            MemoryMapEntry e = sanitized[i];
            if (e.Type == MemoryType.Usable && e.Start <= covered && e.End > covered) covered = e.End;
        }
        return covered >= end;
    }

    // A step the library refused; caught by TryRun, never seen by callers.
    private sealed class StepRefused(string step, Status status) : Exception(step)
    {
        public string Step { get; } = step;
        public Status Status { get; } = status;
    }

    private static LayoutBoot Sequence<TFormat>(SimulatedMachine machine, Mmu mmu, AddressSpaceLayout layout, MemoryMap sanitized,
        BootInfo info, ref TextWriter<StringSink> w, PagingMode mode, MappingSize large) where TFormat : struct, IPagingFormat
    {
        var access = new DirectMapTableAccess(machine.DirectMap);
        var arch = mmu.ArchHooks;
        var policy = FlushPolicy.Default;
        int failed = 0;
        ulong kernelVirt = layout.KernelVirtualOffset;   // virt = phys + offset for the kernel image
        ulong largeBytes = 1UL << (int)large;

        // 1. Temporary tables from the kernel image's bss (no allocator exists yet).
        BumpFrameAllocator bss = default;
        Require(bss.Init(machine.DirectMap, PhysRange.FromBounds(BootTablesStart, KernelPhysEnd)), "boot tables");
        Require(Mapper<TFormat, DirectMapTableAccess>.Create(access, ref bss, out var boot), "temporary root");
        var batch = new FlushBatch();
        Require(boot.MapRange(VirtAddr.NewUnchecked(0x1000), PhysAddr.NewUnchecked(0x1000), largeBytes - 0x1000, PageFlags.Writable | PageFlags.Executable, MappingSize.Size4KiB, ref bss, ref batch), "identity map");
        if (kernelVirt != 0)
            Require(boot.MapRange(VirtAddr.NewTruncate(kernelVirt), PhysAddr.NewUnchecked(0), largeBytes, PageFlags.Writable | PageFlags.Executable, large, ref bss, ref batch), "kernel at its base");
        batch.Ignore(ref policy); // paging is still off: nothing is cached
        mmu.Cr4 = mode == PagingMode.Bits32 ? Cr4Flags.PageSizeExtensions | Cr4Flags.PageGlobalEnable
                                            : Cr4Flags.PageSizeExtensions | Cr4Flags.PageGlobalEnable | Cr4Flags.PhysicalAddressExtension;
        if (mode != PagingMode.Bits32) mmu.Efer = EferFlags.NoExecuteEnable;
        mmu.Cr0 = Cr0Flags.ProtectionEnable | Cr0Flags.WriteProtect;
        mmu.EnablePaging(mode, boot.RootPhys);
        w.Str("  1. temporary tables at "); w.Hex(boot.RootPhys); w.Str(" (kernel bss): [");
        w.Hex(0x1000); w.Str(", "); w.Hex(largeBytes); w.Str(") identity, 4 KiB pages, page 0 unmapped; ");
        if (kernelVirt != 0) { w.Hex(kernelVirt); w.Str(" -> 0x0 as one "); PageTableDump.WriteSize(ref w, largeBytes); w.Str(" page; "); }
        w.Line("paging on");
        failed += Check(mmu, ref w, KernelPhysStart, KernelPhysStart, "kernel through the identity map");
        failed += Check(mmu, ref w, kernelVirt + KernelPhysStart, KernelPhysStart, "kernel through its base");
        failed += Check(mmu, ref w, 0, ulong.MaxValue, "page 0");

        // 2, 3. Map, memblock, buddy.
        BootSteps.Sanitized(ref w, in sanitized);
        ref PhysicalMemory pm = ref *machine.Memory;
        Require(pm.Boot(in sanitized, in info, machine.DirectMap), "physical memory boot");
        BootSteps.HandedOver(ref w, ref pm);

        // 4. Final tables from the buddy allocator.
        ref BuddyAllocator buddy = ref pm.Buddy;
        KernelFrames frames = new KernelFrames(ref buddy);
        ulong free0 = buddy.FreeFrames;
        Require(Mapper<TFormat, DirectMapTableAccess>.Create(access, ref frames, out var final), "final root");
        batch = new FlushBatch();
        BootSteps.FinalTables(ref w, final.RootPhys);
        // Kernel image, 4 KiB pages, at the kernel base + its physical address, W^X by section.
        int digits = layout.AddressBits == 32 ? 8 : 16;
        Require(final.MapRange(VirtAddr.NewTruncate(kernelVirt + KernelPhysStart), PhysAddr.NewUnchecked(KernelPhysStart), KernelRodataStart - KernelPhysStart,
            PageFlags.Executable | PageFlags.Global, MappingSize.Size4KiB, ref frames, ref batch), "kernel text");
        Mapped(ref w, digits, kernelVirt + KernelPhysStart, KernelRodataStart - KernelPhysStart, KernelPhysStart, "kernel text, read-only executable, 4 KiB pages, global");
        Require(final.MapRange(VirtAddr.NewTruncate(kernelVirt + KernelRodataStart), PhysAddr.NewUnchecked(KernelRodataStart), KernelDataStart - KernelRodataStart,
            PageFlags.Global, MappingSize.Size4KiB, ref frames, ref batch), "kernel rodata");
        Mapped(ref w, digits, kernelVirt + KernelRodataStart, KernelDataStart - KernelRodataStart, KernelRodataStart, "kernel rodata, read-only no-execute, 4 KiB pages, global");
        Require(final.MapRange(VirtAddr.NewTruncate(kernelVirt + KernelDataStart), PhysAddr.NewUnchecked(KernelDataStart), KernelPhysEnd - KernelDataStart,
            PageFlags.Writable | PageFlags.Global, MappingSize.Size4KiB, ref frames, ref batch), "kernel data");
        Mapped(ref w, digits, kernelVirt + KernelDataStart, KernelPhysEnd - KernelDataStart, KernelDataStart, "kernel data and bss, writable no-execute, 4 KiB pages, global");
        ulong ramTop = 0;
        for (int i = 0; i < sanitized.Count; i++) if (sanitized[i].Type == MemoryType.Usable) ramTop = Math.Max(ramTop, sanitized[i].End);
        for (int r = 0; r < layout.Count; r++)
        {
            LayoutRegion region = layout[r];
            if (region.Kind is RegionKind.DirectMap or RegionKind.IdentityMap)
            {
                // All RAM the region can hold, linearly (identity: virt == phys; a direct map: its
                // start maps DirectMapPhysStart), page 0 left out.
                ulong offset = region.Kind == RegionKind.IdentityMap ? 0 : region.Start - layout.DirectMapPhysStart;
                ulong lo = region.Kind == RegionKind.IdentityMap ? Math.Max(region.Start, largeBytes) : region.Start;
                ulong hi = Math.Min(region.End, offset + ramTop);
                if (region.Kind == RegionKind.IdentityMap && region.Start < largeBytes)
                {
                    Require(final.MapRange(VirtAddr.NewUnchecked(Math.Max(region.Start, 0x1000)), PhysAddr.NewUnchecked(Math.Max(region.Start, 0x1000)),
                        Math.Min(largeBytes, hi) - Math.Max(region.Start, 0x1000), PageFlags.Writable, MappingSize.Size4KiB, ref frames, ref batch), "low identity map");
                    Mapped(ref w, digits, Math.Max(region.Start, 0x1000), Math.Min(largeBytes, hi) - Math.Max(region.Start, 0x1000), Math.Max(region.Start, 0x1000), "identity map, 4 KiB pages (page 0 unmapped)");
                }
                if (hi > lo)
                {
                    Require(final.MapRange(VirtAddr.NewTruncate(lo), PhysAddr.NewUnchecked(lo - offset), hi - lo, PageFlags.Writable, large, ref frames, ref batch), RegionNames.Name(region.Kind));
                    Mapped(ref w, digits, lo, hi - lo, lo - offset, region.Kind == RegionKind.DirectMap ? "direct map of RAM, large pages" : "identity map of RAM, large pages");
                }
            }
        }
        // Kernel stack at the top of its region, a guard page below it.
        layout.TryFind(RegionKind.KernelStack, out LayoutRegion stackRegion);
        ulong stackTop = stackRegion.End, stackBottom = stackTop - StackBytes;
        for (ulong va = stackBottom; va < stackTop; va += 4096)
        {
            Require(buddy.Allocate(0, MemoryClass.Kernel, out Pfn f), "stack frame");
            Require(final.Map(VirtAddr.NewTruncate(va), f.ToAddr(), MappingSize.Size4KiB, PageFlags.Writable, ref frames, out FlushToken t), "stack page");
            t.Ignore(ref policy); // not yet the active tables
        }
        w.Str("     "); w.Hex(stackBottom, digits); w.Char('-'); w.Hex(stackTop - 1, digits);
        w.Str("  kernel stack, "); w.Size(StackBytes); w.Str(", guard page at "); w.Hex(stackBottom - 4096); w.Line(" left unmapped");
        // The recursive self-map where the layout has one (32-bit: directory entry 1023).
        if (layout.TryFind(RegionKind.PageDirectory, out LayoutRegion dirRegion))
        {
            Require(RecursiveTableAccess<TFormat, NoWindow>.InstallLoop(machine.DirectMap.ToVirt(final.RootPhys), final.RootPhys, 1023), "recursive slot");
            BootSteps.RecursiveSlot(ref w, 1023, 0xFFC00000, dirRegion.Start);
        }
        batch.Ignore(ref policy);
        w.Str("     "); w.Dec(free0 - buddy.FreeFrames); w.Line(" frames from the buddy allocator (tables and stack)");

        // 5. Switch.
        arch.WriteCr3(final.RootPhys);
        BootSteps.Switched(ref w, final.RootPhys);
        failed += Check(mmu, ref w, kernelVirt + KernelPhysStart, KernelPhysStart, "kernel through its base");
        failed += Check(mmu, ref w, 0, ulong.MaxValue, "page 0");
        failed += CheckWrite(mmu, ref w, kernelVirt + KernelPhysStart, false, "kernel text");
        failed += CheckWrite(mmu, ref w, kernelVirt + KernelRodataStart, false, "kernel rodata");
        failed += CheckWrite(mmu, ref w, kernelVirt + KernelDataStart, true, "kernel data");
        if (mode != PagingMode.Bits32) failed += CheckFetch(mmu, ref w, kernelVirt + KernelDataStart, false, "kernel data");
        if (layout.TryFind(RegionKind.PageDirectory, out _))
            failed += Check(mmu, ref w, 0xFFFFF000, final.RootPhys, "directory through the self-map");

        // 6. The boot identity map is gone unless the layout keeps one there.
        bool identityKept = kernelVirt == 0 || (layout.TryFind(KernelPhysStart, out LayoutRegion at) && at.Kind == RegionKind.IdentityMap);
        BootSteps.IdentityDropped(ref w, identityKept);
        failed += Check(mmu, ref w, KernelPhysStart, identityKept ? KernelPhysStart : ulong.MaxValue, "kernel's physical address");

        // 7. Stack relocated: writable at its top, guard page below faults.
        BootSteps.StackMoved(ref w, stackTop, layout.AddressBits);
        failed += CheckWrite(mmu, ref w, stackTop - 8, true, "top of the new stack");
        failed += CheckWrite(mmu, ref w, stackBottom - 8, false, "guard page below the stack");
        w.Str(failed == 0 ? "all checks passed" : "CHECKS FAILED: "); if (failed != 0) w.Dec((ulong)failed); w.Line();
        return new LayoutBoot(machine, mmu, layout, w.Sink.Text.ToString(), final.RootPhys, failed);
    }

    private static void Mapped(ref TextWriter<StringSink> w, int digits, ulong va, ulong bytes, ulong pa, string what)
    {
        w.Str("     "); w.Hex(va, digits); w.Char('-'); w.Hex(va + bytes - 1, digits); w.Str(" -> "); w.Hex(pa); w.Str("  ");
        w.Size(bytes); w.Str(", "); w.Line(what);
    }

    // Translates through the MMU model: expect pa, or a page fault when expected is ulong.MaxValue.
    private static int Check(Mmu mmu, ref TextWriter<StringSink> w, ulong va, ulong expected, string what)
    {
        var r = mmu.Translate(va, AccessKind.Read, Privilege.Supervisor, out ulong pa);
        bool ok = expected == ulong.MaxValue ? r == TranslationResult.PageFault : r == TranslationResult.Ok && pa == expected;
        w.Str(ok ? "     check ok: " : "     CHECK FAILED: "); w.Str(what); w.Str(" "); w.Hex(va);
        if (r == TranslationResult.Ok) { w.Str(" -> "); w.Hex(pa); } else w.Str(r == TranslationResult.PageFault ? " faults" : " #GP");
        w.Line();
        return ok ? 0 : 1;
    }

    private static int CheckWrite(Mmu mmu, ref TextWriter<StringSink> w, ulong va, bool allowed, string what)
    {
        var r = mmu.Translate(va, AccessKind.Write, Privilege.Supervisor, out _);
        bool ok = (r == TranslationResult.Ok) == allowed;
        w.Str(ok ? "     check ok: " : "     CHECK FAILED: "); w.Str(what); w.Str(" "); w.Hex(va);
        w.Line(r == TranslationResult.Ok ? " writable" : " faults on write");
        return ok ? 0 : 1;
    }

    private static int CheckFetch(Mmu mmu, ref TextWriter<StringSink> w, ulong va, bool allowed, string what)
    {
        var r = mmu.Translate(va, AccessKind.Fetch, Privilege.Supervisor, out _);
        bool ok = (r == TranslationResult.Ok) == allowed;
        w.Str(ok ? "     check ok: " : "     CHECK FAILED: "); w.Str(what); w.Str(" "); w.Hex(va);
        w.Line(r == TranslationResult.Ok ? " executable" : " faults on instruction fetch");
        return ok ? 0 : 1;
    }

    private static void Require(Status s, string step)
    {
        if (s != Status.Ok) throw new StepRefused(step, s);
    }

    /// <summary>Prints the final tables (ptdump form, with the layout's section markers).</summary>
    public void WritePageTables(ref TextWriter<StringSink> w)
    {
        var sections = new LayoutDumpSections(Layout);
        if (Layout.AddressBits == 32)
        {
            var m = new Mapper<X86LegacyFormat, DirectMapTableAccess>(FinalRoot, new DirectMapTableAccess(_dm));
            PageTableDump.Write(ref m, ref w, sections);
        }
        else
        {
            var m = new Mapper<X86LongModeFormat, DirectMapTableAccess>(FinalRoot, new DirectMapTableAccess(_dm));
            PageTableDump.Write(ref m, ref w, sections);
        }
    }

    /// <summary>Prints the walk of <paramref name="va"/> level by level, and what the MMU model says.</summary>
    public void WriteWalk(ulong va, ref TextWriter<StringSink> w)
    {
        if (Layout.AddressBits == 32)
        {
            var m = new Mapper<X86LegacyFormat, DirectMapTableAccess>(FinalRoot, new DirectMapTableAccess(_dm));
            PageTableDump.WriteWalk(ref m, VirtAddr.NewUnchecked(va), ref w);
        }
        else
        {
            var m = new Mapper<X86LongModeFormat, DirectMapTableAccess>(FinalRoot, new DirectMapTableAccess(_dm));
            PageTableDump.WriteWalk(ref m, VirtAddr.NewTruncate(va), ref w);
        }
        var r = Mmu.Translate(va, AccessKind.Read, Privilege.Supervisor, out ulong pa);
        w.Str("MMU model: "); w.Hex(va);
        if (r == TranslationResult.Ok) { w.Str(" -> "); w.Hex(pa); w.Line(); }
        else { w.Str(r == TranslationResult.PageFault ? " page fault, error code " : " general protection"); if (r == TranslationResult.PageFault) w.Hex((ulong)Mmu.LastFault.Error); w.Line(); }
    }

    /// <inheritdoc/>
    public void Dispose() => Machine.Dispose();

    // The recursive accessor is only used here to install the loop; it never reaches a table.
    private struct NoWindow : IVirtualWindow
    {
        public byte* Pointer(ulong va) => null;
        public void Invalidate(ulong va) { }
    }

    // The buddy allocator as the mapper's frame source, always from directly mapped zones (a
    // 32-bit kernel can only reach tables below its direct-map limit).
    private struct KernelFrames : IFrameAllocator
    {
        private readonly BuddyAllocator* _b;
        public KernelFrames(ref BuddyAllocator b) { fixed (BuddyAllocator* p = &b) _b = p; }
        public Status Allocate(uint order, out Pfn pfn) => _b->Allocate(order, MemoryClass.Kernel, out pfn);
        public Status Free(Pfn pfn, uint order) => _b->Free(pfn, order);
        public uint MaxOrder => _b->MaxOrder;
        public bool CanFree => true;
        public ulong FreeFrames => _b->FreeFrames;
        public ulong ManagedFrames => _b->ManagedFrames;
    }
}
