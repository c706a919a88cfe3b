using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using SharpMM.Cli.Report;
using SharpMM.Hosted.Report;
using Xunit;
using SharpMM.Tests.Cli;
using static SharpMM.Tests.Cli.CliRun;

namespace SharpMM.Tests.Report;

/// <summary>
/// The HTML report read back with System.Xml: every section and chart is there, and the figures
/// its SVG and tables carry are the ones the commands' --json documents give.
/// </summary>
public class HtmlReportTests
{
    private static readonly XNamespace Html = "http://www.w3.org/1999/xhtml", SvgNs = "http://www.w3.org/2000/svg";

    private static JsonObject Json(params string[] args)
    {
        CliResult r = Run(args.Append("--json").ToArray());
        Assert.True(r.Exit == 0, r.Stderr);
        return JsonNode.Parse(r.Stdout)!.AsObject();
    }

    private static XElement Parse(string html)
    {
        Assert.StartsWith("<!DOCTYPE html>\n", html);
        return XDocument.Parse(html["<!DOCTYPE html>\n".Length..]).Root!;
    }

    private static XElement Section(XElement page, string name) =>
        Assert.Single(page.Descendants(Html + "section"), s => (string?)s.Attribute("data-section") == name);

    private static List<(string Kind, ulong Start, ulong End)> Rects(XElement svg, string cssClass) =>
        svg.Descendants(SvgNs + "rect")
           .Where(r => ((string?)r.Attribute("class") ?? "").Split(' ').Contains(cssClass))
           .Select(r => ((string)r.Attribute("data-kind")!, (ulong)r.Attribute("data-start")!, (ulong)r.Attribute("data-end")!))
           .ToList();

    [Fact]
    public void PhysicalMap_DrawsEachEntryZoneAndReservation_OfTheBootJson_InBothScales()
    {
        JsonObject boot = Json("boot", "--mem", "6G", "--machine", "q35");
        XElement page = Parse(HtmlReport.Write(new ReportDocuments(boot, null, null), "t"));
        var maps = Section(page, "physical-map").Descendants(SvgNs + "svg").ToList();
        Assert.Equal(new[] { "linear", "log" }, maps.Select(m => (string)m.Attribute("data-scale")!));
        foreach (XElement svg in maps)
        {
            Assert.Equal(boot["map"]!.AsArray().Select(e => ((string)e!["type"]!, (ulong)e["start"]!, (ulong)e["end"]!)), Rects(svg, "e820"));
            Assert.Equal(boot["reserved"]!.AsArray().Select(e => ((string)e!["owner"]!, (ulong)e["start"]!, (ulong)e["end"]!)), Rects(svg, "reserved"));
            Assert.Equal(boot["zones"]!.AsArray().Where(z => (ulong)z!["end_pfn"]! > (ulong)z["start_pfn"]!)
                             .Select(z => ((string)z!["name"]!, (ulong)z["start_pfn"]! << 12, (ulong)z["end_pfn"]! << 12)), Rects(svg, "zone"));
            // The holes are exactly the gaps between the map's entries, from address 0.
            var entries = Rects(svg, "e820").Concat(Rects(svg, "hole")).OrderBy(r => r.Start).ToList();
            Assert.Equal(0UL, entries[0].Start);
            for (int i = 1; i < entries.Count; i++) Assert.Equal(entries[i - 1].End, entries[i].Start);
            // Hovering shows the range and size.
            XElement first = svg.Descendants(SvgNs + "rect").First(r => (string?)r.Attribute("data-kind") == "kernel_image");
            Assert.Equal("reserved by kernel_image [0x100000, 0x300000) 2 MiB", (string)first.Element(SvgNs + "title")!);
        }
    }

    [Fact]
    public void Buddyinfo_TablesAndCharts_CarryTheJsonsFreeBlocks_AndLinuxsIndices()
    {
        JsonObject boot = Json("boot");
        XElement page = Parse(HtmlReport.Write(new ReportDocuments(boot, null, null), "t"));
        XElement section = Section(page, "buddyinfo");
        var managed = boot["zones"]!.AsArray().Where(z => (ulong)z!["managed_frames"]! > 0).Select(z => (string)z!["name"]!).ToList();
        Assert.NotEmpty(managed);
        foreach (JsonNode? b in boot["buddyinfo"]!.AsArray())
        {
            string zone = (string)b!["zone"]!;
            if (!managed.Contains(zone)) continue;
            ulong[] blocks = b["free_blocks"]!.AsArray().Select(n => (ulong)n!).ToArray();
            XElement table = Assert.Single(section.Descendants(Html + "table"), t => (string?)t.Attribute("data-zone") == zone);
            var rows = table.Elements(Html + "tr").Where(r => r.Attribute("data-order") != null).ToList();
            Assert.Equal(blocks, rows.Select(r => (ulong)r.Attribute("data-free-blocks")!));
            Assert.Equal(Enumerable.Range(0, blocks.Length).Select(o => FragmentationIndex.UnusableFree(o, blocks)), rows.Select(r => (int)r.Attribute("data-unusable")!));
            Assert.Equal(Enumerable.Range(0, blocks.Length).Select(o => FragmentationIndex.Extfrag(o, blocks)), rows.Select(r => (int)r.Attribute("data-extfrag")!));
            foreach (string chart in new[] { $"buddyinfo-{zone}", $"fragmentation-{zone}" })
                AssertChart(section, chart);
        }
    }

    [Fact]
    public void Kmalloc_ShowsEachSizeClass_WithItsSlabsFullPartialEmpty()
    {
        JsonObject boot = Json("boot");
        XElement page = Parse(HtmlReport.Write(new ReportDocuments(boot, null, null), "t"));
        XElement section = Section(page, "kmalloc");
        AssertChart(section, "kmalloc-objects");
        var rows = section.Descendants(Html + "tr").Where(r => r.Attribute("data-cache") != null).ToDictionary(r => (string)r.Attribute("data-cache")!);
        Assert.Equal(boot["slabinfo"]!.AsArray().Count, rows.Count);
        foreach (JsonNode? c in boot["slabinfo"]!.AsArray())
        {
            XElement row = rows[(string)c!["name"]!];
            Assert.Equal((ulong)c["active_objs"]!, (ulong)row.Attribute("data-active-objs")!);
            Assert.Equal((ulong)c["num_objs"]!, (ulong)row.Attribute("data-num-objs")!);
            ulong full = (ulong)row.Attribute("data-full")!, partial = (ulong)row.Attribute("data-partial")!, empty = (ulong)row.Attribute("data-empty")!;
            Assert.Equal((ulong)c["num_slabs"]!, full + partial + empty);
            Assert.Equal((ulong)c["active_slabs"]!, full + partial);
        }
    }

    [Theory]
    [InlineData("i386-higher-half")]
    [InlineData("x86_64")]
    public void AddressSpace_DrawsEveryRegion_AndCountsTablePagesPerLevel(string layout)
    {
        JsonObject tables = Json("pagetable", "--layout", layout);
        XElement page = Parse(HtmlReport.Write(new ReportDocuments(null, tables, null), "t"));
        XElement section = Section(page, "address-space");
        XElement svg = Assert.Single(section.Descendants(SvgNs + "svg"), s => (string?)s.Attribute("class") == "vamap");
        Assert.Equal(tables["layout"]!["regions"]!.AsArray().Select(r => ((string)r!["kind"]!, (ulong)r["start"]!, (ulong)r["end"]!)).OrderBy(r => r.Item2),
                     Rects(svg, "region").Where(r => r.Kind is not ("unused" or "non-canonical")));
        Assert.Equal(tables["tables"]!.AsArray().Select(t => ((string)t!["level"]!, (ulong)t["count"]!)),
                     section.Descendants(Html + "tr").Where(r => r.Attribute("data-level") != null).Select(r => ((string)r.Attribute("data-level")!, (ulong)r.Attribute("data-count")!)));
        Assert.Equal(tables["runs"]!.AsArray().Select(r => (ulong)r!["page_size"]!),
                     section.Descendants(Html + "tr").Where(r => r.Attribute("data-page-size") != null).Select(r => (ulong)r.Attribute("data-page-size")!));
        AssertChart(section, "page-table-pages");
        if (layout == "x86_64") Assert.Contains(Rects(svg, "region"), r => r.Kind == "non-canonical");
    }

    [Fact]
    public void Workload_ShowsTheResidentSetAndFaults_OfTheWorkloadJson()
    {
        JsonObject w = Json("workload", "memory-hog", "--scale", "0.05", "--mem", "16M");
        XElement page = Parse(HtmlReport.Write(new ReportDocuments(null, null, w), "t"));
        XElement section = Section(page, "workload");
        AssertChart(section, "resident-set");
        AssertChart(section, "faults");
        AssertChart(section, "paging");
        Assert.Equal(w["faults"]!.AsObject().Select(f => (f.Key, (long)f.Value!["count"]!)),
                     section.Descendants(Html + "tr").Where(r => r.Attribute("data-count") != null && r.Attribute("data-kind") != null).Select(r => ((string)r.Attribute("data-kind")!, (long)r.Attribute("data-count")!)));
        Assert.Equal(w["rss"]!.AsArray().Select(s => ((long)s!["step"]!, (ulong)s["process_pages"]!, (ulong)s["swapped"]!, (ulong)s["pages_out"]!, (ulong)s["pages_in"]!)),
                     section.Descendants(Html + "tr").Where(r => r.Attribute("data-step") != null)
                            .Select(r => ((long)r.Attribute("data-step")!, (ulong)r.Attribute("data-process-pages")!, (ulong)r.Attribute("data-swapped")!, (ulong)r.Attribute("data-pages-out")!, (ulong)r.Attribute("data-pages-in")!)));
        foreach (string k in new[] { "pages_out", "pages_in" })
            Assert.Equal((ulong)w[k]!, (ulong)section.Descendants(Html + "tr").Single(r => (string?)r.Attribute("data-name") == k).Attribute("data-value")!);
    }

    [Fact]
    public void Charts_AreInlineSvg_WithPlainNumberLists()
    {
        string svg = Chart.Bars("t", "x", "y", new[] { "a", "b" }, new[] { 1.0, 2.0 });
        XElement root = XElement.Parse(svg);
        Assert.Equal(SvgNs + "svg", root.Name);
        Assert.DoesNotContain("<?xml", svg);
        // SkiaSharp writes x="1.5, 2.5, "; what is left must be a plain list of numbers.
        foreach (XAttribute a in root.Descendants().Attributes().Where(a => a.Name == "x" || a.Name == "y"))
            Assert.Matches(@"^-?[0-9.e+-]+(, -?[0-9.e+-]+)*$", a.Value);
        Assert.Contains(root.Descendants(SvgNs + "text"), t => t.Value.Trim() == "t");
    }

    private static void AssertChart(XElement section, string name)
    {
        XElement figure = Assert.Single(section.Descendants(Html + "figure"), f => (string?)f.Attribute("data-chart") == name);
        XElement svg = Assert.Single(figure.Elements(SvgNs + "svg"));
        Assert.NotEmpty(svg.Descendants(SvgNs + "path"));
    }
}
