using SharpMM.Addressing;
using SharpMM.Paging;

namespace SharpMM.Kernel;

/// <summary>
/// Temporary mappings of single frames, for the frames the direct map does not reach (HighMem,
/// above <see cref="Platform.DirectMapLimit"/>), in the manner of Linux's kmap_local: a window
/// of <see cref="WindowPages"/> pages at <see cref="WindowStart"/>, at the top of the
/// i386-higher-half layout's kernel-heap region (above the direct map's end at 0xF8000000),
/// every CPU with <see cref="SlotsPerCpu"/> slots of its own:
/// <code>
///   0xFF000000                      slot 0: the zero page, read-only, shared by every CPU
///   0xFF001000 + 64 KiB * cpu       cpu's slots 0..15, taken as a stack (depth in its PerCpu area)
///   0xFF0F1000                      end (15 CPUs: PerCpus.MaxCpus)
/// </code>
/// Its page table is made once, by the library (<see cref="Init"/> maps the window's first page,
/// the zero page, for good); a kmap then writes the slot's PTE (the library's format: 4-byte legacy
/// or 8-byte PAE entries, execute-disable under PAE with NX) through the recursive slot, or with
/// PAE through the direct map, and invalidates the slot's TLB entry (invlpg), since the slot may
/// still translate to the frame it held before. With PAE a slot reaches any frame below 64 GiB, so
/// HighMem above 4 GiB too.
/// <code>
///   byte* p = Kmap.Map(phys);   ... p[0..4095] is the frame ...   Kmap.Unmap(p);
/// </code>
/// Several CPUs: a slot is only ever mapped, read and unmapped by the CPU that owns it, so the
/// invlpg on that CPU is all the TLB maintenance it needs (no shootdown): no other CPU touches
/// the address, so none holds a translation of it. The contract is Linux's for kmap_local:
/// a mapping is ended on the CPU that made it (the kernel never moves running code between
/// CPUs), in reverse order of the kmaps (a stack per CPU), and a CPU holds at most
/// <see cref="SlotsPerCpu"/> at once; breaking any of these is a kernel bug and panics, naming
/// the CPU. The callers hold few: user memory at most two (copy-on-write's source and copy,
/// HighPages), the others one. No interrupt handler kmaps (Interrupts.cs: the timer, the request
/// IPI's TLB shootdowns and cache drains), and interrupts are off in kernel code; the page-fault
/// handler does (user memory's HighMem pages, DemandPaging) and may run while the faulting code
/// holds slots: it takes the next ones and ends them before it returns, so the stack stays in
/// order. The library is not told of these PTEs (it never unmaps in the window, so its table stays).
/// </summary>
internal static unsafe class Kmap
{
    public const ulong WindowStart = 0xFF000000;
    /// <summary>Slots each CPU owns: how many kmaps it may hold at once (Linux's KM_MAX_IDX).</summary>
    public const int SlotsPerCpu = 16;
    /// <summary>The window: the zero page, then <see cref="SlotsPerCpu"/> slots for each CPU the
    /// kernel can run (241 pages: one page table, 1,024 entries legacy, 512 with PAE).</summary>
    public const int WindowPages = 1 + PerCpus.MaxCpus * SlotsPerCpu;
    public const ulong WindowEnd = WindowStart + (ulong)WindowPages * PageSize.Bytes;
    /// <summary>Entries left in the window's page table (PAE's 512 the fewer): a window that
    /// outgrew the table would make this constant negative, which does not compile.</summary>
    private const uint SpareTableEntries = 512 - WindowPages;

    /// <summary>The window's page table (see <see cref="WindowTable"/>).</summary>
    private static byte* s_table;
    private static bool s_ready;

    /// <summary>The zero page: a zeroed low frame mapped read-only at <see cref="WindowStart"/>.</summary>
    public static ulong ZeroPagePhys { get; private set; }

    /// <summary>Makes the window's page table (through the live mapper). Panics on failure.</summary>
    public static void Init()
    {
        KernelFrames frames = default;
        if (frames.Allocate(0, out Pfn zero) != Status.Ok) KernelPanic.Fail("kmap: no frame for the zero page");
        byte* z = Platform.DirectMap.ToVirt(zero.ToAddr().Value);
        for (ulong i = 0; i < PageSize.Bytes; i++) z[i] = 0;
        Status s = KernelAddressSpace.Live.Map(VirtAddr.NewUnchecked(WindowStart), zero.ToAddr(), MappingSize.Size4KiB, PageFlags.None, ref frames, out FlushToken token);
        if (s != Status.Ok) KernelPanic.Fail("kmap: mapping the window failed, status", (ulong)s);
        token.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
        ZeroPagePhys = zero.ToAddr().Value;
        s_table = WindowTable();
        s_ready = true;
    }

    /// <summary>The address of slot <paramref name="slot"/> of CPU <paramref name="cpu"/>.</summary>
    public static ulong SlotAddress(int cpu, int slot) => WindowStart + (ulong)(1 + cpu * SlotsPerCpu + slot) * PageSize.Bytes;

    /// <summary>kmaps the running CPU holds now.</summary>
    public static int Held => PerCpus.Current->KmapDepth;

    /// <summary>The frame at <paramref name="phys"/> (page aligned), mapped read-write in the
    /// running CPU's next slot. Panics when that CPU holds all its slots.</summary>
    public static byte* Map(ulong phys)
    {
        if (!s_ready) KernelPanic.Fail("kmap before Kmap.Init");
        if ((phys & PageSize.OffsetMask) != 0 || phys >= PagingMode.PhysLimit) KernelPanic.Fail("kmap: not a page address the tables can map", phys);
        PerCpu* cpu = PerCpus.Current;
        int depth = cpu->KmapDepth;
        if (depth == SlotsPerCpu) KernelPanic.Fail("kmap: every slot of this cpu taken (16 kmaps not ended: one missing, or too many at once); cpu", (ulong)cpu->Index);
        // Taken before the PTE is written, so that a handler which kmaps on this CPU in between
        // (none does) takes the slot above and ends it before this one is used.
        cpu->KmapDepth = depth + 1;
        ulong va = SlotAddress(cpu->Index, depth);
        I386Format.Write(s_table, SlotIndex(va), I386Format.MakeLeaf(0, phys, PageFlags.Writable));
        Arch.Invlpg((uint)va);
        return (byte*)(nuint)va;
    }

    /// <summary>Ends a mapping <see cref="Map"/> made: on the same CPU, the last one it still holds.</summary>
    public static void Unmap(byte* p)
    {
        ulong va = (ulong)(nuint)p & ~PageSize.OffsetMask;
        if (va <= WindowStart || va >= WindowEnd) KernelPanic.Fail("kunmap: not a kmap address", va);
        PerCpu* cpu = PerCpus.Current;
        int depth = cpu->KmapDepth;
        ulong first = SlotAddress(cpu->Index, 0);
        if (va < first || va >= first + SlotsPerCpu * PageSize.Bytes)
            KernelPanic.Fail("kunmap: a slot of another cpu (a kmap is ended on the cpu that made it), address", va);
        if (depth == 0 || va != first + (ulong)(depth - 1) * PageSize.Bytes)
            KernelPanic.Fail("kunmap: not this cpu's last kmap (kmaps end in reverse order), address", va);
        I386Format.Write(s_table, SlotIndex(va), 0);
        Arch.Invlpg((uint)va);
        cpu->KmapDepth = depth - 1;
    }

    /// <summary>The window's page table as the kernel reaches it: with legacy paging its window
    /// in the recursive slot (0xFFC00000 + 4096 * (va &gt;&gt; 22)); with PAE its direct-map
    /// address, found by walking the tables once (a table frame is low memory).</summary>
    private static byte* WindowTable()
    {
        if (!PagingMode.Pae) return (byte*)(nuint)(KernelAddressSpace.PageTablesBase + PageSize.Bytes * (WindowStart >> 22));
        DirectMap dm = Platform.DirectMap;
        byte* table = dm.ToVirt(KernelAddressSpace.Live.RootPhys);
        for (int level = I386Format.Levels - 1; level > 0; level--)
        {
            ulong e = I386Format.Read(table, (int)((WindowStart >> I386Format.IndexShift(level)) & (ulong)(I386Format.EntriesPerTable(level) - 1)));
            if (!I386Format.PointsToTable(level, e)) KernelPanic.Fail("kmap: the window has no page table at level", (ulong)level);
            table = dm.ToVirt(I386Format.TableAddress(e));
        }
        return table;
    }

    private static int SlotIndex(ulong va) => (int)((va >> 12) & (ulong)(I386Format.EntriesPerTable(0) - 1));
}
