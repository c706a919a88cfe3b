using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using SharpMM.User;

namespace SharpMM.Hosted.User;

/// <summary>One point of a workload's resident set over time.</summary>
/// <param name="Step">Where the workload was (its own unit: request, depth, access).</param>
/// <param name="Label">What that step was.</param>
/// <param name="ProcessPages">Present pages of the workload's main process.</param>
/// <param name="AllProcessPages">Present pages of every live process (shared pages counted in each).</param>
/// <param name="UserFrames">User frames in RAM (each once).</param>
/// <param name="SwappedPages">Pages of live processes in the store.</param>
/// <param name="PagesOut">Pages written to the store since the run began.</param>
/// <param name="PagesIn">Pages read back from the store since the run began.</param>
public readonly record struct RssSample(long Step, string Label, ulong ProcessPages, ulong AllProcessPages, ulong UserFrames, ulong SwappedPages, ulong PagesOut, ulong PagesIn);

/// <summary>What a user workload did: faults by kind with the time the handler took, paging
/// traffic and store throughput, the resident set over time, and checks.</summary>
public sealed class WorkloadReport
{
    /// <summary>Workload name.</summary>
    public string Name { get; init; } = "";
    /// <summary>What it models.</summary>
    public string Description { get; init; } = "";
    /// <summary>Kernel layout.</summary>
    public string Layout { get; init; } = "";
    /// <summary>Simulated RAM.</summary>
    public ulong RamBytes { get; init; }
    /// <summary>Frames the buddy allocator had free for user memory at the start.</summary>
    public ulong FreeFramesAtStart { get; set; }
    /// <summary>Faults by kind.</summary>
    public long[] FaultCounts { get; set; } = Array.Empty<long>();
    /// <summary>Handler time by kind (Stopwatch ticks).</summary>
    public long[] FaultTicks { get; set; } = Array.Empty<long>();
    /// <summary>Median and 99th percentile handler time by kind (microseconds).</summary>
    public double[] MedianUs { get; set; } = Array.Empty<double>();
    /// <summary>99th percentile handler time by kind (microseconds).</summary>
    public double[] P99Us { get; set; } = Array.Empty<double>();
    /// <summary>Fault handler times of every kind as a histogram: element i counts the faults
    /// that took from 2^i to 2^(i+1) nanoseconds.</summary>
    public long[] FaultLatencyLog2Ns { get; set; } = new long[64];
    /// <summary>The library's counters.</summary>
    public ulong PagesOut, PagesIn, CleanDrops, SecondChances, ClockScans, ReclaimRuns, EvictionsRefused, ForkSharedPages;
    /// <summary>Store traffic (pages) and time.</summary>
    public long StoreWrites, StoreReads, StoreWriteTicks, StoreReadTicks;
    /// <summary>TLB flush work.</summary>
    public ulong PagesInvalidated, Cr3Reloads, FullFlushes;
    /// <summary>Resident set over time.</summary>
    public List<RssSample> Samples { get; } = new();
    /// <summary>Findings, one line each.</summary>
    public List<string> Notes { get; } = new();
    /// <summary>The main process's regions, pmap -x style (<see cref="SharpMM.User.ProcessMap"/>),
    /// at the last RSS sample: printed by `workload NAME --pmap`.</summary>
    public string Pmap { get; set; } = "";
    /// <summary>With the debug heap: its leak report and findings (text), else null.</summary>
    public string? LeakReport { get; set; }
    /// <summary>The same as the JSON member "leak_report" (<see cref="SharpMM.Heap.HeapReport.WriteLeaksJson"/>).</summary>
    public System.Text.Json.JsonElement? LeakReportJson { get; set; }
    /// <summary>Every value read back matched what was written.</summary>
    public bool Verified { get; set; } = true;
    /// <summary>Wall time of the workload (machine boot excluded).</summary>
    public TimeSpan Elapsed { get; set; }
    /// <summary>Frames back in the allocator after every process exited, against the start.</summary>
    public long FramesNotReturned { get; set; }

    private static double Seconds(long ticks) => (double)ticks / Stopwatch.Frequency;

    /// <summary>Faults of a kind per second of handler time (0 when none).</summary>
    public double FaultsPerSecond(FaultKind k) => FaultTicks[(int)k] == 0 ? 0 : FaultCounts[(int)k] / Seconds(FaultTicks[(int)k]);

    /// <summary>Page-outs per second of store write time.</summary>
    public double PageOutPerSecond => StoreWriteTicks == 0 ? 0 : StoreWrites / Seconds(StoreWriteTicks);
    /// <summary>Page-ins per second of store read time.</summary>
    public double PageInPerSecond => StoreReadTicks == 0 ? 0 : StoreReads / Seconds(StoreReadTicks);

    /// <summary>The report as text.</summary>
    public string ToText()
    {
        var ci = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        b.AppendLine(ci, $"workload {Name} on {Layout}, {RamBytes >> 20} MiB RAM ({FreeFramesAtStart} frames free for user memory): {Description}");
        b.AppendLine(ci, $"  {Elapsed.TotalMilliseconds:F0} ms; data checked: {(Verified ? "ok" : "MISMATCH")}; frames not returned after exit: {FramesNotReturned}");
        b.AppendLine("  faults by kind                count   handler us: mean  median    p99   faults/s (mean)  (median)");
        for (int k = 0; k < FaultCounts.Length; k++)
        {
            if (FaultCounts[k] == 0) continue;
            double us = Seconds(FaultTicks[k]) * 1e6 / FaultCounts[k];
            b.AppendLine(ci, $"    {FaultKindNames.Name((FaultKind)k),-22} {FaultCounts[k],10}   {us,15:F2} {MedianUs[k],7:F2} {P99Us[k],7:F2}   {FaultsPerSecond((FaultKind)k),14:N0} {(MedianUs[k] > 0 ? 1e6 / MedianUs[k] : 0),10:N0}");
        }
        b.AppendLine(ci, $"  paging: {PagesOut} pages out (written), {CleanDrops} dropped clean, {PagesIn} in; clock looked at {ClockScans} entries, gave {SecondChances} second chances, {ReclaimRuns} reclaim runs, {EvictionsRefused} refused");
        if (StoreWrites + StoreReads > 0)
            b.AppendLine(ci, $"  store: {StoreWrites} page writes ({PageOutPerSecond:N0} pages/s, {PageOutPerSecond * 4096 / 1048576:F1} MiB/s), {StoreReads} page reads ({PageInPerSecond:N0} pages/s, {PageInPerSecond * 4096 / 1048576:F1} MiB/s)");
        if (ForkSharedPages > 0) b.AppendLine(ci, $"  fork shared {ForkSharedPages} page mappings copy-on-write");
        b.AppendLine(ci, $"  TLB: {PagesInvalidated} pages invalidated, {Cr3Reloads} CR3 reloads, {FullFlushes} full flushes");
        b.AppendLine("  resident set over time (pages):");
        b.AppendLine("        step  what                      process   all procs  user frames    swapped");
        foreach (var s in Samples)
            b.AppendLine(ci, $"    {s.Step,8}  {s.Label,-22} {s.ProcessPages,10} {s.AllProcessPages,11} {s.UserFrames,12} {s.SwappedPages,10}");
        foreach (string n in Notes) b.AppendLine("  " + n);
        return b.ToString();
    }

    /// <summary>The report as a JSON-ready dictionary: what <see cref="ToText"/> shows, with
    /// snake_case names (fault kinds too: "demand_zero"); docs/schemas/workload.schema.json.</summary>
    public Dictionary<string, object> ToJson()
    {
        var faults = new Dictionary<string, object>();
        for (int k = 0; k < FaultCounts.Length; k++)
            if (FaultCounts[k] != 0)
                faults[FaultKindNames.Name((FaultKind)k).Replace('-', '_')] = new Dictionary<string, object>
                {
                    ["count"] = FaultCounts[k],
                    ["handler_us"] = Math.Round(Seconds(FaultTicks[k]) * 1e6 / FaultCounts[k], 3),
                    ["per_second"] = Math.Round(FaultsPerSecond((FaultKind)k)),
                    ["median_us"] = Math.Round(MedianUs[k], 3),
                    ["p99_us"] = Math.Round(P99Us[k], 3),
                    ["per_second_at_median"] = Math.Round(MedianUs[k] > 0 ? 1e6 / MedianUs[k] : 0),
                };
        // The histogram from its first to its last bucket that holds a fault.
        var latency = new List<object>();
        int lo = Array.FindIndex(FaultLatencyLog2Ns, c => c != 0), hi = Array.FindLastIndex(FaultLatencyLog2Ns, c => c != 0);
        for (int i = lo; lo >= 0 && i <= hi; i++)
            latency.Add(new Dictionary<string, object> { ["from_ns"] = 1UL << i, ["to_ns"] = i == 63 ? ulong.MaxValue : 1UL << (i + 1), ["count"] = FaultLatencyLog2Ns[i] });
        var samples = new List<object>();
        foreach (var s in Samples)
            samples.Add(new Dictionary<string, object> { ["step"] = s.Step, ["what"] = s.Label, ["process_pages"] = s.ProcessPages, ["all_pages"] = s.AllProcessPages, ["user_frames"] = s.UserFrames, ["swapped"] = s.SwappedPages, ["pages_out"] = s.PagesOut, ["pages_in"] = s.PagesIn });
        var json = new Dictionary<string, object>
        {
            ["workload"] = Name, ["description"] = Description, ["layout"] = Layout, ["ram_bytes"] = RamBytes,
            ["free_frames_at_start"] = FreeFramesAtStart, ["elapsed_ms"] = Math.Round(Elapsed.TotalMilliseconds, 1),
            ["verified"] = Verified, ["frames_not_returned"] = FramesNotReturned, ["faults"] = faults, ["fault_latency"] = latency,
            ["pages_out"] = PagesOut, ["pages_in"] = PagesIn, ["clean_drops"] = CleanDrops, ["second_chances"] = SecondChances,
            ["clock_scans"] = ClockScans, ["reclaim_runs"] = ReclaimRuns, ["evictions_refused"] = EvictionsRefused,
            ["fork_shared_pages"] = ForkSharedPages,
            ["store_writes"] = StoreWrites, ["store_reads"] = StoreReads,
            ["page_out_per_s"] = Math.Round(PageOutPerSecond), ["page_in_per_s"] = Math.Round(PageInPerSecond),
            ["pages_invalidated"] = PagesInvalidated, ["cr3_reloads"] = Cr3Reloads, ["full_flushes"] = FullFlushes,
            ["rss"] = samples, ["notes"] = Notes,
        };
        if (LeakReportJson is { } leaks) json["leak_report"] = leaks;
        return json;
    }
}
