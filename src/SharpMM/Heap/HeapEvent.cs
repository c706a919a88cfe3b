namespace SharpMM.Heap;

/// <summary>One finding of the debug checks (see <see cref="HeapDebug"/>).</summary>
public struct HeapEvent
{
    /// <summary>What was found.</summary>
    public HeapEventKind Kind;
    /// <summary>The status the operation returned (Ok when it went ahead, e.g. use after free
    /// found while allocating).</summary>
    public Status Status;
    /// <summary>Site index of the object's last allocation (0: unknown).</summary>
    public uint AllocSite;
    /// <summary>Site index of the object's last free, or of the failing free call (0: unknown).</summary>
    public uint FreeSite;
    /// <summary>The object or pointer concerned.</summary>
    public ulong Address;
}
