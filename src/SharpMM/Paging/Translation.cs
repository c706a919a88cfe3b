using SharpMM.Addressing;

namespace SharpMM.Paging;

/// <summary>What <c>Mapper.Translate</c> found for one virtual address.</summary>
public readonly struct Translation
{
    /// <summary>The physical address of the byte at the translated virtual address.</summary>
    public readonly PhysAddr Phys;
    /// <summary>The first byte of the page containing it (physical).</summary>
    public readonly PhysAddr PageBase;
    /// <summary>The first byte of the page containing it (virtual).</summary>
    public readonly VirtAddr PageStart;
    /// <summary>The page size (which level held the leaf).</summary>
    public readonly MappingSize Size;
    /// <summary>The leaf's portable flags.</summary>
    public readonly PageFlags Flags;
    /// <summary>The leaf entry as stored.</summary>
    public readonly ulong Entry;

    /// <summary>Builds a result.</summary>
    public Translation(PhysAddr phys, PhysAddr pageBase, VirtAddr pageStart, MappingSize size, PageFlags flags, ulong entry)
    {
        Phys = phys; PageBase = pageBase; PageStart = pageStart; Size = size; Flags = flags; Entry = entry;
    }
}
