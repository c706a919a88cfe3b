namespace SharpMM.Hosted.Machine;

/// <summary>What a memory access does with the byte it reaches (SDM vol. 3A, 4.6).</summary>
public enum AccessKind
{
    /// <summary>A data read.</summary>
    Read = 0,
    /// <summary>A data write: needs R/W = 1 at every level (for supervisor accesses only when CR0.WP = 1) and sets Dirty.</summary>
    Write = 1,
    /// <summary>An instruction fetch: refused from execute-disable pages when EFER.NXE = 1.</summary>
    Fetch = 2,
}
