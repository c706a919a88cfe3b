using SharpMM.Addressing;

namespace SharpMM.Heap;

/// <summary>
/// The page-mapping step of kmalloc's large path (the classic design: buddy pages mapped at a free
/// virtual address), behind this interface so that the heap runs on the direct map
/// (<see cref="DirectLargeMapper"/>, hosted) or on a mapper that maps the frames at a free range
/// of the kernel's virtual address space (the kernel's VmallocLargeMapper, with a guard page
/// after each block). The heap does the rest: it takes the
/// frames from its frame allocator, marks them in their owner words, writes the header and
/// validates frees. Used as a generic constraint on a struct (static dispatch).
/// </summary>
public unsafe interface ILargeMapper
{
    /// <summary>Makes frames [first, first + 2^order) reachable at one virtual range.
    /// Return: Ok and its address; OutOfMemory when no address range or table page is left
    /// (nothing changed).</summary>
    Status Map(Pfn first, uint order, out byte* virt);

    /// <summary>Undoes <see cref="Map"/> for the range at <paramref name="virt"/>.</summary>
    void Unmap(byte* virt, uint order);

    /// <summary>The frame behind <paramref name="virt"/> when it lies in memory this mapper
    /// reaches; false otherwise (kfree then reports OutOfRange).</summary>
    bool TryTranslate(void* virt, out Pfn pfn);
}
