using SharpMM.Addressing;
using SharpMM.Paging;

namespace SharpMM.Kernel;

/// <summary>
/// Temporary mappings of single frames, for the frames the direct map does not reach (HighMem,
/// above <see cref="Platform.DirectMapLimit"/>): a window of <see cref="Slots"/> pages at
/// <see cref="WindowStart"/>, at the top of the i386-higher-half layout's kernel-heap region
/// (above the direct map's end at 0xF8000000). Its page table is made once,
/// by the library (<see cref="Init"/> maps the window's first page, the zero page, for good);
/// a kmap then writes the slot's PTE (the library's format: 4-byte legacy or 8-byte PAE entries,
/// execute-disable under PAE with NX) through the recursive slot, or with PAE through the
/// direct map, and invalidates the slot's TLB entry (invlpg), since the slot may still translate
/// to the frame it held before. With PAE a slot reaches any frame below 64 GiB, so HighMem
/// above 4 GiB too.
/// <code>
///   byte* p = Kmap.Map(phys);   ... p[0..4095] is the frame ...   Kmap.Unmap(p);
/// </code>
/// One CPU, no interrupts: slots are taken round-robin and a caller holds at most a few at once.
/// The library is not told of these PTEs (it never unmaps in the window, so its table stays).
/// </summary>
internal static unsafe class Kmap
{
    public const ulong WindowStart = 0xFF000000;
    public const int Slots = 16;
    /// <summary>The window's page table (see <see cref="WindowTable"/>).</summary>
    private static byte* s_table;

    private static int s_next = 1;
    private static bool s_ready;

    /// <summary>The zero page: a zeroed low frame mapped read-only at <see cref="WindowStart"/>.</summary>
    public static ulong ZeroPagePhys { get; private set; }

    /// <summary>kmaps done since boot.</summary>
    public static ulong Count;

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

    /// <summary>The frame at <paramref name="phys"/> (page aligned), mapped read-write in a free slot.</summary>
    public static byte* Map(ulong phys)
    {
        if (!s_ready) KernelPanic.Fail("kmap before Kmap.Init");
        if ((phys & PageSize.OffsetMask) != 0 || phys >= PagingMode.PhysLimit) KernelPanic.Fail("kmap: not a page address the tables can map", phys);
        int slot = s_next;
        s_next = s_next + 1 == Slots ? 1 : s_next + 1;
        ulong va = WindowStart + (ulong)slot * PageSize.Bytes;
        I386Format.Write(s_table, SlotIndex(va), I386Format.MakeLeaf(0, phys, PageFlags.Writable));
        Arch.Invlpg((uint)va);
        Count++;
        return (byte*)(nuint)va;
    }

    /// <summary>Ends a mapping <see cref="Map"/> made.</summary>
    public static void Unmap(byte* p)
    {
        ulong va = (ulong)(nuint)p & ~PageSize.OffsetMask;
        if (va <= WindowStart || va >= WindowStart + Slots * PageSize.Bytes) KernelPanic.Fail("kunmap: not a kmap address", va);
        I386Format.Write(s_table, SlotIndex(va), 0);
        Arch.Invlpg((uint)va);
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
