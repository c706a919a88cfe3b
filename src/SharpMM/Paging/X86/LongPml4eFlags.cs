namespace SharpMM.Paging.X86;

/// <summary>
/// The hardware bits of a 4-level paging PML4 entry (Intel SDM vol. 3A, 4.5, table 4-15). It
/// always points at a page-directory-pointer table: bit 7 (PS) is reserved and must be 0. Bits
/// 6, 11:8 and 62:52 are ignored (software); XD needs IA32_EFER.NXE.
/// </summary>
[System.Flags]
public enum LongPml4eFlags : ulong
{
    /// <summary>No bit set (not present).</summary>
    None = 0,
    /// <summary>Bit 0, P: the entry points at a PDPT.</summary>
    Present = 1UL << 0,
    /// <summary>Bit 1, R/W: writes allowed in the 512 GiB region.</summary>
    Writable = 1UL << 1,
    /// <summary>Bit 2, U/S: user-mode accesses allowed in the 512 GiB region.</summary>
    User = 1UL << 2,
    /// <summary>Bit 3, PWT: write-through for the PDPT.</summary>
    WriteThrough = 1UL << 3,
    /// <summary>Bit 4, PCD: cache disabled for the PDPT.</summary>
    CacheDisable = 1UL << 4,
    /// <summary>Bit 5, A: set by the CPU when the entry is used.</summary>
    Accessed = 1UL << 5,
    /// <summary>Bit 63, XD: instruction fetches from the region fault.</summary>
    ExecuteDisable = 1UL << 63,
}
