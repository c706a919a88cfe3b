using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using SharpMM.Physical;

namespace SharpMM.Hosted.Trace;

/// <summary>What an import read: events per Linux event name, and what it left out.</summary>
public sealed class ImportResult
{
    /// <summary>The trace written.</summary>
    public required TraceWriter Trace { get; init; }
    /// <summary>Lines read.</summary>
    public ulong Lines { get; set; }
    /// <summary>kmem events read, by the Linux event name (mm_page_alloc, kfree, ...), including
    /// those that became no event (see the other counts).</summary>
    public SortedDictionary<string, ulong> Events { get; } = new(StringComparer.Ordinal);
    /// <summary>Lines of other events (not kmem's), by event name.</summary>
    public SortedDictionary<string, ulong> OtherEvents { get; } = new(StringComparer.Ordinal);
    /// <summary>Header and comment lines (#..., cpus=N, version = N, CPU N is empty, lost events).</summary>
    public ulong HeaderLines { get; set; }
    /// <summary>Frees of a block or object not allocated within the trace (allocated before it began).</summary>
    public ulong UnmatchedFrees { get; set; }
    /// <summary>Allocations of a page or pointer already live in the trace (its free was not traced); the earlier block is taken as freed.</summary>
    public ulong UnmatchedAllocations { get; set; }
    /// <summary>kfree (or kmem_cache_free) of NULL.</summary>
    public ulong NullFrees { get; set; }
    /// <summary>Page allocations that failed on the traced machine (no page).</summary>
    public ulong FailedAllocations { get; set; }
    /// <summary>Page frees whose order differs from the allocation's (the allocation's is kept).</summary>
    public ulong OrderMismatches { get; set; }
}

/// <summary>A line of a Linux trace that is not what a kmem event line should be.</summary>
public sealed class TraceImportException : Exception
{
    /// <summary>1-based line number.</summary>
    public long Line { get; }

    /// <summary>What is wrong with line <paramref name="line"/>.</summary>
    public TraceImportException(long line, string message) : base($"line {line}: {message}") { Line = line; }
}

/// <summary>
/// Reads the text of `trace-cmd report` or of /sys/kernel/tracing/trace for Linux's kmem events
/// (mm_page_alloc, mm_page_free, mm_page_free_batched, kmalloc, kfree, kmem_cache_alloc,
/// kmem_cache_free; also kmalloc_node and kmem_cache_alloc_node of kernels before 6.1) and writes
/// them as a trace. A line is "TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: FIELDS"; the fields are
/// taken by name (key=value), so kernels that add or reorder fields read alike. The source
/// machine's pfns and (hashed) pointers become dense keys: each live block gets the lowest free
/// aligned place of its order in a simulated machine, each live object the lowest free id, so
/// the machine needs only what the trace keeps live at its peak. Frees of what was allocated
/// before the trace began, kfree(NULL) and lines of other events are counted, not errors; a line
/// that is neither a header nor an event line, or a kmem event with a missing or bad field, is a
/// <see cref="TraceImportException"/> naming the line.
/// </summary>
public static class LinuxTraceImport
{
    /// <summary>The kmem events read (the older kernels' _node variants included).</summary>
    public static readonly string[] KmemEvents =
        { "mm_page_alloc", "mm_page_free", "mm_page_free_batched", "kmalloc", "kfree", "kmem_cache_alloc", "kmem_cache_free", "kmalloc_node", "kmem_cache_alloc_node" };

    /// <summary>First frame of the simulated machine of an imported trace: 4 MiB, so that the machine is whole blocks of the highest order (frame 0 is never managed).</summary>
    public const ulong BasePfn = 1024;

    /// <summary>Imports the text read from <paramref name="reader"/>.</summary>
    public static ImportResult Import(TextReader reader)
    {
        var placer = new BlockPlacer();
        var blocks = new Dictionary<ulong, (ulong Key, uint Order)>(); // source pfn -> place
        var objects = new Dictionary<ulong, uint>();                   // source pointer -> id
        var sites = new Dictionary<string, uint>(StringComparer.Ordinal);
        var caches = new Dictionary<string, uint>(StringComparer.Ordinal);
        var events = new List<PendingEvent>();
        var res = new ImportResult { Trace = new TraceWriter(BasePfn, 1, TraceHeader.FlagImported) };
        var writer = res.Trace;
        long lineNo = 0;
        string? line;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        while ((line = reader.ReadLine()) != null)
        {
            lineNo++;
            res.Lines++;
            if (IsHeader(line)) { res.HeaderLines++; continue; }
            if (!SplitEventLine(line, out string name, out ReadOnlySpan<char> rest))
                throw new TraceImportException(lineNo, $"not a trace event line (expected 'TASK-PID [CPU] TIMESTAMP: EVENT: FIELDS'): {Shorten(line)}");
            if (Array.IndexOf(KmemEvents, name) < 0)
            {
                res.OtherEvents[name] = res.OtherEvents.GetValueOrDefault(name) + 1;
                continue;
            }
            res.Events[name] = res.Events.GetValueOrDefault(name) + 1;
            Fields(rest, fields);
            switch (name)
            {
                case "mm_page_alloc":
                {
                    ulong pfn = PfnOf(fields, lineNo, name);
                    uint order = (uint)Number(fields, "order", lineNo, name, 0, BuddyAllocator.MaxOrderValue);
                    // A failed allocation: Linux prints page=(null) or 0 and pfn 0 (older kernels -1).
                    if (pfn == 0 || pfn == ulong.MaxValue || IsNullPointer(fields, "page")) { res.FailedAllocations++; break; }
                    if (blocks.Remove(pfn, out var old))
                    {
                        res.UnmatchedAllocations++;
                        events.Add(PendingEvent.Page(TraceEventKind.PageFree, old.Key, old.Order));
                        placer.Free(old.Key, old.Order);
                    }
                    ulong key = placer.Allocate(order);
                    blocks[pfn] = (key, order);
                    events.Add(PendingEvent.Page(TraceEventKind.PageAlloc, key, order));
                    break;
                }
                case "mm_page_free":
                case "mm_page_free_batched":
                {
                    ulong pfn = PfnOf(fields, lineNo, name);
                    uint order = fields.ContainsKey("order") ? (uint)Number(fields, "order", lineNo, name, 0, BuddyAllocator.MaxOrderValue) : 0;
                    if (!blocks.Remove(pfn, out var b)) { res.UnmatchedFrees++; break; }
                    if (b.Order != order) res.OrderMismatches++;
                    events.Add(PendingEvent.Page(TraceEventKind.PageFree, b.Key, b.Order));
                    placer.Free(b.Key, b.Order);
                    break;
                }
                case "kmalloc":
                case "kmalloc_node":
                case "kmem_cache_alloc":
                case "kmem_cache_alloc_node":
                {
                    ulong ptr = Hex(fields, "ptr", lineNo, name);
                    ulong bytes = Number(fields, "bytes_req", lineNo, name, 0, uint.MaxValue);
                    if (ptr == 0) { res.FailedAllocations++; break; }
                    if (objects.Remove(ptr, out uint was))
                    {
                        res.UnmatchedAllocations++;
                        events.Add(new PendingEvent { Kind = TraceEventKind.Kfree, A = was });
                        writer.ReleaseObjectId(was);
                    }
                    uint id = writer.NewObjectId();
                    objects[ptr] = id;
                    bool cache = name.StartsWith("kmem_cache", StringComparison.Ordinal);
                    if (cache)
                    {
                        // The cache's object size is what a slab cache hands out: bytes_alloc.
                        ulong size = fields.ContainsKey("bytes_alloc") ? Number(fields, "bytes_alloc", lineNo, name, 0, uint.MaxValue) : bytes;
                        events.Add(new PendingEvent { Kind = TraceEventKind.CacheAlloc, A = id, B = size, C = IdOf(caches, Text(fields, "name", "?")) });
                    }
                    else events.Add(new PendingEvent { Kind = TraceEventKind.Kmalloc, A = id, B = bytes, C = IdOf(sites, Site(fields)) });
                    break;
                }
                default: // kfree, kmem_cache_free
                {
                    ulong ptr = Hex(fields, "ptr", lineNo, name);
                    if (ptr == 0) { res.NullFrees++; break; }
                    if (!objects.Remove(ptr, out uint id)) { res.UnmatchedFrees++; break; }
                    events.Add(name == "kfree"
                        ? new PendingEvent { Kind = TraceEventKind.Kfree, A = id, C = IdOf(sites, Site(fields)) }
                        : new PendingEvent { Kind = TraceEventKind.CacheFree, A = id, C = IdOf(caches, Text(fields, "name", "?")) });
                    writer.ReleaseObjectId(id);
                    break;
                }
            }
        }
        // The machine: twice what the trace keeps live at its peak, in whole 4 MiB blocks, at
        // least 16 MiB: room for the allocators' own fragmentation.
        ulong need = Math.Max(placer.End, 1) * 2;
        ulong frames = Math.Max(4096, (need + 1023) & ~1023UL);
        writer.Header.Frames = frames;
        writer.Header.SetZones(ZoneLayout.Flat());
        foreach (var e in events)
        {
            switch (e.Kind)
            {
                case TraceEventKind.PageAlloc: writer.PageAlloc(BasePfn + e.A, e.Order, 0); break;
                case TraceEventKind.PageFree: writer.PageFree(BasePfn + e.A, e.Order, 0); break;
                case TraceEventKind.Kmalloc: writer.Kmalloc((uint)e.A, e.B, e.C); break;
                case TraceEventKind.Kfree: writer.Kfree((uint)e.A, e.C); break;
                case TraceEventKind.CacheAlloc: writer.CacheAlloc(e.C, (uint)e.A, e.B); break;
                case TraceEventKind.CacheFree: writer.CacheFree(e.C, (uint)e.A); break;
            }
        }
        foreach (var kv in sites) writer.Name(0, kv.Value, kv.Key);
        foreach (var kv in caches) writer.Name(1, kv.Value, kv.Key);
        return res;
    }

    private struct PendingEvent
    {
        public TraceEventKind Kind;
        public uint Order;
        public ulong A, B;
        public uint C;

        public static PendingEvent Page(TraceEventKind kind, ulong key, uint order) => new() { Kind = kind, A = key, Order = order };
    }

    /// <summary>Where each live block of an imported trace sits in the simulated machine: the
    /// lowest free place aligned to its order (first fit over a bitmap of frames). Per order, a
    /// hint: no aligned block of the order is free below it, so a search starts there.</summary>
    private sealed class BlockPlacer
    {
        private readonly List<ulong> _used = new(); // one bit per frame
        private readonly ulong[] _hint = new ulong[BuddyAllocator.MaxOrderValue + 1];

        /// <summary>One past the highest frame ever used.</summary>
        public ulong End { get; private set; }

        public ulong Allocate(uint order)
        {
            ulong size = 1UL << (int)order;
            ulong at = _hint[order];
            while (!IsFree(at, size)) at += size;
            Set(at, size, true);
            _hint[order] = at + size;
            if (at + size > End) End = at + size;
            return at;
        }

        public void Free(ulong at, uint order)
        {
            Set(at, 1UL << (int)order, false);
            // A block of any order holding these frames may now be free.
            for (int o = 0; o < _hint.Length; o++) _hint[o] = Math.Min(_hint[o], at & ~((1UL << o) - 1));
        }

        private bool IsFree(ulong at, ulong size)
        {
            for (ulong f = at; f < at + size; f++)
            {
                int w = (int)(f >> 6);
                if (w < _used.Count && (_used[w] & (1UL << (int)(f & 63))) != 0) return false;
            }
            return true;
        }

        private void Set(ulong at, ulong size, bool used)
        {
            for (ulong f = at; f < at + size; f++)
            {
                int w = (int)(f >> 6);
                while (w >= _used.Count) _used.Add(0);
                if (used) _used[w] |= 1UL << (int)(f & 63);
                else _used[w] &= ~(1UL << (int)(f & 63));
            }
        }
    }

    private static uint IdOf(Dictionary<string, uint> names, string name)
    {
        if (!names.TryGetValue(name, out uint id)) names[name] = id = (uint)names.Count;
        return id;
    }

    /// <summary>The function of a call_site ("__fput+0x141/0x2a0" -> "__fput").</summary>
    private static string Site(Dictionary<string, string> f)
    {
        string s = Text(f, "call_site", "?");
        int plus = s.IndexOf('+');
        return plus > 0 ? s[..plus] : s;
    }

    private static string Text(Dictionary<string, string> f, string key, string fallback) => f.TryGetValue(key, out string? v) ? v : fallback;

    private static bool IsHeader(string line)
    {
        ReadOnlySpan<char> t = line.AsSpan().Trim();
        return t.Length == 0 || t[0] == '#' || t.StartsWith("cpus=") || t.StartsWith("version =") || t.StartsWith("CPU ") || t.StartsWith("CPU:");
    }

    // "TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: FIELDS": the event name is the word after the
    // first "NUMBER.NUMBER: " following the CPU in brackets (a task name may hold spaces and colons).
    private static bool SplitEventLine(string line, out string name, out ReadOnlySpan<char> rest)
    {
        name = ""; rest = default;
        int cpu = line.IndexOf('[');
        while (cpu >= 0)
        {
            int close = line.IndexOf(']', cpu);
            if (close < 0) return false;
            if (close > cpu + 1 && IsDigits(line.AsSpan(cpu + 1, close - cpu - 1))) break;
            cpu = line.IndexOf('[', close);
        }
        if (cpu < 0) return false;
        int p = line.IndexOf(']', cpu) + 1;
        // Find "TIMESTAMP:" : a token of digits and a dot followed by a colon.
        while (p < line.Length)
        {
            while (p < line.Length && line[p] == ' ') p++;
            int start = p;
            while (p < line.Length && line[p] != ' ') p++;
            ReadOnlySpan<char> tok = line.AsSpan(start, p - start);
            if (tok.Length > 1 && tok[^1] == ':' && IsTimestamp(tok[..^1]))
            {
                while (p < line.Length && line[p] == ' ') p++;
                int ns = p;
                while (p < line.Length && line[p] != ':' && line[p] != ' ') p++;
                if (p >= line.Length || line[p] != ':' || p == ns) return false;
                name = line[ns..p];
                rest = line.AsSpan(p + 1);
                return true;
            }
            if (tok.Length == 0) break;
        }
        return false;
    }

    private static bool IsDigits(ReadOnlySpan<char> s)
    {
        foreach (char c in s) if (c is < '0' or > '9') return false;
        return s.Length > 0;
    }

    private static bool IsTimestamp(ReadOnlySpan<char> s)
    {
        int dot = s.IndexOf('.');
        return dot > 0 && IsDigits(s[..dot]) && IsDigits(s[(dot + 1)..]);
    }

    private static void Fields(ReadOnlySpan<char> rest, Dictionary<string, string> fields)
    {
        fields.Clear();
        foreach (var range in rest.Split(' '))
        {
            ReadOnlySpan<char> tok = rest[range];
            int eq = tok.IndexOf('=');
            if (eq <= 0) continue;
            fields[tok[..eq].ToString()] = tok[(eq + 1)..].ToString();
        }
    }

    // The frame: pfn=0x1fc924 (hexadecimal since Linux 4.x), pfn=2083108 (decimal before). Only
    // its identity matters (it becomes a dense key), but reading it right keeps messages true.
    private static ulong PfnOf(Dictionary<string, string> f, long line, string ev)
    {
        if (!f.TryGetValue("pfn", out string? v)) throw new TraceImportException(line, $"{ev}: no pfn= field");
        if (v.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) return Hex(f, "pfn", line, ev);
        if (v == "-1") return ulong.MaxValue;
        if (!ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out ulong x))
            throw new TraceImportException(line, $"{ev}: pfn={v} is not a number");
        return x;
    }

    private static bool IsNullPointer(Dictionary<string, string> f, string key) =>
        f.TryGetValue(key, out string? v) && (v is "(null)" or "(nil)" || (v.Length > 0 && v.TrimStart('0').Length == 0) || v == "0x0");

    private static ulong Hex(Dictionary<string, string> f, string key, long line, string ev)
    {
        if (!f.TryGetValue(key, out string? v)) throw new TraceImportException(line, $"{ev}: no {key}= field");
        ReadOnlySpan<char> s = v.AsSpan();
        if (s.StartsWith("0x") || s.StartsWith("0X")) s = s[2..];
        if (s.SequenceEqual("(null)") || s.SequenceEqual("(nil)")) return 0;
        if (!ulong.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong x))
            throw new TraceImportException(line, $"{ev}: {key}={v} is not a hexadecimal number");
        return x;
    }

    private static ulong Number(Dictionary<string, string> f, string key, long line, string ev, ulong min, ulong max)
    {
        if (!f.TryGetValue(key, out string? v)) throw new TraceImportException(line, $"{ev}: no {key}= field");
        if (!ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out ulong x) || x < min || x > max)
            throw new TraceImportException(line, $"{ev}: {key}={v} is not a number from {min} to {max}");
        return x;
    }

    private static string Shorten(string line) => line.Length <= 80 ? line : line[..77] + "...";
}
