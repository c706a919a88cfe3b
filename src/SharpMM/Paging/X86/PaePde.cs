namespace SharpMM.Paging.X86;

/// <summary>
/// A PAE page-directory entry (Intel SDM vol. 3A, 4.4.2). A directory has 512; entry i of the
/// directory under PDPTE p covers virtual p * 1 GiB + i * 2 MiB.
/// <code>
///  table form (PS = 0)
///   63 62     52 51                                12 11  9 8 7 6 5 4 3 2 1 0
///  +--+---------+------------------------------------+-----+-+-+-+-+-+-+-+-+-+
///  |XD| res 0   | page-table physical address        | avl |i|0|i|A|C|T|U|W|P|
///  +--+---------+------------------------------------+-----+-+-+-+-+-+-+-+-+-+
///  2 MiB form (PS = 1)
///   63 62     52 51                   21 20       13 12 11  9 8 7 6 5 4 3 2 1 0
///  +--+---------+-----------------------+-----------+---+-----+-+-+-+-+-+-+-+-+-+
///  |XD| res 0   | page address 51:21    | res 0     |PAT| avl |G|1|D|A|C|T|U|W|P|
///  +--+---------+-----------------------+-----------+---+-----+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public readonly struct PaePde
{
    /// <summary>Physical address of the page table, bits 51:12.</summary>
    public const ulong TableAddressMask = 0x000F_FFFF_FFFF_F000;
    /// <summary>Physical address of a 2 MiB page, bits 51:21.</summary>
    public const ulong LargeAddressMask = 0x000F_FFFF_FFE0_0000;
    /// <summary>Bits 11:9, ignored by the CPU, free for software.</summary>
    public const ulong AvailableMask = 0x0E00;
    /// <summary>The bits of <see cref="X86EntryFlags"/> this entry has; the others are rejected.</summary>
    public const ulong FlagMask = 0x8000_0000_0000_11FF;

    /// <summary>The raw 64-bit entry.</summary>
    public readonly ulong Raw;

    /// <summary>Wraps a raw entry.</summary>
    public PaePde(ulong raw) { Raw = raw; }

    /// <summary>An entry pointing at the page table at <paramref name="tablePhys"/> (4 KiB-aligned,
    /// below 2^52; panics otherwise). PS and the 2 MiB-only bits are cleared.</summary>
    public static PaePde Table(ulong tablePhys, X86EntryFlags flags)
    {
        if ((tablePhys & ~TableAddressMask) != 0) Panic.Fail("PaePde.Table: address not 4 KiB-aligned below 2^52", tablePhys);
        const X86EntryFlags largeOnly = X86EntryFlags.PageSize | X86EntryFlags.Dirty | X86EntryFlags.Global | X86EntryFlags.LargePat;
        return new PaePde(tablePhys | (ulong)X86Bits.Only(flags & ~largeOnly, FlagMask));
    }

    /// <summary>An entry mapping the 2 MiB page at <paramref name="pagePhys"/> (2 MiB-aligned,
    /// below 2^52; panics otherwise). PS is set.</summary>
    public static PaePde LargePage(ulong pagePhys, X86EntryFlags flags)
    {
        if ((pagePhys & ~LargeAddressMask) != 0) Panic.Fail("PaePde.LargePage: address not 2 MiB-aligned below 2^52", pagePhys);
        return new PaePde(pagePhys | (ulong)X86Bits.Only(flags, FlagMask) | (ulong)X86EntryFlags.PageSize);
    }

    /// <summary>The flag bits.</summary>
    public X86EntryFlags Flags => (X86EntryFlags)(Raw & FlagMask);
    /// <summary>P is set.</summary>
    public bool IsPresent => (Raw & (ulong)X86EntryFlags.Present) != 0;
    /// <summary>PS is set: the entry maps a 2 MiB page.</summary>
    public bool IsLargePage => (Raw & (ulong)X86EntryFlags.PageSize) != 0;
    /// <summary>The page table's physical address (table form).</summary>
    public ulong TableAddress => Raw & TableAddressMask;
    /// <summary>The 2 MiB page's physical address (2 MiB form).</summary>
    public ulong LargePageAddress => Raw & LargeAddressMask;

    /// <summary>The same entry with its flag bits replaced (address and software bits kept).</summary>
    public PaePde WithFlags(X86EntryFlags flags) => new PaePde((Raw & ~FlagMask) | (ulong)X86Bits.Only(flags, FlagMask));
}
