namespace SharpMM.Paging;

/// <summary>
/// Named sections of an address space for <see cref="PageTableDump"/>, in ascending order of
/// start: the dump prints Linux ptdump's marker line "---[ Name ]---" when it reaches each
/// start, and never merges a run across one.
/// </summary>
public interface IDumpSections
{
    /// <summary>Number of sections.</summary>
    int Count { get; }
    /// <summary>First address of section <paramref name="i"/> (ascending in i).</summary>
    ulong Start(int i);
    /// <summary>Its name, e.g. "Kernel Mapping".</summary>
    string Name(int i);
}

/// <summary>No sections: a plain dump.</summary>
public struct NoDumpSections : IDumpSections
{
    /// <inheritdoc/>
    public readonly int Count => 0;
    /// <inheritdoc/>
    public readonly ulong Start(int i) => 0;
    /// <inheritdoc/>
    public readonly string Name(int i) => null;
}
