namespace SharpMM.Paging.X86;

/// <summary>
/// The flag bits of every x86 paging entry (Intel SDM vol. 3A, 4.3-4.5, tables 4-4 to 4-20):
/// 32-bit paging, PAE and 4-level paging give each bit the same place and meaning wherever the
/// entry kind has it. Which bits an entry kind has is its entry struct's <c>FlagMask</c>:
/// <code>
///   bit  name            PTE  PDE/PDPTE (table)  PDE/PDPTE (large page)  PML4E  PAE PDPTE
///    0   Present          x        x                    x                  x       x
///    1   Writable         x        x                    x                  x       -
///    2   User             x        x                    x                  x       -
///    3   WriteThrough     x        x                    x                  x       x
///    4   CacheDisable     x        x                    x                  x       x
///    5   Accessed         x        x                    x                  x       -
///    6   Dirty            x        -                    x                  -       -
///    7   PageSize/PtePat PAT       PS = 0               PS = 1             -       -
///    8   Global           x        -                    x                  -       -
///   12   LargePat         -        -                    x                  -       -
///   63   ExecuteDisable   x        x                    x                  x       -   (PAE, 4-level only)
/// </code>
/// 32-bit entries are 4 bytes: only bits 31:0 exist there. Fields (addresses, the protection
/// key, the bits left to software) are masks on the entry structs, not flags.
/// </summary>
[System.Flags]
public enum X86EntryFlags : ulong
{
    /// <summary>No bit set (not present).</summary>
    None = 0,
    /// <summary>Bit 0, P: the entry maps a page or points at a table.</summary>
    Present = 1UL << 0,
    /// <summary>Bit 1, R/W: writes allowed in the region the entry covers.</summary>
    Writable = 1UL << 1,
    /// <summary>Bit 2, U/S: user-mode accesses allowed in the region the entry covers.</summary>
    User = 1UL << 2,
    /// <summary>Bit 3, PWT: write-through (for the page, or for the table pointed at).</summary>
    WriteThrough = 1UL << 3,
    /// <summary>Bit 4, PCD: cache disabled (for the page, or for the table pointed at).</summary>
    CacheDisable = 1UL << 4,
    /// <summary>Bit 5, A: set by the CPU when the entry is used.</summary>
    Accessed = 1UL << 5,
    /// <summary>Bit 6, D (leaves only): set by the CPU on a write to the page.</summary>
    Dirty = 1UL << 6,
    /// <summary>Bit 7 in a directory entry (PDE, PDPTE), PS: 1 = maps a large page, 0 = points
    /// at a table.</summary>
    PageSize = 1UL << 7,
    /// <summary>Bit 7 in a PTE, PAT: high bit of the page's PAT index.</summary>
    PtePat = 1UL << 7,
    /// <summary>Bit 8, G (leaves only, CR4.PGE): the translation survives CR3 loads.</summary>
    Global = 1UL << 8,
    /// <summary>Bit 12 in a large-page entry, PAT: high bit of the page's PAT index.</summary>
    LargePat = 1UL << 12,
    /// <summary>Bit 63, XD (PAE and 4-level, with EFER.NXE): instruction fetches from the region fault.</summary>
    ExecuteDisable = 1UL << 63,
}
