namespace SharpMM.User;

/// <summary>
/// One region of a user address space: pages [Start, End) with one protection and one kind.
/// Page-aligned, non-empty. <see cref="Limit"/> is the lowest address a stack may grow down to
/// (its start never goes below it); <see cref="Offset"/> is the page index in the persistent
/// region of the first page (StoreBacked), the physical address of the first page (Device),
/// the byte offset in the file of the first page (File, whose image <see cref="File"/> names),
/// or the page index of the first page in its anonymous object (Anonymous, Stack, Shared: Linux's
/// vm_pgoff; a private region's is its start address in pages when it is made, and stays with
/// its pages when mremap moves them).
///
/// Two neighbours merge only as Linux's mm/vma.c lets them (so a range that spans both stays
/// two regions for mremap, which cannot cross a region's end): same kind, rights and file, the
/// offsets continuing, and compatible private pages (<see cref="Identity"/>): the same owner,
/// or only one of them with pages, and that one not a fork's copy.
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
    /// <summary>Shared: the shared object the pages belong to (each MAP_SHARED mmap makes a new
    /// one; split parts, fork and mremap keep it), never 0. Private kinds: the owner of the
    /// region's private pages (Linux's anon_vma): 0 until the first write to one of its pages
    /// (then a neighbour's, when it continues it, or a new one); split parts keep it; a fork
    /// gives the child's copy a new one (<see cref="ForkedIdentity"/>). Device: 0.</summary>
    public ulong Identity;
    /// <summary>A private region's <see cref="Identity"/> was given by a fork (the child's copy of
    /// a region with pages: Linux's anon_vma chain of more than one): such a region merges only
    /// with a neighbour of the same identity.</summary>
    public bool ForkedIdentity;
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

    /// <summary>The offset of the page at <paramref name="va"/> (page index, physical address or
    /// byte offset), carried along when the region is split.</summary>
    public readonly ulong OffsetAt(ulong va) => Kind switch
    {
        VmaKind.Device or VmaKind.File => Offset + (va - Start),
        _ => Offset + ((va - Start) >> Addressing.PageSize.Shift),
    };

    /// <summary>True for the kinds whose written pages are the region's own (copy-on-write after
    /// fork): the ones with private-page owners.</summary>
    public readonly bool IsPrivate => Kind is VmaKind.Anonymous or VmaKind.Stack or VmaKind.StoreBacked or VmaKind.File;

    /// <summary>True when <paramref name="next"/> starts where this ends and the two can be one
    /// region: same kind and protection, the same file and offsets continuing, the same shared
    /// object, private pages that <see cref="IdentitiesCompatible"/>; stacks never merge (each
    /// keeps its own limit).</summary>
    public readonly bool CanMergeWith(in Vma next) =>
        End == next.Start && Kind == next.Kind && Protection == next.Protection && Kind != VmaKind.Stack
        && File == next.File && next.Offset == OffsetAt(End)
        && (Kind == VmaKind.Shared ? Identity == next.Identity : IdentitiesCompatible(this, next));

    /// <summary>Linux's rule for two regions' private pages (mm/vma.c, is_mergeable_anon_vma):
    /// the same owner; or one without pages and the other's owner not a fork's copy (a child's
    /// region keeps its own owner so that the parent's pages it still shares stay findable).</summary>
    public static bool IdentitiesCompatible(in Vma a, in Vma b)
    {
        if (a.Identity == 0) return b.Identity == 0 || !b.ForkedIdentity;
        if (b.Identity == 0) return !a.ForkedIdentity;
        return a.Identity == b.Identity;
    }

    /// <summary>The owner of the merged region when <paramref name="other"/> joins this one: the
    /// one that has pages.</summary>
    public void TakeIdentity(in Vma other)
    {
        if (Identity != 0) return;
        Identity = other.Identity;
        ForkedIdentity = other.ForkedIdentity;
    }
}
