using System;
using SharpMM.Boot;

namespace SharpMM.Hosted;

/// <summary>
/// The e820 maps QEMU (with SeaBIOS) hands a guest of a given RAM size, for `sharpmm boot --mem`.
/// The layout below 1 MiB, the reserved top 128 KiB of low RAM and the firmware ranges below
/// 4 GiB are what the kernel prints under QEMU; RAM that does not fit below the PCI hole
/// (above 3 GiB on pc, 2 GiB on q35) moves above 4 GiB.
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
        m.Add(0x100000, low - 0x20000, MemoryType.Usable);
        m.Add(low - 0x20000, low, MemoryType.Reserved);
        if (q35) m.Add(0xb0000000, 0xc0000000, MemoryType.Reserved);
        m.Add(0xfeffc000, 0xff000000, MemoryType.Reserved);
        m.Add(0xfffc0000, 0x100000000, MemoryType.Reserved);
        if (high != 0) m.Add(0x100000000, 0x100000000 + high, MemoryType.Usable);
        return m;
    }
}
