namespace SharpMM.Paging;

/// <summary>
/// How code reaches a virtual address through the MMU right now; what
/// <see cref="RecursiveTableAccess{TFormat, TWindow}"/> needs, since its table pointers are
/// virtual addresses that only the page walk resolves. In the kernel, <see cref="Pointer"/> is
/// a cast and <see cref="Invalidate"/> is invlpg; hosted, a software page walk over the
/// simulated RAM (or the MMU model) and a TLB-model invalidation.
/// </summary>
public unsafe interface IVirtualWindow
{
    /// <summary>A pointer through which <paramref name="va"/> is accessed.</summary>
    byte* Pointer(ulong va);
    /// <summary>Drops any cached translation of <paramref name="va"/> (invlpg).</summary>
    void Invalidate(ulong va);
}
