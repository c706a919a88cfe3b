using System.Runtime.CompilerServices;

namespace SharpMM.Paging.X86;

/// <summary>
/// x86 PAE paging (CR4.PAE = 1, 32-bit linear addresses; Intel SDM vol. 3A, 4.4): a four-entry
/// PDPT, then 512-entry directories and tables of eight-byte entries; 4 KiB and 2 MiB pages;
/// execute-disable with EFER.NXE; physical addresses up to 2^52.
/// <code>
///   virtual address
///   31 30 29       21 20       12 11           0
///  +-----+-----------+-----------+--------------+
///  |PDPT | dir index | tbl index | page offset  |
///  +-----+-----------+-----------+--------------+
///   level 2: PDPT, 4 entries (PaePdpte) -> page directory   (CR3 -> PDPT, below 4 GiB)
///   level 1: page directory (PaePde)    -> page table or 2 MiB page
///   level 0: page table (PaePte)        -> 4 KiB page
/// </code>
/// The four PDPTEs are loaded into registers on a CR3 write, so linking or unlinking a page
/// directory needs a CR3 reload (<see cref="RootEntriesLatched"/>; the flush tokens carry it).
/// Recursive mapping is not supported (the PDPT is not a 4 KiB table).
/// </summary>
public unsafe struct X86PaeFormat : IPagingFormat<X86PaeFormat>
{
    /// <inheritdoc/>
    public static string Name => "x86 PAE";
    /// <inheritdoc/>
    public static int Levels { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 3; }
    /// <inheritdoc/>
    public static int EntrySize { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 8; }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EntriesPerTable(int level) => level == 2 ? 4 : 512;
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
    public static ulong TablePhysLimit(int level) => level == 2 ? 1UL << 32 : 1UL << 52;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong LeafPhysLimit(int level) => 1UL << 52;
    /// <inheritdoc/>
    public static bool RootEntriesLatched { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => true; }
    /// <inheritdoc/>
    public static bool NewMappingNeedsFlush { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => false; }
    /// <inheritdoc/>
    public static bool SupportsRecursiveMapping => false;
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
        if (level == 2) return PaePdpte.Directory(tablePhys, X86EntryFlags.Present).Raw;
        if (level == 1) return PaePde.Table(tablePhys, X86EntryFlags.Present | X86EntryFlags.Writable | X86EntryFlags.User).Raw;
        Panic.Fail("X86PaeFormat.MakeTable: level does not point at tables", (ulong)level);
        return 0;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MakeLeaf(int level, ulong pagePhys, PageFlags flags)
    {
        ulong bits = X86Bits.FromPortable(flags, XdBit.Present) | X86Bits.Present;
        if (level == 0) return PaePte.Page(pagePhys, (X86EntryFlags)bits).Raw;
        if (level == 1) return PaePde.LargePage(pagePhys, (X86EntryFlags)bits).Raw;
        Panic.Fail("X86PaeFormat.MakeLeaf: level cannot hold a leaf", (ulong)level);
        return 0;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsPresent(ulong entry) => (entry & X86Bits.Present) != 0;
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsLeaf(int level, ulong entry) =>
        (entry & X86Bits.Present) != 0 && (level == 0 || (level == 1 && (entry & X86Bits.PageSize) != 0));
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool PointsToTable(int level, ulong entry) =>
        level != 0 && (level != 1 ? (entry & X86Bits.Present) != 0 : X86Bits.IsPresentNotLarge(entry));

    static ulong IPagingFormat.TableAddressMask
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => PaePte.AddressMask;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Address(int level, ulong entry) =>
        level == 1 && (entry & X86Bits.PageSize) != 0 ? entry & PaePde.LargeAddressMask : entry & PaePte.AddressMask;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PageFlags Flags(int level, ulong entry) => X86Bits.ToPortable(entry, XdBit.Present);

    /// <inheritdoc/>
    public static PageFlags PointerRights(int level, ulong entry) =>
        level == 2 ? LeafMapping.WalkRights : X86Bits.ToPortable(entry, XdBit.Present) & LeafMapping.WalkRights;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong WithFlags(int level, ulong entry, PageFlags flags) =>
        (entry & ~X86Bits.PortableMask(XdBit.Present)) | X86Bits.FromPortable(flags, XdBit.Present);

    /// <inheritdoc/>
    public static ulong SplitLeaf(int level, ulong entry)
    {
        if (level != 1 || !IsLeaf(1, entry)) Panic.Fail("X86PaeFormat.SplitLeaf: not a 2 MiB leaf", entry);
        ulong e = entry & ~(X86Bits.PageSize | X86Bits.LargePat);
        if ((entry & X86Bits.LargePat) != 0) e |= X86Bits.PtePat;
        return e;
    }

    /// <inheritdoc/>
    public static ulong WithAddress(int level, ulong entry, ulong pagePhys)
    {
        ulong mask = level == 0 ? PaePte.AddressMask : PaePde.LargeAddressMask;
        return (entry & ~mask) | pagePhys;
    }

    /// <inheritdoc/>
    public static string LevelName(int level) => level == 2 ? "PDPT" : level == 1 ? "PD" : "PT";

    /// <inheritdoc/>
    public static string BitName(int level, ulong entry, int bit)
    {
        if (level == 2) return bit == 0 ? "P" : bit == 3 ? "PWT" : bit == 4 ? "PCD" : null;
        bool leaf = IsLeaf(level, entry);
        return X86Bits.BitName(level, bit, leaf, leaf && level > 0, bit7IsPs: level == 1);
    }
}
