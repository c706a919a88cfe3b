namespace SharpMM.Hosted.Machine;

/// <summary>
/// What a TLB entry caches besides the frame (SDM vol. 3A, 4.10.2.2): the access rights combined
/// over the walk (R/W and U/S by AND, XD by OR), the dirty flag of the leaf and the global bit.
/// An access needs a set of these bits (<see cref="Mmu"/> precomputes it per access kind and
/// privilege from CR0.WP and EFER.NXE), so a TLB-hit permission check is one AND and compare.
/// Write, User, Dirty and Global sit where R/W, U/S, D and G sit in a paging-structure entry, so
/// the fast walk moves them from the entries without shifting.
/// </summary>
internal static class TlbRights
{
    /// <summary>XD = 0 at every level (always set with 32-bit paging or NXE = 0).</summary>
    public const uint Execute = 1;
    /// <summary>R/W = 1 at every level (entry bit 1).</summary>
    public const uint Write = 2;
    /// <summary>U/S = 1 at every level (entry bit 2).</summary>
    public const uint User = 4;
    /// <summary>Never set in an entry. The inline hit path requires it while hits are compared with
    /// RAM (<see cref="StaleCheck"/> not Off), so that every hit then takes the checking path.
    /// Bit 7: the fast fill copies entry bits it does not use into the rights, and bit 7 is PS,
    /// 0 in the non-leaf entries it accepts.</summary>
    public const uint Checked = 128;
    /// <summary>The leaf's D was 1 when cached: a write may use the entry without a walk (entry bit 6).</summary>
    public const uint Dirty = 64;
    /// <summary>G = 1 in the leaf (entry bit 8): the entry survives CR3 loads while CR4.PGE = 1.
    /// Kept whatever CR4.PGE is, as a change of PGE flushes every entry: an entry present while
    /// PGE = 1 was cached while it was 1.</summary>
    public const uint Global = 256;
    /// <summary>The permission bits a walk produces.</summary>
    public const uint AllAccess = Write | User | Execute;
}
