using System.Runtime.CompilerServices;

namespace SharpMM.Paging.X86;

/// <summary>
/// A 4-level paging page-table entry (Intel SDM vol. 3A, 4.5): maps one 4 KiB page; 512 per
/// table (virtual bits 20:12).
/// <code>
///   63 62  59 58  52 51                                12 11  9 8 7 6 5 4 3 2 1 0
///  +--+------+------+------------------------------------+-----+-+---+-+-+-+-+-+-+-+
///  |XD| PKey | ign  | page physical address 51:12        | avl |G|PAT|D|A|C|T|U|W|P|
///  +--+------+------+------------------------------------+-----+-+---+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public readonly struct LongPte
{
    /// <summary>Physical address of the page, bits 51:12.</summary>
    public const ulong AddressMask = 0x000F_FFFF_FFFF_F000;
    /// <summary>Protection key, bits 62:59.</summary>
    public const ulong ProtectionKeyMask = 0x7800_0000_0000_0000;
    /// <summary>The bits of <see cref="X86EntryFlags"/> this entry has; the others are rejected.</summary>
    public const ulong FlagMask = 0x8000_0000_0000_01FF;

    /// <summary>The raw 64-bit entry.</summary>
    public readonly ulong Raw;

    /// <summary>Wraps a raw entry.</summary>
    public LongPte(ulong raw) { Raw = raw; }

    /// <summary>An entry mapping the 4 KiB page at <paramref name="pagePhys"/> (aligned, below
    /// 2^52; panics otherwise).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LongPte Page(ulong pagePhys, X86EntryFlags flags)
    {
        if ((pagePhys & ~AddressMask) != 0) Panic.Fail("LongPte.Page: address not 4 KiB-aligned below 2^52", pagePhys);
        return new LongPte(pagePhys | (ulong)X86Bits.Only(flags, FlagMask));
    }

    /// <summary>The flag bits.</summary>
    public X86EntryFlags Flags => (X86EntryFlags)(Raw & FlagMask);
    /// <summary>P is set.</summary>
    public bool IsPresent => (Raw & (ulong)X86EntryFlags.Present) != 0;
    /// <summary>The page's physical address.</summary>
    public ulong Address => Raw & AddressMask;
    /// <summary>The protection key.</summary>
    public uint ProtectionKey => (uint)((Raw & ProtectionKeyMask) >> 59);

    /// <summary>The same entry with its flag bits replaced (address, key and software bits kept).</summary>
    public LongPte WithFlags(X86EntryFlags flags) => new LongPte((Raw & ~FlagMask) | (ulong)X86Bits.Only(flags, FlagMask));
}
