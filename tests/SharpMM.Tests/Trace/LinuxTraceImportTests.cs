using System.IO;
using System.Linq;
using SharpMM.Hosted.Trace;
using Xunit;

namespace SharpMM.Tests.Trace;

/// <summary>Import of Linux kmem trace text (the lines as Linux 6.x prints them, and older
/// kernels' variants): each event kind, what is counted rather than refused, malformed lines.</summary>
public class LinuxTraceImportTests
{
    private const string PageAlloc = "bash-2006 [001] .....  2509.233212: mm_page_alloc: page=0000000054d27668 pfn=0x105194 order=1 migratetype=0 gfp_flags=GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_COMP";
    private const string PageFree = "gcc-2008 [000] ...2.  2509.234176: mm_page_free: page=00000000fc213ce2 pfn=0x105194 order=1";
    private const string Batched = "gcc-2008 [000] ...2.  2509.234179: mm_page_free_batched: page=00000000fc213ce2 pfn=0x105194";
    private const string Kmalloc = "bash-2006 [001] .....  2509.233142: kmalloc: call_site=__get_vm_area_node+0x80/0x140 ptr=0000000056cd3565 bytes_req=72 bytes_alloc=96 gfp_flags=GFP_KERNEL|__GFP_ZERO node=-1 accounted=false";
    private const string Kfree = "bash-2006 [001] .....  2509.233217: kfree: call_site=ida_alloc_range+0x39b/0x400 ptr=0000000056cd3565";
    private const string KfreeNull = "bash-2006 [001] .....  2509.233217: kfree: call_site=ida_alloc_range+0x39b/0x400 ptr=0000000000000000";
    private const string CacheAlloc = "bash-2006 [001] .....  2509.233139: kmem_cache_alloc: call_site=copy_process+0x1a5/0x1e20 ptr=0000000005e2672a name=task_struct bytes_req=5824 bytes_alloc=5824 gfp_flags=GFP_KERNEL node=-1 accounted=true";
    private const string CacheFree = "bash-2006 [001] .....  2509.233103: kmem_cache_free: call_site=__fput+0x141/0x2a0 ptr=0000000005e2672a name=task_struct";

    private static ImportResult Import(params string[] lines) => LinuxTraceImport.Import(new StringReader(string.Join('\n', lines)));

    private static TraceEvent[] Events(ImportResult r)
    {
        TraceFile t = TraceFile.FromBytes(r.Trace.ToBytes());
        var list = new System.Collections.Generic.List<TraceEvent>();
        TraceCursor c = t.Events;
        while (c.Next(out TraceEvent e)) list.Add(e);
        return list.ToArray();
    }

    [Fact]
    public void PageAllocationAndFree_BecomeABlockOfTheSameOrderOnTheSimulatedMachine()
    {
        ImportResult r = Import(PageAlloc, PageFree);
        TraceEvent[] e = Events(r);
        Assert.Equal(new[] { TraceEventKind.PageAlloc, TraceEventKind.PageFree }, e.Select(x => x.Kind));
        Assert.All(e, x => Assert.Equal(1, x.Order));
        // The source pfn 0x105194 is remapped: the first block sits at the machine's first frame.
        Assert.All(e, x => Assert.Equal(LinuxTraceImport.BasePfn, x.A));
        Assert.Equal(1UL, r.Events["mm_page_alloc"]);
        Assert.Equal(1UL, r.Events["mm_page_free"]);
        Assert.Equal(0UL, r.UnmatchedFrees);
    }

    [Fact]
    public void BatchedFree_WithoutAnOrder_FreesAnOrderZeroPage()
    {
        ImportResult r = Import(PageAlloc.Replace("order=1", "order=0"), Batched);
        TraceEvent[] e = Events(r);
        Assert.Equal(TraceEventKind.PageFree, e[1].Kind);
        Assert.Equal(0, e[1].Order);
        Assert.Equal(1UL, r.Events["mm_page_free_batched"]);
    }

    [Fact]
    public void KmallocAndKfree_KeepSizeSiteAndObject()
    {
        ImportResult r = Import(Kmalloc, Kfree);
        TraceEvent[] e = Events(r);
        Assert.Equal(TraceEventKind.Kmalloc, e[0].Kind);
        Assert.Equal(72UL, e[0].B); // bytes_req: what was asked for
        Assert.Equal(TraceEventKind.Kfree, e[1].Kind);
        Assert.Equal(e[0].A, e[1].A);
        TraceFile t = TraceFile.FromBytes(r.Trace.ToBytes());
        Assert.Equal("__get_vm_area_node", t.Sites[e[0].C]);
        Assert.Equal("ida_alloc_range", t.Sites[e[1].C]);
    }

    [Fact]
    public void SlabCacheEvents_KeepTheCacheByNameAndItsObjectSize()
    {
        TraceEvent[] e = Events(Import(CacheAlloc, CacheFree));
        Assert.Equal(new[] { TraceEventKind.CacheAlloc, TraceEventKind.CacheFree }, e.Select(x => x.Kind));
        Assert.Equal(5824UL, e[0].B);
        Assert.Equal(e[0].C, e[1].C);
        Assert.Equal(e[0].A, e[1].A);
    }

    [Fact]
    public void FreesOfWhatTheTraceDidNotAllocate_NullFreesAndOtherEvents_AreCountedNotRefused()
    {
        ImportResult r = Import("# tracer: nop", "#", "cpus=2", PageFree, Kfree, CacheFree, KfreeNull,
            "bash-2006 [001] .....  2509.233218: sched_switch: prev_comm=bash prev_pid=2006", "CPU 1 is empty");
        Assert.Empty(Events(r));
        Assert.Equal(3UL, r.UnmatchedFrees);
        Assert.Equal(1UL, r.NullFrees);
        Assert.Equal(1UL, r.OtherEvents["sched_switch"]);
        Assert.Equal(4UL, r.HeaderLines);
    }

    [Fact]
    public void TraceCmdReportLines_WithoutFlags_AndTasksWithSpaces_AreRead()
    {
        ImportResult r = Import(
            "version = 6",
            "CPU 0 is empty",
            "cpus=2",
            "     kworker/u4:1-71    [000]  2509.233212: mm_page_alloc:        page=0xffffea0004146500 pfn=0x105194 order=0 migratetype=1 gfp_flags=GFP_KERNEL",
            "  Web Content-3021  [001]  2509.233213: mm_page_free:         page=0xffffea0004146500 pfn=0x105194 order=0");
        Assert.Equal(2, Events(r).Length);
        Assert.Equal(0UL, r.UnmatchedFrees);
    }

    [Fact]
    public void OlderKernels_PrintThePfnInDecimal()
    {
        ImportResult r = Import(
            "bash-1 [000] .... 10.000001: mm_page_alloc: page=ffffea0004146500 pfn=1069460 order=2 migratetype=0 gfp_flags=GFP_KERNEL",
            "bash-1 [000] .... 10.000002: mm_page_free: page=ffffea0004146500 pfn=1069460 order=2");
        Assert.Equal(2, Events(r).Length);
        Assert.Equal(0UL, r.UnmatchedFrees);
    }

    [Fact]
    public void AFailedPageAllocation_IsCountedNotPlaced()
    {
        ImportResult r = Import("bash-1 [000] .... 10.000001: mm_page_alloc: page=0000000000000000 pfn=0x0 order=3 migratetype=0 gfp_flags=GFP_KERNEL");
        Assert.Empty(Events(r));
        Assert.Equal(1UL, r.FailedAllocations);
    }

    [Fact]
    public void LiveBlocks_GetDisjointPlaces_AndTheMachineHoldsTwiceThePeak()
    {
        var lines = Enumerable.Range(0, 300).Select(i => $"a-1 [000] .... 1.{i:D6}: mm_page_alloc: pfn=0x{0x100000 + 8 * i:x} order={i % 4}").ToArray();
        ImportResult r = Import(lines);
        TraceFile t = TraceFile.FromBytes(r.Trace.ToBytes());
        var used = new System.Collections.Generic.HashSet<ulong>();
        ulong frames = 0;
        foreach (TraceEvent e in Events(r))
            for (ulong f = e.A; f < e.A + (1UL << e.Order); f++) { Assert.True(used.Add(f), $"frame {f} in two live blocks"); frames++; }
        Assert.Equal(frames, t.PeakLiveFrames);
        Assert.True(t.Header.Frames >= 2 * frames);
    }

    [Theory]
    [InlineData("this is not a trace line", "line 2: not a trace event line")]
    [InlineData("bash-2006 [001] .....  2509.233212: mm_page_alloc: page=0000000054d27668 order=1", "line 2: mm_page_alloc: no pfn= field")]
    [InlineData("bash-2006 [001] .....  2509.233212: mm_page_alloc: pfn=0xzz order=1", "line 2: mm_page_alloc: pfn=0xzz is not a hexadecimal number")]
    [InlineData("bash-2006 [001] .....  2509.233212: mm_page_alloc: pfn=0x10 order=11", "line 2: mm_page_alloc: order=11 is not a number from 0 to 10")]
    [InlineData("bash-2006 [001] .....  2509.233212: kmalloc: call_site=x ptr=0000000056cd3565", "line 2: kmalloc: no bytes_req= field")]
    [InlineData("bash-2006 [001] .....  2509.233212: kfree: call_site=x", "line 2: kfree: no ptr= field")]
    public void AMalformedLine_IsRefusedNamingItsLineNumber(string line, string message)
    {
        var e = Assert.Throws<TraceImportException>(() => Import("# tracer: nop", line, Kmalloc));
        Assert.Equal(2, e.Line);
        Assert.StartsWith(message, e.Message);
    }
}
