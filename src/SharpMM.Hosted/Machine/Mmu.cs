using System;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpMM.Paging;

namespace SharpMM.Hosted.Machine;

/// <summary>
/// A model of the x86 MMU over simulated RAM: the oracle the library's page tables are checked
/// against. It reads the raw table bytes at ram.Base + phys exactly as the hardware does and never
/// uses the library's paging code.
///
/// Models (Intel SDM vol. 3A, chapter 4): CR0.PG/WP, CR3, CR4.PSE/PAE/PGE, EFER.LME/NXE and the
/// three paging modes they select (4.1): 32-bit paging with 4 MiB PSE(-36) pages (4.3), PAE paging
/// with its four PDPTE registers loaded on CR3 writes and 2 MiB pages (4.4), 4-level paging with
/// 48-bit canonical addresses, 2 MiB and 1 GiB pages (4.5). Rights combine over the walk (4.6):
/// R/W and U/S by AND, XD by OR; CR0.WP makes supervisor writes honour R/W. Reserved bits (bits at
/// and above MAXPHYADDR, PS where no page can be mapped, XD without NXE, the low bits of large-page
/// addresses) fault with RSVD (4.7). Accessed is set in every non-leaf entry the walk uses, and in
/// the leaf (with Dirty for a write) only when the access is allowed (4.8), by compare-exchange on
/// the entry in RAM. Page faults carry the x86 error code and set CR2 (4.7); a non-canonical
/// address is a #GP, not a page fault. Translations are cached in a finite <see cref="Tlb"/> that
/// serves stale entries until invalidated (4.10) and reports their use.
///
/// Does not model: 5-level paging (LA57), PCIDs, SMEP, SMAP, protection keys, CET shadow stacks,
/// memory types (PAT, MTRRs, PWT/PCD only matter for staleness), segmentation (linear = virtual),
/// VMX/EPT, A20, paging-structure caches, several CPUs in one MMU (<see cref="MmuCpus"/> makes one
/// MMU per CPU over the same RAM: each walks the shared tables, which other CPUs may change
/// meanwhile, and keeps its own TLB). A physical address outside RAM, in a walk or
/// in a data access, throws <see cref="PhysicalAddressException"/> rather than reading all ones.
/// Control-register loads that raise #GP on hardware throw <see cref="MachineFaultException"/>.
/// Single-threaded: one host thread (its CPU) drives one MMU.
///
/// <see cref="Translate"/> is inlined into its callers: a hit in the first way of the 4 KiB TLB
/// array, and with 4-level paging and a direct-mapped array the common miss (a 4 KiB page, every
/// entry valid, the access allowed), are served there; the rest goes out of line to the general
/// walker. The fast walk has the general walker's results, faults, counters and RAM updates
/// (<see cref="MmuOptions.FastWalk"/> turns it off; tests compare the two).
/// </summary>
public sealed unsafe partial class Mmu
{
    private readonly HostMemory _memory;
    private readonly byte* _ram;
    private readonly ulong _ramSize;
    private readonly int _maxPhysBits;
    private readonly Tlb _tlb;
    private readonly MmuCounters _counters;

    // The 4 KiB TLB array (pinned), held directly for the hit path: slot s is at
    // _smallEntries + s, and the first slot of va's set at byte ((va >> _smallSlotShift) &
    // _smallSlotMask) (a set is _smallStride slots, a power of two, of 32 bytes each).
    private readonly TlbEntry* _smallEntries;
    private readonly TlbCopies* _smallCopies;
    private readonly nuint _smallSetMask, _smallSlotMask;
    private readonly int _smallSlotShift, _smallStride, _smallWays;

    private Cr0Flags _cr0;
    private ulong _cr2, _cr3;
    private Cr4Flags _cr4;
    private EferFlags _efer;
    private PagingMode _mode;
    private readonly ulong[] _pdpte = new ulong[4];
    private readonly ulong[] _pdpteNoted = new ulong[4];

    // Derived from the registers by Recompute().
    // _required: the TlbRights an access needs, one byte per (access * 2 + privilege).
    // _hitRequired: the same plus TlbRights.Checked while the stale check is on.
    private ulong _required, _hitRequired;
    // The fast walk (FastFill): 4-level paging, 4 KiB pages, Accessed already set in the non-leaf
    // entries. _fastWalk: it may run (4-level, root table below _fastLimit, the largest power of
    // two within RAM, no large-page TLB entries); _fastInline: and the 4 KiB array is
    // direct-mapped and no stale check is on, so it runs inline in Translate (with a stale check
    // it runs from TranslateMiss, which also makes the copies the check needs). _fastMasks: its
    // checks per access.
    private bool _fastWalk, _fastInline;
    // What the inline fast fill walks: RAM and the root table (its host address) while
    // _fastInline, else a table of zeros (s_emptyTable), in which the first entry read is not
    // present, so that the fill declines without a test of its own on the path.
    private byte* _walkRam, _walkRoot;
    private static readonly byte* s_emptyTable = (byte*)NativeMemory.AllocZeroed(4096);
    // The fast fill keeps the non-leaf entries it read (for the stale check of every level) only
    // while that check is on; turning it on drops every cached translation (Tlb.StaleCheck).
    private bool _snapshotUpper;
    // Likewise the leaf entry's address and value, kept only while a stale check is on.
    private bool _snapshotLeaf;
    // The 4 KiB array when invlpg may take its one-slot path (it exists, the array is
    // direct-mapped and the large-page arrays are empty), otherwise null: one load both decides
    // and finds the array. _fastInvalidations: invlpgs it served (Tlb.PageInvalidations adds them).
    private TlbEntry* _invlpgEntries;
    internal long _fastInvalidations;
    private readonly bool _fastWalkAllowed;
    private FastWalkMaskTable _fastMasks;
    private ulong _rootTable;
    private readonly ulong _fastLimit, _fastTableMask;
    // Fast fills: one count stands for a miss, a walk and a fill; Tlb and MmuCounters add them
    // in, relative to their values at the last reset. _fastDropped: entries the one-slot invlpg dropped.
    internal long _fastFills, _fastDropped;
    private bool _entry64, _nx;
    private ulong _leafMask, _tableMask;
    private readonly ulong[] _reservedTable = new ulong[5];
    private readonly ulong[] _reservedLarge = new ulong[5];
    private int _largeLevels;

    /// <summary>An MMU over <paramref name="ram"/> (physical address p is ram.Base + p), paging off,
    /// every register zero. The RAM must outlive the MMU.</summary>
    public Mmu(HostMemory ram, MmuOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(ram);
        options ??= new MmuOptions();
        if (options.MaxPhysicalAddressBits is < 36 or > 52)
            throw new ArgumentOutOfRangeException(nameof(options), $"MAXPHYADDR {options.MaxPhysicalAddressBits} is outside 36..52");
        _memory = ram;
        _ram = ram.Base;
        _ramSize = ram.Size;
        _maxPhysBits = options.MaxPhysicalAddressBits;
        Supports1GiBPages = options.Supports1GiBPages;
        HasInvalidatePage = options.HasInvalidatePage;
        _fastWalkAllowed = options.FastWalk;
        _fastLimit = ram.Size == 0 ? 0 : 1UL << (63 - System.Numerics.BitOperations.LeadingZeroCount(ram.Size));
        _fastTableMask = EntryBits.Range(51, 12) & (_fastLimit - 1);
        _tlb = new Tlb(options.Tlb);
        _tlb._owner = this;
        _counters = new MmuCounters(this);
        _smallEntries = (TlbEntry*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_tlb.Small.Entries));
        _smallCopies = (TlbCopies*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_tlb.Small.Copies));
        _smallSetMask = (nuint)_tlb.Small.SetMask;
        _smallWays = _tlb.Small.Ways;
        _smallStride = _tlb.Small.Stride;
        // A set's first slot: the page number times the set's bytes, masked, is the address
        // shifted right by 12 - log2(set bytes). TlbGeometry keeps a set within 4 KiB unless
        // there is one set (then the mask is 0 and the shift does not matter).
        int setBytesLog2 = System.Numerics.BitOperations.Log2((uint)(_smallStride * sizeof(TlbEntry)));
        _smallSlotShift = Math.Max(0, 12 - setBytesLog2);
        _smallSlotMask = _smallSetMask << setBytesLog2;
        if (setBytesLog2 > 12 && _smallSetMask != 0) throw new InvalidOperationException("TLB: a set of the 4 KiB array spans more than 4 KiB");
        if (sizeof(TlbEntry) != 1 << 5) throw new InvalidOperationException("TlbEntry must be 32 bytes (InvalidatePage's one-slot path)");
        Recompute();
    }

    /// <summary>The simulated RAM.</summary>
    public HostMemory Ram => _memory;
    /// <summary>The TLB: counters, violations, stale-check settings.</summary>
    public Tlb Tlb => _tlb;
    /// <summary>Fault and walk counters.</summary>
    public MmuCounters Counters => _counters;
    /// <summary>MAXPHYADDR.</summary>
    public int MaxPhysicalAddressBits => _maxPhysBits;
    /// <summary>1 GiB pages are supported.</summary>
    public bool Supports1GiBPages { get; }
    /// <summary>invlpg exists.</summary>
    public bool HasInvalidatePage { get; }
    /// <summary>The paging mode CR0, CR4 and EFER select.</summary>
    public PagingMode Mode => _mode;
    /// <summary>The last page fault delivered (its address is also in CR2).</summary>
    public PageFault LastFault { get; private set; }
    /// <summary>The <see cref="IArchHooks"/> implementation that drives this MMU.</summary>
    public MmuArchHooks ArchHooks => new(this);

    /// <summary>CR0. Changing PG flushes the whole TLB; enabling PAE paging loads the PDPTEs.</summary>
    public Cr0Flags Cr0 { get => _cr0; set => WriteCr0(value); }
    /// <summary>CR2: the linear address of the last page fault. Writable, as on hardware.</summary>
    public ulong Cr2 { get => _cr2; set => _cr2 = value; }
    /// <summary>CR3. A write flushes every non-global TLB entry (and loads the PDPTEs with PAE).</summary>
    public ulong Cr3 { get => _cr3; set => WriteCr3(value); }
    /// <summary>CR4. Changing PGE, PAE or PSE flushes the whole TLB.</summary>
    public Cr4Flags Cr4 { get => _cr4; set => WriteCr4(value); }
    /// <summary>IA32_EFER; LMA reads as 1 while 4-level paging is active.</summary>
    public EferFlags Efer
    {
        get => _mode == PagingMode.FourLevel ? _efer | EferFlags.LongModeActive : _efer;
        set => WriteEfer(value);
    }

    /// <summary>The CR3 bits that locate the top-level table: 31:5 with PAE paging, else M-1:12
    /// (31:12 for 32-bit paging).</summary>
    public ulong Cr3AddressMask => _mode switch
    {
        PagingMode.Pae => 0xFFFF_FFE0UL,
        PagingMode.Bits32 => 0xFFFF_F000UL,
        _ => EntryBits.Range(_maxPhysBits - 1, 12),
    };

    /// <summary>Loads CR0. Throws MachineFaultException (#GP) for bits 63:32, or for PG = 1 with
    /// EFER.LME = 1 and CR4.PAE = 0 (SDM vol. 3A, 2.5, 9.8.5).</summary>
    public void WriteCr0(Cr0Flags value)
    {
        if (((ulong)value >> 32) != 0) ThrowGp($"CR0 0x{(ulong)value:x}: bits 63:32 are reserved");
        bool paging = (value & Cr0Flags.Paging) != 0;
        if (paging && (_efer & EferFlags.LongModeEnable) != 0 && (_cr4 & Cr4Flags.PhysicalAddressExtension) == 0)
            ThrowGp("CR0.PG = 1 with EFER.LME = 1 requires CR4.PAE = 1");
        PagingMode mode = ModeFor(value, _cr4, _efer);
        bool pagingChanged = ((value ^ _cr0) & Cr0Flags.Paging) != 0;
        if (mode == PagingMode.Pae && pagingChanged) LoadPdptes(_cr3);
        _cr0 = value;
        _mode = mode;
        if (pagingChanged) _tlb.FlushAll();
        Recompute();
    }

    /// <summary>Loads CR4. Throws NotSupportedException for LA57, PCIDE, SMEP, SMAP, PKE and CET
    /// (not modelled), MachineFaultException (#GP) for clearing PAE in 4-level mode or an invalid
    /// PDPTE when PAE paging reloads them.</summary>
    public void WriteCr4(Cr4Flags value)
    {
        const ulong unmodelled = (1UL << 12) | (1UL << 17) | (1UL << 20) | (1UL << 21) | (1UL << 22) | (1UL << 23);
        if (((ulong)value & unmodelled) != 0)
            throw new NotSupportedException($"CR4 0x{(ulong)value:x}: LA57, PCIDE, SMEP, SMAP, PKE and CET are not modelled");
        if (_mode == PagingMode.FourLevel && (value & Cr4Flags.PhysicalAddressExtension) == 0)
            ThrowGp("CR4.PAE cannot be cleared while 4-level paging is active");
        const Cr4Flags flushing = Cr4Flags.PageGlobalEnable | Cr4Flags.PhysicalAddressExtension | Cr4Flags.PageSizeExtensions;
        bool changed = ((value ^ _cr4) & flushing) != 0;
        PagingMode mode = ModeFor(_cr0, value, _efer);
        if (mode == PagingMode.Pae && changed) LoadPdptes(_cr3);
        _cr4 = value;
        _mode = mode;
        if (changed) _tlb.FlushAll();
        Recompute();
    }

    /// <summary>Loads IA32_EFER (LMA is ignored). Throws MachineFaultException (#GP) when LME
    /// changes while paging is on. Changing NXE flushes the TLB (cached rights depend on it).</summary>
    public void WriteEfer(EferFlags value)
    {
        value &= ~EferFlags.LongModeActive;
        if (((value ^ _efer) & EferFlags.LongModeEnable) != 0 && (_cr0 & Cr0Flags.Paging) != 0)
            ThrowGp("EFER.LME cannot change while CR0.PG = 1");
        bool nxChanged = ((value ^ _efer) & EferFlags.NoExecuteEnable) != 0;
        _efer = value;
        _mode = ModeFor(_cr0, _cr4, value);
        if (nxChanged) _tlb.FlushAll();
        Recompute();
    }

    /// <summary>
    /// Loads CR3 and flushes every non-global TLB entry (SDM vol. 3A, 4.10.4.1). With PAE paging
    /// it loads the four PDPTE registers from CR3[31:5] (4.4.1). Throws MachineFaultException
    /// (#GP) for a reserved bit: bits 63:MAXPHYADDR with 4-level paging or paging off, bits 63:32
    /// in the 32-bit modes, or a present PDPTE with a reserved bit.
    /// </summary>
    public void WriteCr3(ulong value)
    {
        if (_mode is PagingMode.Bits32 or PagingMode.Pae)
        {
            if ((value >> 32) != 0) ThrowGp($"CR3 0x{value:x}: 32-bit and PAE paging use a 32-bit CR3");
        }
        else if ((value & EntryBits.Range(63, _maxPhysBits)) != 0)
        {
            ThrowGp($"CR3 0x{value:x}: bits 63:{_maxPhysBits} are reserved (MAXPHYADDR {_maxPhysBits})");
        }
        if (_mode == PagingMode.Pae) LoadPdptes(value);
        _cr3 = value;
        _rootTable = value & EntryBits.Range(_maxPhysBits - 1, 12);
        RefreshFastWalk();
        _tlb.FlushNonGlobal((_cr4 & Cr4Flags.PageGlobalEnable) != 0);
    }

    /// <summary>invlpg: drops the TLB entries for the page containing <paramref name="va"/>, global
    /// ones included, whatever their page size (SDM vol. 3A, 4.10.4.1). Throws
    /// InvalidOperationException (as #UD) when the modelled CPU has no invlpg.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void InvalidatePage(ulong va)
    {
        if (!TryInvalidatePage(va)) InvalidatePageSlow(va);
    }

    /// <summary>invlpg on its one-slot path: when invlpg exists and only the direct-mapped 4 KiB
    /// array can hold an entry (true). Otherwise false, with nothing done: use
    /// <see cref="InvalidatePage"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryInvalidatePage(ulong va)
    {
        TlbEntry* entries = _invlpgEntries;
        if (entries == null) return false;
        // One slot, found with a constant shift (one 32-byte slot per set); a rotate, as the
        // mask drops what it brings round, keeps va in its register.
        _fastInvalidations++;
        TlbEntry* e = (TlbEntry*)((byte*)entries + ((nuint)BitOperations.RotateRight(va, 12 - 5) & _smallSlotMask));
        if (e->Tag == (va | 0xFFF))
        {
            e->Tag = 0;
            _fastDropped++;
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void InvalidatePageSlow(ulong va)
    {
        if (!HasInvalidatePage) throw new InvalidOperationException("invlpg is not available on this CPU model (#UD): reload CR3 instead");
        _tlb._pageInvalidations++;
        _tlb.DropPage(va);
    }

    /// <summary>Drops every TLB entry, global ones included, as toggling CR4.PGE does.</summary>
    public void FlushAll() => _tlb.FlushAll();

    /// <summary>
    /// Switches to <paramref name="mode"/> with the top-level table at <paramref name="topLevelTable"/>
    /// in the order hardware requires (SDM vol. 3A, 9.8.5): paging off, CR4.PAE and EFER.LME for the
    /// mode, CR3, paging on. WP, PSE, PGE and NXE keep their current values.
    /// </summary>
    public void EnablePaging(PagingMode mode, ulong topLevelTable)
    {
        Cr0 = _cr0 & ~Cr0Flags.Paging;
        if (mode == PagingMode.Disabled) return;
        Cr4 = mode == PagingMode.Bits32 ? _cr4 & ~Cr4Flags.PhysicalAddressExtension : _cr4 | Cr4Flags.PhysicalAddressExtension;
        Efer = mode == PagingMode.FourLevel ? _efer | EferFlags.LongModeEnable : _efer & ~EferFlags.LongModeEnable;
        Cr3 = topLevelTable;
        Cr0 = _cr0 | Cr0Flags.Paging;
    }

    private static PagingMode ModeFor(Cr0Flags cr0, Cr4Flags cr4, EferFlags efer)
    {
        if ((cr0 & Cr0Flags.Paging) == 0) return PagingMode.Disabled;
        if ((cr4 & Cr4Flags.PhysicalAddressExtension) == 0) return PagingMode.Bits32;
        return (efer & EferFlags.LongModeEnable) != 0 ? PagingMode.FourLevel : PagingMode.Pae;
    }

    /// <summary>Reads the four PDPTEs at CR3[31:5] into the PDPTE registers (SDM vol. 3A, 4.4.1);
    /// a present PDPTE with bits 2:1, 8:5 or 63:MAXPHYADDR set is a #GP and loads nothing.</summary>
    private void LoadPdptes(ulong cr3)
    {
        ulong table = cr3 & 0xFFFF_FFE0UL;
        ulong reserved = EntryBits.Range(63, _maxPhysBits) | EntryBits.Range(2, 1) | EntryBits.Range(8, 5);
        Span<ulong> loaded = stackalloc ulong[4];
        for (int i = 0; i < 4; i++)
        {
            ulong pa = table + (ulong)i * 8;
            ulong raw = ReadPhysical64(pa);
            if ((raw & EntryBits.Present) != 0 && (raw & reserved) != 0)
                ThrowGp($"PAE PDPTE {i} at physical 0x{pa:x} = 0x{raw:x} sets reserved bits 0x{raw & reserved:x}; the PDPTE registers are not loaded");
            loaded[i] = raw;
        }
        for (int i = 0; i < 4; i++) _pdpte[i] = _pdpteNoted[i] = loaded[i];
    }

    /// <summary>Derives the walk parameters, reserved-bit masks and per-access required rights from
    /// the registers (SDM vol. 3A, Tables 4-4..4-6, 4-8..4-11, 4-14..4-19).</summary>
    internal void Recompute()
    {
        _entry64 = _mode is PagingMode.Pae or PagingMode.FourLevel;
        _nx = _entry64 && (_efer & EferFlags.NoExecuteEnable) != 0;
        bool wp = (_cr0 & Cr0Flags.WriteProtect) != 0;
        uint x = _nx ? TlbRights.Execute : 0;
        const uint u = TlbRights.User, w = TlbRights.Write, d = TlbRights.Dirty;
        _required = Pack(AccessKind.Read, Privilege.Supervisor, 0)
                  | Pack(AccessKind.Read, Privilege.User, u)
                  | Pack(AccessKind.Write, Privilege.Supervisor, d | (wp ? w : 0))
                  | Pack(AccessKind.Write, Privilege.User, d | w | u)
                  | Pack(AccessKind.Fetch, Privilege.Supervisor, x)
                  | Pack(AccessKind.Fetch, Privilege.User, x | u);
        _hitRequired = _required | (_tlb._staleCheck == StaleCheck.Off ? 0 : 0x0101_0101_0101UL * TlbRights.Checked);

        Array.Clear(_reservedTable);
        Array.Clear(_reservedLarge);
        _largeLevels = 0;
        int m = _maxPhysBits;
        ulong nx = _nx ? 0 : EntryBits.NoExecute;
        switch (_mode)
        {
            case PagingMode.FourLevel:
            {
                ulong high = EntryBits.Range(51, m) | nx;
                _reservedTable[4] = high | EntryBits.PageSize;      // PML4E.PS is reserved
                _reservedTable[3] = high;
                _reservedLarge[3] = Supports1GiBPages ? high | EntryBits.Range(29, 13) : EntryBits.PageSize;
                _reservedTable[2] = high;
                _reservedLarge[2] = high | EntryBits.Range(20, 13);
                _reservedTable[1] = high;
                _largeLevels = (1 << 3) | (1 << 2);
                break;
            }
            case PagingMode.Pae:
            {
                ulong high = EntryBits.Range(62, m) | nx;
                _reservedTable[2] = high;
                _reservedLarge[2] = high | EntryBits.Range(20, 13);
                _reservedTable[1] = high;
                _largeLevels = 1 << 2;
                break;
            }
            case PagingMode.Bits32:
                // Only a 4 MiB PDE has reserved bits: 21:(M-19), M = min(MAXPHYADDR, 40) (PSE-36).
                _reservedLarge[2] = EntryBits.Range(21, Math.Min(m, 40) - 19);
                if ((_cr4 & Cr4Flags.PageSizeExtensions) != 0) _largeLevels = 1 << 2;
                break;
        }
        // A hit re-checks every bit the hardware interprets: Accessed and the software bits are
        // left out, and for non-leaf entries also bit 6 and bit 8, which they ignore.
        _leafMask = ~(EntryBits.Accessed | EntryBits.SoftwareLow | EntryBits.SoftwareHigh);
        _tableMask = _leafMask & ~(EntryBits.Dirty | EntryBits.Global);
        _tlb.Large.Shift = _mode == PagingMode.Bits32 ? 22 : 21;

        // The fast walk's masks. With 4-level paging PML4E.PS is reserved and a PDPTE or PDE with
        // PS = 1 maps a large page (or is reserved): the fast walk leaves all three to the slow
        // path, as it does tables at or above _fastLimit (so it never reads outside RAM).
        // TlbRights.Write and User are the R/W and U/S bits; Execute needs XD (bit 63) clear.
        ulong beyond = EntryBits.Range(51, 12) & ~(_fastLimit - 1);
        // The fast fill also leaves non-leaf entries with XD = 1 to the slow path (its rights take
        // XD from the PTE).
        ulong upperMustClear = _reservedTable[4] | _reservedTable[3] | _reservedTable[2] | EntryBits.PageSize | beyond | EntryBits.NoExecute;
        for (int i = 0; i < 6; i++)
        {
            uint need = (uint)(_required >> (i * 8)) & 0xFF;
            ulong writeUser = need & (TlbRights.Write | TlbRights.User);
            ulong noXd = (need & TlbRights.Execute) != 0 ? EntryBits.NoExecute : 0;
            ulong leafMustSet = EntryBits.Present | writeUser, leafMustClear = _reservedTable[1] | noXd;
            _fastMasks[i] = new FastWalkMasks
            {
                UpperMustSet = EntryBits.Present | EntryBits.Accessed | writeUser,
                UpperMustClear = upperMustClear,
                LeafMustSet = leafMustSet,
                LeafTested = leafMustSet | leafMustClear,
            };
        }
        RefreshFastWalk();
    }

    /// <summary>Re-derives whether the fast walk may run: after a register load, and when the
    /// large-page arrays of the TLB gain or lose entries.</summary>
    internal void RefreshFastWalk()
    {
        _fastWalk = _fastWalkAllowed && _mode == PagingMode.FourLevel && _rootTable < _fastLimit && !_tlb._largeMayHold;
        _snapshotUpper = _tlb._staleCheck == StaleCheck.AllLevels;
        _snapshotLeaf = _tlb._staleCheck != StaleCheck.Off;
        _fastInline = _fastWalk && _smallWays == 1 && !_snapshotLeaf;
        _walkRam = _fastInline ? _ram : s_emptyTable;
        _walkRoot = _fastInline ? _ram + _rootTable : s_emptyTable;
        _invlpgEntries = HasInvalidatePage && _smallWays == 1 && !_tlb._largeMayHold ? _smallEntries : null;
    }

    /// <summary>The first slot of <paramref name="va"/>'s set in the 4 KiB array.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private TlbEntry* SmallSlot(ulong va) => (TlbEntry*)((byte*)_smallEntries + ((nuint)(va >> _smallSlotShift) & _smallSlotMask));

    private static ulong Pack(AccessKind access, Privilege privilege, uint rights) =>
        (ulong)rights << (((int)access * 2 + (int)privilege) * 8);

    /// <summary>The <see cref="TlbRights"/> an access needs under the current CR0.WP and EFER.NXE.</summary>
    private uint Required(AccessKind access, Privilege privilege) =>
        (uint)(_required >> (((int)access * 2 + (int)privilege) * 8)) & 0xFF;

    [DoesNotReturn]
    private static void ThrowGp(string message) =>
        throw new MachineFaultException(AccessStatus.GeneralProtection, default, "#GP: " + message);
}
