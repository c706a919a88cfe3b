using System.IO;
using System.Text.Json;
using Xunit;
using static SharpMM.Tests.Cli.CliRun;

namespace SharpMM.Tests.Cli;

/// <summary>The `sharpmm` command, run as a process: what a user sees.</summary>
public class CliTests
{
    [Fact]
    public void Boot_Default_ShowsTheReport()
    {
        var (exit, stdout, stderr) = Run("boot");
        Assert.Equal(0, exit);
        Assert.Equal("", stderr);
        Assert.Contains("BIOS-e820: [mem 0x0000000000100000-0x0000000007fdffff] usable", stdout);
        Assert.Contains("buddyinfo", stdout);
        Assert.Contains("present frames: 32638", stdout);
        // The lock table: the low-memory pool's lock was taken while memblock handed frames over;
        // one CPU, so nothing was contended and the zone locks were not taken.
        Assert.Contains("locks: kind           locks  acquisitions   contended   spin ticks\n", stdout);
        Assert.Matches(@"locks: frame-pool +1 +[1-9][0-9]* +0 +0\n", stdout);
        Assert.Contains("locks: zone               3             0           0            0\n", stdout);
    }

    [Fact]
    public void Boot_Json_IsOneObject()
    {
        var (exit, stdout, _) = Run("boot", "--mem", "6G", "--machine", "q35", "--json");
        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(3, doc.RootElement.GetProperty("zones").GetArrayLength());
    }

    // Nothing is allocated after the boot: the leak report finds no live allocation.
    [Fact]
    public void Boot_DebugHeap_PrintsTheLeakReport()
    {
        var (exit, stdout, _) = Run("boot", "--debug-heap");
        Assert.Equal(0, exit);
        Assert.Contains("leak report: 0 live allocations, 0 bytes, from 0 sites\n", stdout);
        Assert.Contains("\"debug\":true", Run("boot", "--debug-heap", "--json").Stdout);
        Assert.DoesNotContain("leak report", Run("boot").Stdout);
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
            var r = Run("boot", "--map", path);
            Assert.Equal("", r.Stdout);
            AssertBadInput(r, path, names);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Workload_TextReport_NamesTheWorkload()
    {
        var (exit, stdout, _) = Run("workload", "memory-hog", "--scale", "0.01");
        Assert.Equal(0, exit);
        Assert.Contains("workload memory-hog on x86_64", stdout);
        Assert.Contains("data checked: ok", stdout);
    }
}
