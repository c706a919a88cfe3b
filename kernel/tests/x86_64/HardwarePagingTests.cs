using SharpMM.Addressing;
using SharpMM.Diagnostics;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.Physical;

namespace SharpMM.Kernel;

/// <summary>
/// The library's mapper on the live address space, checked against the MMU: every mapping a
/// test makes is read and written through the hardware, and every "not mapped", "read-only" or
/// "no-execute" is confirmed by a fault the <see cref="FaultProbe"/> catches (CR2 and the error
/// code). Tests map in <see cref="KernelAddressSpace.TestWindow"/> and leave it empty: the table
/// pages a test caused go back to the buddy allocator, and the free count says so.
/// </summary>
internal static unsafe class HardwarePagingTests
{
    // The least RAM the tests marked with it need; a smaller guest (qemu --mem 4M) skips them.
    private const ulong SmallGuestMinimum = 8UL << 20;

    public static void RunAll(ref TestRunner r)
    {
        r.Run("paging: CR3 holds the library's root; NXE, PGE, WP on; on the kernel stack", &ControlRegisters);
        r.Run("paging: kernel image W^X (library view and hardware)", &KernelImageWx);
        r.Run("paging: page 0, guard pages and device memory fault", &GuardPages);
        r.Run("paging: map, write/read through both mappings, protect, unmap", &MapUnmapTranslate);
        r.Run("paging: remap flushed with invlpg; stale translation without it", &InvlpgAfterRemap);
        r.Run("paging: global mapping: CR3 reload vs CR4.PGE toggle", &GlobalMappingFlush);
        r.Run("paging: 2 MiB page, split by a 4 KiB unmap, unmapped", &LargePageSplit, SmallGuestMinimum); // it maps a free 2 MiB block
        r.Run("paging: a second build equals the live tables; Destroy returns every table", &RebuildMatchesLive);
    }

    private const ulong Cr3AddressMask = 0x000F_FFFF_FFFF_F000UL;
    // The #PF error code bits (Intel SDM 4.7).
    private const ulong PfPresent = 1, PfWrite = 2, PfFetch = 16;

    private static ref Mapper<X86LongModeFormat, DirectMapTableAccess> Mapper => ref KernelAddressSpace.Mapper;
    private static ref BuddyAllocator Buddy => ref PhysicalBoot.Memory.Buddy;

    // ---- registers ------------------------------------------------------------------------

    private static void ControlRegisters(ref TestContext t)
    {
        t.Equal(Arch.ReadCr3() & Cr3AddressMask, Mapper.RootPhys, "CR3 holds the library's PML4");
        t.Check(Mapper.RootPhys != KernelAddressSpace.BootCr3, "the boot PML4 is no longer loaded");
        t.Check(KernelAddressSpace.Active, "address space marked active");
        t.Check(CpuFeatures.Nx, "CPU has NX (QEMU's qemu64 does)");
        t.Check(CpuFeatures.NxEnabled, "EFER.NXE set");
        t.Check(CpuFeatures.PgeEnabled, "CR4.PGE set");
        t.Check((Arch.ReadCr4() & Arch.Cr4Pse) != 0 || !CpuFeatures.Pse, "CR4.PSE set");
        t.Check((Arch.ReadCr0() & Arch.Cr0WriteProtect) != 0, "CR0.WP set");
        ulong local = 0;
        t.Check(KernelStack.Contains((ulong)&local), "running on the kernel stack");
    }

    // ---- W^X ------------------------------------------------------------------------------

    private static byte s_retInBss;

    private static void ExpectFlags(ref TestContext t, ulong va, ulong phys, bool writable, bool executable, string what)
    {
        if (KernelAddressSpace.Translate(va, out Translation tr) != Status.Ok)
        {
            t.Check(false, what);
            return;
        }
        t.Check(((tr.Flags & PageFlags.Writable) != 0) == writable, what);
        t.Check(((tr.Flags & PageFlags.Executable) != 0) == executable, what);
        t.Equal(tr.Phys.Value, phys, "translates to its physical address");
    }

    private static void ExpectFault(ref TestContext t, bool completed, ulong va, ulong error, string what)
    {
        t.Check(!completed, what);
        t.Equal(FaultProbe.LastCr2, va, "CR2 of the fault");
        t.Equal(FaultProbe.LastErrorCode, error, "error code of the fault");
    }

    private static void KernelImageWx(ref TestContext t)
    {
        ulong code = (ulong)(delegate*<ref TestContext, void>)&KernelImageWx;
        ulong text = KernelImage.ToVirt(KernelImage.Start), rodata = KernelImage.ToVirt(KernelImage.RodataStart);
        ExpectFlags(ref t, text, KernelImage.Start, false, true, "text: read-only, executable");
        ExpectFlags(ref t, code, KernelImage.ToPhys(code), false, true, "managed code: read-only, executable");
        ExpectFlags(ref t, rodata, KernelImage.RodataStart, false, false, "rodata: read-only, no-execute");
        ExpectFlags(ref t, KernelImage.ToVirt(KernelImage.DataStart), KernelImage.DataStart, true, false, "data: writable, no-execute");
        fixed (byte* bss = &s_retInBss) ExpectFlags(ref t, (ulong)bss, KernelImage.ToPhys((ulong)bss), true, false, "bss: writable, no-execute");
        ExpectFlags(ref t, (ulong)Platform.DirectMap.ToVirt(KernelImage.End), KernelImage.End, true, false, "RAM above the image (direct map): writable, no-execute");
        ulong local = 0;
        if (KernelAddressSpace.Translate((ulong)&local, out Translation st) == Status.Ok)
            t.Check((st.Flags & (PageFlags.Writable | PageFlags.Executable)) == PageFlags.Writable, "stack: writable, no-execute");
        else t.Check(false, "stack mapped");

        // The hardware: text reads, refuses writes (the value written is the one read, so a
        // missing protection would change nothing), and executes.
        t.Check(FaultProbe.Read(text, out ulong header), "text reads");
        ExpectFault(ref t, FaultProbe.Write(text, header), text, PfPresent | PfWrite, "write to text faults [protection write]");
        t.Check(FaultProbe.Read(rodata, out ulong ro), "rodata reads");
        ExpectFault(ref t, FaultProbe.Write(rodata, ro), rodata, PfPresent | PfWrite, "write to rodata faults [protection write]");
        t.Check(FaultProbe.Execute(Arch.ProbeFixup()), "a ret in text executes");

        s_retInBss = 0xC3;
        fixed (byte* bss = &s_retInBss)
            ExpectFault(ref t, FaultProbe.Execute((ulong)bss), (ulong)bss, PfPresent | PfFetch, "executing .bss faults [protection fetch]");
        byte* onStack = stackalloc byte[16];
        onStack[0] = 0xC3;
        ExpectFault(ref t, FaultProbe.Execute((ulong)onStack), (ulong)onStack, PfPresent | PfFetch, "executing the stack faults [protection fetch]");
        if (Buddy.Allocate(0, MemoryClass.User, out Pfn f) == Status.Ok)
        {
            ulong ram = (ulong)Platform.DirectMap.ToVirt(f.ToAddr().Value);
            *(byte*)ram = 0xC3;
            ExpectFault(ref t, FaultProbe.Execute(ram), ram, PfPresent | PfFetch, "executing direct-mapped RAM faults [protection fetch]");
            Buddy.Free(f, 0);
        }
        else t.Check(false, "a frame for the RAM probe");
    }

    // ---- holes ----------------------------------------------------------------------------

    private static void GuardPages(ref TestContext t)
    {
        ExpectFault(ref t, FaultProbe.Read(0, out _), 0, 0, "reading page 0 faults [not-present read]");
        ExpectFault(ref t, FaultProbe.Read(KernelStack.Guard, out _), KernelStack.Guard, 0, "reading the kernel stack guard faults");
        ExpectFault(ref t, FaultProbe.Write(KernelStack.Guard + 8, 1), KernelStack.Guard + 8, PfWrite, "writing the kernel stack guard faults [not-present write]");
        t.Check(FaultProbe.Read(KernelStack.Bottom, out _), "the lowest kernel stack page reads");
        t.Check(FaultProbe.Read(KernelStack.Top - 8, out _), "the highest kernel stack word reads");
        ulong bootGuard = Arch.BootStackGuard();
        ExpectFault(ref t, FaultProbe.Read(bootGuard, out _), bootGuard, 0, "reading the boot stack guard faults");
        t.Check(!KernelAddressSpace.IsMapped(KernelStack.Guard) && !KernelAddressSpace.IsMapped(bootGuard) && !KernelAddressSpace.IsMapped(0),
            "the library's walk agrees: guard pages and page 0 not mapped");
        ulong ioApic = (ulong)Platform.DirectMap.ToVirt(0xFEC0_0000UL);
        if (!KernelAddressSpace.IsMapped(ioApic))
            ExpectFault(ref t, FaultProbe.Read(ioApic, out _), ioApic, 0, "device memory (IOAPIC page) is not mapped");
        ExpectFault(ref t, FaultProbe.Read(KernelImage.Start, out _), KernelImage.Start, 0, "the image's physical address faults (no identity map)");
        ulong window = KernelAddressSpace.TestWindow;
        ExpectFault(ref t, FaultProbe.Read(window, out _), window, 0, "the test window is empty");
    }

    // ---- map / unmap ----------------------------------------------------------------------

    private static void MapUnmapTranslate(ref TestContext t)
    {
        ulong free0 = Buddy.FreeFrames, tables0 = KernelFrames.InUse;
        ulong invalidated0 = KernelAddressSpace.Policy.Counters.PagesInvalidated;
        if (Buddy.Allocate(0, MemoryClass.User, out Pfn pfn) != Status.Ok) { t.Check(false, "a data frame"); return; }
        ulong frame = pfn.ToAddr().Value;
        ulong* direct = (ulong*)Platform.DirectMap.ToVirt(frame);
        ulong va = KernelAddressSpace.TestWindow + 0x5000;
        KernelFrames frames = default;

        t.Equal((ulong)Mapper.Map(VirtAddr.NewUnchecked(va), pfn.ToAddr(), MappingSize.Size4KiB, PageFlags.Writable, ref frames, out FlushToken token), (ulong)Status.Ok, "map");
        t.Check(token.IsEmpty, "a new mapping needs no invlpg (no TLB entry comes from a not-present entry)");
        token.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
        t.Equal(KernelFrames.InUse - tables0, 2, "tables allocated: PD, PT (the PML4 entry exists from boot)");
        t.Equal((ulong)Mapper.Map(VirtAddr.NewUnchecked(va), pfn.ToAddr(), MappingSize.Size4KiB, PageFlags.Writable, ref frames, out _), (ulong)Status.AlreadyMapped, "second map refused");

        if (KernelAddressSpace.Translate(va + 0x123, out Translation tr) == Status.Ok)
        {
            t.Equal(tr.Phys.Value, frame + 0x123, "translate gives the frame");
            t.Equal((ulong)tr.Size, (ulong)MappingSize.Size4KiB, "4 KiB page");
            t.Equal((ulong)tr.Flags, (ulong)(PageFlags.Writable | KernelAddressSpace.NoExecute), "flags: writable, no-execute, not global");
        }
        else t.Check(false, "translate the new mapping");

        // Through the new mapping, then the direct map; and the other way round.
        t.Check(FaultProbe.Write(va, 0x1122_3344_5566_7788UL), "write through the test mapping");
        t.Equal(direct[0], 0x1122_3344_5566_7788UL, "read through the direct map");
        direct[511] = 0x8877_6655_4433_2211UL;
        t.Check(FaultProbe.Read(va + 0xFF8, out ulong back), "read through the test mapping");
        t.Equal(back, 0x8877_6655_4433_2211UL, "value written through the direct map");

        // Read-only through the library, then the hardware refuses the write.
        t.Equal((ulong)Mapper.Protect(VirtAddr.NewUnchecked(va), PageFlags.None, out FlushToken pt), (ulong)Status.Ok, "protect read-only");
        pt.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
        ExpectFault(ref t, FaultProbe.Write(va, 1), va, PfPresent | PfWrite, "write after protect faults [protection write]");
        t.Check(FaultProbe.Read(va, out ulong still) && still == 0x1122_3344_5566_7788UL, "still readable, value kept");

        t.Equal((ulong)Mapper.Unmap(VirtAddr.NewUnchecked(va), ref frames, out FlushToken ut), (ulong)Status.Ok, "unmap");
        ut.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
        t.Equal((ulong)KernelAddressSpace.Translate(va, out _), (ulong)Status.NotMapped, "translation gone");
        ExpectFault(ref t, FaultProbe.Read(va, out _), va, 0, "read after unmap faults [not-present read]");
        t.Equal(KernelFrames.InUse, tables0, "table pages returned to the buddy allocator");
        t.Equal(KernelAddressSpace.Policy.Counters.PagesInvalidated - invalidated0, 2, "protect and unmap each invalidated one page (invlpg), the map none");
        Buddy.Free(pfn, 0);
        t.Equal(Buddy.FreeFrames, free0, "free frames back where they were");
    }

    // ---- TLB ------------------------------------------------------------------------------

    /// <summary>TCG keeps a translation in its software TLB until invlpg, a CR3 load or a CR4
    /// paging-bit change, as hardware does: a remap without invalidation keeps reading the old
    /// frame. The test shows that, then shows the flushed path reads the new frame.</summary>
    private static void InvlpgAfterRemap(ref TestContext t)
    {
        ulong free0 = Buddy.FreeFrames, tables0 = KernelFrames.InUse;
        if (Buddy.Allocate(0, MemoryClass.User, out Pfn a) != Status.Ok || Buddy.Allocate(0, MemoryClass.User, out Pfn b) != Status.Ok)
        {
            t.Check(false, "two data frames");
            return;
        }
        const ulong ValueA = 0xAAAA_0000_0000_000AUL, ValueB = 0xBBBB_0000_0000_000BUL;
        *(ulong*)Platform.DirectMap.ToVirt(a.ToAddr().Value) = ValueA;
        *(ulong*)Platform.DirectMap.ToVirt(b.ToAddr().Value) = ValueB;
        // A second page keeps the tables alive while the first is remapped.
        ulong va = KernelAddressSpace.TestWindow + 0x37D000, keeper = va + 0x1000;
        KernelFrames frames = default;
        ref FlushPolicy policy = ref KernelAddressSpace.Policy;
        ref KernelArchHooks hooks = ref KernelAddressSpace.Hooks;

        Mapper.Map(VirtAddr.NewUnchecked(keeper), a.ToAddr(), MappingSize.Size4KiB, PageFlags.None, ref frames, out FlushToken k);
        k.Flush(ref hooks, ref policy);
        Mapper.Map(VirtAddr.NewUnchecked(va), a.ToAddr(), MappingSize.Size4KiB, PageFlags.None, ref frames, out FlushToken m0);
        m0.Flush(ref hooks, ref policy);
        t.Check(FaultProbe.Read(va, out ulong v0) && v0 == ValueA, "mapped to A: reads A (now in the TLB)");

        // Remap to B, flushed through the policy: page by page, invlpg.
        ulong inv0 = policy.Counters.PagesInvalidated, full0 = policy.Counters.FullFlushes, cr30 = policy.Counters.Cr3Reloads;
        t.Equal((ulong)Mapper.Unmap(VirtAddr.NewUnchecked(va), ref frames, out FlushToken u1), (ulong)Status.Ok, "unmap A");
        t.Equal((ulong)Mapper.Map(VirtAddr.NewUnchecked(va), b.ToAddr(), MappingSize.Size4KiB, PageFlags.None, ref frames, out FlushToken m1), (ulong)Status.Ok, "map B");
        u1.Flush(ref hooks, ref policy);
        m1.Flush(ref hooks, ref policy);
        t.Check(m1.IsEmpty, "mapping B where nothing is mapped needs no invlpg");
        t.Equal(policy.Counters.PagesInvalidated - inv0, 1, "one invlpg (the unmap's)");
        t.Equal(policy.Counters.FullFlushes + policy.Counters.Cr3Reloads - full0 - cr30, 0, "no full flush");
        t.Check(FaultProbe.Read(va, out ulong v1) && v1 == ValueB, "after invlpg: reads B");

        // Remap back to A and skip the flush on purpose.
        ulong ignored0 = policy.Counters.Ignored;
        Mapper.Unmap(VirtAddr.NewUnchecked(va), ref frames, out FlushToken u2);
        Mapper.Map(VirtAddr.NewUnchecked(va), a.ToAddr(), MappingSize.Size4KiB, PageFlags.None, ref frames, out FlushToken m2);
        u2.Ignore(ref policy);
        m2.Ignore(ref policy);
        t.Equal(policy.Counters.Ignored - ignored0, 1, "the unmap's token ignored (the map's is empty)");
        t.Check(KernelAddressSpace.Translate(va, out Translation tr) == Status.Ok && tr.PageBase.Value == a.ToAddr().Value, "the tables say A");
        bool readOk = FaultProbe.Read(va, out ulong stale);
        t.Check(readOk && stale == ValueB, "without invlpg the TLB still gives B (stale translation)");
        hooks.InvalidatePage(va);
        t.Check(FaultProbe.Read(va, out ulong v2) && v2 == ValueA, "after invlpg: reads A");

        TextWriter<SerialSink> w = Log.Writer();
        w.Str("  remap without invlpg read ");
        w.Str(stale == ValueB ? "the old frame (stale TLB entry)" : stale == ValueA ? "the new frame (no stale entry)" : "something else");
        w.Line("; with invlpg the new one");

        Mapper.Unmap(VirtAddr.NewUnchecked(va), ref frames, out FlushToken u3);
        u3.Flush(ref hooks, ref policy);
        Mapper.Unmap(VirtAddr.NewUnchecked(keeper), ref frames, out FlushToken u4);
        u4.Flush(ref hooks, ref policy);
        t.Equal(KernelFrames.InUse, tables0, "table pages returned");
        Buddy.Free(a, 0);
        Buddy.Free(b, 0);
        t.Equal(Buddy.FreeFrames, free0, "free frames back where they were");
    }

    /// <summary>A global mapping survives a CR3 load on hardware with PGE; only invlpg or a
    /// CR4.PGE toggle (FlushAll) removes it. The policy, when it does not go page by page (ceiling
    /// 0 here), must use FlushAll for a global change. Whether the CR3 load kept the entry is
    /// printed, not checked: QEMU TCG drops every entry on a CR3 load.</summary>
    private static void GlobalMappingFlush(ref TestContext t)
    {
        ulong free0 = Buddy.FreeFrames, tables0 = KernelFrames.InUse;
        if (Buddy.Allocate(0, MemoryClass.User, out Pfn a) != Status.Ok || Buddy.Allocate(0, MemoryClass.User, out Pfn b) != Status.Ok)
        {
            t.Check(false, "two data frames");
            return;
        }
        const ulong ValueA = 0x6100_0000_0000_00A1UL, ValueB = 0x6200_0000_0000_00B2UL;
        *(ulong*)Platform.DirectMap.ToVirt(a.ToAddr().Value) = ValueA;
        *(ulong*)Platform.DirectMap.ToVirt(b.ToAddr().Value) = ValueB;
        ulong va = KernelAddressSpace.TestWindow + 0x9000, keeper = va + 0x1000;
        KernelFrames frames = default;
        ref KernelArchHooks hooks = ref KernelAddressSpace.Hooks;
        ref FlushPolicy policy = ref KernelAddressSpace.Policy;
        PageFlags g = PageFlags.Global;

        Mapper.Map(VirtAddr.NewUnchecked(keeper), a.ToAddr(), MappingSize.Size4KiB, g, ref frames, out FlushToken k);
        k.Flush(ref hooks, ref policy);
        Mapper.Map(VirtAddr.NewUnchecked(va), a.ToAddr(), MappingSize.Size4KiB, g, ref frames, out FlushToken m0);
        m0.Flush(ref hooks, ref policy);
        t.Check(FaultProbe.Read(va, out ulong v0) && v0 == ValueA, "global mapping to A reads A");

        FlushBatch batch = default;
        Mapper.Unmap(VirtAddr.NewUnchecked(va), ref frames, out FlushToken u1);
        Mapper.Map(VirtAddr.NewUnchecked(va), b.ToAddr(), MappingSize.Size4KiB, g, ref frames, out FlushToken m1);
        t.Check(u1.IsGlobal, "the unmap's token knows the mapping was global");
        batch.Add(in u1);
        batch.Add(in m1);
        t.Check(batch.HasGlobal, "the batch is marked global");
        // The wrong flush for a global change: a CR3 load.
        hooks.WriteCr3(hooks.ReadCr3());
        FaultProbe.Read(va, out ulong afterCr3);
        FlushPolicy noPageByPage = new FlushPolicy(0);
        batch.Flush(ref hooks, ref noPageByPage);
        t.Equal(noPageByPage.Counters.FullFlushes, 1, "the policy chose FlushAll (CR4.PGE toggle)");
        t.Equal(noPageByPage.Counters.Cr3Reloads, 0, "not a CR3 reload");
        t.Check(FaultProbe.Read(va, out ulong v1) && v1 == ValueB, "after FlushAll: reads B");

        TextWriter<SerialSink> w = Log.Writer();
        w.Str("  global entry after a CR3 load: ");
        w.Line(afterCr3 == ValueA ? "kept (stale A until FlushAll)" : afterCr3 == ValueB ? "dropped (this CPU model flushes globals on CR3 loads)" : "unexpected value");

        Mapper.Unmap(VirtAddr.NewUnchecked(va), ref frames, out FlushToken u2);
        u2.Flush(ref hooks, ref policy);
        Mapper.Unmap(VirtAddr.NewUnchecked(keeper), ref frames, out FlushToken u3);
        u3.Flush(ref hooks, ref policy);
        t.Equal(KernelFrames.InUse, tables0, "table pages returned");
        Buddy.Free(a, 0);
        Buddy.Free(b, 0);
        t.Equal(Buddy.FreeFrames, free0, "free frames back where they were");
    }

    // ---- large pages ----------------------------------------------------------------------

    private static ulong Pattern(ulong i) => 0x2B00_0000_0000_0000UL | (i * 0x1_0001UL);

    private static void LargePageSplit(ref TestContext t)
    {
        ulong free0 = Buddy.FreeFrames, tables0 = KernelFrames.InUse;
        if (Buddy.Allocate(9, MemoryClass.User, out Pfn block) != Status.Ok) { t.Check(false, "a 2 MiB block"); return; }
        ulong pa = block.ToAddr().Value;
        ulong va = KernelAddressSpace.TestWindow + (1UL << 30);
        const ulong Large = 2UL << 20;
        KernelFrames frames = default;
        ref KernelArchHooks hooks = ref KernelAddressSpace.Hooks;
        ref FlushPolicy policy = ref KernelAddressSpace.Policy;
        FlushBatch batch = default;

        t.Equal((ulong)Mapper.MapRange(VirtAddr.NewUnchecked(va), block.ToAddr(), Large, PageFlags.Writable, KernelAddressSpace.Largest, ref frames, ref batch), (ulong)Status.Ok, "map 2 MiB");
        batch.Flush(ref hooks, ref policy);
        t.Equal(KernelFrames.InUse - tables0, 1, "tables: a PD (the leaf is a PDE; the PML4 entry exists from boot)");
        t.Check(KernelAddressSpace.Translate(va + 0x12345, out Translation tr) == Status.Ok && tr.Size == MappingSize.Size2MiB && tr.Phys.Value == pa + 0x12345,
            "one 2 MiB page, translated inside");

        ulong bad = 0;
        for (ulong i = 0; i < 512; i++)
            if (!FaultProbe.Write(va + i * PageSize.Bytes + 8 * (i & 7), Pattern(i))) bad++;
        for (ulong i = 0; i < 512; i++)
            if (*(ulong*)Platform.DirectMap.ToVirt(pa + i * PageSize.Bytes + 8 * (i & 7)) != Pattern(i)) bad++;
        t.Equal(bad, 0, "512 writes through the 2 MiB page read back through the direct map");

        ulong cr3Reloads0 = policy.Counters.Cr3Reloads;
        ulong hole = va + 5 * PageSize.Bytes;
        t.Equal((ulong)Mapper.UnmapRange(VirtAddr.NewUnchecked(hole), PageSize.Bytes, ref frames, ref batch), (ulong)Status.Ok, "unmap one 4 KiB page inside");
        t.Check(batch.NeedsFullFlush, "a split needs a full flush");
        batch.Flush(ref hooks, ref policy);
        t.Equal(policy.Counters.Cr3Reloads - cr3Reloads0, 1, "flushed with a CR3 reload (not global)");
        t.Equal(KernelFrames.InUse - tables0, 2, "the split added a page table");
        t.Check(KernelAddressSpace.Translate(va, out Translation small) == Status.Ok && small.Size == MappingSize.Size4KiB, "now 4 KiB pages");
        ExpectFault(ref t, FaultProbe.Read(hole, out _), hole, 0, "the unmapped page faults");
        bool neighbours = FaultProbe.Read(hole - PageSize.Bytes + 8 * 4, out ulong before) && before == Pattern(4)
            && FaultProbe.Read(hole + PageSize.Bytes + 8 * 6, out ulong after) && after == Pattern(6)
            && FaultProbe.Read(va + 511 * PageSize.Bytes + 8 * 7, out ulong last) && last == Pattern(511);
        t.Check(neighbours, "the rest of the split page still maps the same frames");

        t.Equal((ulong)Mapper.UnmapRange(VirtAddr.NewUnchecked(va), Large, ref frames, ref batch), (ulong)Status.Ok, "unmap the 2 MiB range");
        batch.Flush(ref hooks, ref policy);
        ExpectFault(ref t, FaultProbe.Read(va, out _), va, 0, "gone");
        t.Equal(KernelFrames.InUse, tables0, "table pages returned");
        Buddy.Free(block, 9);
        t.Equal(Buddy.FreeFrames, free0, "free frames back where they were");
    }

    // ---- a second build ---------------------------------------------------------------------

    /// <summary>Every leaf of another address space must translate the same in the live one
    /// (same page start, frame, size and flags, Accessed and Dirty aside).</summary>
    private struct SameAsLive : IPageTableVisitor
    {
        public ulong Leaves, Mismatches, FirstMismatch;

        public void Table(int level, ulong firstVa, ulong tablePhys) { }

        public void Leaf(in LeafMapping m)
        {
            Leaves++;
            // The CPU sets Accessed and Dirty in the live entries as it uses them.
            const PageFlags Set = PageFlags.Accessed | PageFlags.Dirty;
            if (KernelAddressSpace.Translate(m.Start.Value, out Translation tr) == Status.Ok && tr.PageStart == m.Start
                && tr.PageBase == m.Phys && tr.Size == m.Size && (tr.Flags & ~Set) == (m.Flags & ~Set)) return;
            if (Mismatches++ == 0) FirstMismatch = m.Start.Value;
        }
    }

    /// <summary>Builds the kernel map again (everything but the kernel stack) into a fresh,
    /// inactive root: every leaf matches the live tables, the counts differ by exactly the stack
    /// (64 4 KiB leaves, a PD and a PT) and the PDPT of the vmalloc PML4 entry made at boot, and
    /// Destroy gives every table page back. The build
    /// time printed here is warm: at boot the same code ran for the first time (under TCG that
    /// includes translating it).</summary>
    private static void RebuildMatchesLive(ref TestContext t)
    {
        ulong free0 = Buddy.FreeFrames, tables0 = KernelFrames.InUse;
        KernelFrames frames = default;
        FlushBatch batch = default;
        ulong t0 = Arch.Rdtsc();
        Status s = Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(new DirectMapTableAccess(Platform.DirectMap), ref frames, out var copy);
        if (s != Status.Ok) { t.Check(false, "a root for the copy"); return; }
        KernelAddressSpace.Populate(ref copy, ref KernelMain.Loader, ref batch);
        ulong cycles = Arch.Rdtsc() - t0;
        batch.Ignore(ref KernelAddressSpace.Policy); // never loaded into CR3
        ulong copyTables = KernelFrames.InUse - tables0;

        var same = new SameAsLive();
        copy.Visit(ref same);
        t.Equal(same.Mismatches, 0, "leaves of the copy that the live tables translate differently");
        if (same.Mismatches != 0) t.Equal(same.FirstMismatch, 0, "first mismatching leaf");
        TableCensus live = Mapper.Census(), mine = copy.Census();
        // On top of the copy, the live tables have: every CPU's kernel stack (one PD, the PTs
        // under the stacks), the vmalloc entry's PDPT, and the local APIC's page in the device
        // window (its PD and PT) once the other CPUs were looked for.
        ulong stackPages = KernelStack.Size / PageSize.Bytes;
        ulong lapic = LocalApic.Virt != 0 ? 1UL : 0;
        ulong stackTables = 1 + PerCpus.StackPageTables(Smp.Online);
        t.Equal(mine.Leaves(0) + stackPages * (ulong)Smp.Online + lapic, live.Leaves(0), "4 KiB leaves: the live tables have the stacks' and the local APIC's on top");
        t.Equal(mine.Leaves(1), live.Leaves(1), "2 MiB leaves");
        t.Equal(mine.Leaves(2), live.Leaves(2), "1 GiB leaves");
        t.Equal(mine.TotalTables + stackTables + 1 + 2 * lapic, live.TotalTables, "tables: the live ones have the stacks' PD and PTs, the vmalloc entry's PDPT and the local APIC's PD and PT on top");
        t.Equal(copyTables, mine.TotalTables, "table pages allocated = tables in the copy");
        t.Equal(KernelAddressSpace.TablePages + (stackTables - 2) + 2 * lapic, live.TotalTables, "the boot line's count + the tables made since (other CPUs' stacks, local APIC) = tables in the live address space");

        copy.Destroy(ref frames);
        t.Equal(KernelFrames.InUse, tables0, "Destroy returned every table page");
        t.Equal(Buddy.FreeFrames, free0, "free frames back where they were");

        TextWriter<SerialSink> w = Log.Writer();
        w.Str("  rebuild (warm): ");
        w.Dec(copyTables);
        w.Str(" table pages, ");
        w.Dec(same.Leaves);
        w.Str(" leaves in ");
        w.Dec(cycles);
        w.Str(" cycles (boot build, cold: ");
        w.Dec(KernelAddressSpace.BuildCycles);
        w.Line(" cycles)");
    }
}
