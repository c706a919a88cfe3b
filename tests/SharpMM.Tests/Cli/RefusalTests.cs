using System;
using System.Diagnostics;
using System.IO;
using Xunit;

namespace SharpMM.Tests.Cli;

/// <summary>
/// The inputs that used to crash the tool or corrupt memory (maps reaching 16 TiB, layouts on
/// RAM that does not hold their boot tables, machines beyond the host budget, a store path
/// naming someone's file), run as a user would: each ends with a status the tool chose (not a
/// signal), one line on stderr naming the problem and no stack trace, or boots.
/// </summary>
public class RefusalTests
{
    private static (int exit, string stdout, string stderr) Run(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "SharpMM.Cli.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("SHARPMM_MAX_HOST_MEMORY");
        using var p = Process.Start(psi)!;
        var stdoutTask = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdoutTask.Result, stderr);
    }

    private static string TempFile(string text)
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpmm-refusal-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, text);
        return path;
    }

    // Bad input (a layout that does not fit the RAM, a machine beyond the budget, a foreign store
    // file) exits 2; a boot that ran and failed exits 1 (docs/cli.md, exit status).
    private static void RefusedWithOneLine((int exit, string stdout, string stderr) r, string names, int expectedExit = 2)
    {
        Assert.True(r.exit == expectedExit, $"exit status {r.exit}, expected {expectedExit} (a signal shows as 128 + its number); stderr: {r.stderr}");
        string[] lines = r.stderr.TrimEnd().Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("sharpmm: ", lines[0]);
        Assert.Contains(names, lines[0]);
        Assert.DoesNotContain("   at ", r.stderr);
    }

    // Expect: refused, naming the RAM the layout needs (these died with SIGSEGV).
    [Theory]
    [InlineData("boot", "--layout", "x86_64", "--mem", "2M")]
    [InlineData("pagetable", "--layout", "i386-low-2g", "--mem", "3M")]
    public void LayoutBoot_OnTooLittleRam_IsRefused(params string[] args) =>
        RefusedWithOneLine(Run(args), "needs usable RAM at [0x100000, 0x300000)");

    // RAM only in [1 MiB, 1 MiB + 16 KiB) (an AccessViolationException before). Expect: every
    // layout refuses; the plain boot says the kernel image left no memory.
    [Fact]
    public void RamOnlyIn16KiB_IsRefused()
    {
        string path = TempFile("BIOS-e820: [mem 0x0000000000100000-0x0000000000103fff] usable\n");
        try
        {
            foreach (string layout in new[] { "x86_64", "i386-higher-half", "i386-low-2g", "phantom-ia32" })
                RefusedWithOneLine(Run("boot", "--layout", layout, "--map", path), "needs usable RAM");
            RefusedWithOneLine(Run("boot", "--map", path), "OutOfMemory", expectedExit: 1);
        }
        finally { File.Delete(path); }
    }

    // Expect: refused at once with the amount, the limit and the variable that raises it.
    // (100T is past what --mem accepts at all: the option's own range names it.)
    [Theory]
    [InlineData("1T", "SHARPMM_MAX_HOST_MEMORY=")]
    [InlineData("16T", "SHARPMM_MAX_HOST_MEMORY=")]
    [InlineData("100T", "--mem: '100T' is out of range")]
    public void TerabytesOfRam_AreRefused(string mem, string names) =>
        RefusedWithOneLine(Run("boot", "--mem", mem), names);

    // RAM crossing 16 TiB next to ordinary low RAM (it panicked). Expect: boots, the report
    // names the refused part, meminfo's Present leaves it out.
    [Fact]
    public void RamCrossing16TiB_Boots_AndNamesWhatWasRefused()
    {
        string path = TempFile(
            "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\n" +
            "BIOS-e820: [mem 0x0000000000100000-0x000000003fffffff] usable\n" +
            "BIOS-e820: [mem 0x00000fffc0000000-0x000010003fffffff] usable\n");
        try
        {
            var (exit, stdout, stderr) = Run("boot", "--map", path);
            Assert.True(exit == 0, stderr);
            Assert.Contains("warning: RAM [mem 0x0000100000000000-0x000010003fffffff] refused", stdout);
            Assert.DoesNotContain("kernel heap not started", stdout); // the frame table reaches 16 TiB
            Assert.Contains("slabinfo - version: 2.1", stdout);
        }
        finally { File.Delete(path); }
    }

    // Expect: a 14-byte text file given as the store is refused and left as it was.
    [Fact]
    public void StoreNamingAnotherFile_IsRefused_AndUnchanged()
    {
        string path = TempFile("my notes here\n");
        try
        {
            RefusedWithOneLine(Run("workload", "recursion", "--mem", "16M", "--scale", "0.1", "--store", path), "not a SharpMM store file");
            Assert.Equal("my notes here\n", File.ReadAllText(path));
        }
        finally { File.Delete(path); }
    }
}
