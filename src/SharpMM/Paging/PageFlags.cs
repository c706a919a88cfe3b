namespace SharpMM.Paging;

/// <summary>
/// Portable permissions and attributes of one mapping, translated by each <see cref="IPagingFormat"/>
/// into its hardware bits. Presence is not a flag: a mapping exists or it does not. Every mapping
/// is readable.
///
/// How each flag maps per format (x86 = 32-bit, PAE and 4-level; RV = Sv32 and Sv39):
/// <code>
///   flag          x86                              RV
///   (always)      P (bit 0)                        V (bit 0), R (bit 1)
///   Writable      R/W (bit 1)                      W (bit 2)
///   User          U/S (bit 2)                      U (bit 4)
///   Executable    XD (bit 63) clear; 32-bit        X (bit 3)
///                 paging has no XD bit: ignored,
///                 every page is executable
///   Global        G (bit 8)                        G (bit 5)
///   WriteThrough  PWT (bit 3)                      ignored (cacheability comes from the PMAs)
///   CacheDisable  PCD (bit 4)                      ignored (cacheability comes from the PMAs)
///   Accessed      A (bit 5)                        A (bit 6)
///   Dirty         D (bit 6)                        D (bit 7)
/// </code>
/// An ignored flag is dropped silently, and <c>Translate</c> reports what the hardware does:
/// Executable always set on 32-bit x86, WriteThrough and CacheDisable never set on RISC-V
/// (<see cref="IPagingFormat.Effective"/> gives the flags a request turns into). The XD bit is
/// only valid once the kernel has set IA32_EFER.NXE; without it, map with
/// <see cref="Executable"/>.
/// </summary>
[System.Flags]
public enum PageFlags : uint
{
    /// <summary>Read-only, supervisor-only, not executable, not global, write-back.</summary>
    None = 0,
    /// <summary>Writes are allowed.</summary>
    Writable = 1 << 0,
    /// <summary>User mode (CPL 3 / U-mode) may access the page.</summary>
    User = 1 << 1,
    /// <summary>Instructions may be fetched from the page.</summary>
    Executable = 1 << 2,
    /// <summary>The translation is the same in every address space: a CR3 reload (x86) keeps it
    /// in the TLB; only a full flush or a per-page invalidation removes it.</summary>
    Global = 1 << 3,
    /// <summary>Write-through caching (x86 PWT).</summary>
    WriteThrough = 1 << 4,
    /// <summary>Caching disabled (x86 PCD), for device memory.</summary>
    CacheDisable = 1 << 5,
    /// <summary>The page has been accessed (set by hardware; software may preset or clear it).</summary>
    Accessed = 1 << 6,
    /// <summary>The page has been written (set by hardware; software may preset or clear it).</summary>
    Dirty = 1 << 7,
}
