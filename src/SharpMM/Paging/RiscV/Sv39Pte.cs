namespace SharpMM.Paging.RiscV;

/// <summary>
/// A RISC-V Sv39 page-table entry. Three levels of 512 eight-byte entries; a virtual address is
/// VPN[2] (bits 38:30) | VPN[1] (29:21) | VPN[0] (20:12) | offset, with bits 63:39 equal to bit
/// 38; physical addresses have 56 bits.
/// <code>
///   63 62 61 60    54 53          28 27      19 18      10 9   8 7 6 5 4 3 2 1 0
///  +--+-----+--------+--------------+----------+----------+-----+-+-+-+-+-+-+-+-+
///  |N | PBMT| res 0  | PPN[2] (26)  | PPN[1](9)| PPN[0](9)| RSW |D|A|G|U|X|W|R|V|
///  +--+-----+--------+--------------+----------+----------+-----+-+-+-+-+-+-+-+-+
///  physical address = PPN (bits 53:10 of the entry) &lt;&lt; 12
/// </code>
/// A leaf at level 1 is a 2 MiB megapage (PPN[0] must be 0), at level 2 a 1 GiB gigapage
/// (PPN[1] and PPN[0] must be 0); <see cref="Sv39Format"/> requires the matching alignment.
/// </summary>
public readonly struct Sv39Pte
{
    /// <summary>The PPN field, entry bits 53:10.</summary>
    public const ulong PpnMask = 0x003F_FFFF_FFFF_FC00;
    /// <summary>Where the PPN starts in the entry.</summary>
    public const int PpnShift = 10;
    /// <summary>RSW, bits 9:8: reserved for supervisor software.</summary>
    public const ulong SoftwareMask = 0x300;
    /// <summary>Bits 60:54: reserved, must be 0.</summary>
    public const ulong ReservedMask = 0x1FC0_0000_0000_0000;
    /// <summary>One past the highest physical address (56 bits).</summary>
    public const ulong PhysLimit = 1UL << 56;
    /// <summary>The bits of <see cref="RiscVPteFlags"/> this entry has; the others are rejected.</summary>
    public const ulong FlagMask = 0xE000_0000_0000_00FF;
    /// <summary>R, W and X: all clear on a pointer to the next level.</summary>
    public const ulong LeafMask = (ulong)(RiscVPteFlags.Read | RiscVPteFlags.Write | RiscVPteFlags.Execute);

    /// <summary>The raw 64-bit entry.</summary>
    public readonly ulong Raw;

    /// <summary>Wraps a raw entry.</summary>
    public Sv39Pte(ulong raw) { Raw = raw; }

    /// <summary>A pointer to the next-level table at <paramref name="tablePhys"/> (4 KiB-aligned,
    /// below 2^56; panics otherwise): V only.</summary>
    public static Sv39Pte Pointer(ulong tablePhys)
    {
        if ((tablePhys & 0xFFF) != 0 || tablePhys >= PhysLimit) Panic.Fail("Sv39Pte.Pointer: address not 4 KiB-aligned below 2^56", tablePhys);
        return new Sv39Pte((tablePhys >> 12 << PpnShift) | (ulong)RiscVPteFlags.Valid);
    }

    /// <summary>A leaf mapping <paramref name="pagePhys"/> (4 KiB-aligned below 2^56) with
    /// <paramref name="flags"/>, which must include R or X and may have W only with R (panics
    /// otherwise). V is set.</summary>
    public static Sv39Pte Leaf(ulong pagePhys, RiscVPteFlags flags)
    {
        if ((pagePhys & 0xFFF) != 0 || pagePhys >= PhysLimit) Panic.Fail("Sv39Pte.Leaf: address not 4 KiB-aligned below 2^56", pagePhys);
        if (((ulong)flags & LeafMask) == 0 || (flags & (RiscVPteFlags.Read | RiscVPteFlags.Write)) == RiscVPteFlags.Write)
            Panic.Fail("Sv39Pte.Leaf: a leaf needs R or X, and W needs R", (ulong)RiscVBits.Only(flags, FlagMask));
        return new Sv39Pte((pagePhys >> 12 << PpnShift) | (ulong)RiscVBits.Only(flags, FlagMask) | (ulong)RiscVPteFlags.Valid);
    }

    /// <summary>The flag bits.</summary>
    public RiscVPteFlags Flags => (RiscVPteFlags)(Raw & FlagMask);
    /// <summary>V is set.</summary>
    public bool IsValid => (Raw & (ulong)RiscVPteFlags.Valid) != 0;
    /// <summary>Valid with any of R, W, X: maps a page rather than pointing at a table.</summary>
    public bool IsLeaf => IsValid && (Raw & LeafMask) != 0;
    /// <summary>The physical page number (44 bits).</summary>
    public ulong Ppn => (Raw & PpnMask) >> PpnShift;
    /// <summary>The physical address the entry points at (table or page).</summary>
    public ulong Address => Ppn << 12;

    /// <summary>The same entry with its flag bits replaced (PPN and RSW kept).</summary>
    public Sv39Pte WithFlags(RiscVPteFlags flags) => new Sv39Pte((Raw & ~FlagMask) | (ulong)RiscVBits.Only(flags, FlagMask));
}
