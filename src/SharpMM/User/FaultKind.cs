namespace SharpMM.User;

/// <summary>
/// What a user page fault turned out to be. The values below <see cref="FirstError"/> are
/// resolved (retry the access); the others are delivered to the process, as SIGSEGV or SIGBUS
/// would be: the fault handler never panics for anything a process can do.
/// </summary>
public enum FaultKind : byte
{
    /// <summary>First touch of an anonymous page: a zeroed frame mapped.</summary>
    DemandZero,
    /// <summary>A stack grew down to the faulting page, which was zero-filled.</summary>
    StackGrowth,
    /// <summary>Write to a page shared copy-on-write: the page was copied.</summary>
    CopyOnWrite,
    /// <summary>Write to a copy-on-write page this space is the last owner of: made writable, no copy.</summary>
    CowReuse,
    /// <summary>The page had been paged out: read back from the store.</summary>
    PageIn,
    /// <summary>First touch of a store-backed page: read from its persistent region.</summary>
    StoreFill,
    /// <summary>First touch of a file-mapped page: the file's bytes copied (zero past its end).</summary>
    FileFill,
    /// <summary>The tables already allowed the access (a stale TLB entry): invalidated, nothing else.</summary>
    Spurious,

    /// <summary>The address is in no region (SIGSEGV, SEGV_MAPERR).</summary>
    NoRegion,
    /// <summary>The region forbids the access: write to read-only, fetch from non-executable,
    /// any access to PROT_NONE (SIGSEGV, SEGV_ACCERR).</summary>
    AccessViolation,
    /// <summary>Below a stack but past its limit or inside the guard gap (SIGSEGV).</summary>
    StackOverflow,
    /// <summary>A user access to the kernel half (SIGSEGV).</summary>
    KernelAddress,
    /// <summary>No frame and nothing left to reclaim (the OOM killer's case; SIGBUS here).</summary>
    OutOfMemory,
    /// <summary>The store failed to read the page back (SIGBUS).</summary>
    StoreError,

    /// <summary>Number of kinds.</summary>
    Count,
    /// <summary>The first kind that is not resolved.</summary>
    FirstError = NoRegion,
}

/// <summary>Names for <see cref="FaultKind"/> (freestanding: no Enum.ToString).</summary>
public static class FaultKindNames
{
    /// <summary>A lowercase name, e.g. "demand-zero".</summary>
    public static string Name(FaultKind k) => k switch
    {
        FaultKind.DemandZero => "demand-zero",
        FaultKind.StackGrowth => "stack-growth",
        FaultKind.CopyOnWrite => "copy-on-write",
        FaultKind.CowReuse => "cow-reuse",
        FaultKind.PageIn => "page-in",
        FaultKind.StoreFill => "store-fill",
        FaultKind.FileFill => "file-fill",
        FaultKind.Spurious => "spurious",
        FaultKind.NoRegion => "no-region",
        FaultKind.AccessViolation => "access-violation",
        FaultKind.StackOverflow => "stack-overflow",
        FaultKind.KernelAddress => "kernel-address",
        FaultKind.OutOfMemory => "out-of-memory",
        FaultKind.StoreError => "store-error",
        _ => "unknown",
    };
}
