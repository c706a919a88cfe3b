using SharpMM.Boot;

namespace SharpMM.Kernel;

/// <summary>
/// What kmain learned from the boot loader, kept for the rest of the kernel
/// (<see cref="KernelMain.Loader"/>). Not the library's <see cref="SharpMM.Boot.BootInfo"/>, which
/// is the input of its boot sequence and is built from this): the Multiboot 1 information structure, the command line,
/// the firmware memory map exactly as reported (unsorted, possibly overlapping: the raw input
/// for the library's sanitizer) and the TSC at the first instruction of the boot stub.
/// All addresses are physical and, below <see cref="BootDirectMap.End"/>, also virtual.
/// </summary>
internal unsafe struct LoaderInfo
{
    /// <summary>The Multiboot 1 information structure (never null after kmain's checks).</summary>
    public MultibootInfo* Multiboot;

    /// <summary>The command line (empty when the loader passed none).</summary>
    public CommandLine CommandLine;

    /// <summary>The firmware map as the loader reported it, one entry per mmap record with a
    /// nonzero length, End exclusive.</summary>
    public MemoryMap Map;

    /// <summary>Records that did not fit <see cref="Map"/> (it holds <see cref="MemoryMap.Capacity"/>).</summary>
    public int DroppedEntries;

    /// <summary>rdtsc at _start32.</summary>
    public ulong BootTsc;

    /// <summary>rdtsc at kmain entry.</summary>
    public ulong KmainTsc;

    /// <summary>Reads the Multiboot memory map (flag 6) into <see cref="Map"/>. Each record is
    /// { uint size; ulong base; ulong length; uint type }, the next one at +size+4. A record whose
    /// end would pass 2^64 is clamped to end at ulong.MaxValue.</summary>
    public void ReadMemoryMap()
    {
        Map.Clear();
        DroppedEntries = 0;
        if ((Multiboot->Flags & MultibootInfo.FlagMemoryMap) == 0) return;
        byte* p = (byte*)(ulong)Multiboot->MmapAddr;
        byte* end = p + Multiboot->MmapLength;
        while (p + 24 <= end)
        {
            uint size = *(uint*)p;
            ulong start = *(ulong*)(p + 4);
            ulong length = *(ulong*)(p + 12);
            uint type = *(uint*)(p + 20);
            if (length != 0)
            {
                ulong last = length > ulong.MaxValue - start ? ulong.MaxValue : start + length;
                if (Map.Add(start, last, (MemoryType)type) != Status.Ok) DroppedEntries++;
            }
            if (size < 20) break;   // malformed: the loop could not advance past this record
            p += size + 4;
        }
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
