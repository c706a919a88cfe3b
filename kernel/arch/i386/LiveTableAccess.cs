using SharpMM.Addressing;
using SharpMM.Paging;

namespace SharpMM.Kernel;

/// <summary>
/// How the running i386 kernel reaches its own page tables, by paging mode:
/// <list type="bullet">
/// <item>legacy paging: through the recursive slot PD[1023] (the directory at 0xFFFFF000, the
/// table for va at 0xFFC00000 + 4096 * (va &gt;&gt; 22)), the layout's design;</item>
/// <item>PAE: through the direct map of low memory. PAE's top table is the four-entry PDPT, so
/// no single entry maps the tables (the library's RecursiveTableAccess refuses the format); every
/// table frame comes from the low zones (kernel class, below 896 MiB), which the direct map
/// reaches at 0xC0000000 + phys, so this costs no window and no TLB maintenance of its own.</item>
/// </list>
/// A new table (zeroed, or filled by a large page's split) is written before it is linked, when
/// it has no recursive address yet: in both modes through the direct map, as Linux does. Table
/// frames are low memory (KernelFrames' kernel class), which the direct map reaches on every
/// CPU at once. (The recursive access's alternative, a scratch page the frame is mapped at while
/// it is filled, is one page for all CPUs: the vmalloc area's mapper, under the kernel-virtual
/// lock, and phantom's object-space fault handler, under none, add tables in different 4 MiB
/// spans and could both take it at once.)
/// </summary>
internal unsafe struct LiveTableAccess : ITableAccess
{
    private bool _direct;
    private RecursiveTableAccess<I386Format, KernelAddressSpace.KernelWindow> _recursive;
    private DirectMapTableAccess _map;

    public static LiveTableAccess Recursive(RecursiveTableAccess<I386Format, KernelAddressSpace.KernelWindow> access, DirectMap map) =>
        new LiveTableAccess { _recursive = access, _map = new DirectMapTableAccess(map) };

    public static LiveTableAccess DirectMapped(DirectMap map) => new LiveTableAccess { _direct = true, _map = new DirectMapTableAccess(map) };

    /// <summary>True when the tables are reached through the direct map (PAE).</summary>
    public readonly bool IsDirect => _direct;

    public byte* Table(ulong tablePhys, int level, ulong va) => _direct ? _map.Table(tablePhys, level, va) : _recursive.Table(tablePhys, level, va);
    public byte* BeginUnlinked(ulong framePhys)
    {
        if (framePhys >= Platform.DirectMapLimit) KernelPanic.Fail("live tables: a table frame beyond the direct map", framePhys);
        return _map.BeginUnlinked(framePhys);
    }
    public void EndUnlinked(ulong framePhys) => _map.EndUnlinked(framePhys);
    public void Linked(int level, ulong va)
    {
        if (!_direct) _recursive.Linked(level, va);
    }
    public void Unlinked(int level, ulong va)
    {
        if (!_direct) _recursive.Unlinked(level, va);
    }
    public bool OverlapsReserved(ulong first, ulong last) => !_direct && _recursive.OverlapsReserved(first, last);
    public bool WithinReserved(ulong first, ulong last) => !_direct && _recursive.WithinReserved(first, last);
}
