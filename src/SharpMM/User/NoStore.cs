namespace SharpMM.User;

/// <summary>No backing store: nothing can be paged out (only clean zero pages can be dropped),
/// and persistent regions cannot exist.</summary>
public unsafe struct NoStore : IBackingStore
{
    /// <inheritdoc/>
    public readonly ulong SlotCount => 0;
    /// <inheritdoc/>
    public readonly Status Read(ulong slot, byte* page) => Status.OutOfRange;
    /// <inheritdoc/>
    public readonly Status Write(ulong slot, byte* page) => Status.OutOfRange;
    /// <inheritdoc/>
    public readonly Status Flush() => Status.Ok;
}
