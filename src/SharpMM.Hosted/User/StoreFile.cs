using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SharpMM.Hosted.User;

/// <summary>
/// The file behind a hosted backing store: slot s is bytes [s * 4 KiB, (s + 1) * 4 KiB). Counts
/// reads and writes and the time spent in them (page-out and page-in throughput). The file is
/// created at its full size (sparse) and deleted on dispose unless it was asked to stay.
/// </summary>
public sealed class StoreFile : IDisposable
{
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
    /// <paramref name="slots"/> pages; a null path makes a temporary file removed on dispose.</summary>
    public StoreFile(string? path, ulong slots, bool keep = false)
    {
        _delete = path == null && !keep;
        Path = path ?? System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"sharpmm-store-{Environment.ProcessId}-{Guid.NewGuid():N}.bin");
        Slots = slots;
        Handle = File.OpenHandle(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        if (RandomAccess.GetLength(Handle) < (long)(slots << 12)) RandomAccess.SetLength(Handle, (long)(slots << 12));
        _self = GCHandle.Alloc(this);
    }

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
