using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using SharpMM.Hosted;
using SharpMM.Hosted.Peers;
using SharpMM.Hosted.Workloads;
using SharpMM.Physical;

namespace SharpMM.Cli;

/// <summary>
/// `sharpmm bench W0|W1|W2|W2o9`: quick runs of the page-allocator workloads, reported like the
/// C peers (median of --reps runs, a fresh allocator per run) so the two can be run side by side
/// (bench/compare.sh runs both). Per-operation costs with confidence intervals come from the
/// BenchmarkDotNet project (bench/SharpMM.Benchmarks).
/// </summary>
internal static unsafe class BenchCommand
{
    public static int Run(string[] args)
    {
        var o = new Options(args, new[] { "--scale", "--pcp", "--reps" }, new[] { "--json" });
        if (o.Positional.Count != 1) throw new UsageException("bench needs one workload: W0, W1, W2 or W2o9");
        string wl = o.Positional[0].ToUpperInvariant();
        double scale = o.Get("--scale") is string s ? double.Parse(s, CultureInfo.InvariantCulture) : 1.0;
        if (scale <= 0 || scale > 100) throw new UsageException("--scale must be in (0, 100]");
        int reps = o.Get("--reps") is string rs ? int.Parse(rs, CultureInfo.InvariantCulture) : 5;
        if (reps < 1 || reps > 64) throw new UsageException("--reps must be 1..64");
        if (wl == "W4") return BenchW4.Run(scale, reps, o.Has("--json"));
        // Compare like with like: W0 against refbuddy+pcp, W1/W2 against refbuddy (no cache).
        bool pcp = (o.Get("--pcp") ?? (wl == "W0" ? "on" : "off")) switch
        {
            "on" => true,
            "off" => false,
            var v => throw new UsageException($"--pcp takes on or off, not '{v}'"),
        };
        var cfg = pcp ? PcpConfig.Default : PcpConfig.Off;
        var fields = new Dictionary<string, object> { ["workload"] = wl, ["pcp"] = pcp, ["scale"] = scale, ["reps"] = reps };
        string name = pcp ? "sharpmm-buddy+pcp" : "sharpmm-buddy";
        long gc = 0;

        switch (wl)
        {
            case "W0":
            {
                long iters = (long)(10_000_000 * scale);
                var ns = Repeat(reps, cfg, b => { double v = PageWorkloads.W0(ref *(BuddyAllocator*)b, iters); gc += PageWorkloads.GcBytes; return v; });
                fields["pair_ns"] = Math.Round(Median(ns), 2);
                Human($"{name,-22} W0 hot alloc+free pair   : median {Median(ns),7:F2} ns/pair (min {ns.Min():F2} max {ns.Max():F2})  [iters={iters} reps={reps}]");
                break;
            }
            case "W1":
            {
                int rounds = scale >= 1 ? 20 : 2;
                var a = new List<double>(); var f = new List<double>();
                Repeat(reps, cfg, b => { var (x, y) = PageWorkloads.W1(ref *(BuddyAllocator*)b, 100_000, rounds); gc += PageWorkloads.GcBytes; a.Add(x); f.Add(y); return x + y; });
                fields["alloc_ns"] = Math.Round(Median(a), 2);
                fields["free_ns"] = Math.Round(Median(f), 2);
                Human($"{name,-22} W1 order-0 churn         : alloc {Median(a),6:F2} ns  free {Median(f),6:F2} ns  [N=100000 rounds={rounds} reps={reps}]");
                break;
            }
            case "W2":
            case "W2O9":
            {
                int maxo = wl == "W2" ? 10 : 9;
                long steps = (long)(2_000_000 * scale);
                W2Result last = default;
                var ns = Repeat(reps, cfg, b => { last = PageWorkloads.W2(ref *(BuddyAllocator*)b, steps, maxo); gc += PageWorkloads.GcBytes; return last.StepNs; });
                fields["workload"] = maxo == 10 ? "W2" : "W2o9";
                fields["step_ns"] = Math.Round(Median(ns), 2);
                fields["failed"] = last.Failed;
                fields["order10_blocks"] = last.Order10Blocks;
                fields["order9_blocks"] = last.Order9Blocks;
                fields["free_pages"] = last.FreePages;
                fields["largest_order"] = last.LargestOrder;
                fields["allocs"] = last.Allocs;
                fields["frees"] = last.Frees;
                Human($"{name,-22} W2{(maxo == 10 ? "   " : "-o9")} mixed 50% live   : {Median(ns),6:F2} ns/op (min {ns.Min():F2} max {ns.Max():F2})  fill {last.FillNs,6:F2} ns/alloc  [steps={steps} allocs={last.Allocs} frees={last.Frees} failed={last.Failed} (order>=9: {last.FailedHigh})]");
                Human($"{name,-22} W2{(maxo == 10 ? "   " : "-o9")} end state         : free pages {last.FreePages}, largest allocatable order {last.LargestOrder}, allocatable order-10 blocks {last.Order10Blocks} (ideal {last.FreePages >> 10}), order-9 blocks {last.Order9Blocks} (ideal {last.FreePages >> 9})");
                break;
            }
            case "W3":
            case "W3T":
            case "W3H":
                gc += HeapBench(wl, scale, reps, fields, Human);
                break;
            default:
                throw new UsageException($"unknown workload '{o.Positional[0]}' (W0, W1, W2, W2o9, W3, W3t, W3h)");
        }
        fields["gc_bytes_in_measured_regions"] = gc;
        if (o.Has("--json")) Console.WriteLine(JsonSerializer.Serialize(fields));
        if (gc != 0)
        {
            Console.Error.WriteLine($"sharpmm: measured regions allocated {gc} GC bytes");
            return 1;
        }
        return 0;

        void Human(string line)
        {
            if (!o.Has("--json")) Console.WriteLine(line);
        }
    }

    // One untimed run first: the C peers are compiled ahead of time, the JIT needs a run to
    // reach its optimised tier (BenchmarkDotNet's warm-up does the same).
    private static List<double> Repeat(int reps, PcpConfig cfg, Func<nint, double> run)
    {
        var results = new List<double>();
        for (int r = -1; r < reps; r++)
        {
            BuddyAllocator* b = PageWorkloads.Create(cfg, out HostMemory meta);
            try
            {
                double v = run((nint)b);
                if (r >= 0) results.Add(v);
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
    private static long HeapBench(string wl, double scale, int reps, Dictionary<string, object> fields, Action<string> human)
    {
        if (NeedsStaticTlsRoom()) Environment.Exit(RerunWithStaticTlsRoom());
        string label = wl switch { "W3" => "W3", "W3T" => "W3t", _ => "W3h" };
        fields["workload"] = label;
        fields.Remove("pcp");
        long ops = (long)(HeapWorkloads.Ops * scale);
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
                double v;
                if (trace == null)
                {
                    v = HeapWorkloads.RunW3h(b, ops, out ulong f, out long g);
                    failures += f; gc += g;
                }
                else
                {
                    W3Result res = HeapWorkloads.RunW3(b, trace, wl == "W3T");
                    failures += res.Failures; gc += res.GcBytes;
                    v = res.PairNs;
                    // Footprint from each allocator's first run in this process: a peer's is the
                    // growth of the resident set, which later runs reuse and no longer show.
                    if (r == -1) first[b] = res;
                }
                if (r >= 0) ns[b].Add(v);
            }
        }
        if (failures != 0) throw new InvalidOperationException($"{label}: {failures} failed allocations or refused frees");
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

    // Debian's jemalloc uses initial-exec TLS: dlopen after start-up fails with "cannot allocate
    // memory in static TLS block" unless glibc reserves room at process start. When jemalloc is
    // installed and the variable is not set, the heap bench runs in a child process that has it.
    private const string StaticTlsTunable = "glibc.rtld.optional_static_tls=1048576";

    private static bool NeedsStaticTlsRoom() =>
        Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is null
        && File.Exists("/usr/lib/x86_64-linux-gnu/" + Jemalloc.Library)
        && !PeerLibraries.IsAvailable("jemalloc", out _);

    private static int RerunWithStaticTlsRoom()
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

    private static double Median(List<double> v)
    {
        var t = v.OrderBy(x => x).ToList();
        return t.Count % 2 == 1 ? t[t.Count / 2] : 0.5 * (t[t.Count / 2 - 1] + t[t.Count / 2]);
    }
}
