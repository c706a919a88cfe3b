using SharpMM.Hosted.User;
using SharpMM.User;
using SharpMM.Virtual;
using Xunit;

namespace SharpMM.Tests.User;

/// <summary>The `sharpmm workload` programs, small: each checks its data, ends with every frame
/// back, and shows the behaviour it is named for.</summary>
public class UserWorkloadTests
{
    private static WorkloadReport Run(string name, LayoutId layout, double scale = 0.2) =>
        UserWorkloads.Run(name, new UserWorkloadOptions { Layout = layout, RamBytes = 16UL << 20, Scale = scale });

    // Expect: children copy a few pages each, far fewer than the parent's resident set.
    [Theory]
    [InlineData(LayoutId.X86_64)]
    [InlineData(LayoutId.I386HigherHalf)]
    public void ForkServer_CopiesLittle(LayoutId layout)
    {
        var r = Run("fork-server", layout);
        Assert.True(r.Verified, string.Join("; ", r.Notes));
        Assert.Equal(0, r.FramesNotReturned);
        long cow = r.FaultCounts[(int)FaultKind.CopyOnWrite];
        Assert.True(cow > 0 && (ulong)cow < r.Samples[0].ProcessPages, $"{cow} copies");
        Assert.True(r.ForkSharedPages > (ulong)cow * 10);
    }

    // Expect: the stack grows one fault a page to 8 MiB, then a stack-overflow result.
    [Theory]
    [InlineData(LayoutId.X86_64)]
    [InlineData(LayoutId.I386HigherHalf)]
    public void Recursion_GrowsTheStackToItsLimit(LayoutId layout)
    {
        var r = Run("recursion", layout);
        Assert.True(r.Verified, string.Join("; ", r.Notes));
        Assert.Equal(0, r.FramesNotReturned);
        Assert.Equal(1, r.FaultCounts[(int)FaultKind.StackOverflow]);
        Assert.True(r.FaultCounts[(int)FaultKind.StackGrowth] >= 2000);
    }

    // Expect: twice the RAM in use: pages go out to the store and come back, data intact.
    [Theory]
    [InlineData(LayoutId.X86_64)]
    [InlineData(LayoutId.I386HigherHalf)]
    public void MemoryHog_PagesThroughTheStore(LayoutId layout)
    {
        var r = Run("memory-hog", layout);
        Assert.True(r.Verified, string.Join("; ", r.Notes));
        Assert.Equal(0, r.FramesNotReturned);
        Assert.True(r.PagesOut > 4096 && r.PagesIn > 4096, $"out {r.PagesOut} in {r.PagesIn}");
        Assert.True(r.StoreWrites == (long)r.PagesOut);
        foreach (var s in r.Samples) Assert.True(s.UserFrames <= r.FreeFramesAtStart);
        // The samples count page-outs and page-ins so far: never falling, never past the totals.
        for (int i = 1; i < r.Samples.Count; i++)
            Assert.True(r.Samples[i].PagesOut >= r.Samples[i - 1].PagesOut && r.Samples[i].PagesIn >= r.Samples[i - 1].PagesIn, $"sample {i}");
        Assert.Equal(0UL, r.Samples[0].PagesOut);
        Assert.True(r.Samples[^1].PagesOut is > 0 and var o && o <= r.PagesOut && r.Samples[^1].PagesIn <= r.PagesIn);
    }

    // Expect: after the restart every object page is as the last snapshot left it.
    [Theory]
    [InlineData(LayoutId.X86_64)]
    [InlineData(LayoutId.I386HigherHalf)]
    public void ObjectSpace_ReopensTheLastSnapshot(LayoutId layout)
    {
        var r = Run("object-space", layout);
        Assert.True(r.Verified, string.Join("; ", r.Notes));
        Assert.Equal(0, r.FramesNotReturned);
        Assert.Equal(1024, r.FaultCounts[(int)FaultKind.StoreFill]);
    }

    // Expect: with the debug heap the workload still checks out and gives every frame back, and
    // its report carries a leak report with nothing live (every process was reaped), as text
    // and as the JSON member leak_report; the pmap listing names the main process's regions.
    [Fact]
    public void ForkServer_WithTheDebugHeap_ReportsNoLeaks()
    {
        var r = UserWorkloads.Run("fork-server", new UserWorkloadOptions { Layout = LayoutId.X86_64, RamBytes = 16UL << 20, Scale = 0.2, DebugHeap = true });
        Assert.True(r.Verified, string.Join("; ", r.Notes));
        Assert.Equal(0, r.FramesNotReturned);
        Assert.StartsWith("leak report: 0 live allocations, 0 bytes, from 0 sites", r.LeakReport);
        Assert.Equal(0, r.LeakReportJson!.Value.GetProperty("live_objects").GetInt64());
        Assert.Contains("leak_report", r.ToJson().Keys);
        Assert.Contains("Address            Kbytes     RSS   Dirty Mode  Mapping", r.Pmap);
        Assert.Null(Run("recursion", LayoutId.X86_64).LeakReport);
    }

    // Expect: a process never reaped is a live allocation of the debug heap, named by the site
    // that made it (UserMachine's spawn).
    [Fact]
    public unsafe void ProcessNeverReaped_IsInTheLeakReport()
    {
        using var m = new UserMachine<SharpMM.Paging.X86.X86LongModeFormat>(LayoutId.X86_64, 16UL << 20, null, 64, heapMode: SharpMM.Heap.HeapMode.Debug);
        var p = m.Spawn(4096, 4096);
        m.Exit(m.Spawn(4096, 4096));
        var w = SharpMM.Hosted.StringSink.NewWriter();
        SharpMM.Heap.HeapReport.WriteLeaks(ref w, in m.Heap!.Heap->Pages);
        string text = w.Sink.Text.ToString();
        Assert.StartsWith("leak report: 1 live allocations", text);
        Assert.Contains("UserMachine.cs:", text);
        m.Exit(p);
    }
}
