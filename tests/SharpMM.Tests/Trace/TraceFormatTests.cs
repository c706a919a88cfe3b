using System;
using System.Buffers.Binary;
using SharpMM.Hosted.Trace;
using SharpMM.Physical;
using Xunit;

namespace SharpMM.Tests.Trace;

/// <summary>The trace file format: what is written is read back event for event, and a file
/// that is not a trace, or is cut or damaged, is refused with the offset of the first fault.</summary>
public class TraceFormatTests
{
    private static TraceWriter OneOfEach()
    {
        var w = new TraceWriter(1024, 4096);
        w.Header.SetZones(ZoneLayout.Flat());
        uint a = w.NewObjectId(), b = w.NewObjectId();
        w.PageAlloc(1024 + 512, 9, 0);
        w.PageFree(1024 + 512, 9, 0);
        w.PageAlloc(4096 + 1024 - 1, 0, 0);
        w.Kmalloc(a, 72, 3);
        w.Kfree(a, 4);
        w.CacheAlloc(7, b, 5824);
        w.CacheFree(7, b);
        w.Map(0x7fff_ffff_f, 2000);
        w.Unmap(0x7fff_ffff_f);
        w.Fault(4);
        w.Name(0, 3, "__get_vm_area_node");
        w.Name(1, 7, "task_struct");
        return w;
    }

    [Fact]
    public void EveryEventKind_ReadsBackAsWritten()
    {
        TraceFile t = TraceFile.FromBytes(OneOfEach().ToBytes());
        Assert.Equal(10UL, t.Header.EventCount);
        Assert.Equal(1024UL, t.Header.BasePfn);
        Assert.Equal(4096UL, t.Header.Frames);
        Assert.Equal(2u, t.Header.ObjectIds);
        Assert.Equal("__get_vm_area_node", t.Sites[3]);
        Assert.Equal("task_struct", t.Caches[7]);
        var expected = new (TraceEventKind Kind, byte Order, byte Zone, ulong A, ulong B, uint C)[]
        {
            (TraceEventKind.PageAlloc, 9, 0, 1536, 0, 0),
            (TraceEventKind.PageFree, 9, 0, 1536, 0, 0),
            (TraceEventKind.PageAlloc, 0, 0, 5119, 0, 0),
            (TraceEventKind.Kmalloc, 0, 0, 0, 72, 3),
            (TraceEventKind.Kfree, 0, 0, 0, 0, 4),
            (TraceEventKind.CacheAlloc, 0, 0, 1, 5824, 7),
            (TraceEventKind.CacheFree, 0, 0, 1, 0, 7),
            (TraceEventKind.Map, 0, 0, 2000, 0x7fff_ffff_f, 0),
            (TraceEventKind.Unmap, 0, 0, 0, 0x7fff_ffff_f, 0),
            (TraceEventKind.Fault, 0, 4, 0, 0, 0),
        };
        TraceCursor c = t.Events;
        foreach (var x in expected)
        {
            Assert.True(c.Next(out TraceEvent e));
            Assert.Equal(x, (e.Kind, e.Order, e.Zone, e.A, e.B, e.C));
        }
        Assert.False(c.Next(out _));
        foreach (TraceEventKind k in TraceEventKinds.All) Assert.Equal(k == TraceEventKind.PageAlloc ? 2UL : 1UL, t.Count(k));
    }

    [Fact]
    public void ObjectIds_AreReusedAfterAFree_SoTheIdSpaceIsThePeakOfLiveObjects()
    {
        var w = new TraceWriter(1024, 4096);
        for (int round = 0; round < 100; round++)
        {
            uint a = w.NewObjectId(), b = w.NewObjectId();
            w.Kmalloc(a, 8, 0); w.Kmalloc(b, 8, 0);
            w.Kfree(a, 0); w.ReleaseObjectId(a);
            w.Kfree(b, 0); w.ReleaseObjectId(b);
        }
        Assert.Equal(2u, TraceFile.FromBytes(w.ToBytes()).Header.ObjectIds);
    }

    [Fact]
    public void EveryCutOfAFile_IsRefusedAsTruncated_NamingAnOffsetInsideIt()
    {
        byte[] whole = OneOfEach().ToBytes();
        for (int len = 0; len < whole.Length; len++)
        {
            var e = Assert.Throws<TraceFormatException>(() => TraceFile.FromBytes(whole.AsSpan(0, len)));
            Assert.Contains("truncated", e.Message);
            Assert.InRange(e.Offset, 0, len);
            Assert.StartsWith($"offset {e.Offset}: ", e.Message);
        }
    }

    [Fact]
    public void BadMagic_IsRefusedAtOffsetZero()
    {
        byte[] b = OneOfEach().ToBytes();
        b[0] = (byte)'X';
        var e = Assert.Throws<TraceFormatException>(() => TraceFile.FromBytes(b));
        Assert.Equal(0, e.Offset);
        Assert.Contains("bad magic", e.Message);
    }

    [Fact]
    public void AnUnknownVersion_IsRefusedNamingIt()
    {
        byte[] b = OneOfEach().ToBytes();
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), 7);
        var e = Assert.Throws<TraceFormatException>(() => TraceFile.FromBytes(b));
        Assert.Equal(8, e.Offset);
        Assert.Contains("unknown version 7", e.Message);
    }

    [Fact]
    public void AnUnknownEventKind_IsRefusedAtItsOffset()
    {
        var w = new TraceWriter(1024, 4096);
        w.PageAlloc(1024, 0, 0);
        w.PageAlloc(1025, 0, 0);
        byte[] b = w.ToBytes();
        int second = b.Length - 4; // kind, order/zone, two bytes of pfn 1025
        Assert.Equal((byte)TraceEventKind.PageAlloc, b[second]);
        b[second] = 0x5a;
        var e = Assert.Throws<TraceFormatException>(() => TraceFile.FromBytes(b));
        Assert.Equal(second, e.Offset);
        Assert.Contains("unknown event kind 90", e.Message);
    }

    [Fact]
    public void BytesAfterTheAnnouncedEvents_AreRefused()
    {
        byte[] b = OneOfEach().ToBytes();
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(32), 9);
        var e = Assert.Throws<TraceFormatException>(() => TraceFile.FromBytes(b));
        Assert.Contains("after the 9 events", e.Message);
    }

    [Theory]
    [InlineData(1023UL, 0u)]   // below the machine [1024, 5024)
    [InlineData(5024UL, 0u)]   // past its end
    [InlineData(1025UL, 1u)]   // not aligned to its order
    [InlineData(4096UL, 10u)]  // starts inside, runs past the end
    public void ABlockOutsideTheMachine_IsRefused(ulong pfn, uint order)
    {
        var w = new TraceWriter(1024, 4000);
        w.PageAlloc(pfn, order, 0);
        var e = Assert.Throws<TraceFormatException>(() => TraceFile.FromBytes(w.ToBytes()));
        Assert.Contains("not an aligned block of the machine", e.Message);
    }

    [Fact]
    public void AnObjectIdAboveTheHeadersBound_IsRefused()
    {
        var w = new TraceWriter(1024, 4096);
        w.Kmalloc(5, 8, 0); // not from NewObjectId: the header bounds ids below 0
        var e = Assert.Throws<TraceFormatException>(() => TraceFile.FromBytes(w.ToBytes()));
        Assert.Contains("object id 5", e.Message);
    }
}
