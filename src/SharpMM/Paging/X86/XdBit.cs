namespace SharpMM.Paging.X86;

/// <summary>Whether an x86 format has the XD bit (bit 63): PAE and 4-level paging do, 32-bit
/// paging does not (its pages are always executable).</summary>
internal enum XdBit
{
    /// <summary>32-bit paging: no XD bit.</summary>
    Absent,
    /// <summary>PAE and 4-level paging: XD is bit 63.</summary>
    Present,
}
