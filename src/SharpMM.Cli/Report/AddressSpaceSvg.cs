using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;

namespace SharpMM.Cli.Report;

/// <summary>
/// A layout's virtual address space as one strip of its regions in address order, the unused
/// ranges between them included (the x86-64 non-canonical hole among them). A segment's width
/// grows with log2 of its size, so a 4 KiB guard page and a 128 TiB user half are both visible;
/// the hover title gives the exact range and size, data-start/data-end the numbers.
/// </summary>
internal static class AddressSpaceSvg
{
    private const double Width = 1000, StripTop = 10, StripHeight = 46, LabelRoom = 150;

    public static string Draw(JsonObject layout)
    {
        int bits = (int)layout["address_bits"]!;
        // 48-bit layouts place the kernel in the sign-extended top half: the span is all 64 bits.
        UInt128 top = bits >= 48 ? (UInt128)1 << 64 : (UInt128)1 << bits;
        var segments = new List<(UInt128 Start, UInt128 End, string Kind, bool User)>();
        UInt128 cursor = 0;
        foreach (JsonNode? r in layout["regions"]!.AsArray().OrderBy(r => (ulong)r!["start"]!))
        {
            ulong s = (ulong)r!["start"]!, e = (ulong)r["end"]!;
            if (s > cursor) segments.Add((cursor, s, Unused(cursor, s, bits), false));
            segments.Add((s, e, (string)r["kind"]!, (bool)r["user"]!));
            cursor = e;
        }
        if (cursor < top) segments.Add((cursor, top, Unused(cursor, top, bits), false));

        double[] weight = segments.Select(g => Math.Log2(Math.Max(1.0, (double)(g.End - g.Start) / 4096)) + 2).ToArray();
        // The right margin leaves room for the last labels, drawn slanted down to the right.
        double scale = (Width - 130) / weight.Sum();
        var svg = new StringBuilder();
        double height = StripTop + StripHeight + LabelRoom;
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"vamap\" viewBox=\"0 0 {Width} {Svg.Num(height)}\" width=\"{Width}\" height=\"{Svg.Num(height)}\" role=\"img\">");
        svg.Append($"<title>Virtual address space of {Svg.Esc((string)layout["name"]!)}, regions in address order, widths by log2 of size</title>");
        double x = 10;
        for (int i = 0; i < segments.Count; i++)
        {
            var g = segments[i];
            double w = weight[i] * scale;
            ulong start = (ulong)g.Start, endForData = g.End > ulong.MaxValue ? ulong.MaxValue : (ulong)g.End;
            string size = Svg.Size((double)(g.End - g.Start));
            string endText = g.End > ulong.MaxValue ? "2^64" : Svg.Hex((ulong)g.End);
            string title = $"{g.Kind}{(g.User ? " (user)" : "")} [{Svg.Hex(start)}, {endText}) {size}";
            // No ulong holds 2^64: an unused range up to the top says 2^64 - 1 in data-end (regions
            // of the JSON always end below it).
            Svg.Rect(svg, "region kind-" + g.Kind + (g.User ? " user" : ""), x, StripTop, w, StripHeight, title, start, endForData, g.Kind);
            double cx = x + w / 2, ly = StripTop + StripHeight + 8;
            svg.Append($"<text class=\"label\" x=\"{Svg.Num(cx)}\" y=\"{Svg.Num(ly)}\" transform=\"rotate(50 {Svg.Num(cx)} {Svg.Num(ly)})\">{Svg.Esc(g.Kind)} {Svg.Esc(size)}</text>");
            x += w;
        }
        svg.Append("</svg>");
        return svg.ToString();
    }

    // The x86-64 range between the two canonical halves cannot be addressed at all.
    private static string Unused(UInt128 start, UInt128 end, int bits) =>
        bits == 48 && start <= (UInt128)1 << 47 && end >= ((UInt128)1 << 64) - ((UInt128)1 << 47) ? "non-canonical" : "unused";
}
