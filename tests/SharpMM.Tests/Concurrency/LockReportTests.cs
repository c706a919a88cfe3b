using System.Text.Json;
using SharpMM.Concurrency;
using SharpMM.Diagnostics;
using SharpMM.Hosted;
using Xunit;

namespace SharpMM.Tests.Concurrency;

/// <summary>The lock table the kernel prints at the end of a boot and on its SHARPMM-JSON line.</summary>
public sealed class LockReportTests
{
    //   zone locks of two allocators (2 and 1 locks), then one heap-pages lock
    // Expect: two rows, zone's summed (3 locks, figures added), in the order first added, and a
    // total row; the JSON member names are snake_case and carry the same figures.
    [Fact]
    public void AKindAddedTwice_AddsUp_InTextAndJson()
    {
        LockReport r = default;
        r.Add(LockRank.Zone, 2, new LockStats { Acquisitions = 100, Contended = 3, SpinTicks = 700 });
        r.Add(LockRank.HeapPages, 1, new LockStats { Acquisitions = 7 });
        r.Add(LockRank.Zone, 1, new LockStats { Acquisitions = 20, Contended = 1, SpinTicks = 50 });
        Assert.Equal(2, r.Count);
        Assert.Equal(LockRank.Zone, r[0].Rank);
        Assert.Equal(3UL, r[0].Locks);
        Assert.Equal(127UL, r.Total.Acquisitions);

        var w = StringSink.NewWriter();
        r.WriteText(ref w);
        Assert.Equal(
            "locks: kind           locks  acquisitions   contended   spin ticks\n" +
            "locks: zone               3           120           4          750\n" +
            "locks: heap-pages         1             7           0            0\n" +
            "locks: total              4           127           4          750\n",
            w.Sink.Text.ToString());

        var jw = StringSink.NewWriter();
        JsonWriter<StringSink> j = default;
        j.BeginObject(ref jw);
        r.WriteJson(ref j, ref jw);
        j.EndObject(ref jw);
        using var doc = JsonDocument.Parse(jw.Sink.Text.ToString());
        JsonElement locks = doc.RootElement.GetProperty("locks");
        Assert.Equal(120UL, locks.GetProperty("zone").GetProperty("acquisitions").GetUInt64());
        Assert.Equal(750UL, locks.GetProperty("zone").GetProperty("spin_ticks").GetUInt64());
        Assert.Equal(1UL, locks.GetProperty("heap_pages").GetProperty("locks").GetUInt64());
    }
}
