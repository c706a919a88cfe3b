namespace SharpMM.Paging.RiscV;

/// <summary>
/// The hardware bits of a RISC-V Sv32 page-table entry (RISC-V privileged spec, "Sv32:
/// Page-Based 32-bit Virtual-Memory Systems", figure "Sv32 page table entry"). The same format
/// serves both levels: an entry with V = 1 and R = W = X = 0 points at the next table; any of
/// R, W, X set makes it a leaf. W = 1 with R = 0 is reserved. Bits 9:8 (RSW) are reserved for
/// software (<see cref="Sv32Pte.SoftwareMask"/>).
/// </summary>
[System.Flags]
public enum Sv32PteFlags : uint
{
    /// <summary>No bit set (invalid).</summary>
    None = 0,
    /// <summary>Bit 0, V: the entry is valid.</summary>
    Valid = 1u << 0,
    /// <summary>Bit 1, R: the page is readable (leaf).</summary>
    Read = 1u << 1,
    /// <summary>Bit 2, W: the page is writable (leaf; needs R).</summary>
    Write = 1u << 2,
    /// <summary>Bit 3, X: the page is executable (leaf).</summary>
    Execute = 1u << 3,
    /// <summary>Bit 4, U: U-mode may access the page (S-mode only with SUM, never execute).</summary>
    User = 1u << 4,
    /// <summary>Bit 5, G: the mapping exists in every address space (on a pointer: everything below it).</summary>
    Global = 1u << 5,
    /// <summary>Bit 6, A: the page has been accessed (leaf; a fault or hardware update when clear).</summary>
    Accessed = 1u << 6,
    /// <summary>Bit 7, D: the page has been written (leaf).</summary>
    Dirty = 1u << 7,
}
