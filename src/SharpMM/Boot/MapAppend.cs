namespace SharpMM.Boot;

/// <summary>
/// Shared by the parsers, which all run twice over their input: a checking pass that appends
/// nothing (it only counts, so capacity is known before anything changes) and a committing pass
/// that cannot fail. That keeps the caller's map unchanged on every error without a second
/// 6 KiB <see cref="MemoryMap"/> on the stack.
/// </summary>
internal static class MapAppend
{
    /// <summary>Counts (checking pass) or appends (committing pass) one entry; false when the map
    /// would overflow. <paramref name="added"/> counts entries of this parse.</summary>
    internal static bool Emit(ref MemoryMap raw, bool commit, ref int added, ulong start, ulong end, MemoryType type)
    {
        if (commit)
        {
            if (raw.Add(start, end, type) != Status.Ok) Panic.Fail("MapAppend: map filled up between checking and committing passes");
        }
        else if (raw.Count + added >= MemoryMap.Capacity)
        {
            return false;
        }
        added++;
        return true;
    }

    /// <summary>
    /// End of [base, base + length). A range that reaches exactly 2^64 ends at ulong.MaxValue
    /// (the <see cref="MemoryMapEntry.End"/> convention, its last byte is dropped); one that goes
    /// beyond returns false. A zero length gives an empty entry at base.
    /// </summary>
    internal static bool TryEnd(ulong start, ulong length, out ulong end)
    {
        if (length == 0) { end = start; return true; }
        if (length - 1 > ulong.MaxValue - start) { end = 0; return false; }
        ulong last = start + (length - 1);
        end = last == ulong.MaxValue ? ulong.MaxValue : last + 1;
        return true;
    }
}
