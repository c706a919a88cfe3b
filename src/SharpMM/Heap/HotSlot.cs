using System.Runtime.InteropServices;

namespace SharpMM.Heap;

/// <summary>
/// A CPU's one-object cache in front of all caches of a heap: the most recently freed slab
/// object (a magazine of one that any cache can fill). Three states:
/// <code>
///   empty   OwnerWord = 0
///   parked  OwnerWord = cache          the object is free (allocated byte 0), waiting here
///   lent    OwnerWord = cache | Lent   it was handed out from here; the slot remembers it
/// </code>
/// A parked object is free as in a magazine, so a second free of it is refused wherever it is
/// made, on this CPU or another. Allocation from a cache whose object is parked sets its
/// allocated byte and marks the slot lent. A free of the lent object on the same CPU may skip
/// the frame-table lookup (<see cref="SlabCache.TryFreeLent"/>, which says why that is sound);
/// any other free takes the slot: a parked object moves into its cache's magazine, or straight
/// back to its slab when that slab is at least a quarter free (so that sparse slabs drain); a
/// lent one is simply forgotten (it is an ordinary allocated object, wherever it is freed).
/// <para>Only its CPU touches a slot, except when every CPU is quiescent (validation). A slot
/// takes two cache lines (36 bytes of fields), so that two CPUs' slots never share a line,
/// wherever the array starts.</para>
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 128)]
public unsafe struct HotSlot
{
    /// <summary>Low bit of <see cref="OwnerWord"/>: the object was handed out from the slot.</summary>
    public const ulong Lent = 1;

    /// <summary>The object's address.</summary>
    public ulong Object;
    /// <summary>The address of its allocated byte.</summary>
    public ulong Mark;
    /// <summary>Its cache's address, with <see cref="Lent"/> while it is handed out (0: empty).</summary>
    public ulong OwnerWord;
    /// <summary>Its slab (to send it back there, not to the magazine, when the slab is sparse).</summary>
    public SlabDescriptor* Slab;
    /// <summary>The heap's slab-release count when the object was lent
    /// (<see cref="HeapPages.SlabReleases"/>): while it is unchanged, <see cref="Mark"/> is still
    /// the object's allocated byte.</summary>
    public uint Releases;

    /// <summary>The object's cache, parked or lent (null when empty).</summary>
    public readonly SlabCache* Owner => (SlabCache*)(OwnerWord & ~Lent);

    /// <summary>True while a free object waits in the slot.</summary>
    public readonly bool IsParked => OwnerWord != 0 && (OwnerWord & Lent) == 0;

    /// <summary>True while the slot's object is handed out.</summary>
    public readonly bool IsLent => (OwnerWord & Lent) != 0;

    /// <summary>Empties the slot.</summary>
    public void Clear()
    {
        Object = 0;
        Mark = 0;
        OwnerWord = 0;
        Slab = null;
        Releases = 0;
    }
}
