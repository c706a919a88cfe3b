namespace SharpMM.Boot;

/// <summary>
/// Reads the Multiboot 2 boot-information structure:
/// <code>
///   offset 0  u32 total_size   bytes, this header and the end tag included
///   offset 4  u32 reserved
///   offset 8  tags, each starting on an 8-byte boundary:
///             u32 type, u32 size (header included, padding excluded), payload
///             ... ending with the end tag {type 0, size 8}
///
///   memory-map tag (type 6):
///     offset 0  u32 type = 6     offset 8   u32 entry_size (>= 24, a multiple of 8 in practice)
///     offset 4  u32 size         offset 12  u32 entry_version (0)
///     offset 16 entries: u64 base_addr, u64 length, u32 type, u32 reserved, then entry_size - 24 more bytes
/// </code>
/// Every size is checked against total_size and the bytes the caller says it can read, so a
/// corrupt structure is refused rather than read past. The module (type 3) and command-line
/// (type 1) tags are exposed for the layers that load modules and parse the command line.
/// </summary>
public static unsafe class Multiboot2Parser
{
    /// <summary>EAX at kernel entry when a Multiboot 2 loader started it.</summary>
    public const uint BootloaderMagic = 0x36D76289;

    /// <summary>Tag type: end of the tag list.</summary>
    public const uint TagEnd = 0;
    /// <summary>Tag type: kernel command line (NUL-terminated string at offset 8).</summary>
    public const uint TagCommandLine = 1;
    /// <summary>Tag type: boot-loader name.</summary>
    public const uint TagBootLoaderName = 2;
    /// <summary>Tag type: module (u32 mod_start, u32 mod_end, string).</summary>
    public const uint TagModule = 3;
    /// <summary>Tag type: basic memory information (u32 mem_lower, u32 mem_upper in KiB).</summary>
    public const uint TagBasicMemoryInfo = 4;
    /// <summary>Tag type: memory map.</summary>
    public const uint TagMemoryMap = 6;

    /// <summary>Bytes of the memory-map tag before its first entry.</summary>
    public const uint MemoryMapHeaderSize = 16;
    /// <summary>Smallest entry_size: base_addr, length, type and reserved.</summary>
    public const uint MinimumEntrySize = 24;

    /// <summary>
    /// Checks the structure at <paramref name="info"/>: total_size at least 16 and within
    /// <paramref name="availableBytes"/>, every tag at least 8 bytes and inside total_size, an
    /// end tag of size 8. Returns <see cref="Status.Ok"/> or <see cref="Status.Malformed"/> with
    /// the failing tag named (0-based).
    /// </summary>
    public static Status Validate(byte* info, uint availableBytes, out MapError error)
    {
        if (availableBytes < 8)
        {
            error = MapError.Whole(Status.Malformed, "shorter than the 8-byte header");
            return error.Status;
        }
        uint total = RawRead.U32(info);
        if (total < 16)
        {
            error = MapError.Whole(Status.Malformed, "total_size below 16");
            return error.Status;
        }
        if (total > availableBytes)
        {
            error = MapError.Whole(Status.Malformed, "total_size runs past the buffer");
            return error.Status;
        }
        ulong off = 8;
        int index = 0;
        while (true)
        {
            if (off + 8 > total)
            {
                error = MapError.At(Status.Malformed, MapErrorKind.Tag, index, "no end tag before total_size");
                return error.Status;
            }
            uint type = RawRead.U32(info + off);
            uint size = RawRead.U32(info + off + 4);
            if (size < 8)
            {
                error = MapError.At(Status.Malformed, MapErrorKind.Tag, index, "tag size below 8");
                return error.Status;
            }
            if (size > total - off)
            {
                error = MapError.At(Status.Malformed, MapErrorKind.Tag, index, "tag runs past total_size");
                return error.Status;
            }
            if (type == TagEnd)
            {
                if (size != 8)
                {
                    error = MapError.At(Status.Malformed, MapErrorKind.Tag, index, "end tag size is not 8");
                    return error.Status;
                }
                error = MapError.Ok;
                return Status.Ok;
            }
            off += AlignTag(size);
            index++;
        }
    }

    /// <summary>
    /// Finds the <paramref name="occurrence"/>-th (0-based) tag of <paramref name="type"/>.
    /// False when there is none or the structure is broken before it (call <see cref="Validate"/>
    /// to learn why).
    /// </summary>
    public static bool TryFindTag(byte* info, uint availableBytes, uint type, int occurrence, out byte* tag, out uint tagSize)
    {
        tag = null;
        tagSize = 0;
        if (availableBytes < 8) return false;
        uint total = RawRead.U32(info);
        if (total < 16 || total > availableBytes) return false;
        ulong off = 8;
        while (off + 8 <= total)
        {
            uint t = RawRead.U32(info + off);
            uint size = RawRead.U32(info + off + 4);
            if (size < 8 || size > total - off || t == TagEnd) return false;
            if (t == type && occurrence-- == 0)
            {
                tag = info + off;
                tagSize = size;
                return true;
            }
            off += AlignTag(size);
        }
        return false;
    }

    /// <summary>
    /// Appends the entries of the memory-map tag at <paramref name="tag"/>, of which
    /// <paramref name="availableBytes"/> may be read. <see cref="Status.Malformed"/> when the tag is
    /// not type 6, its size is below 16 or past the buffer, entry_size is below 24, or the entries
    /// do not fill the tag exactly (the first incomplete entry is named);
    /// <see cref="Status.Overflow"/> when base + length passes 2^64 (entry named);
    /// <see cref="Status.NoSpace"/> when <paramref name="raw"/> would overflow;
    /// <see cref="Status.EmptyMap"/> for a tag without entries. On failure <paramref name="raw"/> is unchanged.
    /// </summary>
    public static Status ParseMemoryMapTag(byte* tag, uint availableBytes, ref MemoryMap raw, out MapError error)
    {
        Status s = WalkMemoryMapTag(tag, availableBytes, ref raw, false, out error);
        if (s != Status.Ok) return s;
        WalkMemoryMapTag(tag, availableBytes, ref raw, true, out _);
        return Status.Ok;
    }

    private static Status WalkMemoryMapTag(byte* tag, uint availableBytes, ref MemoryMap raw, bool commit, out MapError error)
    {
        if (availableBytes < MemoryMapHeaderSize)
        {
            error = MapError.Whole(Status.Malformed, "memory-map tag shorter than its 16-byte header");
            return error.Status;
        }
        if (RawRead.U32(tag) != TagMemoryMap)
        {
            error = MapError.Whole(Status.Malformed, "not a memory-map tag (type 6)");
            return error.Status;
        }
        uint size = RawRead.U32(tag + 4);
        uint entrySize = RawRead.U32(tag + 8);
        if (size < MemoryMapHeaderSize)
        {
            error = MapError.Whole(Status.Malformed, "memory-map tag size below 16");
            return error.Status;
        }
        if (size > availableBytes)
        {
            error = MapError.Whole(Status.Malformed, "memory-map tag runs past the buffer");
            return error.Status;
        }
        if (entrySize < MinimumEntrySize)
        {
            error = MapError.Whole(Status.Malformed, "entry_size below 24");
            return error.Status;
        }
        uint body = size - MemoryMapHeaderSize;
        uint count = body / entrySize;
        if (body % entrySize != 0)
        {
            error = MapError.At(Status.Malformed, MapErrorKind.Entry, (int)count, "truncated entry");
            return error.Status;
        }
        if (count == 0)
        {
            error = MapError.Whole(Status.EmptyMap, "memory-map tag holds no entry");
            return error.Status;
        }
        int added = 0;
        for (uint i = 0; i < count; i++)
        {
            byte* p = tag + MemoryMapHeaderSize + (ulong)i * entrySize;
            ulong start = RawRead.U64(p);
            ulong length = RawRead.U64(p + 8);
            MemoryType type = (MemoryType)RawRead.U32(p + 16);
            if (!MapAppend.TryEnd(start, length, out ulong end))
            {
                error = MapError.At(Status.Overflow, MapErrorKind.Entry, (int)i, "length overflows");
                return error.Status;
            }
            if (!MapAppend.Emit(ref raw, commit, ref added, start, end, type))
            {
                error = MapError.At(Status.NoSpace, MapErrorKind.Entry, (int)i, "too many entries");
                return error.Status;
            }
        }
        error = MapError.Ok;
        return Status.Ok;
    }

    /// <summary>
    /// Validates the boot information at <paramref name="info"/> and appends its memory map: the
    /// first memory-map tag, or, when there is none, a map synthesized from the basic
    /// memory-information tag (type 4) as <see cref="Multiboot1Parser.Synthesize"/> does.
    /// Errors as <see cref="Validate"/> and <see cref="ParseMemoryMapTag"/>;
    /// <see cref="Status.EmptyMap"/> when neither tag exists. On failure <paramref name="raw"/> is unchanged.
    /// </summary>
    public static Status ParseBootInfo(byte* info, uint availableBytes, ref MemoryMap raw, out MapError error)
    {
        Status s = Validate(info, availableBytes, out error);
        if (s != Status.Ok) return s;
        if (TryFindTag(info, availableBytes, TagMemoryMap, 0, out byte* tag, out uint tagSize))
            return ParseMemoryMapTag(tag, tagSize, ref raw, out error);
        if (TryFindTag(info, availableBytes, TagBasicMemoryInfo, 0, out tag, out tagSize))
        {
            if (tagSize < 16)
            {
                error = MapError.Whole(Status.Malformed, "basic memory-information tag shorter than 16 bytes");
                return error.Status;
            }
            return Multiboot1Parser.Synthesize(RawRead.U32(tag + 8), RawRead.U32(tag + 12), ref raw, out error);
        }
        error = MapError.Whole(Status.EmptyMap, "no memory-map tag (type 6) and no basic memory-information tag (type 4)");
        return error.Status;
    }

    /// <summary>The kernel command line (tag type 1), without its NUL. False when absent.</summary>
    public static bool TryGetCommandLine(byte* info, uint availableBytes, out byte* text, out int length)
    {
        if (!TryFindTag(info, availableBytes, TagCommandLine, 0, out byte* tag, out uint size))
        {
            text = null;
            length = 0;
            return false;
        }
        text = tag + 8;
        length = StringLength(text, size - 8);
        return true;
    }

    /// <summary>Number of module tags (type 3) before the end tag or the first broken tag.</summary>
    public static int ModuleCount(byte* info, uint availableBytes)
    {
        int n = 0;
        while (TryFindTag(info, availableBytes, TagModule, n, out _, out _)) n++;
        return n;
    }

    /// <summary>Module tag <paramref name="index"/> (0-based, in tag order). False when absent or
    /// shorter than its 16-byte fixed part.</summary>
    public static bool TryGetModule(byte* info, uint availableBytes, int index, out Multiboot2Module module)
    {
        if (index < 0 || !TryFindTag(info, availableBytes, TagModule, index, out byte* tag, out uint size) || size < 16)
        {
            module = default;
            return false;
        }
        module = new Multiboot2Module(RawRead.U32(tag + 8), RawRead.U32(tag + 12), tag + 16, StringLength(tag + 16, size - 16));
        return true;
    }

    /// <summary>
    /// True when <paramref name="data"/> of <paramref name="length"/> bytes is exactly one
    /// boot-information structure: total_size equal to the length, reserved zero, tags valid.
    /// </summary>
    internal static bool LooksLikeBootInfo(byte* data, uint length)
    {
        if (length < 16 || RawRead.U32(data) != length || RawRead.U32(data + 4) != 0) return false;
        return Validate(data, length, out _) == Status.Ok;
    }

    /// <summary>True when <paramref name="data"/> is exactly one memory-map tag (its size, or its
    /// size padded to 8, equals the length) with whole entries of at least 24 bytes.</summary>
    internal static bool LooksLikeMemoryMapTag(byte* data, uint length)
    {
        if (length < MemoryMapHeaderSize || RawRead.U32(data) != TagMemoryMap) return false;
        uint size = RawRead.U32(data + 4);
        uint entrySize = RawRead.U32(data + 8);
        if (size < MemoryMapHeaderSize || size > length || AlignTag(size) < length) return false;
        return entrySize >= MinimumEntrySize && (size - MemoryMapHeaderSize) % entrySize == 0;
    }

    private static ulong AlignTag(uint size) => ((ulong)size + 7) & ~7UL;

    private static int StringLength(byte* s, uint max)
    {
        int n = 0;
        while ((uint)n < max && s[n] != 0) n++;
        return n;
    }
}
