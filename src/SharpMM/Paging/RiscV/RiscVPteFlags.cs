namespace SharpMM.Paging.RiscV;

/// <summary>
/// The flag bits of a RISC-V page-table entry (RISC-V privileged spec, "Sv32" and "Sv39"
/// page-based virtual-memory systems). Bits 7:0 are the same in Sv32 (4-byte entries) and Sv39
/// (8-byte entries): V = 1 with R = W = X = 0 points at the next table; W without R is reserved.
/// Bits 9:8 (RSW) are for software. The bits above 31 exist in Sv39 only: 62:61 (Svpbmt) and 63
/// (Svnapot) must be 0 on a CPU without those extensions, and the mapper never sets them.
/// </summary>
[System.Flags]
public enum RiscVPteFlags : ulong
{
    /// <summary>No bit set (invalid).</summary>
    None = 0,
    /// <summary>Bit 0, V: the entry is valid.</summary>
    Valid = 1UL << 0,
    /// <summary>Bit 1, R: the page is readable (leaf).</summary>
    Read = 1UL << 1,
    /// <summary>Bit 2, W: the page is writable (leaf; needs R).</summary>
    Write = 1UL << 2,
    /// <summary>Bit 3, X: the page is executable (leaf).</summary>
    Execute = 1UL << 3,
    /// <summary>Bit 4, U: U-mode may access the page.</summary>
    User = 1UL << 4,
    /// <summary>Bit 5, G: the mapping exists in every address space.</summary>
    Global = 1UL << 5,
    /// <summary>Bit 6, A: the page has been accessed (leaf).</summary>
    Accessed = 1UL << 6,
    /// <summary>Bit 7, D: the page has been written (leaf).</summary>
    Dirty = 1UL << 7,
    /// <summary>Bit 61, PBMT low bit (Sv39, Svpbmt): 1 = NC (non-cacheable, idempotent memory).</summary>
    PbmtNonCacheable = 1UL << 61,
    /// <summary>Bit 62, PBMT high bit (Sv39, Svpbmt): 2 = IO (non-cacheable, strongly ordered).</summary>
    PbmtIo = 1UL << 62,
    /// <summary>Bit 63, N (Sv39, Svnapot): the leaf is part of a naturally aligned power-of-two range.</summary>
    Napot = 1UL << 63,
}
