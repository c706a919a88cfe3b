using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SharpMM.Boot;
using SharpMM.Hosted;

namespace SharpMM.Cli;

/// <summary>
/// `sharpmm check-kernel-log LOG`: the kernel prints the memory map it was given (BIOS-e820
/// lines) and its boot report as one `SHARPMM-JSON {...}` line (BootReport.WriteJson). This boots
/// the same map hosted and checks that both sides counted the same memory: the report's
/// schema_version, present_frames, refused_ram_bytes (RAM the kernel's tables cannot reach: above
/// 4 GiB on the i386 kernel without PAE), and per zone its name, spanned frames and present frames
/// (with the i386 zones when the banner names the i386 kernel). A line with "cpus" (the kernel's
/// CPUs online) must also agree with the log: 1 plus one "smp: cpu N online" line per other CPU.
/// A line with "locks" (the kernel's lock statistics by kind) must be consistent: every kind
/// contended at most as often as acquired, and some lock acquired; --require-locks (kernel/test.sh)
/// makes a line without it a failure (logs of kernels from before it have none).
/// Prints one line per check; exit 0 when all agree, 1 when one differs, 2 when the log is not
/// usable (no SHARPMM-JSON line, or one that is not the boot report).
/// </summary>
internal static unsafe class CheckKernelLogCommand
{
    private const string Marker = "SHARPMM-JSON ";
    private const long MaxLogBytes = 64L << 20;
    private const ulong I386LegacyPhysicalLimit = 4UL << 30, I386PaePhysicalLimit = 64UL << 30;

    private sealed record Check(string What, string Kernel, string Hosted)
    {
        public bool Ok => Kernel == Hosted;
    }

    public static Command Create()
    {
        var log = new Argument<FileInfo>("LOG") { Description = "A kernel serial log (kernel/build/logs/*.log, or qemu --log FILE)." };
        var json = CliOptions.Json();
        var requireLocks = new Option<bool>("--require-locks") { Description = "Fail when the SHARPMM-JSON line has no \"locks\" object (the kernel's lock statistics)." };
        var c = new Command("check-kernel-log",
            "Boot the map a kernel serial log shows, hosted, and check that present frames and zones equal what the kernel reported " +
            "on its SHARPMM-JSON line. Exit status 1 when a count differs.");
        c.Arguments.Add(log);
        c.Options.Add(json);
        c.Options.Add(requireLocks);
        c.SetAction(r => Run(r.GetValue(log)!.ToString(), r.GetValue(json), r.GetValue(requireLocks)));
        return c;
    }

    private static int Run(string path, bool json, bool requireLocks)
    {
        string text = Encoding.ASCII.GetString(InputFile.ReadAll(path, MaxLogBytes, "a kernel log"));
        string? jsonLine = text.Split('\n').Select(l => l.TrimEnd('\r')).LastOrDefault(l => l.StartsWith(Marker, StringComparison.Ordinal));
        if (jsonLine is null) throw new UsageException($"{path}: no '{Marker.Trim()}' line (did the kernel boot?)");
        JsonElement kernel;
        try
        {
            using var parsed = JsonDocument.Parse(jsonLine[Marker.Length..]);
            kernel = parsed.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new UsageException($"{path}: the {Marker.Trim()} line is not valid JSON ({e.Message})");
        }

        // Only the map the loader handed over: the lines before the kernel's own report.
        int reportAt = text.IndexOf("BIOS-provided physical RAM map (sanitized)", StringComparison.Ordinal);
        byte[] mapText = Encoding.ASCII.GetBytes(reportAt < 0 ? text : text[..reportAt]);
        MemoryMap raw = default;
        Status st;
        MapError err;
        fixed (byte* p = mapText) st = BootLogParser.Parse(p, mapText.Length, ref raw, out err);
        if (st != Status.Ok) throw new UsageException($"{path}: {MapSource.Describe(err)}");
        BootInfo info = BootInfo.Default();
        // The i386 kernel boots the 3G/1G split's zones (DMA, Normal up to 896 MiB, HighMem), or
        // with layout=low-2g the 2G/2G split's (DMA, Low up to 1920 MiB, HighMem).
        // Its page tables reach 4 GiB with legacy paging, 64 GiB with PAE: the RAM above is
        // refused (the kernel's "layout: ..." line names the paging mode).
        if (text.Contains("SharpMM kernel (i386,", StringComparison.Ordinal))
        {
            info.Layout = text.Contains("boot sequence for layout i386-low-2g:", StringComparison.Ordinal)
                ? SharpMM.Hosted.LayoutBoot.ZonesFor(SharpMM.Virtual.LayoutId.I386Low2G)
                : text.Contains("boot sequence for layout phantom-ia32:", StringComparison.Ordinal)
                ? SharpMM.Hosted.LayoutBoot.ZonesFor(SharpMM.Virtual.LayoutId.PhantomIa32) : SharpMM.Physical.ZoneLayout.I386();
            info.PhysicalLimit = text.Contains(", legacy 32-bit paging\n", StringComparison.Ordinal) || text.Contains(", legacy 32-bit paging\r\n", StringComparison.Ordinal)
                ? I386LegacyPhysicalLimit : I386PaePhysicalLimit;
        }
        using var machine = SimulatedMachine.Boot(ref raw, in info, out MapError sanErr);
        if (machine is null) throw new UsageException($"{path}: {MapSource.Describe(sanErr)}");
        if (machine.BootStatus != Status.Ok) throw new CommandFailedException($"{path}: the hosted boot of the kernel's map failed: {StatusNames.Name(machine.BootStatus)}");
        var w = StringSink.NewWriter();
        BootReport.WriteJson(ref w, in *machine.Memory);
        using var hostedDoc = JsonDocument.Parse(w.Sink.Text.ToString());
        JsonElement hosted = hostedDoc.RootElement;

        var checks = new List<Check>
        {
            new("schema_version", Member(path, kernel, "schema_version"), Member(path, hosted, "schema_version")),
            new("present_frames", Member(path, kernel, "present_frames"), Member(path, hosted, "present_frames")),
        };
        var kz = Zones(path, kernel);
        var hz = Zones(path, hosted);
        checks.Add(new("refused_ram_bytes", Member(path, kernel, "refused_ram_bytes"), Member(path, hosted, "refused_ram_bytes")));
        checks.Add(new("zone count", kz.Length.ToString(), hz.Length.ToString()));
        for (int i = 0; i < Math.Min(kz.Length, hz.Length); i++)
        {
            string name = Member(path, hz[i], "name");
            checks.Add(new($"zone {i} name", Member(path, kz[i], "name"), name));
            foreach (var field in new[] { "start_pfn", "end_pfn", "present_frames" })
                checks.Add(new($"zone {name} {field}", Member(path, kz[i], field), Member(path, hz[i], field)));
        }
        if (kernel.TryGetProperty("cpus", out JsonElement cpus))
        {
            int online = 1 + text.Split('\n').Count(l => l.StartsWith("smp: cpu ", StringComparison.Ordinal) && l.Contains(" online, APIC id ", StringComparison.Ordinal));
            checks.Add(new("cpus online", cpus.GetRawText(), online.ToString()));
        }
        if (kernel.TryGetProperty("locks", out JsonElement locks)) checks.AddRange(LockChecks(path, locks));
        else if (requireLocks) checks.Add(new("locks", "absent", "present"));
        int failures = checks.Count(c => !c.Ok);
        if (json)
        {
            var doc = CliJson.Document("check-kernel-log");
            doc["log"] = path;
            doc["checks"] = new JsonArray(checks.Select(c => (JsonNode?)new JsonObject { ["what"] = c.What, ["kernel"] = c.Kernel, ["hosted"] = c.Hosted, ["ok"] = c.Ok }).ToArray());
            doc["failures"] = failures;
            doc["ok"] = failures == 0;
            CliJson.Write(doc);
        }
        else foreach (var c in checks) Console.WriteLine($"{(c.Ok ? "ok  " : "FAIL")} {c.What}: kernel {c.Kernel}, hosted {c.Hosted}");
        return failures == 0 ? ExitCode.Done : ExitCode.Failed;
    }

    // The "locks" object: {"KIND":{"locks":N,"acquisitions":N,"contended":N,"spin_ticks":N},...}.
    // Each kind contended at most as often as acquired; some lock acquired (the boot allocates).
    private static IEnumerable<Check> LockChecks(string path, JsonElement locks)
    {
        if (locks.ValueKind != JsonValueKind.Object) throw new UsageException($"{path}: the {Marker.Trim()} line's 'locks' is not an object");
        ulong acquired = 0;
        var checks = new List<Check>();
        foreach (JsonProperty kind in locks.EnumerateObject())
        {
            ulong a = LockFigure(path, kind, "acquisitions"), c = LockFigure(path, kind, "contended");
            LockFigure(path, kind, "locks");
            LockFigure(path, kind, "spin_ticks");
            acquired += a;
            checks.Add(new($"locks {kind.Name}: contended <= acquisitions", c <= a ? "yes" : $"no ({c} > {a})", "yes"));
        }
        checks.Add(new("locks: some lock acquired", acquired > 0 ? "yes" : "no", "yes"));
        return checks;
    }

    private static ulong LockFigure(string path, JsonProperty kind, string name)
    {
        if (kind.Value.ValueKind != JsonValueKind.Object || !kind.Value.TryGetProperty(name, out JsonElement v) || !v.TryGetUInt64(out ulong n))
            throw new UsageException($"{path}: the {Marker.Trim()} line's lock kind '{kind.Name}' has no count '{name}'");
        return n;
    }

    // A member of the report as text; a report without it is not the boot report.
    private static string Member(string path, JsonElement e, string name)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(name, out JsonElement v) || v.ValueKind is not (JsonValueKind.Number or JsonValueKind.String))
            throw new UsageException($"{path}: the {Marker.Trim()} line has no '{name}' (not the kernel's boot report)");
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText();
    }

    private static JsonElement[] Zones(string path, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("zones", out JsonElement z) || z.ValueKind != JsonValueKind.Array)
            throw new UsageException($"{path}: the {Marker.Trim()} line has no 'zones' array (not the kernel's boot report)");
        return z.EnumerateArray().ToArray();
    }
}
