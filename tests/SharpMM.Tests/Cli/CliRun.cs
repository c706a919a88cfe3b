using System;
using System.Diagnostics;
using System.IO;
using Xunit;

namespace SharpMM.Tests.Cli;

/// <summary>What one run of the `sharpmm` command gave.</summary>
public sealed record CliResult(int Exit, string Stdout, string Stderr);

/// <summary>
/// Runs the `sharpmm` command as a process (the built SharpMM.Cli.dll next to the tests), as a
/// user would: the exit status, stdout and stderr. Tiered compilation is switched back on for
/// these runs: they measure nothing, and starting fully optimised costs each run a few hundred
/// milliseconds.
/// </summary>
public static class CliRun
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    public static CliResult Run(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "SharpMM.Cli.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_TieredCompilation"] = "1";
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdoutTask = p.StandardOutput.ReadToEndAsync();
        var stderrTask = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(Limit))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"sharpmm {string.Join(' ', args)} ran longer than {Limit}");
        }
        var result = new CliResult(p.ExitCode, stdoutTask.Result, stderrTask.Result);
        // 0, 1 and 2 are the only statuses the tool gives; a signal shows as 128 + its number.
        Assert.True(result.Exit is 0 or 1 or 2, $"sharpmm {string.Join(' ', args)} exited with {result.Exit} (killed by a signal?); stderr: {result.Stderr}");
        Assert.DoesNotContain("   at ", result.Stderr);
        Assert.DoesNotContain("Unhandled exception", result.Stderr);
        return result;
    }

    /// <summary>Asserts the run was refused as bad input: exit status 2, nothing on stdout, one
    /// line on stderr starting "sharpmm: " and containing each of <paramref name="names"/>.</summary>
    public static string AssertBadInput(CliResult r, params string[] names) => AssertOneLine(r, 2, names);

    /// <summary>Asserts the run failed (exit status 1) with one line on stderr naming the problem.</summary>
    public static string AssertFailed(CliResult r, params string[] names) => AssertOneLine(r, 1, names);

    private static string AssertOneLine(CliResult r, int exit, string[] names)
    {
        Assert.True(r.Exit == exit, $"exit {r.Exit}, expected {exit}; stderr: {r.Stderr}");
        string[] lines = r.Stderr.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("sharpmm: ", lines[0]);
        foreach (string n in names) Assert.Contains(n, lines[0]);
        return lines[0];
    }

    /// <summary>A temporary file holding <paramref name="text"/>; the caller deletes it.</summary>
    public static string TempFile(string text)
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpmm-cli-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, text);
        return path;
    }
}
