using SharpMM.Paging;

namespace SharpMM.Kernel;

/// <summary>
/// The library's <see cref="IArchHooks"/> on this CPU: what <see cref="FlushToken.Flush"/> and
/// <see cref="FlushBatch.Flush"/> execute through a <see cref="FlushPolicy"/>.
/// <code>
///   ReadCr3          mov cr3, with the flag bits (PWT, PCD; PCID is off) masked off
///   WriteCr3         mov to cr3: drops every non-global TLB entry
///   InvalidatePage   invlpg (global entries too)
///   FlushAll         CR4.PGE cleared and set again: drops global entries as well
///                    (a CR3 reload when PGE is off: then nothing is global)
/// </code>
/// </summary>
internal struct KernelArchHooks : IArchHooks
{
    private const ulong Cr3AddressMask = 0x000F_FFFF_FFFF_F000UL;

    public ulong ReadCr3() => Arch.ReadCr3() & Cr3AddressMask;

    public void WriteCr3(ulong topLevelTablePhys) => Arch.WriteCr3(topLevelTablePhys);

    public void InvalidatePage(ulong virtualAddress) => Arch.Invlpg(virtualAddress);

    public void FlushAll()
    {
        ulong cr4 = Arch.ReadCr4();
        if ((cr4 & Arch.Cr4Pge) != 0)
        {
            Arch.WriteCr4(cr4 & ~Arch.Cr4Pge);
            Arch.WriteCr4(cr4);
        }
        else
        {
            Arch.WriteCr3(Arch.ReadCr3());
        }
    }

    public bool HasInvalidatePage => true;

    public bool TryInvalidatePage(ulong virtualAddress)
    {
        Arch.Invlpg(virtualAddress);
        return true;
    }
}
