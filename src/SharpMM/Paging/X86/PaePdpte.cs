namespace SharpMM.Paging.X86;

/// <summary>
/// A PAE page-directory-pointer-table entry (Intel SDM vol. 3A, 4.4.1). The PDPT has four, each
/// covering 1 GiB of the 32-bit space and pointing at a page directory; it is 32 bytes, 32-byte
/// aligned, and CR3 holds its address (below 4 GiB).
/// <code>
///   63        52 51                                12 11  9 8    5 4 3 2 1 0
///  +------------+------------------------------------+-----+------+-+-+---+-+
///  | reserved 0 | page-directory physical address    | ign | res 0|C|T|res|P|   C=PCD T=PWT
///  +------------+------------------------------------+-----+------+-+-+---+-+
/// </code>
/// The CPU loads the four PDPTEs into registers when CR3 is written: a change to a PDPTE takes
/// effect only after the next CR3 load (<see cref="X86PaeFormat"/> reports this through
/// <see cref="IPagingFormat.RootEntriesLatched"/>).
/// </summary>
public readonly struct PaePdpte
{
    /// <summary>Physical address of the page directory, bits 51:12.</summary>
    public const ulong AddressMask = 0x000F_FFFF_FFFF_F000;
    /// <summary>Reserved bits that must be 0: 2:1, 8:5 and 63:52 (63:M on a CPU with M &lt; 52).</summary>
    public const ulong ReservedMask = 0xFFF0_0000_0000_01E6;
    /// <summary>The bits of <see cref="X86EntryFlags"/> this entry has; the others are rejected.</summary>
    public const ulong FlagMask = 0x19;

    /// <summary>The raw 64-bit entry.</summary>
    public readonly ulong Raw;

    /// <summary>Wraps a raw entry.</summary>
    public PaePdpte(ulong raw) { Raw = raw; }

    /// <summary>An entry pointing at the page directory at <paramref name="directoryPhys"/>
    /// (4 KiB-aligned, below 2^52; panics otherwise).</summary>
    public static PaePdpte Directory(ulong directoryPhys, X86EntryFlags flags)
    {
        if ((directoryPhys & ~AddressMask) != 0) Panic.Fail("PaePdpte.Directory: address not 4 KiB-aligned below 2^52", directoryPhys);
        return new PaePdpte(directoryPhys | (ulong)X86Bits.Only(flags, FlagMask));
    }

    /// <summary>The flag bits.</summary>
    public X86EntryFlags Flags => (X86EntryFlags)(Raw & FlagMask);
    /// <summary>P is set.</summary>
    public bool IsPresent => (Raw & (ulong)X86EntryFlags.Present) != 0;
    /// <summary>The page directory's physical address.</summary>
    public ulong Address => Raw & AddressMask;
}
