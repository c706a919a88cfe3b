namespace SharpMM.Paging;

/// <summary>
/// What a single-page mapper operation changed, handed to the caller, who must
/// <see cref="Flush"/> it (usually at once) or <see cref="Ignore"/> it (when the address space
/// is not active, or a later full flush covers it), as with the x86_64 crate's MapperFlush.
/// An empty token (a failed or no-op operation) flushes nothing.
///
/// Contents: at most one page address, whether the old or new mapping was global, whether the
/// page size changed (then only a full flush is correct), and whether a latched root entry
/// changed (PAE: needs a CR3 reload).
/// </summary>
public readonly struct FlushToken
{
    [System.Flags]
    internal enum Kind : uint { None = 0, Page = 1, Global = 2, Full = 4, RootReload = 8 }

    private readonly ulong _va;
    private readonly Kind _kind;

    internal FlushToken(ulong va, Kind kind) { _va = va; _kind = kind; }

    /// <summary>What the token asks for.</summary>
    internal Kind Kinds => _kind;

    /// <summary>True when nothing changed.</summary>
    public bool IsEmpty => _kind == Kind.None;
    /// <summary>True when a page needs invalidating (<see cref="VirtualAddress"/>).</summary>
    public bool HasPage => (_kind & Kind.Page) != 0;
    /// <summary>The page whose translation changed.</summary>
    public ulong VirtualAddress => _va;
    /// <summary>The old or the new mapping is global (a CR3 reload does not remove it).</summary>
    public bool IsGlobal => (_kind & Kind.Global) != 0;
    /// <summary>Only a full flush is correct.</summary>
    public bool NeedsFullFlush => (_kind & Kind.Full) != 0;
    /// <summary>The root must be reloaded (PAE PDPTE changed).</summary>
    public bool NeedsRootReload => (_kind & Kind.RootReload) != 0;

    /// <summary>Invalidates what changed, as <paramref name="policy"/> decides.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Flush<TArch>(ref TArch arch, ref FlushPolicy policy) where TArch : struct, IArchHooks
    {
        if (IsEmpty) return;
        // One page, nothing else: what the policy does for it, without the general path. (A
        // token that is not empty and has no bit but Page and Global has Page: Global comes
        // only with Page or Full.)
        if ((_kind & ~(Kind.Page | Kind.Global)) == 0 && policy.Ceiling >= 1 && arch.TryInvalidatePage(_va))
        {
            policy.Counters.SinglePages++;
            return;
        }
        FlushSlow(_va, _kind, ref arch, ref policy);
    }

    // By value, so that a token that never leaves registers stays there.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static unsafe void FlushSlow<TArch>(ulong va, Kind kind, ref TArch arch, ref FlushPolicy policy) where TArch : struct, IArchHooks
    {
        policy.Apply(ref arch, (kind & Kind.Page) != 0 ? 1 : 0, &va, (kind & Kind.Global) != 0, (kind & Kind.Full) != 0, (kind & Kind.RootReload) != 0);
    }

    /// <summary>Drops the token without flushing: the caller takes responsibility (the change is
    /// in an inactive address space, or a flush that covers it follows). Counted.</summary>
    public void Ignore(ref FlushPolicy policy)
    {
        if (!IsEmpty) policy.Counters.Ignored++;
    }
}
