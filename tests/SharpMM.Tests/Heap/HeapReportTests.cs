using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;
using SharpMM.Diagnostics;
using SharpMM.Heap;
using SharpMM.Hosted;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>/proc/slabinfo and /proc/meminfo as text and as the JSON members the boot report
/// will include.</summary>
public unsafe class HeapReportTests
{
    // 100 objects of 64 bytes, one of 5000 bytes, one large block of 20,000 bytes.
    // Expect: kmalloc-64 shows 100 active objects in 2 slabs of 64; meminfo's Slab line is the
    // slab pages; KmallocLarge is the large block's 8 pages.
    [Fact]
    public void Text_ShowsSlabinfoAndMeminfo()
    {
        using var f = new HeapFixture(2048);
        var p = new void*[100];
        for (int i = 0; i < 100; i++) f.H.Kmalloc(64, out p[i]);
        f.H.Kmalloc(5000, out void* mid);
        f.H.Kmalloc(20_000, out void* big);
        var w = StringSink.NewWriter();
        HeapReport.WriteText(ref w, in f.Pages);
        string text = w.Sink.Text.ToString();
        string[] lines = text.Split('\n');
        Assert.Equal("slabinfo - version: 2.1", lines[0]);
        Assert.Equal("# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>", lines[1]);
        // Linux's "%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu".
        string line = lines.First(l => l.StartsWith("kmalloc-64 "));
        Assert.Equal("kmalloc-64           100    128     64   64    1 : tunables    0    0    0 : slabdata      2      2      0", line);
        string extra = lines.SkipWhile(l => !l.StartsWith("slab caches, beyond slabinfo:")).First(l => l.StartsWith("kmalloc-64 "));
        string[] extraCols = extra.Split(' ', System.StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(new[] { "kmalloc-64", "64" }, extraCols[..2]);   // name, object size asked for
        Assert.True(ulong.Parse(extraCols[2]) <= 128 - 100);          // cpu_cached: free objects of the slabs
        Assert.Contains("kmalloc-8k", text);
        Assert.Contains($"{"Slab:",-20}{(f.Pages.SlabPages * 4096 + 1023) / 1024,9} kB", text);
        Assert.Contains($"{"KmallocLarge:",-20}{32,9} kB", text);
        Assert.Contains($"{"KmallocLargeBlocks:",-20}{1,9}", text);
        for (int i = 0; i < 100; i++) f.H.Kfree(p[i]);
        f.H.Kfree(mid); f.H.Kfree(big);
        f.DestroyAndCheck();
    }

    // The two members parse as JSON inside an enclosing object and agree with the structures.
    [Fact]
    public void Json_HasSlabinfoAndMeminfoHeap()
    {
        using var f = new HeapFixture(2048);
        var c = (SlabCache*)NativeMemory.AllocZeroed((nuint)sizeof(SlabCache));
        Assert.Equal(Status.Ok, c->Create(f.PagesPtr, 300, 64, "dentry\"cache")); // a quote in a name is replaced
        c->Allocate(out void* obj);
        f.H.Kmalloc(100, out void* small);
        f.H.Kmalloc(50_000, out void* big);
        var w = StringSink.NewWriter();
        JsonWriter<StringSink> j = default;
        j.BeginObject(ref w);
        j.Number(ref w, "before", 1);
        HeapReport.WriteJson(ref j, ref w, in f.Pages);
        j.Number(ref w, "after", 2);
        j.EndObject(ref w);
        using var doc = JsonDocument.Parse(w.Sink.Text.ToString());
        var root = doc.RootElement;
        Assert.Equal(2, root.GetProperty("after").GetInt32());
        var caches = root.GetProperty("slabinfo").EnumerateArray().ToArray();
        Assert.Equal(KmallocClasses.Count + 1, caches.Length);
        var custom = caches.Single(e => e.GetProperty("name").GetString() == "dentry?cache");
        Assert.Equal(1UL, custom.GetProperty("active_objs").GetUInt64());
        Assert.Equal(320UL, custom.GetProperty("slot_size").GetUInt64());
        var k128 = caches.Single(e => e.GetProperty("name").GetString() == "kmalloc-128");
        Assert.Equal(1UL, k128.GetProperty("active_objs").GetUInt64());
        Assert.Equal(32UL, k128.GetProperty("objperslab").GetUInt64());
        var mem = root.GetProperty("meminfo_heap");
        Assert.Equal(f.Pages.SlabPages * 4096, mem.GetProperty("slab_bytes").GetUInt64());
        Assert.Equal(16UL * 4096, mem.GetProperty("kmalloc_large_bytes").GetUInt64());
        Assert.Equal(50_000UL, mem.GetProperty("kmalloc_large_used_bytes").GetUInt64());
        Assert.Equal(1UL, mem.GetProperty("kmalloc_large_blocks").GetUInt64());
        Assert.Equal(f.Pages.MetadataPages * 4096, mem.GetProperty("metadata_bytes").GetUInt64());
        Assert.False(mem.GetProperty("debug").GetBoolean());
        c->Free(obj);
        Assert.Equal(Status.Ok, c->Destroy());
        NativeMemory.Free(c);
        f.H.Kfree(small); f.H.Kfree(big);
        f.DestroyAndCheck();
    }

    [Fact]
    public void LeakReport_InFastMode_SaysSitesAreNotTracked()
    {
        using var f = new HeapFixture(512);
        var w = StringSink.NewWriter();
        HeapReport.WriteLeaks(ref w, in f.Pages);
        Assert.Contains("debug mode only", w.Sink.Text.ToString());
        f.DestroyAndCheck();
    }
}
