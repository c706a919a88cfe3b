namespace SharpMM.Heap;

/// <summary>Settings fixed when the heap is initialised.</summary>
public struct HeapConfig
{
    /// <summary>Fast or debug.</summary>
    public HeapMode Mode;
    /// <summary>Empty slabs a cache keeps for reuse; beyond this they go back to the buddy
    /// allocator as soon as they become empty (all of them on <see cref="SlabCache.Shrink"/>).</summary>
    public uint KeepEmptySlabs;
    /// <summary>Largest per-CPU magazine (object pointers), at most <see cref="Magazine.MaxCapacity"/>.
    /// A cache's magazine holds min(this, 64 KiB / object slot, at least 8) objects; 0 turns the
    /// per-CPU layer off (every operation goes to the slab lists).</summary>
    public uint MagazineCapacity;

    /// <summary>Fast mode, 2 kept empty slabs per cache, magazines of up to 64 objects.</summary>
    public static HeapConfig Default => new HeapConfig { Mode = HeapMode.Fast, KeepEmptySlabs = 2, MagazineCapacity = Magazine.MaxCapacity };

    /// <summary>Debug mode (magazines are not used in debug mode).</summary>
    public static HeapConfig Debugging => new HeapConfig { Mode = HeapMode.Debug, KeepEmptySlabs = 2, MagazineCapacity = 0 };
}
