namespace SharpMM.Heap;

/// <summary>
/// One object parked in a per-CPU magazine: its address and where its allocated bit lives, so
/// that handing it out again sets the bit without finding the slab (<see cref="AllocMark"/>).
/// </summary>
public struct MagazineEntry
{
    /// <summary>The object's address.</summary>
    public ulong Object;
    /// <summary>Its allocated bit (<see cref="AllocMark"/>: bitmap word address &lt;&lt; 6 | bit index).</summary>
    public ulong Mark;
}
