using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Virtual;

namespace SharpMM.Kernel;

/// <summary>
/// Physical memory for the ACPI parser (CpuDiscovery) on i386, on the kernel's own tables: the
/// tables lie at the end of the RAM below 4 GiB, above the 896 MiB the direct map reaches on
/// guests of 1 GiB or more, and in reserved ranges the kernel's direct map leaves out. Each range
/// the parser asks for is mapped write-back in the physical-mapping window (MapDevice), whole
/// pages around it, unless a range mapped before holds it (the RSDP scans ask for 36 bytes every
/// 16), and stays mapped until <see cref="UnmapAll"/>: the parser keeps pointers into earlier
/// tables (the RSDT while it reads each entry). Out of reach (null): page 0, a range
/// past what the tables map (4 GiB legacy, 64 GiB PAE), more than <see cref="MaxMappings"/>
/// ranges, a window without room.
/// </summary>
internal unsafe struct AcpiWindowView : IPhysicalView
{
    private const int MaxMappings = 32;
    private fixed ulong _va[MaxMappings];
    private fixed ulong _first[MaxMappings];
    private fixed ulong _end[MaxMappings];
    private int _count;

    public byte* Map(ulong phys, ulong byteCount)
    {
        ulong limit = PagingMode.PhysLimit;
        if (phys < PageSize.Bytes || phys >= limit || byteCount > limit - phys) return null;
        ulong last = phys + (byteCount == 0 ? 1 : byteCount);
        for (int i = 0; i < _count; i++)
            if (phys >= _first[i] && last <= _end[i]) return (byte*)(nuint)(_va[i] + (phys - _first[i]));
        if (_count == MaxMappings) return null;
        ulong first = phys & ~PageSize.OffsetMask;
        ulong end = (last + PageSize.OffsetMask) & ~PageSize.OffsetMask;
        KernelFrames frames = default;
        if (VmallocLargeMapper.Vm.MapDevice(first, end - first, CacheMode.WriteBack, ref frames, ref KernelAddressSpace.Hooks, out ulong va) != Status.Ok) return null;
        _va[_count] = va;
        _first[_count] = first;
        _end[_count] = end;
        _count++;
        return (byte*)(nuint)(va + (phys - first));
    }

    /// <summary>Unmaps every range <see cref="Map"/> handed out (once the parser is done).</summary>
    public void UnmapAll()
    {
        KernelFrames frames = default;
        for (int i = 0; i < _count; i++)
            if (VmallocLargeMapper.Vm.UnmapDevice(_va[i], ref frames, ref KernelAddressSpace.Hooks) != Status.Ok)
                KernelPanic.Fail("acpi: a table's mapping in the physical-mapping window could not be unmapped", _va[i]);
        _count = 0;
    }
}
