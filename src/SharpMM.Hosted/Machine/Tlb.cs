using System;
using System.Collections.Generic;

namespace SharpMM.Hosted.Machine;

/// <summary>
/// The model's translation lookaside buffer (SDM vol. 3A, 4.10.2 and 4.10.4).
///
/// What it models: finite set-associative arrays (see <see cref="TlbGeometry"/>) that cache, per
/// page, the frame, the rights combined over the walk, the leaf's dirty flag and the global bit,
/// and keep serving them after the tables change until an invalidation: invlpg drops the page
/// (global or not), a CR3 load drops every non-global entry, a full flush (CR4.PGE toggle, CR0.PG
/// or CR4.PAE/PSE change) drops everything; a page fault drops the faulting page's entries
/// (SDM 4.10.4.1). Only successful walks are cached (no negative entries).
///
/// What it adds to hardware: every entry remembers where the entries of its walk live and what they
/// held. A hit re-reads them (<see cref="StaleCheck"/>); when one changed, the hit is reported as a
/// <see cref="TlbViolation"/> (once per change) and the stale translation is still served, as
/// hardware would. <see cref="PanicOnViolation"/> throws on the first one instead.
///
/// What it does not model: paging-structure caches (PML4/PDPT/PDE caches, SDM 4.10.3; their
/// effect is covered by checking every level on a hit), PCIDs and INVPCID, fracturing of large
/// pages into 4 KiB entries, separate instruction and data TLBs, memory types (PAT/MTRR).
/// </summary>
public sealed class Tlb
{
    internal readonly TlbArray Small, Large, Huge;
    private readonly List<TlbViolation> _violations = new();

    internal long _hits, _misses, _fills, _pageInvalidations, _cr3Flushes, _fullFlushes;
    internal long _faultInvalidations, _cachedRightsFaults, _dirtyWalks;
    internal StaleCheck _staleCheck = StaleCheck.AllLevels;
    /// <summary>False only while the 2 MiB/4 MiB and 1 GiB arrays are known to be empty, so that a
    /// miss in the 4 KiB array need not probe them. Set by every fill of those arrays, cleared by
    /// flushes that leave them empty; it may stay set after they empty otherwise (conservative).</summary>
    internal bool _largeMayHold;
    /// <summary>The MMU this TLB belongs to (told when the stale check changes).</summary>
    internal Mmu? _owner;
    private long _fastFillsAtReset, _fastInvalidationsAtReset, _droppedAtReset, _countAtReset;
    private long FastFills => _owner == null ? 0 : _owner._fastFills - _fastFillsAtReset;
    // Valid entries dropped by invalidations and flushes, in every array and by the MMU's one-slot invlpg.
    private long DroppedEver => Small.Dropped + Large.Dropped + Huge.Dropped + (_owner == null ? 0 : _owner._fastDropped);

    /// <summary>Violations kept in <see cref="Violations"/>; later ones are only counted.</summary>
    public const int MaxRecordedViolations = 4096;

    internal Tlb(TlbGeometry geometry)
    {
        geometry.Validate();
        Geometry = geometry;
        Small = new TlbArray(geometry.SmallSets, geometry.SmallWays, 12);
        Large = new TlbArray(geometry.LargeSets, geometry.LargeWays, 21);
        Huge = new TlbArray(1, geometry.HugeEntries, 30);
    }

    /// <summary>The array sizes.</summary>
    public TlbGeometry Geometry { get; }

    /// <summary>What a hit compares with RAM. Default: every level. Translations cached while
    /// an entry was not checked kept no copy of it (the fast walk skips the copies), so a change
    /// to a setting that checks more entries drops every cached translation (a model event:
    /// hardware has no such check).</summary>
    public StaleCheck StaleCheck
    {
        get => _staleCheck;
        set
        {
            bool drop = Checks(value) > Checks(_staleCheck);
            _staleCheck = value;
            if (drop)
            {
                Small.FlushAll();
                Large.FlushAll();
                Huge.FlushAll();
                _largeMayHold = false;
            }
            _owner?.Recompute();
        }
    }
    private static int Checks(StaleCheck c) => c == StaleCheck.AllLevels ? 2 : c == StaleCheck.Off ? 0 : 1;

    /// <summary>Which changes are violations. Default: any change of an interpreted bit.</summary>
    public StalePolicy StalePolicy { get; set; } = StalePolicy.ReportAnyChange;
    /// <summary>
    /// Several CPUs (<see cref="MmuCpus"/>): asked, with the linear address, before a stale hit
    /// is reported; true means a change of the tables may still be on its way to this TLB (the
    /// CPU that made it has not finished its shootdown), so the hit is served without a
    /// violation, as hardware serves it, and checked again at the next hit. Null: every stale
    /// hit is a violation (one CPU: nothing is ever in flight).
    /// </summary>
    public Func<ulong, bool>? ChangeInFlight { get; set; }
    /// <summary>Throw <see cref="StaleTranslationException"/> on the first violation.</summary>
    public bool PanicOnViolation { get; set; }

    /// <summary>Violations in the order they happened (at most <see cref="MaxRecordedViolations"/>).</summary>
    public IReadOnlyList<TlbViolation> Violations => _violations;
    /// <summary>Violations seen, including those beyond the recorded ones.</summary>
    public long ViolationCount { get; private set; }

    /// <summary>Translations served from the TLB.</summary>
    public long Hits => _hits + Small.SlotHits;
    /// <summary>Translations that needed a walk (including writes through a clean entry).</summary>
    public long Misses => _misses + FastFills;
    /// <summary>Entries created.</summary>
    public long Fills => _fills + FastFills;
    /// <summary>Valid entries replaced by a fill (capacity or conflict). Derived rather than
    /// counted on the fill paths: a fill either takes an empty slot or evicts, and the fills
    /// that took an empty slot are the entries dropped since the reset plus the growth in
    /// <see cref="Count"/>.</summary>
    public long Evictions => Fills - (DroppedEver - _droppedAtReset + Count - _countAtReset);
    /// <summary>invlpg executions.</summary>
    public long PageInvalidations => _pageInvalidations + (_owner == null ? 0 : _owner._fastInvalidations - _fastInvalidationsAtReset);
    /// <summary>CR3 loads (each drops every non-global entry).</summary>
    public long Cr3Flushes => _cr3Flushes;
    /// <summary>Full flushes, global entries included.</summary>
    public long FullFlushes => _fullFlushes;
    /// <summary>Entries dropped because an access to their page faulted.</summary>
    public long FaultInvalidations => _faultInvalidations;
    /// <summary>Page faults raised from cached rights without a walk (possibly spurious: the tables
    /// may allow the access by now; SDM 4.10.4.3).</summary>
    public long CachedRightsFaults => _cachedRightsFaults;
    /// <summary>Writes that hit an entry cached with Dirty = 0 and walked to set it.</summary>
    public long DirtyWalks => _dirtyWalks;

    /// <summary>Valid entries in all arrays.</summary>
    public int Count => Small.Count + Large.Count + Huge.Count;

    /// <summary>True when some entry caches the page containing <paramref name="va"/> (no counters change).</summary>
    public bool Contains(ulong va) => Small.Find(va) >= 0 || Large.Find(va) >= 0 || Huge.Find(va) >= 0;

    /// <summary>Forgets the recorded violations.</summary>
    public void ClearViolations()
    {
        _violations.Clear();
        ViolationCount = 0;
    }

    /// <summary>Zeroes the hit, miss, fill and invalidation counters.</summary>
    public void ResetCounters()
    {
        _hits = _misses = _fills = _pageInvalidations = _cr3Flushes = _fullFlushes = 0;
        _faultInvalidations = _cachedRightsFaults = _dirtyWalks = 0;
        if (_owner != null)
        {
            _fastFillsAtReset = _owner._fastFills;
            _fastInvalidationsAtReset = _owner._fastInvalidations;
        }
        _droppedAtReset = DroppedEver;
        _countAtReset = Count;
        Small.ResetSlotHits();
    }

    internal void Record(in TlbViolation violation)
    {
        ViolationCount++;
        if (_violations.Count < MaxRecordedViolations) _violations.Add(violation);
        if (PanicOnViolation) throw new StaleTranslationException(violation);
    }

    /// <summary>The array and slot caching <paramref name="va"/>; false on a miss.</summary>
    internal bool Find(ulong va, out TlbArray array, out int slot)
    {
        if ((slot = Small.Find(va)) >= 0) { array = Small; return true; }
        if ((slot = Large.Find(va)) >= 0) { array = Large; return true; }
        if ((slot = Huge.Find(va)) >= 0) { array = Huge; return true; }
        array = Small;
        return false;
    }

    /// <summary>The array for pages of 2^<paramref name="pageShift"/> bytes.</summary>
    internal TlbArray ArrayFor(int pageShift) => pageShift == 12 ? Small : pageShift == 30 ? Huge : Large;

    /// <summary>Drops the page's entries in every array (invlpg, or a page fault).</summary>
    internal int DropPage(ulong va) => Small.InvalidatePage(va) + Large.InvalidatePage(va) + Huge.InvalidatePage(va);

    /// <summary>A CR3 load: drops every entry, but those with G while <paramref name="globalPages"/> (CR4.PGE).</summary>
    internal void FlushNonGlobal(bool globalPages)
    {
        _cr3Flushes++;
        uint keep = globalPages ? TlbRights.Global : 0;
        Small.FlushNonGlobal(keep);
        Large.FlushNonGlobal(keep);
        Huge.FlushNonGlobal(keep);
        _largeMayHold = Large.Any() || Huge.Any();
        _owner?.RefreshFastWalk();
    }

    internal void FlushAll()
    {
        _fullFlushes++;
        Small.FlushAll();
        Large.FlushAll();
        Huge.FlushAll();
        _largeMayHold = false;
        _owner?.RefreshFastWalk();
    }
}
