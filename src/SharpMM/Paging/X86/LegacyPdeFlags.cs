namespace SharpMM.Paging.X86;

/// <summary>
/// The hardware bits of a 32-bit paging page-directory entry (Intel SDM vol. 3A, 4.3, tables 4-4
/// and 4-5). The same entry either points at a page table (PS = 0) or maps a 4 MiB page
/// (PS = 1, needs CR4.PSE); bits marked "4 MiB only" are ignored in the table form.
/// Bits 11:9 are ignored by the CPU (free for software, <see cref="LegacyPde.AvailableMask"/>);
/// the address fields are in <see cref="LegacyPde"/>.
/// </summary>
[System.Flags]
public enum LegacyPdeFlags : uint
{
    /// <summary>No bit set (not present).</summary>
    None = 0,
    /// <summary>Bit 0, P: the entry is valid.</summary>
    Present = 1u << 0,
    /// <summary>Bit 1, R/W: writes allowed in the region it controls (with CR0.WP for supervisor).</summary>
    Writable = 1u << 1,
    /// <summary>Bit 2, U/S: user-mode accesses allowed in the region it controls.</summary>
    User = 1u << 2,
    /// <summary>Bit 3, PWT: write-through for the table or page it references.</summary>
    WriteThrough = 1u << 3,
    /// <summary>Bit 4, PCD: cache disabled for the table or page it references.</summary>
    CacheDisable = 1u << 4,
    /// <summary>Bit 5, A: set by the CPU when the entry is used for a translation.</summary>
    Accessed = 1u << 5,
    /// <summary>Bit 6, D (4 MiB only): set by the CPU on a write to the page.</summary>
    Dirty = 1u << 6,
    /// <summary>Bit 7, PS: 1 = this entry maps a 4 MiB page, 0 = it points at a page table.</summary>
    PageSize = 1u << 7,
    /// <summary>Bit 8, G (4 MiB only, with CR4.PGE): the translation survives CR3 loads.</summary>
    Global = 1u << 8,
    /// <summary>Bit 12, PAT (4 MiB only): high bit of the PAT index (with PCD and PWT).</summary>
    Pat = 1u << 12,
}
