using System.Runtime.CompilerServices;

namespace SharpMM.Paging;

/// <summary>
/// A level-0 table as <see cref="Mapper{TFormat, TAccess}"/>'s walker hands it to callers that
/// keep their own level-0 entries (user address spaces: present pages, swap entries, rights
/// changed by copy-on-write): the table and the level-1 entry pointing at it. Entries are read
/// and written here so that the table's occupancy count (1 + its non-zero entries, kept in the
/// pointing entry where the format has room: <see cref="IPagingFormat.CountsChildren"/>) stays
/// right; writing a raw pointer instead would leave the count behind and let the mapper free a
/// table that still holds entries, or keep one that is empty.
///
/// A write that clears the table's last non-zero entry leaves the table linked: the caller,
/// done with it, asks the mapper to free it (<c>Mapper.FreeEmptyTables</c>), which must happen
/// before the next mapper call on the address space that could reach it. A handle is valid until
/// then: any mapper call that may free tables (Unmap, UnmapRange, FreeEmptyTables) may free
/// this one. The default value is no table (<see cref="IsNull"/>).
/// </summary>
public readonly unsafe struct LeafTable<TFormat> where TFormat : struct, IPagingFormat
{
    private readonly byte* _table;
    private readonly byte* _pointer; // the level-1 entry pointing at the table (its occupancy count)

    internal LeafTable(byte* table, byte* pointer)
    {
        _table = table;
        _pointer = pointer;
    }

    /// <summary>True for no table (a walk that found none).</summary>
    public bool IsNull => _table == null;

    /// <summary>The index of <paramref name="va"/>'s entry in its level-0 table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexOf(ulong va) => (int)((va >> TFormat.IndexShift(0)) & (ulong)(TFormat.EntriesPerTable(0) - 1));

    /// <summary>Bytes one level-0 table covers (4 MiB on 32-bit x86, 2 MiB on 4-level).</summary>
    public static ulong Span => 1UL << TFormat.IndexShift(1);

    /// <summary>Entry <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Read(int index) => TFormat.Read(_table, index);

    /// <summary>Writes entry <paramref name="index"/> (one store) and, when it turns from zero
    /// to non-zero or back, the table's occupancy count. The caller flushes what the change
    /// needs (a present entry that changed or went).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write(int index, ulong entry)
    {
        ulong old = TFormat.Read(_table, index);
        TFormat.Write(_table, index, entry);
        // Level-1 entries carry a count only below the top level (Levels > 2).
        if (TFormat.CountsChildren && TFormat.Levels > 2 && (old == 0) != (entry == 0))
            TFormat.AddChildCount(_pointer, 0, TFormat.Read(_pointer, 0), entry != 0 ? 1 : -1);
    }
}
