using System;
using System.CommandLine;
using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Hosted;
using SharpMM.Virtual;

namespace SharpMM.Cli;

/// <summary>`sharpmm pagetable` and `sharpmm translate`: boot a layout (the higher-half boot
/// sequence) and show its final page tables, or the walk of one address through them.</summary>
internal static class PagingCommands
{
    public static Command PageTable()
    {
        var map = new MapSource();
        var layout = LayoutOptions.AddressSpace();
        var json = CliOptions.Json();
        var c = new Command("pagetable", "The layout's final page tables after its boot sequence, ptdump-style: merged runs with page sizes and flags, then table and leaf counts.");
        map.AddTo(c);
        c.Options.Add(layout);
        c.Options.Add(json);
        c.SetAction(r =>
        {
            MemoryMap raw = map.Load(r, out string source);
            using var boot = LayoutOptions.Boot(LayoutOptions.Id(r.GetValue(layout)!), raw, source);
            if (r.GetValue(json))
            {
                CliJson.Write(PageTableDocument(boot, source));
                return ExitCode.Done;
            }
            var w = StringSink.NewWriter();
            boot.Layout.WriteMap(ref w);
            w.Line();
            boot.WritePageTables(ref w);
            Console.Out.Write(w.Sink.Text.ToString());
            return ExitCode.Done;
        });
        return c;
    }

    /// <summary>`pagetable --json`: the layout and its final tables.</summary>
    internal static System.Text.Json.Nodes.JsonObject PageTableDocument(LayoutBoot boot, string source)
    {
        var doc = CliJson.Document("pagetable");
        doc["source"] = source;
        doc["layout"] = LayoutOptions.Json(boot.Layout);
        CliJson.Merge(doc, PageTableJson.Tables(boot).ToJsonString());
        return doc;
    }

    public static Command Translate()
    {
        var map = new MapSource();
        var layout = LayoutOptions.AddressSpace();
        var json = CliOptions.Json();
        var address = new Argument<ulong>("ADDR")
        {
            Description = "Virtual address in hexadecimal, e.g. 0xffffffff80100000.",
            CustomParser = r =>
            {
                if (CliValues.TryParseAddress(r.Tokens[0].Value, out ulong va, out string e)) return va;
                r.AddError($"ADDR: {e}");
                return 0;
            },
        };
        var c = new Command("translate",
            "The walk of virtual address ADDR through the layout's final tables, level by level (table, index, entry, bits), " +
            "and the MMU model's answer. A non-canonical x86-64 address is not walked: the CPU raises general protection.");
        c.Arguments.Add(address);
        map.AddTo(c);
        c.Options.Add(layout);
        c.Options.Add(json);
        c.SetAction(r =>
        {
            ulong va = r.GetValue(address);
            string text = r.GetResult(address)!.Tokens[0].Value;
            MemoryMap raw = map.Load(r, out string source);
            using var boot = LayoutOptions.Boot(LayoutOptions.Id(r.GetValue(layout)!), raw, source);
            if (boot.Layout.AddressBits == 32 && va > 0xFFFFFFFF) throw new UsageException($"ADDR: {text} does not fit a 32-bit address space");
            bool found = boot.Layout.TryFind(va, out LayoutRegion region);
            if (r.GetValue(json))
            {
                var doc = CliJson.Document("translate");
                doc["source"] = source;
                doc["layout"] = LayoutOptions.Json(boot.Layout);
                doc["region"] = found ? CliJson.Snake(RegionNames.Name(region.Kind)) : null;
                CliJson.Merge(doc, PageTableJson.Walk(boot, va).ToJsonString());
                CliJson.Write(doc);
                return ExitCode.Done;
            }
            var w = StringSink.NewWriter();
            w.Str("layout "); w.Str(boot.Layout.Name); w.Str(": ");
            w.Line(found ? RegionNames.Name(region.Kind) : "outside every region");
            if (boot.Layout.AddressBits > 32 && !VirtAddr.IsCanonical(va))
            {
                // Walking would sign-extend the address and show another page's walk.
                w.Hex(va, 16); w.Line(" is not canonical (bits 63..47 must all equal bit 47): nothing to walk");
                w.Str("MMU model: "); w.Hex(va, 16); w.Char(' ');
                w.Line(PageTableJson.Mmu(boot, va)["result"]!.GetValue<string>().Replace('_', ' '));
            }
            else boot.WriteWalk(va, ref w);
            Console.Out.Write(w.Sink.Text.ToString());
            return ExitCode.Done;
        });
        return c;
    }
}
