using System;
using System.IO;
using Xunit;
using static SharpMM.Tests.Cli.CliRun;

namespace SharpMM.Tests.Cli;

/// <summary>
/// Bad input to every command: refused before anything runs, exit status 2, nothing on stdout,
/// one line on stderr that names the problem (the option and the value), never a stack trace or
/// a signal (CliRun checks those on every run).
/// </summary>
public class CliBadInputTests
{
    [Theory]
    // Numbers: not a number, NaN, infinities, too small, too large, negative.
    [InlineData("--scale: 'abc' is not a finite number", "bench", "W0", "--scale", "abc")]
    [InlineData("--scale: 'NaN' is not a finite number", "bench", "W0", "--scale", "NaN")]
    [InlineData("--scale: 'NaN' is not a finite number", "bench", "W0", "--json", "--scale", "NaN")]
    [InlineData("--scale: 'Infinity' is not a finite number", "bench", "W0", "--scale", "Infinity")]
    [InlineData("--scale: '1e-300' is out of range", "bench", "W0", "--scale", "1e-300")]
    [InlineData("--scale: '-1' is out of range", "bench", "W0", "--scale", "-1")]
    [InlineData("--scale: '1000' is out of range", "bench", "W3", "--scale", "1000")]
    [InlineData("--reps: 'abc' is not a whole number", "bench", "W0", "--reps", "abc")]
    [InlineData("--reps: '99999999999' is out of range: give 1 to 64", "bench", "W0", "--reps", "99999999999")]
    [InlineData("--reps: '0' is out of range", "bench", "W1", "--reps", "0")]
    [InlineData("--threads goes with W5, W5x, W6 or W6x, not W3", "bench", "W3", "--threads", "2")]
    [InlineData("--threads: '0' is out of range", "bench", "W6", "--threads", "0")]
    [InlineData("--threads: '17' is out of range", "bench", "W6x", "--threads", "17")]
    [InlineData("--cpus goes with W5, W5x, W6 or W6x, not W3h", "bench", "W3h", "--cpus", "2")]
    [InlineData("--cpus 1: fewer CPUs online than --threads 2", "bench", "W5", "--threads", "2", "--cpus", "1")]
    [InlineData("--cpus: '17' is out of range", "bench", "W6", "--cpus", "17")]
    [InlineData("--seed: '-1' is negative", "workload", "recursion", "--seed", "-1")]
    [InlineData("--seed: 'abc' is not a whole number", "workload", "recursion", "--seed", "abc")]
    [InlineData("--seed: '18446744073709551616' is out of range", "workload", "recursion", "--seed", "18446744073709551616")]
    [InlineData("--scale: 'abc' is not a finite number", "workload", "recursion", "--scale", "abc")]
    [InlineData("--scale: 'nan' is not a finite number", "workload", "memory-hog", "--scale", "nan")]
    // Sizes.
    [InlineData("--mem: '12Q' is not a size", "boot", "--mem", "12Q")]
    [InlineData("--mem: '0' is out of range", "boot", "--mem", "0")]
    [InlineData("--mem: '-5M' is not a size", "boot", "--mem", "-5M")]
    [InlineData("--mem: '100T' is out of range", "boot", "--mem", "100T")]
    [InlineData("--mem: '1.5' is not a whole number of bytes", "pagetable", "--mem", "1.5")]
    [InlineData("--mem: '4M' is out of range", "workload", "recursion", "--mem", "4M")]
    [InlineData("--mem: at most 3G for i386-higher-half", "workload", "recursion", "--layout", "i386-higher-half", "--mem", "4G")]
    [InlineData("--mem: the kernel needs at least 4 MiB of RAM, not 1 KiB", "qemu", "--mem", "1K")]
    [InlineData("--mem: the kernel needs at least 4 MiB of RAM, not 3 MiB", "qemu", "--mem", "3M")]
    [InlineData("--mem: give whole MiB", "qemu", "--mem", "4100K")]
    [InlineData("--timeout: '0' is out of range", "qemu", "--timeout", "0")]
    [InlineData("--smp: '0' is out of range", "qemu", "--smp", "0")]
    [InlineData("--smp: '17' is out of range", "qemu", "--smp", "17")]
    [InlineData("--mem: the i386 kernel takes at most 64 GiB, not 65 GiB", "qemu", "--arch", "i386", "--mem", "65G")]
    [InlineData("--mem: the i386 kernel takes at most 64 GiB, not 65 GiB", "qemu", "--arch", "i386", "--mem", "65G", "--append", "test=x pae")]
    [InlineData("--arch: 'arm' is not one of x86_64, i386", "qemu", "--arch", "arm")]
    [InlineData("--run: layout=phantom has no user address spaces", "qemu", "--arch", "i386", "--append", "layout=phantom", "--run", "/bin/true")]
    // Choices and names, with a suggestion when close.
    [InlineData("--machine: 'q3' is not one of pc, q35 (did you mean 'q35'?)", "boot", "--machine", "q3")]
    [InlineData("--layout: 'x86-64' is not one of", "pagetable", "--layout", "x86-64")]
    [InlineData("--layout: 'i386' is not one of", "translate", "--layout", "i386", "0x1000")]
    [InlineData("--layout: 'phantom-ia32' is not one of x86_64, i386-higher-half", "workload", "recursion", "--layout", "phantom-ia32")]
    [InlineData("--pcp: 'yes' is not one of on, off", "bench", "W0", "--pcp", "yes")]
    [InlineData("unknown workload 'W9'", "bench", "W9")]
    [InlineData("NAME: 'recursio' is not one of fork-server, recursion, memory-hog, object-space (did you mean 'recursion'?)", "workload", "recursio")]
    [InlineData("unknown command 'boto' for 'sharpmm' (did you mean 'boot'?)", "boto")]
    [InlineData("unknown command 'nosuchcommand'", "nosuchcommand")]
    [InlineData("unknown option '--jsno' for 'sharpmm boot' (did you mean '--json'?)", "boot", "--jsno")]
    [InlineData("unknown option '--frobnicate' for 'sharpmm boot'", "boot", "--frobnicate")]
    [InlineData("unknown argument 'extra' for 'sharpmm boot'", "boot", "extra")]
    // A subcommand's errors name the whole command, parents included.
    [InlineData("unknown option '--frobnicate' for 'sharpmm trace replay'", "trace", "replay", "x.trace", "--allocator", "buddy", "--frobnicate")]
    [InlineData("is not one of buddy, buddy-pcp, bitmap, freelist, kmalloc, glibc, jemalloc, mimalloc, tcmalloc (see sharpmm trace replay --help)", "trace", "replay", "x.trace", "--allocator", "nope")]
    [InlineData("no command given", new string[0])]
    [InlineData("--install-peers goes with W3, W3t, W3h, W6 or W6x", "bench", "W0", "--install-peers")]
    [InlineData("--pcp applies to the page-allocator workloads (W0, W1, W2, W2o9), not W4", "bench", "W4", "--pcp", "on")]
    // Addresses.
    [InlineData("ADDR: 'zzz' is not a 64-bit hexadecimal address", "translate", "zzz")]
    [InlineData("ADDR: '0x1ffffffffffffffff' is not a 64-bit hexadecimal address", "translate", "0x1ffffffffffffffff")]
    [InlineData("ADDR: 0x100000000 does not fit a 32-bit address space", "translate", "--layout", "i386-higher-half", "0x100000000")]
    [InlineData("Required argument 'ADDR' missing", "translate")]
    [InlineData("Required argument 'LOG' missing", "check-kernel-log")]
    // Files.
    [InlineData("/nonexistent/map.txt", "boot", "--map", "/nonexistent/map.txt")]
    [InlineData("/dev/zero: not a regular file", "boot", "--map", "/dev/zero")]
    [InlineData("/dev/null: file is empty", "pagetable", "--map", "/dev/null")]
    [InlineData("/tmp: is a directory", "boot", "--map", "/tmp")]
    [InlineData("give --mem or --map, not both", "boot", "--mem", "64M", "--map", "/dev/null")]
    [InlineData("/nonexistent/kernel.log", "check-kernel-log", "/nonexistent/kernel.log")]
    [InlineData("/dev/zero: not a regular file", "check-kernel-log", "/dev/zero")]
    public void Refused_WithOneLineNamingIt(string message, params string[] args)
    {
        var r = Run(args);
        Assert.Equal("", r.Stdout);
        AssertBadInput(r, message);
    }

    // A map file larger than any map is refused by its size, before it is read.
    [Fact]
    public void MapFile_OverTheCap_IsRefusedByName()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpmm-cli-big-{Guid.NewGuid():N}.bin");
        try
        {
            using (var f = File.Create(path)) f.SetLength(3L << 30); // sparse: no disk used
            AssertBadInput(Run("boot", "--map", path), path, "is more than a memory map file may hold (16 MiB)");
        }
        finally { File.Delete(path); }
    }

    [Theory]
    [InlineData("SHARPMM-JSON {\"present_frames\": 1,", "is not valid JSON")]
    [InlineData("SHARPMM-JSON {}", "has no 'schema_version'")]
    [InlineData("SHARPMM-JSON []", "has no 'schema_version'")]
    [InlineData("SHARPMM-JSON {\"schema_version\":1,\"present_frames\":5}", "has no 'zones' array")]
    [InlineData("no report at all", "no 'SHARPMM-JSON' line")]
    public void CheckKernelLog_MalformedReport_IsRefused(string line, string message)
    {
        string good = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Cli", "Logs", "kernel-pc-128M.log"));
        string[] lines = good.Split('\n');
        int at = Array.FindIndex(lines, l => l.StartsWith("SHARPMM-JSON ", StringComparison.Ordinal));
        Assert.True(at >= 0);
        lines[at] = line;
        string path = TempFile(string.Join('\n', lines));
        try { AssertBadInput(Run("check-kernel-log", path), path, message); }
        finally { File.Delete(path); }
    }

    // A count the kernel got wrong is a failed check (exit 1), not bad input.
    [Fact]
    public void CheckKernelLog_DifferentCount_Fails()
    {
        string good = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Cli", "Logs", "kernel-pc-128M.log"));
        string path = TempFile(good.Replace("\"present_frames\":32638", "\"present_frames\":32637"));
        try
        {
            var r = Run("check-kernel-log", path);
            Assert.Equal(1, r.Exit);
            Assert.Contains("FAIL present_frames: kernel 32637, hosted 32638", r.Stdout);
        }
        finally { File.Delete(path); }
    }

    // "cpus" on the JSON line must be the boot CPU plus one "smp: cpu N online" line per other CPU.
    [Fact]
    public void CheckKernelLog_CpusMustMatchTheOnlineLines()
    {
        string good = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Cli", "Logs", "kernel-pc-128M.log"));
        string[] lines = good.Split('\n');
        int at = Array.FindIndex(lines, l => l.StartsWith("SHARPMM-JSON ", StringComparison.Ordinal));
        string json = lines[at].TrimEnd('\r');
        lines[at] = json[..^1] + ",\"cpus\":2}";
        string claimsTwo = TempFile(string.Join('\n', lines));
        lines[at] = "smp: cpu 1 online, APIC id 1, GS area 0xffffffff80200200, stack [0xfffffffffff7e000-0xfffffffffffbdfff], guard page 0xfffffffffff7d000\n" + lines[at];
        string showsTwo = TempFile(string.Join('\n', lines));
        try
        {
            var r = Run("check-kernel-log", claimsTwo);
            Assert.Equal(1, r.Exit);
            Assert.Contains("FAIL cpus online: kernel 2, hosted 1", r.Stdout);
            r = Run("check-kernel-log", showsTwo);
            Assert.Equal(0, r.Exit);
            Assert.Contains("ok   cpus online: kernel 2, hosted 2", r.Stdout);
        }
        finally
        {
            File.Delete(claimsTwo);
            File.Delete(showsTwo);
        }
    }

    // --store must not silently turn someone's file into store data.
    [Fact]
    public void WorkloadStore_ExistingOtherFile_RefusedUnlessForced()
    {
        string path = TempFile("my notes, 14 B");
        try
        {
            AssertBadInput(Run("workload", "recursion", "--scale", "0.01", "--store", path), path, "is not a SharpMM store file", "--force");
            Assert.Equal("my notes, 14 B", File.ReadAllText(path));

            var forced = Run("workload", "recursion", "--scale", "0.01", "--store", path, "--force");
            Assert.Equal(0, forced.Exit);
            Assert.NotEqual("my notes, 14 B", File.ReadAllText(path));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void WorkloadStore_Directory_IsRefused() =>
        AssertBadInput(Run("workload", "recursion", "--store", Path.GetTempPath()), "is a directory");
}
