namespace SharpMM.Hosted.Machine;

/// <summary>Which changes of a cached translation's entries count as violations.</summary>
public enum StalePolicy
{
    /// <summary>Any change of a bit the hardware interprets (Accessed and the software-available
    /// bits 11:9 and 62:52 excepted) in an entry a hit depends on.</summary>
    ReportAnyChange,
    /// <summary>Only changes that make the served translation wrong: the page gone, another frame or
    /// page size, rights taken away, Dirty cleared, G or caching attributes changed. Raising rights
    /// (R/W, U/S 0 -> 1, XD 1 -> 0) without invalidation is allowed by SDM vol. 3A, 4.10.4.3: the
    /// stale entry can only cause a spurious page fault, and that fault invalidates it.</summary>
    ReportUnsafeUse,
}
