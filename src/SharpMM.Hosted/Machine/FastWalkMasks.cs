using System.Runtime.CompilerServices;

namespace SharpMM.Hosted.Machine;

/// <summary>
/// What the fast walk checks and writes for one access kind and privilege under the current
/// registers, in paging-structure entry bits: derived by <see cref="Mmu"/> whenever the registers
/// change, so that the walk tests each entry with one AND (or AND-NOT) per mask.
/// </summary>
internal struct FastWalkMasks
{
    /// <summary>Bits every PML4E, PDPTE and PDE must have: P, A, and R/W and U/S as the access needs.</summary>
    public ulong UpperMustSet;
    /// <summary>Bits none of them may have: reserved bits, PS, table addresses at or above the
    /// fast-walk limit, and XD for a fetch with NXE = 1.</summary>
    public ulong UpperMustClear;
    /// <summary>Bits the PTE must have: P, and R/W and U/S as the access needs.</summary>
    public ulong LeafMustSet;
    /// <summary>Bits the PTE may not have: its reserved bits, and XD for a fetch with NXE = 1.</summary>
    public ulong LeafMustClear;
    /// <summary>Bits the access sets in the PTE: A, and D for a write.</summary>
    public ulong LeafSet;
    /// <summary>The <see cref="TlbEntry"/> word at Rights (TlbRights, UpperCount, PageShift) before
    /// the entries' rights are added: Dirty for a write, UpperCount 3, PageShift 12.</summary>
    public ulong RightsBase;
}

/// <summary>The <see cref="FastWalkMasks"/> of the six (access, privilege) pairs, indexed by
/// access * 2 + privilege, stored inside the <see cref="Mmu"/>.</summary>
[InlineArray(6)]
internal struct FastWalkMaskTable
{
    private FastWalkMasks _first;
}
