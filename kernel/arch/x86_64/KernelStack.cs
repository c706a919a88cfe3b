using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.Physical;

namespace SharpMM.Kernel;

/// <summary>
/// The stack kmain moves to once the kernel's own page tables are active (KernelMain's stage 2):
/// 256 KiB of buddy frames (kernel class, not contiguous) mapped read-write, no-execute at
/// <see cref="Bottom"/> in a region of its own, with one page left unmapped below it as a guard.
/// Running into the guard is a #PF (a direct touch) or, when the fault cannot push its frame, a
/// #DF on the IST stack; the dispatcher names the page either way.
/// <code>
///   0xfffffffffffbe000  Guard    not present (4 KiB)
///   0xfffffffffffbf000  Bottom   stack pages, RW NX global
///   0xfffffffffffff000  Top      initial rsp (the end of the layout's kernel-stack region,
///                                KernelRegions.StackTop); the stack grows down from here
/// </code>
/// </summary>
internal static unsafe class KernelStack
{
    /// <summary>Usable bytes (as the boot stack).</summary>
    public const ulong Size = 256UL << 10;

    /// <summary>One past the highest stack byte (0 before <see cref="KernelRegions.Init"/>).</summary>
    public static ulong Top => KernelRegions.StackTop;
    public static ulong Bottom => Top - Size;
    public static ulong Guard => Bottom - PageSize.Bytes;

    /// <summary>True once the pages are mapped.</summary>
    public static bool Mapped { get; private set; }

    /// <summary>True when <paramref name="va"/> lies in the guard page (once the stack exists).</summary>
    public static bool IsGuard(ulong va) => Mapped && va >= Guard && va < Guard + PageSize.Bytes;

    /// <summary>True when <paramref name="va"/> lies in the stack pages.</summary>
    public static bool Contains(ulong va) => va >= Bottom && va < Top;

    /// <summary>Maps the stack pages into <paramref name="mapper"/> (one order-0 frame each), adding
    /// the changes to <paramref name="batch"/>. Panics when memory runs out.</summary>
    public static void Map(ref Mapper<X86LongModeFormat, DirectMapTableAccess> mapper, PageFlags noExecute, ref FlushBatch batch)
    {
        if (MapPages(ref mapper, Bottom, Top, noExecute, ref batch) != Status.Ok) KernelPanic.Fail("kernel stack: out of memory");
        Mapped = true;
        // The boot CPU's stack from now on: Cpu.Current answers from the stack pointer on it.
        Cpu.MapStack(0, Bottom, Top);
    }

    /// <summary>Maps [<paramref name="bottom"/>, <paramref name="top"/>) read-write, global, with
    /// one order-0 frame a page (the boot CPU's stack, and the other CPUs' in PerCpus). Return:
    /// Ok; OutOfMemory with nothing left mapped or allocated.</summary>
    public static Status MapPages(ref Mapper<X86LongModeFormat, DirectMapTableAccess> mapper, ulong bottom, ulong top, PageFlags noExecute, ref FlushBatch batch)
    {
        KernelFrames frames = default;
        for (ulong va = bottom; va < top; va += PageSize.Bytes)
        {
            Status s = frames.Allocate(0, out Pfn pfn);
            if (s == Status.Ok)
            {
                s = mapper.Map(VirtAddr.NewUnchecked(va), pfn.ToAddr(), MappingSize.Size4KiB,
                    PageFlags.Writable | PageFlags.Global | noExecute, ref frames, out FlushToken token);
                if (s == Status.Ok) { batch.Add(in token); continue; }
                frames.Free(pfn, 0);
            }
            // Undo: the pages mapped so far (nothing was in the TLB for them).
            for (ulong back = bottom; back < va; back += PageSize.Bytes)
            {
                if (mapper.Translate(VirtAddr.NewUnchecked(back), out Translation t) != Status.Ok) KernelPanic.Fail("kernel stack: a page just mapped is missing", back);
                if (mapper.Unmap(VirtAddr.NewUnchecked(back), ref frames, out FlushToken undo) != Status.Ok) KernelPanic.Fail("kernel stack: undo failed", back);
                batch.Add(in undo);
                frames.Free(Pfn.NewUnchecked(t.PageBase.Value >> PageSize.Shift), 0);
            }
            return Status.OutOfMemory;
        }
        return Status.Ok;
    }
}
