using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Heap;
using SharpMM.Virtual;

namespace SharpMM.Kernel;

/// <summary>
/// The x86-64 part of the in-kernel suite (KernelTests.RunAll runs it last): the kernel's own
/// tables seen through the library's walk (the regions follow the layout, page 0, the lower half
/// and the guard pages are holes, the direct map reaches the end of RAM), the IDT's breakpoint
/// round trip, reference-type statics,
/// kmalloc's large blocks
/// in the vmalloc window, then the paging and user-memory suites.
/// </summary>
internal static unsafe class ArchTests
{
    public static void RunAll(ref TestRunner r)
    {
        r.Run("the kernel's regions follow AddressSpaceLayout.X86_64", &RegionsFollowLayout);
        r.Run("page 0 is not mapped", &NullPageNotMapped);
        r.Run("direct map reaches the end of RAM", &DirectMapReachesRam);
        r.Run("breakpoint trap returns", &BreakpointTrapReturns);
        HardwarePagingTests.RunAll(ref r);
        UserKernelHalfTests.RunAll(ref r);
        UserTests.RunAll(ref r);
        Ring3Tests.RunAll(ref r);
    }

    /// <summary>
    /// Every area the kernel uses lies in the layout region of its kind: the direct map starts at
    /// the direct-map region (Platform.DirectMap), the image and the kernel stack (with its guard)
    /// in theirs, the vmalloc area, physical-mapping window and test window in the vmalloc region
    /// under one PML4 entry; the running code is in the image region.
    /// </summary>
    private static void RegionsFollowLayout(ref TestContext t)
    {
        AddressSpaceLayout l = AddressSpaceLayout.X86_64();
        t.Check(l.TryFind(RegionKind.DirectMap, out LayoutRegion direct) && direct.Start == Platform.DirectMap.Offset
            && direct.Start + KernelAddressSpace.DirectMapEnd <= direct.End, "the direct map at the direct-map region's start, inside it");
        t.Equal(l.KernelVirtualOffset, Arch.KernelVirtualBase, "the image runs at the layout's kernel virtual offset");
        ulong code = (ulong)(delegate*<ref TestContext, void>)&RegionsFollowLayout;
        t.Check(l.TryFind(RegionKind.KernelImage, out LayoutRegion image) && image.Start <= KernelImage.ToVirt(KernelImage.Start)
            && KernelImage.ToVirt(KernelImage.End) <= image.End && code >= image.Start && code < image.End, "the image and the running code in the kernel-image region");
        t.Check(l.TryFind(RegionKind.KernelStack, out LayoutRegion stack) && stack.Start <= KernelStack.Guard && KernelStack.Top == stack.End,
            "the kernel stack and its guard in the kernel-stack region, its top at the region's end");
        t.Check(l.TryFind(RegionKind.Vmalloc, out LayoutRegion vm) && vm.Start <= Platform.VmallocStart && Platform.VmallocEnd <= Platform.WindowStart
            && Platform.WindowEnd <= KernelAddressSpace.TestWindow && KernelAddressSpace.TestWindow < vm.End, "vmalloc, window and test window in the vmalloc region, in that order");
        t.Equal(Platform.VmallocStart >> 39, (KernelAddressSpace.TestWindow + (256UL << 30) - 1) >> 39, "all three under one PML4 entry");
    }

    /// <summary>In the kernel's own tables (the library's walk): page 0 and both stack guard pages
    /// are holes, the lower half is empty (no identity map: PML4 entries 0..255 are user space's),
    /// physical page 1 is reached through the direct map. HardwarePagingTests checks the same
    /// holes with the hardware.</summary>
    private static void NullPageNotMapped(ref TestContext t)
    {
        t.Check(!KernelAddressSpace.IsMapped(0), "page 0 not present");
        t.Check(!KernelAddressSpace.IsMapped(0xFFF), "last byte of page 0 not present");
        t.Check(!KernelAddressSpace.IsMapped(0x1000), "page 1 not present at its identity");
        t.Check(!KernelAddressSpace.IsMapped(KernelImage.Start), "the image not present at its physical address");
        t.Check(KernelAddressSpace.IsMapped((ulong)Platform.DirectMap.ToVirt(0x1000)), "page 1 present in the direct map");
        ulong* root = (ulong*)Platform.DirectMap.ToVirt(KernelAddressSpace.Mapper.RootPhys);
        int lowerHalfEntries = 0;
        for (int i = 0; i < 256; i++) if (root[i] != 0) lowerHalfEntries++;
        t.Equal((ulong)lowerHalfEntries, 0, "PML4 entries 0..255 empty");
        t.Check(!KernelAddressSpace.IsMapped(Arch.BootStackGuard()), "boot stack guard page not present");
        t.Check(!KernelAddressSpace.IsMapped(KernelStack.Guard), "kernel stack guard page not present");
        t.Equal(Arch.ReadCr3() & ~0xFFFUL, KernelAddressSpace.Mapper.RootPhys, "CR3 holds the kernel's PML4");
        t.Check((Arch.ReadCr0() & Arch.Cr0PagingEnabled) != 0, "CR0.PG set");
    }

    /// <summary>
    /// For every usable range above 1 MiB (the part outside the kernel image), writes and reads
    /// back a pattern over its first and last 4 KiB page, restoring each word, and touches the
    /// last usable byte of RAM, all through the kernel's direct map (each page tested must
    /// translate to its physical address).
    /// </summary>
    private static void DirectMapReachesRam(ref TestContext t)
    {
        ref LoaderInfo loader = ref KernelMain.Loader;
        ulong imageStart = KernelImage.Start, imageEnd = KernelImage.End;
        ulong highestTested = 0;
        int pages = 0;
        for (int i = 0; i < loader.Map.Count; i++)
        {
            MemoryMapEntry e = loader.Map[i];
            if (e.Type != MemoryType.Usable) continue;
            ulong start = (e.Start + 0xFFF) & ~0xFFFUL;
            ulong end = e.End & ~0xFFFUL;
            if (start < 0x100000) start = 0x100000;
            if (start < imageEnd && end > imageStart)
            {
                // The image sits at 1 MiB, at the bottom of its range: test what lies above it.
                if (start >= imageStart) start = imageEnd;
                else end = imageStart;
            }
            if (start >= end) continue;
            pages += TestPage(ref t, start);
            pages += TestPage(ref t, end - 0x1000);
            if (end > highestTested) highestTested = end;
        }
        t.Check(pages > 0, "at least one usable page above the kernel image");
        ulong top = loader.HighestUsableEnd();
        t.Equal(highestTested, top & ~0xFFFUL, "highest page tested is the last usable page");
        if (KernelAddressSpace.IsMapped((ulong)Platform.DirectMap.ToVirt(top - 1)))
        {
            byte* last = Platform.DirectMap.ToVirt(top - 1);
            byte saved = *last;
            *last = 0xA5;
            t.Equal(*last, 0xA5, "last usable byte of RAM holds a write");
            *last = saved;
        }
        else t.Check(false, "last usable byte of RAM is mapped");
    }

    private static int TestPage(ref TestContext t, ulong addr)
    {
        ulong va = (ulong)Platform.DirectMap.ToVirt(addr);
        if (KernelAddressSpace.Translate(va, out SharpMM.Paging.Translation tr) != Status.Ok || tr.Phys.Value != addr)
        {
            t.Equal(addr, 0, "usable page not in the direct map");
            return 0;
        }
        ulong* p = (ulong*)va;
        for (int i = 0; i < 512; i++)
        {
            ulong saved = p[i];
            ulong pattern = (addr + (ulong)i * 8) ^ 0x5A5AA5A5C3C33C3CUL;
            p[i] = pattern;
            ulong back = p[i];
            p[i] = ~pattern;
            ulong back2 = p[i];
            p[i] = saved;
            if (back != pattern || back2 != ~pattern)
            {
                t.Equal(back, pattern, "pattern read back from a usable page");
                return 1;
            }
        }
        return 1;
    }

    /// <summary>int3 goes through the IDT, the stub, the dispatcher and iretq, and comes back.</summary>
    private static void BreakpointTrapReturns(ref TestContext t)
    {
        int before = ExceptionDispatcher.BreakpointCount;
        ExceptionDispatcher.ExpectBreakpoint = true;
        Arch.Int3();
        t.Equal((ulong)(ExceptionDispatcher.BreakpointCount - before), 1, "breakpoints taken");
        t.Check(!ExceptionDispatcher.ExpectBreakpoint, "dispatcher consumed the expectation");
    }
}
