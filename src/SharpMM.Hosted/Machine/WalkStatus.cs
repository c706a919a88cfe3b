namespace SharpMM.Hosted.Machine;

/// <summary>How a side-effect-free walk (<see cref="Mmu.Walk"/>) ended.</summary>
public enum WalkStatus
{
    /// <summary>The address is mapped; rights are in the <see cref="TableWalk"/>.</summary>
    Mapped,
    /// <summary>An entry of the walk has P = 0.</summary>
    NotPresent,
    /// <summary>An entry of the walk sets a reserved bit.</summary>
    ReservedBit,
    /// <summary>An entry points at a table outside RAM.</summary>
    TableOutsideRam,
    /// <summary>Non-canonical (4-level) or above 4 GiB (32-bit modes): #GP, no walk.</summary>
    GeneralProtection,
    /// <summary>CR0.PG = 0: the physical address is the linear address.</summary>
    PagingDisabled,
}
