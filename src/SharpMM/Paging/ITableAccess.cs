namespace SharpMM.Paging;

/// <summary>
/// How the mapper reaches page-table memory, as a struct type parameter (static dispatch).
/// Two strategies exist: <see cref="DirectMapTableAccess"/> (every frame is at direct-map
/// offset + physical address) and <see cref="RecursiveTableAccess{TFormat, TWindow}"/> (tables
/// are reached through a top-level entry that points back at the top-level table, so only
/// linked tables have an address).
///
/// "The table at level L for va" is the table holding the level-L entry the hardware uses to
/// translate va; the mapper always passes both that table's physical address and (level, va),
/// and a strategy uses whichever it needs.
/// </summary>
public unsafe interface ITableAccess
{
    /// <summary>A pointer to the linked table at <paramref name="level"/> on the walk for
    /// <paramref name="va"/>, whose frame is at <paramref name="tablePhys"/>.</summary>
    byte* Table(ulong tablePhys, int level, ulong va);

    /// <summary>A pointer to a frame that is not (yet) linked into the tables, to zero or fill
    /// it before linking, or null when this strategy cannot reach it; then the mapper zeroes a
    /// new table after linking it and refuses to split large pages (Unsupported). Every
    /// non-null result is followed by <see cref="EndUnlinked"/> before the next call.</summary>
    byte* BeginUnlinked(ulong framePhys);

    /// <summary>Ends the access <see cref="BeginUnlinked"/> started.</summary>
    void EndUnlinked(ulong framePhys);

    /// <summary>The table at <paramref name="level"/> for <paramref name="va"/> has just been
    /// linked into its parent (its address may have translated to something else before).</summary>
    void Linked(int level, ulong va);

    /// <summary>The table at <paramref name="level"/> for <paramref name="va"/> has just been
    /// unlinked from its parent (and is about to be freed).</summary>
    void Unlinked(int level, ulong va);

    /// <summary>True when any address in [<paramref name="first"/>, <paramref name="last"/>] is
    /// used by the strategy itself (the recursive window, its scratch page's table); the mapper
    /// refuses to map, unmap or protect there.</summary>
    bool OverlapsReserved(ulong first, ulong last);

    /// <summary>True when every address in [<paramref name="first"/>, <paramref name="last"/>]
    /// is reserved; walks (dump, visit, destroy) skip such entries.</summary>
    bool WithinReserved(ulong first, ulong last);
}
