using System.Runtime.CompilerServices;

namespace SharpMM.Heap;

// Why this file exists: the hot pair (kmalloc, then kfree of the same object on the same CPU)
// is the heap's most common pattern, and the plain free path (a frame-table lookup, the object's
// index, its allocated byte, then the hot slot) costs twice what the pair costs without it (W3h).
// The shortcut below recognises the object the CPU's hot slot lent out and parks it again with
// no lookup. It ends in exactly the state the plain path would reach (the plain path forgets a
// lent slot and parks the freed object); equivalence with it:
// tests/SharpMM.Tests/Heap/HotSlotLentFreeTests.cs.
public unsafe partial struct SlabCache
{
    /// <summary>
    /// Frees <paramref name="p"/> when it is the object CPU <paramref name="cpu"/>'s (the
    /// caller's) hot slot lent out and it is still allocated; else returns false and changes
    /// nothing (the caller takes the plain path).
    /// <para>Why it is sound on several CPUs. The lent object may have been freed on another
    /// CPU since (its allocated byte cleared there), handed out again anywhere, its slab even
    /// released and the memory reused. (1) While the heap has released no slab since the object
    /// was lent (the count is read at lending, while the object is still parked and so keeps
    /// its slab in use) (<see cref="HotSlot.Releases"/> equals <see cref="HeapPages.SlabReleases"/>),
    /// its slab and descriptor are the ones the slot names, so <see cref="HotSlot.Mark"/> is its
    /// allocated byte and <paramref name="p"/> is an object boundary of this heap. (2) A nonzero
    /// byte then means the object is handed out now, by this CPU's slot or any other path, so
    /// this free is legitimate, and the plain path would do the same: clear the byte, forget
    /// the lent slot, park the object. A free of an object already freed elsewhere finds the byte
    /// 0 and goes to the plain path, which reports the double free. The byte is read before the
    /// count: a release that the count does not show yet had not reused the descriptor when the
    /// byte was read (the count is bumped before the descriptor is freed; x86 keeps loads in
    /// order and stores in order). As on the plain path, two frees of one object racing on two
    /// CPUs may both pass.</para>
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TryFreeLent(HeapPages* hp, int cpu, void* p)
    {
        ref HotSlot hot = ref hp->Hot[cpu];
        ulong owner = hot.OwnerWord;
        if ((ulong)p != hot.Object || (owner & HotSlot.Lent) == 0) return false;
        byte* mark = (byte*)hot.Mark;
        if (*mark == 0 || hot.Releases != hp->SlabReleases) return false;
        *mark = 0;
        hot.OwnerWord = owner ^ HotSlot.Lent;
        return true;
    }
}
