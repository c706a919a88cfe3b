using System;
using System.Diagnostics;
using System.IO;
using System.Text.Json;
using Xunit;

namespace SharpMM.Tests.Cli;

/// <summary>The `sharpmm` command, run as a process: what a user sees.</summary>
public class CliTests
{
    private static (int exit, string stdout, string stderr) Run(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "SharpMM.Cli.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdoutTask = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdoutTask.Result, stderr);
    }

    private static string TempFile(string text)
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpmm-cli-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Boot_Default_ShowsTheReport()
    {
        var (exit, stdout, _) = Run("boot");
        Assert.Equal(0, exit);
        Assert.Contains("BIOS-e820: [mem 0x0000000000100000-0x0000000007fdffff] usable", stdout);
        Assert.Contains("buddyinfo", stdout);
        Assert.Contains("present frames: 32638", stdout);
    }

    [Fact]
    public void Boot_Json_IsOneObject()
    {
        var (exit, stdout, _) = Run("boot", "--mem", "6G", "--machine", "q35", "--json");
        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(3, doc.RootElement.GetProperty("zones").GetArrayLength());
    }

    [Theory]
    [InlineData("[    0.000000] BIOS-e820: [mem 0x0000000000200000-0x00000000000fffff] usable\n", "line 1")]
    [InlineData("junk\nBIOS-e820: [mem 0x00000000000zz000-0x00000000000fffff] usable\n", "line 2")]
    [InlineData("nothing that looks like a memory map\n", "")]
    public void Boot_BadMap_OneClearMessage_NoStackTrace(string text, string names)
    {
        string path = TempFile(text);
        try
        {
            var (exit, stdout, stderr) = Run("boot", "--map", path);
            Assert.Equal(2, exit);
            Assert.Equal("", stdout);
            string[] lines = stderr.TrimEnd().Split('\n');
            Assert.Single(lines);
            Assert.StartsWith("sharpmm: ", lines[0]);
            Assert.Contains(names, lines[0]);
            Assert.DoesNotContain("   at ", stderr);
        }
        finally { File.Delete(path); }
    }

    [Theory]
    [InlineData("boot", "--mem", "12Q")]
    [InlineData("boot", "--map", "/nonexistent/map.txt")]
    [InlineData("boot", "--frobnicate")]
    [InlineData("bench", "W9")]
    [InlineData("nosuchcommand")]
    public void BadArguments_ExitTwo_WithOneLine(params string[] args)
    {
        var (exit, _, stderr) = Run(args);
        Assert.Equal(2, exit);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.DoesNotContain("   at ", stderr);
    }
}
