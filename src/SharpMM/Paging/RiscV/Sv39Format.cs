using System.Runtime.CompilerServices;

namespace SharpMM.Paging.RiscV;

/// <summary>
/// RISC-V Sv39 (satp.MODE = 8; privileged spec, "Sv39"): three levels of 512 eight-byte entries
/// (<see cref="Sv39Pte"/>), 4 KiB pages, 2 MiB megapages and 1 GiB gigapages; 39-bit virtual
/// addresses with bits 63:39 equal to bit 38; 56-bit physical addresses.
/// <code>
///   virtual address
///   63    39 38     30 29     21 20     12 11          0
///  +--------+---------+---------+---------+-------------+
///  | sign   | VPN[2]  | VPN[1]  | VPN[0]  | page offset |
///  +--------+---------+---------+---------+-------------+
///   level 2: root -> level-1 table or 1 GiB gigapage
///   level 1:      -> level-0 table or 2 MiB megapage
///   level 0:      -> 4 KiB page
/// </code>
/// WriteThrough and CacheDisable are ignored (no Svpbmt use); pointers carry V only.
/// </summary>
public unsafe struct Sv39Format : IPagingFormat<Sv39Format>
{
    /// <inheritdoc/>
    public static string Name => "RISC-V Sv39";
    /// <inheritdoc/>
    public static int Levels { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 3; }
    /// <inheritdoc/>
    public static int EntrySize { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 8; }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool CanBeLeaf(int level) => (uint)level <= 2;
    /// <inheritdoc/>
    public static int VirtualBits { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 39; }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsCanonical(ulong va) => (va + (1UL << 38)) >> 39 == 0;   // bits 63:38 all equal
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Canonicalize(ulong va) => (ulong)((long)va << 25 >> 25);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong TablePhysLimit(int level) => Sv39Pte.PhysLimit;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong LeafPhysLimit(int level) => Sv39Pte.PhysLimit;
    /// <inheritdoc/>
    public static bool RootEntriesLatched { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => false; }
    /// <inheritdoc/>
    public static bool NewMappingNeedsFlush { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => true; }
    /// <inheritdoc/>
    public static bool SupportsRecursiveMapping => false;
    /// <inheritdoc/>
    public static PageFlags Effective(PageFlags requested) => requested & ~RiscVBits.Ignored;

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
        if (level != 1 && level != 2) Panic.Fail("Sv39Format.MakeTable: level does not point at tables", (ulong)level);
        return Sv39Pte.Pointer(tablePhys).Raw;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MakeLeaf(int level, ulong pagePhys, PageFlags flags)
    {
        if ((uint)level > 2 || !IPagingFormat<Sv39Format>.IsLeafAligned(level, pagePhys)) Panic.Fail("Sv39Format.MakeLeaf: bad level or misaligned superpage", pagePhys);
        return Sv39Pte.Leaf(pagePhys, (RiscVPteFlags)RiscVBits.FromPortable(flags)).Raw;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsPresent(ulong entry) => (entry & RiscVBits.Valid) != 0;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsLeaf(int level, ulong entry) => RiscVBits.IsLeaf(entry);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool PointsToTable(int level, ulong entry) => RiscVBits.IsPointer(entry);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Address(int level, ulong entry) => new Sv39Pte(entry).Address;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PageFlags Flags(int level, ulong entry) => RiscVBits.ToPortable(entry);

    /// <inheritdoc/>
    public static PageFlags PointerRights(int level, ulong entry) => LeafMapping.WalkRights;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong WithFlags(int level, ulong entry, PageFlags flags) =>
        (entry & ~RiscVBits.PortableMask) | RiscVBits.FromPortable(flags);

    /// <inheritdoc/>
    public static ulong SplitLeaf(int level, ulong entry)
    {
        if ((level != 1 && level != 2) || !RiscVBits.IsLeaf(entry)) Panic.Fail("Sv39Format.SplitLeaf: not a superpage", entry);
        return entry;
    }

    /// <inheritdoc/>
    public static ulong WithAddress(int level, ulong entry, ulong pagePhys) =>
        (entry & ~Sv39Pte.PpnMask) | (pagePhys >> 12 << Sv39Pte.PpnShift);

    /// <inheritdoc/>
    public static string LevelName(int level) => level == 2 ? "L2" : level == 1 ? "L1" : "L0";
    /// <inheritdoc/>
    public static string BitName(int level, ulong entry, int bit) => RiscVBits.BitName(bit);
}
