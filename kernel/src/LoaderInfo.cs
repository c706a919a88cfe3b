using SharpMM.Boot;

namespace SharpMM.Kernel;

/// <summary>
/// What kmain learned from the boot loader, kept for the rest of the kernel
/// (<see cref="KernelMain.Loader"/>). Not the library's <see cref="SharpMM.Boot.BootInfo"/>, which
/// is the input of its boot sequence and is built from this): the Multiboot 1 information structure, the command line,
/// the firmware memory map exactly as reported (unsorted, possibly overlapping: the raw input
/// for the library's sanitizer) and the TSC at the first instruction of the boot stub.
/// The pointers (<see cref="Multiboot"/>, the command line) are direct-map pointers; the
/// addresses inside the Multiboot structures are physical (<see cref="Platform.DirectMap"/>
/// turns one into the other).
/// </summary>
internal unsafe struct LoaderInfo
{
    /// <summary>The Multiboot 1 information structure (never null after kmain's checks).</summary>
    public MultibootInfo* Multiboot;

    /// <summary>The command line (empty when the loader passed none).</summary>
    public CommandLine CommandLine;

    /// <summary>The firmware map as the loader reported it, one entry per mmap record, End exclusive.</summary>
    public MemoryMap Map;

    /// <summary>rdtsc at the boot stub's first instruction.</summary>
    public ulong BootTsc;

    /// <summary>rdtsc at kmain entry.</summary>
    public ulong KmainTsc;

    /// <summary>Reads the Multiboot memory map (flag 6; without it, the mem_lower/mem_upper
    /// fields) into <see cref="Map"/> with the library's parser, which names the bad entry when
    /// the loader's buffer is malformed. Returns the parser's status.</summary>
    public Status ReadMemoryMap(out MapError error)
    {
        Map.Clear();
        Multiboot1Info info = Multiboot1Info.Read((byte*)Multiboot);
        return info.AppendMemoryMap(Platform.DirectMap.ToVirt(info.MmapAddr), ref Map, out error);
    }

    /// <summary>End (exclusive) of the highest usable RAM entry; 0 when there is none.</summary>
    public readonly ulong HighestUsableEnd()
    {
        ulong top = 0;
        for (int i = 0; i < Map.Count; i++)
            if (Map[i].Type == MemoryType.Usable && Map[i].End > top) top = Map[i].End;
        return top;
    }
}
