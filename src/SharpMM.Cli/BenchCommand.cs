using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using SharpMM.Hosted;
using SharpMM.Hosted.Workloads;
using SharpMM.Physical;

namespace SharpMM.Cli;

/// <summary>
/// `sharpmm bench W0|W1|W2|W2o9`: quick runs of the page-allocator workloads, reported like the
/// C peers (median of --reps runs, a fresh allocator per run) so the two can be run side by side
/// (../shared/peers/run.sh pages). Per-operation costs with confidence intervals come from the
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
            default:
                throw new UsageException($"unknown workload '{o.Positional[0]}' (W0, W1, W2, W2o9)");
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

    private static double Median(List<double> v)
    {
        var t = v.OrderBy(x => x).ToList();
        return t.Count % 2 == 1 ? t[t.Count / 2] : 0.5 * (t[t.Count / 2 - 1] + t[t.Count / 2]);
    }
}
