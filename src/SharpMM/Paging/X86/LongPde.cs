using System.Runtime.CompilerServices;

namespace SharpMM.Paging.X86;

/// <summary>
/// A 4-level paging page-directory entry (Intel SDM vol. 3A, 4.5): 512 per directory, each
/// covering 2 MiB (virtual bits 29:21).
/// <code>
///  table form (PS = 0)
///   63 62     52 51                                12 11  8 7 6 5 4 3 2 1 0
///  +--+---------+------------------------------------+-----+-+-+-+-+-+-+-+-+
///  |XD| ignored | page-table physical address        | ign |0|i|A|C|T|U|W|P|
///  +--+---------+------------------------------------+-----+-+-+-+-+-+-+-+-+
///  2 MiB form (PS = 1)
///   63 62  59 58  52 51               21 20       13 12 11  9 8 7 6 5 4 3 2 1 0
///  +--+------+------+-------------------+-----------+---+-----+-+-+-+-+-+-+-+-+-+
///  |XD| PKey | ign  | page addr 51:21   | res 0     |PAT| avl |G|1|D|A|C|T|U|W|P|
///  +--+------+------+-------------------+-----------+---+-----+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public readonly struct LongPde
{
    /// <summary>Physical address of the page table, bits 51:12.</summary>
    public const ulong TableAddressMask = 0x000F_FFFF_FFFF_F000;
    /// <summary>Physical address of a 2 MiB page, bits 51:21.</summary>
    public const ulong LargeAddressMask = 0x000F_FFFF_FFE0_0000;
    /// <summary>Protection key, bits 62:59 (2 MiB form).</summary>
    public const ulong ProtectionKeyMask = 0x7800_0000_0000_0000;
    /// <summary>The bits of <see cref="X86EntryFlags"/> this entry has; the others are rejected.</summary>
    public const ulong FlagMask = 0x8000_0000_0000_11FF;

    /// <summary>The raw 64-bit entry.</summary>
    public readonly ulong Raw;

    /// <summary>Wraps a raw entry.</summary>
    public LongPde(ulong raw) { Raw = raw; }

    /// <summary>An entry pointing at the page table at <paramref name="tablePhys"/> (4 KiB-aligned,
    /// below 2^52; panics otherwise). PS and the 2 MiB-only bits are cleared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LongPde Table(ulong tablePhys, X86EntryFlags flags)
    {
        if ((tablePhys & ~TableAddressMask) != 0) Panic.Fail("LongPde.Table: address not 4 KiB-aligned below 2^52", tablePhys);
        const X86EntryFlags largeOnly = X86EntryFlags.PageSize | X86EntryFlags.Dirty | X86EntryFlags.Global | X86EntryFlags.LargePat;
        return new LongPde(tablePhys | (ulong)X86Bits.Only(flags & ~largeOnly, FlagMask));
    }

    /// <summary>An entry mapping the 2 MiB page at <paramref name="pagePhys"/> (2 MiB-aligned,
    /// below 2^52; panics otherwise). PS is set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LongPde LargePage(ulong pagePhys, X86EntryFlags flags)
    {
        if ((pagePhys & ~LargeAddressMask) != 0) Panic.Fail("LongPde.LargePage: address not 2 MiB-aligned below 2^52", pagePhys);
        return new LongPde(pagePhys | (ulong)X86Bits.Only(flags, FlagMask) | (ulong)X86EntryFlags.PageSize);
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
    /// <summary>The protection key (2 MiB form).</summary>
    public uint ProtectionKey => (uint)((Raw & ProtectionKeyMask) >> 59);

    /// <summary>The same entry with its flag bits replaced (address, key and software bits kept).</summary>
    public LongPde WithFlags(X86EntryFlags flags) => new LongPde((Raw & ~FlagMask) | (ulong)X86Bits.Only(flags, FlagMask));
}
