namespace SharpMM.Hosted.Machine;

/// <summary>A fault handler's answer.</summary>
public enum FaultResolution
{
    /// <summary>The handler changed the tables: retry the access (bounded by <see cref="Mmu.MaxFaultRetries"/>).</summary>
    Retry,
    /// <summary>The fault stands: the access fails and its caller receives the fault.</summary>
    Fail,
}
