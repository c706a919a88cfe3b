namespace SharpMM.Paging;

// Why this part exists: the mapper's tuned single-page paths (Mapper.FastMapUnmap.cs) keep a
// format's 64-bit constants in the mapper instance, so that each use is a memory operand
// instead of a 10-byte move (W4's unmap: two fewer instructions per page). These members only
// name those constants; they describe no hardware, are internal (an outside format cannot and
// need not implement them) and default to "no such constant", which leaves the mapper on the
// format's own TableAddress and AddChildCount.
public unsafe partial interface IPagingFormat
{
    /// <summary>The mask <see cref="TableAddress"/> ANDs an entry with, when that is all it
    /// does (x86); 0 otherwise (RISC-V shifts the PPN).</summary>
    internal static virtual ulong TableAddressMask => 0;

    /// <summary>The common case of <see cref="AddChildCount"/> with -1, as two constants: when
    /// a pointer entry has a bit of <see cref="CountDownFastBits"/> set, its count stays well
    /// above empty and the entry minus <see cref="CountDownUnit"/> is the entry with one less;
    /// otherwise AddChildCount decides. 0 and 0 when the format keeps no count.</summary>
    internal static virtual ulong CountDownFastBits => 0;
    /// <summary>See <see cref="CountDownFastBits"/>.</summary>
    internal static virtual ulong CountDownUnit => 0;
}
