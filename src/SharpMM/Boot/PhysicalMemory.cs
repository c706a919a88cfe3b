using System;
using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Boot;

/// <summary>
/// Everything the physical memory manager owns after boot, and the boot sequence that builds it:
///
/// <code>
///   sanitized map --(usable RAM)--> memblock.memory
///   reserve: page 0, kernel image, boot info, map buffer, command line, modules
///   memblock --(metadata, top-down)--> frame descriptors + pair bits, low-memory bitmaps
///   memblock free frames below 1 MiB --> low-memory allocator; [4 KiB, 1 MiB) reserved
///   memblock --(every other free range)--> buddy allocator; memblock retires
/// </code>
///
/// The same code runs hosted (simulated RAM) and in the kernel; only the direct map differs.
/// RAM at or above 16 TiB (<see cref="Pfn.ManagedLimit"/>), or above the kernel's own
/// <see cref="BootInfo.PhysicalLimit"/> when that is lower, is refused and counted in
/// <see cref="RefusedRamBytes"/>; the rest of the machine boots.
/// </summary>
public unsafe struct PhysicalMemory
{
    /// <summary>The sanitized map booted from.</summary>
    public MemoryMap Map;
    /// <summary>The bootstrap allocator; retired after boot, kept for its reservation list.</summary>
    public Memblock Memblock;
    /// <summary>The page allocator.</summary>
    public BuddyAllocator Buddy;
    /// <summary>The usable frames below 1 MiB.</summary>
    public LowMemoryAllocator LowMemory;
    /// <summary>Frames of usable RAM the zones hold (reserved and low ones included; refused RAM
    /// and page 0 not): the sum of the zones' present frames.</summary>
    public ulong PresentFrames;
    /// <summary>Usable RAM ignored because it lies at or above <see cref="RefusedFrom"/> (the
    /// ranges are the usable map entries' parts above it).</summary>
    public ulong RefusedRamBytes;
    /// <summary>Where refused RAM starts: <see cref="ManagedLimitBytes"/> (16 TiB), or the boot's
    /// <see cref="BootInfo.PhysicalLimit"/> when that is lower.</summary>
    public ulong RefusedFrom;
    /// <summary>Frames memblock handed to the buddy allocator.</summary>
    public ulong HandedOverFrames;
    /// <summary>Frames handed to the low-memory allocator.</summary>
    public ulong LowFrames;
    /// <summary>True once <see cref="Boot"/> succeeded.</summary>
    public bool IsReady;

    private const ulong LowMemoryEnd = 1UL << 20;

    /// <summary>The first physical address whose frame number does not fit 32 bits (16 TiB):
    /// usable RAM at or above it is refused.</summary>
    public const ulong ManagedLimitBytes = Pfn.ManagedLimit << PageSize.Shift;

    /// <summary>
    /// Runs the boot sequence over a sanitized map. Return: Ok; EmptyMap when no usable RAM
    /// remains below the limit; NoSpace when memblock's tables overflow; OutOfMemory when the
    /// metadata does not fit. On failure <see cref="IsReady"/> stays false and nothing may be
    /// allocated from this object.
    /// </summary>
    public Status Boot(in MemoryMap sanitized, in BootInfo info, DirectMap directMap)
    {
        IsReady = false;
        Map = sanitized;
        PresentFrames = 0;
        RefusedRamBytes = 0;
        RefusedFrom = info.PhysicalLimit != 0 && info.PhysicalLimit < ManagedLimitBytes ? info.PhysicalLimit : ManagedLimitBytes;
        Memblock.Init(directMap, info.DirectMapLimit);

        Status added = AddUsableRam(ref Memblock, in sanitized, RefusedFrom, out RefusedRamBytes);
        if (added != Status.Ok) return added;
        if (Memblock.MemoryCount == 0) return Status.EmptyMap;

        Status st = Memblock.Reserve(0, PageSize.Bytes, ReservedFor.PageZero);
        if (st == Status.Ok) st = ReserveRange(info.KernelImage, ReservedFor.KernelImage);
        if (st == Status.Ok) st = ReserveRange(info.BootInformation, ReservedFor.BootInfo);
        if (st == Status.Ok) st = ReserveRange(info.MapBuffer, ReservedFor.MemoryMap);
        if (st == Status.Ok) st = ReserveRange(info.CommandLine, ReservedFor.BootInfo);
        for (int i = 0; st == Status.Ok && i < info.ModuleCount; i++) st = ReserveRange(info.Modules[i], ReservedFor.Modules);
        if (st != Status.Ok) return st;

        PhysRange* ranges = stackalloc PhysRange[Memblock.Capacity];
        int n = FrameMapRam(in Memblock, ranges, out PresentFrames);
        if (n == 0) return Status.EmptyMap;

        st = LowMemory.Init(ref Memblock);
        if (st != Status.Ok) return st;
        st = Buddy.Init(ref Memblock, new ReadOnlySpan<PhysRange>(ranges, n), info.Layout, info.Pcp);
        if (st != Status.Ok) return st;

        LowFrames = Memblock.ForEachFree(ref LowMemory, LowMemoryEnd >> PageSize.Shift);
        st = Memblock.Reserve(PageSize.Bytes, LowMemoryEnd, ReservedFor.LowMemory);
        if (st != Status.Ok) return st;
        HandedOverFrames = Memblock.HandOver(ref Buddy);
        IsReady = true;
        return Status.Ok;
    }

    /// <summary>
    /// The bytes of frame metadata <see cref="Boot"/> would take from RAM for this sanitized map
    /// (the same RAM: usable ranges below the limit through memblock, aligned inward, frame 0
    /// left out), so a host can refuse a machine it cannot afford before booting it. Return: the
    /// byte count; 0 for a map Boot would refuse before it sizes the metadata (no usable RAM,
    /// more separate ranges than memblock holds).
    /// </summary>
    public static ulong MetadataBytesFor(in MemoryMap sanitized)
    {
        Memblock memblock = default;
        memblock.Init(default);
        if (AddUsableRam(ref memblock, in sanitized, ManagedLimitBytes, out _) != Status.Ok) return 0;
        PhysRange* ranges = stackalloc PhysRange[Memblock.Capacity];
        int n = FrameMapRam(in memblock, ranges, out _);
        return n == 0 ? 0 : FrameMap.MetadataBytesFor(new ReadOnlySpan<PhysRange>(ranges, n));
    }

    // Boot's first step: the map's usable RAM below the limit (16 TiB or the kernel's) into memblock's memory (touching
    // ranges merge there); the usable bytes above the limit are counted as refused.
    private static Status AddUsableRam(ref Memblock memblock, in MemoryMap sanitized, ulong limit, out ulong refusedBytes)
    {
        refusedBytes = 0;
        for (int i = 0; i < sanitized.Count; i++)
        {
            MemoryMapEntry e = sanitized[i];
            if (e.Type != MemoryType.Usable) continue;
            ulong start = e.Start, end = e.End;
            if (end > limit) { refusedBytes += end - (start > limit ? start : limit); end = start > limit ? start : limit; }
            if (end <= start) continue;
            Status s = memblock.AddMemory(start, end);
            if (s != Status.Ok) return s;
        }
        return Status.Ok;
    }

    // The RAM the frame map describes: memblock's memory aligned inward to whole frames, frame 0
    // left out (page 0 is never managed). Writes the ranges (at most Memblock.Capacity) and
    // returns their count; frames = the frames they hold.
    private static int FrameMapRam(in Memblock memblock, PhysRange* ranges, out ulong frames)
    {
        int n = 0;
        frames = 0;
        for (int i = 0; i < memblock.MemoryCount; i++)
        {
            MemblockRegion r = memblock.Memory(i);
            ulong s = (r.Start + PageSize.OffsetMask) >> PageSize.Shift, e = r.End >> PageSize.Shift;
            if (s == 0) s = 1;
            if (e <= s) continue;
            ranges[n++] = PhysRange.FromBounds(s << PageSize.Shift, e << PageSize.Shift);
            frames += e - s;
        }
        return n;
    }

    private Status ReserveRange(PhysRange r, ReservedFor owner) =>
        r.IsEmpty ? Status.Ok : Memblock.Reserve(r.Start, r.End, owner);
}
