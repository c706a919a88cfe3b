using SharpMM.Addressing;
using SharpMM.Paging;

namespace SharpMM.Kernel;

/// <summary>
/// Temporary mappings of single frames, for the frames the direct map does not reach (HighMem,
/// above <see cref="Platform.DirectMapLimit"/>): a window of <see cref="Slots"/> pages at
/// <see cref="WindowStart"/>, at the top of the i386-higher-half layout's kernel-heap region
/// (above the direct map's end at 0xF8000000). Its page table is made once,
/// by the library (<see cref="Init"/> maps the window's first page, the zero page, for good);
/// a kmap then writes the slot's PTE through the recursive slot and invalidates the slot's TLB
/// entry (invlpg), since the slot may still translate to the frame it held before.
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
    private const uint PtePresentWritable = 0x3;

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
        s_ready = true;
    }

    /// <summary>The frame at <paramref name="phys"/> (page aligned), mapped read-write in a free slot.</summary>
    public static byte* Map(ulong phys)
    {
        if (!s_ready) KernelPanic.Fail("kmap before Kmap.Init");
        if ((phys & PageSize.OffsetMask) != 0 || phys > 0xFFFFF000UL) KernelPanic.Fail("kmap: not a 32-bit page address", phys);
        int slot = s_next;
        s_next = s_next + 1 == Slots ? 1 : s_next + 1;
        ulong va = WindowStart + (ulong)slot * PageSize.Bytes;
        *Pte(va) = (uint)phys | PtePresentWritable;
        Arch.Invlpg((uint)va);
        Count++;
        return (byte*)(nuint)va;
    }

    /// <summary>Ends a mapping <see cref="Map"/> made.</summary>
    public static void Unmap(byte* p)
    {
        ulong va = (ulong)(nuint)p & ~PageSize.OffsetMask;
        if (va <= WindowStart || va >= WindowStart + Slots * PageSize.Bytes) KernelPanic.Fail("kunmap: not a kmap address", va);
        *Pte(va) = 0;
        Arch.Invlpg((uint)va);
    }

    private static uint* Pte(ulong va) => (uint*)(nuint)(KernelAddressSpace.PageTablesBase + 4 * (va >> 12));
}
