using System;
using System.Linq;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace SharpMM.Cli.Report;

/// <summary>
/// The report's charts, drawn by ScottPlot 5 as SVG and made fit to sit inline in HTML: no XML
/// declaration, and no list separator after the last number of a text's x/y attribute (SkiaSharp's
/// SVG canvas writes x="1.5, 2.5, ", which the SVG grammar for a list of lengths does not allow).
/// </summary>
internal static class Chart
{
    public const int Width = 640, Height = 300;

    /// <summary>A bar per label, one series.</summary>
    public static string Bars(string title, string xLabel, string yLabel, string[] labels, double[] values)
    {
        var plot = new ScottPlot.Plot();
        var bars = plot.Add.Bars(values);
        bars.Color = ScottPlot.Color.FromHex("#4477aa");
        Ticks(plot, labels);
        plot.Axes.Margins(bottom: 0);
        return Finish(plot, title, xLabel, yLabel);
    }

    /// <summary>Groups of bars (one series per name, one group per label), with a legend.</summary>
    public static string GroupedBars(string title, string xLabel, string yLabel, string[] labels, (string Name, string Color, double[] Values)[] series)
    {
        var plot = new ScottPlot.Plot();
        int n = series.Length;
        for (int s = 0; s < n; s++)
        {
            var bars = Enumerable.Range(0, labels.Length).Select(i => new ScottPlot.Bar
            {
                Position = i + (s - (n - 1) / 2.0) * 0.8 / n,
                Value = series[s].Values[i],
                Size = 0.8 / n,
                FillColor = ScottPlot.Color.FromHex(series[s].Color),
            }).ToList();
            var plotted = plot.Add.Bars(bars);
            plotted.LegendText = series[s].Name;
        }
        Ticks(plot, labels);
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        return Finish(plot, title, xLabel, yLabel);
    }

    /// <summary>Lines over a shared x axis, with a legend.</summary>
    public static string Lines(string title, string xLabel, string yLabel, double[] xs, (string Name, string Color, double[] Values)[] series)
    {
        var plot = new ScottPlot.Plot();
        foreach (var s in series)
        {
            var line = plot.Add.Scatter(xs, s.Values);
            line.LegendText = s.Name;
            line.Color = ScottPlot.Color.FromHex(s.Color);
        }
        // Beside the plot: lines fill the whole data area, a legend inside would hide some.
        plot.ShowLegend(ScottPlot.Edge.Right);
        return Finish(plot, title, xLabel, yLabel);
    }

    private static void Ticks(ScottPlot.Plot plot, string[] labels)
    {
        var ticks = labels.Select((l, i) => new ScottPlot.Tick(i, l)).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.HideGrid();
    }

    private static string Finish(ScottPlot.Plot plot, string title, string xLabel, string yLabel)
    {
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.Font.Set("DejaVu Sans");
        return Inline(plot.GetSvgXml(Width, Height));
    }

    private static readonly Regex LocalReference = new(@"url\(#([^)]+)\)");

    /// <summary>The chart with its element ids (clip paths) prefixed by <paramref name="scope"/>
    /// and the references to them changed to match: ids are document-wide in HTML, and every
    /// chart numbers its clip paths from the same start.</summary>
    public static string Scoped(string svg, string scope)
    {
        XElement root = XElement.Parse(svg);
        foreach (XElement e in root.DescendantsAndSelf())
            foreach (XAttribute a in e.Attributes())
            {
                if (a.Name == "id") a.Value = scope + "-" + a.Value;
                else if (a.Name.LocalName == "href" && a.Value.StartsWith('#')) a.Value = "#" + scope + "-" + a.Value[1..];
                else if (a.Value.Contains("url(#")) a.Value = LocalReference.Replace(a.Value, m => $"url(#{scope}-{m.Groups[1].Value})");
            }
        return root.ToString(SaveOptions.DisableFormatting);
    }

    private static readonly Regex TrailingSeparators = new(@"[,\s]+$");

    /// <summary>The SVG as an inline element: parsed, x/y lists trimmed, declaration dropped.</summary>
    internal static string Inline(string svg)
    {
        XDocument doc = XDocument.Parse(svg);
        XElement root = doc.Root ?? throw new InvalidOperationException("chart: the plotting library gave an empty SVG");
        foreach (XElement e in root.Descendants())
            foreach (XAttribute a in e.Attributes().Where(a => a.Name == "x" || a.Name == "y"))
                a.Value = TrailingSeparators.Replace(a.Value, "");
        root.SetAttributeValue("viewBox", $"0 0 {Width} {Height}");
        root.SetAttributeValue("role", "img");
        return root.ToString(SaveOptions.DisableFormatting);
    }
}
