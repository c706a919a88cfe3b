namespace SharpMM.Paging;

/// <summary>
/// One hardware page-table format, as static members of a struct so the generic
/// <see cref="Mapper{TFormat, TAccess}"/> is compiled once per format with every call resolved
/// statically (no objects, no interface dispatch: works freestanding).
///
/// Levels are numbered from the bottom: level 0 holds the entries that map 4 KiB pages, level
/// <see cref="Levels"/> - 1 is the top (the table CR3 or satp points at). "The table at level L"
/// holds entries of level L; an entry of level L either maps a page of 2^IndexShift(L) bytes (a
/// leaf, where <see cref="CanBeLeaf"/>) or points at a table of level L - 1.
/// <code>
///   format        levels  entries/table  entry  index shifts (level 0..top)  leaf sizes
///   X86Legacy       2     1024           4 B    12 22                        4K 4M
///   X86Pae          3     512 (top: 4)   8 B    12 21 30                     4K 2M
///   X86LongMode     4     512            8 B    12 21 30 39                  4K 2M 1G
///   Sv32            2     1024           4 B    12 22                        4K 4M
///   Sv39            3     512            8 B    12 21 30                     4K 2M 1G
/// </code>
/// Entries are handled as raw ulongs here; the typed entry structs (X86.LegacyPde, RiscV.Sv39Pte...)
/// build and decode them. An entry is zero (empty), present (bit 0: x86 P, RISC-V V), or, at
/// level 0 only, non-zero and not present: an entry the OS keeps, whose encoding (a swap slot)
/// is the same in every format (<see cref="SwapEntry{TFormat}"/>). A table is in use while any
/// of its entries is non-zero. Every member is pure: no state, no memory access except
/// <see cref="Read"/>/<see cref="Write"/> on a table pointer the caller provides. The members
/// every format derives the same way from its geometry (entries per table, index shifts, entry
/// access, a pointer's table address) are written once in <see cref="IPagingFormat{TSelf}"/>,
/// through which the formats implement this interface.
/// </summary>
public unsafe partial interface IPagingFormat
{
    /// <summary>A short name for reports, e.g. "x86-64 4-level".</summary>
    static abstract string Name { get; }
    /// <summary>Number of table levels.</summary>
    static abstract int Levels { get; }
    /// <summary>Bytes per entry (4 or 8).</summary>
    static abstract int EntrySize { get; }
    /// <summary>Entries in a table of <paramref name="level"/> (a power of two).</summary>
    static abstract int EntriesPerTable(int level);
    /// <summary>log2 of the bytes one entry of <paramref name="level"/> covers; the entry's index
    /// is (va &gt;&gt; IndexShift(level)) &amp; (EntriesPerTable(level) - 1).</summary>
    static abstract int IndexShift(int level);
    /// <summary>True when an entry of <paramref name="level"/> may map a page.</summary>
    static abstract bool CanBeLeaf(int level);
    /// <summary>Number of significant virtual address bits (32, 39, 48).</summary>
    static abstract int VirtualBits { get; }
    /// <summary>True when <paramref name="va"/> is a valid virtual address: below 2^32 on 32-bit
    /// formats; bits 63..VirtualBits-1 all equal on sign-extended formats (x86-64, Sv39).</summary>
    static abstract bool IsCanonical(ulong va);
    /// <summary>The canonical address whose index bits equal those of <paramref name="va"/>
    /// (sign extension or truncation of bits above <see cref="VirtualBits"/>).</summary>
    static abstract ulong Canonicalize(ulong va);
    /// <summary>One past the highest physical address a table of <paramref name="level"/> may
    /// lie at (x86 32-bit: 4 GiB; the PAE PDPT: 4 GiB, since CR3 is 32-bit).</summary>
    static abstract ulong TablePhysLimit(int level);
    /// <summary>One past the highest physical address a leaf of <paramref name="level"/> may map.</summary>
    static abstract ulong LeafPhysLimit(int level);
    /// <summary>True when the CPU copies the top-level entries into registers at a root load
    /// (PAE PDPTEs): a change to one needs a CR3 reload.</summary>
    static abstract bool RootEntriesLatched { get; }
    /// <summary>True when a translation cache may hold what an entry said while it was not
    /// present, so that making an entry present still needs an invalidation. x86: false, no TLB
    /// or paging-structure-cache entry is made from an entry with P = 0 (SDM vol. 3A, 4.10.4.3),
    /// so a mapping where nothing was mapped gives an empty flush token, as Linux skips the flush
    /// for a new PTE. RISC-V: true, SFENCE.VMA is required after a PTE becomes valid unless the
    /// hart has Svvptc.</summary>
    static abstract bool NewMappingNeedsFlush { get; }
    /// <summary>True when a top-level entry pointing at the top-level table yields a usable
    /// recursive window (x86 32-bit and 4-level; not PAE, whose top table is 4 entries, nor
    /// RISC-V, where the last step of such a walk would see a pointer, not a leaf).</summary>
    static abstract bool SupportsRecursiveMapping { get; }
    /// <summary>The flags a mapping made with <paramref name="requested"/> has (see <see cref="PageFlags"/>).</summary>
    static abstract PageFlags Effective(PageFlags requested);

    /// <summary>Reads entry <paramref name="index"/> of the table at <paramref name="table"/>.</summary>
    static abstract ulong Read(byte* table, int index);
    /// <summary>Writes entry <paramref name="index"/> with one store of <see cref="EntrySize"/> bytes.</summary>
    static abstract void Write(byte* table, int index, ulong entry);

    /// <summary>An entry of <paramref name="level"/> (&gt; 0) pointing at a table at
    /// <paramref name="tablePhys"/>. Permissions on pointers are the loosest the format has (x86:
    /// P | R/W | U/S, so the leaf alone decides; PAE PDPTE: P; RISC-V: V).</summary>
    static abstract ulong MakeTable(int level, ulong tablePhys);
    /// <summary>A leaf of <paramref name="level"/> mapping <paramref name="pagePhys"/> (aligned to
    /// the level's page size, below <see cref="LeafPhysLimit"/>; panics otherwise).</summary>
    static abstract ulong MakeLeaf(int level, ulong pagePhys, PageFlags flags);
    /// <summary>True when the entry is present (x86 P, RISC-V V). A test of one bit: the mapper
    /// ORs entries together and tests the result to see whether any of them is present.</summary>
    static abstract bool IsPresent(ulong entry);
    /// <summary>True when the entry is present and maps a page.</summary>
    static abstract bool IsLeaf(int level, ulong entry);
    /// <summary>True when the entry is present and points at a table (IsPresent and not
    /// IsLeaf), as the format's cheapest test: a walk asks it at every level.</summary>
    static abstract bool PointsToTable(int level, ulong entry);
    /// <summary>The table a pointer entry points at (<see cref="PointsToTable"/> is true): what
    /// <see cref="Address"/> answers for it, without asking again whether it is a leaf.</summary>
    static abstract ulong TableAddress(ulong entry);
    /// <summary>The physical address the entry points at: the table, or the page of a leaf.</summary>
    static abstract ulong Address(int level, ulong entry);
    /// <summary>The portable flags of a leaf (on a pointer: the same bits, read as rights).</summary>
    static abstract PageFlags Flags(int level, ulong entry);
    /// <summary>What a pointer entry of <paramref name="level"/> (one that points at a table)
    /// lets the leaves below it do: some of <see cref="PageFlags.Writable"/>,
    /// <see cref="PageFlags.User"/> and <see cref="PageFlags.Executable"/>. An access is allowed
    /// only if every entry of the walk allows it, so a leaf's effective rights are its own ANDed
    /// with these. x86: R/W, U/S and (with NX) XD of the entry; a PAE PDPTE has no such bits and
    /// allows everything; RISC-V: pointers carry no permissions, everything.</summary>
    static abstract PageFlags PointerRights(int level, ulong entry);
    /// <summary>A leaf with its portable flag bits replaced; the address and every bit the
    /// portable flags do not name (PAT, protection key, software bits) are kept.</summary>
    static abstract ulong WithFlags(int level, ulong entry, PageFlags flags);
    /// <summary>A leaf of <paramref name="level"/> rewritten as a leaf of level - 1 at the same
    /// address with the same attributes (x86 moves PAT from bit 12 to bit 7 for a PTE).</summary>
    static abstract ulong SplitLeaf(int level, ulong entry);
    /// <summary>A leaf with its page address replaced (aligned to the level's page size).</summary>
    static abstract ulong WithAddress(int level, ulong entry, ulong pagePhys);

    // ---- occupancy counts (internal: how the mapper knows a table is empty) ----

    /// <summary>True when a pointer entry below the top level has room, in bits the processor
    /// ignores, for a count field: the mapper then keeps there 1 + the number of non-zero
    /// entries of the table the entry points at (mappings, tables, and the swap entries of
    /// <see cref="SwapEntry{TFormat}"/>, which hold their table like mappings), so it sees a
    /// table become empty without reading the table. False (the default): the mapper scans the
    /// table instead.</summary>
    internal static virtual bool CountsChildren => false;
    /// <summary>The count field of a pointer entry: 0 when the entry carries no count (made
    /// elsewhere, or a top-level entry), otherwise 1 + the number of non-zero entries in the
    /// table it points at.</summary>
    internal static virtual int ChildCountField(ulong entry) => 0;
    /// <summary>The pointer entry with its count field replaced (0 up to 1 + the entries per table).</summary>
    internal static virtual ulong WithChildCountField(ulong entry, int field) => entry;
    /// <summary>Adds <paramref name="delta"/> (1 or -1) to the count field of pointer entry
    /// <paramref name="index"/> of <paramref name="table"/>, whose value is <paramref name="entry"/>,
    /// the format's fastest way. Returns 0 when the entry carries no count (nothing changed),
    /// 1 when the table it points at is now empty, 2 otherwise.</summary>
    internal static virtual int AddChildCount(byte* table, int index, ulong entry, int delta) => 0;
    /// <summary>The architecture's name for tables of <paramref name="level"/> ("PML4", "PD", "L2"...).</summary>
    static abstract string LevelName(int level);
    /// <summary>The name of bit <paramref name="bit"/> as it reads in <paramref name="entry"/> at
    /// <paramref name="level"/> ("P", "RW", "PS", "PAT", "XD", "V", "R"...), or null for an
    /// address, ignored or reserved bit.</summary>
    static abstract string BitName(int level, ulong entry, int bit);
}
