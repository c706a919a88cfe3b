using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using SharpMM.Cli.Report;
using SharpMM.Hosted;
using SharpMM.Hosted.Peers;
using SharpMM.Hosted.Workloads;
using SharpMM.Concurrency;
using SharpMM.Physical;

namespace SharpMM.Cli;

/// <summary>
/// `sharpmm bench WORKLOAD`: quick runs of the page-allocator, heap and page-table workloads,
/// reported like the C peers (median of --reps runs, a fresh allocator per run) so the two can
/// be run side by side (bench/compare.sh runs both). Per-operation costs with confidence intervals
/// come from the BenchmarkDotNet project (bench/SharpMM.Benchmarks).
/// </summary>
internal static unsafe class BenchCommand
{
    // GC bytes a measured region may show without the bench failing (see its use).
    private const long OneTimeGcAllowance = 64 << 10;

    /// <summary>Every workload the command runs, as the help and the JSON spell them.</summary>
    private static readonly string[] Workloads = { "W0", "W1", "W2", "W2o9", "W3", "W3t", "W3h", "W4", "W5", "W5x", "W6", "W6x" };

    public static Command Create()
    {
        var workload = new Argument<string>("WORKLOAD")
        {
            HelpName = string.Join('|', Workloads),
            Description = "W0 hot order-0 alloc+free pairs; W1 order-0 churn (alloc then free 100k pages); W2 mixed orders 0..10 at 50% live; " +
                          "W2o9 the same with orders 0..9; W3 kmalloc: random 8..2047 B with 100k live; W3t W3's trace replayed in another thread " +
                          "order; W3h hot malloc(64)+free; W4 page tables: map, walk (TLB miss), TLB hit, unmap; W5 --threads N CPUs sharing the page " +
                          "allocator, each allocating 4096 pages and freeing them; W5x the same, each freeing the next CPU's pages; W6 kmalloc on --threads CPUs, " +
                          "own frees; W6x the same, every object freed by the next thread. W3, W3t, W3h, W6 and W6x also run the " +
                          "peer mallocs installed here (glibc; mimalloc, jemalloc, tcmalloc from their Debian packages).",
            CustomParser = r =>
            {
                string v = r.Tokens[0].Value;
                string? match = Workloads.FirstOrDefault(w => string.Equals(w, v, StringComparison.OrdinalIgnoreCase));
                if (match == null) r.AddError($"unknown workload '{v}' (one of: {string.Join(", ", Workloads)})");
                return match ?? "";
            },
        };
        var scale = CliOptions.Real("--scale", "Multiplies the amount of work (iterations, steps, operations).", 0.001, 100, 1.0);
        var reps = CliOptions.Integer("--reps", "Timed repetitions; the median is reported (one untimed warm-up run comes first).", 1, 64, 5);
        var pcp = CliOptions.Choice("--pcp", "The buddy allocator's per-CPU cache for W0..W2o9 (default: on for W0, off for the others, as the C peers they are compared with).", null, "on", "off");
        var installPeers = new Option<bool>("--install-peers")
        {
            Description = "Before W3, W3t, W3h, W6 or W6x: install the peer mallocs this machine lacks with apt-get (Debian packages libmimalloc2.0, libjemalloc2, libtcmalloc-minimal4).",
        };
        var threads = CliOptions.Integer("--threads", "W5, W5x, W6, W6x: threads (SharpMM: simulated CPUs).", 1, Cpu.MaxCpus, 1);
        var cpus = CliOptions.OptionalInteger("--cpus", "W5, W5x, W6, W6x: SharpMM's CPUs online, at least --threads (the others run nothing); more " +
                                              "than --threads runs the code paths of several CPUs with fewer threads working. Default: --threads.", 1, Cpu.MaxCpus);
        var json = CliOptions.Json();
        var report = new Option<FileInfo>("--report")
        {
            Description = "Also record the workload's allocator events in one more (untimed) run, replay them on the allocator it used and write " +
                          "the replay over time as an HTML report (see `sharpmm report --trace`). W0..W3h; W4 has no allocator trace.",
            HelpName = "FILE.html",
        };
        var c = new Command("bench", "Run a workload of docs/benchmarks.md and print the median time per operation.");
        c.Arguments.Add(workload);
        c.Options.Add(scale);
        c.Options.Add(reps);
        c.Options.Add(pcp);
        c.Options.Add(installPeers);
        c.Options.Add(threads);
        c.Options.Add(cpus);
        c.Options.Add(json);
        c.Options.Add(report);
        c.SetAction(r =>
        {
            string label = r.GetValue(workload)!;
            string? reportPath = r.GetValue(report)?.ToString();
            int threadCount = (int)r.GetValue(threads);
            int online = r.GetValue(cpus) is ulong n ? (int)n : threadCount;
            if (r.GetValue(cpus) != null && !label.StartsWith("W5", StringComparison.Ordinal) && label is not ("W6" or "W6x"))
                throw new UsageException($"--cpus goes with W5, W5x, W6 or W6x, not {label}");
            if (online < threadCount) throw new UsageException($"--cpus {online}: fewer CPUs online than --threads {threadCount}");
            if (reportPath != null && label == "W4") throw new UsageException("--report: W4 works on page tables and has no allocator trace to draw (W0..W3h have)");
            if (reportPath != null && label.StartsWith("W5", StringComparison.Ordinal)) throw new UsageException("--report: W5 and W5x run on several CPUs and record no allocator trace (W0..W3h do)");
            if (label.StartsWith("W5", StringComparison.Ordinal))
            {
                if (r.GetValue(pcp) != null) throw new UsageException("--pcp: W5 and W5x always use the per-CPU caches (they are what the workload measures)");
                return RunW5(label, threadCount, online, r.GetValue(scale), (int)r.GetValue(reps), r.GetValue(json));
            }
            if (reportPath != null) ReportOption.CheckTarget(reportPath, "--report");
            if (r.GetValue(installPeers))
            {
                if (!label.StartsWith("W3", StringComparison.Ordinal) && !label.StartsWith("W6", StringComparison.Ordinal))
                    throw new UsageException("--install-peers goes with W3, W3t, W3h, W6 or W6x (the workloads that run peer mallocs)");
                InstallPeers();
            }
            bool threaded = label is "W6" or "W6x";
            if (r.GetResult(threads) is { Implicit: false } && !threaded) throw new UsageException($"--threads goes with W5, W5x, W6 or W6x, not {label}");
            if (threaded && r.GetValue(pcp) != null) throw new UsageException($"--pcp applies to the page-allocator workloads (W0, W1, W2, W2o9), not {label}");
            if (threaded && reportPath != null) throw new UsageException($"--report: {label} runs several threads and records no trace (W0..W3h do)");
            int exit = threaded
                ? BenchW6.Run(label, threadCount, online, r.GetValue(scale), (int)r.GetValue(reps), r.GetValue(json), new Progress($"bench {label}: starting", r.GetValue(json)))
                : Run(label, r.GetValue(scale), (int)r.GetValue(reps), r.GetValue(pcp), r.GetValue(json));
            if (reportPath != null)
                ReportOption.Write(reportPath, new ReportDocuments(null, null, null, new[] { TraceCommand.RecordedReplay(label, r.GetValue(scale)) }),
                    $"sharpmm bench {label}: the run's allocator events replayed", "--report");
            return exit;
        });
        return c;
    }

    private static int Run(string label, double scale, int reps, string? pcpChoice, bool json)
    {
        string wl = label.ToUpperInvariant();
        using var progress = new Progress($"bench {label}: starting", json);
        if (pcpChoice != null && wl is ("W3" or "W3T" or "W3H" or "W4"))
            throw new UsageException($"--pcp applies to the page-allocator workloads (W0, W1, W2, W2o9), not {label}");
        if (wl == "W4") return BenchW4.Run(scale, reps, json, progress);
        // Compare like with like: W0 against refbuddy+pcp, W1/W2 against refbuddy (no cache).
        bool pcp = (pcpChoice ?? (wl == "W0" ? "on" : "off")) == "on";
        var cfg = pcp ? PcpConfig.Default : PcpConfig.Off;
        var fields = new Dictionary<string, object> { ["workload"] = label, ["pcp"] = pcp, ["scale"] = scale, ["reps"] = reps };
        string name = pcp ? "sharpmm-buddy+pcp" : "sharpmm-buddy";
        long gc = 0;
        var lines = new List<string>();

        switch (wl)
        {
            case "W0":
            {
                long iters = Math.Max(1, (long)(10_000_000 * scale));
                var ns = Repeat(label, reps, cfg, progress, b => PageWorkloads.W0(ref *(BuddyAllocator*)b, iters), ref gc);
                fields["pair_ns"] = Math.Round(Median(ns), 2);
                fields["iterations"] = iters;
                lines.Add($"{name,-22} W0 hot alloc+free pair   : median {Median(ns),7:F2} ns/pair (min {ns.Min():F2} max {ns.Max():F2})  [iters={iters} reps={reps}]");
                break;
            }
            case "W1":
            {
                int rounds = scale >= 1 ? 20 : 2;
                var a = new List<double>(); var f = new List<double>();
                Repeat(label, reps, cfg, progress, b => { var (x, y) = PageWorkloads.W1(ref *(BuddyAllocator*)b, 100_000, rounds); a.Add(x); f.Add(y); return x + y; }, ref gc);
                // Repeat's warm-up run is not timed: drop its figures.
                a.RemoveAt(0); f.RemoveAt(0);
                fields["alloc_ns"] = Math.Round(Median(a), 2);
                fields["free_ns"] = Math.Round(Median(f), 2);
                fields["rounds"] = rounds;
                lines.Add($"{name,-22} W1 order-0 churn         : alloc {Median(a),6:F2} ns  free {Median(f),6:F2} ns  [N=100000 rounds={rounds} reps={reps}]");
                break;
            }
            case "W2":
            case "W2O9":
            {
                int maxo = wl == "W2" ? 10 : 9;
                long steps = Math.Max(1, (long)(2_000_000 * scale));
                W2Result last = default;
                var ns = Repeat(label, reps, cfg, progress, b => { last = PageWorkloads.W2(ref *(BuddyAllocator*)b, steps, maxo); return last.StepNs; }, ref gc);
                fields["step_ns"] = Math.Round(Median(ns), 2);
                fields["fill_ns"] = Math.Round(last.FillNs, 2);
                fields["steps"] = steps;
                fields["failed"] = last.Failed;
                fields["failed_high_order"] = last.FailedHigh;
                fields["order10_blocks"] = last.Order10Blocks;
                fields["order9_blocks"] = last.Order9Blocks;
                fields["free_pages"] = last.FreePages;
                fields["largest_order"] = last.LargestOrder;
                fields["allocs"] = last.Allocs;
                fields["frees"] = last.Frees;
                lines.Add($"{name,-22} W2{(maxo == 10 ? "   " : "-o9")} mixed 50% live   : {Median(ns),6:F2} ns/op (min {ns.Min():F2} max {ns.Max():F2})  fill {last.FillNs,6:F2} ns/alloc  [steps={steps} allocs={last.Allocs} frees={last.Frees} failed={last.Failed} (order>=9: {last.FailedHigh})]");
                lines.Add($"{name,-22} W2{(maxo == 10 ? "   " : "-o9")} end state         : free pages {last.FreePages}, largest allocatable order {last.LargestOrder}, allocatable order-10 blocks {last.Order10Blocks} (ideal {last.FreePages >> 10}), order-9 blocks {last.Order9Blocks} (ideal {last.FreePages >> 9})");
                break;
            }
            default: // W3, W3t, W3h
                fields.Remove("pcp");
                gc += HeapBench(wl, label, scale, reps, fields, lines, progress);
                break;
        }
        fields["gc_bytes_in_measured_regions"] = gc;
        progress.Dispose();
        if (json)
        {
            var doc = CliJson.Document("bench");
            CliJson.Merge(doc, CliJson.From(fields)!.ToJsonString());
            CliJson.Write(doc);
        }
        else foreach (string line in lines) Console.Out.WriteLine(line);
        // A timed loop that allocates does so on every operation: millions of operations, megabytes.
        // Below OneTimeGcAllowance it is the runtime's own once-per-thread work that now and then
        // falls inside a region (6,192 bytes seen, in a region of a million operations).
        if (gc > OneTimeGcAllowance) throw new CommandFailedException($"measured regions allocated {gc} GC bytes");
        return ExitCode.Done;
    }

    // W5, W5x: one untimed warm-up run, then reps runs; the figures of the median run (by
    // throughput), with its zone-lock statistics.
    private static int RunW5(string label, int threads, int online, double scale, int reps, bool json)
    {
        bool cross = label == "W5x";
        using var progress = new Progress($"bench {label}: starting", json);
        var runs = new List<W5Result>();
        double? transferBefore = LineTransfer.MeasureNs();
        for (int r = -1; r < reps; r++)
        {
            progress.Update(Step(label, r, reps));
            W5Result res = ThreadedPageWorkloads.Run(threads, cross, scale, online);
            if (res.Failed != 0) throw new CommandFailedException($"{label}: {res.Failed} allocations failed (the workload needs none)");
            if (r >= 0) runs.Add(res);
        }
        double? transferAfter = LineTransfer.MeasureNs();
        progress.Dispose();
        var sorted = runs.OrderBy(x => x.MpairsPerS).ToList();
        W5Result med = sorted[sorted.Count / 2];
        double mpairs = Median(runs.Select(x => x.MpairsPerS).ToList());
        double ns = Median(runs.Select(x => x.NsPerPairPerThread).ToList());
        double cpuNs = Median(runs.Select(x => x.CpuNsPerPair).ToList());
        LockStats l = med.ZoneLock;
        double spinNs = ThreadedPageWorkloads.TicksToNs(l.SpinTicks);
        // A pair takes the zone lock only when it refills or drains a batch.
        double perPair = l.Acquisitions / (double)med.Pairs;
        if (json)
        {
            var fields = new Dictionary<string, object>
            {
                ["workload"] = label, ["threads"] = threads, ["cpus"] = online, ["scale"] = scale, ["reps"] = reps,
                ["mpairs_per_s"] = Math.Round(mpairs, 2), ["ns_per_pair_per_thread"] = Math.Round(ns, 2), ["cpu_ns_per_pair"] = Math.Round(cpuNs, 2),
                ["mpairs_per_s_min"] = Math.Round(sorted[0].MpairsPerS, 2), ["mpairs_per_s_max"] = Math.Round(sorted[^1].MpairsPerS, 2),
                ["pairs"] = med.Pairs, ["failed"] = med.Failed,
                ["zone_lock"] = new Dictionary<string, object>
                {
                    ["acquisitions"] = l.Acquisitions, ["contended"] = l.Contended, ["spin_ns"] = Math.Round(spinNs),
                    ["acquisitions_per_pair"] = Math.Round(perPair, 5),
                },
            };
            AddLineTransfer(fields, transferBefore, transferAfter);
            var doc = CliJson.Document("bench");
            CliJson.Merge(doc, CliJson.From(fields)!.ToJsonString());
            CliJson.Write(doc);
        }
        else
        {
            Console.Out.WriteLine($"{"sharpmm-buddy+pcp",-22} {label,-4} threads {threads,2}: median {mpairs,8:F2} Mpairs/s  {ns,7:F2} ns/pair/thread  {cpuNs,7:F2} CPU ns/pair (min {sorted[0].MpairsPerS:F2} max {sorted[^1].MpairsPerS:F2} Mpairs/s)  [{CpusNote(threads, online)}rounds={med.Pairs / (ulong)threads / ThreadedPageWorkloads.Batch} batch={ThreadedPageWorkloads.Batch} reps={reps} failed={med.Failed}]");
            Console.Out.WriteLine($"{"",-22} zone lock: {l.Acquisitions} acquisitions ({perPair:F5} per pair), {l.Contended} contended, {spinNs / 1e6:F2} ms spinning (median run)");
            if (LineTransferNote(transferBefore, transferAfter) is string note) Console.Out.WriteLine(note);
        }
        return ExitCode.Done;
    }

    // The machine's cost of moving a line between two cores, before and after a several-thread
    // workload (LineTransfer): "line_transfer_ns": [before, after], absent on one processor.
    internal static void AddLineTransfer(IDictionary<string, object> fields, double? before, double? after)
    {
        if (before is double b && after is double a) fields["line_transfer_ns"] = new[] { Math.Round(b, 1), Math.Round(a, 1) };
    }

    internal static string? LineTransferNote(double? before, double? after) =>
        before is double b && after is double a
            ? $"machine: a cache line moved between two cores in {b:F1} ns before the runs, {a:F1} ns after (compare several-thread figures only where these agree: docs/benchmarks.md)"
            : null;

    // "cpus=N " in a text line when more CPUs are online than threads run.
    internal static string CpusNote(int threads, int online) => online > threads ? $"cpus={online} " : "";

    // One untimed run first: the C peers are compiled ahead of time, the JIT needs a run to
    // reach its optimised tier (BenchmarkDotNet's warm-up does the same).
    // Runs a page workload reps times after an untimed warm-up; adds the GC bytes of the timed
    // runs' measured regions to gcBytes (the warm-up's first uses, such as a class's static
    // constructor in a build that runs it lazily, are what it is there to absorb).
    private static List<double> Repeat(string label, int reps, PcpConfig cfg, Progress progress, Func<nint, double> run, ref long gcBytes)
    {
        var results = new List<double>();
        for (int r = -1; r < reps; r++)
        {
            progress.Update(Step(label, r, reps));
            BuddyAllocator* b = PageWorkloads.Create(cfg, out HostMemory meta);
            try
            {
                double v = run((nint)b);
                if (r < 0) continue;
                results.Add(v);
                gcBytes += PageWorkloads.GcBytes;
            }
            finally { PageWorkloads.Destroy(b, meta); }
        }
        return results;
    }

    // W3, W3t, W3h (bench/peers/README.md) on SharpMM's kmalloc and, in the same process and
    // period, on the peer mallocs this machine has (glibc always; mimalloc, jemalloc, tcmalloc
    // when their Debian packages are installed). Backends take turns within each round so that
    // a drift of the machine's clock hits all of them alike; round -1 is an untimed warm-up.
    // Fields: pair_ns, footprint_bytes, live_bytes for SharpMM; the same under "peers".
    private static long HeapBench(string wl, string label, double scale, int reps, Dictionary<string, object> fields, List<string> lines, Progress progress)
    {
        if (NeedsStaticTlsRoom())
        {
            progress.Dispose();
            Environment.Exit(RerunWithStaticTlsRoom());
        }
        Action<string> human = lines.Add;
        long ops = Math.Max(1, (long)(HeapWorkloads.Ops * scale));
        fields["ops"] = ops;
        var backends = new List<string>();
        var skipped = new Dictionary<string, string>();
        foreach (string b in HeapWorkloads.Backends)
        {
            if (b == "sharpmm" || PeerLibraries.IsAvailable(b, out string why)) backends.Add(b);
            else skipped[b] = why;
        }
        var ns = backends.ToDictionary(b => b, _ => new List<double>());
        var first = new Dictionary<string, W3Result>();
        long gc = 0;
        ulong failures = 0;
        using var trace = wl == "W3H" ? null : new W3Trace(ops);
        for (int r = -1; r < reps; r++)
        {
            foreach (string b in backends)
            {
                progress.Update($"{Step(label, r, reps)}, {b}");
                double v;
                if (trace == null)
                {
                    v = HeapWorkloads.RunW3h(b, ops, out ulong f, out long g);
                    failures += f;
                    if (r >= 0) gc += g;
                }
                else
                {
                    W3Result res = HeapWorkloads.RunW3(b, trace, wl == "W3T");
                    failures += res.Failures;
                    if (r >= 0) gc += res.GcBytes; // the warm-up absorbs first uses (see Repeat)
                    v = res.PairNs;
                    // Footprint from each allocator's first run in this process: a peer's is the
                    // growth of the resident set, which later runs reuse and no longer show.
                    if (r == -1) first[b] = res;
                }
                if (r >= 0) ns[b].Add(v);
            }
        }
        if (failures != 0) throw new CommandFailedException($"{label}: {failures} failed allocations or refused frees");
        var peers = new Dictionary<string, object>();
        foreach (string b in backends)
        {
            var list = ns[b];
            double med = Median(list);
            var entry = new Dictionary<string, object> { ["pair_ns"] = Math.Round(med, 2) };
            string name = b == "sharpmm" ? "sharpmm(kmalloc)" : b;
            if (trace == null)
                human($"{name,-18} W3h hot malloc(64)+free       : median {med,6:F2} ns per pair (min {list.Min():F2} max {list.Max():F2})  [ops={ops} reps={reps}]");
            else
            {
                W3Result f = first[b];
                entry["footprint_bytes"] = f.FootprintBytes;
                entry["live_bytes"] = f.LiveBytes;
                human($"{name,-18} {label,-3} random 8..2047B, 100k live: median {med,6:F2} ns per free+malloc pair (min {list.Min():F2} max {list.Max():F2})  [ops={ops} reps={reps}]");
                // SharpMM counts the pages its heap holds; a peer's figure is the growth of the
                // process's resident set, which misses memory the peer kept resident from an earlier run.
                if (wl == "W3" && b == "sharpmm")
                    human($"{name,-18} W3 footprint after first run  : {f.FootprintBytes / 1048576.0:F1} MiB for {f.LiveBytes / 1048576.0:F1} MiB requested live ({(double)f.FootprintBytes / f.LiveBytes:F3}x)");
                else if (wl == "W3")
                    human($"{name,-18} W3 RSS growth over first run  : {f.FootprintBytes / 1048576.0:F1} MiB for {f.LiveBytes / 1048576.0:F1} MiB requested live ({(double)f.FootprintBytes / f.LiveBytes:F3}x; resident-set growth, indicative only)");
            }
            if (b == "sharpmm") foreach (var kv in entry) fields[kv.Key] = kv.Value;
            else peers[b] = entry;
        }
        foreach (var kv in skipped) human($"{kv.Key,-18} skipped: {kv.Value}");
        if (skipped.Count != 0)
        {
            fields["install_command"] = InstallCommand(skipped.Keys);
            human($"to compare with them too: {fields["install_command"]}   (or: sharpmm bench {label} --install-peers)");
        }
        if (ns.TryGetValue("sharpmm", out var own))
        {
            double m = Median(own);
            foreach (string b in backends.Where(b => b != "sharpmm"))
                human($"ratio sharpmm / {b,-9}: {m / Median(ns[b]):F2}");
        }
        fields["peers"] = peers;
        if (skipped.Count != 0) fields["skipped"] = skipped;
        return gc;
    }

    private static string[] MissingPeers() => PeerLibraries.Names.Where(p => !PeerLibraries.IsAvailable(p, out _)).ToArray();

    private static bool IsRoot() => Environment.UserName == "root";

    /// <summary>The apt-get command that installs <paramref name="peers"/>.</summary>
    private static string InstallCommand(IEnumerable<string> peers) =>
        $"{(IsRoot() ? "" : "sudo ")}apt-get install -y {string.Join(' ', peers.Select(PeerLibraries.DebianPackage))}";

    // --install-peers: apt-get install of the missing peers' packages, its output on stderr.
    private static void InstallPeers()
    {
        string[] missing = MissingPeers();
        if (missing.Length == 0) return;
        string command = InstallCommand(missing);
        Console.Error.WriteLine($"sharpmm: installing the peer mallocs: {command}");
        var psi = new System.Diagnostics.ProcessStartInfo("bash") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"{(IsRoot() ? "" : "sudo ")}apt-get update -qq && DEBIAN_FRONTEND=noninteractive {command} >&2");
        using var p = System.Diagnostics.Process.Start(psi) ?? throw new CommandFailedException("could not start apt-get");
        p.WaitForExit();
        if (p.ExitCode != 0) throw new CommandFailedException($"'{command}' failed with exit status {p.ExitCode}");
    }

    // Debian's jemalloc uses initial-exec TLS: dlopen after start-up fails with "cannot allocate
    // memory in static TLS block" unless glibc reserves room at process start. When jemalloc is
    // installed and the variable is not set, the heap bench (and `trace replay` against a peer)
    // runs in a child process that has it.
    private const string StaticTlsTunable = "glibc.rtld.optional_static_tls=1048576";

    internal static bool NeedsStaticTlsRoom() =>
        Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is null
        && File.Exists("/usr/lib/x86_64-linux-gnu/" + Jemalloc.Library)
        && !PeerLibraries.IsAvailable("jemalloc", out _);

    internal static int RerunWithStaticTlsRoom()
    {
        string[] argv = Environment.GetCommandLineArgs();
        var psi = new System.Diagnostics.ProcessStartInfo(Environment.ProcessPath ?? "dotnet") { UseShellExecute = false };
        if (argv.Length > 0 && argv[0].EndsWith(".dll", StringComparison.Ordinal)) psi.ArgumentList.Add(argv[0]);
        foreach (string a in argv.Skip(1)) psi.ArgumentList.Add(a);
        psi.Environment["GLIBC_TUNABLES"] = StaticTlsTunable;
        using var child = System.Diagnostics.Process.Start(psi) ?? throw new InvalidOperationException("could not start the bench with room for jemalloc's TLS");
        child.WaitForExit();
        return child.ExitCode;
    }

    /// <summary>"bench W0: warm-up run" or "bench W0: repetition 3 of 5".</summary>
    internal static string Step(string label, int rep, int reps) =>
        rep < 0 ? $"bench {label}: warm-up run" : $"bench {label}: repetition {rep + 1} of {reps}";

    private static double Median(List<double> v)
    {
        var t = v.OrderBy(x => x).ToList();
        return t.Count % 2 == 1 ? t[t.Count / 2] : 0.5 * (t[t.Count / 2 - 1] + t[t.Count / 2]);
    }
}
