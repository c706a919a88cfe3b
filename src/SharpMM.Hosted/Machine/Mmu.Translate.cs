using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Threading;
using SharpMM.Paging;

namespace SharpMM.Hosted.Machine;

public sealed unsafe partial class Mmu
{
    /// <summary>
    /// Translates <paramref name="va"/> for one access, as the MMU does before the access: a TLB
    /// hit whose cached rights allow it is served without a walk (and checked against RAM, see
    /// <see cref="Tlb.StaleCheck"/>); otherwise the tables are walked, Accessed/Dirty set, the
    /// translation cached. The fault handler is not called: see <see cref="TryRead64"/> and friends.
    /// </summary>
    /// <returns>Ok with <paramref name="pa"/>; PageFault with CR2 and <see cref="LastFault"/> set
    /// (the faulting page's TLB entries are dropped); GeneralProtection for a non-canonical address
    /// (4-level) or one above 4 GiB (other modes). <paramref name="pa"/> is 0 on failure.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TranslationResult Translate(ulong va, AccessKind access, Privilege privilege, out ulong pa)
    {
        // Hit path: the first way of the set in the 4 KiB array. Empty slots have Tag 0 and never
        // match (the key has its low bits set); with paging off the TLB is empty, so every access
        // takes another path. While the stale check is on, the required rights include
        // TlbRights.Checked, which no entry has, so hits are then served by the checking path.
        TlbEntry* e = SmallSlot(va);
        ulong tag = va | 0xFFF;
        if (e->Tag == tag)
        {
            uint need = (uint)(_hitRequired >> (((int)access * 2 + (int)privilege) * 8)) & 0xFF;
            if ((need & ~e->Rights) == 0)
            {
                e->Hits += 1;
                pa = e->Frame | (va & 0xFFF);
                return TranslationResult.Ok;
            }
        }
        else if (FastFill(va, e, access, privilege, _walkRam, _walkRoot, out pa))
        {
            return TranslationResult.Ok;
        }
        MissResult t = TranslateMiss(va, access, privilege);
        pa = t.PhysicalAddress;
        return t.Result;
    }

    /// <summary>
    /// The common miss, walked and cached in the slot <paramref name="e"/> (empty or to be
    /// evicted; the caller knows no slot holds the page): 4-level paging, a 4 KiB page, every
    /// entry present with no reserved bit, Accessed already set in the non-leaf entries, the
    /// access allowed. The same reads, checks and updates as <see cref="WalkTables"/> and
    /// <see cref="Fill"/>, each entry read once. Anything else (a non-canonical address, an entry
    /// that is not present, has a reserved bit, maps a large page, points at a table at or above
    /// the largest power of two within RAM or needs its Accessed bit set, a non-leaf entry with
    /// XD = 1, a refused access) returns false with RAM and the TLB untouched. <paramref name="ram"/>
    /// and <paramref name="root"/> are RAM and the root table's host address, or (inline, when
    /// the fast walk may not run there) a table of zeros, whose first entry declines the walk.
    ///
    /// Written for the out-of-order core that runs it. A walk waits on a cache miss for the PTE,
    /// and its speed is how many walks overlap, which follows how few instructions each takes:
    /// the PML4E, PDPTE and PDE (usually cached) are tested together before the PTE arrives, the
    /// PTE with one mask and compare, and the rights come from one AND. Table addresses are
    /// masked below the fast-walk limit, so a bad entry only makes the walk read harmless RAM
    /// before the test that refuses it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool FastFill(ulong va, TlbEntry* e, AccessKind access, Privilege privilege, byte* ram, byte* root, out ulong pa)
    {
        const ulong frame = 0x000F_FFFF_FFFF_F000UL;   // bits 51:12

        pa = 0;
        if ((ulong)((long)va >> 47) + 1 > 1) return false;   // non-canonical: #GP
        ulong next = _fastTableMask;
        ulong r4 = *(ulong*)(root + (BitOperations.RotateRight(va, 36) & 0xFF8));
        ulong a = (r4 & next) + (BitOperations.RotateRight(va, 27) & 0xFF8);
        ulong r3 = *(ulong*)(ram + a);
        a = (r3 & next) + (BitOperations.RotateRight(va, 18) & 0xFF8);
        ulong r2 = *(ulong*)(ram + a);
        a = (r2 & next) + (BitOperations.RotateRight(va, 9) & 0xFF8);
        ulong all = r4 & r3 & r2, any = r4 | r3 | r2;

        // The PML4E, PDPTE and PDE, tested before the PTE arrives (see FastWalkMasks). Their XD
        // is among the bits that must be clear, for every access: the rights below take XD from
        // the PTE alone (a walk through a non-leaf entry with XD = 1 is left to the slow path).
        ref FastWalkMasks m = ref Unsafe.Add(ref Unsafe.As<FastWalkMaskTable, FastWalkMasks>(ref _fastMasks), (int)access * 2 + (int)privilege);
        if ((~all & m.UpperMustSet) != 0 || (any & m.UpperMustClear) != 0) return false;
        // R/W and U/S of the non-leaf entries, with the PTE's D and G let through (non-leaf
        // entries ignore bits 6 and 8).
        ulong upperRights = all | EntryBits.Dirty | EntryBits.Global;

        ulong pte = *(ulong*)(ram + a);
        if ((pte & m.LeafTested) != m.LeafMustSet) return false;
        // Accessed (and Dirty for a write), stored whether or not they were set already: the same
        // value then, and no branch on whether this is the page's first walk (measured faster
        // on W4's walks than the test). Hardware does a locked update; one host thread drives
        // the model, so a plain store is the same update.
        ulong leaf = pte | EntryBits.Accessed | (access == AccessKind.Write ? EntryBits.Dirty : 0);
        *(ulong*)(ram + a) = leaf;
        // The rights in TlbRights bits, which are the entry bits they come from: R/W and U/S by
        // AND over the four entries, the PTE's D and G. Bit 0 of the AND is P, 1 in every entry
        // here: XOR with the PTE's XD makes it Execute (XD = 1 passes the reserved-bit checks only
        // with NXE = 1). The other bits are left as they come: no access requires them, and
        // bit 7 (TlbRights.Checked) is 0, as PS is 0 in the non-leaf entries.
        uint rights = (uint)(upperRights & leaf) ^ (uint)(leaf >> 63);

        ulong page = pte & frame;
        _fastFills++;
        e->Tag = va | 0xFFF;
        e->Frame = page;
        e->Rights = rights;
        pa = page | (va & 0xFFF);
        return true;
    }

    /// <summary>After a fast fill of <paramref name="e"/> while a stale check is on: the copies
    /// of the entries the walk read (the leaf's address and value; with the every-level check
    /// also the PML4E, PDPTE and PDE), for later hits to compare with RAM. Read again, as
    /// nothing changed them since the fill.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Snapshot(TlbEntry* e)
    {
        ulong va = e->Tag;
        TlbCopies* c = _smallCopies + (e - _smallEntries);
        ulong a = _rootTable + (BitOperations.RotateRight(va, 36) & 0xFF8);
        for (int i = 0; i < 3; i++)
        {
            ulong raw = *(ulong*)(_ram + a);
            if (_snapshotUpper) c->Upper[i] = new EntrySnapshot { Address = a, Value = raw };
            a = (raw & _fastTableMask) + (BitOperations.RotateRight(va, 27 - 9 * i) & 0xFF8);
        }
        c->LeafAddress = a;
        c->LeafValue = *(ulong*)(_ram + a);
        c->UpperCount = 3;
    }

    /// <summary>
    /// Everything the inline path of <see cref="Translate"/> does not serve: with a
    /// set-associative 4 KiB array a hit in another way or a fast fill of the way
    /// <see cref="PickWay"/> chooses; otherwise (another paging mode, a large page, a cached
    /// translation whose rights refuse the access or that must be compared with RAM, any fault)
    /// <see cref="TranslateSlow"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private MissResult TranslateMiss(ulong va, AccessKind access, Privilege privilege)
    {
        if (_smallWays == 1)
        {
            // With a stale check on, the inline path leaves the fast fill to here (the copies
            // the check needs are made out of line); a hit is checked by TranslateSlow.
            if (_fastWalk && _snapshotLeaf)
            {
                TlbEntry* e = SmallSlot(va);
                if (e->Tag != (va | 0xFFF) && FastFill(va, e, access, privilege, _ram, _ram + _rootTable, out ulong filled))
                {
                    Snapshot(e);
                    return new MissResult(filled, TranslationResult.Ok);
                }
            }
        }
        else
        {
            ulong tag = va | 0xFFF;
            uint set = (uint)((nuint)(va >> 12) & _smallSetMask);
            TlbEntry* first = _smallEntries + set * (uint)_smallStride;
            uint need = (uint)(_hitRequired >> (((int)access * 2 + (int)privilege) * 8)) & 0xFF;
            for (int i = 0; i < _smallWays; i++)
            {
                TlbEntry* e = first + i;
                if (e->Tag == tag && (e->Rights & need) == need)
                {
                    e->Hits++;
                    return new MissResult(e->Frame | (va & 0xFFF), TranslationResult.Ok);
                }
            }
            int way;
            if (_fastWalk && (way = PickWay(first, tag, set)) >= 0)
            {
                TlbEntry* e = first + way;
                bool evicting = e->Tag != 0;
                if (FastFill(va, e, access, privilege, _ram, _ram + _rootTable, out ulong filled))
                {
                    if (evicting) AdvanceVictim(set);
                    if (_snapshotLeaf) Snapshot(e);
                    return new MissResult(filled, TranslationResult.Ok);
                }
            }
        }
        TranslationResult r = TranslateSlow(va, access, privilege, out ulong pa);
        return new MissResult(pa, r);
    }

    /// <summary>The way of a set-associative 4 KiB array's set that a fill of <paramref name="tag"/>
    /// takes (an empty way, else the FIFO victim, as <see cref="TlbArray.Allocate"/>; the victim
    /// counter moves only when the fill happens), or -1 when a way already holds the tag.</summary>
    private int PickWay(TlbEntry* first, ulong tag, uint set)
    {
        int empty = -1;
        for (int i = 0; i < _smallWays; i++)
        {
            ulong t = first[i].Tag;
            if (t == tag) return -1;
            if (t == 0 && empty < 0) empty = i;
        }
        return empty >= 0 ? empty : _tlb.Small.NextVictim[set];
    }

    private void AdvanceVictim(uint set)
    {
        byte[] next = _tlb.Small.NextVictim;
        next[set] = (byte)(next[set] + 1 == _smallWays ? 0 : next[set] + 1);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private TranslationResult TranslateSlow(ulong va, AccessKind access, Privilege privilege, out ulong pa)
    {
        pa = 0;
        if (!AddressIsValid(va))
        {
            _counters._generalProtection++;
            return TranslationResult.GeneralProtection;
        }
        if (_mode == PagingMode.Disabled)
        {
            pa = va;
            return TranslationResult.Ok;
        }

        uint need = Required(access, privilege);
        if (_tlb.Find(va, out TlbArray array, out int slot))
        {
            ref TlbEntry e = ref array.Entries[slot];
            uint missing = need & ~e.Rights;
            if ((missing & ~TlbRights.Dirty) != 0)
            {
                // The cached rights refuse the access: fault without a walk. If the tables have
                // since raised the rights, this is the spurious fault SDM 4.10.4.3 allows; the
                // fault drops the entry, so a retry walks the new tables.
                _tlb._cachedRightsFaults++;
                return Fault(va, access, privilege, PageFaultErrorCode.ProtectionViolation);
            }
            if (_tlb._staleCheck != StaleCheck.Off) CheckStale(array, slot, va, access, privilege);
            if (missing == 0)
            {
                _tlb._hits++;
                pa = e.Frame | (va & ((1UL << array.Shift) - 1));
                return TranslationResult.Ok;
            }
            // A write through an entry cached with Dirty = 0: the CPU walks again to set Dirty (4.8).
            _tlb._dirtyWalks++;
            e.Tag = 0;
            array.Dropped++;
        }
        _tlb._misses++;
        return Fill(va, access, privilege, need, out pa);
    }

    /// <summary>Walks, checks rights, sets the leaf's Accessed (and Dirty for a write), caches.</summary>
    private TranslationResult Fill(ulong va, AccessKind access, Privilege privilege, uint need, out ulong pa)
    {
        pa = 0;
        uint needAccess = need & ~TlbRights.Dirty;
        for (int attempt = 0; ; attempt++)
        {
            if (attempt == 64) throw new System.InvalidOperationException($"walk for linear 0x{va:x} restarted 64 times: its entries keep changing");
            WalkState s = default;
            _counters._walks++;
            switch (WalkTables(va, WalkMarking.SetAccessed, access, ref s))
            {
                case WalkOutcome.Restart: continue;
                case WalkOutcome.OutsideRam: throw TableOutsideRam(va, s);
                case WalkOutcome.NotPresent: return Fault(va, access, privilege, PageFaultErrorCode.None);
                case WalkOutcome.Reserved:
                    return Fault(va, access, privilege, PageFaultErrorCode.ProtectionViolation | PageFaultErrorCode.ReservedBit);
            }
            if ((s.Rights & needAccess) != needAccess) return Fault(va, access, privilege, PageFaultErrorCode.ProtectionViolation);

            ulong leaf = s.EntryValue | EntryBits.Accessed | (access == AccessKind.Write ? EntryBits.Dirty : 0);
            if (leaf != s.EntryValue && !CompareExchangeEntry(s.EntryAddress, s.EntryValue, leaf)) continue;

            uint rights = s.Rights;
            if ((leaf & EntryBits.Dirty) != 0) rights |= TlbRights.Dirty;
            if ((leaf & EntryBits.Global) != 0) rights |= TlbRights.Global;
            TlbArray array = _tlb.ArrayFor(s.PageShift);
            if (array != _tlb.Small && !_tlb._largeMayHold)
            {
                _tlb._largeMayHold = true;
                RefreshFastWalk();
            }
            int slot = array.Allocate(va);
            _tlb._fills++;
            ref TlbEntry e = ref array.Entries[slot];
            e.Tag = array.TagOf(va);
            e.Frame = s.Frame;
            e.Rights = rights;
            ref TlbCopies c = ref array.Copies[slot];
            c.LeafAddress = s.EntryAddress;
            c.LeafValue = leaf;
            c.UpperCount = s.UpperCount;
            c.Upper = s.Upper;
            pa = s.Frame | (va & ((1UL << s.PageShift) - 1));
            return TranslationResult.Ok;
        }
    }

    /// <summary>Delivers a page fault: error code per SDM vol. 3A, 4.7 (I/D only with PAE or
    /// 4-level paging and NXE = 1), CR2, counters; drops the page's TLB entries (4.10.4.1).</summary>
    private TranslationResult Fault(ulong va, AccessKind access, Privilege privilege, PageFaultErrorCode cause)
    {
        PageFaultErrorCode code = cause;
        if (access == AccessKind.Write) code |= PageFaultErrorCode.Write;
        if (privilege == Privilege.User) code |= PageFaultErrorCode.User;
        if (access == AccessKind.Fetch && _nx) code |= PageFaultErrorCode.InstructionFetch;
        _cr2 = va;
        LastFault = new PageFault(va, code);
        _counters.CountFault(code, access, privilege);
        _tlb._faultInvalidations += _tlb.DropPage(va);
        return TranslationResult.PageFault;
    }

    /// <summary>
    /// A hit whose cached rights allow the access: compares the entries it was built from with RAM.
    /// If one changed, a fresh side-effect-free walk says how (<see cref="StaleKind"/>); the change
    /// is recorded as a violation unless the policy calls it harmless, and the snapshot is updated
    /// so that one change is reported once. The stale translation is served either way.
    /// </summary>
    private void CheckStale(TlbArray array, int slot, ulong va, AccessKind access, Privilege privilege)
    {
        ref TlbEntry e = ref array.Entries[slot];
        ref TlbCopies c = ref array.Copies[slot];
        int top = _mode == PagingMode.FourLevel ? 4 : 2;
        int level = 0;
        ulong address = 0, cached = 0, current = 0;
        if (_tlb._staleCheck == StaleCheck.AllLevels)
        {
            for (int i = 0; i < c.UpperCount && level == 0; i++)
            {
                ulong now = ReadEntry(c.Upper[i].Address);
                if (((now ^ c.Upper[i].Value) & _tableMask) != 0)
                    (level, address, cached, current) = (top - i, c.Upper[i].Address, c.Upper[i].Value, now);
            }
        }
        if (level == 0)
        {
            ulong now = ReadEntry(c.LeafAddress);
            if (((now ^ c.LeafValue) & _leafMask) == 0) return;
            (level, address, cached, current) = (top - c.UpperCount, c.LeafAddress, c.LeafValue, now);
        }

        if (_tlb.ChangeInFlight is { } inFlight && inFlight(va)) return;
        StaleKind kind = Classify(array, ref e, c.LeafValue, va, access, privilege);
        if (_tlb._staleCheck == StaleCheck.AllLevels)
            for (int i = 0; i < c.UpperCount; i++) c.Upper[i].Value = ReadEntry(c.Upper[i].Address);
        c.LeafValue = ReadEntry(c.LeafAddress);
        if (kind == StaleKind.HarmlessChange && _tlb.StalePolicy == StalePolicy.ReportUnsafeUse) return;
        _tlb.Record(new TlbViolation(va, kind, access, level, address, cached, current));
    }

    private StaleKind Classify(TlbArray array, ref TlbEntry e, ulong cachedLeaf, ulong va, AccessKind access, Privilege privilege)
    {
        WalkState s = default;
        switch (WalkTables(va, WalkMarking.ReadOnly, access, ref s))
        {
            case WalkOutcome.NotPresent: return StaleKind.NotPresent;
            case WalkOutcome.Reserved: return StaleKind.ReservedBit;
            case WalkOutcome.OutsideRam: return StaleKind.TableOutsideRam;
        }
        if (s.Frame != e.Frame || s.PageShift != array.Shift) return StaleKind.MappingChanged;
        if ((e.Rights & TlbRights.AllAccess & ~s.Rights) != 0) return StaleKind.RightsReduced;
        if ((e.Rights & TlbRights.Dirty) != 0 && (s.EntryValue & EntryBits.Dirty) == 0) return StaleKind.DirtyCleared;
        bool global = (s.EntryValue & EntryBits.Global) != 0;
        ulong pat = s.PageShift == 12 ? EntryBits.PageSize : 1UL << 12;
        ulong caching = EntryBits.WriteThrough | EntryBits.CacheDisable | pat;
        if (global != ((e.Rights & TlbRights.Global) != 0) || ((s.EntryValue ^ cachedLeaf) & caching) != 0)
            return StaleKind.AttributesChanged;
        return StaleKind.HarmlessChange;
    }
}
