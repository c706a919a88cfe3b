using System.Linq;
using Xunit;
using static SharpMM.Tests.Cli.CliRun;

namespace SharpMM.Tests.Cli;

/// <summary>--help on every command, --version, and what the help must list.</summary>
public class CliHelpTests
{
    private static readonly string[] Commands = { "boot", "pagetable", "translate", "bench", "workload", "qemu", "check-kernel-log", "trace" };

    [Theory]
    [InlineData("boot")]
    [InlineData("pagetable")]
    [InlineData("translate")]
    [InlineData("bench")]
    [InlineData("workload")]
    [InlineData("qemu")]
    [InlineData("check-kernel-log")]
    [InlineData("trace")]
    public void EveryCommand_HasHelp(string command)
    {
        foreach (var args in new[] { new[] { command, "--help" }, new[] { command, "-h" }, new[] { "help", command } })
        {
            var r = Run(args);
            Assert.Equal(0, r.Exit);
            Assert.Equal("", r.Stderr);
            Assert.Contains($"sharpmm {command}", r.Stdout);
            Assert.Contains("--help", r.Stdout);
        }
    }

    [Fact]
    public void MainHelp_ListsEveryCommandAndEveryQemuOption()
    {
        var r = Run("--help");
        Assert.Equal(0, r.Exit);
        foreach (string c in Commands) Assert.Contains($"sharpmm {c} ", r.Stdout);
        string qemu = r.Stdout.Split('\n').Single(l => l.TrimStart().StartsWith("sharpmm qemu "));
        foreach (string o in new[] { "--mem", "--machine", "--cpu", "--smp", "--append", "--log", "--timeout", "--no-build" }) Assert.Contains(o, qemu);
        Assert.Contains("0 done, 1 the thing run failed, 2 bad usage or input", r.Stdout);
    }

    // Every option kernel/qemu.sh takes, in the qemu command's own help.
    [Fact]
    public void QemuHelp_HasEveryOptionOfTheScript()
    {
        var r = Run("qemu", "--help");
        foreach (string o in new[] { "--mem", "--machine", "--cpu", "--smp", "--append", "--log", "--timeout", "--no-build" }) Assert.Contains(o, r.Stdout);
        Assert.Contains("4 MiB", r.Stdout);
    }

    [Fact]
    public void BenchHelp_ListsEveryWorkload()
    {
        var r = Run("bench", "--help");
        foreach (string w in new[] { "W0", "W1", "W2", "W2o9", "W3", "W3t", "W3h", "W4" }) Assert.Contains(w + " ", r.Stdout);
        Assert.Contains("--install-peers", r.Stdout);
    }

    [Fact]
    public void Version_IsOneLine()
    {
        var r = Run("--version");
        Assert.Equal(0, r.Exit);
        Assert.Single(r.Stdout.TrimEnd('\n').Split('\n'));
        Assert.Matches(@"^\d+\.\d+\.\d+", r.Stdout);
    }
}
