namespace SharpMM.Hosted.Machine;

/// <summary>The internal walker's output: the leaf and its frame, combined rights, the non-leaf
/// entries used, or the entry that stopped the walk.</summary>
internal struct WalkState
{
    /// <summary>Physical base of the page.</summary>
    public ulong Frame;
    /// <summary>log2 of the page size.</summary>
    public int PageShift;
    /// <summary><see cref="TlbRights"/> permission bits combined over the walk.</summary>
    public uint Rights;
    /// <summary>Level of the leaf, or of the entry that stopped the walk.</summary>
    public int Level;
    /// <summary>Physical address of the leaf (or of the stopping entry).</summary>
    public ulong EntryAddress;
    /// <summary>Its raw value as read.</summary>
    public ulong EntryValue;
    /// <summary>Non-leaf entries used, top level first.</summary>
    public int UpperCount;
    /// <summary>The non-leaf entries themselves.</summary>
    public UpperEntries Upper;
}
