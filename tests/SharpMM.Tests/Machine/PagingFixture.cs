using System;
using SharpMM.Hosted;
using SharpMM.Hosted.Machine;

namespace SharpMM.Tests.Machine;

/// <summary>
/// Simulated RAM, an MMU over it, and a hand-written table builder: entries are raw numbers the
/// test composes from the bits below (taken from the SDM, not from the library or the model), so
/// the tests check the model against the manual.
///
///   physical layout (default 64 MiB):
///   [0x0010_0000, ...)   page tables, bump-allocated and zeroed
///   [0x0100_0000, ...)   data frames the tests map (Frame(n) = 16 MiB + n * 4 KiB)
/// </summary>
internal sealed unsafe class PagingFixture : IDisposable
{
    public const ulong P = 1, RW = 1 << 1, US = 1 << 2, PWT = 1 << 3, PCD = 1 << 4, A = 1 << 5, D = 1 << 6,
        PS = 1 << 7, G = 1 << 8, NX = 1UL << 63;
    public const ulong KiB4 = 1UL << 12, MiB2 = 1UL << 21, MiB4 = 1UL << 22, GiB1 = 1UL << 30;

    public readonly HostMemory Ram;
    public readonly Mmu Mmu;
    public PagingMode Mode { get; private set; }
    public ulong Root { get; private set; }
    private ulong _nextTable = 0x10_0000;

    public PagingFixture(MmuOptions? options = null, ulong ramBytes = 64UL << 20)
    {
        Ram = new HostMemory(ramBytes);
        Mmu = new Mmu(Ram, options);
    }

    public void Dispose() => Ram.Dispose();

    /// <summary>Physical address of data frame <paramref name="n"/>.</summary>
    public static ulong Frame(int n) => 0x100_0000UL + (ulong)n * KiB4;

    /// <summary>A zeroed page for a table.</summary>
    public ulong NewTable()
    {
        ulong pa = _nextTable;
        _nextTable += KiB4;
        new Span<byte>(Ram.Base + pa, 4096).Clear();
        return pa;
    }

    public ulong Get(ulong pa) => Mode == PagingMode.Bits32 ? *(uint*)(Ram.Base + pa) : *(ulong*)(Ram.Base + pa);
    public void Set(ulong pa, ulong value)
    {
        if (Mode == PagingMode.Bits32) *(uint*)(Ram.Base + pa) = checked((uint)value);
        else *(ulong*)(Ram.Base + pa) = value;
    }

    public ulong Peek64(ulong pa) => *(ulong*)(Ram.Base + pa);
    public void Poke64(ulong pa, ulong value) => *(ulong*)(Ram.Base + pa) = value;

    /// <summary>Starts a fresh top-level table for <paramref name="mode"/> (not yet loaded).</summary>
    public void Start(PagingMode mode)
    {
        Mode = mode;
        Root = NewTable();
    }

    /// <summary>Builds tables for <paramref name="mode"/> with <paramref name="build"/>, then
    /// loads them (PAE PDPTEs are read at that moment).</summary>
    public void Boot(PagingMode mode, Action<PagingFixture> build, Cr0Flags cr0 = Cr0Flags.WriteProtect,
        Cr4Flags cr4 = Cr4Flags.None, EferFlags efer = EferFlags.None)
    {
        Start(mode);
        build(this);
        Mmu.Cr0 = cr0;
        Mmu.Cr4 = cr4;
        Mmu.Efer = efer;
        Mmu.EnablePaging(mode, Root);
    }

    private int TopLevel => Mode switch { PagingMode.FourLevel => 4, PagingMode.Pae => 3, _ => 2 };
    private int IndexBits => Mode == PagingMode.Bits32 ? 10 : 9;
    private ulong EntrySize => Mode == PagingMode.Bits32 ? 4UL : 8UL;

    private ulong IndexAt(ulong va, int level)
    {
        if (Mode == PagingMode.Pae && level == 3) return (va >> 30) & 3;
        int shift = 12 + (level - 1) * IndexBits;
        return (va >> shift) & ((1UL << IndexBits) - 1);
    }

    private ulong TableAddress(ulong entry) => Mode == PagingMode.Bits32 ? entry & 0xFFFF_F000UL : entry & 0x000F_FFFF_FFFF_F000UL;

    /// <summary>
    /// Writes <paramref name="value"/> as the entry at <paramref name="level"/> (1 = PTE .. 4 =
    /// PML4E) for <paramref name="va"/>, creating missing tables above it with
    /// <paramref name="tableFlags"/> (a PAE PDPTE gets P only). Returns the entry's address.
    /// </summary>
    public ulong SetEntry(ulong va, int level, ulong value, ulong tableFlags = P | RW | US)
    {
        ulong table = Root;
        for (int l = TopLevel; ; l--)
        {
            ulong ea = table + IndexAt(va, l) * EntrySize;
            if (l == level)
            {
                Set(ea, value);
                return ea;
            }
            ulong current = Get(ea);
            if ((current & P) == 0)
            {
                current = NewTable() | (Mode == PagingMode.Pae && l == 3 ? P : tableFlags);
                Set(ea, current);
            }
            table = TableAddress(current);
        }
    }

    /// <summary>Address of the existing entry at <paramref name="level"/> for <paramref name="va"/>.</summary>
    public ulong EntryAddress(ulong va, int level)
    {
        ulong table = Root;
        for (int l = TopLevel; ; l--)
        {
            ulong ea = table + IndexAt(va, l) * EntrySize;
            if (l == level) return ea;
            table = TableAddress(Get(ea));
        }
    }

    public ulong Map4K(ulong va, ulong pa, ulong flags, ulong tableFlags = P | RW | US) => SetEntry(va, 1, pa | flags, tableFlags);
    public ulong MapLarge(ulong va, ulong pa, ulong flags, ulong tableFlags = P | RW | US) => SetEntry(va, 2, pa | flags | PS, tableFlags);
    public ulong Map1G(ulong va, ulong pa, ulong flags, ulong tableFlags = P | RW | US) => SetEntry(va, 3, pa | flags | PS, tableFlags);

    /// <summary>Translate that asserts nothing: the result and the address.</summary>
    public (TranslationResult Result, ulong Pa) T(ulong va, AccessKind access = AccessKind.Read, Privilege privilege = Privilege.Supervisor)
    {
        TranslationResult r = Mmu.Translate(va, access, privilege, out ulong pa);
        return (r, pa);
    }
}
