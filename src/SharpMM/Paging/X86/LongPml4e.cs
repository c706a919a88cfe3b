using System.Runtime.CompilerServices;

namespace SharpMM.Paging.X86;

/// <summary>
/// A 4-level paging PML4 entry (Intel SDM vol. 3A, 4.5). The PML4 has 512; entry i covers
/// 512 GiB: virtual bits 47:39 select it (entries 256..511 are the sign-extended upper half).
/// <code>
///   63 62     52 51                                12 11  8 7 6 5 4 3 2 1 0
///  +--+---------+------------------------------------+-----+-+-+-+-+-+-+-+-+
///  |XD| ignored | PDPT physical address 51:12        | ign |0|i|A|C|T|U|W|P|   C=PCD T=PWT
///  +--+---------+------------------------------------+-----+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public readonly struct LongPml4e
{
    /// <summary>Physical address of the PDPT, bits 51:12.</summary>
    public const ulong AddressMask = 0x000F_FFFF_FFFF_F000;
    /// <summary>Bit 7: reserved, must be 0 (a PML4E never maps a page).</summary>
    public const ulong ReservedMask = 1UL << 7;
    /// <summary>The bits of <see cref="X86EntryFlags"/> this entry has; the others are rejected.</summary>
    public const ulong FlagMask = 0x8000_0000_0000_003F;

    /// <summary>The raw 64-bit entry.</summary>
    public readonly ulong Raw;

    /// <summary>Wraps a raw entry.</summary>
    public LongPml4e(ulong raw) { Raw = raw; }

    /// <summary>An entry pointing at the PDPT at <paramref name="pdptPhys"/> (4 KiB-aligned,
    /// below 2^52; panics otherwise).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LongPml4e Table(ulong pdptPhys, X86EntryFlags flags)
    {
        if ((pdptPhys & ~AddressMask) != 0) Panic.Fail("LongPml4e.Table: address not 4 KiB-aligned below 2^52", pdptPhys);
        return new LongPml4e(pdptPhys | (ulong)X86Bits.Only(flags, FlagMask));
    }

    /// <summary>The flag bits.</summary>
    public X86EntryFlags Flags => (X86EntryFlags)(Raw & FlagMask);
    /// <summary>P is set.</summary>
    public bool IsPresent => (Raw & (ulong)X86EntryFlags.Present) != 0;
    /// <summary>The PDPT's physical address.</summary>
    public ulong Address => Raw & AddressMask;
}
