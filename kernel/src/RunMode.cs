using SharpMM.Addressing;
using SharpMM.Diagnostics;
using SharpMM.User;
using SharpMM.User.Exec;

namespace SharpMM.Kernel;

/// <summary>
/// `run=1` on the command line: instead of the test suite, the kernel runs one program and
/// reports on it (what `sharpmm qemu --run` boots). The loader hands over Multiboot modules:
/// <code>
///   module 0   the run manifest, NUL-separated fields:
///                "sharpmm-run" argc argv[0] ... argv[argc-1] filecount path[0] ... path[n-1]
///              (the counts in decimal; every string verbatim: spaces and quotes included)
///   module 1   the program: a static executable, ELF64 x86-64 on the x86-64 kernel, ELF32
///              i386 on the i386 kernel (ET_EXEC, or ET_DYN loaded at ProgramLoader.DefaultPieBase
///              or DefaultPieBase32)
///   module 2+  the files, in the manifest's order, readable at their paths (RunFiles)
/// </code>
/// The program's standard output and error go to COM2 and COM3 (UserOutput), the kernel log
/// stays on COM1. When every process is gone the kernel prints one line
/// <code>
///   SHARPMM-RUN {"exit_status":N,"wait_status":N,"elapsed_ms":N,"elapsed_ns":N,"pid":1,"processes":N,
///                "faults":{"demand-zero":N,...},"pages_in":N,"pages_out":N,"peak_rss_kib":N,
///                "memory_syscalls":{"brk":N,"mmap":N,"munmap":N,"mprotect":N,"mremap":N,"madvise":N},
///                "frames_back":true}
/// </code>
/// (exit_status as a shell reports it: the exit code, or 128 + the signal that killed the
/// first process; elapsed from the first instruction of the program to its exit, by the TSC)
/// and exits QEMU with status 33; a run that could not start prints `run: ...` and panics.
/// </summary>
internal static unsafe class RunMode
{
    private const int MaxArgs = 4096;

    private static int s_firstPid;
    private static int s_firstStatus;
    private static ulong s_execTsc, s_exitTsc;

    public static void Run(ref LoaderInfo loader)
    {
        TextWriter<SerialSink> w = Log.Writer();
        UserOutput.Init();
        Tsc.Calibrate();
        w.Str("run: TSC ");
        w.Dec(Tsc.Hz / 1000);
        w.Line(" kHz (PIT-calibrated)");
        MultibootInfo* mb = loader.Multiboot;
        if ((mb->Flags & MultibootInfo.FlagModules) == 0 || mb->ModuleCount < 2) KernelPanic.Fail("run: needs the manifest and the program as Multiboot modules, found", mb->ModuleCount);
        MultibootModule* mods = (MultibootModule*)Platform.DirectMap.ToVirt(mb->ModulesAddr);

        // The manifest.
        byte* manifest = Platform.DirectMap.ToVirt(mods[0].Start);
        ulong manifestEnd = mods[0].End - mods[0].Start;
        ulong at = 0;
        if (!Field(manifest, manifestEnd, ref at, out byte* magic, out int magicLength) || !Is(magic, magicLength, "sharpmm-run"))
            KernelPanic.Fail("run: module 0 is not a run manifest");
        long argc = Number(manifest, manifestEnd, ref at);
        if (argc < 1 || argc > MaxArgs) KernelPanic.Fail("run: argument count out of range", (ulong)argc);
        ulong argvStart = at;
        for (long i = 0; i < argc; i++)
            if (!Field(manifest, manifestEnd, ref at, out _, out _)) KernelPanic.Fail("run: manifest ends inside argv", (ulong)i);
        var argv = new StringList(manifest + argvStart, at - argvStart, (int)argc);
        long fileCount = Number(manifest, manifestEnd, ref at);
        if (RunFiles.Init() != Status.Ok) KernelPanic.Fail("run: no memory for the file table");
        if (fileCount < 0 || fileCount != mb->ModuleCount - 2) KernelPanic.Fail("run: the manifest's file count differs from the modules", (ulong)fileCount);
        for (long i = 0; i < fileCount; i++)
        {
            if (!Field(manifest, manifestEnd, ref at, out byte* path, out int pathLength)) KernelPanic.Fail("run: manifest ends inside the file list", (ulong)i);
            MultibootModule mod = mods[2 + i];
            if (!RunFiles.Add(path, pathLength, Platform.DirectMap.ToVirt(mod.Start), mod.End - mod.Start)) KernelPanic.Fail("run: too many files", (ulong)fileCount);
            w.Str("run: file ");
            w.Bytes(path, pathLength);
            w.Str(", ");
            w.Dec(mod.End - mod.Start);
            w.Line(" bytes");
        }

        // The backing store: the swap device when QEMU has one (qemu.sh --run adds it), else none
        // (a program that needs more than the guest's RAM is then killed at the fault).
        byte* swap = null;
        ulong swapBytes = 0;
        Status sw = SwapDevice.Map(out swap, out swapBytes);
        uint slots = sw == Status.Ok ? (uint)(swapBytes >> PageSize.Shift) : 0;
        w.Str("run: backing store: ");
        if (sw == Status.Ok)
        {
            w.Dec(swapBytes >> 20);
            w.Line(" MiB on the swap device (ivshmem)");
        }
        else w.Line("none (no swap device)");

        ulong free0 = PhysicalBoot.Memory.Buddy.FreeFrames;
        if (LiveUserMemory.Create(slots, swap, out LiveUserMemory* m) != Status.Ok) KernelPanic.Fail("run: no memory for the user memory manager");
        // User pages may take the RAM but a reserve, so the kernel's own allocations (page
        // tables, process areas, kernel stacks) still find frames: past it the clock pages out.
        ulong reserve = PhysicalBoot.Memory.Buddy.FreeFrames / 16 + 512;
        if (slots != 0 && PhysicalBoot.Memory.Buddy.FreeFrames > reserve) m->Memory.ResidentLimit = PhysicalBoot.Memory.Buddy.FreeFrames - reserve;
        if (Processes.Init(m) != Status.Ok) KernelPanic.Fail("run: no memory for the process table");
        UserMode.Init(true);
        w.Str("run: ring 3 ready: ");
        w.Str(UserMode.EntryName);
        w.Str(", SMEP ");
        w.Str(UserMode.Smep ? "on" : "off (not in this CPU)");
        w.Str(", SMAP ");
        w.Line(UserMode.Smap ? "on" : "off (not in this CPU)");
        Syscalls.ResetCounts(Arch.Rdtsc() ^ 0x5348415250UL);
        Processes.OnExit = &RecordExit;

        // The first process: the program's image, its stack with argv and the auxiliary vector.
        if (Processes.Create(0, out Process* p) != Status.Ok) KernelPanic.Fail("run: no memory for the first process");
        ref var mem = ref Processes.Memory;
        if (mem.CreateSpace(&p->Space, m->Layout, KernelAddressSpace.Mapper.RootPhys) != Status.Ok) KernelPanic.Fail("run: no memory for the first address space");
        byte* program = Platform.DirectMap.ToVirt(mods[1].Start);
        ulong programBytes = mods[1].End - mods[1].Start;
        Status s = ElfImage.Parse(program, programBytes, out ElfImage image);
        if (s != Status.Ok || image.Is64 != UserMode.Elf64)
        {
            w.Str(UserMode.Elf64 ? "run: the program is not a loadable static ELF64 x86-64 executable: "
                                 : "run: the program is not a loadable static ELF32 i386 executable: ");
            w.Line(s != Status.Ok ? ElfImage.Reason(image.Problem) : image.Is64 ? "ELF64 (this kernel runs ELF32 i386 programs)" : "ELF32 (this kernel runs ELF64 x86-64 programs)");
            KernelPanic.Fail("run: exec failed");
        }
        ulong pieBase = image.Is64 ? ProgramLoader.DefaultPieBase : ProgramLoader.DefaultPieBase32;
        s = ProgramLoader.Load(ref mem, &p->Space, in image, pieBase, ref KernelAddressSpace.Hooks, out LoadedProgram loaded);
        if (s != Status.Ok) KernelPanic.Fail("run: loading the program failed, status", (ulong)s);
        byte* random = stackalloc byte[16];
        *(ulong*)random = Syscalls.NextRandom();
        *(ulong*)(random + 8) = Syscalls.NextRandom();
        var args = new ExecArguments { Argv = argv, Envp = new StringList(manifest, 0, 0), Random = random };
        s = InitialStack.Build(ref mem, &p->Space, in loaded, in args, ref KernelAddressSpace.Hooks, out ulong rsp);
        if (s != Status.Ok) KernelPanic.Fail("run: building the initial stack failed, status", (ulong)s);
        p->Fds[0] = Process.FdConsoleIn;
        p->Fds[1] = Process.FdConsoleOut;
        p->Fds[2] = Process.FdConsoleErr;
        s_firstPid = p->Pid;
        s_firstStatus = -1;
        Processes.Start(p, loaded.Entry, rsp);
        w.Str("run: pid 1 starts at ");
        w.Hex(loaded.Entry, 16);
        w.Str(", stack ");
        w.Hex(rsp, 16);
        w.Str(", brk ");
        w.Hex(loaded.BrkStart, 16);
        w.Line();

        s_execTsc = Arch.Rdtsc();
        Processes.RunAll();

        UserMode.DisableProtection();
        Processes.OnExit = null;
        Report(ref m->Memory, free0, m);
        QemuExit.Exit(ExitCode.Success);
    }

    private static void RecordExit(Process* p)
    {
        if (p->Pid != s_firstPid) return;
        s_exitTsc = Arch.Rdtsc();
        s_firstStatus = p->WaitStatus;
    }

    private static void Report(ref UserMemory<KernelPagingFormat, KernelFrames, RamDiskStore> mem, ulong free0, LiveUserMemory* m)
    {
        UserCounters c = mem.Counters;
        ulong peak = Processes.PeakUserFrames;
        int created = Processes.Created;
        Processes.Shutdown();
        m->Destroy();
        bool framesBack = PhysicalBoot.Memory.Buddy.FreeFrames == free0;
        int ws = s_firstStatus;
        ulong exitStatus = (ws & 0x7F) != 0 ? 128 + (ulong)(ws & 0x7F) : (ulong)((ws >> 8) & 0xFF);
        ulong ns = Tsc.Nanoseconds(s_exitTsc - s_execTsc);

        TextWriter<SerialSink> w = Log.Writer();
        var j = new JsonWriter<SerialSink>();
        w.Str("SHARPMM-RUN ");
        j.BeginObject(ref w);
        j.Number(ref w, "exit_status", exitStatus);
        j.Number(ref w, "wait_status", (ulong)(uint)ws);
        j.Number(ref w, "elapsed_ms", ns / 1_000_000);
        j.Number(ref w, "elapsed_ns", ns);
        j.Number(ref w, "pid", (ulong)s_firstPid);
        j.Number(ref w, "processes", (ulong)created);
        j.BeginObject(ref w, "faults");
        for (int k = 0; k < (int)FaultKind.Count; k++) j.Number(ref w, FaultKindNames.Name((FaultKind)k), c.Faults[k]);
        j.EndObject(ref w);
        j.Number(ref w, "pages_in", c.PagesIn);
        j.Number(ref w, "pages_out", c.PagesOut);
        j.Number(ref w, "peak_rss_kib", peak * 4);
        j.BeginObject(ref w, "memory_syscalls");
        j.Number(ref w, "brk", Syscalls.Count(Syscalls.Brk));
        j.Number(ref w, "mmap", Syscalls.Count(Syscalls.Mmap));
        j.Number(ref w, "munmap", Syscalls.Count(Syscalls.Munmap));
        j.Number(ref w, "mprotect", Syscalls.Count(Syscalls.Mprotect));
        j.Number(ref w, "mremap", Syscalls.Count(Syscalls.Mremap));
        j.Number(ref w, "madvise", Syscalls.Count(Syscalls.Madvise));
        j.EndObject(ref w);
        j.Bool(ref w, "frames_back", framesBack);
        j.EndObject(ref w);
        w.Line();
        if (!framesBack)
        {
            w.Str("run: ");
            w.Dec(free0 - PhysicalBoot.Memory.Buddy.FreeFrames);
            w.Line(" frames not given back after every process exited");
        }
    }

    // The next NUL-terminated field at `at`; false when none is left.
    private static bool Field(byte* m, ulong end, ref ulong at, out byte* field, out int length)
    {
        field = m + at;
        length = 0;
        if (at >= end) return false;
        ulong i = at;
        while (i < end && m[i] != 0) i++;
        if (i >= end) return false;
        length = (int)(i - at);
        at = i + 1;
        return true;
    }

    private static long Number(byte* m, ulong end, ref ulong at)
    {
        if (!Field(m, end, ref at, out byte* f, out int n) || n == 0 || n > 9) return -1;
        long v = 0;
        for (int i = 0; i < n; i++)
        {
            if (f[i] < '0' || f[i] > '9') return -1;
            v = v * 10 + (f[i] - '0');
        }
        return v;
    }

    private static bool Is(byte* s, int n, string expected)
    {
        if (n != expected.Length) return false;
        for (int i = 0; i < n; i++) if (s[i] != (byte)expected[i]) return false;
        return true;
    }
}
