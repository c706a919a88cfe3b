using System;
using SharpMM.Paging;

namespace SharpMM.Hosted.Machine;

/// <summary>
/// A memory access through a throwing accessor (<see cref="Mmu.Read64"/>, ...) failed, or a control
/// register load raised #GP (a reserved bit in CR3, an invalid PAE PDPTE, an illegal mode change).
/// </summary>
public sealed class MachineFaultException : Exception
{
    /// <summary>How the access ended (GeneralProtection for register loads).</summary>
    public AccessStatus Status { get; }
    /// <summary>The page fault, when <see cref="Status"/> is PageFault or RetryLimitExceeded.</summary>
    public PageFault Fault { get; }

    /// <summary>Creates the exception.</summary>
    public MachineFaultException(AccessStatus status, PageFault fault, string message) : base(message)
    {
        Status = status;
        Fault = fault;
    }
}
