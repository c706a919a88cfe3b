using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Diagnostics;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.Physical;
using SharpMM.User;

namespace SharpMM.Kernel;

/// <summary>
/// The library's user memory manager on the real MMU: address spaces made by
/// <see cref="LiveUserMemory"/> are loaded into CR3 (<see cref="DemandPaging.Load"/>) and their
/// user half is touched from ring 0 with plain loads and stores; the page faults go through
/// the IDT to the library's fault handler, which maps frames from the buddy allocator and
/// invalidates with invlpg, and the access runs again. Supervisor writes to read-only pages
/// fault because CR0.WP is set (boot.S), which is what copy-on-write needs here. Accesses the
/// handler must refuse are made with a <see cref="FaultProbe"/> and come back as fault
/// results. Each test makes its own machine and leaves the buddy allocator's free count where
/// it found it. The same tests run on x86-64 (4-level tables) and i386 (the higher-half and
/// low-2g layouts with legacy 2-level paging or PAE, user space below 0xC0000000 or 0x80000000;
/// addresses come from the layout): the page-table format is the
/// kernel's (KernelPagingFormat). Where the i386 guest has RAM above the direct map, user pages
/// come from HighMem and the library zeroes, copies and pages them through kmap
/// (<see cref="HighMemUserPages"/> counts them).
/// </summary>
internal static unsafe class UserTests
{
    public static void RunAll(ref TestRunner r)
    {
        r.Run("user memory: demand-zero region on the real MMU, frames from the buddy allocator", &DemandZeroRegion);
        r.Run("user memory: a region over a frame budget pages out to a RAM disk and back", &PagingToRamDisk);
        r.Run("user memory: fork, copy-on-write from ring 0 (CR0.WP), fault results", &ForkCopyOnWrite);
        r.Run("user memory: copy-on-write of 32 pages, cost per fault", &CopyOnWriteCost);
        r.Run("user memory: the stack grows down on faults, to its limit and no further", &StackGrowth);
        if (Platform.UserHighPages.IsEnabled)
            r.Run("user memory: user pages from HighMem frames, through kmap, right after copy-on-write and page-out/page-in", &HighMemUserPages);
    }

    private const ulong Page = PageSize.Bytes;
    // #PF error code bits (Intel SDM 4.7).
    private const ulong PfPresent = 1, PfWrite = 2;

    private static ref BuddyAllocator Buddy => ref PhysicalBoot.Memory.Buddy;
    private static ulong KernelRoot => KernelAddressSpace.Mapper.RootPhys;

    private static ulong Pattern(ulong i) => 0x5EED000000000000UL ^ (i * 0x9E3779B97F4A7C15UL >> 8);

    // Plain accesses the compiler must emit (they fault and are retried).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong Load(ulong va) => *(ulong*)va;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Store(ulong va, ulong value) => *(ulong*)va = value;

    private static ulong FrameOf(AddressSpace<KernelPagingFormat>* s, ulong va) => KernelPagingFormat.Address(0, s->Entry(va)) >> PageSize.Shift;
    private static PageFlags FlagsOf(AddressSpace<KernelPagingFormat>* s, ulong va) => KernelPagingFormat.Flags(0, s->Entry(va));

    // True when the format can mark a page no-execute (not legacy 32-bit paging).
    private static bool HasNoExecute => (KernelPagingFormat.Effective(PageFlags.None) & PageFlags.Executable) == 0;

    // The page tables below the root that mapping [va, va + bytes) needs in an empty space: at
    // each level, one per span of the level above's entries the range touches.
    // Through the interface: a library format takes IndexShift from IPagingFormat<TSelf>'s defaults.
    private static int IndexShift<TFormat>(int level) where TFormat : SharpMM.Paging.IPagingFormat => TFormat.IndexShift(level);

    private static ulong TablesSpanned(ulong va, ulong bytes)
    {
        ulong n = 0;
        for (int level = 0; level < KernelPagingFormat.Levels - 1; level++)
        {
            int shift = IndexShift<KernelPagingFormat>(level + 1);
            n += ((va + bytes - 1) >> shift) - (va >> shift) + 1;
        }
        return n;
    }

    // Median of n samples (sorts them in place; insertion sort: n is small).
    private static ulong Median(ulong* v, ulong n)
    {
        if (n == 0) return 0;
        for (ulong i = 1; i < n; i++)
        {
            ulong x = v[i];
            ulong j = i;
            for (; j > 0 && v[j - 1] > x; j--) v[j] = v[j - 1];
            v[j] = x;
        }
        return v[n / 2];
    }

    // ---- demand paging ------------------------------------------------------------------

    /// <summary>
    ///   user space: | 16 pages | 2 MiB boundary | 48 pages |   (one region, two leaf tables)
    /// Expect: 64 first touches (even pages read, odd pages written) fault once each into the
    /// library's handler (demand-zero); reads see zero; what is written stays; the buddy
    /// allocator's free count drops by exactly the 64 frames plus the 4 table pages (PDPT, PD,
    /// two PTs); the entries carry the hardware's Accessed and Dirty bits; destroy gives all of
    /// it back, and the machine's own area too.
    /// </summary>
    private static void DemandZeroRegion(ref TestContext t)
    {
        ulong free0 = Buddy.FreeFrames;
        if (LiveUserMemory.Create(0, out LiveUserMemory* m) != Status.Ok) { t.Check(false, "user machine created"); return; }
        ref UserMemory<KernelPagingFormat, KernelFrames, RamDiskStore> mem = ref m->Memory;
        AddressSpace<KernelPagingFormat>* s = m->Space(0);
        t.Equal((ulong)mem.CreateSpace(s, m->Layout, KernelRoot), (ulong)Status.Ok, "space created");
        const int Pages = 64;
        ulong boundary = (m->Layout.UserStart + (2UL << 20)) & ~((2UL << 20) - 1);   // the first 2 MiB boundary above UserStart
        ulong va = boundary - 16 * Page;
        t.Equal((ulong)mem.MapAnonymous(s, va, Pages * Page, VmaProtection.ReadWrite, out _), (ulong)Status.Ok, "region mapped");
        t.Equal(s->ResidentPages, 0, "nothing populated before the first touch");

        ulong free1 = Buddy.FreeFrames, tables1 = s->TablePages, resolved0 = DemandPaging.Resolved;
        ulong zeroReads = 0, faultsSeen = 0;
        ulong* touchCycles = stackalloc ulong[Pages];
        ulong* handlerCycles = stackalloc ulong[Pages];
        ulong* warmCycles = stackalloc ulong[Pages];
        DemandPaging.Load(&m->Memory, s);
        for (ulong i = 0; i < Pages; i++)
        {
            ulong p = va + i * Page + (i * 8 % Page);
            ulong before = DemandPaging.Resolved;
            ulong t0 = Arch.Rdtsc();
            if ((i & 1) == 0)
            {
                if (Load(p) == 0) zeroReads++;
            }
            else Store(p, Pattern(i));
            ulong t1 = Arch.Rdtsc();
            if (DemandPaging.Resolved == before + 1) faultsSeen++;
            touchCycles[i] = t1 - t0;
            handlerCycles[i] = DemandPaging.LastCycles;
        }
        ulong firstWriteError = DemandPaging.LastErrorCode;
        for (ulong i = 0; i < Pages; i++)
        {
            ulong t0 = Arch.Rdtsc();
            Store(va + i * Page, Pattern(i) + 1);
            warmCycles[i] = Arch.Rdtsc() - t0;
            Store(va + i * Page + Page - 8, ~Pattern(i));
        }
        ulong bad = 0;
        for (ulong i = 0; i < Pages; i++)
        {
            if (Load(va + i * Page) != Pattern(i) + 1 || Load(va + i * Page + Page - 8) != ~Pattern(i)) bad++;
            if ((i & 1) == 1 && i * 8 % Page != 0 && Load(va + i * Page + (i * 8 % Page)) != Pattern(i)) bad++;
        }
        DemandPaging.Load(null, null);

        // Page 0 is read before anything in the region was written: mapped read-only (as Linux's
        // zero page) until its first write, which faults once more and takes it writable.
        t.Equal(DemandPaging.Resolved - resolved0, Pages + 1, "one fault per page, and page 0's first write, resolved by the library");
        t.Equal(faultsSeen, Pages, "each first touch faulted exactly once");
        t.Equal(mem.Counters.Of(FaultKind.DemandZero), Pages, "every first touch was demand-zero");
        t.Equal(mem.Counters.Of(FaultKind.CowReuse), 1, "page 0's first write took it writable without a copy");
        t.Equal(mem.Counters.TotalFaults, Pages + 1, "no other fault");
        t.Equal(firstWriteError, PfWrite, "a first write is a not-present supervisor write");
        t.Equal(zeroReads, Pages / 2, "first reads see zero");
        t.Equal(bad, 0, "every value written reads back");
        t.Equal(s->TablePages - tables1, TablesSpanned(va, Pages * Page), "tables made: one per table the region crosses (x86-64: PDPT, PD and a PT on each side of 2 MiB; i386: one PT)");
        t.Equal(free1 - Buddy.FreeFrames, Pages + s->TablePages - tables1, "free frames dropped by the pages and tables");
        t.Equal(mem.UserFrames, Pages, "user frames");
        t.Equal(s->ResidentPages, Pages, "resident pages");
        ulong flagsOk = 0, allocated = 0;
        for (ulong i = 0; i < Pages; i++)
        {
            PageFlags f = FlagsOf(s, va + i * Page);
            const PageFlags want = PageFlags.User | PageFlags.Writable | PageFlags.Accessed | PageFlags.Dirty;
            if ((f & want) == want && (!HasNoExecute || (f & PageFlags.Executable) == 0)) flagsOk++;
            if (Buddy.StateOf(Pfn.New(FrameOf(s, va + i * Page))) == FrameState.Allocated) allocated++;
        }
        t.Equal(flagsOk, Pages, "entries user, writable, no-execute (where the format has it), Accessed and Dirty set by the CPU");
        t.Equal(allocated, Pages, "each page's frame is allocated in the buddy allocator");
        t.Check(!FaultProbe.Read(va, out _), "the region is not mapped in the kernel's own tables");

        t.Equal((ulong)mem.Destroy(s, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "space destroyed");
        t.Equal(Buddy.FreeFrames, free1 + tables1, "destroy returned every page and table page (the root too)");
        m->Destroy();
        t.Equal(Buddy.FreeFrames, free0, "free frames back where they were");

        TextWriter<SerialSink> w = Log.Writer();
        w.Str("  demand-zero: ");
        w.Dec((ulong)Pages);
        w.Str(" faults; first touch median ");
        w.Dec(Median(touchCycles, Pages));
        w.Str(" cycles (trap, handler, iretq, retry; handler alone ");
        w.Dec(Median(handlerCycles, Pages));
        w.Str("), store to a mapped page ");
        w.Dec(Median(warmCycles, Pages));
        w.Line(" cycles");
    }

    // ---- paging to a store ----------------------------------------------------------------

    /// <summary>
    /// 64 pages written under a budget of 16 resident user frames, a 96-slot RAM disk behind.
    /// Expect: the budget holds at every step; the clock gives second chances (Accessed bits the
    /// CPU set) and writes pages out; reading every page back faults the evicted ones in with
    /// their contents; destroy frees every frame, table page and swap slot.
    /// </summary>
    private static void PagingToRamDisk(ref TestContext t)
    {
        ulong free0 = Buddy.FreeFrames;
        if (LiveUserMemory.Create(96, out LiveUserMemory* m) != Status.Ok) { t.Check(false, "user machine created"); return; }
        ref UserMemory<KernelPagingFormat, KernelFrames, RamDiskStore> mem = ref m->Memory;
        const ulong Budget = 16, Pages = 64;
        mem.ResidentLimit = Budget;
        mem.ReclaimBatch = 4;
        AddressSpace<KernelPagingFormat>* s = m->Space(0);
        t.Equal((ulong)mem.CreateSpace(s, m->Layout, KernelRoot), (ulong)Status.Ok, "space created");
        ulong va = m->Layout.MmapBase;
        t.Equal((ulong)mem.MapAnonymous(s, va, Pages * Page, VmaProtection.ReadWrite, out _), (ulong)Status.Ok, "region mapped");
        ulong free1 = Buddy.FreeFrames, tables1 = s->TablePages;

        ulong maxResident = 0, pageInCount = 0;
        ulong* pageInCycles = stackalloc ulong[(int)(2 * Pages)];
        DemandPaging.Load(&m->Memory, s);
        for (ulong i = 0; i < Pages; i++)
        {
            Store(va + i * Page, Pattern(i));
            Store(va + i * Page + Page - 8, ~Pattern(i));
            if (mem.UserFrames > maxResident) maxResident = mem.UserFrames;
        }
        ulong pagedOut = mem.Counters.PagesOut;
        ulong bad = 0;
        for (ulong pass = 0; pass < 2; pass++)
        {
            for (ulong i = 0; i < Pages; i++)
            {
                ulong pageInsBefore = mem.Counters.Of(FaultKind.PageIn);
                if (Load(va + i * Page) != Pattern(i) || Load(va + i * Page + Page - 8) != ~Pattern(i)) bad++;
                if (mem.Counters.Of(FaultKind.PageIn) != pageInsBefore && pageInCount < 2 * Pages) pageInCycles[pageInCount++] = DemandPaging.LastCycles;
                if (mem.UserFrames > maxResident) maxResident = mem.UserFrames;
            }
        }
        DemandPaging.Load(null, null);

        ulong pageIns = mem.Counters.Of(FaultKind.PageIn);
        t.Equal(bad, 0, "every page read back with its contents");
        t.Check(maxResident <= Budget, "resident user frames never above the budget");
        t.Check(pagedOut >= Pages - Budget, "pages written out while the region was filled");
        t.Check(pageIns >= Pages - Budget, "evicted pages faulted back in");
        t.Equal(mem.Counters.PagesIn, pageIns, "every page-in read the store");
        t.Check(mem.Counters.SecondChances > 0, "the clock found Accessed bits the CPU set and cleared them");
        t.Equal(mem.Counters.Of(FaultKind.DemandZero), Pages, "one demand-zero fault per page");
        t.Equal(s->ResidentPages + s->SwappedPages, Pages, "every page resident or in the store");
        t.Equal(mem.UserFrames, s->ResidentPages, "user frames are the resident pages");
        t.Check(mem.Slots.UsedCount >= s->SwappedPages, "a slot for each swapped page");
        t.Equal(free1 - Buddy.FreeFrames, mem.UserFrames + s->TablePages - tables1, "free frames dropped by the resident pages and tables");

        UserCounters counters = mem.Counters;
        t.Equal((ulong)mem.Destroy(s, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "space destroyed");
        t.Equal(mem.Slots.UsedCount, 0, "every swap slot free");
        t.Equal(Buddy.FreeFrames, free1 + tables1, "destroy returned every page and table page");
        m->Destroy();
        t.Equal(Buddy.FreeFrames, free0, "free frames back where they were");

        TextWriter<SerialSink> w = Log.Writer();
        w.Str("  paging: ");
        w.Dec(counters.PagesOut);
        w.Str(" pages out, ");
        w.Dec(pageIns);
        w.Str(" page-in faults (handler median ");
        w.Dec(Median(pageInCycles, pageInCount));
        w.Str(" cycles), ");
        w.Dec(counters.SecondChances);
        w.Str(" second chances, ");
        w.Dec(counters.CleanDrops);
        w.Line(" clean drops");
    }

    // ---- fork -----------------------------------------------------------------------------

    /// <summary>
    ///   parent: | rw: pages 0-3 written, 4-7 untouched | ... | ro: one page |
    /// Expect: fork shares the 4 frames read-only (2 mappings each, no copy); in the child a
    /// read sees the parent's data without a fault, a ring-0 write faults (protection, write)
    /// and copies; the parent still sees its old value; the parent's own write to a shared page
    /// copies; the child's write to the page the parent gave up reuses the frame (no copy); an
    /// untouched page reads zero; an access outside every region and a write to the read-only
    /// region come back as fault results (not a panic), and a fault at a kernel address is
    /// not the library's; destroying both spaces gives back every frame and table page.
    /// </summary>
    private static void ForkCopyOnWrite(ref TestContext t)
    {
        ulong free0 = Buddy.FreeFrames;
        if (LiveUserMemory.Create(0, out LiveUserMemory* m) != Status.Ok) { t.Check(false, "user machine created"); return; }
        ref UserMemory<KernelPagingFormat, KernelFrames, RamDiskStore> mem = ref m->Memory;
        AddressSpace<KernelPagingFormat>* parent = m->Space(0), child = m->Space(1);
        ulong free1 = Buddy.FreeFrames;
        t.Equal((ulong)mem.CreateSpace(parent, m->Layout, KernelRoot), (ulong)Status.Ok, "parent created");
        ulong va = m->Layout.TextBase, ro = va + (1UL << 20);
        t.Equal((ulong)mem.MapAnonymous(parent, va, 8 * Page, VmaProtection.ReadWrite, out _), (ulong)Status.Ok, "rw region mapped");
        t.Equal((ulong)mem.MapAnonymous(parent, ro, Page, VmaProtection.Read, out _), (ulong)Status.Ok, "ro region mapped");

        DemandPaging.Load(&m->Memory, parent);
        for (ulong i = 0; i < 4; i++) Store(va + i * Page, Pattern(i));
        ulong* original = stackalloc ulong[4];
        for (int i = 0; i < 4; i++) original[i] = FrameOf(parent, va + (ulong)i * Page);
        t.Equal((ulong)mem.Fork(parent, child, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "fork");
        t.Equal(mem.Counters.ForkSharedPages, 4, "fork shared the 4 populated pages");
        t.Equal(mem.UserFrames, 4, "no page copied by fork");
        ulong shared = 0;
        for (int i = 0; i < 4; i++)
        {
            ulong p = va + (ulong)i * Page;
            if (FrameOf(child, p) == original[i] && mem.FrameTable[original[i]].Refs == 2
                && (FlagsOf(parent, p) & PageFlags.Writable) == 0 && (FlagsOf(child, p) & PageFlags.Writable) == 0) shared++;
        }
        t.Equal(shared, 4, "each page: the same frame in both, 2 mappings, read-only in both");

        // The child.
        DemandPaging.Load(&m->Memory, child);
        ulong faults0 = mem.Counters.TotalFaults;
        ulong same = 0;
        for (ulong i = 0; i < 4; i++) if (Load(va + i * Page) == Pattern(i)) same++;
        t.Equal(same, 4, "the child reads the parent's data");
        t.Equal(mem.Counters.TotalFaults, faults0, "reading shared pages takes no fault");
        Store(va, 0xC0FFEE);
        t.Equal(mem.Counters.Of(FaultKind.CopyOnWrite), 1, "the child's write was a copy-on-write fault");
        t.Equal(DemandPaging.LastErrorCode, PfPresent | PfWrite, "a supervisor write to a read-only page (CR0.WP)");
        t.Equal(Load(va), 0xC0FFEE, "the child sees its write");
        t.Check(FrameOf(child, va) != original[0], "the child has its own copy");
        t.Equal(mem.FrameTable[original[0]].Refs, 1, "the original frame is the parent's alone");
        t.Equal(Load(va + 5 * Page), 0, "an untouched page reads zero");
        t.Equal(mem.Counters.Of(FaultKind.DemandZero), 5, "that read was demand-zero (4 in the parent before)");

        ulong outside = va + (64UL << 20);
        ulong resolved = DemandPaging.Resolved, refused = DemandPaging.Refused;
        t.Check(!FaultProbe.Read(outside, out _), "a read outside every region faults");
        t.Equal(FaultProbe.LastCr2, outside, "at the address read");
        t.Equal((ulong)DemandPaging.LastResult.Kind, (ulong)FaultKind.NoRegion, "the library's answer: no region");
        t.Check(DemandPaging.LastResult.IsSegmentationFault, "a SIGSEGV-like result");
        t.Check(!FaultProbe.Write(ro, 1), "a write to the read-only region faults");
        t.Equal((ulong)DemandPaging.LastResult.Kind, (ulong)FaultKind.AccessViolation, "the library's answer: access violation");
        t.Equal(DemandPaging.Refused - refused, 2, "two faults refused");
        t.Check(FaultProbe.Read(ro, out ulong roValue) && roValue == 0, "a read of the read-only region: demand-zero through a probe");
        t.Check(!FaultProbe.Read(KernelStack.Guard, out _), "a kernel address with nothing mapped (the stack's guard page) faults");
        t.Equal(DemandPaging.Resolved - resolved, 1, "only the read-only page was resolved");
        t.Equal(DemandPaging.Refused - refused, 2, "the kernel address did not go to the library");

        // The parent again.
        DemandPaging.Load(&m->Memory, parent);
        t.Equal(Load(va), Pattern(0), "the parent still sees its value");
        Store(va + Page, 0xBEEF);
        t.Equal(mem.Counters.Of(FaultKind.CopyOnWrite), 2, "the parent's write to a shared page copies it");
        t.Check(FrameOf(parent, va + Page) != original[1], "the parent has a new frame for page 1");
        DemandPaging.Load(&m->Memory, child);
        Store(va + Page, 0xF00D);
        t.Equal(mem.Counters.Of(FaultKind.CowReuse), 1, "the child, last mapping of page 1, takes it back writable");
        t.Equal(FrameOf(child, va + Page), original[1], "without a copy");
        t.Equal(Load(va + 2 * Page), Pattern(2), "page 2 still shared");
        DemandPaging.Load(&m->Memory, parent);
        t.Equal(Load(va + Page), 0xBEEF, "the parent sees its own page 1");
        DemandPaging.Load(null, null);

        // Frames: originals 0 (parent), 1 (child), 2 and 3 (shared); copies: child's page 0,
        // parent's page 1; demand-zero: child's page 5 and read-only page.
        t.Equal(mem.UserFrames, 8, "user frames: 4 originals, 2 copies, 2 demand-zero");
        t.Equal(mem.FrameTable[original[2]].Refs, 2, "page 2: two mappings");
        ulong tables = parent->TablePages + child->TablePages;
        t.Equal(free1 - Buddy.FreeFrames, 8 + tables, "free frames dropped by the user frames and both spaces' tables");
        t.Equal((ulong)mem.Destroy(child, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "child destroyed");
        t.Equal(mem.FrameTable[original[2]].Refs, 1, "page 2: the parent's alone again");
        t.Equal(mem.UserFrames, 4, "the parent's 4 frames left");
        t.Equal((ulong)mem.Destroy(parent, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "parent destroyed");
        t.Equal(Buddy.FreeFrames, free1, "every frame and table page of both spaces back");
        m->Destroy();
        t.Equal(Buddy.FreeFrames, free0, "free frames back where they were");
        t.Equal(KernelAddressSpace.Hooks.ReadCr3(), KernelRoot, "CR3 holds the kernel's tables again");
    }

    /// <summary>
    /// 32 pages written by a parent, forked, then written by the child, page by page.
    /// Expect: 32 copy-on-write faults, each the child's own copy with the child's value, the
    /// parent's 32 values intact; everything back after both spaces go. Prints the median cost.
    /// </summary>
    private static void CopyOnWriteCost(ref TestContext t)
    {
        ulong free0 = Buddy.FreeFrames;
        if (LiveUserMemory.Create(0, out LiveUserMemory* m) != Status.Ok) { t.Check(false, "user machine created"); return; }
        ref UserMemory<KernelPagingFormat, KernelFrames, RamDiskStore> mem = ref m->Memory;
        AddressSpace<KernelPagingFormat>* parent = m->Space(0), child = m->Space(1);
        const ulong Pages = 32;
        t.Equal((ulong)mem.CreateSpace(parent, m->Layout, KernelRoot), (ulong)Status.Ok, "parent created");
        ulong va = m->Layout.MmapBase;
        t.Equal((ulong)mem.MapAnonymous(parent, va, Pages * Page, VmaProtection.ReadWrite, out _), (ulong)Status.Ok, "region mapped");
        DemandPaging.Load(&m->Memory, parent);
        for (ulong i = 0; i < Pages; i++) Store(va + i * Page, Pattern(i));
        t.Equal((ulong)mem.Fork(parent, child, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "fork");
        DemandPaging.Load(&m->Memory, child);
        ulong* touch = stackalloc ulong[(int)Pages];
        ulong* handler = stackalloc ulong[(int)Pages];
        ulong cow0 = mem.Counters.Of(FaultKind.CopyOnWrite), bad = 0;
        for (ulong i = 0; i < Pages; i++)
        {
            ulong t0 = Arch.Rdtsc();
            Store(va + i * Page + 8, ~Pattern(i));
            touch[i] = Arch.Rdtsc() - t0;
            handler[i] = DemandPaging.LastCycles;
            if (Load(va + i * Page) != Pattern(i) || Load(va + i * Page + 8) != ~Pattern(i)) bad++;
        }
        DemandPaging.Load(&m->Memory, parent);
        for (ulong i = 0; i < Pages; i++) if (Load(va + i * Page) != Pattern(i) || Load(va + i * Page + 8) != 0) bad++;
        DemandPaging.Load(null, null);
        t.Equal(mem.Counters.Of(FaultKind.CopyOnWrite) - cow0, Pages, "one copy-on-write fault per page");
        t.Equal(bad, 0, "the child sees the copy and its write, the parent its own data");
        t.Equal(mem.UserFrames, 2 * Pages, "each side holds its own frames");
        t.Equal((ulong)mem.Destroy(child, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "child destroyed");
        t.Equal((ulong)mem.Destroy(parent, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "parent destroyed");
        m->Destroy();
        t.Equal(Buddy.FreeFrames, free0, "free frames back where they were");

        TextWriter<SerialSink> w = Log.Writer();
        w.Str("  copy-on-write: ");
        w.Dec(Pages);
        w.Str(" faults; write median ");
        w.Dec(Median(touch, Pages));
        w.Str(" cycles (trap, handler, iretq, retry; handler alone ");
        w.Dec(Median(handler, Pages));
        w.Line(", a 4 KiB copy included)");
    }

    // ---- stack growth ---------------------------------------------------------------------

    /// <summary>
    /// A stack region of one page at the layout's stack top that may grow to 64 KiB.
    /// Expect: a write 5 pages below the top grows the stack to that page (a StackGrowth fault,
    /// zero-filled, the write stays); the pages between are still unpopulated and grow on their
    /// own first touch; a read below the limit is refused as a stack overflow (the probe sees
    /// the fault, nothing is mapped); destroy gives everything back.
    /// </summary>
    private static void StackGrowth(ref TestContext t)
    {
        ulong free0 = Buddy.FreeFrames;
        if (LiveUserMemory.Create(0, out LiveUserMemory* m) != Status.Ok) { t.Check(false, "user machine created"); return; }
        ref UserMemory<KernelPagingFormat, KernelFrames, RamDiskStore> mem = ref m->Memory;
        AddressSpace<KernelPagingFormat>* s = m->Space(0);
        t.Equal((ulong)mem.CreateSpace(s, m->Layout, KernelRoot), (ulong)Status.Ok, "space created");
        const ulong MaxBytes = 16 * Page;
        ulong top = m->Layout.StackTop;
        t.Equal((ulong)mem.MapStack(s, top, MaxBytes, VmaProtection.ReadWrite), (ulong)Status.Ok, "stack mapped");
        DemandPaging.Load(&m->Memory, s);
        Store(top - 8, 0x57AC);
        ulong deep = top - 5 * Page + 16;
        Store(deep, 0xDEE9);
        ulong grew = mem.Counters.Of(FaultKind.StackGrowth);
        ulong between = s->Entry(top - 3 * Page);
        ulong betweenValue = Load(top - 3 * Page);
        ulong refused = DemandPaging.Refused;
        bool belowLimitFaults = !FaultProbe.Read(top - MaxBytes - Page, out _);
        FaultKind belowKind = DemandPaging.LastResult.Kind;
        ulong deepValue = Load(deep), topValue = Load(top - 8);
        DemandPaging.Load(null, null);

        t.Equal(topValue, 0x57AC, "the first page keeps its write");
        t.Equal(deepValue, 0xDEE9, "the page 5 below the top keeps its write");
        t.Equal(grew, 1, "the deep write grew the stack (one StackGrowth fault)");
        t.Equal(between, 0, "the pages between were not populated by it");
        t.Equal(betweenValue, 0, "a page between reads zero on its own first touch");
        t.Check(belowLimitFaults, "a read below the stack's limit faults");
        t.Equal((ulong)belowKind, (ulong)FaultKind.StackOverflow, "the library's answer: stack overflow");
        t.Equal(DemandPaging.Refused - refused, 1, "one fault refused");
        t.Equal(s->ResidentPages, 3, "three stack pages resident");
        t.Equal((ulong)mem.Destroy(s, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "space destroyed");
        m->Destroy();
        t.Equal(Buddy.FreeFrames, free0, "free frames back where they were");
    }

    // ---- HighMem ------------------------------------------------------------------------

    // Resident pages of [va, va + pages) whose frame is in HighMem (beyond the direct map).
    private static ulong HighFrames(ref UserMemory<KernelPagingFormat, KernelFrames, RamDiskStore> mem, AddressSpace<KernelPagingFormat>* s, ulong va, ulong pages)
    {
        ulong n = 0;
        for (ulong i = 0; i < pages; i++)
        {
            ulong e = s->Entry(va + i * Page);
            if (KernelPagingFormat.IsPresent(e) && mem.High.IsHigh(FrameOf(s, va + i * Page))) n++;
        }
        return n;
    }

    /// <summary>
    /// On a guest with RAM above the direct map (i386, 2 GiB and more), under a budget of 16
    /// resident user frames with a 64-slot RAM disk: a parent writes 24 pages, forks, the child
    /// rewrites half of them; every page is then read back in both spaces.
    /// Expect: the pages' frames are HighMem frames (not one of them direct-mapped), counted
    /// here and printed; every demand-zero page read zero first (zeroed through kmap); the
    /// copy-on-write copies (through two kmaps) hold the parent's data plus the child's write;
    /// pages written out to the RAM disk and faulted back in (store I/O through kmap) read back
    /// right in both spaces; kmap was used; destroy gives back every frame and swap slot.
    /// </summary>
    private static void HighMemUserPages(ref TestContext t)
    {
        ulong free0 = Buddy.FreeFrames;
        if (LiveUserMemory.Create(64, out LiveUserMemory* m) != Status.Ok) { t.Check(false, "user machine created"); return; }
        ref UserMemory<KernelPagingFormat, KernelFrames, RamDiskStore> mem = ref m->Memory;
        t.Check(mem.High.IsEnabled, "user memory serves pages from HighMem");
        AddressSpace<KernelPagingFormat>* parent = m->Space(0), child = m->Space(1);
        const ulong Pages = 24;
        t.Equal((ulong)mem.CreateSpace(parent, m->Layout, KernelRoot), (ulong)Status.Ok, "parent created");
        ulong va = m->Layout.MmapBase;
        t.Equal((ulong)mem.MapAnonymous(parent, va, Pages * Page, VmaProtection.ReadWrite, out _), (ulong)Status.Ok, "region mapped");

        ulong zeroFirst = 0, highWhenWritten = 0;
        DemandPaging.Load(&m->Memory, parent);
        for (ulong i = 0; i < Pages; i++)
        {
            if (Load(va + i * Page + Page - 8) == 0) zeroFirst++;
            Store(va + i * Page, Pattern(i));
        }
        highWhenWritten = HighFrames(ref mem, parent, va, Pages);
        t.Equal((ulong)mem.Fork(parent, child, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "fork");
        DemandPaging.Load(&m->Memory, child);
        for (ulong i = 0; i < Pages; i += 2) Store(va + i * Page + 8, ~Pattern(i));
        ulong cow = mem.Counters.Of(FaultKind.CopyOnWrite);
        ulong highCopies = HighFrames(ref mem, child, va, Pages);
        // Under a budget, so that the reads below page out and in: the clock first takes the
        // frames down to it (two calls: the first clears the Accessed bits the writes set).
        DemandPaging.Load(null, null);
        mem.ResidentLimit = 16;
        mem.ReclaimBatch = 4;
        for (int i = 0; i < 2 && mem.UserFrames > 16; i++) mem.Reclaim(mem.UserFrames - 16, ref KernelAddressSpace.Hooks);
        ulong pagedOut = mem.Counters.PagesOut;
        ulong badChild = 0, badParent = 0;
        for (ulong pass = 0; pass < 2; pass++)
        {
            DemandPaging.Load(&m->Memory, child);
            for (ulong i = 0; i < Pages; i++)
                if (Load(va + i * Page) != Pattern(i) || Load(va + i * Page + 8) != ((i & 1) == 0 ? ~Pattern(i) : 0)) badChild++;
            DemandPaging.Load(&m->Memory, parent);
            for (ulong i = 0; i < Pages; i++)
                if (Load(va + i * Page) != Pattern(i) || Load(va + i * Page + 8) != 0) badParent++;
        }
        ulong highAfter = HighFrames(ref mem, parent, va, Pages) + HighFrames(ref mem, child, va, Pages);
        ulong residentAfter = parent->ResidentPages + child->ResidentPages;
        DemandPaging.Load(null, null);

        UserCounters c = mem.Counters;
        ulong firstHighPfn = mem.High.DirectEndPfn;
        t.Equal(zeroFirst, Pages, "every new page read zero (zeroed through kmap)");
        t.Equal(highWhenWritten, Pages, "every page's frame is a HighMem frame");
        t.Equal(cow, Pages / 2, "the child's writes were copy-on-write faults");
        t.Equal(highCopies, Pages, "the child's pages, its copies among them, are HighMem frames");
        t.Equal(badChild, 0, "the child reads the parent's data and its own writes, after copy-on-write and paging");
        t.Equal(badParent, 0, "the parent reads its own data, after paging");
        t.Check(pagedOut > 0, "the clock wrote pages out to the RAM disk (from HighMem frames, through kmap)");
        t.Check(c.Of(FaultKind.PageIn) > 0, "pages came back in (into HighMem frames, through kmap)");
        t.Equal(highAfter, residentAfter, "the resident pages after paging are HighMem frames");

        t.Equal((ulong)mem.Destroy(child, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "child destroyed");
        t.Equal((ulong)mem.Destroy(parent, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "parent destroyed");
        t.Equal(mem.Slots.UsedCount, 0, "every swap slot free");
        m->Destroy();
        t.Equal(Buddy.FreeFrames, free0, "free frames back where they were");

        TextWriter<SerialSink> w = Log.Writer();
        w.Str("  highmem: ");
        w.Dec(highWhenWritten);
        w.Str(" of ");
        w.Dec(Pages);
        w.Str(" user pages in HighMem frames (pfn >= ");
        w.Hex(firstHighPfn);
        w.Str("), ");
        w.Dec(cow);
        w.Str(" copied on write, ");
        w.Dec(c.PagesOut);
        w.Str(" pages out, ");
        w.Dec(c.Of(FaultKind.PageIn));
        w.Line(" page-in faults; contents right");
    }

    /// <summary>test=userfault: a plain read outside every region of a loaded user space. The
    /// library refuses it (no region), no probe is armed, so it is reported like any kernel
    /// fault, with the library's answer as the note; getting past the read is a failure.</summary>
    public static void DeliberateNoRegionRead()
    {
        if (LiveUserMemory.Create(0, out LiveUserMemory* m) != Status.Ok) KernelPanic.Fail("test=userfault: no user machine");
        AddressSpace<KernelPagingFormat>* s = m->Space(0);
        if (m->Memory.CreateSpace(s, m->Layout, KernelRoot) != Status.Ok) KernelPanic.Fail("test=userfault: no space");
        ulong va = m->Layout.TextBase;
        if (m->Memory.MapAnonymous(s, va, Page, VmaProtection.ReadWrite, out _) != Status.Ok) KernelPanic.Fail("test=userfault: no region");
        ulong outside = va + 16 * Page;
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("test=userfault: reading outside every region of a user space at ");
        w.Hex(outside, 16);
        w.Line(", expecting a page fault the library refuses (no-region)");
        DemandPaging.Load(&m->Memory, s);
        Load(va);
        ulong value = Load(outside);
        KernelPanic.Fail("test=userfault: the read outside every region did not fault, it read", value);
    }
}
