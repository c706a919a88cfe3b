using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.User;

/// <summary>
/// User pages in HighMem: how <see cref="UserMemory{TFormat, TFrames, TStore}"/> gets frames for
/// user pages from a zone the kernel does not map, and reaches their bytes through temporary
/// mappings (kmap) instead of the direct map. Page tables and frame metadata stay with the
/// manager's own allocator (low memory, which the direct map reaches).
/// <code>
///   user page:  Allocate (HighMem)  --OutOfMemory-->  the manager's allocator (low memory)
///   its bytes:  pfn below DirectEndPfn  -> the direct map
///               pfn at or above it      -> Map(phys) ... Unmap(pointer), one page at a time
/// </code>
/// The manager holds at most two mappings at once (copy-on-write's source and copy). A frame
/// from <see cref="Allocate"/> goes back through the manager's allocator's Free, so both must
/// be the same frame allocator (zones of one buddy allocator). The default (no HighMem) keeps
/// every user page in the direct map.
/// </summary>
public readonly unsafe struct HighPages
{
    private readonly delegate*<out Pfn, Status> _allocate;
    private readonly delegate*<ulong, byte*> _map;
    private readonly delegate*<byte*, void> _unmap;

    /// <summary>First frame the direct map does not reach (user memory maps frames from here on).</summary>
    public readonly ulong DirectEndPfn;

    /// <summary>
    /// HighMem for user pages: <paramref name="allocate"/> gives one order-0 frame (Ok or
    /// OutOfMemory); <paramref name="map"/> maps a frame's physical address and returns its
    /// page; <paramref name="unmap"/> ends that mapping; frames from
    /// <paramref name="directEndPfn"/> on are reached only through them.
    /// </summary>
    public HighPages(ulong directEndPfn, delegate*<out Pfn, Status> allocate, delegate*<ulong, byte*> map, delegate*<byte*, void> unmap)
    {
        if (allocate == null || map == null || unmap == null) Panic.Fail("high pages: a null allocate, map or unmap");
        DirectEndPfn = directEndPfn;
        _allocate = allocate;
        _map = map;
        _unmap = unmap;
    }

    /// <summary>True when user pages may come from HighMem.</summary>
    public bool IsEnabled => _allocate != null;

    /// <summary>True when frame <paramref name="pfn"/> is reached through a temporary mapping.</summary>
    public bool IsHigh(ulong pfn) => _allocate != null && pfn >= DirectEndPfn;

    /// <summary>One HighMem frame. Return: Ok; OutOfMemory (HighMem is empty, or none is set up).</summary>
    public Status Allocate(out Pfn pfn)
    {
        if (_allocate == null) { pfn = default; return Status.OutOfMemory; }
        return _allocate(out pfn);
    }

    /// <summary>A temporary mapping of HighMem frame <paramref name="pfn"/>.</summary>
    public byte* Map(ulong pfn) => _map(pfn << PageSize.Shift);

    /// <summary>Ends a mapping <see cref="Map"/> made.</summary>
    public void Unmap(byte* page) => _unmap(page);
}
