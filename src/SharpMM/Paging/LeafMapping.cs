using SharpMM.Addressing;

namespace SharpMM.Paging;

/// <summary>One leaf found by a page-table walk: a page of <see cref="Size"/> bytes at
/// <see cref="Start"/> mapping <see cref="Phys"/>.</summary>
public readonly struct LeafMapping
{
    /// <summary>First virtual address (canonical).</summary>
    public readonly VirtAddr Start;
    /// <summary>First physical address.</summary>
    public readonly PhysAddr Phys;
    /// <summary>Page size.</summary>
    public readonly MappingSize Size;
    /// <summary>Portable flags.</summary>
    public readonly PageFlags Flags;
    /// <summary>The raw entry.</summary>
    public readonly ulong Entry;

    /// <summary>Builds a record.</summary>
    public LeafMapping(VirtAddr start, PhysAddr phys, MappingSize size, PageFlags flags, ulong entry)
    {
        Start = start; Phys = phys; Size = size; Flags = flags; Entry = entry;
    }

    /// <summary>Size in bytes.</summary>
    public ulong Bytes => 1UL << (int)Size;
}
