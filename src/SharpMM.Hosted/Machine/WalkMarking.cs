namespace SharpMM.Hosted.Machine;

/// <summary>Whether a table walk sets Accessed in the non-leaf entries it uses, as the
/// processor's own walk does (SDM vol. 3A, 4.8), or only reads them (a diagnostic walk).</summary>
internal enum WalkMarking
{
    /// <summary>Read the entries, change nothing.</summary>
    ReadOnly,
    /// <summary>Set Accessed in each non-leaf entry used.</summary>
    SetAccessed,
}
