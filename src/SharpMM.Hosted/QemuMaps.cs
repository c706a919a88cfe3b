using System;
using SharpMM.Boot;

namespace SharpMM.Hosted;

/// <summary>
/// The e820 maps QEMU (SeaBIOS, TCG) hands a guest of a given RAM size, for `sharpmm boot --mem`:
/// the same entries the bare-metal kernel prints under QEMU (tests/SharpMM.Tests/Maps/qemu holds
/// such maps and the tests compare). Low RAM ends below the PCI hole: everything below 3.5 GiB
/// (pc) or 2.75 GiB (q35) stays low, otherwise 3 GiB (pc) or 2 GiB (q35) stays low and the rest
/// moves above 4 GiB. SeaBIOS reserves the top 128 KiB (pc) or 132 KiB (q35) of low RAM; q35 adds
/// MMCONFIG and the chipset's RCBA; both end with QEMU's reserved 1 TiB - 12 GiB hole.
/// </summary>
public static class QemuMaps
{
    /// <summary>Builds the raw map for a `-machine pc|q35 -m SIZE` guest.</summary>
    public static MemoryMap ForMachine(ulong ramBytes, string machine)
    {
        bool q35 = machine switch
        {
            "pc" => false,
            "q35" => true,
            _ => throw new ArgumentException($"unknown machine '{machine}' (pc or q35)"),
        };
        if (ramBytes < (2UL << 20)) throw new ArgumentException("RAM must be at least 2 MiB");
        ulong lowLimit = q35 ? 0xb0000000UL : 0xe0000000UL;
        ulong low = ramBytes, high = 0;
        if (ramBytes >= lowLimit)
        {
            low = q35 ? 0x80000000UL : 0xc0000000UL;
            high = ramBytes - low;
        }
        var m = new MemoryMap();
        m.Add(0, 0x9fc00, MemoryType.Usable);
        m.Add(0x9fc00, 0xa0000, MemoryType.Reserved);
        m.Add(0xf0000, 0x100000, MemoryType.Reserved);
        ulong biosTop = q35 ? 0x21000UL : 0x20000UL;
        m.Add(0x100000, low - biosTop, MemoryType.Usable);
        m.Add(low - biosTop, low, MemoryType.Reserved);
        if (q35)
        {
            m.Add(0xb0000000, 0xc0000000, MemoryType.Reserved);
            m.Add(0xfed1c000, 0xfed20000, MemoryType.Reserved);
        }
        m.Add(0xfffc0000, 0x100000000, MemoryType.Reserved);
        if (high != 0) m.Add(0x100000000, 0x100000000 + high, MemoryType.Usable);
        m.Add(0xfd00000000, 0x10000000000, MemoryType.Reserved);
        return m;
    }
}
