using System;
using System.Buffers.Binary;
using SharpMM.Physical;

namespace SharpMM.Hosted.Trace;

/// <summary>
/// The fixed 96-byte header of a trace file (docs/trace-format.md): magic, version, the machine
/// the events ran on (first frame, frame count, zones), the number of events and the size of the
/// object id space. Little-endian throughout.
/// </summary>
public struct TraceHeader
{
    /// <summary>"SMMTRACE".</summary>
    public static ReadOnlySpan<byte> Magic => "SMMTRACE"u8;
    /// <summary>The version this code writes and reads.</summary>
    public const ushort CurrentVersion = 1;
    /// <summary>Bytes of the header.</summary>
    public const int Size = 96;
    /// <summary>Zones a header describes at most.</summary>
    public const int MaxZones = 4;
    /// <summary>Flag: the trace was imported from a Linux trace; its pfns are dense keys
    /// (base + n), not the source machine's frames.</summary>
    public const byte FlagImported = 1;

    /// <summary>Format version.</summary>
    public ushort Version;
    /// <summary><see cref="FlagImported"/> or 0.</summary>
    public byte Flags;
    /// <summary>First frame of the machine; every page event's pfn is at or above it.</summary>
    public ulong BasePfn;
    /// <summary>Frames of the machine; every page event's block lies in [BasePfn, BasePfn + Frames).</summary>
    public ulong Frames;
    /// <summary>Events that follow the names.</summary>
    public ulong EventCount;
    /// <summary>Object ids are below this (ids are reused after a free, so it is the peak of live objects, or near it).</summary>
    public uint ObjectIds;
    /// <summary>Bytes of the name table between the header and the events.</summary>
    public uint NameBytes;
    /// <summary>Zones (0 to <see cref="MaxZones"/>).</summary>
    public byte ZoneCount;
    /// <summary>Kind of each zone.</summary>
    public ZoneKind Zone0, Zone1, Zone2, Zone3;
    /// <summary>End pfn of each zone (exclusive); the last one may be past the machine.</summary>
    public ulong ZoneEnd0, ZoneEnd1, ZoneEnd2, ZoneEnd3;

    /// <summary>Whether the pfns are dense keys of an imported trace.</summary>
    public readonly bool Imported => (Flags & FlagImported) != 0;

    /// <summary>Zone <paramref name="i"/>'s kind.</summary>
    public readonly ZoneKind ZoneKindAt(int i) => i switch { 0 => Zone0, 1 => Zone1, 2 => Zone2, _ => Zone3 };

    /// <summary>Zone <paramref name="i"/>'s end pfn.</summary>
    public readonly ulong ZoneEndAt(int i) => i switch { 0 => ZoneEnd0, 1 => ZoneEnd1, 2 => ZoneEnd2, _ => ZoneEnd3 };

    /// <summary>Sets zone <paramref name="i"/>.</summary>
    public void SetZone(int i, ZoneKind kind, ulong endPfn)
    {
        switch (i)
        {
            case 0: Zone0 = kind; ZoneEnd0 = endPfn; break;
            case 1: Zone1 = kind; ZoneEnd1 = endPfn; break;
            case 2: Zone2 = kind; ZoneEnd2 = endPfn; break;
            case 3: Zone3 = kind; ZoneEnd3 = endPfn; break;
            default: throw new ArgumentOutOfRangeException(nameof(i), "a trace header holds at most 4 zones");
        }
    }

    /// <summary>The zones of <paramref name="layout"/> (the last one's end clipped to the machine).</summary>
    public void SetZones(in ZoneLayout layout)
    {
        ZoneCount = (byte)Math.Min(layout.Count, MaxZones);
        for (int i = 0; i < ZoneCount; i++) SetZone(i, layout.Kind(i), Math.Min(layout.EndPfn(i), BasePfn + Frames));
    }

    /// <summary>Writes the header into the first <see cref="Size"/> bytes of <paramref name="b"/>.</summary>
    public readonly void Write(Span<byte> b)
    {
        b[..Size].Clear();
        Magic.CopyTo(b);
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(b[10..], Size);
        b[12] = ZoneCount;
        b[13] = Flags;
        BinaryPrimitives.WriteUInt64LittleEndian(b[16..], BasePfn);
        BinaryPrimitives.WriteUInt64LittleEndian(b[24..], Frames);
        BinaryPrimitives.WriteUInt64LittleEndian(b[32..], EventCount);
        BinaryPrimitives.WriteUInt32LittleEndian(b[40..], ObjectIds);
        BinaryPrimitives.WriteUInt32LittleEndian(b[44..], NameBytes);
        for (int i = 0; i < MaxZones; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(b[(48 + 8 * i)..], ZoneEndAt(i));
            b[80 + i] = (byte)ZoneKindAt(i);
        }
    }

    /// <summary>Reads and checks a header; a <see cref="TraceFormatException"/> names the offset
    /// of the first field that is wrong.</summary>
    public static TraceHeader Read(ReadOnlySpan<byte> b)
    {
        if (b.Length < 10) throw new TraceFormatException(b.Length, $"truncated header ({b.Length} of {Size} bytes)");
        if (!b[..8].SequenceEqual(Magic)) throw new TraceFormatException(0, "bad magic: not a SharpMM trace (expected \"SMMTRACE\")");
        var h = new TraceHeader { Version = BinaryPrimitives.ReadUInt16LittleEndian(b[8..]) };
        if (h.Version != CurrentVersion) throw new TraceFormatException(8, $"unknown version {h.Version} (this build reads version {CurrentVersion})");
        if (b.Length < Size) throw new TraceFormatException(b.Length, $"truncated header ({b.Length} of {Size} bytes)");
        ushort size = BinaryPrimitives.ReadUInt16LittleEndian(b[10..]);
        if (size != Size) throw new TraceFormatException(10, $"header size {size}, version {CurrentVersion} has {Size}");
        h.ZoneCount = b[12];
        if (h.ZoneCount > MaxZones) throw new TraceFormatException(12, $"{h.ZoneCount} zones, at most {MaxZones}");
        h.Flags = b[13];
        if ((h.Flags & ~FlagImported) != 0) throw new TraceFormatException(13, $"unknown flags 0x{h.Flags:x2}");
        h.BasePfn = BinaryPrimitives.ReadUInt64LittleEndian(b[16..]);
        h.Frames = BinaryPrimitives.ReadUInt64LittleEndian(b[24..]);
        if (h.BasePfn == 0 || h.Frames == 0 || h.BasePfn + h.Frames > Addressing.Pfn.ManagedLimit || h.BasePfn + h.Frames < h.BasePfn)
            throw new TraceFormatException(16, $"machine of {h.Frames} frames from pfn 0x{h.BasePfn:x} is not one SharpMM can simulate");
        h.EventCount = BinaryPrimitives.ReadUInt64LittleEndian(b[32..]);
        h.ObjectIds = BinaryPrimitives.ReadUInt32LittleEndian(b[40..]);
        h.NameBytes = BinaryPrimitives.ReadUInt32LittleEndian(b[44..]);
        for (int i = 0; i < MaxZones; i++)
        {
            byte kind = b[80 + i];
            if (kind > (byte)ZoneKind.HighMem) throw new TraceFormatException(80 + i, $"zone {i}: unknown kind {kind}");
            h.SetZone(i, (ZoneKind)kind, BinaryPrimitives.ReadUInt64LittleEndian(b[(48 + 8 * i)..]));
        }
        return h;
    }

    /// <summary>The zone index of <paramref name="pfn"/> (0 without zones).</summary>
    public readonly int ZoneOf(ulong pfn)
    {
        for (int i = 0; i < ZoneCount - 1; i++) if (pfn < ZoneEndAt(i)) return i;
        return Math.Max(0, ZoneCount - 1);
    }
}

/// <summary>A trace file that is not what the format says: the message names the byte offset.</summary>
public sealed class TraceFormatException : Exception
{
    /// <summary>Byte offset in the file of what is wrong.</summary>
    public long Offset { get; }

    /// <summary>What is wrong at <paramref name="offset"/>.</summary>
    public TraceFormatException(long offset, string message) : base($"offset {offset}: {message}") { Offset = offset; }
}
