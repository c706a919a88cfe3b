namespace SharpMM.Boot;

/// <summary>
/// Reads a memory map from bytes of unknown format (a file the hosted tools were given) and
/// dispatches to the matching parser. Detection, in this order, first match wins:
/// <list type="number">
/// <item>No NUL byte anywhere: text, read by <see cref="BootLogParser"/> (every binary format
/// here has NUL bytes in practice: small u32 type fields have zero high bytes).</item>
/// <item>Multiboot 2 boot information: total_size equals the length, reserved is 0, the tags
/// chain validly to an end tag.</item>
/// <item>A bare Multiboot 2 memory-map tag: type 6, size equal to the length (or to it after
/// padding to 8), entry_size at least 24 dividing the entry bytes.</item>
/// <item>A Multiboot 1 mmap buffer: size fields, each at least 20, chain from 0 to exactly the
/// length.</item>
/// <item>Bare E820 entries: 24-byte entries when the length is a multiple of 24, every type is
/// plausible (nonzero, below 256 or soft reserved) and every attribute word uses only bits 0-3;
/// otherwise 20-byte entries when the length is a multiple of 20 and the types are plausible.</item>
/// </list>
/// Ambiguities: a length that is a multiple of both 20 and 24 (120, 240, ...) can pass both E820
/// checks; 24 is preferred because its attribute check is the stricter one. A Multiboot 1 buffer
/// of 20-byte entries is also a multiple of 24, but its size fields chain, which random E820 data
/// essentially never does, so it is tried first. Multiboot 2 structures begin with a length or
/// the number 6, which cannot start a valid Multiboot 1 chain. A caller who knows the format
/// should call the parser directly.
/// </summary>
public static unsafe class MapLoader
{
    /// <summary>
    /// Detects the format of <paramref name="data"/>[0, <paramref name="length"/>) and appends its
    /// entries to <paramref name="raw"/>. <paramref name="format"/> is set even when the parser then
    /// fails. <see cref="Status.Malformed"/> with <see cref="MapFormat.Unknown"/> when nothing
    /// matches; otherwise the chosen parser's status and error. On failure <paramref name="raw"/>
    /// is unchanged.
    /// </summary>
    public static Status Load(byte* data, int length, ref MemoryMap raw, out MapError error, out MapFormat format)
    {
        if (length <= 0)
        {
            format = MapFormat.Unknown;
            error = MapError.Whole(length == 0 ? Status.EmptyMap : Status.InvalidArgument, length == 0 ? "empty input" : "negative length");
            return error.Status;
        }
        if (!HasNul(data, length))
        {
            format = MapFormat.BootLog;
            return BootLogParser.Parse(data, length, ref raw, out error);
        }
        uint ulen = (uint)length;
        if (Multiboot2Parser.LooksLikeBootInfo(data, ulen))
        {
            format = MapFormat.Multiboot2Info;
            return Multiboot2Parser.ParseBootInfo(data, ulen, ref raw, out error);
        }
        if (Multiboot2Parser.LooksLikeMemoryMapTag(data, ulen))
        {
            format = MapFormat.Multiboot2MemoryMapTag;
            return Multiboot2Parser.ParseMemoryMapTag(data, ulen, ref raw, out error);
        }
        if (Multiboot1Parser.ChainsExactly(data, ulen))
        {
            format = MapFormat.Multiboot1Mmap;
            return Multiboot1Parser.ParseMmap(data, ulen, ref raw, out error);
        }
        if (E820Parser.LooksLike(data, length, E820Parser.EntrySize24))
        {
            format = MapFormat.E820Entries24;
            return E820Parser.Parse(data, length, E820Parser.EntrySize24, ref raw, out error);
        }
        if (E820Parser.LooksLike(data, length, E820Parser.EntrySize20))
        {
            format = MapFormat.E820Entries20;
            return E820Parser.Parse(data, length, E820Parser.EntrySize20, ref raw, out error);
        }
        format = MapFormat.Unknown;
        error = MapError.Whole(Status.Malformed, "unrecognised map format");
        return error.Status;
    }

    private static bool HasNul(byte* data, int length)
    {
        for (int i = 0; i < length; i++)
            if (data[i] == 0) return true;
        return false;
    }
}
