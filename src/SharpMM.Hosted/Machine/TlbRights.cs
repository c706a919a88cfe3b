namespace SharpMM.Hosted.Machine;

/// <summary>
/// What a TLB entry caches besides the frame (SDM vol. 3A, 4.10.2.2): the access rights combined
/// over the walk (R/W and U/S by AND, XD by OR), the dirty flag of the leaf and the global bit.
/// An access needs a set of these bits (<see cref="Mmu"/> precomputes it per access kind and
/// privilege from CR0.WP and EFER.NXE), so a TLB-hit permission check is one AND and compare.
/// </summary>
internal static class TlbRights
{
    /// <summary>R/W = 1 at every level.</summary>
    public const uint Write = 1;
    /// <summary>U/S = 1 at every level.</summary>
    public const uint User = 2;
    /// <summary>XD = 0 at every level (always set with 32-bit paging or NXE = 0).</summary>
    public const uint Execute = 4;
    /// <summary>The leaf's D was 1 when cached: a write may use the entry without a walk.</summary>
    public const uint Dirty = 8;
    /// <summary>G = 1 in the leaf and CR4.PGE = 1: survives CR3 loads.</summary>
    public const uint Global = 16;
    /// <summary>The permission bits a walk produces.</summary>
    public const uint AllAccess = Write | User | Execute;
}
