namespace SharpMM.Heap;

/// <summary>
/// One object parked in a per-CPU magazine: its address and where its allocated bit lives, so
/// that handing it out again sets the bit without finding the slab:
/// Mark = (address of the Alloc bitmap word &lt;&lt; 6) | bit. Decoding shifts back arithmetically,
/// which restores canonical higher-half addresses (their top bits equal bit 57).
/// </summary>
public struct MagazineEntry
{
    /// <summary>The object's address.</summary>
    public ulong Object;
    /// <summary>Bitmap word address &lt;&lt; 6 | bit index.</summary>
    public ulong Mark;
}
