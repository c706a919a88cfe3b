namespace SharpMM.Hosted.Machine;

/// <summary>
/// Bits of x86 paging-structure entries, as the hardware reads them (SDM vol. 3A, 4.3-4.5,
/// Tables 4-4 to 4-6 and 4-8 to 4-19). Written here from the manual, not taken from the library,
/// so that the model checks the library's tables against the architecture.
/// </summary>
internal static class EntryBits
{
    /// <summary>P: the entry is used; everything else is ignored when clear.</summary>
    public const ulong Present = 1UL << 0;
    /// <summary>R/W: writes allowed (combined by AND over the walk).</summary>
    public const ulong Writable = 1UL << 1;
    /// <summary>U/S: user accesses allowed (combined by AND over the walk).</summary>
    public const ulong User = 1UL << 2;
    /// <summary>PWT: page-level write-through (a caching attribute; not modelled beyond staleness).</summary>
    public const ulong WriteThrough = 1UL << 3;
    /// <summary>PCD: page-level cache disable (ditto).</summary>
    public const ulong CacheDisable = 1UL << 4;
    /// <summary>A: set by the walk in every entry it uses.</summary>
    public const ulong Accessed = 1UL << 5;
    /// <summary>D: set in the entry that maps the page on a write; ignored in entries that reference a table.</summary>
    public const ulong Dirty = 1UL << 6;
    /// <summary>PS in a PDE/PDPTE (the entry maps a page); PAT in a PTE.</summary>
    public const ulong PageSize = 1UL << 7;
    /// <summary>G: a global translation when CR4.PGE = 1 (leaf entries only).</summary>
    public const ulong Global = 1UL << 8;
    /// <summary>Bits 11:9, ignored by the hardware in every entry (free for software).</summary>
    public const ulong SoftwareLow = 0xE00;
    /// <summary>Bits 62:52, ignored in 4-level entries (protection keys in 62:59 are not modelled).</summary>
    public const ulong SoftwareHigh = 0x7FF0_0000_0000_0000;
    /// <summary>XD (bit 63): execute-disable when EFER.NXE = 1, reserved otherwise (PAE and 4-level).</summary>
    public const ulong NoExecute = 1UL << 63;

    /// <summary>Bits hi:lo inclusive; empty when hi &lt; lo.</summary>
    public static ulong Range(int hi, int lo) =>
        hi < lo ? 0 : (ulong.MaxValue >> (63 - hi)) & ~((1UL << lo) - 1);

    /// <summary>The conventional name of the entry at a walk level (1 = PTE .. 4 = PML4E).</summary>
    public static string LevelName(int level) => level switch
    {
        1 => "PTE",
        2 => "PDE",
        3 => "PDPTE",
        4 => "PML4E",
        _ => "entry",
    };
}
