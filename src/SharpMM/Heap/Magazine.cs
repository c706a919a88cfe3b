using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpMM.Heap;

/// <summary>
/// A per-CPU object cache in front of a slab cache: a stack of object pointers (jemalloc's
/// tcache bins, SLUB's sheaves), not a free list threaded through the objects, so neither
/// allocation nor free writes into an object. Allocation pops (and sets the object's allocated
/// byte through <see cref="MagazineEntry.Mark"/>); free pushes (after the allocated byte said the
/// object was handed out, and cleared it). An empty magazine is refilled with <see cref="Batch"/> objects from
/// the slab lists; a full one returns its oldest <see cref="Batch"/> objects to their slabs.
/// Capacity 0 (debug mode, or magazines turned off) sends every operation to the slab lists.
/// <para>Its size is a whole number of cache lines (1040 bytes of fields, padded to 1088), so
/// that in a cache's per-CPU array one CPU's count never shares a line with the top of the
/// neighbouring CPU's stack when the array starts on a line.</para>
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 1088)]
public struct Magazine
{
    /// <summary>Most entries a magazine can hold.</summary>
    public const int MaxCapacity = 64;

    /// <summary>Entries held.</summary>
    public uint Count;
    /// <summary>Most entries this magazine holds (at most <see cref="MaxCapacity"/>).</summary>
    public uint Capacity;
    /// <summary>Objects moved per refill or flush.</summary>
    public uint Batch;
    /// <summary>Nonzero while a refill of this magazine is under way (it may wait for pages with
    /// the cache unlocked; a drain on the same CPU then leaves the magazine alone).</summary>
    public uint Refilling;
    /// <summary>The stack; entries [0, Count) are valid, the top is Count - 1.</summary>
    public MagazineSlots Slots;

    /// <summary>Entry <paramref name="i"/> (no bounds check: i &lt; Capacity by construction).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [System.Diagnostics.CodeAnalysis.UnscopedRef]
    public ref MagazineEntry At(uint i) => ref Unsafe.Add(ref Slots[0], (nint)i);
}
