using System;
using System.IO;
using SharpMM.Boot;
using SharpMM.Hosted;

namespace SharpMM.Cli;

/// <summary>Where a command's memory map comes from: --map FILE, or the map QEMU gives a
/// --machine pc|q35 guest of --mem SIZE (default: pc, 128 MiB).</summary>
internal static unsafe class MapSource
{
    public static readonly string[] Options = { "--mem", "--map", "--machine" };

    public static MemoryMap Load(Options o, out string description)
    {
        if (o.Has("--mem") && o.Has("--map")) throw new UsageException("give --mem or --map, not both");
        MemoryMap raw = default;
        if (o.Get("--map") is string path)
        {
            byte[] bytes = File.ReadAllBytes(path);
            if (bytes.Length == 0) throw new UsageException($"{path}: file is empty");
            Status st;
            MapError err;
            MapFormat format;
            fixed (byte* p = bytes) st = MapLoader.Load(p, bytes.Length, ref raw, out err, out format);
            if (st != Status.Ok) throw new UsageException($"{path}: {Describe(err)}");
            description = $"{path} ({format})";
            return raw;
        }
        ulong mem = o.Get("--mem") is string m ? SharpMM.Cli.Options.ParseSize(m) : 128UL << 20;
        string machine = o.Get("--machine") ?? "pc";
        try { raw = QemuMaps.ForMachine(mem, machine); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        var w = StringSink.NewWriter();
        w.Size(mem);
        description = $"QEMU {machine} guest with {w.Sink.Text}";
        return raw;
    }

    public static string Describe(in MapError e)
    {
        var w = StringSink.NewWriter();
        e.Write(ref w);
        return w.Sink.Text.ToString();
    }
}
