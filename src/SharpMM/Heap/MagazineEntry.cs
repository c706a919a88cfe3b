namespace SharpMM.Heap;

/// <summary>
/// One object parked in a per-CPU magazine: its address and the address of its allocated byte
/// (<see cref="SlabDescriptor.AllocBytes"/>), so that handing it out again marks it without
/// finding the slab.
/// </summary>
public struct MagazineEntry
{
    /// <summary>The object's address.</summary>
    public ulong Object;
    /// <summary>The address of its allocated byte in its slab's descriptor.</summary>
    public ulong Mark;
}
