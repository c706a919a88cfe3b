using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using SharpMM.User;

namespace SharpMM.Hosted.User;

/// <summary>
/// The hosted <see cref="IBackingStore"/>: page-sized slots in a <see cref="StoreFile"/> (after its header page), read and
/// written with positional I/O (pread/pwrite); <see cref="Flush"/> is fsync. I/O exceptions
/// become IoError, as a device error would. The file is held through a GC handle, so the struct
/// stays unmanaged and can live in native memory inside the user memory manager.
/// </summary>
public readonly unsafe struct FileBackingStore : IBackingStore
{
    private readonly nint _handle;

    /// <summary>A store over <paramref name="file"/> (valid while the file is open).</summary>
    public FileBackingStore(StoreFile file) => _handle = (file ?? throw new ArgumentNullException(nameof(file))).GcHandle;

    private StoreFile _file => (StoreFile)GCHandle.FromIntPtr(_handle).Target!;

    /// <inheritdoc/>
    public ulong SlotCount => _file.Slots;

    /// <inheritdoc/>
    public Status Read(ulong slot, byte* page)
    {
        if (slot >= _file.Slots) return Status.OutOfRange;
        long t0 = Stopwatch.GetTimestamp();
        try
        {
            if (RandomAccess.Read(_file.Handle, new Span<byte>(page, 4096), StoreFile.SlotOffset(slot)) != 4096)
                new Span<byte>(page, 4096).Clear(); // past the end written so far: a sparse file reads zero
        }
        catch (IOException) { return Status.IoError; }
        _file.ReadTicks += Stopwatch.GetTimestamp() - t0;
        _file.Reads++;
        return Status.Ok;
    }

    /// <inheritdoc/>
    public Status Write(ulong slot, byte* page)
    {
        if (slot >= _file.Slots) return Status.OutOfRange;
        long t0 = Stopwatch.GetTimestamp();
        try { RandomAccess.Write(_file.Handle, new ReadOnlySpan<byte>(page, 4096), StoreFile.SlotOffset(slot)); }
        catch (IOException) { return Status.IoError; }
        _file.WriteTicks += Stopwatch.GetTimestamp() - t0;
        _file.Writes++;
        return Status.Ok;
    }

    /// <inheritdoc/>
    public Status Flush()
    {
        try { RandomAccess.FlushToDisk(_file.Handle); }
        catch (IOException) { return Status.IoError; }
        _file.Flushes++;
        return Status.Ok;
    }
}
