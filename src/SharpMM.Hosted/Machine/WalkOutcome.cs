namespace SharpMM.Hosted.Machine;

/// <summary>How the internal walker ended.</summary>
internal enum WalkOutcome
{
    Mapped,
    NotPresent,
    Reserved,
    OutsideRam,
    /// <summary>An entry changed between the read and the Accessed-bit update: walk again.</summary>
    Restart,
}
