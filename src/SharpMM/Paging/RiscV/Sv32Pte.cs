namespace SharpMM.Paging.RiscV;

/// <summary>
/// A RISC-V Sv32 page-table entry. Two levels of 1024 four-byte entries; a virtual address is
/// VPN[1] (bits 31:22) | VPN[0] (bits 21:12) | offset, and physical addresses have 34 bits.
/// <code>
///   31            20 19          10 9   8 7 6 5 4 3 2 1 0
///  +----------------+--------------+-----+-+-+-+-+-+-+-+-+
///  | PPN[1] (12)    | PPN[0] (10)  | RSW |D|A|G|U|X|W|R|V|
///  +----------------+--------------+-----+-+-+-+-+-+-+-+-+
///  physical address = PPN (bits 31:10 of the entry) &lt;&lt; 12
/// </code>
/// A leaf at level 1 is a 4 MiB megapage: its PPN[0] must be 0 (else the access faults as a
/// misaligned superpage), which <see cref="Sv32Format"/> guarantees by requiring 4 MiB alignment.
/// </summary>
public readonly struct Sv32Pte
{
    /// <summary>The PPN field, entry bits 31:10.</summary>
    public const uint PpnMask = 0xFFFF_FC00;
    /// <summary>Where the PPN starts in the entry.</summary>
    public const int PpnShift = 10;
    /// <summary>RSW, bits 9:8: reserved for supervisor software.</summary>
    public const uint SoftwareMask = 0x300;
    /// <summary>One past the highest physical address (34 bits).</summary>
    public const ulong PhysLimit = 1UL << 34;
    /// <summary>The bits of <see cref="RiscVPteFlags"/> this entry has; the others are rejected.</summary>
    public const uint FlagMask = 0xFF;
    /// <summary>R, W and X: all clear on a pointer to the next level.</summary>
    public const uint LeafMask = (uint)(RiscVPteFlags.Read | RiscVPteFlags.Write | RiscVPteFlags.Execute);

    /// <summary>The raw 32-bit entry.</summary>
    public readonly uint Raw;

    /// <summary>Wraps a raw entry.</summary>
    public Sv32Pte(uint raw) { Raw = raw; }

    /// <summary>A pointer to the next-level table at <paramref name="tablePhys"/> (4 KiB-aligned,
    /// below 2^34; panics otherwise): V only.</summary>
    public static Sv32Pte Pointer(ulong tablePhys)
    {
        if ((tablePhys & 0xFFF) != 0 || tablePhys >= PhysLimit) Panic.Fail("Sv32Pte.Pointer: address not 4 KiB-aligned below 2^34", tablePhys);
        return new Sv32Pte((uint)(tablePhys >> 12 << PpnShift) | (uint)RiscVPteFlags.Valid);
    }

    /// <summary>A leaf mapping <paramref name="pagePhys"/> (4 KiB-aligned below 2^34) with
    /// <paramref name="flags"/>, which must include R or X and may have W only with R (panics
    /// otherwise). V is set.</summary>
    public static Sv32Pte Leaf(ulong pagePhys, RiscVPteFlags flags)
    {
        if ((pagePhys & 0xFFF) != 0 || pagePhys >= PhysLimit) Panic.Fail("Sv32Pte.Leaf: address not 4 KiB-aligned below 2^34", pagePhys);
        if (((uint)flags & LeafMask) == 0 || (flags & (RiscVPteFlags.Read | RiscVPteFlags.Write)) == RiscVPteFlags.Write)
            Panic.Fail("Sv32Pte.Leaf: a leaf needs R or X, and W needs R", (ulong)flags);
        return new Sv32Pte((uint)(pagePhys >> 12 << PpnShift) | (uint)RiscVBits.Only(flags, FlagMask) | (uint)RiscVPteFlags.Valid);
    }

    /// <summary>The flag bits.</summary>
    public RiscVPteFlags Flags => (RiscVPteFlags)(Raw & FlagMask);
    /// <summary>V is set.</summary>
    public bool IsValid => (Raw & (uint)RiscVPteFlags.Valid) != 0;
    /// <summary>Valid with any of R, W, X: maps a page rather than pointing at a table.</summary>
    public bool IsLeaf => IsValid && (Raw & LeafMask) != 0;
    /// <summary>The physical page number (22 bits).</summary>
    public uint Ppn => (Raw & PpnMask) >> PpnShift;
    /// <summary>The physical address the entry points at (table or page).</summary>
    public ulong Address => (ulong)Ppn << 12;

    /// <summary>The same entry with its flag bits replaced (PPN and RSW kept).</summary>
    public Sv32Pte WithFlags(RiscVPteFlags flags) => new Sv32Pte((Raw & ~FlagMask) | (uint)RiscVBits.Only(flags, FlagMask));
}
