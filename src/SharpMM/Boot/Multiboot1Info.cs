namespace SharpMM.Boot;

/// <summary>
/// The fields of the Multiboot 1 information structure the memory manager needs, copied out of
/// the structure so it may be reclaimed afterwards. Layout (byte offsets), each field valid only
/// when its flag bit is set:
/// <code>
///    0  u32 flags
///    4  u32 mem_lower    KiB from 0          (bit 0)
///    8  u32 mem_upper    KiB from 1 MiB      (bit 0)
///   12  u32 boot_device                       (bit 1)
///   16  u32 cmdline      physical address     (bit 2)
///   20  u32 mods_count                        (bit 3)
///   24  u32 mods_addr    physical address     (bit 3)
///   28  16 bytes of symbol information        (bit 4 or 5)
///   44  u32 mmap_length  bytes                (bit 6)
///   48  u32 mmap_addr    physical address     (bit 6)
/// </code>
/// Addresses stay physical: the caller turns them into pointers (identity map, direct map, or,
/// hosted, an offset into a buffer). Accessors return 0 when their flag is clear.
/// </summary>
public readonly struct Multiboot1Info
{
    /// <summary>EAX at kernel entry when a Multiboot 1 loader started it.</summary>
    public const uint BootloaderMagic = 0x2BADB002;
    /// <summary>Bytes <see cref="Read"/> reads (through mmap_addr).</summary>
    public const int MinimumSize = 52;

    /// <summary>Bit 0: mem_lower and mem_upper are valid.</summary>
    public const uint FlagMemory = 1u << 0;
    /// <summary>Bit 1: boot_device is valid.</summary>
    public const uint FlagBootDevice = 1u << 1;
    /// <summary>Bit 2: cmdline is valid.</summary>
    public const uint FlagCommandLine = 1u << 2;
    /// <summary>Bit 3: mods_count and mods_addr are valid.</summary>
    public const uint FlagModules = 1u << 3;
    /// <summary>Bit 6: mmap_length and mmap_addr are valid.</summary>
    public const uint FlagMemoryMap = 1u << 6;

    /// <summary>The flags word.</summary>
    public readonly uint Flags;
    private readonly uint _memLower, _memUpper, _cmdline, _modsCount, _modsAddr, _mmapLength, _mmapAddr;

    private Multiboot1Info(uint flags, uint memLower, uint memUpper, uint cmdline, uint modsCount, uint modsAddr, uint mmapLength, uint mmapAddr)
    {
        Flags = flags;
        _memLower = memLower; _memUpper = memUpper; _cmdline = cmdline;
        _modsCount = modsCount; _modsAddr = modsAddr; _mmapLength = mmapLength; _mmapAddr = mmapAddr;
    }

    /// <summary>Copies the fields out of the structure at <paramref name="info"/>, which must
    /// hold at least <see cref="MinimumSize"/> bytes.</summary>
    public static unsafe Multiboot1Info Read(byte* info)
    {
        return new Multiboot1Info(
            RawRead.U32(info), RawRead.U32(info + 4), RawRead.U32(info + 8), RawRead.U32(info + 16),
            RawRead.U32(info + 20), RawRead.U32(info + 24), RawRead.U32(info + 44), RawRead.U32(info + 48));
    }

    /// <summary>True when mem_lower/mem_upper are valid (bit 0).</summary>
    public bool HasMemoryBounds => (Flags & FlagMemory) != 0;
    /// <summary>KiB of RAM from address 0 (at most 640).</summary>
    public uint MemLowerKiB => HasMemoryBounds ? _memLower : 0;
    /// <summary>KiB of RAM from 1 MiB up to the first hole.</summary>
    public uint MemUpperKiB => HasMemoryBounds ? _memUpper : 0;

    /// <summary>True when cmdline is valid (bit 2).</summary>
    public bool HasCommandLine => (Flags & FlagCommandLine) != 0;
    /// <summary>Physical address of the NUL-terminated kernel command line.</summary>
    public uint CommandLineAddr => HasCommandLine ? _cmdline : 0;

    /// <summary>True when mods_count/mods_addr are valid (bit 3).</summary>
    public bool HasModules => (Flags & FlagModules) != 0;
    /// <summary>Number of module descriptors.</summary>
    public uint ModuleCount => HasModules ? _modsCount : 0;
    /// <summary>Physical address of the first module descriptor.</summary>
    public uint ModulesAddr => HasModules ? _modsAddr : 0;

    /// <summary>True when mmap_length/mmap_addr are valid (bit 6).</summary>
    public bool HasMemoryMap => (Flags & FlagMemoryMap) != 0;
    /// <summary>Bytes of the mmap buffer.</summary>
    public uint MmapLength => HasMemoryMap ? _mmapLength : 0;
    /// <summary>Physical address of the mmap buffer.</summary>
    public uint MmapAddr => HasMemoryMap ? _mmapAddr : 0;

    /// <summary>
    /// Appends the memory map to <paramref name="raw"/>: the mmap buffer when bit 6 is set
    /// (<paramref name="mmap"/> must point at the <see cref="MmapLength"/> bytes found at
    /// <see cref="MmapAddr"/>), otherwise a map synthesized from mem_lower/mem_upper
    /// (<paramref name="mmap"/> is not used). <see cref="Status.EmptyMap"/> when neither bit 0 nor
    /// bit 6 is set; otherwise as <see cref="Multiboot1Parser.ParseMmap"/> and
    /// <see cref="Multiboot1Parser.Synthesize"/>. On failure <paramref name="raw"/> is unchanged.
    /// </summary>
    public unsafe Status AppendMemoryMap(byte* mmap, ref MemoryMap raw, out MapError error)
    {
        if (HasMemoryMap) return Multiboot1Parser.ParseMmap(mmap, _mmapLength, ref raw, out error);
        if (HasMemoryBounds) return Multiboot1Parser.Synthesize(_memLower, _memUpper, ref raw, out error);
        error = MapError.Whole(Status.EmptyMap, "no mmap (flag bit 6) and no mem_lower/mem_upper (flag bit 0)");
        return error.Status;
    }

    /// <summary>Reads module descriptor <paramref name="index"/> from the array at
    /// <paramref name="modules"/> (the mapped <see cref="ModulesAddr"/>); the caller keeps
    /// <paramref name="index"/> below <see cref="ModuleCount"/>.</summary>
    public static unsafe Multiboot1Module ReadModule(byte* modules, uint index)
    {
        byte* p = modules + (ulong)index * Multiboot1Module.Size;
        return new Multiboot1Module(RawRead.U32(p), RawRead.U32(p + 4), RawRead.U32(p + 8));
    }
}
