namespace SharpMM.Boot;

/// <summary>
/// Where a page allocator takes its own metadata from while it is being built: memblock at
/// boot, or a host buffer in benchmarks. Memory handed out is zero-filled and never freed.
/// </summary>
public unsafe interface IMetadataAllocator
{
    /// <summary>Allocates <paramref name="bytes"/> zeroed bytes aligned to <paramref name="alignment"/>
    /// (a power of two). Returns the direct-map pointer and the physical address, or
    /// <see cref="Status.OutOfMemory"/> with nothing allocated.</summary>
    Status AllocateMetadata(ulong bytes, ulong alignment, out byte* virt, out ulong phys);
}

/// <summary>Receives the free ranges memblock hands over when the page allocator takes over.</summary>
public interface IFreeRangeSink
{
    /// <summary>Frames [startPfn, endPfn) are free RAM and now belong to the receiver.</summary>
    void AddFreeRange(ulong startPfn, ulong endPfn);
}
