namespace SharpMM.Paging.X86;

/// <summary>
/// The hardware bits of a PAE page-directory-pointer-table entry (Intel SDM vol. 3A, 4.4.1,
/// table 4-8). PAE PDPTEs have no R/W, U/S, A or XD bits: access rights come from the lower
/// levels. Bits 2:1 and 8:5 are reserved (must be 0); bits 11:9 are ignored.
/// </summary>
[System.Flags]
public enum PaePdpteFlags : ulong
{
    /// <summary>No bit set (not present).</summary>
    None = 0,
    /// <summary>Bit 0, P: the entry points at a page directory.</summary>
    Present = 1UL << 0,
    /// <summary>Bit 3, PWT: write-through for the page directory.</summary>
    WriteThrough = 1UL << 3,
    /// <summary>Bit 4, PCD: cache disabled for the page directory.</summary>
    CacheDisable = 1UL << 4,
}
