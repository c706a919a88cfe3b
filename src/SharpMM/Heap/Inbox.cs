using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SpinLock = SharpMM.Concurrency.SpinLock;

namespace SharpMM.Heap;

/// <summary>
/// A CPU's inbox in one slab cache: free objects of slabs that CPU owns, freed on other CPUs and
/// handed over in batches, waiting for that CPU's next magazine refill (mimalloc's delayed free
/// lists and snmalloc's message queues do this job; here a bounded array of magazine entries
/// under a lock, so no link is written into a free object).
/// <para>Why: an object freed on a CPU that does not own its slab must go home (only the owner
/// hands it out again, so the CPUs' fast paths never write one slab descriptor). Sent back to its
/// slab, each such object cost the freeing CPU the slab's free bitmap, in-use count and list
/// position under the cache lock, emptied slabs went back to the page allocator, and the owner's
/// next refill scanned the bitmaps again or took a new slab. Through the inbox, the owner's
/// refill takes the objects as they are: still counted in use by their slabs, their allocated
/// bytes already cleared by the freeing CPU (so a second free of one is caught as everywhere
/// else), their marks already found.</para>
/// <para>An object here is free and parked, like a magazine entry: validation counts it, a drain
/// of the owner (<see cref="SlabCache.DrainCpu"/>) or a shrink on any CPU returns it to its slab,
/// and when the inbox is full the sender returns its objects to their slabs instead. A slab its
/// owner has disowned (a drain) may still get objects into the owner's inbox from a sender that
/// read the owner before the drain; the owner then hands them out once more and they go back to
/// their slab when freed (correct, only not yet home).</para>
/// <para>Memory: one page, taken by the owner's first refill while several CPUs are online (a
/// machine with one CPU has none), counted in the heap's metadata, given back when the cache is
/// destroyed. It holds up to four of the cache's magazines (<see cref="CapacityFor"/>, the same
/// for every CPU of a cache, so it is not stored), at most <see cref="MaxCapacity"/> objects.</para>
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = PageBytes)]
public struct Inbox
{
    /// <summary>An inbox's size: one page.</summary>
    public const int PageBytes = 4096;
    /// <summary>Most objects an inbox can hold (the entries that fit in its page).</summary>
    public const uint MaxCapacity = 252;

    /// <summary>Protects <see cref="Count"/> and <see cref="Entries"/> (rank
    /// <see cref="Concurrency.LockRank.SlabInbox"/>): senders, the owner's refill, drains.</summary>
    public SpinLock Lock;
    /// <summary>Objects waiting, [0, Count). Read without the lock as a hint only.</summary>
    public uint Count;
    /// <summary>The waiting objects and their allocated bytes' addresses.</summary>
    public InboxSlots Entries;

    /// <summary>Most objects an inbox takes in a cache whose magazines hold
    /// <paramref name="magazineCapacity"/> objects.</summary>
    public static uint CapacityFor(uint magazineCapacity) =>
        magazineCapacity * 4 < MaxCapacity ? magazineCapacity * 4 : MaxCapacity;

    /// <summary>Entry <paramref name="i"/> (no bounds check: i &lt; <see cref="MaxCapacity"/> by construction).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [System.Diagnostics.CodeAnalysis.UnscopedRef]
    public ref MagazineEntry At(uint i) => ref Unsafe.Add(ref Entries[0], (nint)i);
}

/// <summary>Inline storage for an inbox's entries.</summary>
[InlineArray((int)Inbox.MaxCapacity)]
public struct InboxSlots
{
    private MagazineEntry _first;
}

/// <summary>Each CPU's inbox in a cache (the address of its page; 0 while it has none).</summary>
[InlineArray(Concurrency.Cpu.MaxCpus)]
public struct PerCpuInboxes
{
    private nint _first;
}
