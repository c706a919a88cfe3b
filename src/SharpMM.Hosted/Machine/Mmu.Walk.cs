using System.Threading;

namespace SharpMM.Hosted.Machine;

public sealed unsafe partial class Mmu
{
    /// <summary>
    /// What the tables say about <paramref name="va"/> now, ignoring the TLB and changing nothing
    /// (no Accessed or Dirty bits, no counters, no CR2). With PAE paging the PDPTE registers are
    /// used, as a real walk would. Throws only for host errors.
    /// </summary>
    public TableWalk Walk(ulong va)
    {
        if (!AddressIsValid(va)) return new TableWalk { Status = WalkStatus.GeneralProtection };
        if (_mode == PagingMode.Disabled)
            return new TableWalk { Status = WalkStatus.PagingDisabled, PhysicalAddress = va, PageBytes = 4096, Writable = true, User = true, Executable = true };
        WalkState s = default;
        WalkOutcome outcome = WalkTables(va, WalkMarking.ReadOnly, AccessKind.Read, ref s);
        WalkStatus status = outcome switch
        {
            WalkOutcome.Mapped => WalkStatus.Mapped,
            WalkOutcome.NotPresent => WalkStatus.NotPresent,
            WalkOutcome.Reserved => WalkStatus.ReservedBit,
            _ => WalkStatus.TableOutsideRam,
        };
        if (status != WalkStatus.Mapped)
            return new TableWalk { Status = status, Level = s.Level, EntryAddress = s.EntryAddress, Entry = s.EntryValue };
        return new TableWalk
        {
            Status = status,
            Level = s.Level,
            EntryAddress = s.EntryAddress,
            Entry = s.EntryValue,
            PhysicalAddress = s.Frame | (va & ((1UL << s.PageShift) - 1)),
            PageBytes = 1UL << s.PageShift,
            Writable = (s.Rights & TlbRights.Write) != 0,
            User = (s.Rights & TlbRights.User) != 0,
            Executable = (s.Rights & TlbRights.Execute) != 0,
            Global = (s.EntryValue & EntryBits.Global) != 0 && (_cr4 & Cr4Flags.PageGlobalEnable) != 0,
        };
    }

    /// <summary>False when the address raises #GP: non-canonical with 4-level paging (bits 63:47
    /// not all equal, SDM vol. 3A, 3.3.7.1), or above 4 GiB in the 32-bit modes.</summary>
    private bool AddressIsValid(ulong va) =>
        _mode == PagingMode.FourLevel ? ((long)va << 16 >> 16) == (long)va : (va >> 32) == 0;

    /// <summary>
    /// One walk from CR3 (or a PDPTE register) to the leaf. At each level: P = 0 stops with
    /// NotPresent; a reserved bit stops with Reserved (SDM vol. 3A, 4.7); otherwise the entry's
    /// R/W, U/S and XD narrow the rights (4.6). With <see cref="WalkMarking.SetAccessed"/>, Accessed is set
    /// in each non-leaf entry used (4.8) by compare-exchange; if the entry changed since it was read,
    /// the walk returns Restart. The leaf's Accessed/Dirty are the caller's business: they are set
    /// only if the access is allowed.
    /// </summary>
    private WalkOutcome WalkTables(ulong va, WalkMarking marking, AccessKind access, ref WalkState s)
    {
        ulong table;
        int level;
        switch (_mode)
        {
            case PagingMode.FourLevel:
                table = _cr3 & EntryBits.Range(_maxPhysBits - 1, 12);
                level = 4;
                break;
            case PagingMode.Pae:
            {
                int i = (int)(va >> 30) & 3;
                ulong pdpte = _pdpte[i];
                if (marking != WalkMarking.ReadOnly) NotePdpteDrift(i, va, access);
                if ((pdpte & EntryBits.Present) == 0)
                {
                    s.Level = 3;
                    s.EntryAddress = (_cr3 & 0xFFFF_FFE0UL) + (ulong)i * 8;
                    s.EntryValue = pdpte;
                    return WalkOutcome.NotPresent;
                }
                table = pdpte & EntryBits.Range(51, 12);
                level = 2;
                break;
            }
            default:
                table = _cr3 & 0xFFFF_F000UL;
                level = 2;
                break;
        }

        int entryShift = _entry64 ? 3 : 2;
        int indexBits = _entry64 ? 9 : 10;
        ulong indexMask = (1UL << indexBits) - 1;
        uint rights = TlbRights.AllAccess;
        s.UpperCount = 0;
        while (true)
        {
            int vaShift = 12 + (level - 1) * indexBits;
            ulong entryAddress = table + (((va >> vaShift) & indexMask) << entryShift);
            s.Level = level;
            s.EntryAddress = entryAddress;
            if (entryAddress > _ramSize - (1UL << entryShift)) return WalkOutcome.OutsideRam;
            ulong raw = _entry64 ? *(ulong*)(_ram + entryAddress) : *(uint*)(_ram + entryAddress);
            s.EntryValue = raw;
            if ((raw & EntryBits.Present) == 0) return WalkOutcome.NotPresent;
            bool large = level > 1 && (raw & EntryBits.PageSize) != 0 && ((_largeLevels >> level) & 1) != 0;
            if ((raw & (large ? _reservedLarge[level] : _reservedTable[level])) != 0) return WalkOutcome.Reserved;

            if ((raw & EntryBits.Writable) == 0) rights &= ~TlbRights.Write;
            if ((raw & EntryBits.User) == 0) rights &= ~TlbRights.User;
            if (_nx && (raw & EntryBits.NoExecute) != 0) rights &= ~TlbRights.Execute;

            if (level == 1 || large)
            {
                s.Rights = rights;
                s.PageShift = vaShift;
                if (!_entry64)
                    s.Frame = large ? (raw & 0xFFC0_0000UL) | (((raw >> 13) & 0xFF) << 32) : raw & 0xFFFF_F000UL;
                else
                    s.Frame = raw & EntryBits.Range(51, vaShift);
                return WalkOutcome.Mapped;
            }

            if (marking != WalkMarking.ReadOnly && (raw & EntryBits.Accessed) == 0)
            {
                if (!CompareExchangeEntry(entryAddress, raw, raw | EntryBits.Accessed)) return WalkOutcome.Restart;
                raw |= EntryBits.Accessed;
                s.EntryValue = raw;
            }
            s.Upper[s.UpperCount++] = new EntrySnapshot { Address = entryAddress, Value = raw };
            table = _entry64 ? raw & EntryBits.Range(51, 12) : raw & 0xFFFF_F000UL;
            level--;
        }
    }

    /// <summary>Writes <paramref name="desired"/> if the entry still holds <paramref name="expected"/>
    /// (a locked update, as the hardware's A/D assists are).</summary>
    private bool CompareExchangeEntry(ulong entryAddress, ulong expected, ulong desired)
    {
        if (_entry64)
            return Interlocked.CompareExchange(ref *(ulong*)(_ram + entryAddress), desired, expected) == expected;
        return Interlocked.CompareExchange(ref *(uint*)(_ram + entryAddress), (uint)desired, (uint)expected) == (uint)expected;
    }

    /// <summary>Raw entry at an address already known to be in RAM.</summary>
    private ulong ReadEntry(ulong entryAddress) =>
        _entry64 ? *(ulong*)(_ram + entryAddress) : *(uint*)(_ram + entryAddress);

    /// <summary>PAE: the walk used PDPTE register <paramref name="index"/>; if the PDPTE in memory
    /// differs (software bits 11:9 aside), software changed it without reloading CR3 and the
    /// change has no effect (SDM vol. 3A, 4.4.1). Recorded once per new memory value.</summary>
    private void NotePdpteDrift(int index, ulong va, AccessKind access)
    {
        ulong pa = (_cr3 & 0xFFFF_FFE0UL) + (ulong)index * 8;
        if (pa > _ramSize - 8) return;
        ulong memory = *(ulong*)(_ram + pa);
        if (((memory ^ _pdpte[index]) & ~EntryBits.SoftwareLow) == 0 || memory == _pdpteNoted[index]) return;
        _pdpteNoted[index] = memory;
        _tlb.Record(new TlbViolation(va, StaleKind.PdpteNotReloaded, access, 3, pa, _pdpte[index], memory));
    }

    private PhysicalAddressException TableOutsideRam(ulong va, in WalkState s) =>
        new(s.EntryAddress,
            $"page-table walk for linear 0x{va:x}: the {EntryBits.LevelName(s.Level)} at physical 0x{s.EntryAddress:x} is outside RAM [0, 0x{_ramSize:x}) (CR3 0x{_cr3:x}, {_mode})");
}
