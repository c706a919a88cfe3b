using SharpMM.Addressing;

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
    internal enum Kind : uint { None = 0, Page = 1, Full = 2, RootReload = 4, Global = 0x100 }

    // Two words. _bits: the page's address (bits 63:12) and the kinds known before the old
    // entry is read (Page, Full, RootReload: bits 2:0). _global: Kind.Global or 0, which comes
    // from the old entry (its G bit, at bit 8 for x86 as in the entry). Apart, so that the
    // single-page path, which never needs Global (invlpg drops global entries too), does not
    // wait for the entry: when the entry's cache line is still coming from memory, the
    // invalidation runs meanwhile instead of queueing behind it.
    private readonly ulong _bits;
    private readonly ulong _global;
    private const ulong KindBits = 7;

    internal FlushToken(ulong va, Kind kind)
    {
        _bits = (va & ~(ulong)PageSize.OffsetMask) | ((ulong)kind & KindBits);
        _global = (ulong)(kind & Kind.Global);
    }

    private FlushToken(ulong bits, ulong global) { _bits = bits; _global = global; }

    /// <summary>A token for the page at <paramref name="pageVa"/> (page-aligned: its offset bits
    /// are not masked), global when <paramref name="global"/> is <see cref="Kind.Global"/>.</summary>
    internal static FlushToken ForPage(ulong pageVa, ulong global) => new FlushToken(pageVa | (ulong)Kind.Page, global);

    /// <summary>What the token asks for.</summary>
    internal Kind Kinds => (Kind)((_bits & KindBits) | _global);

    /// <summary>True when nothing changed.</summary>
    public bool IsEmpty => (_bits & KindBits) == 0;
    /// <summary>True when a page needs invalidating (<see cref="VirtualAddress"/>).</summary>
    public bool HasPage => (Kinds & Kind.Page) != 0;
    /// <summary>The page whose translation changed (its first byte).</summary>
    public ulong VirtualAddress => _bits & ~(ulong)PageSize.OffsetMask;
    /// <summary>The old or the new mapping is global (a CR3 reload does not remove it).</summary>
    public bool IsGlobal => (Kinds & Kind.Global) != 0;
    /// <summary>Only a full flush is correct.</summary>
    public bool NeedsFullFlush => (Kinds & Kind.Full) != 0;
    /// <summary>The root must be reloaded (PAE PDPTE changed).</summary>
    public bool NeedsRootReload => (Kinds & Kind.RootReload) != 0;

    /// <summary>Invalidates what changed, as <paramref name="policy"/> decides.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Flush<TArch>(ref TArch arch, ref FlushPolicy policy) where TArch : struct, IArchHooks
    {
        // One page, nothing else: what the policy does for it, without the general path. The
        // test: bits 2:0 of the word minus one are zero exactly when they held Page alone; an
        // empty token borrows from the address and fails it. The word itself is an address in
        // the page (the kind sits in its offset bits), which is all an invalidation needs.
        if (((_bits - 1) & (ulong)(Kind.Page | Kind.Full | Kind.RootReload)) == 0 && policy.Ceiling >= 1 && arch.TryInvalidatePage(_bits))
        {
            policy.Counters.SinglePages++;
            return;
        }
        if (IsEmpty) return;
        FlushSlow(VirtualAddress, Kinds, ref arch, ref policy);
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
