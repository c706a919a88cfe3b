using System;
using System.Globalization;
using System.Text.Json;
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
    public static int Run(string[] args)
    {
        var o = new Options(args, new[] { "--layout", "--mem", "--store", "--seed", "--scale" }, new[] { "--json", "--pmap", "--debug-heap" });
        if (o.Positional.Count != 1)
            throw new UsageException($"workload needs one name: {string.Join(", ", UserWorkloads.Names)}");
        string name = o.Positional[0];
        if (Array.IndexOf(UserWorkloads.Names, name) < 0)
            throw new UsageException($"unknown workload '{name}' (one of: {string.Join(", ", UserWorkloads.Names)})");
        string layoutName = o.Get("--layout") ?? "x86_64";
        if (!AddressSpaceLayout.TryParse(layoutName, out LayoutId id) || id is not (LayoutId.X86_64 or LayoutId.I386HigherHalf))
            throw new UsageException($"layout '{layoutName}' has no user space here (x86_64 or i386-higher-half)");
        ulong mem = o.Get("--mem") is string m ? Options.ParseSize(m) : 64UL << 20;
        if (mem < (16UL << 20) || mem > (id == LayoutId.X86_64 ? 8UL << 30 : 3UL << 30))
            throw new UsageException("--mem must be at least 16M (at most 3G for i386-higher-half, 8G for x86_64)");
        ulong seed = o.Get("--seed") is string s ? ulong.Parse(s, CultureInfo.InvariantCulture) : 1;
        double scale = o.Get("--scale") is string sc ? double.Parse(sc, CultureInfo.InvariantCulture) : 1.0;
        if (scale <= 0 || scale > 100) throw new UsageException("--scale must be in (0, 100]");
        var report = UserWorkloads.Run(name, new UserWorkloadOptions { Layout = id, RamBytes = mem, StorePath = o.Get("--store"), Seed = seed, Scale = scale, DebugHeap = o.Has("--debug-heap") });
        if (o.Has("--json")) Console.Out.WriteLine(JsonSerializer.Serialize(report.ToJson()));
        else Console.Out.Write(report.ToText());
        if (o.Has("--pmap") && !o.Has("--json")) Console.Out.Write(Environment.NewLine + report.Pmap);
        if (report.LeakReport != null && !o.Has("--json")) Console.Out.Write(Environment.NewLine + report.LeakReport);
        return report.Verified && report.FramesNotReturned == 0 ? 0 : 1;
    }
}
