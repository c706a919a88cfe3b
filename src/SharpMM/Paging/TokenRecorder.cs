namespace SharpMM.Paging;

/// <summary>Builds a <see cref="FlushToken"/> from what a single-page operation records.</summary>
internal struct TokenRecorder : IFlushRecorder
{
    private ulong _va;
    private FlushToken.Kind _kind;

    public void Page(ulong va, bool global)
    {
        // A second page cannot be expressed in a token: ask for a full flush instead.
        if ((_kind & FlushToken.Kind.Page) != 0 && va != _va) _kind |= FlushToken.Kind.Full;
        _va = va;
        _kind |= FlushToken.Kind.Page | (global ? FlushToken.Kind.Global : 0);
    }

    public void SizeChanged(bool global) => _kind |= FlushToken.Kind.Full | (global ? FlushToken.Kind.Global : 0);

    public void RootChanged() => _kind |= FlushToken.Kind.RootReload;

    public readonly FlushToken Token => new FlushToken(_va, _kind);
}
