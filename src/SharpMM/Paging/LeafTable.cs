using System.Runtime.CompilerServices;
using System.Threading;

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

    /// <summary>
    /// Replaces present entry <paramref name="index"/> with <paramref name="desired"/> (present
    /// or not, non-zero) if it still holds <paramref name="expected"/>, atomically against
    /// another CPU's walk setting Accessed or Dirty in it (Linux's ptep_set_wrprotect,
    /// ptep_test_and_clear_young, ptep_modify_prot_start/commit): false when the entry changed
    /// since it was read (read it again, recompute, retry). Only the holder of the table's lock
    /// may call it; the walkers of other CPUs are the only other writers, and they only set A/D.
    /// <para>Library atomics are 32-bit (i386 has none wider), and every format keeps P, R/W,
    /// U/S, A and D (RISC-V: V, R/W/X, U, A, D) in the low 32 bits of its entries. So: a
    /// 4-byte entry, or an 8-byte one whose high word stays, is one 32-bit compare-exchange of
    /// the low word. An 8-byte entry whose high word changes (NX, or an address above 4 GiB)
    /// is taken first: the low word's compare-exchange clears the present bit (bit 0 on every
    /// format), after which no walk writes the entry; then the high word is written, then the
    /// low word, so no walk ever sees half of each. A walk that meets the entry meanwhile
    /// faults, and its fault handler waits for the caller's lock, then finds the new entry.</para>
    /// </summary>
    public bool TryReplace(int index, ulong expected, ulong desired)
    {
        if (!TFormat.IsPresent(expected) || desired == 0) Panic.Fail("leaf table: an atomic replace of an entry that is not present, or by zero", expected);
        if (!TFormat.IsPresent(1)) Panic.Fail("leaf table: the format's present bit is not bit 0");
        uint* low = (uint*)(_table + index * TFormat.EntrySize);
        if (TFormat.EntrySize == 4 || expected >> 32 == desired >> 32)
            return Interlocked.CompareExchange(ref *low, (uint)desired, (uint)expected) == (uint)expected;
        if (Interlocked.CompareExchange(ref *low, (uint)expected & ~1u, (uint)expected) != (uint)expected) return false;
        Volatile.Write(ref low[1], (uint)(desired >> 32));
        Volatile.Write(ref low[0], (uint)desired);
        return true;
    }
}
