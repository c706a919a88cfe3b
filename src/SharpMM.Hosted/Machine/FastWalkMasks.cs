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
    /// fast-walk limit, and XD (the fast walk takes XD from the PTE alone).</summary>
    public ulong UpperMustClear;
    /// <summary>Bits the PTE must have: P, and R/W and U/S as the access needs.</summary>
    public ulong LeafMustSet;
    /// <summary>The PTE bits the walk tests: <see cref="LeafMustSet"/> and the bits the PTE may
    /// not have (its reserved bits, and XD for a fetch with NXE = 1). The PTE passes when these
    /// bits of it equal <see cref="LeafMustSet"/>.</summary>
    public ulong LeafTested;
}

/// <summary>The <see cref="FastWalkMasks"/> of the six (access, privilege) pairs, indexed by
/// access * 2 + privilege, stored inside the <see cref="Mmu"/>.</summary>
[InlineArray(6)]
internal struct FastWalkMaskTable
{
    private FastWalkMasks _first;
}
