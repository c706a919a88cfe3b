namespace SharpMM.User;

/// <summary>What the user fault handler did with one fault: the kind, the faulting address,
/// and for the kinds that are errors a signal-like verdict the caller delivers to the process.</summary>
public readonly struct FaultResult
{
    /// <summary>What the fault was.</summary>
    public readonly FaultKind Kind;
    /// <summary>The faulting address (CR2).</summary>
    public readonly ulong Address;

    /// <summary>A result.</summary>
    public FaultResult(FaultKind kind, ulong address) { Kind = kind; Address = address; }

    /// <summary>True when the tables now allow the access: retry it.</summary>
    public bool IsResolved => Kind < FaultKind.FirstError;
    /// <summary>True for SIGSEGV-like results (no region, rights, stack overflow, kernel address).</summary>
    public bool IsSegmentationFault => Kind >= FaultKind.NoRegion && Kind <= FaultKind.KernelAddress;
}
