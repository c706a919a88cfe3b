using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using SharpMM.Boot;
using SharpMM.Hosted;

namespace SharpMM.Cli;

/// <summary>
/// `sharpmm check-kernel-log LOG`: the kernel prints the memory map it was given (BIOS-e820
/// lines) and its boot report as one `SHARPMM-JSON {...}` line. This boots the same map hosted
/// and checks that both sides counted the same memory: present_frames, and per zone its name,
/// spanned frames and present frames (with the i386 zones when the banner names i386). Prints one line per check; exit 0 when all agree.
/// </summary>
internal static unsafe class CheckKernelLogCommand
{
    private const string Marker = "SHARPMM-JSON ";

    public static int Run(string[] args)
    {
        if (args.Length != 1) throw new UsageException("check-kernel-log needs one file: a kernel serial log");
        string path = args[0];
        string text = File.ReadAllText(path);
        string? jsonLine = text.Split('\n').Select(l => l.TrimEnd('\r')).LastOrDefault(l => l.StartsWith(Marker, StringComparison.Ordinal));
        if (jsonLine is null) return Program.Fail($"{path}: no '{Marker.Trim()}' line (did the kernel boot?)");
        using var kernel = JsonDocument.Parse(jsonLine[Marker.Length..]);

        // Only the map the loader handed over: the lines before the kernel's own report.
        int reportAt = text.IndexOf("BIOS-provided physical RAM map (sanitized)", StringComparison.Ordinal);
        byte[] mapText = Encoding.ASCII.GetBytes(reportAt < 0 ? text : text[..reportAt]);
        MemoryMap raw = default;
        Status st;
        MapError err;
        fixed (byte* p = mapText) st = BootLogParser.Parse(p, mapText.Length, ref raw, out err);
        if (st != Status.Ok)
        {
            var ew = StringSink.NewWriter();
            err.Write(ref ew);
            return Program.Fail($"{path}: {ew.Sink.Text}");
        }
        BootInfo info = BootInfo.Default();
        // The i386 kernel boots the 3G/1G split's zones (DMA, Normal up to 896 MiB, HighMem).
        if (text.Contains("SharpMM kernel (i386,", StringComparison.Ordinal)) info.Layout = SharpMM.Physical.ZoneLayout.I386();
        using var machine = SimulatedMachine.Boot(ref raw, in info, out MapError sanErr);
        if (machine is null || machine.BootStatus != Status.Ok) return Program.Fail($"{path}: the hosted boot of the kernel's map failed");
        var w = StringSink.NewWriter();
        BootReport.WriteJson(ref w, in *machine.Memory);
        using var hosted = JsonDocument.Parse(w.Sink.Text.ToString());

        int failures = 0;
        void Check(string what, string k, string h)
        {
            bool ok = k == h;
            if (!ok) failures++;
            Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {what}: kernel {k}, hosted {h}");
        }
        Check("present_frames", kernel.RootElement.GetProperty("present_frames").ToString(), hosted.RootElement.GetProperty("present_frames").ToString());
        var kz = kernel.RootElement.GetProperty("zones").EnumerateArray().ToArray();
        var hz = hosted.RootElement.GetProperty("zones").EnumerateArray().ToArray();
        Check("zone count", kz.Length.ToString(), hz.Length.ToString());
        for (int i = 0; i < Math.Min(kz.Length, hz.Length); i++)
        {
            string name = hz[i].GetProperty("name").GetString()!;
            Check($"zone {i} name", kz[i].GetProperty("name").GetString()!, name);
            foreach (var field in new[] { "start_pfn", "end_pfn", "present_frames" })
                Check($"zone {name} {field}", kz[i].GetProperty(field).ToString(), hz[i].GetProperty(field).ToString());
        }
        return failures == 0 ? 0 : 1;
    }
}
