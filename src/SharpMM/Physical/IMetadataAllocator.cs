using SharpMM.Addressing;

namespace SharpMM.Physical;

/// <summary>
/// Where a page allocator takes its own metadata from while it is being built: memblock at
/// boot, or a host buffer in benchmarks. Memory handed out is zero-filled and never freed.
/// (Declared here, with the allocators that use it, so that Boot, which implements it, depends
/// on Physical and not the other way round.)
/// </summary>
public unsafe interface IMetadataAllocator
{
    /// <summary>Allocates <paramref name="bytes"/> zeroed bytes aligned to <paramref name="alignment"/>
    /// (a power of two). Returns the direct-map pointer and the physical address, or
    /// <see cref="Status.OutOfMemory"/> with nothing allocated.</summary>
    Status AllocateMetadata(ulong bytes, ulong alignment, out byte* virt, out PhysAddr phys);
}
