namespace SharpMM.Boot;

/// <summary>
/// Reads raw BIOS INT 15h/E820h entries as a boot loader collected them:
/// <code>
///   offset 0   u64 base
///   offset 8   u64 length
///   offset 16  u32 type
///   offset 20  u32 extended attributes   (24-byte entries only, ACPI 3.0)
/// </code>
/// Extended attributes: bit 0 clear means "ignore this entry" and it is skipped; bit 1 set means
/// non-volatile: such an entry keeps its type, except that non-volatile "usable" RAM is recorded
/// as <see cref="MemoryType.Reserved"/> (it is not general-purpose RAM). Other bits are ignored.
/// Entries are appended raw: unsorted, possibly overlapping or empty.
/// </summary>
public static unsafe class E820Parser
{
    /// <summary>Size of an entry without extended attributes.</summary>
    public const int EntrySize20 = 20;
    /// <summary>Size of an entry with ACPI 3.0 extended attributes.</summary>
    public const int EntrySize24 = 24;

    /// <summary>Extended attribute bit 0: the entry is valid (clear: ignore it).</summary>
    public const uint AttributeEnabled = 1u << 0;
    /// <summary>Extended attribute bit 1: the range is non-volatile.</summary>
    public const uint AttributeNonVolatile = 1u << 1;

    /// <summary>
    /// Appends the entries in <paramref name="entries"/>[0, <paramref name="byteLength"/>) to
    /// <paramref name="raw"/>. Returns <see cref="Status.InvalidArgument"/> for an entry size other
    /// than 20 or 24 or a negative length, <see cref="Status.Malformed"/> when the length is not a
    /// whole number of entries, <see cref="Status.Overflow"/> when base + length passes 2^64,
    /// <see cref="Status.NoSpace"/> when <paramref name="raw"/> would overflow,
    /// <see cref="Status.EmptyMap"/> when no entry is left. On failure <paramref name="raw"/> is unchanged.
    /// </summary>
    public static Status Parse(byte* entries, int byteLength, int entrySize, ref MemoryMap raw, out MapError error)
    {
        Status s = Walk(entries, byteLength, entrySize, ref raw, false, out error);
        if (s != Status.Ok) return s;
        Walk(entries, byteLength, entrySize, ref raw, true, out _);
        return Status.Ok;
    }

    private static Status Walk(byte* entries, int byteLength, int entrySize, ref MemoryMap raw, bool commit, out MapError error)
    {
        if (entrySize != EntrySize20 && entrySize != EntrySize24)
        {
            error = MapError.Whole(Status.InvalidArgument, "entry size must be 20 or 24");
            return error.Status;
        }
        if (byteLength < 0)
        {
            error = MapError.Whole(Status.InvalidArgument, "negative length");
            return error.Status;
        }
        int count = byteLength / entrySize;
        if (byteLength % entrySize != 0)
        {
            error = MapError.At(Status.Malformed, MapErrorKind.Entry, count, "truncated entry");
            return error.Status;
        }
        int added = 0;
        for (int i = 0; i < count; i++)
        {
            byte* p = entries + (long)i * entrySize;
            ulong start = RawRead.U64(p);
            ulong length = RawRead.U64(p + 8);
            MemoryType type = (MemoryType)RawRead.U32(p + 16);
            if (entrySize == EntrySize24)
            {
                uint attributes = RawRead.U32(p + 20);
                if ((attributes & AttributeEnabled) == 0) continue;
                if ((attributes & AttributeNonVolatile) != 0 && type == MemoryType.Usable) type = MemoryType.Reserved;
            }
            if (!MapAppend.TryEnd(start, length, out ulong end))
            {
                error = MapError.At(Status.Overflow, MapErrorKind.Entry, i, "length overflows");
                return error.Status;
            }
            if (!MapAppend.Emit(ref raw, commit, ref added, start, end, type))
            {
                error = MapError.At(Status.NoSpace, MapErrorKind.Entry, i, "too many entries");
                return error.Status;
            }
        }
        if (added == 0)
        {
            error = MapError.Whole(Status.EmptyMap, count == 0 ? "no E820 entry" : "every E820 entry is marked to be ignored");
            return error.Status;
        }
        error = MapError.Ok;
        return Status.Ok;
    }

    /// <summary>
    /// True when <paramref name="data"/> reads plausibly as whole entries of
    /// <paramref name="entrySize"/> bytes: at least one entry, every type nonzero and either below
    /// 256 or <see cref="MemoryType.SoftReserved"/>, and (24-byte entries) only the four
    /// attribute bits ACPI defines set. Used by <see cref="MapLoader"/> to guess the format.
    /// </summary>
    internal static bool LooksLike(byte* data, int length, int entrySize)
    {
        if (length <= 0 || length % entrySize != 0) return false;
        for (int off = 0; off < length; off += entrySize)
        {
            uint type = RawRead.U32(data + off + 16);
            if (type == 0 || (type >= 256 && type != (uint)MemoryType.SoftReserved)) return false;
            if (entrySize == EntrySize24 && (RawRead.U32(data + off + 20) & ~0xFu) != 0) return false;
        }
        return true;
    }
}
