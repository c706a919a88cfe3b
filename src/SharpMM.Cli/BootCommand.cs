using System;
using System.IO;
using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Hosted;
using SharpMM.Physical;

namespace SharpMM.Cli;

/// <summary>`sharpmm boot`: boot a simulated machine and report.</summary>
internal static unsafe class BootCommand
{
    public static int Run(string[] args)
    {
        var o = new Options(args, new[] { "--mem", "--map", "--machine", "--layout" }, new[] { "--json" });
        if (o.Positional.Count > 0) throw new UsageException($"unexpected argument '{o.Positional[0]}'");
        if (o.Has("--mem") && o.Has("--map")) throw new UsageException("give --mem or --map, not both");
        bool json = o.Has("--json");

        MemoryMap raw = default;
        string source;
        if (o.Get("--map") is string path)
        {
            byte[] bytes = File.ReadAllBytes(path);
            if (bytes.Length == 0) return Program.Fail($"{path}: file is empty");
            Status st;
            MapError err;
            MapFormat format;
            fixed (byte* p = bytes) st = MapLoader.Load(p, bytes.Length, ref raw, out err, out format);
            if (st != Status.Ok) return Program.Fail($"{path}: {Describe(err)}");
            source = $"{path} ({format})";
        }
        else
        {
            ulong mem = o.Get("--mem") is string m ? Options.ParseSize(m) : 128UL << 20;
            string machine = o.Get("--machine") ?? "pc";
            try { raw = QemuMaps.ForMachine(mem, machine); }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            var w0 = StringSink.NewWriter();
            w0.Size(mem);
            source = $"QEMU {machine} guest with {w0.Sink.Text}";
        }

        BootInfo info = BootInfo.Default();
        info.Layout = (o.Get("--layout") ?? "x86_64") switch
        {
            "x86_64" => ZoneLayout.X86_64(),
            "i386" => ZoneLayout.I386(),
            "lowhigh" => ZoneLayout.LowHigh(),
            var l => throw new UsageException($"unknown layout '{l}' (x86_64, i386, lowhigh)"),
        };
        // Stand-ins for what a loader reports: a 2 MiB kernel at 1 MiB, Multiboot info at 36 KiB.
        PhysRange.TryFromBounds(0x100000, 0x300000, out info.KernelImage);
        PhysRange.TryFromBounds(0x9000, 0xa000, out info.BootInformation);

        using var machineState = SimulatedMachine.Boot(ref raw, in info, out MapError sanErr);
        if (machineState is null) return Program.Fail($"{source}: {Describe(sanErr)}");
        if (machineState.BootStatus != Status.Ok)
            return Program.Fail($"{source}: boot failed: {StatusNames.Name(machineState.BootStatus)}");

        var w = StringSink.NewWriter();
        if (json)
        {
            BootReport.WriteJson(ref w, in *machineState.Memory);
            w.Line();
        }
        else
        {
            w.Str("SharpMM: booted a simulated machine: "); w.Str(source); w.Line();
            w.Str("simulated kernel image [mem 0x0000000000100000-0x00000000002fffff], boot info [mem 0x0000000000009000-0x0000000000009fff]"); w.Line();
            w.Line();
            BootReport.WriteText(ref w, in *machineState.Memory);
            w.Str("boot sequence took "); w.Dec((ulong)(machineState.BootTime.TotalMilliseconds * 1000)); w.Line(" us");
        }
        Console.Out.Write(w.Sink.Text.ToString());
        return 0;
    }

    private static string Describe(in MapError e)
    {
        var w = StringSink.NewWriter();
        e.Write(ref w);
        return w.Sink.Text.ToString();
    }
}
