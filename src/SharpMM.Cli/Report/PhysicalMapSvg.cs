using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;

namespace SharpMM.Cli.Report;

/// <summary>
/// The physical memory map of a boot document (`sharpmm boot --json`) drawn to scale in three
/// lanes: the firmware map's entries by type with the holes between them, the zones, and the
/// memblock reservations by owner. Every rectangle carries its range as data-start/data-end and
/// shows range and size on hover.
/// </summary>
internal static class PhysicalMapSvg
{
    private const double Width = 1000, LabelWidth = 150, LaneHeight = 30, LaneGap = 8, Top = 8;
    private const double BarWidth = Width - LabelWidth - 10;

    public static string Draw(JsonObject boot, MapScale scale)
    {
        var map = boot["map"]!.AsArray().Select(e => (Start: Get(e, "start"), End: Get(e, "end"), Type: (string)e!["type"]!)).ToList();
        ulong top = map.Count == 0 ? 4096 : map.Max(e => e.End);
        double X(ulong a) => LabelWidth + BarWidth * (scale == MapScale.Linear
            ? (double)a / top
            : Math.Log2(1 + a / 4096.0) / Math.Log2(1 + top / 4096.0));
        // A range too small to see at this scale still gets a sliver.
        double W(ulong s, ulong e) => Math.Max(X(e) - X(s), 1.5);

        var s = new StringBuilder();
        double height = Top + 3 * (LaneHeight + LaneGap) + 40;
        s.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"physmap\" data-scale=\"{scale.ToString().ToLowerInvariant()}\" viewBox=\"0 0 {Width} {Svg.Num(height)}\" width=\"{Width}\" height=\"{Svg.Num(height)}\" role=\"img\">");
        s.Append($"<title>Physical memory map, {scale.ToString().ToLowerInvariant()} scale, 0 to {Svg.Hex(top)}</title>");

        double y = Top;
        Lane(s, y, "firmware map");
        ulong cursor = 0;
        foreach (var e in map)
        {
            if (e.Start > cursor) Svg.Rect(s, "hole", X(cursor), y, W(cursor, e.Start), LaneHeight, "hole " + Svg.Range(cursor, e.Start), cursor, e.Start, "hole");
            Svg.Rect(s, "e820 type-" + e.Type, X(e.Start), y, W(e.Start, e.End), LaneHeight, e.Type + " " + Svg.Range(e.Start, e.End), e.Start, e.End, e.Type);
            cursor = Math.Max(cursor, e.End);
        }

        y += LaneHeight + LaneGap;
        Lane(s, y, "zones");
        int zi = 0;
        foreach (JsonNode? z in boot["zones"]!.AsArray())
        {
            ulong zs = Get(z, "start_pfn") << 12, ze = Get(z, "end_pfn") << 12;
            string name = (string)z!["name"]!;
            if (ze > zs) Svg.Rect(s, $"zone zone-{zi}", X(zs), y, W(zs, ze), LaneHeight, $"zone {name} " + Svg.Range(zs, ze), zs, ze, name);
            zi++;
        }

        y += LaneHeight + LaneGap;
        Lane(s, y, "memblock.reserved");
        foreach (JsonNode? r in boot["reserved"]!.AsArray())
        {
            ulong rs = Get(r, "start"), re = Get(r, "end");
            string owner = (string)r!["owner"]!;
            Svg.Rect(s, "reserved owner-" + owner, X(rs), y, W(rs, re), LaneHeight, $"reserved by {owner} " + Svg.Range(rs, re), rs, re, owner);
        }

        y += LaneHeight + 16;
        foreach (ulong a in Ticks(top, scale))
        {
            s.Append($"<line class=\"tick\" x1=\"{Svg.Num(X(a))}\" y1=\"{Svg.Num(Top)}\" x2=\"{Svg.Num(X(a))}\" y2=\"{Svg.Num(y - 10)}\"/>");
            // The label of a tick at the right edge ends there instead of running off the picture.
            Svg.Text(s, X(a), y, a == 0 ? "0" : Svg.Size(a), X(a) > Width - 40 ? "end" : "middle", "axis");
        }
        s.Append("</svg>");
        return s.ToString();
    }

    private static void Lane(StringBuilder s, double y, string name) => Svg.Text(s, 4, y + LaneHeight / 2 + 4, name);

    // Linear: multiples of the power of two nearest below a quarter of the span (round sizes:
    // 0, 4, 8, 12, 16 GiB). Log: powers of 16 from 64 KiB.
    private static IEnumerable<ulong> Ticks(ulong top, MapScale scale)
    {
        if (scale == MapScale.Linear)
        {
            ulong step = Math.Max(1UL, top / 4);
            step = 1UL << (63 - System.Numerics.BitOperations.LeadingZeroCount(step));
            for (ulong a = 0; a <= top; a += step)
            {
                yield return a;
                if (a > top - step) break;
            }
            yield break;
        }
        yield return 0;
        for (ulong a = 1UL << 16; a <= top && a != 0; a <<= 4) yield return a;
    }

    private static ulong Get(JsonNode? node, string name) => (ulong)node![name]!;
}
