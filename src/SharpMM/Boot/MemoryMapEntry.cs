using SharpMM.Addressing;

namespace SharpMM.Boot;

/// <summary>One typed range of the physical address space: [Start, End).</summary>
public struct MemoryMapEntry
{
    /// <summary>First byte.</summary>
    public ulong Start;
    /// <summary>One past the last byte. An entry that reaches the top of the 64-bit space ends
    /// at ulong.MaxValue (the last byte is dropped rather than wrapping).</summary>
    public ulong End;
    /// <summary>Firmware type.</summary>
    public MemoryType Type;

    /// <summary>Builds an entry.</summary>
    public MemoryMapEntry(ulong start, ulong end, MemoryType type) { Start = start; End = end; Type = type; }

    /// <summary>The entry as a range.</summary>
    public PhysRange Range => PhysRange.FromBounds(Start, End);

    /// <summary>Size in bytes.</summary>
    public ulong Size => End - Start;
}
