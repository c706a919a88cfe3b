using System.Runtime.InteropServices;

namespace SharpMM.Hosted.Machine;

/// <summary>
/// One cached translation (SDM vol. 3A, 4.10.2): the page, its frame, the rights combined over the
/// walk, and where the leaf entry lives with the value it held, so a hit can see whether the table
/// changed under it. The non-leaf entries are kept in a parallel array (<see cref="UpperEntries"/>)
/// to keep this one small. The page size is the array's (<see cref="TlbArray.Shift"/>).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
internal struct TlbEntry
{
    /// <summary>Hits served by this slot's fast path since the counters were last reset. It belongs
    /// to the slot, not to the translation: fills and flushes leave it alone, and
    /// <see cref="Tlb.Hits"/> adds it up. One counter per slot keeps hits on different pages from
    /// forming a chain of read-modify-writes on one memory word.</summary>
    [FieldOffset(0)] public long Hits;
    /// <summary>The page's linear address with the offset bits all set (see <see cref="TlbArray.TagOf"/>).
    /// 0 = empty slot; a probe key always has bit 0 set.</summary>
    [FieldOffset(8)] public ulong Tag;
    /// <summary>Physical base address of the page.</summary>
    [FieldOffset(16)] public ulong Frame;
    /// <summary>Physical address of the entry that maps the page (PTE, or PDE/PDPTE with PS = 1).</summary>
    [FieldOffset(24)] public ulong LeafAddress;
    /// <summary>Its raw value when cached (or last re-checked).</summary>
    [FieldOffset(32)] public ulong LeafValue;
    /// <summary><see cref="TlbRights"/> bits; the other bits may hold anything (the fast fill
    /// leaves entry bits there), so readers mask.</summary>
    [FieldOffset(40)] public uint Rights;
    /// <summary>How many non-leaf entries the walk used (0 to 3). Kept, as the copies above, only
    /// while a stale check is on (the check is what reads it).</summary>
    [FieldOffset(44)] public byte UpperCount;
}
