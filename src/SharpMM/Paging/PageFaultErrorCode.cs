namespace SharpMM.Paging;

/// <summary>
/// The x86 page-fault error code (pushed by the CPU for vector 14; Intel SDM vol. 3A, 4.7).
/// The hosted MMU model delivers faults with the same bits.
/// </summary>
[System.Flags]
public enum PageFaultErrorCode : uint
{
    /// <summary>No bit set: a read of a not-present page in supervisor mode.</summary>
    None = 0,
    /// <summary>P: 0 = not-present page, 1 = protection violation.</summary>
    ProtectionViolation = 1 << 0,
    /// <summary>W/R: the access was a write.</summary>
    Write = 1 << 1,
    /// <summary>U/S: the access was made in user mode (CPL 3).</summary>
    User = 1 << 2,
    /// <summary>RSVD: a reserved bit was set in a paging-structure entry.</summary>
    ReservedBit = 1 << 3,
    /// <summary>I/D: the access was an instruction fetch.</summary>
    InstructionFetch = 1 << 4,
}

/// <summary>A page fault as the handler receives it: the faulting address (CR2) and error code.</summary>
public readonly struct PageFault
{
    /// <summary>CR2: the linear address whose translation failed.</summary>
    public readonly ulong Address;
    /// <summary>The error code.</summary>
    public readonly PageFaultErrorCode Error;

    /// <summary>Builds a fault record.</summary>
    public PageFault(ulong address, PageFaultErrorCode error) { Address = address; Error = error; }

    /// <summary>True when the page was not present (as opposed to a protection violation).</summary>
    public bool NotPresent => (Error & PageFaultErrorCode.ProtectionViolation) == 0;
    /// <summary>True for a write access.</summary>
    public bool IsWrite => (Error & PageFaultErrorCode.Write) != 0;
    /// <summary>True for a user-mode access.</summary>
    public bool IsUser => (Error & PageFaultErrorCode.User) != 0;
    /// <summary>True for an instruction fetch.</summary>
    public bool IsFetch => (Error & PageFaultErrorCode.InstructionFetch) != 0;
}
