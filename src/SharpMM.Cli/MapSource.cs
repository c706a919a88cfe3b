using System;
using System.CommandLine;
using System.IO;
using SharpMM.Boot;
using SharpMM.Hosted;

namespace SharpMM.Cli;

/// <summary>Where a command's memory map comes from: --map FILE, or the map QEMU gives a
/// --machine pc|q35 guest of --mem SIZE (default: pc, 128 MiB).</summary>
internal sealed unsafe class MapSource
{
    /// <summary>The most a map file may hold. A boot log's e820 lines, raw E820 entries and
    /// Multiboot maps are kilobytes; a whole dmesg is well under this.</summary>
    public const long MaxMapFileBytes = 16L << 20;

    /// <summary>The default --mem: QEMU's default guest.</summary>
    public const ulong DefaultMemory = 128UL << 20;

    /// <summary>The largest --mem: RAM at or above 16 TiB is refused by the boot anyway (frame
    /// numbers are 32 bits).</summary>
    public const ulong MaxMemory = 16UL << 40;

    public readonly Option<ulong?> Mem = CliOptions.Size("--mem", "RAM of the QEMU guest whose map is used (default 128M).", 2UL << 20, MaxMemory);
    public readonly Option<FileInfo> Map = new("--map")
    {
        Description = $"Read the memory map from FILE: Linux boot-log text (dmesg BIOS-e820 lines), raw E820 entries, or a Multiboot 1/2 map (at most {CliValues.FormatSize(MaxMapFileBytes)}).",
        HelpName = "FILE",
    };
    public readonly Option<string> Machine = CliOptions.Choice("--machine", "QEMU machine whose map --mem describes.", "pc", "pc", "q35");

    public void AddTo(Command c)
    {
        c.Options.Add(Mem);
        c.Options.Add(Map);
        c.Options.Add(Machine);
    }

    /// <summary>The raw map the options describe, and one line saying where it came from.
    /// Throws <see cref="UsageException"/> for a file that cannot be used.</summary>
    public MemoryMap Load(ParseResult r, out string description)
    {
        FileInfo? file = r.GetValue(Map);
        ulong? mem = r.GetValue(Mem);
        if (file != null && mem != null) throw new UsageException("give --mem or --map, not both");
        MemoryMap raw = default;
        if (file != null)
        {
            string path = file.ToString();
            byte[] bytes = InputFile.ReadAll(path, MaxMapFileBytes, "a memory map file");
            Status st;
            MapError err;
            MapFormat format;
            fixed (byte* p = bytes) st = MapLoader.Load(p, bytes.Length, ref raw, out err, out format);
            if (st != Status.Ok) throw new UsageException($"{path}: {Describe(err)}");
            description = $"{path} ({format})";
            return raw;
        }
        ulong bytesOfRam = mem ?? DefaultMemory;
        string machine = r.GetValue(Machine)!;
        try { raw = QemuMaps.ForMachine(bytesOfRam, machine); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        var w = StringSink.NewWriter();
        w.Size(bytesOfRam);
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
