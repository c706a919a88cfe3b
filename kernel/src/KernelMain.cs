using System.Runtime;
using SharpMM.Boot;
using SharpMM.Concurrency;
using SharpMM.Diagnostics;
using SharpMM.Heap;

namespace SharpMM.Kernel;

/// <summary>
/// kmain, the boot flow every architecture shares. The boot stub enters it on the boot stack with
/// interrupts off and the boot page tables live (x86-64: identity map of [0, 4 GiB); i386: the
/// kernel at 0xC0000000 and the low memory it direct-maps). It brings up serial output, the GC
/// statics and the panic paths, then the architecture's early setup (<see cref="Platform"/>.EarlyInit),
/// prints what the loader reported, boots the library's physical memory manager over all RAM
/// (PhysicalBoot: report and SHARPMM-JSON line, then kmalloc) and hands over to
/// Platform.AfterPhysicalBoot, which builds the kernel's own page tables and continues in
/// <see cref="Stage2"/> on the kernel stack: the deliberate failures, the in-kernel
/// tests and the exit (status 33 when every test passed).
///
/// Command line switches (QEMU -append), each replacing the test suite with a deliberate failure
/// that test.sh checks (DeliberateFaults.cs; all run on the kernel's own tables and stack):
///   test=nullderef       read address 0: page-fault report with CR2=0 (all digits zero), status 7
///   test=stackoverflow   recurse until the kernel stack's guard page: #DF report on the IST stack, status 7
///   test=guardpage       write to the kernel stack's guard page: #PF [not-present write], status 7
///   test=writetext       write to kernel text: #PF [protection write], status 7
///   test=execdata        call a ret placed in .bss: #PF [protection fetch], status 7
///   test=panic           SharpMM.Panic.Fail through the library hook: "panic: ... (0x2a)", status 3
///   test=kmapoverflow    (i386) the last CPU kmaps 17 frames at once: Kmap's panic names it, status 3
/// (test=nullderef and test=panic on every architecture, the others where Platform wires them.)
/// </summary>
internal static unsafe class KernelMain
{
    private static LoaderInfo s_loader;

    /// <summary>What the loader reported (Multiboot info, command line, raw memory map).</summary>
    public static ref LoaderInfo Loader => ref s_loader;

    [RuntimeExport("kmain")]
    private static void Main(uint magic, uint multibootInfo)
    {
        ulong kmainTsc = Arch.Rdtsc();
        Serial.Init();
        // Nothing may read a reference-type static before this (see GcStatics).
        if (!GcStatics.Initialize()) KernelPanic.Fail("gc statics: ReadyToRun header not found");
        SharpMM.Panic.SetHook(&KernelPanic.LibraryHook);
        SharpMM.Panic.SetNamesHook(&KernelPanic.NamesHook);
        Platform.EarlyInit();

        ref LoaderInfo loader = ref s_loader;
        loader.BootTsc = Arch.BootTsc();
        loader.KmainTsc = kmainTsc;

        TextWriter<SerialSink> w = Log.Writer();
        w.Str("SharpMM kernel (");
        w.Str(Platform.Name);
        w.Line(", Multiboot 1)");
        w.Str("boot: ");
        w.Dec(kmainTsc - loader.BootTsc);
        w.Line(" cycles from boot stub entry to kmain");
        w.Str("kernel image: [");
        w.Hex(KernelImage.Start, 16);
        w.Char('-');
        w.Hex(KernelImage.End - 1, 16);
        w.Str("] ");
        w.Size(KernelImage.End - KernelImage.Start);
        w.Str(", gc statics ");
        w.Dec((ulong)GcStatics.BlockCount);
        w.Str(" blocks / ");
        w.Dec(GcStatics.BytesUsed);
        w.Line(" bytes");

        if (magic != MultibootInfo.BootloaderMagic) KernelPanic.Fail("kmain: not started by a Multiboot 1 loader, EAX was", magic);
        if (multibootInfo == 0) KernelPanic.Fail("kmain: no Multiboot information structure");
        loader.Multiboot = (MultibootInfo*)Platform.DirectMap.ToVirt(multibootInfo);
        ReportMultiboot(ref loader);

        if (loader.ReadMemoryMap(out MapError mapError) != Status.Ok)
        {
            w.Str("memory map: ");
            mapError.Write(ref w);
            w.Line();
            KernelPanic.Fail("kmain: the loader's memory map could not be read");
        }
        if (loader.Map.Count == 0) KernelPanic.Fail("kmain: the loader reported no memory map");
        PrintMemoryMap(in loader.Map);

        Platform.BeforePhysicalBoot(ref loader);
        PhysicalBoot.Run(ref loader);
        Platform.AfterPhysicalBoot(ref loader);
    }

    /// <summary>The rest of kmain, on the kernel's own tables and stack (arch_run_on_stack calls
    /// it there): the other CPUs, the SHARPMM-JSON line (with how many CPUs are online), the
    /// deliberate failures, the test suite, the exit. Never returns.</summary>
    [RuntimeExport("kmain_stage2")]
    private static void Stage2()
    {
        ref LoaderInfo loader = ref s_loader;
        TextWriter<SerialSink> w = Log.Writer();
        int cpus = Platform.StartCpus(ref loader);
        PhysicalBoot.WriteJson(cpus);
        if (loader.CommandLine.Has("test=nullderef")) DeliberateFaults.NullDereference();
        Platform.DeliberateFailures(ref loader);
        if (loader.CommandLine.Has("test=panic")) SharpMM.Panic.Fail("test=panic: deliberate library panic", 42);
        if (loader.CommandLine.Has("run=1")) Platform.RunProgram(ref loader);

        ulong testsStart = Arch.Rdtsc();
        TestRunner runner = default;
        KernelTests.RunAll(ref runner);
        ulong testsEnd = Arch.Rdtsc();
        w.Str("tests: ");
        w.Dec(testsEnd - testsStart);
        w.Line(" cycles");
        w.Str("total: ");
        w.Dec(testsEnd - loader.BootTsc);
        w.Line(" cycles from boot stub entry to exit");
        if (PhysicalBoot.Heap.Pages.IsDebug)
        {
            HeapReport.WriteLeaks(ref w, in PhysicalBoot.Heap.Pages);
            HeapReport.WriteEvents(ref w, in PhysicalBoot.Heap.Pages);
        }
        w.Line();
        LockReport locks = KernelLocks.Collect();
        locks.WriteText(ref w);
        runner.PrintSummary();
        QemuExit.Exit(runner.Failed == 0 ? ExitCode.Success : ExitCode.TestsFailed);
    }

    private static void ReportMultiboot(ref LoaderInfo loader)
    {
        MultibootInfo* mb = loader.Multiboot;
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("multiboot: info=");
        w.Hex(Platform.DirectMap.ToPhys(mb), 8);
        w.Str(" flags=");
        w.Hex(mb->Flags, 8);
        if ((mb->Flags & MultibootInfo.FlagMemory) != 0)
        {
            w.Str(" mem_lower=");
            w.Dec(mb->MemLowerKiB);
            w.Str(" KiB mem_upper=");
            w.Dec(mb->MemUpperKiB);
            w.Str(" KiB");
        }
        if ((mb->Flags & MultibootInfo.FlagMemoryMap) != 0)
        {
            w.Str(" mmap=");
            w.Hex(mb->MmapAddr, 8);
            w.Char('+');
            w.Dec(mb->MmapLength);
        }
        w.Str(" mods=");
        w.Dec((mb->Flags & MultibootInfo.FlagModules) != 0 ? mb->ModuleCount : 0);
        if ((mb->Flags & MultibootInfo.FlagBootLoaderName) != 0 && mb->BootLoaderName != 0)
        {
            byte* name = Platform.DirectMap.ToVirt(mb->BootLoaderName);
            int length = 0;
            while (length < 64 && name[length] != 0) length++;
            w.Str(" loader=");
            w.Bytes(name, length);
        }
        w.Line();
        if ((mb->Flags & MultibootInfo.FlagModules) != 0)
        {
            MultibootModule* mods = (MultibootModule*)Platform.DirectMap.ToVirt(mb->ModulesAddr);
            for (uint i = 0; i < mb->ModuleCount; i++)
            {
                w.Str("multiboot: module ");
                w.Dec(i);
                w.Str(" [");
                w.Hex(mods[i].Start, 16);
                w.Char('-');
                w.Hex(mods[i].End - 1, 16);
                w.Line("]");
            }
        }
        loader.CommandLine = new CommandLine((mb->Flags & MultibootInfo.FlagCommandLine) != 0 ? Platform.DirectMap.ToVirt(mb->CommandLine) : null);
        w.Str("command line");
        if (loader.CommandLine.Text != null)
        {
            w.Str(" at ");
            w.Hex(Platform.DirectMap.ToPhys(loader.CommandLine.Text), 8);
        }
        w.Str(": ");
        w.Bytes(loader.CommandLine.Text, loader.CommandLine.Length);
        w.Line();
    }

    /// <summary>One line per entry, Linux boot-log form, end inclusive, exactly as `sharpmm
    /// boot --map` reads it back: "BIOS-e820: [mem 0x0000000000100000-0x0000000007fdffff] usable".</summary>
    private static void PrintMemoryMap(in MemoryMap map)
    {
        TextWriter<SerialSink> w = Log.Writer();
        BootLogWriter.Write(ref w, in map);
    }
}
