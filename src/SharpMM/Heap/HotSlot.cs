namespace SharpMM.Heap;

/// <summary>
/// A CPU's one-object cache in front of all caches of a heap: the most recently freed slab
/// object, parked (a magazine of one that any cache can fill). Empty when
/// <see cref="OwnerWord"/> is 0; the other fields then mean nothing. A parked object is free: its
/// allocated byte is 0, as in a magazine, so a second free of it is refused wherever it is
/// made, on this CPU or another. Allocation from a cache whose object is parked takes it (marks
/// it allocated and empties the slot); a free parks its object and moves the one parked before
/// into that object's cache's magazine, or straight back to its slab when that slab is at
/// least a quarter free, so that sparse slabs drain.
/// <para>Only its CPU touches a slot, except when every CPU is quiescent (validation).</para>
/// </summary>
public unsafe struct HotSlot
{
    /// <summary>The object's address.</summary>
    public ulong Object;
    /// <summary>The address of its allocated byte.</summary>
    public ulong Mark;
    /// <summary>Its cache's address (0: empty).</summary>
    public ulong OwnerWord;
    /// <summary>Its slab (to send it back there, not to the magazine, when the slab is sparse).</summary>
    public SlabDescriptor* Slab;

    /// <summary>The object's cache (null when empty).</summary>
    public readonly SlabCache* Owner => (SlabCache*)OwnerWord;

    /// <summary>True while an object waits in the slot.</summary>
    public readonly bool IsParked => OwnerWord != 0;

    /// <summary>Empties the slot.</summary>
    public void Clear()
    {
        Object = 0;
        Mark = 0;
        OwnerWord = 0;
        Slab = null;
    }
}
