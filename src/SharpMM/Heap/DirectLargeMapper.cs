using SharpMM.Addressing;

namespace SharpMM.Heap;

/// <summary>
/// Large allocations reached through the direct map (no page-table change): the block's
/// address is its direct-map address. The hosted heap uses it; the kernel maps large blocks into
/// its vmalloc window instead (kernel/src/VmallocLargeMapper.cs), which puts a guard page after
/// each block.
/// </summary>
public readonly unsafe struct DirectLargeMapper : ILargeMapper
{
    private readonly DirectMap _map;

    /// <summary>A mapper over <paramref name="map"/>.</summary>
    public DirectLargeMapper(DirectMap map) { _map = map; }

    /// <inheritdoc/>
    public Status Map(Pfn first, uint order, out byte* virt)
    {
        virt = _map.ToVirt(first.Value << PageSize.Shift);
        return Status.Ok;
    }

    /// <inheritdoc/>
    public void Unmap(byte* virt, uint order) { }

    /// <inheritdoc/>
    public bool TryTranslate(void* virt, out Pfn pfn)
    {
        ulong v = (ulong)virt;
        if (v < _map.Offset || v - _map.Offset >= PhysAddr.Limit) { pfn = default; return false; }
        pfn = Pfn.NewUnchecked((v - _map.Offset) >> PageSize.Shift);
        return true;
    }
}
