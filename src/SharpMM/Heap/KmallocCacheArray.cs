using System.Runtime.CompilerServices;

namespace SharpMM.Heap;

/// <summary>Inline storage for kmalloc's size-class caches.</summary>
[InlineArray(KmallocClasses.Count)]
public struct KmallocCacheArray
{
    private SlabCache _first;
}
