using System.Runtime.CompilerServices;

namespace SharpMM.Boot;

/// <summary>One memblock range [Start, End) and, for reservations, who made it.</summary>
public struct MemblockRegion
{
    /// <summary>First byte.</summary>
    public ulong Start;
    /// <summary>One past the last byte.</summary>
    public ulong End;
    /// <summary>Owner of a reservation (<see cref="ReservedFor.None"/> for memory regions).</summary>
    public ReservedFor Owner;

    /// <summary>Builds a region.</summary>
    public MemblockRegion(ulong start, ulong end, ReservedFor owner) { Start = start; End = end; Owner = owner; }
}

/// <summary>Inline storage for a memblock region array.</summary>
[InlineArray(Memblock.Capacity)]
public struct MemblockRegions
{
    private MemblockRegion _first;
}

/// <summary>Scratch storage large enough for the result of merging two region arrays.</summary>
[InlineArray(Memblock.Capacity * 2 + 2)]
internal struct MemblockScratch
{
    private MemblockRegion _first;
}
