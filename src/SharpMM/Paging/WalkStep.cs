namespace SharpMM.Paging;

/// <summary>One step of a page walk: which table, which entry, what it holds.</summary>
public readonly struct WalkStep
{
    /// <summary>Level of the table (top = levels - 1).</summary>
    public readonly int Level;
    /// <summary>Index of the entry used.</summary>
    public readonly int Index;
    /// <summary>Physical address of the table.</summary>
    public readonly ulong TablePhys;
    /// <summary>The entry's raw value.</summary>
    public readonly ulong Entry;

    /// <summary>Builds a step.</summary>
    public WalkStep(int level, int index, ulong tablePhys, ulong entry)
    {
        Level = level; Index = index; TablePhys = tablePhys; Entry = entry;
    }
}
