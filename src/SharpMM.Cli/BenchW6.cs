using System;
using System.Collections.Generic;
using System.Linq;
using SharpMM.Hosted.Peers;
using SharpMM.Hosted.Workloads;

namespace SharpMM.Cli;

/// <summary>
/// `sharpmm bench W6|W6x --threads N`: kmalloc on N simulated CPUs (threads), own frees (W6) or
/// every object freed by the next thread (W6x), reported like bench/peers' refbuddy_mt (W5): aggregate
/// million pairs per second and ns per pair per thread, medians of --reps runs. The peer mallocs
/// run the same threads in-process, taking turns with SharpMM in every round (a drift of the
/// machine's clock hits all alike). SharpMM's line adds its lock figures: cache-lock
/// acquisitions per pair, the share of them contended, page-lock and inbox-lock acquisitions per pair.
/// </summary>
internal static class BenchW6
{
    public static int Run(string label, int threads, int online, double scale, int reps, bool json, Progress progress)
    {
        bool cross = label.Equals("W6x", StringComparison.OrdinalIgnoreCase);
        if (BenchCommand.NeedsStaticTlsRoom())
        {
            progress.Dispose();
            Environment.Exit(BenchCommand.RerunWithStaticTlsRoom());
        }
        var backends = HeapWorkloads.Backends.Where(b => b == "sharpmm" || PeerLibraries.IsAvailable(b, out _)).ToList();
        var runs = backends.ToDictionary(b => b, _ => new List<W6Result>());
        ulong failures = 0;
        double? transferBefore = LineTransfer.MeasureNs();
        for (int r = -1; r < reps; r++)   // one untimed warm-up round
        {
            foreach (string b in backends)
            {
                progress.Update($"{BenchCommand.Step(label, r, reps)}, {b}");
                W6Result res = HeapThreadWorkloads.Run(b, threads, cross, scale, online);
                failures += res.Failures;
                if (r >= 0) runs[b].Add(res);
            }
        }
        double? transferAfter = LineTransfer.MeasureNs();
        progress.Dispose();
        if (failures != 0) throw new CommandFailedException($"{label}: {failures} failed allocations or refused frees");
        W6Result Med(string b)
        {
            var v = runs[b].OrderBy(x => x.MpairsPerSecond).ToList();
            return v[v.Count / 2];
        }
        W6Result own = Med("sharpmm");
        if (json)
        {
            var doc = CliJson.Document("bench");
            doc["workload"] = label;
            doc["threads"] = threads;
            doc["cpus"] = online;
            doc["scale"] = scale;
            doc["reps"] = reps;
            doc["mpairs_per_s"] = Math.Round(own.MpairsPerSecond, 2);
            doc["ns_per_pair_per_thread"] = Math.Round(own.NsPerPairPerThread, 2);
            doc["cpu_ns_per_pair"] = Math.Round(own.CpuNsPerPair, 2);
            doc["cache_locks_per_pair"] = Math.Round(own.CacheLocksPerPair, 4);
            doc["cache_lock_contended_share"] = Math.Round(own.CacheLockContendedShare, 4);
            doc["page_locks_per_pair"] = Math.Round(own.PageLocksPerPair, 5);
            doc["inbox_locks_per_pair"] = Math.Round(own.InboxLocksPerPair, 4);
            var peers = new System.Text.Json.Nodes.JsonObject();
            foreach (string b in backends.Where(b => b != "sharpmm"))
            {
                W6Result p = Med(b);
                peers[b] = new System.Text.Json.Nodes.JsonObject
                {
                    ["mpairs_per_s"] = Math.Round(p.MpairsPerSecond, 2),
                    ["ns_per_pair_per_thread"] = Math.Round(p.NsPerPairPerThread, 2),
                    ["cpu_ns_per_pair"] = Math.Round(p.CpuNsPerPair, 2),
                };
            }
            doc["peers"] = peers;
            if (transferBefore is double tb && transferAfter is double ta)
                doc["line_transfer_ns"] = new System.Text.Json.Nodes.JsonArray(Math.Round(tb, 1), Math.Round(ta, 1));
            CliJson.Write(doc);
            return ExitCode.Done;
        }
        string what = cross ? "rounds of 1000 handed to the next thread" : "own slots";
        foreach (string b in backends)
        {
            W6Result m = Med(b);
            var all = runs[b].Select(x => x.MpairsPerSecond).ToList();
            string name = b == "sharpmm" ? "sharpmm(kmalloc)" : b;
            string cpusNote = b == "sharpmm" ? BenchCommand.CpusNote(threads, online) : "";
            Console.Out.WriteLine($"{name,-18} {label,-4} threads {threads,2}: median {m.MpairsPerSecond,8:F2} Mpairs/s  {m.NsPerPairPerThread,7:F2} ns/pair/thread  {m.CpuNsPerPair,7:F2} CPU ns/pair (min {all.Min():F2} max {all.Max():F2} Mpairs/s)  [{cpusNote}{what} reps={reps}]");
        }
        Console.Out.WriteLine($"sharpmm locks: {own.CacheLocksPerPair:F4} cache-lock acquisitions per pair ({own.CacheLockContendedShare * 100:F1}% contended), {own.PageLocksPerPair:F5} page-lock acquisitions per pair, {own.InboxLocksPerPair:F4} inbox-lock acquisitions per pair");
        if (BenchCommand.LineTransferNote(transferBefore, transferAfter) is string note) Console.Out.WriteLine(note);
        return ExitCode.Done;
    }
}
