using SharpMM.Boot;

namespace SharpMM.Kernel;

/// <summary>
/// Physical memory for the ACPI parser (CpuDiscovery) on x86-64, before the physical boot: the
/// boot stub's tables map all of [0, 4 GiB) through the direct map, the BIOS area and the
/// firmware's reserved ranges included. Page 0 and anything at or above 4 GiB are out of reach.
/// </summary>
internal readonly unsafe struct BootIdentityView : IPhysicalView
{
    private const ulong Limit = 4UL << 30;
    private const ulong PageZeroEnd = 4096;

    public byte* Map(ulong phys, ulong byteCount) =>
        phys >= PageZeroEnd && phys < Limit && byteCount <= Limit - phys ? Platform.DirectMap.ToVirt(phys) : null;
}
