using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
    public TranslationResult Translate(ulong va, AccessKind access, Privilege privilege, out ulong pa)
    {
        // Hit path: one set of the 4 KiB array. Empty slots have Tag 0 and never match (the key has
        // bit 0 set); with paging off the TLB is empty, so every access takes the slow path.
        int slot = ((int)(va >> 12) & _smallSetMask) * _smallWays;
        ulong tag = (va & ~0xFFFUL) | 1;
        ref TlbEntry e = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_smallEntries), slot);
        for (int way = _smallWays; ;)
        {
            if (e.Tag == tag)
            {
                uint need = (uint)(_required >> (((int)access * 2 + (int)privilege) * 8)) & 0xFF;
                if ((e.Rights & need) == need && (_tlb._staleCheck == StaleCheck.Off || Unchanged(ref e, slot)))
                {
                    _tlb._hits++;
                    pa = e.Frame | (va & 0xFFF);
                    return TranslationResult.Ok;
                }
                break;
            }
            if (--way == 0) break;
            e = ref Unsafe.Add(ref e, 1);
            slot++;
        }
        return TranslateSlow(va, access, privilege, out pa);
    }

    /// <summary>True when the entries a 4 KiB hit was built from still hold their cached values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Unchanged(ref TlbEntry e, int slot)
    {
        ulong current = _entry64 ? *(ulong*)(_ram + e.LeafAddress) : *(uint*)(_ram + e.LeafAddress);
        if (((current ^ e.LeafValue) & _leafMask) != 0) return false;
        return _tlb._staleCheck != StaleCheck.AllLevels || e.UpperCount == 0
            || UpperUnchanged(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_smallUpper), slot), e.UpperCount);
    }

    /// <summary>The non-leaf entries of a hit, compared without a loop (at most three).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool UpperUnchanged(ref UpperEntries upper, int count)
    {
        ref EntrySnapshot s0 = ref Unsafe.As<UpperEntries, EntrySnapshot>(ref upper);
        ulong diff;
        if (_entry64)
        {
            diff = *(ulong*)(_ram + s0.Address) ^ s0.Value;
            if (count > 1)
            {
                ref EntrySnapshot s1 = ref Unsafe.Add(ref s0, 1);
                diff |= *(ulong*)(_ram + s1.Address) ^ s1.Value;
                if (count > 2)
                {
                    ref EntrySnapshot s2 = ref Unsafe.Add(ref s0, 2);
                    diff |= *(ulong*)(_ram + s2.Address) ^ s2.Value;
                }
            }
        }
        else
        {
            diff = *(uint*)(_ram + s0.Address) ^ s0.Value;   // 32-bit paging: one PDE above a PTE
        }
        return (diff & _tableMask) == 0;
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
                pa = e.Frame | (va & ((1UL << e.PageShift) - 1));
                return TranslationResult.Ok;
            }
            // A write through an entry cached with Dirty = 0: the CPU walks again to set Dirty (4.8).
            _tlb._dirtyWalks++;
            e.Tag = 0;
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
            switch (WalkTables(va, true, access, ref s))
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
            if ((leaf & EntryBits.Global) != 0 && (_cr4 & Cr4Flags.PageGlobalEnable) != 0) rights |= TlbRights.Global;
            TlbArray array = _tlb.ArrayFor(s.PageShift);
            int slot = array.Allocate(va, out bool evicted);
            if (evicted) _tlb._evictions++;
            _tlb._fills++;
            ref TlbEntry e = ref array.Entries[slot];
            e.Tag = array.TagOf(va);
            e.Frame = s.Frame;
            e.LeafAddress = s.EntryAddress;
            e.LeafValue = leaf;
            e.Rights = rights;
            e.UpperCount = (byte)s.UpperCount;
            e.PageShift = (byte)s.PageShift;
            array.Upper[slot] = s.Upper;
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
        ref UpperEntries upper = ref array.Upper[slot];
        int top = _mode == PagingMode.FourLevel ? 4 : 2;
        int level = 0;
        ulong address = 0, cached = 0, current = 0;
        if (_tlb._staleCheck == StaleCheck.AllLevels)
        {
            for (int i = 0; i < e.UpperCount && level == 0; i++)
            {
                ulong now = ReadEntry(upper[i].Address);
                if (((now ^ upper[i].Value) & _tableMask) != 0)
                    (level, address, cached, current) = (top - i, upper[i].Address, upper[i].Value, now);
            }
        }
        if (level == 0)
        {
            ulong now = ReadEntry(e.LeafAddress);
            if (((now ^ e.LeafValue) & _leafMask) == 0) return;
            (level, address, cached, current) = (top - e.UpperCount, e.LeafAddress, e.LeafValue, now);
        }

        StaleKind kind = Classify(ref e, va, access, privilege);
        for (int i = 0; i < e.UpperCount; i++) upper[i].Value = ReadEntry(upper[i].Address);
        e.LeafValue = ReadEntry(e.LeafAddress);
        if (kind == StaleKind.HarmlessChange && _tlb.StalePolicy == StalePolicy.ReportUnsafeUse) return;
        _tlb.Record(new TlbViolation(va, kind, access, level, address, cached, current));
    }

    private StaleKind Classify(ref TlbEntry e, ulong va, AccessKind access, Privilege privilege)
    {
        WalkState s = default;
        switch (WalkTables(va, false, access, ref s))
        {
            case WalkOutcome.NotPresent: return StaleKind.NotPresent;
            case WalkOutcome.Reserved: return StaleKind.ReservedBit;
            case WalkOutcome.OutsideRam: return StaleKind.TableOutsideRam;
        }
        if (s.Frame != e.Frame || s.PageShift != e.PageShift) return StaleKind.MappingChanged;
        if ((e.Rights & TlbRights.AllAccess & ~s.Rights) != 0) return StaleKind.RightsReduced;
        if ((e.Rights & TlbRights.Dirty) != 0 && (s.EntryValue & EntryBits.Dirty) == 0) return StaleKind.DirtyCleared;
        bool global = (s.EntryValue & EntryBits.Global) != 0 && (_cr4 & Cr4Flags.PageGlobalEnable) != 0;
        ulong pat = s.PageShift == 12 ? EntryBits.PageSize : 1UL << 12;
        ulong caching = EntryBits.WriteThrough | EntryBits.CacheDisable | pat;
        if (global != ((e.Rights & TlbRights.Global) != 0) || ((s.EntryValue ^ e.LeafValue) & caching) != 0)
            return StaleKind.AttributesChanged;
        return StaleKind.HarmlessChange;
    }
}
