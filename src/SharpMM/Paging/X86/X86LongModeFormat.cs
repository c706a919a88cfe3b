using System.Runtime.CompilerServices;

namespace SharpMM.Paging.X86;

/// <summary>
/// x86-64 4-level paging (IA-32e mode, CR4.LA57 = 0; Intel SDM vol. 3A, 4.5): four levels of
/// 512 eight-byte entries; 4 KiB, 2 MiB and 1 GiB pages; execute-disable; 48-bit canonical
/// virtual addresses (bits 63:47 equal), physical addresses up to 2^52.
/// <code>
///   virtual address
///   63    48 47     39 38     30 29     21 20     12 11          0
///  +--------+---------+---------+---------+---------+-------------+
///  | sign   | PML4    | PDPT    | PD      | PT      | page offset |
///  +--------+---------+---------+---------+---------+-------------+
///   level 3: PML4 (LongPml4e)  -> PDPT
///   level 2: PDPT (LongPdpte)  -> page directory or 1 GiB page
///   level 1: PD   (LongPde)    -> page table or 2 MiB page
///   level 0: PT   (LongPte)    -> 4 KiB page
/// </code>
/// 1 GiB pages need CPUID.80000001H:EDX.Page1GB; the mapper does not check: pass a smaller
/// largest size to the range operations on a CPU without it.
///
/// Table-occupancy count (IPagingFormat.CountsChildren): a PDPTE or PDE the mapper makes to
/// point at a table carries 1 + the number of non-zero entries of that table (0 to 512), in
/// bits the processor ignores there, and also when a recursive mapping makes it read a PDE as
/// a PTE (bits 62:59 would then be a protection key, so they are left alone):
/// <code>
///   63 62  59 58       52 51                        12 11     9 8          0
///  +--+------+-----------+----------------------------+--------+------------+
///  |XD| ign  | count 6:0 | table address              | cnt 9:7| flags, PS=0|
///  +--+------+-----------+----------------------------+--------+------------+
/// </code>
/// Field 0 means "no count" (an entry made elsewhere: the mapper scans that table instead);
/// PML4 entries never carry one (tables below the root may be shared by several roots). A
/// non-zero PTE that is not present (a swap entry, <see cref="SwapEntry{TFormat}"/>) counts.
/// </summary>
public unsafe partial struct X86LongModeFormat : IPagingFormat<X86LongModeFormat>
{
    /// <inheritdoc/>
    public static string Name => "x86-64 4-level";
    /// <inheritdoc/>
    public static int Levels { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 4; }
    /// <inheritdoc/>
    public static int EntrySize { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 8; }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool CanBeLeaf(int level) => (uint)level <= 2;
    /// <inheritdoc/>
    public static int VirtualBits { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 48; }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsCanonical(ulong va) => (va + (1UL << 47)) >> 48 == 0;   // bits 63:47 all equal
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Canonicalize(ulong va) => (ulong)((long)va << 16 >> 16);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong TablePhysLimit(int level) => 1UL << 52;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong LeafPhysLimit(int level) => 1UL << 52;
    /// <inheritdoc/>
    public static bool RootEntriesLatched { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => false; }
    /// <inheritdoc/>
    public static bool NewMappingNeedsFlush { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => false; }
    /// <inheritdoc/>
    public static bool SupportsRecursiveMapping => true;
    /// <inheritdoc/>
    public static PageFlags Effective(PageFlags requested) => requested;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Read(byte* table, int index) => ((ulong*)table)[(uint)index]; // (uint): indices are never negative, and a zero extension is free
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write(byte* table, int index, ulong entry) => ((ulong*)table)[(uint)index] = entry;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MakeTable(int level, ulong tablePhys)
    {
        switch (level)
        {
            case 3: return LongPml4e.Table(tablePhys, X86EntryFlags.Present | X86EntryFlags.Writable | X86EntryFlags.User).Raw;
            case 2: return LongPdpte.Table(tablePhys, X86EntryFlags.Present | X86EntryFlags.Writable | X86EntryFlags.User).Raw;
            case 1: return LongPde.Table(tablePhys, X86EntryFlags.Present | X86EntryFlags.Writable | X86EntryFlags.User).Raw;
        }
        Panic.Fail("X86LongModeFormat.MakeTable: level does not point at tables", (ulong)level);
        return 0;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MakeLeaf(int level, ulong pagePhys, PageFlags flags)
    {
        ulong bits = X86Bits.FromPortable(flags, XdBit.Present) | X86Bits.Present;
        switch (level)
        {
            case 0: return LongPte.Page(pagePhys, (X86EntryFlags)bits).Raw;
            case 1: return LongPde.LargePage(pagePhys, (X86EntryFlags)bits).Raw;
            case 2: return LongPdpte.HugePage(pagePhys, (X86EntryFlags)bits).Raw;
        }
        Panic.Fail("X86LongModeFormat.MakeLeaf: level cannot hold a leaf", (ulong)level);
        return 0;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsPresent(ulong entry) => (entry & X86Bits.Present) != 0;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsLeaf(int level, ulong entry) =>
        (entry & X86Bits.Present) != 0 && (level == 0 || ((uint)level <= 2 && (entry & X86Bits.PageSize) != 0));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool PointsToTable(int level, ulong entry) =>
        level != 0 && ((uint)level > 2 ? (entry & X86Bits.Present) != 0 : X86Bits.IsPresentNotLarge(entry));

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Address(int level, ulong entry)
    {
        if (level != 0 && level <= 2 && (entry & X86Bits.PageSize) != 0)
            return entry & (level == 1 ? LongPde.LargeAddressMask : LongPdpte.HugeAddressMask);
        return entry & LongPte.AddressMask;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PageFlags Flags(int level, ulong entry) => X86Bits.ToPortable(entry, XdBit.Present);

    /// <inheritdoc/>
    public static PageFlags PointerRights(int level, ulong entry) => X86Bits.ToPortable(entry, XdBit.Present) & LeafMapping.WalkRights;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong WithFlags(int level, ulong entry, PageFlags flags) =>
        (entry & ~X86Bits.PortableMask(XdBit.Present)) | X86Bits.FromPortable(flags, XdBit.Present);

    /// <inheritdoc/>
    public static ulong SplitLeaf(int level, ulong entry)
    {
        if ((level != 1 && level != 2) || !IsLeaf(level, entry)) Panic.Fail("X86LongModeFormat.SplitLeaf: not a 2 MiB or 1 GiB leaf", entry);
        if (level == 2) return entry; // a 1 GiB PDPTE and a 2 MiB PDE share PS, PAT (bit 12) and the key
        ulong e = entry & ~(X86Bits.PageSize | X86Bits.LargePat);
        if ((entry & X86Bits.LargePat) != 0) e |= X86Bits.PtePat;
        return e;
    }

    /// <inheritdoc/>
    public static ulong WithAddress(int level, ulong entry, ulong pagePhys)
    {
        ulong mask = level == 0 ? LongPte.AddressMask : level == 1 ? LongPde.LargeAddressMask : LongPdpte.HugeAddressMask;
        return (entry & ~mask) | pagePhys;
    }

    // The mapper's count field in a PDPTE or PDE that points at a table: 1 + the number of
    // non-zero entries of that table, its low 7 bits in bits 58:52 and its high 3 bits in bits
    // 11:9. The processor ignores these bits in every entry, also when a recursive mapping makes
    // it read a PDE as a PTE (bits 62:59 would then be a protection key). Values up to 513
    // (1 + 512 entries). A PTE that is not present but non-zero is a swap entry, slot << 12 |
    // 0b10 (SwapEntry; with P = 0 the processor ignores every other bit): it counts as an entry.
    private const ulong CountMask = 0x07F0_0000_0000_0E00;

    static bool IPagingFormat.CountsChildren
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int IPagingFormat.ChildCountField(ulong entry) => CountField(entry);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong IPagingFormat.WithChildCountField(ulong entry, int field) => WithCountField(entry, field);

    // While the low 7 bits neither overflow nor come near 0 (124 changes in 128), one add at
    // bit 52. (A whole-entry store: the next walk reads the entry back at once, and a narrower
    // store would not forward to that load.)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int IPagingFormat.AddChildCount(byte* table, int index, ulong entry, int delta) =>
        (delta > 0 ? CountUpFast(table, index, entry) : CountDownFast(table, index, entry)) ? 2 : AddCountSlow(table, index, entry, delta);

    // The common increment: the low 7 bits neither overflow nor are 0 (no count). Tested on
    // the sum: its low 7 bits are 2 or more (one of bits 58:53 set) exactly when they were 1
    // to 126 before (127 wraps to 0, 0 becomes 1).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool CountUpFast(byte* table, int index, ulong entry)
    {
        ulong sum = entry + (1UL << 52);
        if ((sum & (0x7EUL << 52)) == 0) return false;
        ((ulong*)table)[(uint)index] = sum;
        return true;
    }

    // The common decrement: the low 7 bits are 4 or more (one of bits 58:54 set), so they stay
    // at 3 or more and the table cannot become empty. (A whole-entry store, as in CountUpFast:
    // a store to the upper half alone does not forward to the next walk's load of the entry,
    // which then waits for it; unmapping pages in address order took 6.0 ns a page instead of
    // 3.5.)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool CountDownFast(byte* table, int index, ulong entry)
    {
        if ((entry & DownFastBits) == 0) return false;
        ((ulong*)table)[(uint)index] = entry - CountUnit;
        return true;
    }
    private const ulong DownFastBits = 0x7CUL << 52, CountUnit = 1UL << 52;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int AddCountSlow(byte* table, int index, ulong entry, int delta)
    {
        int field = CountField(entry);
        if (field == 0) return 0;
        field += delta;
        if (field < 1 || field > 513) Panic.Fail("X86LongModeFormat: a table-occupancy count out of range", entry);
        ((ulong*)table)[index] = WithCountField(entry, field);
        return field == 1 ? 1 : 2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CountField(ulong entry) => (int)((entry >> 52) & 0x7F) | (int)((entry >> 2) & 0x380);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong WithCountField(ulong entry, int field) =>
        (entry & ~CountMask) | ((ulong)(uint)(field & 0x7F) << 52) | ((ulong)(uint)(field & 0x380) << 2);

    /// <inheritdoc/>
    public static string LevelName(int level) => level switch { 3 => "PML4", 2 => "PDPT", 1 => "PD", _ => "PT" };

    /// <inheritdoc/>
    public static string BitName(int level, ulong entry, int bit)
    {
        bool leaf = IsLeaf(level, entry);
        if (leaf && bit >= 59 && bit <= 62) return "PK";
        // Bits 52-58 are ignored by the MMU in every 4-level entry: software's (Linux's SOFTW4
        // is 57, SOFTW5 58).
        switch (bit)
        {
            case 52: return "SW52";
            case 53: return "SW53";
            case 54: return "SW54";
            case 55: return "SW55";
            case 56: return "SW56";
            case 57: return "SW57";
            case 58: return "SW58";
        }
        return X86Bits.BitName(level, bit, leaf, leaf && level > 0, bit7IsPs: level == 1 || level == 2);
    }
}
