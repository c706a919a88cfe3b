using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using Xunit;
using static SharpMM.Tests.Cli.CliRun;

namespace SharpMM.Tests.Cli;

/// <summary>`sharpmm report` and `--report`: the file is written whole, its map is the one
/// `boot --json` prints, and bad input is refused with one line and no file.</summary>
public class CliReportTests : IDisposable
{
    private static readonly XNamespace SvgNs = "http://www.w3.org/2000/svg";
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpmm-report").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Report_WritesOnePage_WhoseMapAndBuddyinfoAreTheBootJsons()
    {
        string file = Path.Combine(_dir, "r.html");
        CliResult r = Run("report", "--mem", "512M", "-o", file);
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Equal($"sharpmm: wrote {file}\n", r.Stdout);
        JsonObject boot = JsonNode.Parse(Run("boot", "--mem", "512M", "--json").Stdout)!.AsObject();
        XElement page = XDocument.Parse(File.ReadAllText(file)["<!DOCTYPE html>\n".Length..]).Root!;
        XElement linear = page.Descendants(SvgNs + "svg").First(s => (string?)s.Attribute("data-scale") == "linear");
        Assert.Equal(boot["map"]!.AsArray().Select(e => ((ulong)e!["start"]!, (ulong)e["end"]!)),
                     linear.Descendants(SvgNs + "rect").Where(x => ((string)x.Attribute("class")!).StartsWith("e820")).Select(x => ((ulong)x.Attribute("data-start")!, (ulong)x.Attribute("data-end")!)));
        foreach (JsonNode? b in boot["buddyinfo"]!.AsArray().Where(b => b!["free_blocks"]!.AsArray().Any(n => (ulong)n! > 0)))
            Assert.Equal(b!["free_blocks"]!.AsArray().Select(n => (ulong)n!),
                         page.Descendants().Where(e => (string?)e.Attribute("data-zone") == (string)b["zone"]! && e.Name.LocalName == "table")
                             .Single().Descendants().Where(e => e.Attribute("data-free-blocks") != null).Select(e => (ulong)e.Attribute("data-free-blocks")!));
        // Self-contained: nothing fetched (no script, stylesheet link, image or font source).
        string html = File.ReadAllText(file);
        foreach (string external in new[] { "<script", "<link", "<img", "@import", "https://" })
            Assert.DoesNotContain(external, html);
        Assert.DoesNotMatch(@"url\((?!#)", html); // only references within the page
        // Ids are unique in the page (every chart's clip paths are scoped to the chart).
        var ids = page.Descendants().Select(e => (string?)e.Attribute("id")).Where(i => i != null).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void BootAndWorkload_WriteTheReportBesideTheirOutput()
    {
        string boot = Path.Combine(_dir, "b.html"), work = Path.Combine(_dir, "w.html");
        CliResult b = Run("boot", "--layout", "x86_64", "--json", "--report", boot);
        Assert.True(b.Exit == 0, b.Stderr);
        JsonNode.Parse(b.Stdout); // still one JSON document on stdout
        Assert.Contains("data-section=\"address-space\"", File.ReadAllText(boot));
        CliResult w = Run("workload", "recursion", "--scale", "0.01", "--report", work);
        Assert.True(w.Exit == 0, w.Stderr);
        Assert.Contains("data-section=\"workload\"", File.ReadAllText(work));
    }

    [Theory]
    [InlineData("Option '-o' is required", "report")]
    [InlineData("--mem: '12Q' is not a size", "report", "--mem", "12Q", "-o", "OUT")]
    [InlineData("--layout: 'x86' is not one of", "report", "--layout", "x86", "-o", "OUT")]
    [InlineData("--workload: 'hog' is not one of", "report", "--workload", "hog", "-o", "OUT")]
    [InlineData("--mem: a report with --workload needs 16M to 8G", "report", "--workload", "recursion", "--mem", "16G", "-o", "OUT")]
    [InlineData("give --mem or --map, not both", "report", "--mem", "1G", "--map", "MISSING", "-o", "OUT")]
    [InlineData("missing.txt", "report", "--map", "MISSING", "-o", "OUT")]
    [InlineData("-o NODIR: no directory NODIRPARENT to write the report in", "report", "-o", "NODIR")]
    [InlineData("is a directory", "report", "-o", "DIR")]
    public void BadInput_IsRefused_AndNoFileIsWritten(string message, params string[] args)
    {
        string output = Path.Combine(_dir, "out.html");
        string[] resolved = args.Select(a => a switch
        {
            "OUT" => output,
            "MISSING" => Path.Combine(_dir, "missing.txt"),
            "NODIR" => Path.Combine(_dir, "no-such-dir", "r.html"),
            "DIR" => _dir,
            _ => a,
        }).ToArray();
        string nodir = Path.Combine(_dir, "no-such-dir", "r.html");
        AssertBadInput(Run(resolved), message.Replace("NODIRPARENT", Path.GetDirectoryName(nodir)).Replace("NODIR", nodir));
        Assert.False(File.Exists(output));
    }

    // --report of boot, workload, bench and trace replay: a file in a directory that does not exist is refused
    // before the run, with one line naming the option and the directory. Expect: exit status 2,
    // nothing on stdout (the run did not start), no directory made.
    [Theory]
    [InlineData("boot", "--mem", "512M")]
    [InlineData("workload", "recursion", "--scale", "0.01")]
    [InlineData("bench", "W0", "--scale", "0.001", "--reps", "1")]
    public void ReportIntoAMissingDirectory_IsRefusedBeforeTheRun(params string[] args)
    {
        string dir = Path.Combine(_dir, "missing-dir"), file = Path.Combine(dir, "x.html");
        CliResult r = Run(args.Concat(new[] { "--report", file }).ToArray());
        AssertBadInput(r, $"--report {file}: no directory {dir} to write the report in");
        Assert.Equal("", r.Stdout);
        Assert.False(Directory.Exists(dir));
    }
}
