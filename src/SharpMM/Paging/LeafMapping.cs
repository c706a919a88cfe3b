using SharpMM.Addressing;

namespace SharpMM.Paging;

/// <summary>One leaf found by a page-table walk: a page of <see cref="Size"/> bytes at
/// <see cref="Start"/> mapping <see cref="Phys"/>.</summary>
public readonly struct LeafMapping
{
    /// <summary>The flags a walk's pointer entries can take away (<see cref="IPagingFormat.PointerRights"/>).</summary>
    public const PageFlags WalkRights = PageFlags.Writable | PageFlags.User | PageFlags.Executable;

    /// <summary><paramref name="leaf"/>'s flags with the walk rights only as far as
    /// <paramref name="allowed"/> (the AND of the walk's pointer rights) lets them.</summary>
    public static PageFlags Restrict(PageFlags leaf, PageFlags allowed) => leaf & (allowed | ~WalkRights);

    /// <summary>First virtual address (canonical).</summary>
    public readonly VirtAddr Start;
    /// <summary>First physical address.</summary>
    public readonly PhysAddr Phys;
    /// <summary>Page size.</summary>
    public readonly MappingSize Size;
    /// <summary>Portable flags of the leaf entry.</summary>
    public readonly PageFlags Flags;
    /// <summary>The raw entry.</summary>
    public readonly ulong Entry;
    /// <summary><see cref="Flags"/> with Writable, User and Executable as the whole walk allows
    /// them (ANDed with every pointer entry's <see cref="IPagingFormat.PointerRights"/>): what the
    /// MMU grants.</summary>
    public readonly PageFlags Effective;

    /// <summary>Builds a record whose walk restricts nothing.</summary>
    public LeafMapping(VirtAddr start, PhysAddr phys, MappingSize size, PageFlags flags, ulong entry)
        : this(start, phys, size, flags, entry, flags) { }

    /// <summary>Builds a record with its effective flags.</summary>
    public LeafMapping(VirtAddr start, PhysAddr phys, MappingSize size, PageFlags flags, ulong entry, PageFlags effective)
    {
        Start = start; Phys = phys; Size = size; Flags = flags; Entry = entry; Effective = effective;
    }

    /// <summary>Size in bytes.</summary>
    public ulong Bytes => 1UL << (int)Size;
}
