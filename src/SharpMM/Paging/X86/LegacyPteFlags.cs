namespace SharpMM.Paging.X86;

/// <summary>
/// The hardware bits of a 32-bit paging page-table entry, which maps one 4 KiB page (Intel SDM
/// vol. 3A, 4.3, table 4-6). Bits 11:9 are ignored by the CPU (<see cref="LegacyPte.AvailableMask"/>).
/// There is no execute-disable bit in 32-bit paging.
/// </summary>
[System.Flags]
public enum LegacyPteFlags : uint
{
    /// <summary>No bit set (not present).</summary>
    None = 0,
    /// <summary>Bit 0, P: the entry maps a page.</summary>
    Present = 1u << 0,
    /// <summary>Bit 1, R/W: writes allowed.</summary>
    Writable = 1u << 1,
    /// <summary>Bit 2, U/S: user-mode accesses allowed.</summary>
    User = 1u << 2,
    /// <summary>Bit 3, PWT: write-through.</summary>
    WriteThrough = 1u << 3,
    /// <summary>Bit 4, PCD: cache disabled.</summary>
    CacheDisable = 1u << 4,
    /// <summary>Bit 5, A: set by the CPU when the page is accessed.</summary>
    Accessed = 1u << 5,
    /// <summary>Bit 6, D: set by the CPU when the page is written.</summary>
    Dirty = 1u << 6,
    /// <summary>Bit 7, PAT: high bit of the PAT index.</summary>
    Pat = 1u << 7,
    /// <summary>Bit 8, G (with CR4.PGE): the translation survives CR3 loads.</summary>
    Global = 1u << 8,
}
