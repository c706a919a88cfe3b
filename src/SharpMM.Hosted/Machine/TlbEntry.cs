using System.Runtime.InteropServices;

namespace SharpMM.Hosted.Machine;

/// <summary>
/// One cached translation (SDM vol. 3A, 4.10.2): the page, its frame, the rights combined over the
/// walk, and where the leaf entry lives with the value it held, so a hit can see whether the table
/// changed under it. The non-leaf entries are kept in a parallel array (<see cref="UpperEntries"/>)
/// to keep this one small.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TlbEntry
{
    /// <summary>The page's linear base address | 1 (valid). 0 = empty slot; a probe key always has bit 0 set.</summary>
    public ulong Tag;
    /// <summary>Physical base address of the page.</summary>
    public ulong Frame;
    /// <summary>Physical address of the entry that maps the page (PTE, or PDE/PDPTE with PS = 1).</summary>
    public ulong LeafAddress;
    /// <summary>Its raw value when cached (or last re-checked).</summary>
    public ulong LeafValue;
    /// <summary><see cref="TlbRights"/> bits.</summary>
    public uint Rights;
    /// <summary>How many non-leaf entries the walk used (0 to 3).</summary>
    public byte UpperCount;
    /// <summary>log2 of the page size: 12, 21, 22 or 30.</summary>
    public byte PageShift;
}
