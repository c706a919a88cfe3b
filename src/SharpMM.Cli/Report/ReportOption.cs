using System;
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

    /// <summary>Refuses, before anything runs, a report path that cannot be written: a
    /// directory, or a file in a directory that does not exist (one line naming
    /// <paramref name="option"/> and the path; exit status 2).</summary>
    public static void CheckTarget(string path, string option)
    {
        if (Directory.Exists(path)) throw new UsageException($"{option} {path}: is a directory, not a file to write the report to");
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null && !Directory.Exists(dir))
            throw new UsageException($"{option} {path}: no directory {dir} to write the report in (create it first)");
    }

    /// <summary>Writes the report of <paramref name="docs"/> to <paramref name="path"/>, whole:
    /// the page is built before the file is opened, so a failure leaves no partial file. A path
    /// that cannot be written (checked again: it may have changed during the run, or be
    /// unwritable) is one line and exit status 2.</summary>
    public static void Write(string path, ReportDocuments docs, string title, string option)
    {
        string html = HtmlReport.Write(docs, title);
        CheckTarget(path, option);
        try
        {
            File.WriteAllText(path, html);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option} {path}: cannot write the report: {e.Message}");
        }
    }
}
