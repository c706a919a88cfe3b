using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Diagnostics;

namespace SharpMM.Heap;

/// <summary>
/// The heap's statistics in the forms kernel engineers read: a /proc/slabinfo table (one line
/// per live cache), /proc/meminfo lines (Slab, kmalloc large blocks, heap metadata), the debug
/// mode's leak report (allocation sites with live objects and bytes) and event log; and the
/// same figures as JSON for the boot report (<see cref="WriteJson"/> emits the two members
/// "slabinfo" and "meminfo_heap" into the object being written).
///
/// The slabinfo table is Linux's version 2.1 exactly (mm/slab_common.c's header and
/// "%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu"), so tools
/// that parse it read this one: objsize is the slot (the object with debug red zones and
/// trailer, Linux's s->size), the tunables are 0 as SLUB prints them, sharedavail is 0. What
/// Linux has no column for follows in a separate table (<see cref="WriteSlabExtras"/>): the
/// size asked for and cpu_cached, objects parked in per-CPU magazines (free, but not in their
/// slabs; counted in active_objs as SLUB counts its per-CPU objects).
/// </summary>
public static unsafe class HeapReport
{
    /// <summary>Writes the slabinfo table (version 2.1).</summary>
    public static void WriteSlabinfo<TSink>(ref TextWriter<TSink> w, in HeapPages pages) where TSink : struct, ITextSink
    {
        w.Line("slabinfo - version: 2.1");
        w.Line("# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>");
        for (SlabCache* c = pages.FirstCache; c != null; c = c->NextCache)
        {
            c->WriteName(ref w);
            w.Spaces(17 - c->NameLength);
            w.Char(' '); w.DecPad(c->ActiveObjects, 6);
            w.Char(' '); w.DecPad(c->TotalObjects, 6);
            w.Char(' '); w.DecPad(c->SlotSize, 6);
            w.Char(' '); w.DecPad(c->ObjectsPerSlab, 4);
            w.Char(' '); w.DecPad(c->PagesPerSlab, 4);
            w.Str(" : tunables    0    0    0");
            w.Str(" : slabdata ");
            w.DecPad(c->ActiveSlabs, 6);
            w.Char(' '); w.DecPad(c->Slabs, 6);
            w.Char(' '); w.DecPad(0, 6);
            w.Line();
        }
    }

    /// <summary>Writes what slabinfo 2.1 has no column for, one line per cache: the object
    /// size asked for and the objects cached per CPU.</summary>
    public static void WriteSlabExtras<TSink>(ref TextWriter<TSink> w, in HeapPages pages) where TSink : struct, ITextSink
    {
        w.Line("# name            <object_size> <cpu_cached>");
        for (SlabCache* c = pages.FirstCache; c != null; c = c->NextCache)
        {
            c->WriteName(ref w);
            w.Spaces(17 - c->NameLength);
            w.Char(' '); w.DecPad(c->ObjectSize, 13);
            w.Char(' '); w.DecPad(c->CpuCachedObjects, 12);
            w.Line();
        }
    }

    /// <summary>Writes the heap's /proc/meminfo lines (kB, as Linux prints them).</summary>
    public static void WriteMeminfo<TSink>(ref TextWriter<TSink> w, in HeapPages pages) where TSink : struct, ITextSink
    {
        Kb(ref w, "Slab:", pages.SlabPages << PageSize.Shift);
        Kb(ref w, "SlabEmpty:", EmptySlabPages(in pages) << PageSize.Shift);
        Kb(ref w, "KmallocLarge:", pages.LargePages << PageSize.Shift);
        Kb(ref w, "KmallocLargeUsed:", pages.LargeBytes);
        Kb(ref w, "HeapMetadata:", pages.MetadataPages << PageSize.Shift);
        w.StrPad("KmallocLargeBlocks:", 20); w.DecPad(pages.LargeCount, 9); w.Line();
    }

    private static void Kb<TSink>(ref TextWriter<TSink> w, string label, ulong bytes) where TSink : struct, ITextSink
    {
        w.StrPad(label, 20);
        w.DecPad((bytes + 1023) / 1024, 9);
        w.Line(" kB");
    }

    /// <summary>Pages of empty slabs kept by the caches (given back by a shrink).</summary>
    public static ulong EmptySlabPages(in HeapPages pages)
    {
        ulong n = 0;
        for (SlabCache* c = pages.FirstCache; c != null; c = c->NextCache) n += c->EmptySlabs * c->PagesPerSlab;
        return n;
    }

    /// <summary>Objects handed out by all caches and their slot bytes.</summary>
    public static void ActiveTotals(in HeapPages pages, out ulong objects, out ulong slotBytes)
    {
        objects = 0; slotBytes = 0;
        for (SlabCache* c = pages.FirstCache; c != null; c = c->NextCache)
        {
            objects += c->ActiveObjects;
            slotBytes += c->ActiveObjects * c->SlotSize;
        }
    }

    /// <summary>Writes slabinfo, the extras table and meminfo.</summary>
    public static void WriteText<TSink>(ref TextWriter<TSink> w, in HeapPages pages) where TSink : struct, ITextSink
    {
        WriteSlabinfo(ref w, in pages);
        w.Line();
        w.Line("slab caches, beyond slabinfo:");
        WriteSlabExtras(ref w, in pages);
        w.Line();
        WriteMeminfo(ref w, in pages);
    }

    /// <summary>
    /// Emits <c>"slabinfo": [ {name, active_objs, num_objs, objsize, slot_size, objperslab,
    /// pagesperslab, active_slabs, num_slabs, partial_slabs, cpu_cached}, ... ]</c> and <c>"meminfo_heap":
    /// {slab_bytes, slab_empty_bytes, kmalloc_large_bytes, kmalloc_large_used_bytes,
    /// kmalloc_large_blocks, metadata_bytes, caches, reclaims, debug}</c> as members of the JSON
    /// object <paramref name="j"/> is writing.
    /// </summary>
    public static void WriteJson<TSink>(ref JsonWriter<TSink> j, ref TextWriter<TSink> w, in HeapPages pages) where TSink : struct, ITextSink
    {
        j.BeginArray(ref w, "slabinfo");
        ulong caches = 0;
        for (SlabCache* c = pages.FirstCache; c != null; c = c->NextCache)
        {
            caches++;
            j.BeginObject(ref w);
            j.Number(ref w, "active_objs", c->ActiveObjects);
            j.Number(ref w, "num_objs", c->TotalObjects);
            j.Number(ref w, "objsize", c->ObjectSize);
            j.Number(ref w, "slot_size", c->SlotSize);
            j.Number(ref w, "objperslab", c->ObjectsPerSlab);
            j.Number(ref w, "pagesperslab", c->PagesPerSlab);
            j.Number(ref w, "active_slabs", c->ActiveSlabs);
            j.Number(ref w, "num_slabs", c->Slabs);
            j.Number(ref w, "partial_slabs", c->PartialSlabs);
            j.Number(ref w, "cpu_cached", c->CpuCachedObjects);
            // The name is bytes kept in the cache (the writer takes only strings): written as
            // the last member, after the comma the writer would have put. Names hold no quote,
            // backslash or control character (SlabCache.Create replaces them).
            w.Str(",\"name\":\"");
            c->WriteName(ref w);
            w.Char('"');
            j.EndObject(ref w);
        }
        j.EndArray(ref w);
        j.BeginObject(ref w, "meminfo_heap");
        j.Number(ref w, "slab_bytes", pages.SlabPages << PageSize.Shift);
        j.Number(ref w, "slab_empty_bytes", EmptySlabPages(in pages) << PageSize.Shift);
        j.Number(ref w, "kmalloc_large_bytes", pages.LargePages << PageSize.Shift);
        j.Number(ref w, "kmalloc_large_used_bytes", pages.LargeBytes);
        j.Number(ref w, "kmalloc_large_blocks", pages.LargeCount);
        j.Number(ref w, "metadata_bytes", pages.MetadataPages << PageSize.Shift);
        j.Number(ref w, "caches", caches);
        j.Number(ref w, "reclaims", pages.Reclaims);
        j.Bool(ref w, "debug", pages.IsDebug);
        j.EndObject(ref w);
        if (pages.Debug != null) WriteLeaksJson(ref j, ref w, in pages);
    }

    /// <summary>
    /// Debug mode only: <c>"leak_report": {live_objects, live_bytes, sites: [{live_objects,
    /// live_bytes, allocations, site}], events: {total, kinds: [{kind, count}]}}</c>, the leak
    /// report and the findings of <see cref="WriteLeaks"/> and <see cref="WriteEvents"/>.
    /// </summary>
    public static void WriteLeaksJson<TSink>(ref JsonWriter<TSink> j, ref TextWriter<TSink> w, in HeapPages pages) where TSink : struct, ITextSink
    {
        HeapDebug* dbg = pages.Debug;
        if (dbg == null) return;
        dbg->Totals(out ulong objects, out ulong bytes, out _);
        j.BeginObject(ref w, "leak_report");
        j.Number(ref w, "live_objects", objects);
        j.Number(ref w, "live_bytes", bytes);
        j.BeginArray(ref w, "sites");
        for (uint i = 0; i < HeapDebug.SiteCapacity; i++)
        {
            AllocationSite site = dbg->SiteAt(i);
            if (site.LiveObjects == 0) continue;
            j.BeginObject(ref w);
            j.Number(ref w, "live_objects", site.LiveObjects);
            j.Number(ref w, "live_bytes", site.LiveBytes);
            j.Number(ref w, "allocations", site.Allocations);
            // The site is bytes kept by the debug state (file name tail and line): written as
            // the last member, after the comma the writer would have put, as slab names are.
            w.Str(",\"site\":\"");
            dbg->WriteSite(ref w, i);
            w.Char('"');
            j.EndObject(ref w);
        }
        j.EndArray(ref w);
        j.BeginObject(ref w, "events");
        j.Number(ref w, "total", dbg->EventTotal);
        j.BeginArray(ref w, "kinds");
        for (int k = 0; k < HeapEventKindNames.Count; k++)
        {
            ulong n = dbg->Count((HeapEventKind)k);
            if (n == 0) continue;
            j.BeginObject(ref w);
            j.String(ref w, "kind", HeapEventKindNames.Name((HeapEventKind)k));
            j.Number(ref w, "count", n);
            j.EndObject(ref w);
        }
        j.EndArray(ref w);
        j.EndObject(ref w);
        j.EndObject(ref w);
    }

    /// <summary>
    /// The leak report (debug mode): every allocation site with live allocations, its file and
    /// line, live objects and live requested bytes, and the totals. In fast mode one line says
    /// that sites are not tracked.
    /// </summary>
    public static void WriteLeaks<TSink>(ref TextWriter<TSink> w, in HeapPages pages) where TSink : struct, ITextSink
    {
        HeapDebug* dbg = pages.Debug;
        if (dbg == null) { w.Line("leak report: allocation sites are tracked in debug mode only"); return; }
        dbg->Totals(out ulong objects, out ulong bytes, out uint sites);
        w.Str("leak report: "); w.Dec(objects); w.Str(" live allocations, "); w.Dec(bytes); w.Str(" bytes, from ");
        w.Dec(sites); w.Line(sites == 1 ? " site" : " sites");
        for (uint i = 0; i < HeapDebug.SiteCapacity; i++)
        {
            AllocationSite s = dbg->SiteAt(i);
            if (s.LiveObjects == 0) continue;
            w.Str("  ");
            int width = (int)s.FileLength;
            dbg->WriteSite(ref w, i);
            if (i != 0) width += 1 + TextWriter<TSink>.DecimalWidth(s.Line);
            w.Spaces(36 - width);
            w.DecPad(s.LiveObjects, 8); w.Str(" objects");
            w.DecPad(s.LiveBytes, 12); w.Str(" bytes");
            w.DecPad(s.Allocations, 10); w.Line(" allocations");
        }
    }

    /// <summary>The debug mode's findings: counts per kind and the most recent events.</summary>
    public static void WriteEvents<TSink>(ref TextWriter<TSink> w, in HeapPages pages) where TSink : struct, ITextSink
    {
        HeapDebug* dbg = pages.Debug;
        if (dbg == null) { w.Line("heap events: recorded in debug mode only"); return; }
        w.Str("heap events: "); w.Dec(dbg->EventTotal); w.Line();
        for (int k = 0; k < HeapEventKindNames.Count; k++)
        {
            ulong n = dbg->Count((HeapEventKind)k);
            if (n == 0) continue;
            w.Str("  "); w.StrPad(HeapEventKindNames.Name((HeapEventKind)k), 24); w.Dec(n); w.Line();
        }
        for (int back = 0; dbg->TryGetEvent(back, out HeapEvent e); back++)
        {
            w.Str("  "); w.Str(HeapEventKindNames.Name(e.Kind)); w.Str(" at "); w.Hex(e.Address);
            w.Str(" ("); w.Str(StatusNames.Name(e.Status)); w.Str("), allocated at ");
            dbg->WriteSite(ref w, e.AllocSite);
            w.Str(", freed/seen at ");
            dbg->WriteSite(ref w, e.FreeSite);
            w.Line();
        }
    }
}
