using System.Runtime;
using System.Runtime.CompilerServices;
using SharpMM.Boot;
using SharpMM.Diagnostics;
using SharpMM.Heap;

namespace SharpMM.Kernel;

/// <summary>
/// kmain: entered from boot.S in long mode on the boot stack, interrupts off, identity map of
/// [0, 4 GiB) with page 0 unmapped. Brings up serial output, the panic paths, the IDT
/// and the map of RAM above 4 GiB, prints what the loader reported, boots the library's physical
/// memory manager over all RAM (PhysicalBoot: report and SHARPMM-JSON line), builds the kernel's
/// own page tables with the library and loads them into CR3 (KernelAddressSpace: ptdump and a
/// summary line), then moves to the kernel stack (KernelStack) and continues in
/// <see cref="Stage2"/>: runs the in-kernel tests and exits QEMU (status 33 when every test passed).
///
/// Command line switches (QEMU -append), each replacing the test suite with a deliberate failure
/// that test.sh checks (all run on the kernel's own tables and stack):
///   test=nullderef       read address 0: page-fault report with CR2=0x0000000000000000, status 7
///   test=stackoverflow   recurse until the kernel stack's guard page: #DF report on the IST stack, status 7
///   test=guardpage       write to the kernel stack's guard page: #PF [not-present write], status 7
///   test=writetext       write to kernel text: #PF [protection write], status 7
///   test=execdata        call a ret placed in .bss: #PF [protection fetch], status 7
///   test=panic           SharpMM.Panic.Fail through the library hook: "panic: ... (0x2a)", status 3
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
        Idt.Install();

        ref LoaderInfo loader = ref s_loader;
        loader.BootTsc = Arch.BootTsc();
        loader.KmainTsc = kmainTsc;

        TextWriter<SerialSink> w = Log.Writer();
        w.Line("SharpMM kernel (x86-64, Multiboot 1)");
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
        loader.Multiboot = (MultibootInfo*)(ulong)multibootInfo;
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

        BootDirectMap.Extend(in loader.Map);
        w.Str("direct map: [0-4 GiB) plus ");
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

        PhysicalBoot.Run(ref loader);
        KernelAddressSpace.Build(ref loader);
        VmallocLargeMapper.Attach();
        Arch.RunOnStack(KernelStack.Top);
    }

    /// <summary>The rest of kmain, on the kernel stack (arch_run_on_stack calls it there): the
    /// deliberate failures, the test suite, the exit. Never returns.</summary>
    [RuntimeExport("kmain_stage2")]
    private static void Stage2()
    {
        ref LoaderInfo loader = ref s_loader;
        TextWriter<SerialSink> w = Log.Writer();
        if (loader.CommandLine.Has("test=nullderef")) NullDereference();
        if (loader.CommandLine.Has("test=stackoverflow")) StackOverflow();
        if (loader.CommandLine.Has("test=guardpage")) GuardPage();
        if (loader.CommandLine.Has("test=writetext")) WriteText();
        if (loader.CommandLine.Has("test=execdata")) ExecuteData();
        if (loader.CommandLine.Has("test=userfault")) UserTests.DeliberateNoRegionRead();
        if (loader.CommandLine.Has("test=panic")) SharpMM.Panic.Fail("test=panic: deliberate library panic", 42);

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
        runner.PrintSummary();
        QemuExit.Exit(runner.Failed == 0 ? ExitCode.Success : ExitCode.TestsFailed);
    }

    private static void ReportMultiboot(ref LoaderInfo loader)
    {
        MultibootInfo* mb = loader.Multiboot;
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("multiboot: info=");
        w.Hex((ulong)mb, 8);
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
            byte* name = (byte*)(ulong)mb->BootLoaderName;
            int length = 0;
            while (length < 64 && name[length] != 0) length++;
            w.Str(" loader=");
            w.Bytes(name, length);
        }
        w.Line();
        if ((mb->Flags & MultibootInfo.FlagModules) != 0)
        {
            MultibootModule* mods = (MultibootModule*)(ulong)mb->ModulesAddr;
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
        loader.CommandLine = new CommandLine((mb->Flags & MultibootInfo.FlagCommandLine) != 0 ? (byte*)(ulong)mb->CommandLine : null);
        w.Str("command line");
        if (loader.CommandLine.Text != null)
        {
            w.Str(" at ");
            w.Hex((ulong)loader.CommandLine.Text, 8);
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

    private static ulong s_nullAddress;

    /// <summary>test=nullderef: reads address 0. The page-fault handler reports and exits; getting
    /// past the read means page 0 is mapped, which is a failure of its own.</summary>
    private static void NullDereference()
    {
        Log.Line("test=nullderef: reading address 0, expecting a page fault with CR2=0x0000000000000000");
        ulong value = *Opaque((ulong*)s_nullAddress);
        KernelPanic.Fail("test=nullderef: reading address 0 did not fault, it read", value);
    }

    /// <summary>test=stackoverflow: recursion that runs into the guard page below the kernel stack.</summary>
    private static void StackOverflow()
    {
        Log.Line("test=stackoverflow: recursing into the kernel stack guard page, expecting a double fault");
        ulong sum = Recurse(0);
        KernelPanic.Fail("test=stackoverflow: recursion returned", sum);
    }

    /// <summary>test=guardpage: one write to the guard page below the kernel stack, from well
    /// above it: a plain #PF (the CPU can push its frame), not-present write.</summary>
    private static void GuardPage()
    {
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("test=guardpage: writing to the kernel stack guard page at ");
        w.Hex(KernelStack.Guard, 16);
        w.Line(", expecting a page fault [not-present write]");
        *Opaque((ulong*)(KernelStack.Guard + 0x800)) = 0x6A7D;
        KernelPanic.Fail("test=guardpage: writing the guard page did not fault");
    }

    /// <summary>test=writetext: a write to the first byte of this method's own code (kernel text,
    /// mapped read-only): #PF, protection write.</summary>
    private static void WriteText()
    {
        ulong target = (ulong)(delegate*<void>)&WriteText;
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("test=writetext: writing to kernel text at ");
        w.Hex(target, 16);
        w.Line(", expecting a page fault [protection write]");
        *(byte*)Opaque((ulong*)target) = 0xCC;
        KernelPanic.Fail("test=writetext: writing kernel text did not fault");
    }

    private static ulong s_execBuffer;

    /// <summary>test=execdata: calls a ret instruction stored in .bss (mapped no-execute): #PF,
    /// protection fetch, with RIP and CR2 at the buffer.</summary>
    private static void ExecuteData()
    {
        fixed (ulong* p = &s_execBuffer)
        {
            *(byte*)p = 0xC3;
            TextWriter<SerialSink> w = Log.Writer();
            w.Str("test=execdata: calling a ret in .bss at ");
            w.Hex((ulong)p, 16);
            w.Line(", expecting a page fault [protection fetch]");
            ((delegate* unmanaged<void>)Opaque(p))();
        }
        KernelPanic.Fail("test=execdata: executing .bss did not fault");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong Recurse(ulong depth)
    {
        byte* frame = stackalloc byte[256];
        frame[depth & 255] = (byte)depth;
        // Not a tail call: the addition needs this frame after the recursive call returns.
        return Recurse(depth + 1) + frame[(depth * 7) & 255];
    }

    /// <summary>Hides the pointer's value from the optimiser so the load is really emitted.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong* Opaque(ulong* p) => p;
}
