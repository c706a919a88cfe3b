using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Text;

namespace SharpMM.Hosted.Trace;

/// <summary>
/// A trace read into memory and checked from end to end when it is opened: header, names and
/// every event (known kind, whole fields, orders up to 10, blocks inside the machine, object ids
/// below the header's bound, exactly the header's number of events and nothing after them). The
/// first thing wrong is a <see cref="TraceFormatException"/> naming its byte offset. Once open,
/// <see cref="Events"/> decodes without checking again.
/// </summary>
public sealed class TraceFile
{
    /// <summary>Largest file read: traces are replayed from memory.</summary>
    public const long MaxBytes = 0x7FFFFFC7; // Array.MaxLength

    private readonly byte[] _bytes;
    private readonly int _eventsStart;
    private readonly ulong[] _counts = new ulong[TraceEventKinds.Limit];

    /// <summary>The header.</summary>
    public TraceHeader Header { get; }

    /// <summary>Allocation sites by id (empty when the trace names none).</summary>
    public IReadOnlyDictionary<uint, string> Sites { get; }

    /// <summary>Slab caches by id.</summary>
    public IReadOnlyDictionary<uint, string> Caches { get; }

    /// <summary>Size of the file in bytes.</summary>
    public long Length => _bytes.Length;

    /// <summary>Events of <paramref name="kind"/>.</summary>
    public ulong Count(TraceEventKind kind) => _counts[(int)kind];

    /// <summary>Highest frame count of live page blocks at any point (from the events).</summary>
    public ulong PeakLiveFrames { get; }

    /// <summary>Reads and checks the trace at <paramref name="path"/>.</summary>
    public static TraceFile Open(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        if (fs.Length > MaxBytes) throw new TraceFormatException(MaxBytes, $"file of {fs.Length} bytes: traces up to {MaxBytes} bytes can be replayed");
        // Pinned: the replay walks the events through a pointer.
        var bytes = GC.AllocateUninitializedArray<byte>((int)fs.Length, pinned: true);
        fs.ReadExactly(bytes);
        return new TraceFile(bytes);
    }

    /// <summary>Checks the trace in <paramref name="bytes"/> (copied).</summary>
    public static TraceFile FromBytes(ReadOnlySpan<byte> bytes)
    {
        var copy = GC.AllocateUninitializedArray<byte>(bytes.Length, pinned: true);
        bytes.CopyTo(copy);
        return new TraceFile(copy);
    }

    // bytes: a pinned array, kept.
    private TraceFile(byte[] bytes)
    {
        _bytes = bytes;
        TraceHeader h = TraceHeader.Read(bytes);
        Header = h;
        long namesEnd = TraceHeader.Size + (long)h.NameBytes;
        if (namesEnd > bytes.Length) throw new TraceFormatException(bytes.Length, $"truncated name table ({bytes.Length - TraceHeader.Size} of {h.NameBytes} bytes)");
        var sites = new Dictionary<uint, string>();
        var caches = new Dictionary<uint, string>();
        int p = TraceHeader.Size;
        while (p < namesEnd)
        {
            int at = p;
            byte type = bytes[p++];
            if (type > 1) throw new TraceFormatException(at, $"unknown name type {type}");
            ulong id = ReadVarint(bytes, ref p, (int)namesEnd, "name id");
            ulong len = ReadVarint(bytes, ref p, (int)namesEnd, "name length");
            if (id > uint.MaxValue) throw new TraceFormatException(at, $"name id {id} above 32 bits");
            if (len > (ulong)(namesEnd - p)) throw new TraceFormatException(p, "name runs past the name table");
            (type == 0 ? sites : caches)[(uint)id] = Encoding.UTF8.GetString(bytes, p, (int)len);
            p += (int)len;
        }
        Sites = sites;
        Caches = caches;
        _eventsStart = p;

        // Every event, checked; the live page count gives the peak the machine must hold.
        ulong live = 0, peak = 0;
        ulong end = h.BasePfn + h.Frames;
        for (ulong i = 0; i < h.EventCount; i++)
        {
            int at = p;
            if (p >= bytes.Length) throw new TraceFormatException(p, $"truncated: event {i} of {h.EventCount} missing");
            byte kind = bytes[p++];
            if (!TraceEventKinds.IsKnown(kind)) throw new TraceFormatException(at, $"unknown event kind {kind} (event {i})");
            switch ((TraceEventKind)kind)
            {
                case TraceEventKind.PageAlloc:
                case TraceEventKind.PageFree:
                {
                    if (p >= bytes.Length) throw new TraceFormatException(p, $"truncated in event {i}");
                    byte oz = bytes[p++];
                    uint order = oz & 15u, zone = (uint)oz >> 4;
                    ulong pfn = ReadVarint(bytes, ref p, bytes.Length, "pfn");
                    if (order > Physical.BuddyAllocator.MaxOrderValue) throw new TraceFormatException(at, $"event {i}: order {order} above {Physical.BuddyAllocator.MaxOrderValue}");
                    if (zone >= Math.Max(1u, h.ZoneCount)) throw new TraceFormatException(at, $"event {i}: zone {zone} of {h.ZoneCount}");
                    if (pfn < h.BasePfn || pfn + (1UL << (int)order) > end || (pfn & ((1UL << (int)order) - 1)) != 0)
                        throw new TraceFormatException(at, $"event {i}: block 0x{pfn:x} of order {order} is not an aligned block of the machine [0x{h.BasePfn:x}, 0x{end:x})");
                    if (kind == (byte)TraceEventKind.PageAlloc) { live += 1UL << (int)order; if (live > peak) peak = live; }
                    else live = live >= 1UL << (int)order ? live - (1UL << (int)order) : 0;
                    break;
                }
                case TraceEventKind.Kmalloc:
                    ObjectId(bytes, ref p, h, i, at); ReadVarint(bytes, ref p, bytes.Length, "size"); ReadVarint(bytes, ref p, bytes.Length, "site");
                    break;
                case TraceEventKind.Kfree:
                    ObjectId(bytes, ref p, h, i, at); ReadVarint(bytes, ref p, bytes.Length, "site");
                    break;
                case TraceEventKind.CacheAlloc:
                    ReadVarint(bytes, ref p, bytes.Length, "cache"); ObjectId(bytes, ref p, h, i, at); ReadVarint(bytes, ref p, bytes.Length, "size");
                    break;
                case TraceEventKind.CacheFree:
                    ReadVarint(bytes, ref p, bytes.Length, "cache"); ObjectId(bytes, ref p, h, i, at);
                    break;
                case TraceEventKind.Map:
                    ReadVarint(bytes, ref p, bytes.Length, "virtual page"); ReadVarint(bytes, ref p, bytes.Length, "pfn");
                    break;
                case TraceEventKind.Unmap:
                    ReadVarint(bytes, ref p, bytes.Length, "virtual page");
                    break;
                case TraceEventKind.Fault:
                    if (p >= bytes.Length) throw new TraceFormatException(p, $"truncated in event {i}");
                    p++;
                    break;
            }
            _counts[kind]++;
        }
        if (p != bytes.Length) throw new TraceFormatException(p, $"{bytes.Length - p} bytes after the {h.EventCount} events the header announces");
        PeakLiveFrames = peak;
    }

    private static void ObjectId(byte[] b, ref int p, in TraceHeader h, ulong i, int at)
    {
        ulong id = ReadVarint(b, ref p, b.Length, "object id");
        if (id >= h.ObjectIds) throw new TraceFormatException(at, $"event {i}: object id {id}, the header bounds ids below {h.ObjectIds}");
    }

    private static ulong ReadVarint(byte[] b, ref int p, int end, string what)
    {
        ulong v = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (p >= end) throw new TraceFormatException(p, $"truncated {what}");
            byte x = b[p++];
            v |= (ulong)(x & 0x7f) << shift;
            if (x < 0x80) return v;
        }
        throw new TraceFormatException(p, $"{what}: a number longer than 64 bits");
    }

    /// <summary>The events from the first, decoded without further checks (the constructor made them).</summary>
    public unsafe TraceCursor Events => new((byte*)Unsafe.AsPointer(ref _bytes[0]) + _eventsStart, Header.EventCount);
}

/// <summary>Walks the events of a checked <see cref="TraceFile"/> (valid while the file is reachable:
/// its bytes are pinned).</summary>
public unsafe struct TraceCursor
{
    private byte* _p;
    private ulong _left;

    internal TraceCursor(byte* start, ulong count) { _p = start; _left = count; }

    /// <summary>Events not yet read.</summary>
    public readonly ulong Left => _left;

    /// <summary>The next event; false after the last.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Next(out TraceEvent e)
    {
        if (_left == 0) { e = default; return false; }
        _left--;
        _p = Decode(_p, out e);
        return true;
    }

    /// <summary>Where the next event starts (the replay's page loop decodes page events itself).</summary>
    internal byte* Position { readonly get => _p; set => _p = value; }

    /// <summary>Decodes the event at <paramref name="p"/>; returns where the next one starts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static byte* Decode(byte* p, out TraceEvent e)
    {
        e = default;
        var kind = (TraceEventKind)(*p++);
        e.Kind = kind;
        switch (kind)
        {
            case TraceEventKind.PageAlloc:
            case TraceEventKind.PageFree:
                byte oz = *p++;
                e.Order = (byte)(oz & 15);
                e.Zone = (byte)(oz >> 4);
                e.A = Varint(ref p);
                break;
            case TraceEventKind.Kmalloc: e.A = Varint(ref p); e.B = Varint(ref p); e.C = (uint)Varint(ref p); break;
            case TraceEventKind.Kfree: e.A = Varint(ref p); e.C = (uint)Varint(ref p); break;
            case TraceEventKind.CacheAlloc: e.C = (uint)Varint(ref p); e.A = Varint(ref p); e.B = Varint(ref p); break;
            case TraceEventKind.CacheFree: e.C = (uint)Varint(ref p); e.A = Varint(ref p); break;
            case TraceEventKind.Map: e.B = Varint(ref p); e.A = Varint(ref p); break;
            case TraceEventKind.Unmap: e.B = Varint(ref p); break;
            default: e.Zone = *p++; break; // Fault
        }
        return p;
    }

    /// <summary>A LEB128 number at <paramref name="p"/>, which moves past it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Varint(ref byte* p)
    {
        ulong x = *p++;
        if (x < 0x80) return x;
        return VarintRest(ref p, x);
    }

    private static ulong VarintRest(ref byte* p, ulong first)
    {
        ulong v = first & 0x7f;
        for (int shift = 7; ; shift += 7)
        {
            ulong x = *p++;
            v |= (x & 0x7f) << shift;
            if (x < 0x80) return v;
        }
    }
}
