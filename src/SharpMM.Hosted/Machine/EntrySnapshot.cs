namespace SharpMM.Hosted.Machine;

/// <summary>A paging-structure entry a TLB entry was built from: where it is and what it held.</summary>
internal struct EntrySnapshot
{
    /// <summary>Physical address of the entry.</summary>
    public ulong Address;
    /// <summary>Its raw value when the translation was cached (or last re-checked).</summary>
    public ulong Value;
}
