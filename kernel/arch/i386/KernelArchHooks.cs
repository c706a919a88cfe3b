using SharpMM.Paging;

namespace SharpMM.Kernel;

/// <summary>
/// The library's <see cref="IArchHooks"/> on i386: CR3 (flag bits masked), invlpg, and a full
/// flush by reloading CR3 (the kernel sets no global pages, so that drops everything).
/// </summary>
internal struct KernelArchHooks : IArchHooks
{
    private const uint Cr3AddressMask = 0xFFFFF000;

    public ulong ReadCr3() => Arch.ReadCr3() & Cr3AddressMask;

    public void WriteCr3(ulong topLevelTablePhys) => Arch.WriteCr3((uint)topLevelTablePhys);

    public void InvalidatePage(ulong virtualAddress) => Arch.Invlpg((uint)virtualAddress);

    public void FlushAll() => Arch.WriteCr3(Arch.ReadCr3());

    public bool HasInvalidatePage => true;

    public bool TryInvalidatePage(ulong virtualAddress)
    {
        Arch.Invlpg((uint)virtualAddress);
        return true;
    }
}
