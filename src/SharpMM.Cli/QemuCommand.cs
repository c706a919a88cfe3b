using System;
using System.CommandLine;
using System.Diagnostics;
using System.IO;

namespace SharpMM.Cli;

/// <summary>`sharpmm qemu`: build the kernel if needed and boot it (kernel/qemu.sh does the work): the
/// in-kernel test suite, or with `--run PROGRAM [ARG...]` one user program in ring 3.</summary>
internal static class QemuCommand
{
    /// <summary>The least RAM the kernel boots in: below 4 MiB its heap cannot start (2 MiB: "kernel
    /// heap init failed"; 3 MiB: a page fault while building its tables).</summary>
    public const ulong MinimumMemory = 4UL << 20;

    /// <summary>QEMU's 64-bit guests on pc and q35 take up to 1 TiB without extra options.</summary>
    public const ulong MaximumMemory = 1UL << 40;

    /// <summary>Without PAE the i386 kernel's tables reach 32-bit physical addresses: QEMU puts RAM
    /// beyond 3 GiB (pc) or 2 GiB (q35) above 4 GiB, which the kernel then ignores and says so on
    /// serial (as Linux without PAE does); a guest larger than this gets a note.</summary>
    public const ulong LegacyReachI386 = 3UL << 30;

    /// <summary>The i386 kernel's largest guest: with `pae` on its command line it maps 36-bit
    /// physical addresses (kmap reaches frames below 64 GiB); without, it boots and ignores the
    /// RAM above 4 GiB.</summary>
    public const ulong MaximumMemoryI386 = 64UL << 30;

    /// <summary>The most CPUs the kernel runs (its per-CPU areas, the library's Cpu.MaxCpus).</summary>
    public const ulong MaximumCpus = 16;

    /// <summary>True when the kernel command line has the word `pae` (as the boot stub reads it).</summary>
    public static bool HasPaeWord(string? commandLine) =>
        commandLine != null && Array.IndexOf(commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries), "pae") >= 0;

    public static Command Create()
    {
        var mem = CliOptions.Size("--mem", $"Guest RAM in whole MiB (default 512M; at least {CliValues.FormatSize(MinimumMemory)}, what the kernel needs to boot).", 1, MaximumMemory);
        var arch = CliOptions.Choice("--arch", "Kernel architecture: x86_64 (qemu-system-x86_64) or i386 (qemu-system-i386, the classic higher-half kernel; --append pae for PAE paging).", "x86_64", "x86_64", "i386");
        var machine = CliOptions.Choice("--machine", "QEMU machine.", "pc", "pc", "q35");
        var cpu = new Option<string>("--cpu") { Description = "QEMU CPU model (default QEMU's qemu64, which has no 1 GiB pages; \"qemu64,+pdpe1gb\" adds them).", HelpName = "MODEL" };
        var smp = CliOptions.Integer("--smp", $"Guest CPUs (default 1, at most {MaximumCpus}). The kernel starts every one (ACPI MADT, INIT-SIPI-SIPI; the i386 kernel at most 15) and runs its SMP tests on them; the SHARPMM-JSON line's \"cpus\" says how many came online.", 1, MaximumCpus, 1);
        var append = new Option<string>("--append") { Description = "Kernel command line, e.g. test=nullderef.", HelpName = "CMDLINE" };
        var log = new Option<FileInfo>("--log") { Description = "Also write the serial output to FILE (check it with `sharpmm check-kernel-log FILE`).", HelpName = "FILE" };
        var timeout = CliOptions.Integer("--timeout", $"Stop QEMU after this many seconds (default 60, with --run {RunTimeoutSeconds}).", 1, 86_400, 60);
        var noBuild = new Option<bool>("--no-build") { Description = "Boot the kernel in kernel/build/ARCH/ as it is, without rebuilding it when a source is newer." };
        var file = new Option<string[]>("--file")
        {
            Description = "With --run: a host file the program can open read-only at GUEST (default \"/\" and the file's name). Repeatable.",
            HelpName = "HOST[:GUEST]",
            AllowMultipleArgumentsPerToken = false,
        };
        var run = new Option<string>("--run")
        {
            Description = "Run PROGRAM (a static Linux executable: x86-64, e.g. built with musl-gcc -static; with --arch i386 an i386 one, " +
                "e.g. gcc -m32 -static) in ring 3 on the kernel instead of " +
                "the test suite. Must come last: everything after PROGRAM is its argv, verbatim. The program's stdout and stderr are this " +
                "command's; the kernel log goes to --log FILE or a temporary file named on stderr at the end. Exits with the program's " +
                "status (128 + signal when it was killed), 125 when the kernel did not finish the run.",
            HelpName = "PROGRAM [ARG...]",
        };
        var c = new Command("qemu",
            "Build the bare-metal kernel if needed (kernel/build.sh), boot it under QEMU (TCG), stream its serial output and exit " +
            "with its verdict: 0 when the in-kernel tests passed, 1 when they failed, the kernel panicked or faulted, QEMU timed out " +
            "or the build failed (the reason on stderr).");
        c.Options.Add(arch);
        c.Options.Add(mem);
        c.Options.Add(machine);
        c.Options.Add(cpu);
        c.Options.Add(smp);
        c.Options.Add(append);
        c.Options.Add(log);
        c.Options.Add(timeout);
        c.Options.Add(noBuild);
        c.Options.Add(file);
        c.Options.Add(run);
        c.SetAction(r =>
        {
            ulong bytes = r.GetValue(mem) ?? 512UL << 20;
            if (bytes < MinimumMemory)
                throw new UsageException($"--mem: the kernel needs at least {CliValues.FormatSize(MinimumMemory)} of RAM, not {CliValues.FormatSize(bytes)}");
            string archName = r.GetValue(arch)!;
            bool pae = HasPaeWord(r.GetValue(append));
            if (archName == "i386" && bytes > MaximumMemoryI386)
                throw new UsageException($"--mem: the i386 kernel takes at most {CliValues.FormatSize(MaximumMemoryI386)}, not {CliValues.FormatSize(bytes)}");
            if (archName == "i386" && !pae && bytes > LegacyReachI386)
                Console.Error.WriteLine($"sharpmm qemu: note: without `pae` the i386 kernel ignores the RAM QEMU puts above 4 GiB (it says how much on serial); --append pae manages all {CliValues.FormatSize(bytes)}");
            if (bytes % (1UL << 20) != 0) throw new UsageException($"--mem: give whole MiB (QEMU's -m unit), not {CliValues.FormatSize(bytes)}");
            string script = Path.Combine(RepoRoot(), "kernel", "qemu.sh");
            if (!File.Exists(script)) throw new CommandFailedException($"{script} not found");
            var psi = new ProcessStartInfo("bash") { UseShellExecute = false };
            psi.ArgumentList.Add(script);
            Add(psi, "--arch", archName);
            Add(psi, "--mem", $"{bytes >> 20}M");
            Add(psi, "--machine", r.GetValue(machine));
            Add(psi, "--cpu", r.GetValue(cpu));
            if (r.GetValue(smp) != 1) Add(psi, "--smp", r.GetValue(smp).ToString(System.Globalization.CultureInfo.InvariantCulture));
            Add(psi, "--append", r.GetValue(append));
            Add(psi, "--log", r.GetValue(log)?.ToString());
            ulong seconds = r.GetResult(timeout) is { Implicit: false } || r.GetValue(run) == null ? r.GetValue(timeout) : RunTimeoutSeconds;
            Add(psi, "--timeout", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (r.GetValue(noBuild)) psi.ArgumentList.Add("--no-build");
            string? program = r.GetValue(run);
            string[] files = r.GetValue(file) ?? Array.Empty<string>();
            if (program == null && files.Length != 0) throw new UsageException("--file: only with --run PROGRAM");
            if (program != null)
            {
                if (archName == "i386" && (r.GetValue(append) ?? "").Contains("layout=phantom", StringComparison.Ordinal))
                    throw new UsageException("--run: layout=phantom has no user address spaces (the i386 kernel runs programs on the higher half and low-2g)");
                if (!File.Exists(program)) throw new FileNotFoundException($"--run: {program}: no such file");
                foreach (string f in files)
                {
                    string host = f.Split(':', 2)[0];
                    if (!File.Exists(host)) throw new FileNotFoundException($"--file: {host}: no such file");
                }
                foreach (string f in files)
                {
                    psi.ArgumentList.Add("--file");
                    psi.ArgumentList.Add(f);
                }
                psi.ArgumentList.Add("--run");
                psi.ArgumentList.Add(program);
                foreach (string a in RunArguments) psi.ArgumentList.Add(a);
                using var runner = Process.Start(psi) ?? throw new CommandFailedException("could not start bash");
                runner.WaitForExit();
                // The program's own exit status (qemu.sh read it from the kernel's SHARPMM-RUN line).
                return runner.ExitCode;
            }
            using var p = Process.Start(psi) ?? throw new CommandFailedException("could not start bash");
            p.WaitForExit();
            // qemu.sh exits 0 when the kernel's tests passed; every other status is a failure
            // it has already explained on stderr (3 panic, 5 tests failed, 7 CPU exception, 9 boot
            // failure, 124 timeout, 1 build error or triple fault).
            if (p.ExitCode == 0) return ExitCode.Done;
            Console.Error.WriteLine($"sharpmm: the kernel run failed: {Verdict(p.ExitCode)}");
            return ExitCode.Failed;
        });
        return c;
    }

    /// <summary>A program runs until it exits: the timeout only stops one that never does.</summary>
    public const ulong RunTimeoutSeconds = 3600;

    /// <summary>The program's arguments after `--run PROGRAM`, split off before parsing (so that
    /// an argument that looks like an option reaches the program verbatim).</summary>
    internal static string[] RunArguments = Array.Empty<string>();

    /// <summary>Splits `qemu ... --run PROGRAM ARG...` into what the parser sees (up to PROGRAM)
    /// and the program's arguments (<see cref="RunArguments"/>).</summary>
    internal static string[] SplitRunArguments(string[] args)
    {
        if (args.Length == 0 || args[0] != "qemu") return args;
        int k = Array.IndexOf(args, "--run");
        if (k < 0 || k + 2 > args.Length) return args;
        RunArguments = args[(k + 2)..];
        return args[..(k + 2)];
    }

    private static string Verdict(int status) => status switch
    {
        3 => "kernel panic (status 3)",
        5 => "in-kernel tests failed (status 5)",
        7 => "CPU exception (status 7)",
        9 => "boot failure (status 9)",
        124 => "timed out (status 124)",
        _ => $"kernel/qemu.sh exited with status {status}",
    };

    private static void Add(ProcessStartInfo psi, string option, string? value)
    {
        if (value == null) return;
        psi.ArgumentList.Add(option);
        psi.ArgumentList.Add(value);
    }

    internal static string RepoRoot()
    {
        string? env = Environment.GetEnvironmentVariable("SHARPMM_ROOT");
        if (!string.IsNullOrEmpty(env)) return env;
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "SharpMM.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new CommandFailedException("cannot find the repository root (SharpMM.slnx)");
    }
}
