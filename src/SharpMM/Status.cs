namespace SharpMM;

/// <summary>
/// The one failure type of the library. Out of memory and bad caller input are values of this
/// enum, never exceptions; a broken internal invariant goes to <see cref="Panic"/> instead.
/// Every operation that returns a status leaves its object unchanged unless it returns <see cref="Ok"/>.
/// </summary>
public enum Status : byte
{
    /// <summary>Success.</summary>
    Ok = 0,
    /// <summary>No memory (or no free frame, or no metadata slot) could satisfy the request.</summary>
    OutOfMemory,
    /// <summary>An address or size is not aligned as the operation requires.</summary>
    Misaligned,
    /// <summary>start + size wraps around, or a size does not fit the type that has to hold it.</summary>
    Overflow,
    /// <summary>An argument is outside what the operation accepts (zero size, order above the maximum...).</summary>
    InvalidArgument,
    /// <summary>An address or frame lies outside the memory the object manages.</summary>
    OutOfRange,
    /// <summary>Free of a frame or block that this allocator never handed out (or that is reserved).</summary>
    NotAllocated,
    /// <summary>Free of a block that is already free.</summary>
    DoubleFree,
    /// <summary>Free with an order other than the one the block was allocated with.</summary>
    WrongOrder,
    /// <summary>The operation is not provided by this implementation (e.g. free on a bump allocator).</summary>
    Unsupported,
    /// <summary>A fixed-capacity table is full (memblock region arrays, map entry arrays).</summary>
    NoSpace,
    /// <summary>Input could not be parsed: a number, a field or a structure is malformed.</summary>
    Malformed,
    /// <summary>A range's end lies before its start.</summary>
    EndBeforeStart,
    /// <summary>The input held no memory-map entry at all (or no usable RAM).</summary>
    EmptyMap,
    /// <summary>The object has been retired (memblock after hand-over) and may not be used.</summary>
    Retired,
    /// <summary>Target already mapped (paging).</summary>
    AlreadyMapped,
    /// <summary>Target not mapped (paging).</summary>
    NotMapped,
    /// <summary>A large page stands where a table was needed (paging).</summary>
    ParentIsHugePage,
    /// <summary>An address or range overlaps one that is already present or reserved.</summary>
    Overlap,
    /// <summary>A backing store could not read or write a page (device error, short transfer, a
    /// crash injected by a test).</summary>
    IoError,
    /// <summary>The target exists but forbids the access (a user region without the right to
    /// read or write it).</summary>
    AccessDenied,
}

/// <summary>Names for <see cref="Status"/> values, usable freestanding (no Enum.ToString there).</summary>
public static class StatusNames
{
    /// <summary>The enum member's name, e.g. "OutOfMemory".</summary>
    public static string Name(Status s) => s switch
    {
        Status.Ok => "Ok",
        Status.OutOfMemory => "OutOfMemory",
        Status.Misaligned => "Misaligned",
        Status.Overflow => "Overflow",
        Status.InvalidArgument => "InvalidArgument",
        Status.OutOfRange => "OutOfRange",
        Status.NotAllocated => "NotAllocated",
        Status.DoubleFree => "DoubleFree",
        Status.WrongOrder => "WrongOrder",
        Status.Unsupported => "Unsupported",
        Status.NoSpace => "NoSpace",
        Status.Malformed => "Malformed",
        Status.EndBeforeStart => "EndBeforeStart",
        Status.EmptyMap => "EmptyMap",
        Status.Retired => "Retired",
        Status.AlreadyMapped => "AlreadyMapped",
        Status.NotMapped => "NotMapped",
        Status.ParentIsHugePage => "ParentIsHugePage",
        Status.Overlap => "Overlap",
        Status.IoError => "IoError",
        Status.AccessDenied => "AccessDenied",
        _ => "Unknown",
    };
}
