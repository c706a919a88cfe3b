using System.Runtime.CompilerServices;

namespace SharpMM.Paging.X86;

/// <summary>
/// x86 32-bit paging (CR0.PG with CR4.PAE = 0; Intel SDM vol. 3A, 4.3): two levels of 1024
/// four-byte entries, 4 KiB pages, and 4 MiB pages with CR4.PSE.
/// <code>
///   virtual address
///   31        22 21        12 11           0
///  +------------+------------+--------------+
///  | dir index  | table index| page offset  |
///  +------------+------------+--------------+
///   level 1: page directory (LegacyPde) -> page table or 4 MiB page
///   level 0: page table (LegacyPte)     -> 4 KiB page
/// </code>
/// No execute-disable bit exists: <see cref="PageFlags.Executable"/> is ignored and every page
/// reads back executable. 4 MiB pages may lie below 2^40 (PSE-36); 4 KiB pages and tables below
/// 4 GiB. A 4 MiB page above 4 GiB cannot be split into 4 KiB pages.
/// </summary>
public unsafe struct X86LegacyFormat : IPagingFormat<X86LegacyFormat>
{
    /// <inheritdoc/>
    public static string Name => "x86 32-bit";
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
    public static ulong TablePhysLimit(int level) => 1UL << 32;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong LeafPhysLimit(int level) => level == 0 ? 1UL << 32 : LegacyPde.LargePhysLimit;
    /// <inheritdoc/>
    public static bool RootEntriesLatched { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => false; }
    /// <inheritdoc/>
    public static bool NewMappingNeedsFlush { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => false; }
    /// <inheritdoc/>
    public static bool SupportsRecursiveMapping => true;
    /// <inheritdoc/>
    public static PageFlags Effective(PageFlags requested) => requested | PageFlags.Executable;

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
        if (level != 1) Panic.Fail("X86LegacyFormat.MakeTable: only level 1 points at tables", (ulong)level);
        return LegacyPde.Table(tablePhys, X86EntryFlags.Present | X86EntryFlags.Writable | X86EntryFlags.User).Raw;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MakeLeaf(int level, ulong pagePhys, PageFlags flags)
    {
        uint bits = (uint)X86Bits.FromPortable(flags, XdBit.Absent) | (uint)X86Bits.Present;
        if (level == 0) return LegacyPte.Page(pagePhys, (X86EntryFlags)bits).Raw;
        if (level == 1) return LegacyPde.LargePage(pagePhys, (X86EntryFlags)bits).Raw;
        Panic.Fail("X86LegacyFormat.MakeLeaf: level out of range", (ulong)level);
        return 0;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsPresent(ulong entry) => (entry & X86Bits.Present) != 0;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsLeaf(int level, ulong entry) => (entry & X86Bits.Present) != 0 && (level == 0 || (entry & X86Bits.PageSize) != 0);
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool PointsToTable(int level, ulong entry) => level != 0 && X86Bits.IsPresentNotLarge(entry);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Address(int level, ulong entry)
    {
        if (level == 1 && (entry & X86Bits.PageSize) != 0) return new LegacyPde((uint)entry).LargePageAddress;
        return entry & LegacyPte.AddressMask;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PageFlags Flags(int level, ulong entry) => X86Bits.ToPortable(entry, XdBit.Absent);

    /// <inheritdoc/>
    public static PageFlags PointerRights(int level, ulong entry) => X86Bits.ToPortable(entry, XdBit.Absent) & LeafMapping.WalkRights;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong WithFlags(int level, ulong entry, PageFlags flags) =>
        (entry & ~X86Bits.PortableMask(XdBit.Absent)) | X86Bits.FromPortable(flags, XdBit.Absent);

    /// <inheritdoc/>
    public static ulong SplitLeaf(int level, ulong entry)
    {
        var pde = new LegacyPde((uint)entry);
        if (level != 1 || !pde.IsLargePage) Panic.Fail("X86LegacyFormat.SplitLeaf: not a 4 MiB leaf", entry);
        ulong addr = pde.LargePageAddress;
        if (addr >= 1UL << 32) Panic.Fail("X86LegacyFormat.SplitLeaf: PSE-36 page above 4 GiB", addr);
        // PS (bit 7) becomes PAT; the 4 MiB PAT bit (12) moves down to it.
        uint low = (uint)entry & (0x17Fu | LegacyPde.AvailableMask);
        if ((entry & X86Bits.LargePat) != 0) low |= (uint)X86Bits.PtePat;
        return (uint)addr | low;
    }

    /// <inheritdoc/>
    public static ulong WithAddress(int level, ulong entry, ulong pagePhys)
    {
        if (level == 0) return (entry & ~(ulong)LegacyPte.AddressMask) | pagePhys;
        uint addr = (uint)(pagePhys & LegacyPde.LargeAddressMask) | ((uint)(pagePhys >> 32) << 13);
        return (entry & ~(ulong)(LegacyPde.LargeAddressMask | LegacyPde.Pse36Mask)) | addr;
    }

    /// <inheritdoc/>
    public static string LevelName(int level) => level == 1 ? "PD" : "PT";

    /// <inheritdoc/>
    public static string BitName(int level, ulong entry, int bit)
    {
        bool leaf = IsLeaf(level, entry);
        return X86Bits.BitName(level, bit, leaf, leaf && level > 0, bit7IsPs: level == 1);
    }
}
