namespace SharpMM.Heap;

/// <summary>What the debug checks found.</summary>
public enum HeapEventKind : byte
{
    /// <summary>A freed object's poison was overwritten before it was handed out again.</summary>
    UseAfterFree = 0,
    /// <summary>A red zone (or the slack after the requested size) was overwritten while the
    /// object was allocated; found on free, which is refused.</summary>
    RedZoneOverflow = 1,
    /// <summary>A red zone of a free object was overwritten; found when it was handed out.</summary>
    FreeRedZoneDamaged = 2,
    /// <summary>Free of an object or block that is already free.</summary>
    DoubleFree = 3,
    /// <summary>Free of a pointer the heap did not hand out (foreign, interior, never allocated).</summary>
    InvalidFree = 4,
    /// <summary>A large allocation's header (size, magic) did not check out on free.</summary>
    CorruptHeader = 5,
}

/// <summary>Names for <see cref="HeapEventKind"/> (freestanding: no Enum.ToString).</summary>
public static class HeapEventKindNames
{
    /// <summary>Number of kinds.</summary>
    public const int Count = 6;

    /// <summary>The kind's name, e.g. "use-after-free".</summary>
    public static string Name(HeapEventKind k) => k switch
    {
        HeapEventKind.UseAfterFree => "use-after-free",
        HeapEventKind.RedZoneOverflow => "red-zone-overflow",
        HeapEventKind.FreeRedZoneDamaged => "free-red-zone-damaged",
        HeapEventKind.DoubleFree => "double-free",
        HeapEventKind.InvalidFree => "invalid-free",
        HeapEventKind.CorruptHeader => "corrupt-header",
        _ => "unknown",
    };
}
