using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Paging;

namespace SharpMM.Kernel;

/// <summary>
/// The stack kmain moves to once the final directory is live (i386-higher-half's kernel-stack
/// region, 0xFF400000-0xFFBFFFFF, grows down): 256 KiB of buddy frames (kernel class, not
/// contiguous) at the top of the region, read-write, with the page below left unmapped as a guard.
/// <code>
///   0xFFBBF000  Guard    not present (4 KiB)
///   0xFFBC0000  Bottom   stack pages, RW
///   0xFFC00000  Top      initial esp (the recursive window starts here)
/// </code>
/// A single touch of the guard is a #PF the dispatcher names; running into it with a call is a
/// #DF, and without a task gate for #DF that is a triple fault (QEMU exits with status 0).
/// </summary>
internal static unsafe class KernelStack
{
    public const ulong Size = 256UL << 10;
    public const ulong Top = 0xFFC00000;
    public const ulong Bottom = Top - Size;
    public const ulong Guard = Bottom - PageSize.Bytes;

    /// <summary>True once the pages are mapped.</summary>
    public static bool Mapped { get; private set; }

    /// <summary>True when <paramref name="va"/> lies in the guard page (once the stack exists).</summary>
    public static bool IsGuard(ulong va) => Mapped && va >= Guard && va < Guard + PageSize.Bytes;

    /// <summary>Maps the stack pages (one order-0 frame each) into <paramref name="mapper"/>,
    /// adding the changes to <paramref name="batch"/>. Panics when memory runs out.</summary>
    public static void Map(ref Mapper<I386Format, DirectMapTableAccess> mapper, ref FlushBatch batch)
    {
        KernelFrames frames = default;
        for (ulong va = Bottom; va < Top; va += PageSize.Bytes)
        {
            if (frames.Allocate(0, out Pfn pfn) != Status.Ok) KernelPanic.Fail("kernel stack: out of memory");
            Status s = mapper.Map(VirtAddr.NewUnchecked(va), pfn.ToAddr(), MappingSize.Size4KiB, PageFlags.Writable, ref frames, out FlushToken token);
            if (s != Status.Ok) KernelPanic.Fail("kernel stack: map failed, status", (ulong)s);
            batch.Add(in token);
        }
        Mapped = true;
        // The boot CPU's stack from now on: Cpu.Current answers from the stack pointer on it.
        Cpu.MapStack(0, Bottom, Top);
    }
}
