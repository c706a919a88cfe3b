using SharpMM.Addressing;
using SharpMM.Diagnostics;
using SharpMM.Concurrency;
using SharpMM.Physical;

namespace SharpMM.Boot;

/// <summary>
/// What the memory manager did at boot, in the forms kernel engineers read: the sanitized
/// e820 map, memblock's reservations, zone ranges, /proc/zoneinfo- and /proc/buddyinfo-style
/// tables and a /proc/meminfo summary; and the same facts as one JSON object. The hosted CLI and
/// the kernel print through this one type, so their outputs can be compared line for line.
/// </summary>
public static class BootReport
{
    /// <summary>The version of the JSON layout written by <see cref="WriteJson{TSink}(ref TextWriter{TSink}, in PhysicalMemory)"/>.</summary>
    public const ulong SchemaVersion = 1;

    /// <summary>Writes the human-readable report.</summary>
    public static void WriteText<TSink>(ref TextWriter<TSink> w, in PhysicalMemory pm) where TSink : struct, ITextSink
    {
        w.Line("BIOS-provided physical RAM map (sanitized):");
        BootLogWriter.Write(ref w, in pm.Map);
        if (pm.RefusedRamBytes != 0) WriteRefused(ref w, in pm);
        w.Line();
        pm.Memblock.Dump(ref w);
        w.Line();

        WriteZoneRanges(ref w, in pm);
        w.Str("present frames: "); w.Dec(pm.PresentFrames); w.Str(" ("); w.Size(pm.PresentFrames << PageSize.Shift); w.Line(")");
        ulong hundredths = pm.PresentFrames == 0 ? 0 : pm.Buddy.Map.MetadataBytes * 100 / pm.PresentFrames;
        w.Str("frame metadata: "); w.Size(pm.Buddy.Map.MetadataBytes); w.Str(" in "); w.Dec(pm.Buddy.Map.SectionCount);
        w.Str(" section slots, "); w.Dec(hundredths / 100); w.Char('.'); if (hundredths % 100 < 10) w.Char('0'); w.Dec(hundredths % 100);
        w.Line(" bytes per present frame");
        w.Line();

        w.Line("zoneinfo:");
        WriteZoneinfo(ref w, in pm);
        w.Str("low memory (below 1 MiB, own allocator): "); w.Dec(pm.LowMemory.FreeFrames); w.Line(" free frames");
        w.Line();

        w.Line("buddyinfo (free blocks per order 0..10):");
        for (int z = 0; z < pm.Buddy.ZoneCount; z++)
        {
            Zone zone = pm.Buddy.GetZone(z);
            w.Str("Node 0, zone "); w.StrPad(zone.Name, 8);
            for (uint o = 0; o <= BuddyAllocator.MaxOrderValue; o++) w.DecPad(pm.Buddy.FreeBlocks(z, o), 7);
            w.Line();
        }
        w.Line();

        w.Line("meminfo:");
        Kb(ref w, "MemTotal:", pm.Buddy.ManagedFrames + pm.LowFrames);
        Kb(ref w, "MemFree:", pm.Buddy.FreeFrames + pm.LowMemory.FreeFrames);
        Kb(ref w, "Present:", pm.PresentFrames);
        Kb(ref w, "Reserved:", pm.PresentFrames - pm.Buddy.ManagedFrames - pm.LowFrames);
        Kb(ref w, "LowMemFree:", pm.LowMemory.FreeFrames);
        Kb(ref w, "PerCpuCached:", PerCpuCachedFrames(in pm));
    }

    private static ulong PerCpuCachedFrames(in PhysicalMemory pm)
    {
        ulong pcp = 0;
        for (int z = 0; z < pm.Buddy.ZoneCount; z++) pcp += pm.Buddy.CachedFrames(z);
        return pcp;
    }

    /// <summary>
    /// Linux's "Zone ranges:" lines (mm/mm_init.c): each zone from where the previous one ends
    /// (the first from the lowest frame of RAM) to its limit, cut at the end of RAM only where
    /// RAM ends first; "empty" when nothing is left for it.
    /// <code>
    ///   Zone ranges:
    ///     DMA      [mem 0x0000000000001000-0x0000000000ffffff]
    ///     DMA32    [mem 0x0000000001000000-0x00000000ffffffff]
    ///     Normal   [mem 0x0000000100000000-0x000000023fffffff]
    /// </code>
    /// </summary>
    public static void WriteZoneRanges<TSink>(ref TextWriter<TSink> w, in PhysicalMemory pm) where TSink : struct, ITextSink
    {
        w.Line("Zone ranges:");
        for (int z = 0; z < pm.Buddy.ZoneCount; z++)
        {
            w.Str("  "); w.StrPad(pm.Buddy.GetZone(z).Name, 9);
            ZoneRange(in pm, z, out ulong start, out ulong end);
            if (end <= start) { w.Line("empty"); continue; }
            w.Str("[mem "); w.Hex(start << PageSize.Shift, 16); w.Char('-');
            w.Hex((end << PageSize.Shift) - 1, 16); w.Line("]");
        }
    }

    /// <summary>Zone <paramref name="z"/>'s frames as Linux reckons them (mm/mm_init.c): from
    /// the previous zone's end (the first zone from the lowest frame of RAM) to the zone's limit
    /// or the end of RAM, whichever is lower; empty (end == start) when nothing is left.</summary>
    public static void ZoneRange(in PhysicalMemory pm, int z, out ulong startPfn, out ulong endPfn)
    {
        ulong lowest = ulong.MaxValue, highest = 0;
        for (int i = 0; i < pm.Buddy.ZoneCount; i++)
        {
            Zone zone = pm.Buddy.GetZone(i);
            if (zone.PresentFrames == 0) continue;
            if (zone.SpannedStartPfn < lowest) lowest = zone.SpannedStartPfn;
            if (zone.SpannedEndPfn > highest) highest = zone.SpannedEndPfn;
        }
        startPfn = endPfn = 0;
        if (highest == 0) return;
        ulong start = lowest;
        for (int i = 0; i <= z; i++)
        {
            ulong limit = pm.Buddy.GetZone(i).EndPfn;
            ulong end = limit < highest ? limit : highest;
            if (end < start) end = start;
            startPfn = start; endPfn = end;
            start = end;
        }
    }

    /// <summary>
    /// A /proc/zoneinfo block per zone, in its layout and with its names: free pages, spanned
    /// (the frames of the zone's range as "Zone ranges" prints it, holes included), present (RAM
    /// frames), managed (frames the buddy allocator was given), the per-CPU pageset, start_pfn
    /// (the range's first frame). There are no watermark lines: this allocator has no watermarks.
    /// </summary>
    public static void WriteZoneinfo<TSink>(ref TextWriter<TSink> w, in PhysicalMemory pm) where TSink : struct, ITextSink
    {
        for (int z = 0; z < pm.Buddy.ZoneCount; z++)
        {
            Zone zone = pm.Buddy.GetZone(z);
            ZoneRange(in pm, z, out ulong start, out ulong end);
            w.Str("Node 0, zone "); w.Spaces(8 - zone.Name.Length); w.Line(zone.Name);
            w.Str("  pages free     "); w.Dec(pm.Buddy.ZoneFreeFrames(z)); w.Line();
            w.Str("        spanned  "); w.Dec(end - start); w.Line();
            w.Str("        present  "); w.Dec(zone.PresentFrames); w.Line();
            w.Str("        managed  "); w.Dec(zone.ManagedFrames); w.Line();
            w.Line("  pagesets");
            for (int cpu = 0; cpu < Cpu.Online; cpu++)
            {
                w.Str("    cpu: "); w.Dec((ulong)cpu); w.Line();
                w.Str("              count: "); w.Dec(pm.Buddy.CachedFrames(z, cpu)); w.Line();
                w.Str("              high:  "); w.Dec(zone.PcpHigh); w.Line();
                w.Str("              batch: "); w.Dec(zone.PcpBatch); w.Line();
            }
            w.Str("  start_pfn:           "); w.Dec(start); w.Line();
        }
    }

    // Where refused RAM starts (a PhysicalMemory that never booted: the library's own limit).
    private static ulong RefusedFrom(in PhysicalMemory pm) => pm.RefusedFrom != 0 ? pm.RefusedFrom : PhysicalMemory.ManagedLimitBytes;

    // One line per usable entry that reaches past the limit, naming the part refused, then the total.
    private static void WriteRefused<TSink>(ref TextWriter<TSink> w, in PhysicalMemory pm) where TSink : struct, ITextSink
    {
        ulong limit = RefusedFrom(in pm);
        for (int i = 0; i < pm.Map.Count; i++)
        {
            MemoryMapEntry e = pm.Map[i];
            if (e.Type != MemoryType.Usable || e.End <= limit) continue;
            ulong start = e.Start > limit ? e.Start : limit;
            w.Str("warning: RAM [mem "); w.Hex(start, 16); w.Char('-'); w.Hex(e.End - 1, 16);
            if (limit == PhysicalMemory.ManagedLimitBytes) w.Line("] refused: at or above 16 TiB (frame numbers must fit 32 bits)");
            else { w.Str("] refused: at or above "); w.Size(limit); w.Line(" (the kernel's page tables reach no higher)"); }
        }
        w.Str("warning: "); w.Size(pm.RefusedRamBytes); w.Line(" of RAM refused in all; present frames, zones and meminfo leave it out");
    }

    private static void Kb<TSink>(ref TextWriter<TSink> w, string label, ulong frames) where TSink : struct, ITextSink
    {
        w.StrPad(label, 16); w.DecPad(frames * 4, 12); w.Line(" kB");
    }

    /// <summary>
    /// Writes one JSON object (no trailing newline) with: schema_version, map [{start, end, type}]
    /// (end exclusive), present_frames, refused_ram_bytes, refused_ram [{start, end}], zones [{name,
    /// start_pfn, end_pfn, present_frames, managed_frames, free_frames, range_start_pfn,
    /// spanned_frames}] (start/end: the frames from the first to the last RAM; range and spanned:
    /// the zone as "Zone ranges" and zoneinfo print it), buddyinfo [{zone, free_blocks[11]}],
    /// memblock_memory [{start, end}], reserved [{start, end, owner}], low_memory {free_frames,
    /// managed_frames}, meminfo {total_kb, free_kb, present_kb, reserved_kb, low_mem_free_kb,
    /// per_cpu_cached_kb}, metadata_bytes. The layout is described by
    /// docs/schemas/boot.schema.json; <see cref="SchemaVersion"/> changes when a member changes
    /// meaning or goes away.
    /// </summary>
    public static void WriteJson<TSink>(ref TextWriter<TSink> w, in PhysicalMemory pm) where TSink : struct, ITextSink
    {
        JsonWriter<TSink> j = default;
        j.BeginObject(ref w);
        WriteJsonMembers(ref j, ref w, in pm);
        j.EndObject(ref w);
    }

    /// <summary>The members of <see cref="WriteJson"/>'s object, for a report that adds its own
    /// (the heap's and the locks': SharpMM.Hosted's MachineHeap, the kernel's PhysicalBoot).</summary>
    public static void WriteJsonMembers<TSink>(ref JsonWriter<TSink> j, ref TextWriter<TSink> w, in PhysicalMemory pm) where TSink : struct, ITextSink
    {
        j.Number(ref w, "schema_version", SchemaVersion);
        j.BeginArray(ref w, "map");
        for (int i = 0; i < pm.Map.Count; i++)
        {
            MemoryMapEntry e = pm.Map[i];
            j.BeginObject(ref w);
            j.Number(ref w, "start", e.Start);
            j.Number(ref w, "end", e.End);
            j.String(ref w, "type", MemoryTypeNames.JsonName(e.Type));
            j.EndObject(ref w);
        }
        j.EndArray(ref w);
        j.Number(ref w, "present_frames", pm.PresentFrames);
        j.Number(ref w, "refused_ram_bytes", pm.RefusedRamBytes);
        j.BeginArray(ref w, "refused_ram");
        ulong refusedFrom = RefusedFrom(in pm);
        for (int i = 0; i < pm.Map.Count; i++)
        {
            MemoryMapEntry e = pm.Map[i];
            if (e.Type != MemoryType.Usable || e.End <= refusedFrom) continue;
            j.BeginObject(ref w);
            j.Number(ref w, "start", e.Start > refusedFrom ? e.Start : refusedFrom);
            j.Number(ref w, "end", e.End);
            j.EndObject(ref w);
        }
        j.EndArray(ref w);
        j.BeginArray(ref w, "zones");
        for (int z = 0; z < pm.Buddy.ZoneCount; z++)
        {
            Zone zone = pm.Buddy.GetZone(z);
            j.BeginObject(ref w);
            j.String(ref w, "name", zone.Name);
            j.Number(ref w, "start_pfn", zone.SpannedStartPfn);
            j.Number(ref w, "end_pfn", zone.SpannedEndPfn);
            j.Number(ref w, "present_frames", zone.PresentFrames);
            j.Number(ref w, "managed_frames", zone.ManagedFrames);
            j.Number(ref w, "free_frames", pm.Buddy.ZoneFreeFrames(z));
            ZoneRange(in pm, z, out ulong rangeStart, out ulong rangeEnd);
            j.Number(ref w, "range_start_pfn", rangeStart);
            j.Number(ref w, "spanned_frames", rangeEnd - rangeStart);
            j.EndObject(ref w);
        }
        j.EndArray(ref w);
        j.BeginArray(ref w, "buddyinfo");
        for (int z = 0; z < pm.Buddy.ZoneCount; z++)
        {
            j.BeginObject(ref w);
            j.String(ref w, "zone", pm.Buddy.GetZone(z).Name);
            j.BeginArray(ref w, "free_blocks");
            for (uint o = 0; o <= BuddyAllocator.MaxOrderValue; o++) j.Number(ref w, pm.Buddy.FreeBlocks(z, o));
            j.EndArray(ref w);
            j.EndObject(ref w);
        }
        j.EndArray(ref w);
        j.BeginArray(ref w, "memblock_memory");
        for (int i = 0; i < pm.Memblock.MemoryCount; i++)
        {
            MemblockRegion r = pm.Memblock.Memory(i);
            j.BeginObject(ref w);
            j.Number(ref w, "start", r.Start);
            j.Number(ref w, "end", r.End);
            j.EndObject(ref w);
        }
        j.EndArray(ref w);
        j.BeginArray(ref w, "reserved");
        for (int i = 0; i < pm.Memblock.ReservedCount; i++)
        {
            MemblockRegion r = pm.Memblock.Reserved(i);
            j.BeginObject(ref w);
            j.Number(ref w, "start", r.Start);
            j.Number(ref w, "end", r.End);
            j.String(ref w, "owner", ReservedForNames.JsonName(r.Owner));
            j.EndObject(ref w);
        }
        j.EndArray(ref w);
        j.BeginObject(ref w, "low_memory");
        j.Number(ref w, "managed_frames", pm.LowFrames);
        j.Number(ref w, "free_frames", pm.LowMemory.FreeFrames);
        j.EndObject(ref w);
        j.BeginObject(ref w, "meminfo");
        j.Number(ref w, "total_kb", (pm.Buddy.ManagedFrames + pm.LowFrames) * 4);
        j.Number(ref w, "free_kb", (pm.Buddy.FreeFrames + pm.LowMemory.FreeFrames) * 4);
        j.Number(ref w, "present_kb", pm.PresentFrames * 4);
        j.Number(ref w, "reserved_kb", (pm.PresentFrames - pm.Buddy.ManagedFrames - pm.LowFrames) * 4);
        j.Number(ref w, "low_mem_free_kb", pm.LowMemory.FreeFrames * 4);
        j.Number(ref w, "per_cpu_cached_kb", PerCpuCachedFrames(in pm) * 4);
        j.EndObject(ref w);
        j.Number(ref w, "metadata_bytes", pm.Buddy.Map.MetadataBytes);
    }
}
