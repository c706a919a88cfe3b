namespace SharpMM.Hosted.Machine;

/// <summary>How a memory access through the model (Read64, Write8, Fetch, ...) ended.</summary>
public enum AccessStatus
{
    /// <summary>The access completed.</summary>
    Ok,
    /// <summary>A page fault that no handler resolved (none installed, or it answered Fail);
    /// <see cref="Mmu.LastFault"/> holds it.</summary>
    PageFault,
    /// <summary>A general-protection exception (non-canonical address); handlers are not called.</summary>
    GeneralProtection,
    /// <summary>The handler answered Retry more than <see cref="Mmu.MaxFaultRetries"/> times for one
    /// access and the access still faulted: a handler that does not fix what it claims to fix.</summary>
    RetryLimitExceeded,
}
