namespace SharpMM.Heap;

/// <summary>
/// A call site of the heap's allocation API in debug mode: the caller's file name (its last 24
/// characters, ASCII) and line, recorded at compile time through the caller-information
/// attributes, with what is live from it. 64 bytes.
/// </summary>
public unsafe struct AllocationSite
{
    /// <summary>Bytes of file name kept.</summary>
    public const int FileBytes = 24;

    /// <summary>FNV-1a hash of the full path and the line (0: unused entry).</summary>
    public ulong Key;
    /// <summary>Line number.</summary>
    public uint Line;
    /// <summary>Bytes of <see cref="File"/> used.</summary>
    public uint FileLength;
    /// <summary>Objects allocated here and not freed.</summary>
    public ulong LiveObjects;
    /// <summary>Requested bytes of those objects.</summary>
    public ulong LiveBytes;
    /// <summary>Allocations made here so far.</summary>
    public ulong Allocations;
    /// <summary>The tail of the file name.</summary>
    public fixed byte File[FileBytes];
}
