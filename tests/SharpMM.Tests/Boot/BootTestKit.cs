using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using SharpMM.Boot;
using SharpMM.Diagnostics;

namespace SharpMM.Tests.Boot;

/// <summary>A hosted sink that collects text.</summary>
internal struct StringSink : ITextSink
{
    public StringBuilder Text;
    public void Put(byte c) => Text.Append((char)c);
}

/// <summary>Helpers shared by the Boot tests: map building, text round trips, binary builders.</summary>
internal static unsafe class BootTestKit
{
    public static MemoryMap Map(params (ulong Start, ulong End, MemoryType Type)[] entries)
    {
        var map = new MemoryMap();
        foreach (var e in entries)
            if (map.Add(e.Start, e.End, e.Type) != Status.Ok) throw new InvalidOperationException("test map over capacity");
        return map;
    }

    public static List<(ulong Start, ulong End, MemoryType Type)> Entries(in MemoryMap map)
    {
        var list = new List<(ulong, ulong, MemoryType)>();
        for (int i = 0; i < map.Count; i++) list.Add((map[i].Start, map[i].End, map[i].Type));
        return list;
    }

    public static string Dump(in MemoryMap map)
    {
        var w = new TextWriter<StringSink>(new StringSink { Text = new StringBuilder() });
        BootLogWriter.Write(ref w, map);
        return w.Sink.Text.ToString();
    }

    public static string Describe(in MapError error)
    {
        var w = new TextWriter<StringSink>(new StringSink { Text = new StringBuilder() });
        error.Write(ref w);
        return w.Sink.Text.ToString();
    }

    public static Status ParseLog(string text, ref MemoryMap raw, out MapError error)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        fixed (byte* p = bytes) return BootLogParser.Parse(p, bytes.Length, ref raw, out error);
    }

    public static Status ParseLogSource(string text, string source, ref MemoryMap raw, out MapError error)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        fixed (byte* p = bytes) return BootLogParser.ParseSource(p, bytes.Length, source, ref raw, out error);
    }

    public static Status Load(byte[] bytes, ref MemoryMap raw, out MapError error, out MapFormat format)
    {
        fixed (byte* p = bytes) return MapLoader.Load(p, bytes.Length, ref raw, out error, out format);
    }

    public static byte[] MapFile(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Maps", name));

    public static string MapFileText(string name) => Encoding.ASCII.GetString(MapFile(name));

    /// <summary>Parses a boot log and sanitizes it; fails the test on any error.</summary>
    public static MemoryMap SanitizedFromLog(string text)
    {
        var raw = new MemoryMap();
        var status = ParseLog(text, ref raw, out var error);
        if (status != Status.Ok) throw new InvalidOperationException("parse: " + Describe(error));
        var clean = new MemoryMap();
        status = MapSanitizer.Sanitize(ref raw, ref clean, out error);
        if (status != Status.Ok) throw new InvalidOperationException("sanitize: " + Describe(error));
        return clean;
    }

    /// <summary>The invariants every sanitized map holds; returns a description of the first breach or null.</summary>
    public static string? CheckSanitized(in MemoryMap map)
    {
        for (int i = 0; i < map.Count; i++)
        {
            var e = map[i];
            if (e.End <= e.Start) return $"entry {i} empty or inverted";
            if (e.Type == MemoryType.Usable && ((e.Start & 0xfff) != 0 || (e.End & 0xfff) != 0)) return $"usable entry {i} not page-aligned";
            if (e.Type == MemoryType.Usable && e.Start < 0x1000) return $"usable entry {i} in page 0";
            if (e.Type == MemoryType.Usable && e.Start < 0x100000 && e.End > 0xA0000) return $"usable entry {i} in the ISA hole";
            if (i > 0)
            {
                var p = map[i - 1];
                if (p.End > e.Start) return $"entries {i - 1} and {i} overlap or are unsorted";
                if (p.End == e.Start && p.Type == e.Type) return $"entries {i - 1} and {i} adjacent with one type";
            }
        }
        return null;
    }

    // ---- binary builders ----

    public static void PutU32(List<byte> b, uint v) { for (int i = 0; i < 4; i++) b.Add((byte)(v >> (8 * i))); }
    public static void PutU64(List<byte> b, ulong v) { for (int i = 0; i < 8; i++) b.Add((byte)(v >> (8 * i))); }

    /// <summary>Raw E820 entries {base, length, type[, attributes]}.</summary>
    public static byte[] E820(int entrySize, params (ulong Base, ulong Length, uint Type, uint Attributes)[] entries)
    {
        var b = new List<byte>();
        foreach (var e in entries)
        {
            PutU64(b, e.Base); PutU64(b, e.Length); PutU32(b, e.Type);
            if (entrySize == 24) PutU32(b, e.Attributes);
        }
        return b.ToArray();
    }

    /// <summary>A Multiboot 1 mmap buffer with size fields of <paramref name="sizeField"/>.</summary>
    public static byte[] Mb1Mmap(uint sizeField, params (ulong Base, ulong Length, uint Type)[] entries)
    {
        var b = new List<byte>();
        foreach (var e in entries)
        {
            PutU32(b, sizeField); PutU64(b, e.Base); PutU64(b, e.Length); PutU32(b, e.Type);
            for (uint k = 20; k < sizeField; k++) b.Add(0xEE);
        }
        return b.ToArray();
    }

    /// <summary>A Multiboot 2 memory-map tag with <paramref name="entrySize"/>-byte entries.</summary>
    public static byte[] Mb2MmapTag(uint entrySize, params (ulong Base, ulong Length, uint Type)[] entries)
    {
        var b = new List<byte>();
        PutU32(b, 6); PutU32(b, (uint)(16 + entries.Length * entrySize)); PutU32(b, entrySize); PutU32(b, 0);
        foreach (var e in entries)
        {
            PutU64(b, e.Base); PutU64(b, e.Length); PutU32(b, e.Type); PutU32(b, 0);
            for (uint k = 24; k < entrySize; k++) b.Add(0);
        }
        return b.ToArray();
    }

    /// <summary>A raw Multiboot 2 tag: type, size computed from the payload.</summary>
    public static byte[] Mb2Tag(uint type, byte[] payload)
    {
        var b = new List<byte>();
        PutU32(b, type); PutU32(b, (uint)(8 + payload.Length)); b.AddRange(payload);
        return b.ToArray();
    }

    /// <summary>A Multiboot 2 boot-information structure: header, the given tags padded to 8, end tag.</summary>
    public static byte[] Mb2Info(params byte[][] tags)
    {
        var b = new List<byte>();
        PutU32(b, 0); PutU32(b, 0);
        foreach (var t in tags)
        {
            b.AddRange(t);
            while (b.Count % 8 != 0) b.Add(0);
        }
        PutU32(b, 0); PutU32(b, 8);
        byte[] a = b.ToArray();
        BitConverter.TryWriteBytes(a.AsSpan(0, 4), (uint)a.Length);
        return a;
    }
}
