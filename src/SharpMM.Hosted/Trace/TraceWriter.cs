using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Text;

namespace SharpMM.Hosted.Trace;

/// <summary>
/// Builds a trace in memory, event by event, and writes it as one file (header, names, events;
/// docs/trace-format.md). Object ids come from <see cref="NewObjectId"/>, which reuses the ids
/// of freed objects so that a replay's table of live objects stays as small as the peak.
/// </summary>
public sealed class TraceWriter
{
    private byte[] _buf = new byte[1 << 16];
    private int _len;
    private ulong _events;
    private readonly Stack<uint> _freeIds = new();
    private uint _nextId;
    private readonly List<(byte Type, uint Id, string Name)> _names = new();
    private readonly ulong[] _counts = new ulong[TraceEventKinds.Limit];

    /// <summary>The header; <see cref="TraceHeader.EventCount"/>, <see cref="TraceHeader.ObjectIds"/>
    /// and <see cref="TraceHeader.NameBytes"/> are filled in when the file is written.</summary>
    public TraceHeader Header;

    /// <summary>A writer for a machine of <paramref name="frames"/> frames from <paramref name="basePfn"/>.</summary>
    public TraceWriter(ulong basePfn, ulong frames, byte flags = 0)
    {
        Header = new TraceHeader { Version = TraceHeader.CurrentVersion, BasePfn = basePfn, Frames = frames, Flags = flags };
    }

    /// <summary>Events written so far.</summary>
    public ulong EventCount => _events;

    /// <summary>Events of <paramref name="kind"/> written so far.</summary>
    public ulong Count(TraceEventKind kind) => _counts[(int)kind];

    /// <summary>One past the highest frame of any page event so far.</summary>
    public ulong PageEnd { get; private set; }

    /// <summary>Bytes of events so far.</summary>
    public long EventBytes => _len;

    /// <summary>An object id for a new allocation (the lowest freed id, or a new one).</summary>
    public uint NewObjectId() => _freeIds.Count > 0 ? _freeIds.Pop() : _nextId++;

    /// <summary>Gives an object id back after its free was written.</summary>
    public void ReleaseObjectId(uint id) => _freeIds.Push(id);

    /// <summary>Names an allocation site (type 0) or a slab cache (type 1).</summary>
    public void Name(byte type, uint id, string name) => _names.Add((type, id, name));

    /// <summary>A page block allocation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PageAlloc(ulong pfn, uint order, int zone) => Page(TraceEventKind.PageAlloc, pfn, order, zone);

    /// <summary>A page block free.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PageFree(ulong pfn, uint order, int zone) => Page(TraceEventKind.PageFree, pfn, order, zone);

    private void Page(TraceEventKind kind, ulong pfn, uint order, int zone)
    {
        Ensure(12);
        _buf[_len++] = (byte)kind;
        _buf[_len++] = (byte)(order | ((uint)zone << 4));
        Varint(pfn);
        ulong end = pfn + (1UL << (int)order);
        if (end > PageEnd) PageEnd = end;
        Done(kind);
    }

    /// <summary>kmalloc of <paramref name="size"/> bytes at <paramref name="site"/>, object <paramref name="id"/>.</summary>
    public void Kmalloc(uint id, ulong size, uint site) { Ensure(32); _buf[_len++] = (byte)TraceEventKind.Kmalloc; Varint(id); Varint(size); Varint(site); Done(TraceEventKind.Kmalloc); }

    /// <summary>kfree of object <paramref name="id"/> at <paramref name="site"/>.</summary>
    public void Kfree(uint id, uint site) { Ensure(24); _buf[_len++] = (byte)TraceEventKind.Kfree; Varint(id); Varint(site); Done(TraceEventKind.Kfree); }

    /// <summary>An object of <paramref name="size"/> bytes from cache <paramref name="cache"/>.</summary>
    public void CacheAlloc(uint cache, uint id, ulong size) { Ensure(32); _buf[_len++] = (byte)TraceEventKind.CacheAlloc; Varint(cache); Varint(id); Varint(size); Done(TraceEventKind.CacheAlloc); }

    /// <summary>Object <paramref name="id"/> back to cache <paramref name="cache"/>.</summary>
    public void CacheFree(uint cache, uint id) { Ensure(24); _buf[_len++] = (byte)TraceEventKind.CacheFree; Varint(cache); Varint(id); Done(TraceEventKind.CacheFree); }

    /// <summary>Virtual page <paramref name="vpn"/> mapped to <paramref name="pfn"/>.</summary>
    public void Map(ulong vpn, ulong pfn) { Ensure(24); _buf[_len++] = (byte)TraceEventKind.Map; Varint(vpn); Varint(pfn); Done(TraceEventKind.Map); }

    /// <summary>Virtual page <paramref name="vpn"/> unmapped.</summary>
    public void Unmap(ulong vpn) { Ensure(12); _buf[_len++] = (byte)TraceEventKind.Unmap; Varint(vpn); Done(TraceEventKind.Unmap); }

    /// <summary>A page fault of kind <paramref name="kind"/>.</summary>
    public void Fault(byte kind) { Ensure(2); _buf[_len++] = (byte)TraceEventKind.Fault; _buf[_len++] = kind; Done(TraceEventKind.Fault); }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Done(TraceEventKind kind)
    {
        _events++;
        _counts[(int)kind]++;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Varint(ulong v)
    {
        while (v >= 0x80) { _buf[_len++] = (byte)(v | 0x80); v >>= 7; }
        _buf[_len++] = (byte)v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Ensure(int more)
    {
        if (_len + more > _buf.Length) Grow(more);
    }

    private void Grow(int more)
    {
        long want = Math.Max((long)_buf.Length * 2, (long)_len + more);
        if (want > Array.MaxLength) throw new InvalidOperationException($"trace larger than {Array.MaxLength} bytes: record a smaller run (--scale)");
        Array.Resize(ref _buf, (int)want);
    }

    /// <summary>The whole file as bytes.</summary>
    public byte[] ToBytes()
    {
        var names = new MemoryStream();
        foreach (var (type, id, name) in _names)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(name);
            names.WriteByte(type);
            WriteVarint(names, id);
            WriteVarint(names, (ulong)utf8.Length);
            names.Write(utf8);
        }
        TraceHeader h = Header;
        h.EventCount = _events;
        h.ObjectIds = _nextId;
        h.NameBytes = (uint)names.Length;
        var file = new byte[TraceHeader.Size + names.Length + _len];
        h.Write(file);
        names.ToArray().CopyTo(file, TraceHeader.Size);
        Array.Copy(_buf, 0, file, TraceHeader.Size + names.Length, _len);
        return file;
    }

    /// <summary>Writes the file to <paramref name="path"/> (replacing it): first to a temporary
    /// file beside it, then renamed, so a failed write leaves no half-written trace.</summary>
    public void Save(string path)
    {
        byte[] bytes = ToBytes();
        string tmp = path + ".tmp";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
    }

    private static void WriteVarint(Stream s, ulong v)
    {
        while (v >= 0x80) { s.WriteByte((byte)(v | 0x80)); v >>= 7; }
        s.WriteByte((byte)v);
    }
}
