namespace SharpMM.User;

/// <summary>
/// One region of a user address space: pages [Start, End) with one protection and one kind.
/// Page-aligned, non-empty. <see cref="Limit"/> is the lowest address a stack may grow down to
/// (its start never goes below it); <see cref="Offset"/> is the page index in the persistent
/// region of the first page (StoreBacked), the physical address of the first page (Device) or
/// the byte offset in the file of the first page (File, whose image <see cref="File"/> names).
/// </summary>
public struct Vma
{
    /// <summary>First address (page-aligned).</summary>
    public ulong Start;
    /// <summary>One past the last address (page-aligned).</summary>
    public ulong End;
    /// <summary>Stack: the lowest start it may grow to; otherwise equal to <see cref="Start"/>.</summary>
    public ulong Limit;
    /// <summary>StoreBacked: page index of <see cref="Start"/> in its region. Device: physical
    /// address of <see cref="Start"/>. File: byte offset in the file of <see cref="Start"/>.
    /// Otherwise 0.</summary>
    public ulong Offset;
    /// <summary>File: the address of its <see cref="FileImage"/> (which must outlive every
    /// region naming it). Otherwise 0.</summary>
    public ulong File;
    /// <summary>User access rights.</summary>
    public VmaProtection Protection;
    /// <summary>What backs the pages.</summary>
    public VmaKind Kind;

    /// <summary>Length in bytes.</summary>
    public readonly ulong Bytes => End - Start;
    /// <summary>Length in pages.</summary>
    public readonly ulong Pages => (End - Start) >> Addressing.PageSize.Shift;
    /// <summary>True when <paramref name="va"/> lies inside.</summary>
    public readonly bool Contains(ulong va) => va >= Start && va < End;

    /// <summary>The offset of the page at <paramref name="va"/> (page index or physical address),
    /// carried along when the region is split.</summary>
    public readonly ulong OffsetAt(ulong va) => Kind switch
    {
        VmaKind.StoreBacked => Offset + ((va - Start) >> Addressing.PageSize.Shift),
        VmaKind.Device or VmaKind.File => Offset + (va - Start),
        _ => 0,
    };

    /// <summary>True when <paramref name="next"/> starts where this ends and the two can be one
    /// region: same kind and protection, the same file and offsets continuing; stacks never merge
    /// (each keeps its own limit).</summary>
    public readonly bool CanMergeWith(in Vma next) =>
        End == next.Start && Kind == next.Kind && Protection == next.Protection && Kind != VmaKind.Stack
        && File == next.File && (Kind is VmaKind.Anonymous or VmaKind.Shared || next.Offset == OffsetAt(End));
}
