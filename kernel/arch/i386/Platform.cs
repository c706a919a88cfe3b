global using KernelLargeMapper = SharpMM.Kernel.VmallocLargeMapper;
global using KernelPagingFormat = SharpMM.Kernel.I386Format;
global using KernelLinuxCalls = SharpMM.User.Linux.LinuxMemoryCalls<SharpMM.Kernel.I386Format, SharpMM.Kernel.KernelFrames, SharpMM.User.RamDiskStore>;
global using KernelTableAccess = SharpMM.Kernel.LiveTableAccess;

using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Diagnostics;
using SharpMM.Paging;
using SharpMM.Physical;
using SharpMM.User;
using SharpMM.Virtual;

namespace SharpMM.Kernel;

/// <summary>
/// The i386 steps of kmain's boot flow (src/KernelMain.cs calls them in order). The classic
/// higher-half design: the kernel runs at 0xC0000000 + phys, and low memory (below 896 MiB) is
/// mapped linearly there, so the library reaches physical memory through
/// <see cref="DirectMap"/> with offset 0xC0000000; RAM above the limit is the HighMem zone,
/// which that map does not reach.
/// <code>
///   EarlyInit            the boot CPU's per-CPU area behind FS, the double-fault task (its stack
///                        from EarlyPages); boot.S installed the other exception gates before kmain
///   BeforePhysicalBoot   prints the boot stub's direct map
///   AfterPhysicalBoot    the library's final page directory (KernelAddressSpace), the switch,
///                        the identity map dropped, the vmalloc and kmap windows; then Stage2 on the kernel
///                        stack (its own region, guard page below)
///   StartCpus            (Stage2) the CPUs in the ACPI MADT (CpuDiscovery), the local APIC, its
///                        timer, the other CPUs (Smp, PerCpus, ApStartup)
/// </code>
/// </summary>
internal static unsafe class Platform
{
    public const string Name = "i386";

    /// <summary>Where the direct map of low memory ends: 0xF8000000 on the higher half and low-2g
    /// (the top 128 MiB of the address space hold vmalloc, the kmap window, the kernel stack and
    /// the recursive slot), 0x40000000 on phantom (the end of its kernel heap).</summary>
    public static ulong DirectMapEnd => Arch.DirectMapEnd();

    /// <summary>Low memory the boot stub and the final directory map at <see cref="Arch.KernelVirtualBase"/>:
    /// the 3G/1G split's 896 MiB on the higher half, 1920 MiB on low-2g.</summary>
    public static ulong DirectMapLimit => DirectMapEnd - Arch.KernelVirtualBase;

    /// <summary>The first physical address the kernel's tables cannot reach: 4 GiB with legacy
    /// paging (32-bit entries), 64 GiB with PAE. The library leaves RAM above it out of every zone
    /// (BootInfo.PhysicalLimit), as Linux without PAE ignores RAM above 4 GiB, rather than hand
    /// out frames kmap could not map; <see cref="ReportIgnoredRam"/> says so on serial.</summary>
    public static ulong PhysicalLimit => PagingMode.PhysLimit;

    /// <summary>True when the image is linked for layout=low-2g (the kernel at 0x80000000).</summary>
    public static bool Low2G => Arch.KernelVirtualBase == 0x80000000;

    /// <summary>True when the image is linked for layout=phantom (the kernel at its physical
    /// address, low memory identity-mapped up to 0x40000000).</summary>
    public static bool Phantom => Arch.KernelVirtualBase == 0;

    /// <summary>How the kernel reaches physical memory below <see cref="DirectMapLimit"/>.</summary>
    public static DirectMap DirectMap => new DirectMap(Arch.KernelVirtualBase);

    /// <summary>DMA below 16 MiB, Normal (higher half) or Low (low-2g) up to the direct-map
    /// limit, HighMem above.</summary>
    public static ZoneLayout Zones => Low2G ? ZoneLayout.LowHigh(DirectMapLimit) : ZoneLayout.I386(DirectMapLimit);

    /// <summary>Phantom's device pool, 0x40000000-0x80000000: address space only, where
    /// MapDevice (page_map_io) maps device memory; on phantom it is the physical-mapping window.</summary>
    public const ulong DevicePoolStart = 0x40000000, DevicePoolEnd = 0x80000000;

    /// <summary>kmalloc's large path: blocks mapped in the vmalloc window (after the switch).</summary>
    public static KernelLargeMapper NewLargeMapper() => default;

    /// <summary>VmallocLargeMapper's areas, in the layout's kernel-heap region above the direct
    /// map's end (0xF8000000) and below the kmap window (0xFF000000).</summary>
    public const ulong VmallocStart = 0xF8800000, VmallocEnd = 0xFC000000;
    /// <summary>The physical-mapping window (kmalloc's large blocks, MapDevice): 0xFC000000-0xFF000000,
    /// on phantom its device pool.</summary>
    public static ulong WindowStart => Phantom ? DevicePoolStart : 0xFC000000;
    public static ulong WindowEnd => Phantom ? DevicePoolEnd : 0xFF000000;

    /// <summary>The tables the running kernel changes: through the recursive slot.</summary>
    public static ref Mapper<KernelPagingFormat, KernelTableAccess> LiveTables => ref KernelAddressSpace.Live;

    /// <summary>True when <paramref name="va"/> is a direct-map address of low memory.</summary>
    public static bool InDirectMap(ulong va) => va >= Arch.KernelVirtualBase + 4096 && va < Arch.KernelVirtualBase + DirectMapLimit;

    /// <summary>Pages of the double-fault task's stack (from the earliest allocator).</summary>
    private const uint DoubleFaultStackPages = 4;

    /// <summary>The boot CPU's per-CPU area behind FS, then the double-fault task (which finds
    /// the interrupted state through FS), on a stack from the earliest allocator (nothing else
    /// hands out memory yet); boot.S installed the other exception gates.</summary>
    public static void EarlyInit()
    {
        PagingMode.FromBootStub();
        PerCpus.InitBoot();
        byte* stack = EarlyPages.Alloc(DoubleFaultStackPages);
        Arch.InstallDoubleFaultTask((uint)(nuint)(stack + DoubleFaultStackPages * 4096));
    }

    /// <summary>A pointer to the frame at <paramref name="phys"/>: through the direct map below
    /// the limit, else through a kmap slot (give it back with <see cref="UnmapFrame"/>).</summary>
    public static byte* MapFrame(ulong phys) => phys < DirectMapLimit ? DirectMap.ToVirt(phys) : Kmap.Map(phys);

    /// <summary>Ends <see cref="MapFrame"/> (nothing to do for a direct-map pointer).</summary>
    public static void UnmapFrame(byte* p)
    {
        if ((ulong)(nuint)p >= Kmap.WindowStart) Kmap.Unmap(p);
    }

    public static void BeforePhysicalBoot(ref LoaderInfo loader)
    {
        TextWriter<SerialSink> w = Log.Writer();
        CheckLayoutWord(ref loader);
        w.Str("layout: ");
        w.Str(LayoutName);
        w.Str(", kernel at ");
        w.Hex(Arch.KernelVirtualBase, 8);
        w.Str(", ");
        w.Line(PagingMode.Name);
        w.Str("direct map: ");
        w.Hex(Arch.KernelVirtualBase, 8);
        w.Str(" -> [0, ");
        w.Size(DirectMapLimit);
        w.Str(PagingMode.Pae ? ") (boot PAE tables, 2 MiB pages); RAM above it: " : ") (boot page directory, 4 MiB pages); RAM above it: ");
        w.Size(UsableBytesBetween(in loader.Map, DirectMapLimit, PhysicalLimit));
        w.Line(" (HighMem)");
    }

    /// <summary>The user address spaces' layout (LiveUserMemory): user space below the kernel,
    /// each space sharing the kernel's top-level entries. Higher half: below 0xC0000000 (legacy
    /// paging: PDEs 768-1022 the kernel's, PD[1023] the space's own recursive slot; PAE: PDPT
    /// entry 3 shared). Low-2g: below 0x80000000 (legacy: PDEs 512-1022, PD[1023] the space's
    /// own; PAE: PDPT entries 2 and 3 shared). Phantom has no user space.</summary>
    public static UserLayout UserLayout
    {
        get
        {
            UserLayout l = Low2G ? UserLayout.I386Low2G() : UserLayout.I386HigherHalf();
            if (PagingMode.Pae)
            {
                // A PDPT entry covers 1 GiB: the kernel's from its base up.
                l.KernelFirstIndex = (int)(Arch.KernelVirtualBase >> 30);
                l.KernelEndIndex = 4;
                l.RecursiveIndex = -1;
            }
            return l;
        }
    }

    /// <summary>True when this boot can make user address spaces (see <see cref="UserLayout"/>).</summary>
    public static bool HasUserSpace => !Phantom;

    /// <summary>User pages in HighMem when the guest has RAM above the direct map: taken from
    /// the buddy allocator's user class (HighMem first), reached through kmap.</summary>
    public static HighPages UserHighPages =>
        PhysicalBoot.Memory.Buddy.Map.EndPfn > (DirectMapLimit >> PageSize.Shift)
            ? new HighPages(DirectMapLimit >> PageSize.Shift, &AllocateUserPage, &Kmap.Map, &Kmap.Unmap)
            : default;

    // A user page's frame, HighMem first; counted like KernelFrames' (user memory frees it there).
    private static Status AllocateUserPage(out Pfn pfn)
    {
        Status s = PhysicalBoot.Memory.Buddy.Allocate(0, MemoryClass.User, out pfn);
        if (s == Status.Ok) KernelFrames.Allocated++;
        return s;
    }

    /// <summary>`run=1`: runs the program the loader gave as modules instead of the test suite
    /// (RunMode); never returns. Phantom's map has no user spaces, so it refuses.</summary>
    public static void RunProgram(ref LoaderInfo loader)
    {
        if (!HasUserSpace) KernelPanic.Fail("run: layout=phantom has no user address spaces (boot the higher half or low-2g)");
        RunMode.Run(ref loader);
    }

    /// <summary>The library's name of the layout this kernel boots (its boot-sequence lines are
    /// the hosted run's, see SharpMM.Virtual.BootSteps).</summary>
    public static string LayoutName => Phantom ? "phantom-ia32" : Low2G ? "i386-low-2g" : "i386-higher-half";

    /// <summary>The library's layout this image runs.</summary>
    public static LayoutId Layout => Phantom ? LayoutId.PhantomIa32 : Low2G ? LayoutId.I386Low2G : LayoutId.I386HigherHalf;

    public static void AfterPhysicalBoot(ref LoaderInfo loader)
    {
        // Steps 1-3 of the layout's boot sequence happened already (boot.S, PhysicalBoot); they are
        // summed up here in the hosted run's words, and steps 4-7 are printed as they happen.
        TextWriter<SerialSink> w = Log.Writer();
        ReportIgnoredRam(ref w);
        BootSteps.Header(ref w, LayoutName);
        w.Str("  1. temporary tables at ");
        w.Hex((ulong)(nuint)(PagingMode.Pae ? (void*)Arch.BootPdpt() : Arch.BootPageDirectory()) - Arch.KernelVirtualBase);
        w.Str(" (kernel bss): [0x0, 0x400000) identity and ");
        w.Hex(Arch.KernelVirtualBase);
        w.Str(" -> [0x0, ");
        w.Hex(DirectMapLimit);
        w.Line(PagingMode.Pae ? ") in 2M pages (PAE); paging on" : ") in 4M pages; paging on");
        BootSteps.Sanitized(ref w, in PhysicalBoot.Sanitized);
        BootSteps.HandedOver(ref w, ref PhysicalBoot.Memory);
        KernelAddressSpace.Build(ref loader);
        VmallocLargeMapper.Attach();
        Kmap.Init();
        if (Phantom) ObjectSpace.Init();
        BootSteps.StackMoved(ref w, KernelStack.Top, 32);
        Log.Line("kernel stack: moving to its region, kmain continues there");
        Arch.RunOnStack((uint)KernelStack.Top);
    }

    /// <summary>Usable bytes of the loader's map in [<paramref name="from"/>, <paramref name="to"/>)
    /// (the map as reported: entries that overlap are counted twice, which QEMU's never do).</summary>
    private static ulong UsableBytesBetween(in MemoryMap map, ulong from, ulong to)
    {
        ulong bytes = 0;
        for (int i = 0; i < map.Count; i++)
        {
            if (map[i].Type != MemoryType.Usable) continue;
            ulong s = map[i].Start > from ? map[i].Start : from, e = map[i].End < to ? map[i].End : to;
            if (e > s) bytes += e - s;
        }
        return bytes;
    }

    /// <summary>RAM the library refused because the tables cannot reach it (above 4 GiB with legacy
    /// paging): one line that says how much, and that `pae` would manage it.</summary>
    private static void ReportIgnoredRam(ref TextWriter<SerialSink> w)
    {
        ref PhysicalMemory pm = ref PhysicalBoot.Memory;
        if (pm.RefusedRamBytes == 0) return;
        w.Str("physical memory: ");
        w.Size(pm.RefusedRamBytes);
        w.Str(" of RAM above ");
        w.Size(pm.RefusedFrom);
        w.Str(" ignored: ");
        w.Str(PagingMode.Name);
        w.Line(PagingMode.Pae ? " reaches no higher" : " reaches 32-bit physical addresses only; boot with `pae` on the command line to manage it");
    }

    /// <summary>An image runs only at the address it is linked at, so `layout=` on the command
    /// line must name the layout of the image the loader was given (no word: the higher half);
    /// a mismatch stops the boot with the name of the image to boot instead.</summary>
    private static void CheckLayoutWord(ref LoaderInfo loader)
    {
        bool wantsLow2G = loader.CommandLine.Has("layout=low-2g"), wantsPhantom = loader.CommandLine.Has("layout=phantom");
        if (wantsLow2G != Low2G || wantsPhantom != Phantom)
        {
            KernelPanic.Fail(Phantom ? "this image is linked for layout=phantom (the kernel at its physical address), and the command line does not say layout=phantom"
                : Low2G ? "this image is linked at 0x80000000 for layout=low-2g, and the command line does not say layout=low-2g"
                : "this image is linked at 0xC0000000 (higher half); boot kernel/build/i386/sharpmm-low-2g.elf for layout=low-2g, sharpmm-phantom.elf for layout=phantom");
        }
    }

    /// <summary>The CPUs in the ACPI MADT (CpuDiscovery, its tables mapped in the
    /// physical-mapping window: AcpiWindowView), then the other CPUs (Smp); returns how many
    /// CPUs are online.</summary>
    public static int StartCpus(ref LoaderInfo loader)
    {
        AcpiWindowView acpi = default;
        CpuDiscovery.Discover(ref loader, ref acpi);
        acpi.UnmapAll();
        return Smp.Start(ref loader);
    }

    /// <summary>After a panic line: the return addresses from this call up (Backtrace).</summary>
    public static void WritePanicBacktrace(ref TextWriter<SerialSink> w) => Backtrace.Write(ref w, Arch.FramePointer());

    /// <summary>test=kmapoverflow: the last CPU online kmaps one frame once more than it has
    /// slots, never ending a mapping; Kmap panics naming that CPU (status 3).</summary>
    private static void DeliberateKmapOverflow()
    {
        int cpu = Smp.Online - 1;
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("test=kmapoverflow: cpu ");
        w.Dec((ulong)cpu);
        w.Str(" kmaps one frame ");
        w.Dec(Kmap.SlotsPerCpu + 1);
        w.Line(" times without ending a mapping, expecting a panic");
        Smp.RunOn(cpu, &KmapUntilFull, 0, 30_000);
        KernelPanic.Fail("test=kmapoverflow: the kmaps came back");
    }

    private static void KmapUntilFull(ulong unused)
    {
        KernelFrames frames = default;
        if (frames.Allocate(0, out Pfn f) != Status.Ok) KernelPanic.Fail("test=kmapoverflow: no frame");
        for (int i = 0; i <= Kmap.SlotsPerCpu; i++) Kmap.Map(f.ToAddr().Value);
    }

    public static void DeliberateFailures(ref LoaderInfo loader)
    {
        if (loader.CommandLine.Has("test=stackoverflow")) DeliberateFaults.StackOverflow();
        if (loader.CommandLine.Has("test=guardpage")) DeliberateFaults.GuardPage(KernelStack.Guard);
        if (loader.CommandLine.Has("test=writetext")) DeliberateFaults.WriteText();
        if (loader.CommandLine.Has("test=apstackoverflow")) Smp.DeliberateApStackOverflow();
        if (loader.CommandLine.Has("test=kmapoverflow")) DeliberateKmapOverflow();
        // Only PAE with NX has no-execute pages; without them the call would just return.
        if (loader.CommandLine.Has("test=execdata"))
        {
            if (!PagingMode.NoExecute) KernelPanic.Fail("test=execdata needs PAE paging on a CPU with NX (pae on the command line)");
            DeliberateFaults.ExecuteData();
        }
    }
}
