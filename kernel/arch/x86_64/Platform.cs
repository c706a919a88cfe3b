global using KernelLargeMapper = SharpMM.Kernel.VmallocLargeMapper;
global using KernelPagingFormat = SharpMM.Paging.X86.X86LongModeFormat;
global using KernelLinuxCalls = SharpMM.User.Linux.LinuxMemoryCalls<SharpMM.Paging.X86.X86LongModeFormat, SharpMM.Kernel.KernelFrames, SharpMM.User.RamDiskStore>;
global using KernelTableAccess = SharpMM.Paging.DirectMapTableAccess;

using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Diagnostics;
using SharpMM.Paging;
using SharpMM.Physical;
using SharpMM.User;

namespace SharpMM.Kernel;

/// <summary>
/// The x86-64 steps of kmain's boot flow (src/KernelMain.cs calls them in order; every
/// architecture has a Platform with the same members):
/// <code>
///   EarlyInit            IDT (exception stubs, #DF/NMI on the IST stack), the boot CPU's GS area
///   BeforePhysicalBoot   the CPUs in the ACPI MADT (CpuDiscovery), boot direct map extended
///                        over RAM above 4 GiB, printed
///   AfterPhysicalBoot    the kernel's own page tables (KernelAddressSpace), the vmalloc window,
///                        then kmain_stage2 on the kernel stack (never returns)
///   StartCpus            the other CPUs (Smp: local APIC, INIT-SIPI-SIPI, per-CPU areas)
///   DeliberateFailures   the test= switches only this architecture has
/// </code>
/// The kernel runs in the higher half: physical memory at <see cref="Arch.DirectMapBase"/> + phys
/// (<see cref="DirectMap"/>), the image at <see cref="Arch.KernelVirtualBase"/> + phys
/// (<see cref="KernelImage.ToVirt"/>); the lower half belongs to user space.
/// </summary>
internal static unsafe class Platform
{
    /// <summary>The name in the banner.</summary>
    public const string Name = "x86-64";

    /// <summary>How the kernel reaches physical memory: the direct map, set up by the boot stub
    /// and kept by the kernel's own tables.</summary>
    public static DirectMap DirectMap => new DirectMap(Arch.DirectMapBase);

    /// <summary>The direct map reaches all RAM (BootInfo.DirectMapLimit: 0, no limit).</summary>
    public const ulong DirectMapLimit = 0;

    /// <summary>The tables reach every physical address the library manages (BootInfo.PhysicalLimit: 0).</summary>
    public const ulong PhysicalLimit = 0;

    /// <summary>After a panic line: no backtrace on x86-64 yet (map a report's RIP with addr2line).</summary>
    public static void WritePanicBacktrace(ref SharpMM.Diagnostics.TextWriter<SerialSink> w) { }

    /// <summary>The zones the buddy allocator uses: DMA, DMA32, Normal.</summary>
    public static ZoneLayout Zones => ZoneLayout.X86_64();

    /// <summary>kmalloc's large path: blocks mapped in the vmalloc window (after the switch).</summary>
    public static KernelLargeMapper NewLargeMapper() => default;

    /// <summary>VmallocLargeMapper's areas: vmalloc, and the physical-mapping window (from the
    /// layout, <see cref="KernelRegions"/>).</summary>
    public static ulong VmallocStart => KernelRegions.VmallocStart;
    public static ulong VmallocEnd => KernelRegions.VmallocEnd;
    public static ulong WindowStart => KernelRegions.WindowStart;
    public static ulong WindowEnd => KernelRegions.WindowEnd;

    /// <summary>The tables the running kernel changes (reached through the direct map).</summary>
    public static ref Mapper<KernelPagingFormat, KernelTableAccess> LiveTables => ref KernelAddressSpace.Mapper;

    /// <summary>True when <paramref name="va"/> is a direct-map address of RAM.</summary>
    public static bool InDirectMap(ulong va) =>
        va >= Arch.DirectMapBase + PageSize.Bytes && va - Arch.DirectMapBase < KernelAddressSpace.DirectMapEnd;

    public static void EarlyInit()
    {
        Idt.Install();
        PerCpus.InitBoot();
    }

    /// <summary>A pointer to the frame at <paramref name="phys"/>: the direct map reaches all RAM.</summary>
    public static byte* MapFrame(ulong phys) => DirectMap.ToVirt(phys);

    /// <summary>Ends <see cref="MapFrame"/>: nothing to do.</summary>
    public static void UnmapFrame(byte* p) { }

    public static void BeforePhysicalBoot(ref LoaderInfo loader)
    {
        TextWriter<SerialSink> w = Log.Writer();
        BootIdentityView acpi = default;
        CpuDiscovery.Discover(ref loader, ref acpi);
        BootDirectMap.Extend(in loader.Map);
        w.Str("direct map: at ");
        w.Hex(Arch.DirectMapBase, 16);
        w.Str(", [0-4 GiB) plus ");
        w.Size(BootDirectMap.MappedBytes);
        w.Str(" of RAM above 4 GiB (2 MiB pages, ");
        w.Dec((ulong)BootDirectMap.PageDirectoriesUsed);
        w.Str(" page directories), highest mapped byte ");
        w.Hex(BootDirectMap.End - 1, 16);
        w.Line();
        if (BootDirectMap.SkippedBytes != 0)
        {
            w.Str("direct map: warning: ");
            w.Size(BootDirectMap.SkippedBytes);
            w.Line(" of RAM above 64 GiB left unmapped");
        }
    }

    /// <summary>Builds and loads the kernel's tables, then continues in kmain_stage2 on the
    /// kernel stack.</summary>
    public static void AfterPhysicalBoot(ref LoaderInfo loader)
    {
        KernelAddressSpace.Build(ref loader);
        VmallocLargeMapper.Attach();
        Arch.RunOnStack(KernelStack.Top);
    }

    /// <summary>Starts the other CPUs the MADT lists (Smp); returns how many CPUs are online.</summary>
    public static int StartCpus(ref LoaderInfo loader) => Smp.Start(ref loader);

    /// <summary>The user address spaces' layout (LiveUserMemory): the lower half.</summary>
    public static UserLayout UserLayout => UserLayout.X86_64();

    /// <summary>User pages in HighMem: none (the direct map reaches all of RAM).</summary>
    public static HighPages UserHighPages => default;

    /// <summary>`run=1`: runs the program the loader gave as modules instead of the test suite
    /// (RunMode); never returns.</summary>
    public static void RunProgram(ref LoaderInfo loader) => RunMode.Run(ref loader);

    /// <summary>The test= switches of this architecture (each ends the run when present).</summary>
    public static void DeliberateFailures(ref LoaderInfo loader)
    {
        if (loader.CommandLine.Has("test=stackoverflow")) DeliberateFaults.StackOverflow();
        if (loader.CommandLine.Has("test=guardpage")) DeliberateFaults.GuardPage(KernelStack.Guard);
        if (loader.CommandLine.Has("test=writetext")) DeliberateFaults.WriteText();
        if (loader.CommandLine.Has("test=execdata")) DeliberateFaults.ExecuteData();
        if (loader.CommandLine.Has("test=userfault")) UserTests.DeliberateNoRegionRead();
        if (loader.CommandLine.Has("test=apstackoverflow")) Smp.DeliberateApStackOverflow();
    }
}
