using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;
using static SharpMM.Tests.Cli.CliRun;

namespace SharpMM.Tests.Cli;

/// <summary>Every command's --json output on good input: one document that validates against
/// its schema in docs/schemas/, with schema_version and command first, and the figures the text
/// shows.</summary>
public class CliJsonTests
{
    private static string KernelLog => Path.Combine(AppContext.BaseDirectory, "Cli", "Logs", "kernel-pc-128M.log");

    [Theory]
    [InlineData("boot")]
    [InlineData("boot", "--mem", "6G", "--machine", "q35")]
    [InlineData("boot", "--layout", "i386")]
    [InlineData("boot", "--layout", "x86_64")]
    [InlineData("boot", "--layout", "i386-higher-half")]
    [InlineData("boot", "--layout", "phantom-ia32", "--mem", "64M")]
    [InlineData("boot", "--debug-heap")]
    [InlineData("pagetable")]
    [InlineData("pagetable", "--layout", "i386-low-2g")]
    [InlineData("translate", "0xffffffff80100000")]
    [InlineData("translate", "--layout", "i386-higher-half", "0xc0100000")]
    [InlineData("translate", "0x1000")]
    [InlineData("translate", "0x0000888000001000")]
    [InlineData("bench", "W0", "--scale", "0.001", "--reps", "1")]
    [InlineData("bench", "w1", "--scale", "0.01", "--reps", "1")]
    [InlineData("bench", "W2o9", "--scale", "0.001", "--reps", "1")]
    [InlineData("bench", "W3t", "--scale", "0.001", "--reps", "1")]
    [InlineData("bench", "W3h", "--scale", "0.001", "--reps", "1")]
    [InlineData("bench", "W4", "--scale", "0.001", "--reps", "1")]
    [InlineData("bench", "W6", "--threads", "2", "--scale", "0.001", "--reps", "1")]
    [InlineData("bench", "W6x", "--threads", "3", "--scale", "0.001", "--reps", "1")]
    [InlineData("bench", "W6", "--threads", "1", "--cpus", "2", "--scale", "0.001", "--reps", "1")]
    [InlineData("bench", "W5x", "--threads", "2", "--cpus", "3", "--scale", "0.01", "--reps", "1")]
    [InlineData("workload", "recursion", "--scale", "0.01")]
    [InlineData("workload", "fork-server", "--scale", "0.01", "--layout", "i386-higher-half")]
    public void Json_ValidatesAgainstItsSchema(params string[] args)
    {
        var r = Run(args.Append("--json").ToArray());
        using var doc = CliSchemas.AssertValid(args[0], r);
        var names = doc.RootElement.EnumerateObject().Select(p => p.Name).Take(2).ToArray();
        Assert.Equal(new[] { "schema_version", "command" }, names);
        Assert.Equal(args[0], doc.RootElement.GetProperty("command").GetString());
    }

    //   `sharpmm bench W5 --threads 1 --cpus 2 --json`, a short run.
    // Expect: the document says one thread on two CPUs online; the process's CPU time per pair is
    // there and, with one thread working, about its wall time per pair (not twice: the CPU that
    // runs nothing takes no time).
    [Fact]
    public void BenchJson_CpusOnline_AndCpuTimePerPair()
    {
        var r = Run("bench", "W5", "--threads", "1", "--cpus", "2", "--scale", "0.05", "--reps", "1", "--json");
        using var doc = CliSchemas.AssertValid("bench", r);
        JsonElement root = doc.RootElement;
        Assert.Equal(1, root.GetProperty("threads").GetInt32());
        Assert.Equal(2, root.GetProperty("cpus").GetInt32());
        double wall = root.GetProperty("ns_per_pair_per_thread").GetDouble(), cpu = root.GetProperty("cpu_ns_per_pair").GetDouble();
        Assert.InRange(cpu, 0.3 * wall, 1.7 * wall);
    }

    //   `sharpmm bench W5x --threads 2 --json`, a short run.
    // Expect: the line-transfer cost measured before and after the runs, two positive numbers,
    // when the process may run on two processors; absent on one (nothing to measure).
    [Fact]
    public void BenchJson_SeveralThreads_CarryTheLineTransferCost()
    {
        var r = Run("bench", "W5x", "--threads", "2", "--scale", "0.02", "--reps", "1", "--json");
        using var doc = CliSchemas.AssertValid("bench", r);
        bool present = doc.RootElement.TryGetProperty("line_transfer_ns", out JsonElement transfer);
        if (Environment.ProcessorCount < 2)
        {
            Assert.False(present, "line_transfer_ns on one processor");
            return;
        }
        Assert.True(present, "line_transfer_ns missing");
        Assert.Equal(2, transfer.GetArrayLength());
        Assert.All(transfer.EnumerateArray(), t => Assert.True(t.GetDouble() > 0, $"line transfer {t}"));
    }

    //   `sharpmm boot` and `sharpmm boot --json` of the same default machine.
    // Expect: "locks" has a member for each kind the text's lock table lists, with the same
    // acquisitions; the heap's page lock was taken (the boot made slabs); one CPU: nothing
    // contended.
    [Fact]
    public void BootJson_Locks_AreTheTextsLockTable()
    {
        var text = Run("boot");
        Assert.Equal(0, text.Exit);
        var rows = text.Stdout.Split('\n').Where(l => l.StartsWith("locks: ") && !l.Contains("acquisitions") && !l.Contains("total"))
            .Select(l => l["locks: ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray();
        Assert.NotEmpty(rows);
        var r = Run("boot", "--json");
        using var doc = CliSchemas.AssertValid("boot", r);
        JsonElement locks = doc.RootElement.GetProperty("locks");
        Assert.Equal(rows.Length, locks.EnumerateObject().Count());
        foreach (string[] row in rows)
        {
            JsonElement kind = locks.GetProperty(row[0].Replace('-', '_'));
            Assert.Equal(ulong.Parse(row[2]), kind.GetProperty("acquisitions").GetUInt64());
            Assert.Equal(0UL, kind.GetProperty("contended").GetUInt64());
        }
        Assert.True(locks.GetProperty("heap_pages").GetProperty("acquisitions").GetUInt64() > 0);
    }

    [Fact]
    public void CheckKernelLog_Json_ValidatesAndAgrees()
    {
        var r = Run("check-kernel-log", KernelLog, "--json");
        using var doc = CliSchemas.AssertValid("check-kernel-log", r);
        Assert.True(doc.RootElement.GetProperty("ok").GetBoolean());
        Assert.Contains(doc.RootElement.GetProperty("checks").EnumerateArray(), c => c.GetProperty("what").GetString() == "present_frames" && c.GetProperty("kernel").GetString() == "32638");
    }

    // The i386 kernel with legacy paging on q35 6G (kernel/test.sh's i386-q35-6G) left the 4 GiB
    // above 4 GiB out; the hosted boot of its map does the same because the log names the paging
    // mode. Told it was PAE, the hosted side manages that RAM and the counts differ.
    [Fact]
    public void CheckKernelLog_I386WithoutPae_RefusesTheRamAbove4GiB()
    {
        string log = Path.Combine(AppContext.BaseDirectory, "Cli", "Logs", "kernel-i386-q35-6G.log");
        var r = Run("check-kernel-log", log);
        Assert.Equal(0, r.Exit);
        Assert.Contains("ok   refused_ram_bytes: kernel 4294967296, hosted 4294967296", r.Stdout);
        Assert.Contains("ok   zone HighMem end_pfn: kernel 524255, hosted 524255", r.Stdout);
        string path = TempFile(File.ReadAllText(log).Replace(", legacy 32-bit paging\n", ", PAE paging, NX on\n"));
        try
        {
            var pae = Run("check-kernel-log", path);
            Assert.Equal(1, pae.Exit);
            Assert.Contains("FAIL refused_ram_bytes: kernel 4294967296, hosted 0", pae.Stdout);
        }
        finally { File.Delete(path); }
    }

    //   The x86-64 log (a kernel from before lock statistics: no "locks") checked with
    //   --require-locks; then with a "locks" object put on its line: a consistent one, one whose
    //   zone locks were contended more often than acquired, one where no lock was acquired.
    // Expect: the bare log fails only with --require-locks; the consistent object passes; the
    // other two fail, naming the check.
    [Fact]
    public void CheckKernelLog_Locks_PresentAndConsistent()
    {
        Assert.Equal(0, Run("check-kernel-log", KernelLog).Exit);
        var bare = Run("check-kernel-log", "--require-locks", KernelLog);
        Assert.Equal(1, bare.Exit);
        Assert.Contains("FAIL locks: kernel absent, hosted present", bare.Stdout);
        string text = File.ReadAllText(KernelLog);
        string With(string zone, string heap) => text.Replace("\"schema_version\":1,",
            "\"schema_version\":1,\"locks\":{\"zone\":{" + zone + "},\"heap_pages\":{" + heap + "}},");
        const string idle = "\"locks\":1,\"acquisitions\":0,\"contended\":0,\"spin_ticks\":0";
        foreach (var (zone, heap, exit, line) in new[]
        {
            ("\"locks\":3,\"acquisitions\":40,\"contended\":2,\"spin_ticks\":900", idle, 0, "ok   locks zone: contended <= acquisitions: kernel yes, hosted yes"),
            ("\"locks\":3,\"acquisitions\":4,\"contended\":5,\"spin_ticks\":900", idle, 1, "FAIL locks zone: contended <= acquisitions: kernel no (5 > 4), hosted yes"),
            (idle, idle, 1, "FAIL locks: some lock acquired: kernel no, hosted yes"),
        })
        {
            string path = TempFile(With(zone, heap));
            try
            {
                var r = Run("check-kernel-log", "--require-locks", path);
                Assert.Equal(exit, r.Exit);
                Assert.Contains(line, r.Stdout);
            }
            finally { File.Delete(path); }
        }
    }

    [Fact]
    public void CheckKernelLog_Text_OneLinePerCheck()
    {
        var r = Run("check-kernel-log", KernelLog);
        Assert.Equal(0, r.Exit);
        Assert.Contains("ok   present_frames: kernel 32638, hosted 32638", r.Stdout);
        Assert.DoesNotContain("FAIL", r.Stdout);
    }

    // The figures meminfo's text shows are in the JSON too.
    [Fact]
    public void Boot_Json_HasWhatTheTextShows()
    {
        using var doc = CliSchemas.AssertValid("boot", Run("boot", "--json"));
        var root = doc.RootElement;
        string text = Run("boot").Stdout;
        var meminfo = root.GetProperty("meminfo");
        Assert.Contains($"Present:        {meminfo.GetProperty("present_kb").GetUInt64(),12} kB", text);
        Assert.Contains($"LowMemFree:     {meminfo.GetProperty("low_mem_free_kb").GetUInt64(),12} kB", text);
        Assert.Contains($"PerCpuCached:   {meminfo.GetProperty("per_cpu_cached_kb").GetUInt64(),12} kB", text);
        Assert.Equal(root.GetProperty("present_frames").GetUInt64() * 4, meminfo.GetProperty("present_kb").GetUInt64());
        Assert.True(root.GetProperty("memblock_memory").GetArrayLength() > 0);
        Assert.True(root.GetProperty("boot_time_us").GetUInt64() > 0);
    }

    [Fact]
    public void Boot_Layout_Json_HasTheBootSteps()
    {
        using var doc = CliSchemas.AssertValid("boot", Run("boot", "--layout", "x86_64", "--json"));
        var steps = doc.RootElement.GetProperty("layout_boot").GetProperty("steps").EnumerateArray().Select(s => s.GetString()!).ToArray();
        Assert.Contains(steps, s => s.Contains("CR3"));
        Assert.Equal(0, doc.RootElement.GetProperty("layout_boot").GetProperty("failed_checks").GetInt32());
    }

    [Fact]
    public void Workload_Json_FaultKindsAreSnakeCase()
    {
        using var doc = CliSchemas.AssertValid("workload", Run("workload", "recursion", "--scale", "0.01", "--json"));
        var kinds = doc.RootElement.GetProperty("faults").EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Contains("stack_growth", kinds);
        Assert.DoesNotContain(kinds, k => k.Contains('-'));
    }

    [Fact]
    public void Workload_Json_FaultLatencyHistogram_CountsEveryFaultOnce_InAdjacentPowerOfTwoBuckets()
    {
        using var doc = CliSchemas.AssertValid("workload", Run("workload", "recursion", "--scale", "0.01", "--json"));
        long faults = doc.RootElement.GetProperty("faults").EnumerateObject().Sum(p => p.Value.GetProperty("count").GetInt64());
        var buckets = doc.RootElement.GetProperty("fault_latency").EnumerateArray().ToArray();
        Assert.NotEmpty(buckets);
        Assert.Equal(faults, buckets.Sum(b => b.GetProperty("count").GetInt64()));
        for (int i = 0; i < buckets.Length; i++)
        {
            ulong from = buckets[i].GetProperty("from_ns").GetUInt64(), to = buckets[i].GetProperty("to_ns").GetUInt64();
            Assert.Equal(2 * from, to);
            if (i > 0) Assert.Equal(buckets[i - 1].GetProperty("to_ns").GetUInt64(), from);
        }
    }

    [Fact]
    public void Translate_Json_WalksEveryLevelOfAMappedAddress()
    {
        using var doc = CliSchemas.AssertValid("translate", Run("translate", "0xffffffff80100000", "--json"));
        var root = doc.RootElement;
        Assert.Equal(new[] { "PML4", "PDPT", "PD", "PT" }, root.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("level").GetString()));
        Assert.True(root.GetProperty("mapped").GetBoolean());
        Assert.Equal("kernel_image", root.GetProperty("region").GetString());
        Assert.Equal(0x100000UL, root.GetProperty("page").GetProperty("phys").GetUInt64());
        Assert.Equal("ok", root.GetProperty("mmu").GetProperty("result").GetString());
    }

    // A non-canonical address is not sign-extended and walked: no steps, general protection.
    [Fact]
    public void Translate_NonCanonical_WalksNothing()
    {
        using var doc = CliSchemas.AssertValid("translate", Run("translate", "--layout", "x86_64", "0x0000888000001000", "--json"));
        Assert.False(doc.RootElement.GetProperty("canonical").GetBoolean());
        Assert.Equal(0, doc.RootElement.GetProperty("steps").GetArrayLength());
        Assert.Equal("general_protection", doc.RootElement.GetProperty("mmu").GetProperty("result").GetString());

        var text = Run("translate", "--layout", "x86_64", "0x0000888000001000");
        Assert.Equal(0, text.Exit);
        Assert.Contains("0x0000888000001000 is not canonical", text.Stdout);
        Assert.DoesNotContain("walk ", text.Stdout);
        Assert.DoesNotContain("0xffff888000001000", text.Stdout);
    }

    [Fact]
    public void Pagetable_Json_RunsMatchTheText()
    {
        using var doc = CliSchemas.AssertValid("pagetable", Run("pagetable", "--json"));
        string text = Run("pagetable").Stdout;
        var runs = doc.RootElement.GetProperty("runs").EnumerateArray().ToArray();
        Assert.NotEmpty(runs);
        foreach (var run in runs)
            Assert.Contains($"0x{run.GetProperty("start").GetUInt64():x16}-0x{run.GetProperty("end").GetUInt64():x16}", text);
    }

    // The schemas are strict enough to catch what they are for.
    [Fact]
    public void Schemas_RefuseDocumentsThatBreakTheConventions()
    {
        string good = Run("check-kernel-log", KernelLog, "--json").Stdout.Trim();
        Assert.Equal("", CliSchemas.Errors("check-kernel-log", good));
        Assert.NotEqual("", CliSchemas.Errors("check-kernel-log", good.Replace("\"schema_version\":1,", "")));
        Assert.NotEqual("", CliSchemas.Errors("check-kernel-log", good.Replace("\"failures\"", "\"failureCount\"")));
        Assert.NotEqual("", CliSchemas.Errors("check-kernel-log", good.Replace("\"ok\":true}", "\"ok\":\"yes\"}")));
    }
}
