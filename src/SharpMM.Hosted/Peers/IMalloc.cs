namespace SharpMM.Hosted.Peers;

/// <summary>
/// A malloc/free pair the heap workloads drive (W3, W3t, W3h): SharpMM's kmalloc or a peer
/// allocator called in-process. Implemented by structs and used as a generic constraint, so the
/// workload loop is compiled once per allocator with direct calls.
/// </summary>
public unsafe interface IMalloc
{
    /// <summary>Allocates <paramref name="size"/> bytes; null on failure.</summary>
    void* Malloc(nuint size);

    /// <summary>Frees what <see cref="Malloc"/> returned; false when the allocator refused it.</summary>
    bool Free(void* p);

    /// <summary>Memory the allocator holds now, for the footprint figure: pages held by the
    /// heap for SharpMM; the process's resident set for a peer (the footprint is then its
    /// growth over the run, as the C peers measure it).</summary>
    ulong HeldBytes();
}
