using System.Runtime.CompilerServices;

namespace SharpMM.Paging;

/// <summary>
/// Where the host may watch pages being mapped and unmapped: user memory (faults, fork, page-out,
/// munmap, madvise, exec, exit, mremap) and the kernel's vmalloc areas report each 4 KiB page
/// whose mapping to a frame starts or ends. A trace recorder installs the observers; with none
/// installed (the kernel, every run that records nothing) a report costs one test of a static
/// pointer. Entries that only change rights or accessed/dirty bits are not events.
/// </summary>
public static unsafe class MappingEvents
{
    private static delegate*<ulong, ulong, void> s_mapped;
    private static delegate*<ulong, ulong, void> s_unmapped;

    /// <summary>Installs the observers, called with (virtual address, pfn); null removes one.</summary>
    public static void Install(delegate*<ulong, ulong, void> mapped, delegate*<ulong, ulong, void> unmapped)
    {
        s_mapped = mapped;
        s_unmapped = unmapped;
    }

    /// <summary>True when an observer is installed.</summary>
    public static bool IsInstalled => s_mapped != null || s_unmapped != null;

    /// <summary>The page at <paramref name="va"/> now maps frame <paramref name="pfn"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Mapped(ulong va, ulong pfn)
    {
        delegate*<ulong, ulong, void> h = s_mapped;
        if (h != null) h(va, pfn);
    }

    /// <summary>The page at <paramref name="va"/> no longer maps frame <paramref name="pfn"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Unmapped(ulong va, ulong pfn)
    {
        delegate*<ulong, ulong, void> h = s_unmapped;
        if (h != null) h(va, pfn);
    }
}
