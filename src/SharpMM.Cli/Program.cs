using System;
using System.IO;
using SharpMM.Hosted;

namespace SharpMM.Cli;

/// <summary>The `sharpmm` command.</summary>
internal static class Program
{
    private const string Usage = """
        usage: sharpmm <command> [options]

        commands:
          boot [--mem SIZE [--machine pc|q35] | --map FILE] [--layout NAME] [--json]
              Boot a simulated machine and show what the memory manager did: the sanitized map,
              memblock reservations, zones, buddyinfo and meminfo. Without --mem or --map: the
              map QEMU gives a 128 MiB pc guest. --map reads Linux boot-log text (dmesg
              BIOS-e820 lines), raw E820 entries, or a Multiboot 1/2 memory map.
              --layout i386-higher-half|i386-low-2g|phantom-ia32|x86_64 first runs the boot
              sequence of that kernel layout (temporary tables, final tables, CR3 switch) on the
              MMU model and prints each step; --layout i386|lowhigh only picks 32-bit zones.
          pagetable [--layout NAME] [--mem SIZE | --map FILE]
              The layout's final page tables after boot, as merged runs with page sizes and flags.
          translate --layout NAME ADDR
              The walk of virtual address ADDR (hex) level by level, and the MMU model's answer.
          bench W0|W1|W2|W2o9 [--scale S] [--pcp on|off] [--reps N] [--json]
              Page-allocator workloads (docs/benchmarks.md), same definitions as the C peers.
          qemu [--mem SIZE] [--machine pc|q35] [--append CMDLINE]
              Build the bare-metal kernel if needed, boot it under QEMU, stream its serial
              output and exit with its verdict.
          workload fork-server|recursion|memory-hog|object-space [--layout x86_64|i386-higher-half] [--mem SIZE]
                   [--store FILE] [--seed N] [--scale S] [--json]
              Run user processes on the MMU model (default 64 MiB, x86_64): faults by kind with the
              handler's cost, pages out to the store file and back, resident set over time.
          check-kernel-log LOG
              Boot the map a kernel serial log shows, hosted, and check that present frames
              and zones equal what the kernel reported on its SHARPMM-JSON line.
        """;

    private static int Main(string[] args)
    {
        HostedPanic.Install();
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Out.Write(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            var rest = args[1..];
            return args[0] switch
            {
                "boot" => BootCommand.Run(rest),
                "bench" => BenchCommand.Run(rest),
                "qemu" => QemuCommand.Run(rest),
                "check-kernel-log" => CheckKernelLogCommand.Run(rest),
                "pagetable" => PagingCommands.PageTable(rest),
                "translate" => PagingCommands.Translate(rest),
                "workload" => WorkloadCommand.Run(rest),
                _ => Fail($"unknown command '{args[0]}' (try: sharpmm help)"),
            };
        }
        catch (UsageException e)
        {
            return Fail(e.Message);
        }
        catch (IOException e)
        {
            return Fail(e.Message);
        }
        catch (UnauthorizedAccessException e)
        {
            return Fail(e.Message);
        }
        catch (InvalidOperationException e)
        {
            // A library step refused (e.g. a layout's boot sequence on a map it cannot serve).
            Console.Error.WriteLine($"sharpmm: {e.Message}");
            return 1;
        }
    }

    internal static int Fail(string message)
    {
        Console.Error.WriteLine($"sharpmm: {message}");
        return 2;
    }
}

/// <summary>Bad command-line input: printed as one line, exit status 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
