using System.CommandLine;
using System.IO;

namespace SharpMM.Cli.Report;

/// <summary>--report FILE (boot, workload) and the writing of a report file.</summary>
internal static class ReportOption
{
    public static Option<FileInfo> Create() => new("--report")
    {
        Description = "Also write the run as a self-contained HTML report to FILE (memory maps, charts; see `sharpmm report`).",
        HelpName = "FILE.html",
    };

    /// <summary>Writes the report of <paramref name="docs"/> to <paramref name="path"/>, whole:
    /// the page is built before the file is opened, so a failure leaves no partial file.</summary>
    public static void Write(string path, ReportDocuments docs, string title)
    {
        string html = HtmlReport.Write(docs, title);
        if (Directory.Exists(path)) throw new UsageException($"{path}: is a directory, not a file to write the report to");
        File.WriteAllText(path, html);
    }
}
