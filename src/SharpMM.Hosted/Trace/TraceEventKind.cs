namespace SharpMM.Hosted.Trace;

/// <summary>The events of an allocator trace (docs/trace-format.md). The numbers are the
/// format's: a kind byte never changes meaning within a format version.</summary>
public enum TraceEventKind : byte
{
    /// <summary>A block of 2^order frames was allocated: pfn, order, zone.</summary>
    PageAlloc = 1,
    /// <summary>A block of 2^order frames was freed: pfn, order, zone.</summary>
    PageFree = 2,
    /// <summary>kmalloc: object id, size requested, allocation site.</summary>
    Kmalloc = 3,
    /// <summary>kfree: object id, site of the free.</summary>
    Kfree = 4,
    /// <summary>An object of a slab cache was allocated: cache id, object id, object size.</summary>
    CacheAlloc = 5,
    /// <summary>An object of a slab cache was freed: cache id, object id.</summary>
    CacheFree = 6,
    /// <summary>A virtual page was mapped: virtual page number, pfn.</summary>
    Map = 7,
    /// <summary>A virtual page was unmapped: virtual page number.</summary>
    Unmap = 8,
    /// <summary>A page fault was handled: its kind (<see cref="SharpMM.User.FaultKind"/>'s number).</summary>
    Fault = 9,
}

/// <summary>Names of <see cref="TraceEventKind"/>, as the text and JSON output spell them.</summary>
public static class TraceEventKinds
{
    /// <summary>One more than the highest kind number.</summary>
    public const int Limit = 10;

    /// <summary>Every kind, in number order.</summary>
    public static readonly TraceEventKind[] All =
    {
        TraceEventKind.PageAlloc, TraceEventKind.PageFree, TraceEventKind.Kmalloc, TraceEventKind.Kfree,
        TraceEventKind.CacheAlloc, TraceEventKind.CacheFree, TraceEventKind.Map, TraceEventKind.Unmap, TraceEventKind.Fault,
    };

    /// <summary>"page_alloc", "kmalloc", ...</summary>
    public static string Name(TraceEventKind k) => k switch
    {
        TraceEventKind.PageAlloc => "page_alloc",
        TraceEventKind.PageFree => "page_free",
        TraceEventKind.Kmalloc => "kmalloc",
        TraceEventKind.Kfree => "kfree",
        TraceEventKind.CacheAlloc => "cache_alloc",
        TraceEventKind.CacheFree => "cache_free",
        TraceEventKind.Map => "map",
        TraceEventKind.Unmap => "unmap",
        TraceEventKind.Fault => "fault",
        _ => "unknown",
    };

    /// <summary>True for a byte the format defines as a kind.</summary>
    public static bool IsKnown(byte b) => b >= 1 && b < Limit;
}

/// <summary>One decoded event. Which fields mean something depends on <see cref="Kind"/>
/// (see <see cref="TraceEventKind"/>); the others are 0.</summary>
public struct TraceEvent
{
    /// <summary>What happened.</summary>
    public TraceEventKind Kind;
    /// <summary>Block order (page events).</summary>
    public byte Order;
    /// <summary>Zone index (page events) or fault kind (Fault).</summary>
    public byte Zone;
    /// <summary>Pfn (page events, Map), object id (heap events) or virtual page number (Map, Unmap: see <see cref="B"/>).</summary>
    public ulong A;
    /// <summary>Size in bytes (Kmalloc, CacheAlloc), virtual page number (Map, Unmap).</summary>
    public ulong B;
    /// <summary>Site id (Kmalloc, Kfree) or cache id (CacheAlloc, CacheFree).</summary>
    public uint C;
}
