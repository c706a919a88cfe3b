using System;
using System.Globalization;
using SharpMM.Hosted;
using SharpMM.Virtual;

namespace SharpMM.Cli;

/// <summary>`sharpmm pagetable` and `sharpmm translate`: boot a layout (the higher-half boot
/// sequence) and show its final page tables, or the walk of one address through them.</summary>
internal static class PagingCommands
{
    public static int PageTable(string[] args)
    {
        var o = new Options(args, new[] { "--mem", "--map", "--machine", "--layout" }, Array.Empty<string>());
        if (o.Positional.Count > 0) throw new UsageException($"unexpected argument '{o.Positional[0]}'");
        using var boot = Boot(o);
        var w = StringSink.NewWriter();
        boot.Layout.WriteMap(ref w);
        w.Line();
        boot.WritePageTables(ref w);
        Console.Out.Write(w.Sink.Text.ToString());
        return 0;
    }

    public static int Translate(string[] args)
    {
        var o = new Options(args, new[] { "--mem", "--map", "--machine", "--layout" }, Array.Empty<string>());
        if (o.Positional.Count != 1) throw new UsageException("translate needs one virtual address, e.g. 0xc0100000");
        string text = o.Positional[0];
        string digits = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        if (!ulong.TryParse(digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong va))
            throw new UsageException($"'{text}' is not a hexadecimal address");
        using var boot = Boot(o);
        if (boot.Layout.AddressBits == 32 && va > 0xFFFFFFFF) throw new UsageException($"{text} does not fit a 32-bit address space");
        var w = StringSink.NewWriter();
        w.Str("layout "); w.Str(boot.Layout.Name); w.Str(": ");
        if (boot.Layout.TryFind(va, out LayoutRegion region)) w.Line(RegionNames.Name(region.Kind));
        else w.Line("outside every region");
        boot.WriteWalk(va, ref w);
        Console.Out.Write(w.Sink.Text.ToString());
        return 0;
    }

    private static LayoutBoot Boot(Options o)
    {
        string name = o.Get("--layout") ?? "x86_64";
        if (!AddressSpaceLayout.TryParse(name, out LayoutId id))
            throw new UsageException($"unknown layout '{name}' (i386-higher-half, i386-low-2g, phantom-ia32, x86_64)");
        var raw = MapSource.Load(o, out _);
        return LayoutBoot.Run(id, raw);
    }
}
