using System.Globalization;
using System.Security;
using System.Text;

namespace SharpMM.Cli.Report;

/// <summary>Small pieces of the report's generated SVG and HTML: escaping, numbers in invariant
/// culture, addresses, and a rectangle with its hover title and data attributes.</summary>
internal static class Svg
{
    public static string Esc(string text) => SecurityElement.Escape(text) ?? "";

    public static string Num(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    public static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>"[0x1000, 0x9f000) 620 KiB": a half-open range and its size, for hover titles.</summary>
    public static string Range(ulong start, ulong end) => $"[{Hex(start)}, {Hex(end)}) {Size(end - start)}";

    /// <summary>A power-of-two duration in nanoseconds for an axis label: "512 ns", "2 us", "1 ms".</summary>
    public static string Duration(ulong ns) =>
        ns >= 1_000_000 ? $"{Num(ns / 1e6)} ms" : ns >= 1000 ? $"{Num(ns / 1e3)} us" : $"{ns} ns";

    /// <summary>A size for reading: exact when a binary unit divides it and the count has at most
    /// four digits ("4 MiB", "4092 KiB"), else to one decimal in the largest unit it reaches
    /// ("895.7 MiB"); the exact bytes are in the data attributes.</summary>
    public static string Size(double bytes)
    {
        if (bytes < ulong.MaxValue)
        {
            string exact = CliValues.FormatSize((ulong)bytes);
            if (!exact.EndsWith(" bytes") && exact.IndexOf(' ') <= 4) return exact;
        }
        string[] units = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        int u = 0;
        while (bytes >= 1024 && u < units.Length - 1) { bytes /= 1024; u++; }
        return u == 0 ? $"{bytes:0} bytes" : $"{bytes.ToString("0.#", CultureInfo.InvariantCulture)} {units[u]}";
    }

    /// <summary>A rectangle with a &lt;title&gt; (what the browser shows on hover) and the range it
    /// stands for as data-start/data-end (decimal, as the JSON has them).</summary>
    public static void Rect(StringBuilder s, string cssClass, double x, double y, double w, double h, string title, ulong start, ulong end, string kind)
    {
        s.Append("<rect class=\"").Append(Esc(cssClass)).Append("\" x=\"").Append(Num(x)).Append("\" y=\"").Append(Num(y))
         .Append("\" width=\"").Append(Num(w)).Append("\" height=\"").Append(Num(h))
         .Append("\" data-kind=\"").Append(Esc(kind))
         .Append("\" data-start=\"").Append(start.ToString(CultureInfo.InvariantCulture))
         .Append("\" data-end=\"").Append(end.ToString(CultureInfo.InvariantCulture))
         .Append("\"><title>").Append(Esc(title)).Append("</title></rect>");
    }

    public static void Text(StringBuilder s, double x, double y, string text, string anchor = "start", string cssClass = "label") =>
        s.Append("<text class=\"").Append(cssClass).Append("\" x=\"").Append(Num(x)).Append("\" y=\"").Append(Num(y))
         .Append("\" text-anchor=\"").Append(anchor).Append("\">").Append(Esc(text)).Append("</text>");
}
