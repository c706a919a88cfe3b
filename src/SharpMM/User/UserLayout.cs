using SharpMM.Virtual;

namespace SharpMM.User;

/// <summary>
/// Where user space is in a layout and how a process is laid out in it; the kernel half's
/// top-level entries that every address space shares.
/// <code>
///   i386-higher-half (classic i386, 32-bit)    x86-64 (4-level)
///   0x00000000  guard (page 0 never mapped)     0x0000000000000000  guard
///   0x08048000  text, data, then brk heap ^     0x0000000000400000  text, data, then brk heap ^
///   0x40000000  mmap area (libraries) ^         0x0000100000000000  mmap area ^
///               ... guard gap ...                                   ... guard gap ...
///   0xbf800000  stack (v), 8 MiB at most        0x00007ffffffff000  stack (v) top, 8 MiB at most
///   0xc0000000  kernel: PDEs 768..1023 shared   0xffff800000000000  kernel: PML4Es 256..511 shared
///               (1023 is the self-map: each                         (the direct map, vmalloc,
///               space points it at itself)                          the image)
/// </code>
/// The guard gap (Linux's stack_guard_gap, 256 pages) is kept between the stack and the region
/// below it: the stack never grows into it, and a fault there is a fault result.
/// </summary>
public struct UserLayout
{
    /// <summary>Lowest user address (page 0 is never user memory).</summary>
    public ulong UserStart;
    /// <summary>One past the highest user address.</summary>
    public ulong UserEnd;
    /// <summary>Where the program text goes.</summary>
    public ulong TextBase;
    /// <summary>Where mmap without an address starts looking (bottom up).</summary>
    public ulong MmapBase;
    /// <summary>One past the stack's first page.</summary>
    public ulong StackTop;
    /// <summary>Most bytes the stack may grow to (RLIMIT_STACK).</summary>
    public ulong StackMaxBytes;
    /// <summary>Bytes kept unmapped below the stack's limit and between the stack and the region under it.</summary>
    public ulong GuardGapBytes;
    /// <summary>First top-level index of the kernel half.</summary>
    public int KernelFirstIndex;
    /// <summary>One past the last top-level index of the kernel half.</summary>
    public int KernelEndIndex;
    /// <summary>Top-level index of the recursive self-map, -1 for none.</summary>
    public int RecursiveIndex;
    /// <summary>mmap places a region without a usable hint at the lowest free range from
    /// <see cref="MmapBase"/> up (Linux's legacy layout, the classic i386 one), instead of the
    /// highest free range below the stack's reach (top-down, Linux's default on x86-64).</summary>
    public bool MmapBottomUp;

    /// <summary>The classic i386 user space: below 0xC0000000, text at 0x08048000, mmap
    /// bottom-up from 0x40000000 (Linux's legacy layout), an 8 MiB stack below 0xC0000000;
    /// kernel PDEs 768-1023, the self-map at 1023.</summary>
    public static UserLayout I386HigherHalf() => new UserLayout
    {
        UserStart = 0x1000, UserEnd = 0xC0000000, TextBase = 0x08048000, MmapBase = 0x40000000,
        StackTop = 0xC0000000, StackMaxBytes = 8UL << 20, GuardGapBytes = 256 * Addressing.PageSize.Bytes,
        KernelFirstIndex = 768, KernelEndIndex = 1024, RecursiveIndex = 1023, MmapBottomUp = true,
    };

    /// <summary>The 2G/2G split's user space (i386-low-2g): below 0x80000000, text at 0x08048000,
    /// mmap bottom-up from a third of the way up (0x2AAAA000, Linux's TASK_SIZE / 3 as 0x40000000
    /// is on the 3G/1G split), an 8 MiB stack below 0x80000000; kernel PDEs 512-1023, the self-map
    /// at 1023.</summary>
    public static UserLayout I386Low2G() => new UserLayout
    {
        UserStart = 0x1000, UserEnd = 0x80000000, TextBase = 0x08048000, MmapBase = 0x2AAAA000,
        StackTop = 0x80000000, StackMaxBytes = 8UL << 20, GuardGapBytes = 256 * Addressing.PageSize.Bytes,
        KernelFirstIndex = 512, KernelEndIndex = 1024, RecursiveIndex = 1023, MmapBottomUp = true,
    };

    /// <summary>x86-64: the lower canonical half from 64 KiB (Linux's default mmap_min_addr) to
    /// the top page (left out, as Linux does), text at
    /// 0x400000, mmap from 2^44, an 8 MiB stack below 0x7ffffffff000; kernel PML4Es 256-511.</summary>
    public static UserLayout X86_64() => new UserLayout
    {
        UserStart = 0x10000, UserEnd = 0x00007FFFFFFFF000, TextBase = 0x400000, MmapBase = 0x0000100000000000,
        StackTop = 0x00007FFFFFFFF000, StackMaxBytes = 8UL << 20, GuardGapBytes = 256 * Addressing.PageSize.Bytes,
        KernelFirstIndex = 256, KernelEndIndex = 512, RecursiveIndex = -1,
    };

    /// <summary>The user layout of kernel layout <paramref name="id"/>. Return: Ok; Unsupported
    /// for layouts without a user space (Phantom OS's kernel).</summary>
    public static Status For(LayoutId id, out UserLayout layout)
    {
        layout = default;
        if (id == LayoutId.I386HigherHalf) { layout = I386HigherHalf(); return Status.Ok; }
        if (id == LayoutId.I386Low2G) { layout = I386Low2G(); return Status.Ok; }
        if (id == LayoutId.X86_64) { layout = X86_64(); return Status.Ok; }
        return Status.Unsupported;
    }

    /// <summary>True when [start, end) is inside user space.</summary>
    public readonly bool IsUserRange(ulong start, ulong end) => start >= UserStart && end <= UserEnd && start < end;

    /// <summary>The lowest address the stack may reach.</summary>
    public readonly ulong StackLimit => StackTop - StackMaxBytes;
}
