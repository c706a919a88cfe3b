namespace SharpMM.Paging.X86;

/// <summary>
/// A 32-bit paging page-directory entry (Intel SDM vol. 3A, 4.3). The directory has 1024 of
/// them; entry i covers virtual [i * 4 MiB, (i + 1) * 4 MiB).
/// <code>
///  table form (PS = 0)
///   31                                12 11  9 8 7 6 5 4 3 2 1 0
///  +------------------------------------+-----+-+-+-+-+-+-+-+-+-+
///  | page-table physical address 31:12  | avl |i|0|i|A|D|T|U|W|P|   i = ignored
///  +------------------------------------+-----+-+-+-+-+-+-+-+-+-+       C=PCD T=PWT
///  4 MiB form (PS = 1, CR4.PSE)
///   31            22 21 20          13 12 11  9 8 7 6 5 4 3 2 1 0
///  +----------------+--+--------------+---+-----+-+-+-+-+-+-+-+-+-+
///  | page addr 31:22|0 | addr 39:32   |PAT| avl |G|1|D|A|C|T|U|W|P|
///  +----------------+--+--------------+---+-----+-+-+-+-+-+-+-+-+-+
/// </code>
/// PSE-36 is supported: bits 20:13 of a 4 MiB entry carry physical address bits 39:32, so a
/// 4 MiB page may lie anywhere below 1 TiB (2^40; a CPU implements M - 32 of those bits, M =
/// MAXPHYADDR, and the code does not check CPUID). Bit 21 is reserved and always written 0.
/// Tables themselves must lie below 4 GiB.
/// </summary>
public readonly struct LegacyPde
{
    /// <summary>Physical address of the page table (table form), bits 31:12.</summary>
    public const uint TableAddressMask = 0xFFFF_F000;
    /// <summary>Physical address bits 31:22 of a 4 MiB page.</summary>
    public const uint LargeAddressMask = 0xFFC0_0000;
    /// <summary>PSE-36: entry bits 20:13 hold physical address bits 39:32 of a 4 MiB page.</summary>
    public const uint Pse36Mask = 0x001F_E000;
    /// <summary>Bit 21 of the 4 MiB form: reserved, must be 0.</summary>
    public const uint LargeReservedMask = 1u << 21;
    /// <summary>Bits 11:9, ignored by the CPU, free for software.</summary>
    public const uint AvailableMask = 0x0000_0E00;
    /// <summary>One past the highest physical address a 4 MiB page may start at (PSE-36, 2^40).</summary>
    public const ulong LargePhysLimit = 1UL << 40;
    /// <summary>The bits of <see cref="X86EntryFlags"/> this entry has; the others are rejected.</summary>
    public const uint FlagMask = 0x0000_11FF;

    /// <summary>The raw 32-bit entry.</summary>
    public readonly uint Raw;

    /// <summary>Wraps a raw entry.</summary>
    public LegacyPde(uint raw) { Raw = raw; }

    /// <summary>An entry pointing at the page table at <paramref name="tablePhys"/> (4 KiB-aligned,
    /// below 4 GiB; panics otherwise). PS and the 4 MiB-only bits are cleared.</summary>
    public static LegacyPde Table(ulong tablePhys, X86EntryFlags flags)
    {
        if ((tablePhys & ~(ulong)TableAddressMask) != 0) Panic.Fail("LegacyPde.Table: table address not 4 KiB-aligned below 4 GiB", tablePhys);
        const X86EntryFlags largeOnly = X86EntryFlags.PageSize | X86EntryFlags.Dirty | X86EntryFlags.Global | X86EntryFlags.LargePat;
        return new LegacyPde((uint)tablePhys | (uint)X86Bits.Only(flags & ~largeOnly, FlagMask));
    }

    /// <summary>An entry mapping the 4 MiB page at <paramref name="pagePhys"/> (4 MiB-aligned,
    /// below 2^40; panics otherwise). PS is set.</summary>
    public static LegacyPde LargePage(ulong pagePhys, X86EntryFlags flags)
    {
        if ((pagePhys & ((1UL << 22) - 1)) != 0 || pagePhys >= LargePhysLimit) Panic.Fail("LegacyPde.LargePage: address not 4 MiB-aligned below 2^40", pagePhys);
        uint addr = (uint)(pagePhys & LargeAddressMask) | ((uint)(pagePhys >> 32) << 13);
        return new LegacyPde(addr | (uint)X86Bits.Only(flags, FlagMask) | (uint)X86EntryFlags.PageSize);
    }

    /// <summary>The flag bits.</summary>
    public X86EntryFlags Flags => (X86EntryFlags)(Raw & FlagMask);
    /// <summary>P is set.</summary>
    public bool IsPresent => (Raw & (uint)X86EntryFlags.Present) != 0;
    /// <summary>PS is set: the entry maps a 4 MiB page.</summary>
    public bool IsLargePage => (Raw & (uint)X86EntryFlags.PageSize) != 0;
    /// <summary>The page table's physical address (table form).</summary>
    public ulong TableAddress => Raw & TableAddressMask;
    /// <summary>The 4 MiB page's physical address, PSE-36 bits included (4 MiB form).</summary>
    public ulong LargePageAddress => (Raw & LargeAddressMask) | ((ulong)((Raw & Pse36Mask) >> 13) << 32);

    /// <summary>The same entry with its flag bits replaced (address and software bits kept).</summary>
    public LegacyPde WithFlags(X86EntryFlags flags) => new LegacyPde((Raw & ~FlagMask) | (uint)X86Bits.Only(flags, FlagMask));
}
