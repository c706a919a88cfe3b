using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using SharpMM.Boot;
using SharpMM.Cli.Report;
using SharpMM.Heap;
using SharpMM.Hosted;
using SharpMM.Hosted.User;
using SharpMM.Virtual;

namespace SharpMM.Cli;

/// <summary>
/// `sharpmm report`: boot a simulated machine (and optionally a layout, and run a workload) and
/// write what the memory manager did as one self-contained HTML file: the physical map to scale,
/// buddyinfo with fragmentation indices, kmalloc size classes, the layout's address space, the
/// workload's resident set and faults. The figures are the --json documents' (docs/cli.md).
/// </summary>
internal static unsafe class ReportCommand
{
    private static readonly string[] WorkloadLayouts = { "x86_64", "i386-higher-half" };

    public static Command Create()
    {
        var map = new MapSource();
        var layout = CliOptions.Choice("--layout",
            "Also boot this kernel layout (page tables, CR3 switch on the MMU model) and draw its virtual address space and page tables; " +
            "the boot sections then show that boot.", null, LayoutOptions.AddressSpaces);
        var workload = CliOptions.Choice("--workload",
            "Also run this user workload (as `sharpmm workload NAME` with its defaults, on --layout when that is x86_64 or i386-higher-half, " +
            "else x86_64; with --mem's RAM when given, else 64 MiB) and draw its resident set and faults.", null, UserWorkloads.Names);
        var trace = new Option<FileInfo>("--trace") { Description = "Also replay this trace (`sharpmm trace`) and draw it over time: free pages by order and the largest free order (buddy), kmalloc footprint against live bytes.", HelpName = "FILE" };
        var output = new Option<FileInfo>("-o", "--output") { Description = "The HTML file to write.", HelpName = "FILE.html", Required = true };
        var c = new Command("report",
            "Write an HTML report (one self-contained file: inline SVG and CSS, no scripts or network) of a boot: the physical memory map " +
            "to scale (linear and log), free blocks by order with Linux's fragmentation indices, kmalloc size classes; with --layout the " +
            "address space and page tables; with --workload the run's resident set and faults; with --trace the replay of a trace over time.");
        map.AddTo(c);
        c.Options.Add(layout);
        c.Options.Add(workload);
        c.Options.Add(trace);
        c.Options.Add(output);
        c.SetAction(r =>
        {
            string path = r.GetValue(output)!.ToString();
            ReportOption.CheckTarget(path, "-o");
            MemoryMap raw = map.Load(r, out string source);
            string? layoutName = r.GetValue(layout);
            string? workloadName = r.GetValue(workload);
            ulong? mem = r.GetValue(map.Mem);
            if (workloadName != null && mem is { } m && (m < 16UL << 20 || m > 8UL << 30))
                throw new UsageException("--mem: a report with --workload needs 16M to 8G");
            LayoutId id = LayoutOptions.Id(layoutName != null && WorkloadLayouts.Contains(layoutName) ? layoutName : "x86_64");
            if (workloadName != null && id == LayoutId.I386HigherHalf && mem > 3UL << 30) throw new UsageException("--mem: at most 3G for a workload on i386-higher-half");

            JsonObject bootDoc;
            JsonObject? tablesDoc = null;
            int exit = ExitCode.Done;
            if (layoutName != null)
            {
                using LayoutBoot boot = LayoutOptions.Boot(LayoutOptions.Id(layoutName), raw, source);
                using var heap = new MachineHeap(boot.Machine);
                bootDoc = BootCommand.LayoutDocument(boot, heap, source);
                tablesDoc = PagingCommands.PageTableDocument(boot, source);
                if (boot.FailedChecks != 0) exit = ExitCode.Failed;
            }
            else
            {
                using var machine = BootCommand.PhysicalBoot(ref raw, source, null, out BootInfo info);
                using var heap = new MachineHeap(machine);
                bootDoc = BootCommand.PhysicalDocument(machine, heap, info, source);
            }

            JsonObject? workloadDoc = null;
            if (workloadName != null)
            {
                WorkloadReport run;
                using (new Progress($"workload {workloadName}: running", json: false))
                    run = UserWorkloads.Run(workloadName, new UserWorkloadOptions { Layout = id, RamBytes = mem ?? 64UL << 20, Seed = 1, Scale = 1.0 });
                workloadDoc = WorkloadCommand.Document(run, id);
                if (!run.Verified || run.FramesNotReturned != 0) exit = ExitCode.Failed;
            }

            string? tracePath = r.GetValue(trace)?.ToString();
            var replays = tracePath != null ? TraceCommand.ReportReplays(tracePath) : null;
            if (replays != null && replays.Any(d => !(bool)d["ok"]!)) exit = ExitCode.Failed;

            string title = "SharpMM report: " + source + (layoutName != null ? $", layout {layoutName}" : "") + (workloadName != null ? $", workload {workloadName}" : "") + (tracePath != null ? $", trace {tracePath}" : "");
            ReportOption.Write(path, new ReportDocuments(bootDoc, tablesDoc, workloadDoc, replays), title, "-o");
            Console.Out.WriteLine($"sharpmm: wrote {path}");
            if (exit != ExitCode.Done) Console.Error.WriteLine("sharpmm: the run behind the report failed its checks (run the same as `boot` or `workload` for details)");
            return exit;
        });
        return c;
    }
}
