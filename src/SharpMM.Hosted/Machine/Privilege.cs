namespace SharpMM.Hosted.Machine;

/// <summary>The mode an access is made in (SDM vol. 3A, 4.6): CPL 0-2 is supervisor, CPL 3 is user.</summary>
public enum Privilege
{
    /// <summary>CPL &lt; 3: may touch every mapped page (no SMEP/SMAP in this model).</summary>
    Supervisor = 0,
    /// <summary>CPL 3: needs U/S = 1 at every level of the walk.</summary>
    User = 1,
}
