namespace SharpMM.Paging;

/// <summary>
/// A run of leaf mappings as a page-table dump shows it on one line (Linux's ptdump rule): leaves
/// contiguous in virtual space, of the same page size and with the same effective flags, Accessed
/// and Dirty left out (the hardware sets them as it goes, so they would split runs for nothing).
/// Physical contiguity is not required. The text dump (<see cref="PageTableDump"/>) and the
/// tool's JSON merge with this one rule.
/// </summary>
public struct LeafRun
{
    /// <summary>First virtual address of the run.</summary>
    public ulong Start;
    /// <summary>Last byte of the run (inclusive: a run may end the address space at 2^64).</summary>
    public ulong Last;
    /// <summary>Page size of every leaf in the run.</summary>
    public MappingSize Size;
    /// <summary>The leaves' effective flags without Accessed and Dirty.</summary>
    public PageFlags Flags;

    /// <summary>The flags runs are compared by: <paramref name="m"/>'s effective flags without
    /// Accessed and Dirty.</summary>
    public static PageFlags Key(in LeafMapping m) => m.Effective & ~(PageFlags.Accessed | PageFlags.Dirty);

    /// <summary>The run of the one leaf <paramref name="m"/>.</summary>
    public static LeafRun Of(in LeafMapping m) =>
        new() { Start = m.Start.Value, Last = m.Start.Value + (m.Bytes - 1), Size = m.Size, Flags = Key(m) };

    /// <summary>Adds <paramref name="m"/> when it continues the run (starts right after it, same
    /// size, same flags); false, run unchanged, when it starts a new one.</summary>
    public bool TryExtend(in LeafMapping m)
    {
        if (Last == ulong.MaxValue || m.Start.Value != Last + 1 || m.Size != Size || Key(m) != Flags) return false;
        Last = m.Start.Value + (m.Bytes - 1);
        return true;
    }

    /// <summary>Bytes the run covers.</summary>
    public readonly ulong Bytes => Last - Start + 1;
}
