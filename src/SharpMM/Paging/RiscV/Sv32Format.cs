using System.Runtime.CompilerServices;

namespace SharpMM.Paging.RiscV;

/// <summary>
/// RISC-V Sv32 (satp.MODE = 1; privileged spec, "Sv32"): two levels of 1024 four-byte entries
/// (<see cref="Sv32Pte"/>), 4 KiB pages and 4 MiB megapages, 34-bit physical addresses.
/// <code>
///   virtual address
///   31        22 21        12 11           0
///  +------------+------------+--------------+
///  |  VPN[1]    |  VPN[0]    | page offset  |
///  +------------+------------+--------------+
///   level 1: root table -> level-0 table or 4 MiB megapage
///   level 0: table      -> 4 KiB page
/// </code>
/// WriteThrough and CacheDisable are ignored (PMAs decide cacheability). Pointers carry V only.
/// After any change the hart needs SFENCE.VMA (the hooks' InvalidatePage/FlushAll); unlike x86,
/// RISC-V may cache invalid entries, so a new mapping needs it too, which the tokens always ask for.
/// </summary>
public unsafe struct Sv32Format : IPagingFormat<Sv32Format>
{
    /// <inheritdoc/>
    public static string Name => "RISC-V Sv32";
    /// <inheritdoc/>
    public static int Levels { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 2; }
    /// <inheritdoc/>
    public static int EntrySize { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 4; }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool CanBeLeaf(int level) => (uint)level <= 1;
    /// <inheritdoc/>
    public static int VirtualBits { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 32; }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsCanonical(ulong va) => va <= uint.MaxValue;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Canonicalize(ulong va) => va & uint.MaxValue;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong TablePhysLimit(int level) => Sv32Pte.PhysLimit;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong LeafPhysLimit(int level) => Sv32Pte.PhysLimit;
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
    public static ulong Read(byte* table, int index) => ((uint*)table)[(uint)index]; // (uint): indices are never negative, and a zero extension is free
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write(byte* table, int index, ulong entry) => ((uint*)table)[(uint)index] = (uint)entry;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MakeTable(int level, ulong tablePhys)
    {
        if (level != 1) Panic.Fail("Sv32Format.MakeTable: only level 1 points at tables", (ulong)level);
        return Sv32Pte.Pointer(tablePhys).Raw;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MakeLeaf(int level, ulong pagePhys, PageFlags flags)
    {
        if ((uint)level > 1 || !IPagingFormat<Sv32Format>.IsLeafAligned(level, pagePhys)) Panic.Fail("Sv32Format.MakeLeaf: bad level or misaligned superpage", pagePhys);
        return Sv32Pte.Leaf(pagePhys, (RiscVPteFlags)RiscVBits.FromPortable(flags)).Raw;
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
    public static ulong Address(int level, ulong entry) => new Sv32Pte((uint)entry).Address;
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
        if (level != 1 || !RiscVBits.IsLeaf(entry)) Panic.Fail("Sv32Format.SplitLeaf: not a megapage", entry);
        return entry; // leaves look the same at every level
    }

    /// <inheritdoc/>
    public static ulong WithAddress(int level, ulong entry, ulong pagePhys) =>
        (entry & ~(ulong)Sv32Pte.PpnMask) | (pagePhys >> 12 << Sv32Pte.PpnShift);

    /// <inheritdoc/>
    public static string LevelName(int level) => level == 1 ? "L1" : "L0";
    /// <inheritdoc/>
    public static string BitName(int level, ulong entry, int bit) => bit < 8 ? RiscVBits.BitName(bit) : null;
}
