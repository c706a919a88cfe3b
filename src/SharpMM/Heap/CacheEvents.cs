using System.Runtime.CompilerServices;

namespace SharpMM.Heap;

/// <summary>
/// Where the host may watch the objects of slab caches used directly (kmem_cache_alloc and
/// kmem_cache_free: <see cref="SlabCache.Allocate"/> and <see cref="SlabCache.Free"/>); kmalloc's
/// own use of its size-class caches is not reported here. A trace recorder installs the
/// observers; with none installed a report costs one test of a static pointer.
/// </summary>
public static unsafe class CacheEvents
{
    private static delegate*<SlabCache*, void*, void> s_allocated;
    private static delegate*<SlabCache*, void*, void> s_freed;

    /// <summary>Installs the observers, called with (cache, object) after each successful
    /// allocation and free; null removes one.</summary>
    public static void Install(delegate*<SlabCache*, void*, void> allocated, delegate*<SlabCache*, void*, void> freed)
    {
        s_allocated = allocated;
        s_freed = freed;
    }

    /// <summary>Object <paramref name="obj"/> of <paramref name="cache"/> was handed out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Allocated(SlabCache* cache, void* obj)
    {
        delegate*<SlabCache*, void*, void> h = s_allocated;
        if (h != null) h(cache, obj);
    }

    /// <summary>Object <paramref name="obj"/> went back to <paramref name="cache"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Freed(SlabCache* cache, void* obj)
    {
        delegate*<SlabCache*, void*, void> h = s_freed;
        if (h != null) h(cache, obj);
    }
}
