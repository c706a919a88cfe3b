namespace SharpMM.Boot;

/// <summary>
/// Reads the Multiboot 1 memory map (multiboot_info.mmap_addr / mmap_length, flag bit 6):
/// <code>
///   offset 0   u32 size      bytes of the entry after this field (20 in practice)
///   offset 4   u64 base_addr
///   offset 12  u64 length
///   offset 20  u32 type      1 usable, 3 ACPI, 4 preserve on hibernation, 5 defective, else reserved
///   next entry at offset size + 4
/// </code>
/// A size below 20 cannot hold an entry and is refused; a larger size is accepted and the extra
/// bytes skipped, as the specification allows. Also synthesizes a map from mem_lower/mem_upper
/// when a loader gave no mmap (<see cref="Synthesize"/>).
/// </summary>
public static unsafe class Multiboot1Parser
{
    /// <summary>Smallest value of an entry's size field: base_addr, length and type.</summary>
    public const uint MinimumEntrySize = 20;

    /// <summary>Where synthesized low RAM ends at most, as Linux's own fallback map
    /// (LOWMEMSIZE): the last KiBs below 640 KiB often hold the EBDA.</summary>
    public const ulong LowMemoryLimit = 0x9F000;

    /// <summary>Where the RAM described by mem_upper starts (1 MiB).</summary>
    public const ulong HighMemoryStart = 0x100000;

    /// <summary>
    /// Appends the entries of the mmap buffer <paramref name="mmap"/>[0, <paramref name="length"/>)
    /// to <paramref name="raw"/>. Errors name the entry (0-based): <see cref="Status.Malformed"/>
    /// for a size field below 20, one that runs past the buffer or a buffer that ends inside a size
    /// field; <see cref="Status.Overflow"/> when base + length passes 2^64;
    /// <see cref="Status.NoSpace"/> when <paramref name="raw"/> would overflow;
    /// <see cref="Status.EmptyMap"/> for an empty buffer. On failure <paramref name="raw"/> is unchanged.
    /// </summary>
    public static Status ParseMmap(byte* mmap, uint length, ref MemoryMap raw, out MapError error)
    {
        Status s = Walk(mmap, length, ref raw, false, out error);
        if (s != Status.Ok) return s;
        Walk(mmap, length, ref raw, true, out _);
        return Status.Ok;
    }

    private static Status Walk(byte* mmap, uint length, ref MemoryMap raw, bool commit, out MapError error)
    {
        ulong off = 0;
        int index = 0;
        int added = 0;
        while (off < length)
        {
            if (length - off < 4)
            {
                error = MapError.At(Status.Malformed, MapErrorKind.Entry, index, "buffer ends inside a size field");
                return error.Status;
            }
            byte* p = mmap + off;
            uint size = RawRead.U32(p);
            if (size < MinimumEntrySize)
            {
                error = MapError.At(Status.Malformed, MapErrorKind.Entry, index, "size field below 20");
                return error.Status;
            }
            if (size > length - off - 4)
            {
                error = MapError.At(Status.Malformed, MapErrorKind.Entry, index, "size field runs past the buffer");
                return error.Status;
            }
            ulong start = RawRead.U64(p + 4);
            ulong bytes = RawRead.U64(p + 12);
            MemoryType type = (MemoryType)RawRead.U32(p + 20);
            if (!MapAppend.TryEnd(start, bytes, out ulong end))
            {
                error = MapError.At(Status.Overflow, MapErrorKind.Entry, index, "length overflows");
                return error.Status;
            }
            if (!MapAppend.Emit(ref raw, commit, ref added, start, end, type))
            {
                error = MapError.At(Status.NoSpace, MapErrorKind.Entry, index, "too many entries");
                return error.Status;
            }
            off += (ulong)size + 4;
            index++;
        }
        if (index == 0)
        {
            error = MapError.Whole(Status.EmptyMap, "empty mmap buffer");
            return error.Status;
        }
        error = MapError.Ok;
        return Status.Ok;
    }

    /// <summary>
    /// True when the size fields of <paramref name="data"/> chain from offset 0 to exactly
    /// <paramref name="length"/>, each at least 20: the test <see cref="MapLoader"/> uses.
    /// </summary>
    internal static bool ChainsExactly(byte* data, uint length)
    {
        if (length == 0) return false;
        ulong off = 0;
        while (off < length)
        {
            if (length - off < 4) return false;
            uint size = RawRead.U32(data + off);
            if (size < MinimumEntrySize || size > length - off - 4) return false;
            off += (ulong)size + 4;
        }
        return off == length;
    }

    /// <summary>
    /// Builds the map a loader without mmap implies, the way Linux fakes one when the firmware gave
    /// no E820 table: usable [0, min(<paramref name="memLowerKiB"/> KiB, 0x9f000)) and usable
    /// [1 MiB, 1 MiB + <paramref name="memUpperKiB"/> KiB). A zero size leaves its entry out;
    /// both zero gives <see cref="Status.EmptyMap"/>. <see cref="Status.NoSpace"/> when
    /// <paramref name="raw"/> cannot take the entries. On failure <paramref name="raw"/> is unchanged.
    /// </summary>
    public static Status Synthesize(uint memLowerKiB, uint memUpperKiB, ref MemoryMap raw, out MapError error)
    {
        ulong lowEnd = (ulong)memLowerKiB << 10;
        if (lowEnd > LowMemoryLimit) lowEnd = LowMemoryLimit;
        ulong highBytes = (ulong)memUpperKiB << 10;
        int needed = (lowEnd != 0 ? 1 : 0) + (highBytes != 0 ? 1 : 0);
        if (needed == 0)
        {
            error = MapError.Whole(Status.EmptyMap, "mem_lower and mem_upper are both zero");
            return error.Status;
        }
        if (raw.Count + needed > MemoryMap.Capacity)
        {
            error = MapError.Whole(Status.NoSpace, "too many entries");
            return error.Status;
        }
        if (lowEnd != 0) raw.Add(0, lowEnd, MemoryType.Usable);
        if (highBytes != 0) raw.Add(HighMemoryStart, HighMemoryStart + highBytes, MemoryType.Usable);
        error = MapError.Ok;
        return Status.Ok;
    }
}
