using System.Runtime.CompilerServices;

namespace SharpMM.Paging.X86;

/// <summary>
/// A 4-level paging PDPT entry (Intel SDM vol. 3A, 4.5): 512 per table, each covering 1 GiB
/// (virtual bits 38:30).
/// <code>
///  table form (PS = 0)
///   63 62     52 51                                12 11  8 7 6 5 4 3 2 1 0
///  +--+---------+------------------------------------+-----+-+-+-+-+-+-+-+-+
///  |XD| ignored | page-directory physical address    | ign |0|i|A|C|T|U|W|P|
///  +--+---------+------------------------------------+-----+-+-+-+-+-+-+-+-+
///  1 GiB form (PS = 1)
///   63 62  59 58  52 51               30 29       13 12 11  9 8 7 6 5 4 3 2 1 0
///  +--+------+------+-------------------+-----------+---+-----+-+-+-+-+-+-+-+-+-+
///  |XD| PKey | ign  | page addr 51:30   | res 0     |PAT| avl |G|1|D|A|C|T|U|W|P|
///  +--+------+------+-------------------+-----------+---+-----+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public readonly struct LongPdpte
{
    /// <summary>Physical address of the page directory, bits 51:12.</summary>
    public const ulong TableAddressMask = 0x000F_FFFF_FFFF_F000;
    /// <summary>Physical address of a 1 GiB page, bits 51:30.</summary>
    public const ulong HugeAddressMask = 0x000F_FFFF_C000_0000;
    /// <summary>Protection key, bits 62:59 (1 GiB form).</summary>
    public const ulong ProtectionKeyMask = 0x7800_0000_0000_0000;
    /// <summary>The bits of <see cref="X86EntryFlags"/> this entry has; the others are rejected.</summary>
    public const ulong FlagMask = 0x8000_0000_0000_11FF;

    /// <summary>The raw 64-bit entry.</summary>
    public readonly ulong Raw;

    /// <summary>Wraps a raw entry.</summary>
    public LongPdpte(ulong raw) { Raw = raw; }

    /// <summary>An entry pointing at the page directory at <paramref name="directoryPhys"/>
    /// (4 KiB-aligned, below 2^52; panics otherwise). PS and the 1 GiB-only bits are cleared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LongPdpte Table(ulong directoryPhys, X86EntryFlags flags)
    {
        if ((directoryPhys & ~TableAddressMask) != 0) Panic.Fail("LongPdpte.Table: address not 4 KiB-aligned below 2^52", directoryPhys);
        const X86EntryFlags hugeOnly = X86EntryFlags.PageSize | X86EntryFlags.Dirty | X86EntryFlags.Global | X86EntryFlags.LargePat;
        return new LongPdpte(directoryPhys | (ulong)X86Bits.Only(flags & ~hugeOnly, FlagMask));
    }

    /// <summary>An entry mapping the 1 GiB page at <paramref name="pagePhys"/> (1 GiB-aligned,
    /// below 2^52; panics otherwise). PS is set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LongPdpte HugePage(ulong pagePhys, X86EntryFlags flags)
    {
        if ((pagePhys & ~HugeAddressMask) != 0) Panic.Fail("LongPdpte.HugePage: address not 1 GiB-aligned below 2^52", pagePhys);
        return new LongPdpte(pagePhys | (ulong)X86Bits.Only(flags, FlagMask) | (ulong)X86EntryFlags.PageSize);
    }

    /// <summary>The flag bits.</summary>
    public X86EntryFlags Flags => (X86EntryFlags)(Raw & FlagMask);
    /// <summary>P is set.</summary>
    public bool IsPresent => (Raw & (ulong)X86EntryFlags.Present) != 0;
    /// <summary>PS is set: the entry maps a 1 GiB page.</summary>
    public bool IsHugePage => (Raw & (ulong)X86EntryFlags.PageSize) != 0;
    /// <summary>The page directory's physical address (table form).</summary>
    public ulong TableAddress => Raw & TableAddressMask;
    /// <summary>The 1 GiB page's physical address (1 GiB form).</summary>
    public ulong HugePageAddress => Raw & HugeAddressMask;
    /// <summary>The protection key (1 GiB form).</summary>
    public uint ProtectionKey => (uint)((Raw & ProtectionKeyMask) >> 59);

    /// <summary>The same entry with its flag bits replaced (address, key and software bits kept).</summary>
    public LongPdpte WithFlags(X86EntryFlags flags) => new LongPdpte((Raw & ~FlagMask) | (ulong)X86Bits.Only(flags, FlagMask));
}
