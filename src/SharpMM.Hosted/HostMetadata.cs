using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Physical;

namespace SharpMM.Hosted;

/// <summary>
/// An <see cref="IMetadataAllocator"/> that bumps through a host buffer (benchmarks and unit
/// tests that build an allocator without a memblock). Physical addresses it reports are offsets
/// from <paramref name="physBase"/>, which the caller chooses outside the RAM under test.
/// </summary>
public unsafe struct HostMetadata : IMetadataAllocator
{
    private byte* _base;
    private ulong _size, _used, _physBase;

    /// <summary>Uses [<paramref name="buffer"/>, +<paramref name="size"/>); reported physical
    /// addresses start at <paramref name="physBase"/>.</summary>
    public HostMetadata(byte* buffer, ulong size, ulong physBase)
    {
        _base = buffer; _size = size; _used = 0; _physBase = physBase;
    }

    /// <summary>Bytes handed out so far.</summary>
    public readonly ulong Used => _used;

    /// <inheritdoc/>
    public Status AllocateMetadata(ulong bytes, ulong alignment, out byte* virt, out PhysAddr phys)
    {
        ulong start = (_used + alignment - 1) & ~(alignment - 1);
        if (start > _size || bytes > _size - start) { virt = null; phys = default; return Status.OutOfMemory; }
        virt = _base + start;
        phys = PhysAddr.NewUnchecked(_physBase + start);
        Diagnostics.MemoryOps.Zero(virt, bytes);
        _used = start + bytes;
        return Status.Ok;
    }
}
