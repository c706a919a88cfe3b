namespace SharpMM.Heap;

/// <summary>
/// A CPU's one-object cache in front of all caches of a heap: the most recently freed slab
/// object (a magazine of one that any cache can fill). Three states:
/// <code>
///   empty   OwnerWord = 0
///   parked  OwnerWord = cache            the object is free, waiting to be handed out again
///   lent    OwnerWord = cache | Lent     it was handed out from here and not freed since
/// </code>
/// The object keeps its allocated bit in every state, so the hot pair (free, then allocate from
/// the same cache) touches neither a bitmap nor a magazine: allocation compares
/// <see cref="OwnerWord"/> with its cache and marks the object lent; a free whose pointer equals
/// <see cref="Object"/> needs no lookup (a lent object is known to be live: it was handed out
/// and every free of it comes here first), it turns lent back into parked, and a parked object
/// freed again is a double free. Any other free takes the slot: a parked object moves to its
/// cache's magazine (its allocated bit cleared through <see cref="Mark"/>), a lent one is simply
/// forgotten (it is an ordinary allocated object). A parked object whose slab is at least a
/// quarter free goes back to the slab instead of the magazine, so that sparse slabs drain.
/// </summary>
public unsafe struct HotSlot
{
    /// <summary>Low bit of <see cref="OwnerWord"/>: the object is handed out.</summary>
    public const ulong Lent = 1;

    /// <summary>The object's address (0 when empty).</summary>
    public ulong Object;
    /// <summary>Its allocated bit, an <see cref="AllocMark"/>.</summary>
    public ulong Mark;
    /// <summary>Its cache's address, with <see cref="Lent"/> while it is handed out (0: empty).</summary>
    public ulong OwnerWord;
    /// <summary>Its slab (to send it back there, not to the magazine, when the slab is sparse).</summary>
    public SlabDescriptor* Slab;

    /// <summary>The object's cache (null when empty).</summary>
    public readonly SlabCache* Owner => (SlabCache*)(OwnerWord & ~Lent);

    /// <summary>True while the object waits free in the slot.</summary>
    public readonly bool IsParked => OwnerWord != 0 && (OwnerWord & Lent) == 0;

    /// <summary>True while the object is handed out.</summary>
    public readonly bool IsLent => (OwnerWord & Lent) != 0;

    /// <summary>Empties the slot.</summary>
    public void Clear()
    {
        Object = 0;
        Mark = 0;
        OwnerWord = 0;
        Slab = null;
    }
}
