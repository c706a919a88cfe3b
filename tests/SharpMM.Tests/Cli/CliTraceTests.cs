using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Xml.Linq;
using SharpMM.Hosted.Peers;
using Xunit;
using static SharpMM.Tests.Cli.CliRun;

namespace SharpMM.Tests.Cli;

/// <summary>
/// `sharpmm trace record|import|replay` and `report --trace` as a user runs them: JSON valid
/// against docs/schemas/trace-*.schema.json, a recorded run replayed to the state it ended in,
/// the import's counts of the example lines of Linux 6.x, and one-line errors with exit status 2
/// for files that are not what they should be.
/// </summary>
public sealed class CliTraceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpmm-trace-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    // The lines of the issue (Linux 6.x), with frees that match allocations made in the trace.
    private static readonly string[] LinuxLines =
    {
        "# tracer: nop",
        "#",
        "bash-2006 [001] .....  2509.233212: mm_page_alloc: page=0000000054d27668 pfn=0x105194 order=1 migratetype=0 gfp_flags=GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_COMP",
        "gcc-2008 [000] ...2.  2509.234176: mm_page_free: page=00000000fc213ce2 pfn=0x1fc924 order=0",
        "gcc-2008 [000] ...2.  2509.234177: mm_page_free: page=0000000054d27668 pfn=0x105194 order=1",
        "bash-2006 [001] .....  2509.233142: kmalloc: call_site=__get_vm_area_node+0x80/0x140 ptr=0000000056cd3565 bytes_req=72 bytes_alloc=96 gfp_flags=GFP_KERNEL|__GFP_ZERO node=-1 accounted=false",
        "bash-2006 [001] .....  2509.233217: kfree: call_site=ida_alloc_range+0x39b/0x400 ptr=0000000000000000",
        "bash-2006 [001] .....  2509.233218: kfree: call_site=ida_alloc_range+0x39b/0x400 ptr=0000000056cd3565",
        "bash-2006 [001] .....  2509.233139: kmem_cache_alloc: call_site=copy_process+0x1a5/0x1e20 ptr=0000000005e2672a name=task_struct bytes_req=5824 bytes_alloc=5824 gfp_flags=GFP_KERNEL node=-1 accounted=true",
        "bash-2006 [001] .....  2509.233103: kmem_cache_free: call_site=__fput+0x141/0x2a0 ptr=00000000bc87e347 name=lsm_file_cache",
        "bash-2006 [001] .....  2509.233104: mm_page_free_batched: page=00000000fc213ce2 pfn=0x1fc925 order=0",
        "bash-2006 [001] .....  2509.233105: sched_switch: prev_comm=bash prev_pid=2006 prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120",
    };

    [Fact]
    public void ARecordedBenchRun_ReplaysOnItsAllocator_ToTheStateItEndedIn()
    {
        string trace = PathOf("w2.trace");
        using var rec = CliSchemas.AssertValid("trace-record", Run("trace", "record", "W2", "--scale", "0.01", "-o", trace, "--json"));
        Assert.Equal("buddy", rec.RootElement.GetProperty("replay_allocator").GetString());
        Assert.Equal(new FileInfo(trace).Length, rec.RootElement.GetProperty("bytes").GetInt64());
        using var rep = CliSchemas.AssertValid("trace-replay", Run("trace", "replay", trace, "--allocator", "buddy", "--json"));
        JsonElement r = rep.RootElement;
        Assert.Equal(rec.RootElement.GetProperty("end").GetRawText(), r.GetProperty("end").GetRawText());
        Assert.Equal(rec.RootElement.GetProperty("total_events").GetUInt64(), r.GetProperty("replayed_events").GetUInt64());
        Assert.Equal(0UL, r.GetProperty("divergent").GetUInt64());
        Assert.True(r.GetProperty("ok").GetBoolean());
    }

    [Fact]
    public void ALinuxTrace_IsImportedWithCountsPerEventName_AndReplaysOnPagesAndBytes()
    {
        string text = PathOf("kmem.txt"), trace = PathOf("kmem.trace");
        File.WriteAllLines(text, LinuxLines);
        using var imp = CliSchemas.AssertValid("trace-import", Run("trace", "import", text, "-o", trace, "--json"));
        JsonElement d = imp.RootElement;
        JsonElement ev = d.GetProperty("events");
        Assert.Equal(1UL, ev.GetProperty("mm_page_alloc").GetUInt64());
        Assert.Equal(2UL, ev.GetProperty("mm_page_free").GetUInt64());
        Assert.Equal(1UL, ev.GetProperty("mm_page_free_batched").GetUInt64());
        Assert.Equal(1UL, ev.GetProperty("kmalloc").GetUInt64());
        Assert.Equal(2UL, ev.GetProperty("kfree").GetUInt64());
        Assert.Equal(1UL, ev.GetProperty("kmem_cache_alloc").GetUInt64());
        Assert.Equal(1UL, ev.GetProperty("kmem_cache_free").GetUInt64());
        Assert.Equal(3UL, d.GetProperty("skipped").GetUInt64()); // two header lines, sched_switch
        Assert.Equal(3UL, d.GetProperty("unmatched").GetUInt64()); // frees of 0x1fc924, 0x1fc925, lsm_file_cache's object
        Assert.Equal(1UL, d.GetProperty("null_frees").GetUInt64());
        Assert.Equal(1UL, d.GetProperty("trace_events").GetProperty("page_alloc").GetUInt64());
        Assert.Equal(1UL, d.GetProperty("trace_events").GetProperty("cache_alloc").GetUInt64());

        foreach (string alloc in new[] { "buddy", "kmalloc" })
        {
            using var rep = CliSchemas.AssertValid("trace-replay", Run("trace", "replay", trace, "--allocator", alloc, "--json"));
            Assert.True(rep.RootElement.GetProperty("imported").GetBoolean());
            Assert.True(rep.RootElement.GetProperty("ok").GetBoolean());
            // Pages: the block's allocation and free; bytes: kmalloc, its kfree, and the task_struct left live.
            Assert.Equal(alloc == "buddy" ? 2UL : 3UL, rep.RootElement.GetProperty("replayed_events").GetUInt64());
        }
    }

    [Fact]
    public void AUserWorkloadWithTheDebugHeap_RecordsUnmapsAndCacheEvents_AndReplaysThemMatched()
    {
        string trace = PathOf("fork.trace");
        using var rec = CliSchemas.AssertValid("trace-record", Run("trace", "record", "fork-server", "--scale", "0.02", "--debug-heap", "-o", trace, "--json"));
        JsonElement events = rec.RootElement.GetProperty("events");
        Assert.NotEqual(0UL, events.GetProperty("unmap").GetUInt64());
        Assert.Equal(events.GetProperty("map").GetUInt64(), events.GetProperty("unmap").GetUInt64()); // every process exited
        Assert.NotEqual(0UL, events.GetProperty("cache_alloc").GetUInt64());
        Assert.Equal(events.GetProperty("cache_alloc").GetUInt64(), events.GetProperty("cache_free").GetUInt64());
        using var pages = CliSchemas.AssertValid("trace-replay", Run("trace", "replay", trace, "--allocator", "buddy", "--json"));
        Assert.Equal(events.GetProperty("unmap").GetUInt64(), pages.RootElement.GetProperty("replayed").GetProperty("unmap").GetUInt64());
        Assert.Equal(0UL, pages.RootElement.GetProperty("unmatched_unmaps").GetUInt64());
        Assert.Equal(0UL, pages.RootElement.GetProperty("end").GetProperty("live_mappings").GetUInt64());
        using var heap = CliSchemas.AssertValid("trace-replay", Run("trace", "replay", trace, "--allocator", "kmalloc", "--json"));
        Assert.Equal(events.GetProperty("cache_alloc").GetUInt64(), heap.RootElement.GetProperty("replayed").GetProperty("cache_alloc").GetUInt64());
        Assert.Equal(0UL, heap.RootElement.GetProperty("end").GetProperty("live_objects").GetUInt64());
        Assert.True(heap.RootElement.GetProperty("ok").GetBoolean());
    }

    [Fact]
    public void AMalformedLine_IsBadInputNamingTheFileAndLine_AndWritesNoTrace()
    {
        string text = PathOf("bad.txt"), trace = PathOf("bad.trace");
        File.WriteAllLines(text, new[] { LinuxLines[0], LinuxLines[2], "bash-2006 [001] .....  2509.3: mm_page_alloc: pfn=0xzz order=1" });
        AssertBadInput(Run("trace", "import", text, "-o", trace), text, "line 3", "pfn=0xzz");
        Assert.False(File.Exists(trace));
    }

    [Fact]
    public void AFileThatIsNotATrace_IsBadInputNamingTheOffset()
    {
        string notTrace = PathOf("text.trace");
        File.WriteAllText(notTrace, "hello, not a trace at all\n");
        AssertBadInput(Run("trace", "replay", notTrace, "--allocator", "buddy"), notTrace, "offset 0", "bad magic");
        AssertBadInput(Run("trace", "replay", PathOf("missing.trace"), "--allocator", "buddy"), "missing.trace");
        AssertBadInput(Run("trace", "import", PathOf("missing.txt"), "-o", PathOf("m.trace")), "missing.txt: no such file");
    }

    [Fact]
    public void OptionsThatDoNotApply_AreBadInput()
    {
        string trace = PathOf("w3h.trace");
        Assert.Equal(0, Run("trace", "record", "W3h", "--scale", "0.001", "-o", trace).Exit);
        AssertBadInput(Run("trace", "replay", trace, "--allocator", "kmalloc", "--mem", "64M"), "--mem");
        AssertBadInput(Run("trace", "record", "W0", "--mem", "64M", "-o", PathOf("x.trace")), "--mem");
        AssertBadInput(Run("trace", "record", "W0", "--debug-heap", "-o", PathOf("x.trace")), "--debug-heap");
        AssertBadInput(Run("trace", "record", "W0", "-o", Path.Combine(_dir, "no-such-dir", "x.trace")), "no-such-dir");
        AssertBadInput(Run("trace", "replay", trace, "--allocator", "slob"), "--allocator", "slob");
    }

    [Fact]
    public void AFreeListReplay_OnAMachineLargerThanTheHost_WritesOnlyTheFramesItHandsOut()
    {
        // The free list links only the frames it has handed out and taken back: a 64 GiB
        // machine costs this small trace's few frames, not 64 GiB of host memory.
        string trace = PathOf("w0-small.trace");
        Assert.Equal(0, Run("trace", "record", "W0", "--scale", "0.01", "-o", trace).Exit);
        Assert.Equal(0, Run("trace", "replay", trace, "--allocator", "freelist", "--mem", "64G").Exit);
        // A machine past what SharpMM manages at all: refused as input, not an internal error.
        AssertBadInput(Run("trace", "replay", trace, "--allocator", "buddy", "--mem", "16T"), "--mem", "passes");
        // At the trace's own size the free list replays.
        Assert.Equal(0, Run("trace", "replay", trace, "--allocator", "freelist").Exit);
    }

    // Every peer malloc of bench W3, through the command (which gives jemalloc the static TLS
    // room it needs, as bench W3 does). The test command installs the Debian packages; a machine
    // without one fails here with the package's name rather than passing without it.
    [Theory]
    [InlineData("glibc")]
    [InlineData("jemalloc")]
    [InlineData("mimalloc")]
    [InlineData("tcmalloc")]
    public void AHeapTrace_ReplaysOnEverySystemMalloc_AsBenchW3FindsThem(string peer)
    {
        Assert.True(PeerLibraries.IsAvailable(peer, out string why) || peer == "jemalloc", $"{why}: ./test.sh installs it");
        string trace = PathOf($"w3-{peer}.trace");
        Assert.Equal(0, Run("trace", "record", "W3", "--scale", "0.001", "-o", trace).Exit);
        using var rep = CliSchemas.AssertValid("trace-replay", Run("trace", "replay", trace, "--allocator", peer, "--json"));
        Assert.True(rep.RootElement.GetProperty("byte_level").GetBoolean());
        Assert.True(rep.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal(0UL, rep.RootElement.GetProperty("overlaps").GetUInt64());
        Assert.NotEqual(0UL, rep.RootElement.GetProperty("peak_live_bytes").GetUInt64());
    }

    [Fact]
    public void ReportWithATrace_DrawsTheReplayOverTime_WithTheFiguresOfTheJson()
    {
        string trace = PathOf("w2o9.trace"), html = PathOf("r.html");
        Assert.Equal(0, Run("trace", "record", "W2o9", "--scale", "0.01", "-o", trace).Exit);
        CliResult rep = Run("report", "--trace", trace, "-o", html);
        Assert.True(rep.Exit == 0, rep.Stderr);
        using var json = CliSchemas.AssertValid("trace-replay", Run("trace", "replay", trace, "--allocator", "buddy", "--json"));
        XElement page = XElement.Parse(File.ReadAllText(html).Replace("<!DOCTYPE html>", ""));
        XNamespace x = "http://www.w3.org/1999/xhtml";
        XElement section = page.Descendants(x + "section").Single(s => (string?)s.Attribute("data-section") == "trace-replay");
        Assert.Equal("buddy", (string?)section.Attribute("data-allocator"));
        var charts = section.Descendants(x + "figure").Select(f => (string?)f.Attribute("data-chart")).ToArray();
        Assert.Equal(new[] { "free-pages-by-order-buddy", "largest-free-order-buddy" }, charts);
        var rows = section.Descendants(x + "tr").Where(t => t.Attribute("data-event") != null)
            .Select(t => $"{t.Attribute("data-event")!.Value} {t.Attribute("data-free-frames")!.Value} {t.Attribute("data-largest-free-order")!.Value}").ToArray();
        var samples = json.RootElement.GetProperty("samples").EnumerateArray()
            .Select(s => $"{s.GetProperty("event")} {s.GetProperty("free_frames")} {s.GetProperty("largest_free_order")}").ToArray();
        Assert.NotEmpty(samples);
        Assert.Equal(samples, rows);
    }

    [Fact]
    public void BenchWithAReport_DrawsTheReplayOfItsRecordedRun_ButNotForW4()
    {
        string html = PathOf("bench.html");
        CliResult r = Run("bench", "W3h", "--scale", "0.001", "--reps", "1", "--report", html);
        Assert.True(r.Exit == 0, r.Stderr);
        XElement page = XElement.Parse(File.ReadAllText(html).Replace("<!DOCTYPE html>", ""));
        XNamespace x = "http://www.w3.org/1999/xhtml";
        XElement section = page.Descendants(x + "section").Single(s => (string?)s.Attribute("data-section") == "trace-replay");
        Assert.Equal("kmalloc", (string?)section.Attribute("data-allocator"));
        // W3h at scale 0.001: 1000 warm-up pairs and 10,000 timed ones, each a kmalloc and a kfree.
        Assert.Equal("22000", section.Descendants(x + "b").Single(b => (string?)b.Attribute("data-figure") == "replayed_events").Value);
        AssertBadInput(Run("bench", "W4", "--report", PathOf("w4.html")), "--report", "W4");
        Assert.False(File.Exists(PathOf("w4.html")));
    }
}
