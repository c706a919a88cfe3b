using SharpMM.Concurrency;
using SharpMM.Diagnostics;

namespace SharpMM.Heap;

/// <summary>
/// Debug-mode bookkeeping, in pages from the buddy allocator (16 KiB) allocated when the heap
/// is initialised in <see cref="HeapMode.Debug"/>:
/// - the allocation-site table: open addressing over <see cref="SiteCapacity"/> entries keyed
///   by a hash of the caller's file path and line (string literals passed by the compiler);
///   entry 0 stands for "unknown" (calls without caller information, or a full table);
/// - the event log: the last <see cref="EventCapacity"/> findings in a ring, and a count per
///   <see cref="HeapEventKind"/>.
/// Objects carry their site index in their debug trailer (slabs) or header (large blocks), so a
/// free updates the site's live count without a search.
/// Several CPUs share the table and the log: every change is made under one lock, innermost in
/// the lock order (<see cref="LockRank.Diagnostics"/>: a cache lock may be held when a site is
/// counted). Readers (reports) take a snapshot without it.
/// </summary>
public unsafe struct HeapDebug
{
    /// <summary>Site table entries (entry 0 included).</summary>
    public const int SiteCapacity = 240;
    /// <summary>Events kept.</summary>
    public const int EventCapacity = 16;

    private AllocationSiteArray _sites;
    private uint _siteCount;
    private HeapEventArray _events;
    private ulong _eventTotal;
    private fixed ulong _kindCount[HeapEventKindNames.Count];
    // The site table, the event ring and the counts.
    private SpinLock _lock;

    /// <summary>Sets up an empty table (entry 0 = "unknown").</summary>
    public void Init()
    {
        this = default;
        ref AllocationSite unknown = ref _sites[0];
        unknown.Key = 1;
        const string name = "(unknown)";
        for (int i = 0; i < name.Length; i++) unknown.File[i] = (byte)name[i];
        unknown.FileLength = (uint)name.Length;
        _siteCount = 1;
        _lock.Init(LockRank.Diagnostics);
    }

    /// <summary>Sites in use (entry 0 included).</summary>
    public readonly uint SiteCount => _siteCount;

    /// <summary>Site entry <paramref name="index"/> (a copy).</summary>
    public readonly AllocationSite SiteAt(uint index)
    {
        if (index >= SiteCapacity) Panic.Fail("heap: site index out of range", index);
        return _sites[(int)index];
    }

    /// <summary>Events recorded so far (the ring keeps the last <see cref="EventCapacity"/>).</summary>
    public readonly ulong EventTotal => _eventTotal;

    /// <summary>Events of one kind recorded so far.</summary>
    public readonly ulong Count(HeapEventKind kind) => (uint)kind < HeapEventKindNames.Count ? _kindCount[(int)kind] : 0;

    /// <summary>The <paramref name="back"/>-th most recent event (0 = the last one); false
    /// when there is none that far back.</summary>
    public readonly bool TryGetEvent(int back, out HeapEvent e)
    {
        if (back < 0 || (ulong)back >= _eventTotal || back >= EventCapacity) { e = default; return false; }
        e = _events[(int)((_eventTotal - 1 - (ulong)back) % EventCapacity)];
        return true;
    }

    /// <summary>The index of the site (file, line), entered if new; 0 when the table is full
    /// or <paramref name="file"/> is empty.</summary>
    public uint Site(string file, int line)
    {
        if (file == null || file.Length == 0) return 0;
        _lock.Acquire();
        uint site = SiteLocked(file, line);
        _lock.Release();
        return site;
    }

    private uint SiteLocked(string file, int line)
    {
        if (file == null || file.Length == 0) return 0;
        ulong h = 0xcbf29ce484222325UL;
        for (int i = 0; i < file.Length; i++) { h ^= file[i]; h *= 0x100000001b3UL; }
        h ^= (uint)line; h *= 0x100000001b3UL;
        if (h <= 1) h += 2; // 0 marks a free entry, 1 the unknown site
        uint slot = (uint)(h % (SiteCapacity - 1)) + 1;
        for (int probe = 0; probe < SiteCapacity - 1; probe++)
        {
            ref AllocationSite s = ref _sites[(int)slot];
            if (s.Key == h && s.Line == (uint)line) return slot;
            if (s.Key == 0)
            {
                s.Key = h;
                s.Line = (uint)line;
                int start = file.Length;
                while (start > 0 && file[start - 1] != '/' && file[start - 1] != '\\') start--;
                if (file.Length - start > AllocationSite.FileBytes) start = file.Length - AllocationSite.FileBytes;
                uint n = 0;
                for (int i = start; i < file.Length; i++) s.File[n++] = (byte)(file[i] < 128 ? file[i] : '?');
                s.FileLength = n;
                _siteCount++;
                return slot;
            }
            slot = slot == SiteCapacity - 1 ? 1 : slot + 1;
        }
        return 0;
    }

    /// <summary>Counts an allocation of <paramref name="bytes"/> at <paramref name="site"/>.</summary>
    public void Allocated(uint site, ulong bytes)
    {
        _lock.Acquire();
        AllocatedLocked(site, bytes);
        _lock.Release();
    }

    private void AllocatedLocked(uint site, ulong bytes)
    {
        if (site >= SiteCapacity) site = 0;
        ref AllocationSite s = ref _sites[(int)site];
        s.LiveObjects++;
        s.LiveBytes += bytes;
        s.Allocations++;
    }

    /// <summary>Counts the free of an allocation of <paramref name="bytes"/> made at <paramref name="site"/>.</summary>
    public void Released(uint site, ulong bytes)
    {
        _lock.Acquire();
        ReleasedLocked(site, bytes);
        _lock.Release();
    }

    private void ReleasedLocked(uint site, ulong bytes)
    {
        if (site >= SiteCapacity) site = 0;
        ref AllocationSite s = ref _sites[(int)site];
        if (s.LiveObjects == 0 || s.LiveBytes < bytes) Panic.Fail("heap: site live count below zero", site);
        s.LiveObjects--;
        s.LiveBytes -= bytes;
    }

    /// <summary>A live allocation from <paramref name="site"/> changed size in place (krealloc).</summary>
    public void Resized(uint site, ulong oldBytes, ulong newBytes)
    {
        _lock.Acquire();
        ResizedLocked(site, oldBytes, newBytes);
        _lock.Release();
    }

    private void ResizedLocked(uint site, ulong oldBytes, ulong newBytes)
    {
        if (site >= SiteCapacity) site = 0;
        ref AllocationSite s = ref _sites[(int)site];
        if (s.LiveObjects == 0 || s.LiveBytes < oldBytes) Panic.Fail("heap: resize of an allocation its site does not count", site);
        s.LiveBytes = s.LiveBytes - oldBytes + newBytes;
    }

    /// <summary>Records a finding.</summary>
    public void Record(HeapEventKind kind, Status status, ulong address, uint allocSite, uint freeSite)
    {
        _lock.Acquire();
        RecordLocked(kind, status, address, allocSite, freeSite);
        _lock.Release();
    }

    private void RecordLocked(HeapEventKind kind, Status status, ulong address, uint allocSite, uint freeSite)
    {
        ref HeapEvent e = ref _events[(int)(_eventTotal % EventCapacity)];
        e.Kind = kind;
        e.Status = status;
        e.Address = address;
        e.AllocSite = allocSite;
        e.FreeSite = freeSite;
        _eventTotal++;
        if ((uint)kind < HeapEventKindNames.Count) _kindCount[(int)kind]++;
    }

    /// <summary>Live objects and bytes over all sites.</summary>
    public readonly void Totals(out ulong objects, out ulong bytes, out uint sites)
    {
        objects = 0; bytes = 0; sites = 0;
        for (int i = 0; i < SiteCapacity; i++)
        {
            AllocationSite s = _sites[i];
            if (s.LiveObjects == 0) continue;
            objects += s.LiveObjects;
            bytes += s.LiveBytes;
            sites++;
        }
    }

    /// <summary>Writes "file:line" of a site.</summary>
    public readonly void WriteSite<TSink>(ref TextWriter<TSink> w, uint site) where TSink : struct, ITextSink
    {
        if (site >= SiteCapacity) site = 0;
        AllocationSite s = _sites[(int)site];
        w.Bytes(s.File, (int)s.FileLength);
        if (site != 0) { w.Char(':'); w.Dec(s.Line); }
    }
}
