using System.Runtime.InteropServices;

namespace SharpMM.Hosted.Machine;

/// <summary>
/// One cached translation (SDM vol. 3A, 4.10.2): the page, its frame and the rights combined over
/// the walk. 32 bytes, so that a slot's address is a shift and a mask of the linear address. What
/// the stale check compares with RAM is kept apart (<see cref="TlbCopies"/>); the page size is the
/// array's (<see cref="TlbArray.Shift"/>).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
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
    /// <summary><see cref="TlbRights"/> bits; the other bits may hold anything (the fast fill
    /// leaves entry bits there), so readers mask.</summary>
    [FieldOffset(24)] public uint Rights;
}

/// <summary>
/// What a slot's translation was built from, for the stale check (<see cref="Tlb.StaleCheck"/>):
/// where the leaf entry lives and the value it held, and the non-leaf entries of the walk. Kept
/// only while a check is on (turning a check on drops every cached translation).
/// </summary>
internal struct TlbCopies
{
    /// <summary>Physical address of the entry that maps the page (PTE, or PDE/PDPTE with PS = 1).</summary>
    public ulong LeafAddress;
    /// <summary>Its raw value when cached (or last re-checked).</summary>
    public ulong LeafValue;
    /// <summary>The non-leaf entries, top level first.</summary>
    public UpperEntries Upper;
    /// <summary>How many of them the walk used (0 to 3).</summary>
    public int UpperCount;
}
