namespace SharpMM.Paging.X86;

/// <summary>
/// The hardware bits of a 4-level paging page-table entry, which maps one 4 KiB page (Intel SDM
/// vol. 3A, 4.5, table 4-20). Bits 11:9 and 58:52 are ignored (software); the protection key
/// (bits 62:59) is a field, <see cref="LongPte.ProtectionKeyMask"/>.
/// </summary>
[System.Flags]
public enum LongPteFlags : ulong
{
    /// <summary>No bit set (not present).</summary>
    None = 0,
    /// <summary>Bit 0, P: the entry maps a page.</summary>
    Present = 1UL << 0,
    /// <summary>Bit 1, R/W: writes allowed.</summary>
    Writable = 1UL << 1,
    /// <summary>Bit 2, U/S: user-mode accesses allowed.</summary>
    User = 1UL << 2,
    /// <summary>Bit 3, PWT: write-through.</summary>
    WriteThrough = 1UL << 3,
    /// <summary>Bit 4, PCD: cache disabled.</summary>
    CacheDisable = 1UL << 4,
    /// <summary>Bit 5, A: set by the CPU when the page is accessed.</summary>
    Accessed = 1UL << 5,
    /// <summary>Bit 6, D: set by the CPU when the page is written.</summary>
    Dirty = 1UL << 6,
    /// <summary>Bit 7, PAT: high bit of the PAT index.</summary>
    Pat = 1UL << 7,
    /// <summary>Bit 8, G (CR4.PGE): survives CR3 loads.</summary>
    Global = 1UL << 8,
    /// <summary>Bit 63, XD: instruction fetches fault.</summary>
    ExecuteDisable = 1UL << 63,
}
