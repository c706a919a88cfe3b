namespace SharpMM.Paging.X86;

/// <summary>
/// A 32-bit paging page-table entry (Intel SDM vol. 3A, 4.3): maps one 4 KiB page. A table has
/// 1024 of them; entry i of the table under directory entry d maps virtual d * 4 MiB + i * 4 KiB.
/// <code>
///   31                                12 11  9 8 7 6 5 4 3 2 1 0
///  +------------------------------------+-----+-+---+-+-+-+-+-+-+-+
///  | page physical address 31:12        | avl |G|PAT|D|A|C|T|U|W|P|   C=PCD T=PWT
///  +------------------------------------+-----+-+---+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public readonly struct LegacyPte
{
    /// <summary>Physical address of the page, bits 31:12.</summary>
    public const uint AddressMask = 0xFFFF_F000;
    /// <summary>Bits 11:9, ignored by the CPU, free for software.</summary>
    public const uint AvailableMask = 0x0000_0E00;
    /// <summary>The bits of <see cref="X86EntryFlags"/> this entry has; the others are rejected.</summary>
    public const uint FlagMask = 0x0000_01FF;

    /// <summary>The raw 32-bit entry.</summary>
    public readonly uint Raw;

    /// <summary>Wraps a raw entry.</summary>
    public LegacyPte(uint raw) { Raw = raw; }

    /// <summary>An entry mapping the 4 KiB page at <paramref name="pagePhys"/> (aligned, below
    /// 4 GiB; panics otherwise).</summary>
    public static LegacyPte Page(ulong pagePhys, X86EntryFlags flags)
    {
        if ((pagePhys & ~(ulong)AddressMask) != 0) Panic.Fail("LegacyPte.Page: address not 4 KiB-aligned below 4 GiB", pagePhys);
        return new LegacyPte((uint)pagePhys | (uint)X86Bits.Only(flags, FlagMask));
    }

    /// <summary>The flag bits.</summary>
    public X86EntryFlags Flags => (X86EntryFlags)(Raw & FlagMask);
    /// <summary>P is set.</summary>
    public bool IsPresent => (Raw & (uint)X86EntryFlags.Present) != 0;
    /// <summary>The page's physical address.</summary>
    public ulong Address => Raw & AddressMask;

    /// <summary>The same entry with its flag bits replaced (address and software bits kept).</summary>
    public LegacyPte WithFlags(X86EntryFlags flags) => new LegacyPte((Raw & ~FlagMask) | (uint)X86Bits.Only(flags, FlagMask));
}
