using System;
using System.CommandLine;
using System.IO;
using System.Text.Json.Nodes;
using SharpMM.Cli.Report;
using SharpMM.Hosted.User;
using SharpMM.Virtual;

namespace SharpMM.Cli;

/// <summary>
/// `sharpmm workload NAME`: runs a user-space workload (fork-server, recursion, memory-hog,
/// object-space) on a booted layout with the MMU model as the CPU and a file as the backing
/// store, and reports faults by kind with the handler's cost, pages in and out with the store's
/// throughput, and the resident set over time. Exit status 1 when a value read back differed or
/// a frame was not returned.
/// </summary>
internal static class WorkloadCommand
{
    private static readonly string[] Layouts = { "x86_64", "i386-higher-half" };

    public static Command Create()
    {
        var name = CliOptions.Choice("NAME",
            "fork-server: a server with 16 MiB of state forks a child per request; recursion: a deep call chain grows the stack " +
            "to its limit; memory-hog: a process uses twice the RAM, the clock pages out to the store; object-space: a persistent " +
            "region is snapshotted, the machine stops, a new one reopens it.", UserWorkloads.Names);
        var layout = CliOptions.Choice("--layout", "Kernel layout whose user space runs the workload.", "x86_64", Layouts);
        var mem = CliOptions.Size("--mem", "Simulated RAM (default 64M; at most 3G for i386-higher-half, 8G for x86_64).", 16UL << 20, 8UL << 30);
        var store = new Option<FileInfo>("--store")
        {
            Description = "Backing store file, kept after the run (default: a temporary file). An existing file that is not a SharpMM store is refused unless --force is given.",
            HelpName = "FILE",
        };
        var force = new Option<bool>("--force") { Description = "Let --store replace an existing file that is not a SharpMM store." };
        var seed = CliOptions.Integer("--seed", "Seed of the access patterns.", 0, ulong.MaxValue, 1);
        var scale = CliOptions.Real("--scale", "Multiplies the amount of work (requests, accesses).", 0.001, 100, 1.0);
        var pmap = new Option<bool>("--pmap") { Description = "After the report, list the main process's regions as pmap -x does." };
        var debugHeap = new Option<bool>("--debug-heap")
        {
            Description = "Take the processes' kernel structures from the heap in debug mode (poison, red zones, allocation sites) and print its leak report.",
        };
        var json = CliOptions.Json();
        var reportFile = ReportOption.Create();
        var c = new Command("workload",
            "Run user processes on the MMU model: faults by kind with the handler's cost, pages out to the store file and back, " +
            "resident set over time. Exit status 1 when a value read back differed or a frame was not returned.");
        c.Arguments.Add(name);
        c.Options.Add(layout);
        c.Options.Add(mem);
        c.Options.Add(store);
        c.Options.Add(force);
        c.Options.Add(seed);
        c.Options.Add(scale);
        c.Options.Add(pmap);
        c.Options.Add(debugHeap);
        c.Options.Add(json);
        c.Options.Add(reportFile);
        c.SetAction(r =>
        {
            LayoutId id = LayoutOptions.Id(r.GetValue(layout)!);
            ulong ram = r.GetValue(mem) ?? 64UL << 20;
            if (id == LayoutId.I386HigherHalf && ram > 3UL << 30) throw new UsageException("--mem: at most 3G for i386-higher-half");
            string? storePath = r.GetValue(store)?.ToString();
            if (storePath != null) StoreFileGuard.CheckMayUse(storePath, r.GetValue(force));
            bool asJson = r.GetValue(json);
            string workload = r.GetValue(name)!;
            string? reportPath = r.GetValue(reportFile)?.ToString();
            if (reportPath != null) ReportOption.CheckTarget(reportPath, "--report");
            WorkloadReport report;
            using (new Progress($"workload {workload}: running", asJson))
                report = UserWorkloads.Run(workload, new UserWorkloadOptions { Layout = id, RamBytes = ram, StorePath = storePath, Seed = r.GetValue(seed), Scale = r.GetValue(scale),
                    ReplaceForeignStore = r.GetValue(force), DebugHeap = r.GetValue(debugHeap) });
            if (reportPath != null) ReportOption.Write(reportPath, new ReportDocuments(null, null, Document(report, id)), $"sharpmm workload {workload}", "--report");
            if (asJson) CliJson.Write(Document(report, id));
            else
            {
                Console.Out.Write(report.ToText());
                if (r.GetValue(pmap)) Console.Out.Write(Environment.NewLine + report.Pmap);
                if (report.LeakReport != null) Console.Out.Write(Environment.NewLine + report.LeakReport);
            }
            if (!report.Verified) Console.Error.WriteLine("sharpmm: a value read back differed from what was written");
            else if (report.FramesNotReturned != 0) Console.Error.WriteLine($"sharpmm: {report.FramesNotReturned} frames were not returned after every process exited");
            return report.Verified && report.FramesNotReturned == 0 ? ExitCode.Done : ExitCode.Failed;
        });
        return c;
    }

    /// <summary>`workload --json` of a finished run.</summary>
    internal static JsonObject Document(WorkloadReport report, LayoutId id)
    {
        var doc = CliJson.Document("workload");
        // The layout as every command describes it (the report names it only).
        doc["layout"] = LayoutOptions.Json(AddressSpaceLayout.Get(id));
        CliJson.Merge(doc, CliJson.From(report.ToJson())!.ToJsonString());
        return doc;
    }
}
