using SharpMM.Diagnostics;
using SharpMM.Addressing;

namespace SharpMM.User;

/// <summary>
/// A persistent region (Phantom OS's object space): <see cref="PageCount"/> pages kept in a
/// store across restarts as snapshots. A snapshot is all or nothing: a crash at any point of
/// one leaves the last complete snapshot readable, and reopening finds it.
///
/// Store layout, from <see cref="FirstSlot"/>:
/// <code>
///   +0, +1          commit records A and B (they alternate; the valid one with the higher
///                   generation is the last good snapshot)
///   +2 + 2p + k     copy k (0 or 1) of page p
///
///   commit record (one page, written last, after every page of its snapshot is durable):
///     0   magic "SMMPREG1"      8   generation     16  page count     24  checksum (FNV-1a
///     32  present bits (1 = the page has content; 0 = zero)            over the record with
///     32 + bitmap bytes: good-copy bits (which copy k holds the page)   this field zero)
/// </code>
/// Per page, in the words of Phantom's design: the current copy is the page in RAM (mapped by
/// a store-backed region of the owner space), the last good copy is the one the last commit
/// record names, the in-progress copy is the other one. A snapshot writes each changed page to
/// its in-progress copy (never touching a last good copy), makes them durable (Flush), writes
/// the new commit record over the older of the two records, and makes it durable. A crash
/// before the record is complete leaves the previous record, and every copy it names, intact;
/// a torn record fails its checksum and the other record is used.
///
/// Memory (caller's, <see cref="MetadataBytes"/>): four bitmaps of <see cref="PageCount"/> bits
/// (present, good copy, written in this snapshot, changed since the last snapshot) and one
/// scratch page. At most <see cref="MaxPages"/> pages (the two bitmaps fit one record page).
///
/// Not done: records over several pages (larger regions), checksums of data pages (a torn page
/// can only be an in-progress copy, which no record names), more than one region per store.
/// </summary>
public unsafe struct PersistentRegion
{
    /// <summary>The most pages a region holds.</summary>
    public const ulong MaxPages = (PageSize.Bytes - HeaderBytes) * 8 / 2;
    private const ulong HeaderBytes = 32;
    private const ulong Magic = 0x3147455250_4D4D53; // "SMMPREG1" little-endian

    private ulong _first, _pages, _generation;
    private int _record;          // which record (0, 1) holds the last good snapshot
    private byte* _present, _good, _written, _dirty, _scratch;
    private ulong _bitmapBytes;
    private bool _inSnapshot;
    private ulong _writtenCount;

    /// <summary>The space whose store-backed regions this region's snapshots save (null: none yet).</summary>
    public void* Owner;

    /// <summary>Pages in the region.</summary>
    public readonly ulong PageCount => _pages;
    /// <summary>First store slot used.</summary>
    public readonly ulong FirstSlot => _first;
    /// <summary>One past the last store slot used.</summary>
    public readonly ulong EndSlot => _first + SlotsFor(_pages);
    /// <summary>Generation of the last good snapshot (1: the empty one written by <see cref="Format"/>).</summary>
    public readonly ulong Generation => _generation;
    /// <summary>Pages written by the snapshot in progress.</summary>
    public readonly ulong WrittenCount => _writtenCount;

    /// <summary>Store slots a region of <paramref name="pages"/> pages uses.</summary>
    public static ulong SlotsFor(ulong pages) => 2 + 2 * pages;

    /// <summary>Bytes of caller memory a region of <paramref name="pages"/> pages needs.</summary>
    public static ulong MetadataBytes(ulong pages) => 4 * BitmapBytes(pages) + PageSize.Bytes;

    private static ulong BitmapBytes(ulong pages) => (pages + 63) / 64 * 8;

    private Status Setup(ulong firstSlot, ulong pages, byte* memory, ulong slotCount)
    {
        if (pages == 0 || pages > MaxPages) return Status.InvalidArgument;
        if (firstSlot > slotCount || SlotsFor(pages) > slotCount - firstSlot) return Status.OutOfRange;
        this = default;
        _first = firstSlot;
        _pages = pages;
        _bitmapBytes = BitmapBytes(pages);
        _present = memory;
        _good = memory + _bitmapBytes;
        _written = memory + 2 * _bitmapBytes;
        _dirty = memory + 3 * _bitmapBytes;
        _scratch = memory + 4 * _bitmapBytes;
        new System.Span<byte>(memory, (int)(4 * _bitmapBytes)).Clear();
        return Status.Ok;
    }

    /// <summary>
    /// Makes an empty region (every page zero) of <paramref name="pages"/> pages at
    /// <paramref name="firstSlot"/> of <paramref name="store"/>: writes generation 1 to record A,
    /// invalidates record B, and flushes. Return: Ok; InvalidArgument; OutOfRange (the store is
    /// too small); IoError.
    /// </summary>
    public Status Format<TStore>(ref TStore store, ulong firstSlot, ulong pages, byte* memory) where TStore : struct, IBackingStore
    {
        Status s = Setup(firstSlot, pages, memory, store.SlotCount);
        if (s != Status.Ok) return s;
        MemoryOps.Zero(_scratch, PageSize.Bytes);
        if ((s = store.Write(_first + 1, _scratch)) != Status.Ok) return s;
        _generation = 0;
        _record = 1;
        return WriteRecord(ref store);
    }

    /// <summary>
    /// Opens the region at <paramref name="firstSlot"/>: reads both commit records and adopts the
    /// valid one with the higher generation (its present and good-copy bits). Return: Ok;
    /// Malformed (no valid record: never formatted, or a different page count); InvalidArgument;
    /// OutOfRange; IoError.
    /// </summary>
    public Status Open<TStore>(ref TStore store, ulong firstSlot, ulong pages, byte* memory) where TStore : struct, IBackingStore
    {
        Status s = Setup(firstSlot, pages, memory, store.SlotCount);
        if (s != Status.Ok) return s;
        ulong best = 0;
        int bestRecord = -1;
        for (int r = 0; r < 2; r++)
        {
            if ((s = store.Read(_first + (ulong)r, _scratch)) != Status.Ok) return s;
            if (!RecordValid(_scratch, pages, out ulong gen) || gen <= best) continue;
            best = gen;
            bestRecord = r;
        }
        if (bestRecord < 0) return Status.Malformed;
        if ((s = store.Read(_first + (ulong)bestRecord, _scratch)) != Status.Ok) return s;
        _generation = best;
        _record = bestRecord;
        MemoryOps.Copy(_present, _scratch + HeaderBytes, _bitmapBytes);
        MemoryOps.Copy(_good, _scratch + HeaderBytes + _bitmapBytes, _bitmapBytes);
        return Status.Ok;
    }

    private readonly bool RecordValid(byte* rec, ulong pages, out ulong generation)
    {
        ulong* h = (ulong*)rec;
        generation = h[1];
        if (h[0] != Magic || h[2] != pages || generation == 0) return false;
        ulong stored = h[3];
        h[3] = 0;
        ulong sum = Checksum(rec, HeaderBytes + 2 * _bitmapBytes);
        h[3] = stored;
        return sum == stored;
    }

    private static ulong Checksum(byte* p, ulong bytes)
    {
        ulong h = 0xcbf29ce484222325;
        for (ulong i = 0; i < bytes; i++) { h ^= p[i]; h *= 0x100000001b3; }
        return h;
    }

    private static bool Bit(byte* map, ulong i) => (map[i >> 3] & (1 << (int)(i & 7))) != 0;
    private static void SetBit(byte* map, ulong i, bool value)
    {
        if (value) map[i >> 3] |= (byte)(1 << (int)(i & 7));
        else map[i >> 3] &= (byte)~(1 << (int)(i & 7));
    }

    /// <summary>True when page <paramref name="page"/> has content in the last good snapshot
    /// (false: it reads as zero).</summary>
    public readonly bool HasPage(ulong page) => page < _pages && Bit(_present, page);

    /// <summary>The store slot of the last good copy of <paramref name="page"/>.</summary>
    public readonly ulong GoodSlot(ulong page) => _first + 2 + 2 * page + (Bit(_good, page) ? 1UL : 0UL);

    /// <summary>Reads the last good copy of <paramref name="page"/> (zero when it has none).
    /// Return: Ok; OutOfRange; IoError.</summary>
    public readonly Status ReadPage<TStore>(ref TStore store, ulong page, byte* destination) where TStore : struct, IBackingStore
    {
        if (page >= _pages) return Status.OutOfRange;
        if (!Bit(_present, page)) { MemoryOps.Zero(destination, PageSize.Bytes); return Status.Ok; }
        return store.Read(GoodSlot(page), destination);
    }

    /// <summary>Records that <paramref name="page"/> changed since the last snapshot (its
    /// current copy left RAM dirty).</summary>
    public void MarkDirty(ulong page)
    {
        if (page < _pages) SetBit(_dirty, page, true);
    }

    /// <summary>True when <paramref name="page"/> was marked changed since the last snapshot.</summary>
    public readonly bool IsDirty(ulong page) => page < _pages && Bit(_dirty, page);

    /// <summary>Starts a snapshot: no page written yet.</summary>
    public void BeginSnapshot()
    {
        new System.Span<byte>(_written, (int)_bitmapBytes).Clear();
        _writtenCount = 0;
        _inSnapshot = true;
    }

    /// <summary>
    /// Writes the current content of <paramref name="page"/> (the 4 KiB at
    /// <paramref name="source"/>) to its in-progress copy. Pages not written keep their last
    /// good copy. Return: Ok; InvalidArgument (no snapshot started); OutOfRange; IoError.
    /// </summary>
    public Status WritePage<TStore>(ref TStore store, ulong page, byte* source) where TStore : struct, IBackingStore
    {
        if (!_inSnapshot) return Status.InvalidArgument;
        if (page >= _pages) return Status.OutOfRange;
        ulong slot = _first + 2 + 2 * page + (Bit(_good, page) ? 0UL : 1UL);
        Status s = store.Write(slot, source);
        if (s != Status.Ok) return s;
        if (!Bit(_written, page)) { SetBit(_written, page, true); _writtenCount++; }
        return Status.Ok;
    }

    /// <summary>
    /// Completes the snapshot: flushes the pages written, writes the commit record of the next
    /// generation over the older record, flushes again, and only then adopts it (the written
    /// pages' in-progress copies become their last good ones; the changed marks are cleared).
    /// On failure the last good snapshot is still the previous one, in the store and here.
    /// Return: Ok; InvalidArgument (no snapshot started); IoError.
    /// </summary>
    public Status Commit<TStore>(ref TStore store) where TStore : struct, IBackingStore
    {
        if (!_inSnapshot) return Status.InvalidArgument;
        _inSnapshot = false;
        Status s = store.Flush();
        if (s != Status.Ok) return s;
        // The new bitmaps: written pages are present and flip their good copy.
        byte* rec = _scratch;
        MemoryOps.Zero(rec, PageSize.Bytes);
        byte* present = rec + HeaderBytes, good = rec + HeaderBytes + _bitmapBytes;
        for (ulong i = 0; i < _bitmapBytes; i++)
        {
            present[i] = (byte)(_present[i] | _written[i]);
            good[i] = (byte)(_good[i] ^ _written[i]);
        }
        int target = 1 - _record;
        ulong* h = (ulong*)rec;
        h[0] = Magic; h[1] = _generation + 1; h[2] = _pages; h[3] = 0;
        h[3] = Checksum(rec, HeaderBytes + 2 * _bitmapBytes);
        if ((s = store.Write(_first + (ulong)target, rec)) != Status.Ok) return s;
        if ((s = store.Flush()) != Status.Ok) return s;
        MemoryOps.Copy(_present, present, _bitmapBytes);
        MemoryOps.Copy(_good, good, _bitmapBytes);
        for (ulong i = 0; i < _bitmapBytes; i++) _dirty[i] &= (byte)~_written[i];
        _generation++;
        _record = target;
        return Status.Ok;
    }

    /// <summary>Abandons a snapshot that failed part way (nothing to undo: no record names the
    /// copies it wrote).</summary>
    public void AbortSnapshot() => _inSnapshot = false;

    // Writes the record for the current state (used by Format): generation + 1 into the other record.
    private Status WriteRecord<TStore>(ref TStore store) where TStore : struct, IBackingStore
    {
        BeginSnapshot();
        return Commit(ref store);
    }
}
