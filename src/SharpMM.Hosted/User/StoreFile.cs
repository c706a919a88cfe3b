using System;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SharpMM.Hosted.User;

/// <summary>
/// The file behind a hosted backing store. Counts reads and writes and the time spent in them
/// (page-out and page-in throughput). The file is created at its full size (sparse) and
/// deleted on dispose unless it was asked to stay.
/// <code>
///   offset 0      header page: "SMMSTORE" (8 bytes), version (u32 LE, 1), page size (u32 LE,
///                 4096), slot count (u64 LE); the rest of the page zero
///   offset 4096   slot 0, then slot s at (s + 1) * 4096
/// </code>
/// An existing file is opened only when it is empty or starts with this header: anything else
/// (a user's document named by mistake) is refused unless the caller says to replace it.
/// </summary>
public sealed class StoreFile : IDisposable
{
    /// <summary>The header's first 8 bytes.</summary>
    public static ReadOnlySpan<byte> Magic => "SMMSTORE"u8;
    /// <summary>The layout version this code writes and reads.</summary>
    public const uint Version = 1;
    /// <summary>Bytes before slot 0 (the header page).</summary>
    public const long HeaderBytes = 4096;

    private readonly bool _delete;
    private GCHandle _self;

    /// <summary>The open file.</summary>
    public SafeFileHandle Handle { get; }
    /// <summary>Its path.</summary>
    public string Path { get; }
    /// <summary>Slots in the file.</summary>
    public ulong Slots { get; }
    /// <summary>Pages read.</summary>
    public long Reads { get; internal set; }
    /// <summary>Pages written.</summary>
    public long Writes { get; internal set; }
    /// <summary>Flushes (fsync) done.</summary>
    public long Flushes { get; internal set; }
    /// <summary>Stopwatch ticks spent reading.</summary>
    public long ReadTicks { get; internal set; }
    /// <summary>Stopwatch ticks spent writing.</summary>
    public long WriteTicks { get; internal set; }

    /// <summary>Opens (creating it if needed) <paramref name="path"/> with room for
    /// <paramref name="slots"/> pages; a null path makes a temporary file removed on dispose.
    /// An existing file that is not a store (<see cref="IsForeignFile"/>) is replaced only with
    /// <paramref name="replaceForeign"/>; otherwise <see cref="StoreFileRefusedException"/>
    /// says why and the file is left as it was.</summary>
    public StoreFile(string? path, ulong slots, bool keep = false, bool replaceForeign = false)
    {
        EnsureOpenable(path, replaceForeign);
        _delete = path == null && !keep;
        Path = path ?? System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"sharpmm-store-{Environment.ProcessId}-{Guid.NewGuid():N}.bin");
        Slots = slots;
        Handle = File.OpenHandle(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        try
        {
            if (!HasHeader(Handle, out _))
            {
                RandomAccess.SetLength(Handle, 0);
                RandomAccess.Write(Handle, NewHeader(slots), 0);
            }
            long length = HeaderBytes + (long)(slots << 12);
            if (RandomAccess.GetLength(Handle) < length) RandomAccess.SetLength(Handle, length);
        }
        catch
        {
            Handle.Dispose();
            throw;
        }
        _self = GCHandle.Alloc(this);
    }

    /// <summary>Throws <see cref="StoreFileRefusedException"/> naming the path and why when
    /// <paramref name="path"/> is foreign (<see cref="IsForeignFile"/>) and
    /// <paramref name="replaceForeign"/> is false; a null path is always openable.</summary>
    public static void EnsureOpenable(string? path, bool replaceForeign)
    {
        if (path != null && !replaceForeign && Refusal(path) is string why) throw new StoreFileRefusedException(why);
    }

    /// <summary>
    /// True when <paramref name="path"/> names something that exists and is not a store this
    /// code may open: a directory or special file, or a non-empty file that does not start with
    /// the store header of <see cref="Version"/>. A missing or empty file is not foreign.
    /// The one question a command asks before it honours a --force.
    /// </summary>
    public static bool IsForeignFile(string path) => Refusal(path) != null;

    // Why path cannot be opened as a store without replacing it, or null when it can.
    private static string? Refusal(string path)
    {
        if (Directory.Exists(path)) return $"{path}: is a directory, not a store file";
        if (!File.Exists(path)) return null;
        if (new FileInfo(path).Length == 0) return null;
        using var h = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        if (HasHeader(h, out uint version)) return null;
        return version != 0
            ? $"{path}: a store file of version {version}; this build reads version {Version}"
            : $"{path}: exists and is not a SharpMM store file (it has no store header); refusing to overwrite it";
    }

    // True when the file starts with the magic and this version; version is what the header
    // says when the magic matches (0 otherwise).
    private static bool HasHeader(SafeFileHandle h, out uint version)
    {
        version = 0;
        Span<byte> head = stackalloc byte[24];
        if (RandomAccess.Read(h, head, 0) < head.Length || !head[..8].SequenceEqual(Magic)) return false;
        version = BinaryPrimitives.ReadUInt32LittleEndian(head[8..]);
        return version == Version && BinaryPrimitives.ReadUInt32LittleEndian(head[12..]) == 4096;
    }

    private static byte[] NewHeader(ulong slots)
    {
        var page = new byte[HeaderBytes];
        Magic.CopyTo(page);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(8), Version);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(12), 4096);
        BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan(16), slots);
        return page;
    }

    /// <summary>Byte offset of slot <paramref name="slot"/> in the file.</summary>
    public static long SlotOffset(ulong slot) => HeaderBytes + (long)(slot << 12);

    /// <summary>A handle to this object for unmanaged holders (<see cref="FileBackingStore"/>).</summary>
    internal nint GcHandle => GCHandle.ToIntPtr(_self);

    /// <summary>Pages per second written, over the time spent writing (0 before any write).</summary>
    public double WritePagesPerSecond => WriteTicks == 0 ? 0 : Writes / ((double)WriteTicks / Stopwatch.Frequency);
    /// <summary>Pages per second read, over the time spent reading.</summary>
    public double ReadPagesPerSecond => ReadTicks == 0 ? 0 : Reads / ((double)ReadTicks / Stopwatch.Frequency);

    /// <summary>Zeroes the counters.</summary>
    public void ResetStatistics()
    {
        Reads = Writes = Flushes = ReadTicks = WriteTicks = 0;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_self.IsAllocated) _self.Free();
        Handle.Dispose();
        if (_delete) File.Delete(Path);
    }
}

/// <summary>A store file refused: the path names something that is not a store (the message
/// names the path and why; nothing was changed).</summary>
public sealed class StoreFileRefusedException(string message) : InvalidOperationException(message);
