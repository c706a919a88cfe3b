namespace SharpMM.Hosted.Machine;

/// <summary>
/// What the tables in RAM say about one linear address right now, read as the hardware reads them
/// but without touching the TLB or the Accessed/Dirty bits (<see cref="Mmu.Walk"/>): the oracle a
/// test compares a page-table library with.
/// </summary>
public readonly struct TableWalk
{
    /// <summary>How the walk ended.</summary>
    public WalkStatus Status { get; init; }
    /// <summary>Level of the entry that mapped the page or stopped the walk: 1 = PTE, 2 = PDE,
    /// 3 = PDPTE, 4 = PML4E; 0 when no entry was read.</summary>
    public int Level { get; init; }
    /// <summary>Physical address of that entry (for a PAE PDPTE, where the register was loaded from).</summary>
    public ulong EntryAddress { get; init; }
    /// <summary>Its raw value.</summary>
    public ulong Entry { get; init; }
    /// <summary>The translated physical address (Mapped, PagingDisabled).</summary>
    public ulong PhysicalAddress { get; init; }
    /// <summary>Size of the page: 4 KiB, 2 MiB, 4 MiB or 1 GiB (Mapped).</summary>
    public ulong PageBytes { get; init; }
    /// <summary>R/W = 1 at every level.</summary>
    public bool Writable { get; init; }
    /// <summary>U/S = 1 at every level.</summary>
    public bool User { get; init; }
    /// <summary>XD = 0 at every level, or execute-disable not enabled.</summary>
    public bool Executable { get; init; }
    /// <summary>G = 1 in the leaf and CR4.PGE = 1.</summary>
    public bool Global { get; init; }

    /// <summary>True when <see cref="Status"/> is Mapped or PagingDisabled.</summary>
    public bool IsMapped => Status is WalkStatus.Mapped or WalkStatus.PagingDisabled;
}
