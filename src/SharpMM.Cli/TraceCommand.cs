using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using SharpMM.Addressing;
using SharpMM.Cli.Report;
using SharpMM.Hosted.Peers;
using SharpMM.Hosted.Trace;
using SharpMM.Hosted.User;
using SharpMM.Virtual;

namespace SharpMM.Cli;

/// <summary>
/// `sharpmm trace record|import|replay`: allocator traces (docs/trace-format.md). record writes
/// the allocator-level events of a workload or bench run; import turns the text of a Linux kmem
/// trace into one; replay runs a trace against one of SharpMM's allocators or a system malloc,
/// every step checked, and reports time per event, failures, peak footprint and fragmentation
/// over time.
/// </summary>
internal static class TraceCommand
{
    /// <summary>Largest Linux trace text read.</summary>
    private const long MaxTextBytes = 1L << 30;

    public static Command Create()
    {
        var c = new Command("trace", "Record allocator traces from workloads, import Linux kmem traces, replay a trace against any allocator.");
        c.Subcommands.Add(Record());
        c.Subcommands.Add(Import());
        c.Subcommands.Add(Replay());
        return c;
    }

    private static Option<FileInfo> Output(string what) => new("-o", "--output") { Description = what, HelpName = "FILE", Required = true };

    private static Command Record()
    {
        string[] names = UserWorkloads.Names.Concat(TraceRecorder.BenchNames).ToArray();
        var name = CliOptions.Choice("WORKLOAD",
            "A user workload (as `sharpmm workload`: its frames and faults) or a bench workload (as `sharpmm bench`: W0..W2o9 the buddy " +
            "allocator's allocations and frees, W3, W3t, W3h kmalloc and kfree).", names);
        var output = Output("The trace file to write (replaced; written whole or not at all).");
        var scale = CliOptions.Real("--scale", "Multiplies the amount of work, as for `workload` and `bench`.", 0.001, 100, 1.0);
        var mem = CliOptions.Size("--mem", "Simulated RAM of a user workload (default 64M, at most 8G).", 16UL << 20, 8UL << 30);
        var debugHeap = new Option<bool>("--debug-heap")
        {
            Description = "User workloads: take the process structures from the kernel heap's mm_struct cache (as `workload --debug-heap`), " +
                          "so that the trace has its slab cache events.",
        };
        var json = CliOptions.Json();
        var c = new Command("record", "Run a workload and write every allocator-level event it caused to a trace file.");
        c.Arguments.Add(name);
        c.Options.Add(output);
        c.Options.Add(scale);
        c.Options.Add(mem);
        c.Options.Add(debugHeap);
        c.Options.Add(json);
        c.SetAction(r =>
        {
            string wl = r.GetValue(name)!;
            string path = r.GetValue(output)!.ToString();
            CheckWritable(path);
            bool asJson = r.GetValue(json);
            double sc = r.GetValue(scale);
            TraceWriter trace;
            TraceEndState? end = null;
            string replayWith;
            bool ok = true;
            using (new Progress($"trace record {wl}: running", asJson))
            {
                if (TraceRecorder.BenchNames.Contains(wl))
                {
                    if (r.GetValue(mem) != null) throw new UsageException("--mem applies to the user workloads, not to bench workloads (their arena is fixed)");
                    if (r.GetValue(debugHeap)) throw new UsageException("--debug-heap applies to the user workloads, not to bench workloads");
                    RecordedRun run = TraceRecorder.RecordBench(wl, sc);
                    trace = run.Trace; end = run.End; replayWith = run.ReplayAllocator;
                }
                else
                {
                    var (t, report) = TraceRecorder.RecordWorkload(wl, new UserWorkloadOptions { Layout = LayoutId.X86_64, RamBytes = r.GetValue(mem) ?? 64UL << 20, Seed = 1, Scale = sc, DebugHeap = r.GetValue(debugHeap) });
                    trace = t; replayWith = "buddy";
                    ok = report.Verified && report.FramesNotReturned == 0;
                }
            }
            trace.Save(path);
            long bytes = new FileInfo(path).Length;
            var doc = CliJson.Document("trace record");
            doc["workload"] = wl;
            doc["output"] = path;
            doc["bytes"] = bytes;
            doc["total_events"] = trace.EventCount;
            doc["events"] = Counts(k => trace.Count(k));
            if (end != null) doc["end"] = EndJson(end);
            doc["replay_allocator"] = replayWith;
            if (asJson) CliJson.Write(doc);
            else
            {
                Console.Out.WriteLine($"wrote {path}: {trace.EventCount} events in {bytes} bytes ({(trace.EventCount == 0 ? 0 : (double)bytes / trace.EventCount):F2} bytes per event)");
                foreach (var k in TraceEventKinds.All.Where(k => trace.Count(k) != 0)) Console.Out.WriteLine($"  {TraceEventKinds.Name(k),-12} {trace.Count(k),12}");
                if (end != null) Console.Out.WriteLine($"end state: {end}");
                Console.Out.WriteLine($"replay: sharpmm trace replay {path} --allocator {replayWith}");
            }
            if (!ok) throw new CommandFailedException($"workload {wl} failed its checks (run `sharpmm workload {wl}` for details); the trace was written");
            return ExitCode.Done;
        });
        return c;
    }

    private static Command Import()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "Text of `trace-cmd report` or of /sys/kernel/tracing/trace with kmem events." };
        var output = Output("The trace file to write (replaced; written whole or not at all).");
        var json = CliOptions.Json();
        var c = new Command("import",
            "Read Linux kmem events (mm_page_alloc, mm_page_free, mm_page_free_batched, kmalloc, kfree, kmem_cache_alloc, kmem_cache_free) " +
            "and write them as a trace: pfns and pointers become dense keys on a simulated machine of the size the trace needs. Frees of " +
            "what was allocated before the trace began, kfree(NULL) and other events are counted, not errors.");
        c.Arguments.Add(file);
        c.Options.Add(output);
        c.Options.Add(json);
        c.SetAction(r =>
        {
            string src = r.GetValue(file)!.ToString();
            string path = r.GetValue(output)!.ToString();
            byte[] text = InputFile.ReadAll(src, MaxTextBytes, "a trace text");
            CheckWritable(path);
            ImportResult res;
            try
            {
                using var reader = new StreamReader(new MemoryStream(text));
                res = LinuxTraceImport.Import(reader);
            }
            catch (TraceImportException e) { throw new UsageException($"{src}: {e.Message}"); }
            res.Trace.Save(path);
            TraceWriter t = res.Trace;
            ulong skipped = res.HeaderLines + (ulong)res.OtherEvents.Values.Sum(v => (long)v);
            var doc = CliJson.Document("trace import");
            doc["input"] = src;
            doc["output"] = path;
            doc["lines"] = res.Lines;
            var events = new JsonObject();
            foreach (string e in LinuxTraceImport.KmemEvents)
            {
                // Current kernels' seven events always; the _node variants of older kernels when read.
                res.Events.TryGetValue(e, out ulong n);
                if (n != 0 || !e.EndsWith("_node", StringComparison.Ordinal)) events[e] = n;
            }
            doc["events"] = events;
            var other = new JsonObject();
            foreach (var kv in res.OtherEvents) other[kv.Key] = kv.Value;
            doc["other_events"] = other;
            doc["skipped"] = skipped;
            doc["header_lines"] = res.HeaderLines;
            doc["unmatched"] = res.UnmatchedFrees + res.UnmatchedAllocations;
            doc["unmatched_frees"] = res.UnmatchedFrees;
            doc["unmatched_allocations"] = res.UnmatchedAllocations;
            doc["null_frees"] = res.NullFrees;
            doc["failed_allocations"] = res.FailedAllocations;
            doc["order_mismatches"] = res.OrderMismatches;
            doc["trace_events"] = Counts(k => t.Count(k));
            doc["machine_frames"] = t.Header.Frames;
            if (r.GetValue(json)) CliJson.Write(doc);
            else
            {
                Console.Out.WriteLine($"read {res.Lines} lines of {src}; wrote {path}: {t.EventCount} events, a machine of {t.Header.Frames} frames ({CliValues.FormatSize(t.Header.Frames << 12)})");
                foreach (string e in LinuxTraceImport.KmemEvents) if (res.Events.TryGetValue(e, out ulong n)) Console.Out.WriteLine($"  {e,-22} {n,12}");
                Console.Out.WriteLine($"  {"skipped",-22} {skipped,12}  ({res.HeaderLines} header lines, {skipped - res.HeaderLines} lines of other events)");
                Console.Out.WriteLine($"  {"unmatched",-22} {res.UnmatchedFrees + res.UnmatchedAllocations,12}  ({res.UnmatchedFrees} frees of what was allocated before the trace, {res.UnmatchedAllocations} allocations over a live block)");
                Console.Out.WriteLine($"  {"kfree(NULL)",-22} {res.NullFrees,12}");
                if (res.FailedAllocations != 0) Console.Out.WriteLine($"  {"failed in the trace",-22} {res.FailedAllocations,12}");
                if (res.OrderMismatches != 0) Console.Out.WriteLine($"  {"order mismatches",-22} {res.OrderMismatches,12}");
            }
            return ExitCode.Done;
        });
        return c;
    }

    private static Command Replay()
    {
        var file = new Argument<FileInfo>("TRACE") { Description = "A trace written by `trace record` or `trace import`." };
        var allocator = CliOptions.Choice("--allocator",
            "buddy, buddy-pcp (with per-CPU caches), bitmap, freelist (order 0 only) take the page events; kmalloc and the system mallocs " +
            "(glibc; jemalloc, mimalloc, tcmalloc when installed) the kmalloc, kfree and slab cache events.", null, TraceReplay.Allocators);
        allocator.Required = true;
        var mem = CliOptions.Size("--mem", "RAM of the simulated machine for the page allocators (default: the trace's).", 1UL << 20, 16UL << 40);
        var json = CliOptions.Json();
        var report = ReportOption.Create();
        var c = new Command("replay",
            "Replay a trace against an allocator, every step checked (no overlap, only live blocks freed): time per event, allocations " +
            "refused, peak footprint, fragmentation over time. Exit status 1 when a step failed its check.");
        c.Arguments.Add(file);
        c.Options.Add(allocator);
        c.Options.Add(mem);
        c.Options.Add(json);
        c.Options.Add(report);
        c.SetAction(r =>
        {
            string path = r.GetValue(file)!.ToString();
            string? reportPath = r.GetValue(report)?.ToString();
            string alloc = r.GetValue(allocator)!;
            ulong frames = (r.GetValue(mem) ?? 0) >> 12;
            if (frames != 0 && TraceReplay.IsByteLevel(alloc)) throw new UsageException($"--mem applies to the page allocators, not to {alloc}");
            bool asJson = r.GetValue(json);
            if (reportPath != null) ReportOption.CheckTarget(reportPath, "--report");
            TraceFile trace = Open(path);
            if (frames != 0 && trace.Header.BasePfn + frames > Pfn.ManagedLimit)
                throw new UsageException($"--mem {r.GetValue(mem)} bytes from the trace's first frame (pfn 0x{trace.Header.BasePfn:x}) passes the {Pfn.ManagedLimit >> 18} GiB of physical memory SharpMM manages");
            if (PeerLibraries.Names.Contains(alloc))
            {
                if (BenchCommand.NeedsStaticTlsRoom()) return BenchCommand.RerunWithStaticTlsRoom();
                if (!PeerLibraries.IsAvailable(alloc, out string why))
                    throw new CommandFailedException($"{alloc} is not available here: {why} (`sharpmm bench W3 --install-peers` installs the peers)");
            }
            ReplayResult res;
            using (new Progress($"trace replay {alloc}: running", asJson))
                res = TraceReplay.Run(trace, alloc, frames);
            JsonObject doc = ReplayDocument(path, trace, res);
            if (asJson) CliJson.Write(doc);
            else Console.Out.Write(ReplayText(path, trace, res));
            if (reportPath != null) ReportOption.Write(reportPath, new ReportDocuments(null, null, null, new[] { doc }), $"sharpmm trace replay {path} --allocator {alloc}", "--report");
            if (!res.Clean) throw new CommandFailedException($"replay against {alloc}: {res.Overlaps} overlapping allocations, {res.RefusedFrees} refused frees");
            return ExitCode.Done;
        });
        return c;
    }

    /// <summary>The replays `report --trace` draws: the page events against the buddy allocator and
    /// the heap events against kmalloc, each when the trace has them.</summary>
    internal static List<JsonObject> ReportReplays(string path)
    {
        TraceFile trace = Open(path);
        var docs = new List<JsonObject>();
        ulong pages = trace.Count(TraceEventKind.PageAlloc) + trace.Count(TraceEventKind.PageFree);
        ulong heap = trace.Count(TraceEventKind.Kmalloc) + trace.Count(TraceEventKind.Kfree) + trace.Count(TraceEventKind.CacheAlloc) + trace.Count(TraceEventKind.CacheFree);
        if (pages == 0 && heap == 0) throw new UsageException($"{path}: no page or heap events to replay");
        using (new Progress($"trace replay {path}: running", json: false))
        {
            if (pages != 0) docs.Add(ReplayDocument(path, trace, TraceReplay.Run(trace, "buddy")));
            if (heap != 0) docs.Add(ReplayDocument(path, trace, TraceReplay.Run(trace, "kmalloc")));
        }
        return docs;
    }

    /// <summary>`bench --report`: bench workload <paramref name="label"/> recorded (untimed) and its
    /// trace replayed on the allocator the run used, as a `trace replay --json` document.</summary>
    internal static JsonObject RecordedReplay(string label, double scale)
    {
        using var progress = new Progress($"bench {label}: recording and replaying for the report", json: false);
        RecordedRun run = TraceRecorder.RecordBench(label, scale);
        TraceFile trace = TraceFile.FromBytes(run.Trace.ToBytes());
        return ReplayDocument($"bench {label}", trace, TraceReplay.Run(trace, run.ReplayAllocator));
    }

    /// <summary>Opens a trace; a file that is not one is bad input naming the file and offset.</summary>
    internal static TraceFile Open(string path)
    {
        if (Directory.Exists(path)) throw new UsageException($"{path}: is a directory, not a trace");
        try { return TraceFile.Open(path); }
        catch (TraceFormatException e) { throw new UsageException($"{path}: {e.Message}"); }
    }

    private static void CheckWritable(string path)
    {
        if (Directory.Exists(path)) throw new UsageException($"{path}: is a directory, not a file to write the trace to");
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null && !Directory.Exists(dir)) throw new UsageException($"{path}: directory {dir} does not exist");
    }

    private static JsonObject Counts(Func<TraceEventKind, ulong> count)
    {
        var o = new JsonObject();
        foreach (var k in TraceEventKinds.All) o[TraceEventKinds.Name(k)] = count(k);
        return o;
    }

    private static JsonObject EndJson(TraceEndState e) => new()
    {
        ["free_frames"] = e.FreeFrames,
        ["free_blocks_by_order"] = new JsonArray(e.FreeBlocksByOrder.Select(v => (JsonNode)v).ToArray()),
        ["live_blocks"] = e.LiveBlocks,
        ["live_objects"] = e.LiveObjects,
        ["live_mappings"] = e.LiveMappings,
    };

    /// <summary>`trace replay --json` (docs/schemas/trace-replay.schema.json).</summary>
    internal static JsonObject ReplayDocument(string path, TraceFile trace, ReplayResult r)
    {
        var doc = CliJson.Document("trace replay");
        doc["trace"] = path;
        doc["allocator"] = r.Allocator;
        doc["byte_level"] = r.ByteLevel;
        doc["imported"] = trace.Header.Imported;
        doc["trace_events"] = trace.Header.EventCount;
        if (!r.ByteLevel) doc["machine_frames"] = r.MachineFrames;
        doc["replayed"] = Counts(k => r.Replayed[(int)k]);
        doc["not_replayed"] = Counts(k => r.NotReplayed[(int)k]);
        doc["replayed_events"] = r.ReplayedEvents;
        doc["seconds"] = Math.Round(r.Seconds, 6);
        doc["ns_per_event"] = Math.Round(r.NsPerEvent, 2);
        doc["events_per_second"] = Math.Round(r.EventsPerSecond);
        if (!r.ByteLevel)
        {
            doc["cpu_seconds"] = Math.Round(r.CpuSeconds, 6);
            doc["events_per_cpu_second"] = Math.Round(r.EventsPerCpuSecond);
        }
        doc["failed_allocations"] = r.FailedAllocations;
        doc["refused_frees"] = r.RefusedFrees;
        doc["overlaps"] = r.Overlaps;
        doc["frees_of_failed"] = r.FreesOfFailed;
        doc["unmatched"] = r.Unmatched;
        doc["unmatched_unmaps"] = r.UnmatchedUnmaps;
        doc["divergent"] = r.Divergent;
        doc["peak_frames"] = r.PeakFrames;
        doc["peak_footprint_bytes"] = r.PeakFootprintBytes;
        doc["peak_live_bytes"] = r.PeakLiveBytes;
        doc["peak_mappings"] = r.PeakMappings;
        doc["end"] = EndJson(r.End);
        var samples = new JsonArray();
        foreach (ReplaySample s in r.Samples)
        {
            var o = new JsonObject { ["event"] = s.Event };
            if (r.ByteLevel)
            {
                o["footprint_bytes"] = s.FootprintBytes;
                o["live_bytes"] = s.LiveBytes;
            }
            else
            {
                o["free_frames"] = s.FreeFrames;
                o["free_blocks"] = new JsonArray(s.FreeBlocks.Select(v => (JsonNode)v).ToArray());
                o["largest_free_order"] = s.LargestFreeOrder;
            }
            samples.Add(o);
        }
        doc["samples"] = samples;
        doc["ok"] = r.Clean;
        return doc;
    }

    private static string ReplayText(string path, TraceFile trace, ReplayResult r)
    {
        var s = new System.Text.StringBuilder();
        s.AppendLine($"replay of {path} ({trace.Header.EventCount} events{(trace.Header.Imported ? ", imported" : "")}) against {r.Allocator}" +
                     (r.ByteLevel ? "" : $" on a machine of {r.MachineFrames} frames ({CliValues.FormatSize(r.MachineFrames << 12)})"));
        foreach (var k in TraceEventKinds.All)
        {
            if (r.Replayed[(int)k] != 0) s.AppendLine($"  {TraceEventKinds.Name(k),-12} {r.Replayed[(int)k],12} replayed");
            if (r.NotReplayed[(int)k] != 0) s.AppendLine($"  {TraceEventKinds.Name(k),-12} {r.NotReplayed[(int)k],12} not replayed ({(r.ByteLevel ? "not a heap event" : "not a page event")})");
        }
        s.AppendLine($"time: {r.NsPerEvent:F2} ns per event, {r.EventsPerSecond / 1e6:F1} million events per second ({r.Seconds * 1e3:F1} ms)" +
                     (r.ByteLevel ? "" : $"; {r.EventsPerCpuSecond / 1e6:F1} million per second of CPU time ({r.CpuSeconds * 1e3:F1} ms)"));
        s.AppendLine($"failed allocations {r.FailedAllocations}, refused frees {r.RefusedFrees}, overlaps {r.Overlaps}, frees of failed {r.FreesOfFailed}, unmatched {r.Unmatched}" +
                     (trace.Header.Imported || r.ByteLevel ? "" : $", allocations at another frame than recorded {r.Divergent}"));
        if (r.Replayed[(int)TraceEventKind.Map] + r.Replayed[(int)TraceEventKind.Unmap] != 0)
            s.AppendLine($"mappings: peak {r.PeakMappings} pages mapped, {r.End.LiveMappings} at the end, unmaps of unmapped pages {r.UnmatchedUnmaps}");
        if (r.ByteLevel) s.AppendLine($"peak: {r.PeakLiveBytes} bytes live, footprint {r.PeakFootprintBytes} bytes");
        else
        {
            s.AppendLine($"peak: {r.PeakFrames} frames allocated");
            int lowest = r.Samples.Count == 0 ? -1 : r.Samples.Min(x => x.LargestFreeOrder);
            s.AppendLine($"largest free order over the run: lowest {lowest}, at the end {(r.Samples.Count == 0 ? -1 : r.Samples[^1].LargestFreeOrder)}");
        }
        s.AppendLine($"end state: {r.End}");
        return s.ToString();
    }
}
