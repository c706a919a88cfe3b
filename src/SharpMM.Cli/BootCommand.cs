using System;
using System.CommandLine;
using System.Linq;
using System.Text.Json.Nodes;
using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Cli.Report;
using SharpMM.Heap;
using SharpMM.Hosted;
using SharpMM.Physical;
using SharpMM.Virtual;

namespace SharpMM.Cli;

/// <summary>`sharpmm boot`: boot a simulated machine and report.</summary>
internal static unsafe class BootCommand
{
    // "i386" and "lowhigh" only choose the 32-bit zone layouts for the physical boot; the
    // address-space layouts run the classic higher-half boot sequence (page tables, CR3 switch) first.
    private static readonly string[] ZoneLayouts = { "i386", "lowhigh" };

    public static Command Create()
    {
        var map = new MapSource();
        var layout = CliOptions.Choice("--layout",
            "i386-higher-half, i386-low-2g, phantom-ia32 or x86_64 first runs that kernel layout's boot sequence (temporary tables, " +
            "final tables, CR3 switch) on the MMU model and prints each step; i386 or lowhigh only picks 32-bit zones. " +
            "Default: the physical boot with x86-64 zones (DMA, DMA32, Normal).",
            null, LayoutOptions.AddressSpaces.Concat(ZoneLayouts).ToArray());
        var debugHeap = new Option<bool>("--debug-heap")
        {
            Description = "Bring the kernel heap up in debug mode (poison, red zones, allocation sites) and print its leak report.",
        };
        var json = CliOptions.Json();
        var report = ReportOption.Create();
        var c = new Command("boot",
            "Boot a simulated machine and show what the memory manager did: the sanitized map, memblock reservations, zones, " +
            "buddyinfo, meminfo and the kernel heap. Without --mem or --map: the map QEMU gives a 128 MiB pc guest.");
        map.AddTo(c);
        c.Options.Add(layout);
        c.Options.Add(debugHeap);
        c.Options.Add(json);
        c.Options.Add(report);
        c.SetAction(r =>
        {
            MemoryMap raw = map.Load(r, out string source);
            string? reportPath = r.GetValue(report)?.ToString();
            if (reportPath != null) ReportOption.CheckTarget(reportPath, "--report");
            string? layoutName = r.GetValue(layout);
            HeapMode heapMode = r.GetValue(debugHeap) ? HeapMode.Debug : HeapMode.Fast;
            if (layoutName != null && Array.IndexOf(ZoneLayouts, layoutName) < 0)
                return BootWithLayout(LayoutOptions.Id(layoutName), raw, source, heapMode, r.GetValue(json), reportPath);
            return Boot(raw, source, layoutName, heapMode, r.GetValue(json), reportPath);
        });
        return c;
    }

    private static int Boot(MemoryMap raw, string source, string? zoneLayout, HeapMode heapMode, bool json, string? reportPath)
    {
        using var machine = PhysicalBoot(ref raw, source, zoneLayout, out BootInfo info);
        using var heap = new MachineHeap(machine, heapMode);
        if (reportPath != null) ReportOption.Write(reportPath, new ReportDocuments(PhysicalDocument(machine, heap, info, source), null, null), $"sharpmm boot: {source}", "--report");
        if (json)
        {
            CliJson.Write(PhysicalDocument(machine, heap, info, source));
            return ExitCode.Done;
        }
        ulong bootUs = BootMicroseconds(machine);
        var t = StringSink.NewWriter();
        t.Str("SharpMM: booted a simulated machine: "); t.Str(source); t.Line();
        t.Str("simulated kernel image [mem "); t.Hex(info.KernelImage.Start, 16); t.Char('-'); t.Hex(info.KernelImage.End - 1, 16);
        t.Str("], boot info [mem "); t.Hex(info.BootInformation.Start, 16); t.Char('-'); t.Hex(info.BootInformation.End - 1, 16); t.Line("]");
        t.Line();
        BootReport.WriteText(ref t, in *machine.Memory);
        t.Str("boot sequence took "); t.Dec(bootUs); t.Line(" us");
        t.Line();
        heap.WriteText(ref t);
        t.Line();
        heap.WriteLocks(ref t, in *machine.Memory);
        Console.Out.Write(t.Sink.Text.ToString());
        return ExitCode.Done;
    }

    /// <summary>The physical boot (no address-space layout) of <paramref name="raw"/> with the
    /// zones of <paramref name="zoneLayout"/> (i386, lowhigh, or null for x86-64). Throws
    /// <see cref="UsageException"/> for a map the sanitizer refuses, <see cref="CommandFailedException"/>
    /// when the boot fails.</summary>
    internal static SimulatedMachine PhysicalBoot(ref MemoryMap raw, string source, string? zoneLayout, out BootInfo info)
    {
        info = BootInfo.Default();
        info.Layout = zoneLayout switch
        {
            "i386" => ZoneLayout.I386(),
            "lowhigh" => ZoneLayout.LowHigh(),
            _ => ZoneLayout.X86_64(),
        };
        // Stand-ins for what a loader reports: a 2 MiB kernel at 1 MiB, Multiboot info at 36 KiB.
        PhysRange.TryFromBounds(0x100000, 0x300000, out info.KernelImage);
        PhysRange.TryFromBounds(0x9000, 0xa000, out info.BootInformation);

        var machine = SimulatedMachine.Boot(ref raw, in info, out MapError sanErr);
        if (machine is null) throw new UsageException($"{source}: {MapSource.Describe(sanErr)}");
        if (machine.BootStatus != Status.Ok)
        {
            machine.Dispose();
            throw new CommandFailedException($"{source}: boot failed: {StatusNames.Name(machine.BootStatus)}");
        }
        return machine;
    }

    private static ulong BootMicroseconds(SimulatedMachine machine) => (ulong)(machine.BootTime.TotalMilliseconds * 1000);

    /// <summary>`boot --json` of a physical boot.</summary>
    internal static JsonObject PhysicalDocument(SimulatedMachine machine, MachineHeap heap, in BootInfo info, string source)
    {
        var doc = CliJson.Document("boot");
        doc["source"] = source;
        doc["kernel_image"] = Range(info.KernelImage);
        doc["boot_info"] = Range(info.BootInformation);
        doc["boot_time_us"] = BootMicroseconds(machine);
        var w = StringSink.NewWriter();
        heap.WriteJson(ref w, in *machine.Memory);
        CliJson.Merge(doc, w.Sink.Text.ToString());
        return doc;
    }

    /// <summary>`boot --layout NAME --json` of a layout's boot sequence.</summary>
    internal static JsonObject LayoutDocument(LayoutBoot boot, MachineHeap heap, string source)
    {
        var doc = CliJson.Document("boot");
        doc["source"] = source;
        doc["layout"] = LayoutOptions.Json(boot.Layout);
        doc["layout_boot"] = new JsonObject { ["steps"] = LayoutOptions.Steps(boot), ["failed_checks"] = boot.FailedChecks };
        var w = StringSink.NewWriter();
        heap.WriteJson(ref w, in *boot.Machine.Memory);
        CliJson.Merge(doc, w.Sink.Text.ToString());
        return doc;
    }

    private static int BootWithLayout(LayoutId id, MemoryMap raw, string source, HeapMode heapMode, bool json, string? reportPath)
    {
        using LayoutBoot boot = LayoutOptions.Boot(id, raw, source);
        using var heap = new MachineHeap(boot.Machine, heapMode);
        int exit = boot.FailedChecks == 0 ? ExitCode.Done : ExitCode.Failed;
        if (reportPath != null)
            ReportOption.Write(reportPath, new ReportDocuments(LayoutDocument(boot, heap, source), PagingCommands.PageTableDocument(boot, source), null), $"sharpmm boot --layout {boot.Layout.Name}: {source}", "--report");
        if (json)
        {
            CliJson.Write(LayoutDocument(boot, heap, source));
            return exit;
        }
        var t = StringSink.NewWriter();
        t.Str("SharpMM: booted a simulated machine: "); t.Str(source); t.Line();
        t.Line();
        boot.Layout.WriteMap(ref t);
        t.Line();
        t.Str(boot.Log);
        t.Line();
        BootReport.WriteText(ref t, in *boot.Machine.Memory);
        t.Line();
        heap.WriteText(ref t);
        t.Line();
        heap.WriteLocks(ref t, in *boot.Machine.Memory);
        Console.Out.Write(t.Sink.Text.ToString());
        if (exit != ExitCode.Done) Console.Error.WriteLine($"sharpmm: {boot.FailedChecks} checks of the {boot.Layout.Name} boot sequence failed (see CHECK FAILED above)");
        return exit;
    }

    private static JsonObject Range(PhysRange r) => new() { ["start"] = r.Start, ["end"] = r.End };
}
