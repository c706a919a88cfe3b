namespace SharpMM.Paging.X86;

/// <summary>
/// The hardware bits of a PAE page-directory entry (Intel SDM vol. 3A, 4.4.2, tables 4-9 and
/// 4-10): it points at a page table (PS = 0) or maps a 2 MiB page (PS = 1). Bits marked
/// "2 MiB only" are ignored in the table form. Bits 11:9 are ignored (software); bits 62:52 are
/// reserved; XD needs IA32_EFER.NXE (reserved otherwise).
/// </summary>
[System.Flags]
public enum PaePdeFlags : ulong
{
    /// <summary>No bit set (not present).</summary>
    None = 0,
    /// <summary>Bit 0, P: the entry is valid.</summary>
    Present = 1UL << 0,
    /// <summary>Bit 1, R/W: writes allowed in the 2 MiB region.</summary>
    Writable = 1UL << 1,
    /// <summary>Bit 2, U/S: user-mode accesses allowed in the 2 MiB region.</summary>
    User = 1UL << 2,
    /// <summary>Bit 3, PWT: write-through.</summary>
    WriteThrough = 1UL << 3,
    /// <summary>Bit 4, PCD: cache disabled.</summary>
    CacheDisable = 1UL << 4,
    /// <summary>Bit 5, A: set by the CPU when the entry is used.</summary>
    Accessed = 1UL << 5,
    /// <summary>Bit 6, D (2 MiB only): set by the CPU on a write.</summary>
    Dirty = 1UL << 6,
    /// <summary>Bit 7, PS: 1 = maps a 2 MiB page, 0 = points at a page table.</summary>
    PageSize = 1UL << 7,
    /// <summary>Bit 8, G (2 MiB only, CR4.PGE): survives CR3 loads.</summary>
    Global = 1UL << 8,
    /// <summary>Bit 12, PAT (2 MiB only): high bit of the PAT index.</summary>
    Pat = 1UL << 12,
    /// <summary>Bit 63, XD: instruction fetches from the region fault (needs EFER.NXE).</summary>
    ExecuteDisable = 1UL << 63,
}
