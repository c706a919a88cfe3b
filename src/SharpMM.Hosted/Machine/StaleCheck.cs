namespace SharpMM.Hosted.Machine;

/// <summary>What a TLB hit compares with RAM before serving a cached translation.</summary>
public enum StaleCheck
{
    /// <summary>Nothing: the TLB behaves as hardware and reports nothing (fastest).</summary>
    Off,
    /// <summary>The leaf entry (PTE, or PDE/PDPTE with PS = 1): one load and compare per hit.</summary>
    Leaf,
    /// <summary>Every entry of the walk: also catches a PDE or PML4E rewritten without invalidation
    /// while the old page table still holds the old PTE.</summary>
    AllLevels,
}
