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
/// <para>Beside the stack, the CPU's returns (<see cref="Returns"/>): free objects that are not
/// handed out again from here, gathered <see cref="ReturnCapacity"/> at a time. Those of slabs
/// another CPU owns go to that CPU's <see cref="Inbox"/>; the others (this CPU's objects on
/// their way back to sparse slabs, objects of shared slabs, and any the inbox has no room for)
/// go back to their slabs under one acquisition of the cache lock (one per object made the
/// cache lock the heap's most contended on several CPUs).</para>
/// <para>Its size leaves at least a line unused after the fields (1596 bytes of fields, padded to
/// 1664), so that in a cache's per-CPU array one CPU's count never shares a line with the top of
/// the neighbouring CPU's stack or returns, wherever the array starts.</para>
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 1664)]
public struct Magazine
{
    /// <summary>Most entries a magazine can hold.</summary>
    public const int MaxCapacity = 64;
    /// <summary>Objects gathered for their sparse slabs before they go back together.</summary>
    public const int ReturnCapacity = 32;

    /// <summary>Entries held.</summary>
    public uint Count;
    /// <summary>Most entries this magazine holds (at most <see cref="MaxCapacity"/>).</summary>
    public uint Capacity;
    /// <summary>Objects moved per refill or flush.</summary>
    public uint Batch;
    /// <summary>Nonzero while a refill of this magazine is under way (it may wait for pages with
    /// the cache unlocked; a drain on the same CPU then leaves the magazine alone).</summary>
    public uint Refilling;
    /// <summary>Nonzero once this CPU has tried to take a page for its inbox in this cache (with
    /// several CPUs online) and failed; cleared when the CPU drains, so it tries again after
    /// memory pressure rather than on every refill meanwhile.</summary>
    public uint InboxRefused;
    /// <summary>The stack; entries [0, Count) are valid, the top is Count - 1.</summary>
    public MagazineSlots Slots;
    /// <summary>Objects in <see cref="Returns"/>, [0, Returning).</summary>
    public uint Returning;
    /// <summary>Free objects (allocated byte 0) waiting to go home: to their owner's inbox or to
    /// their slabs.</summary>
    public ReturnSlots Returns;
    /// <summary>For each of <see cref="Returns"/>, the owner its slab had when the object was
    /// freed (<see cref="SlabDescriptor.Owner"/>): a CPU's number, or
    /// <see cref="SlabDescriptor.Shared"/>.</summary>
    public ReturnOwners Owners;

    /// <summary>Entry <paramref name="i"/> (no bounds check: i &lt; Capacity by construction).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [System.Diagnostics.CodeAnalysis.UnscopedRef]
    public ref MagazineEntry At(uint i) => ref Unsafe.Add(ref Slots[0], (nint)i);

    /// <summary>Returning object <paramref name="i"/> (no bounds check: i &lt; <see cref="ReturnCapacity"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [System.Diagnostics.CodeAnalysis.UnscopedRef]
    public ref MagazineEntry ReturnAt(uint i) => ref Unsafe.Add(ref Returns[0], (nint)i);

    /// <summary>The slab owner recorded with returning object <paramref name="i"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [System.Diagnostics.CodeAnalysis.UnscopedRef]
    public ref byte OwnerAt(uint i) => ref Unsafe.Add(ref Owners[0], (nint)i);

    /// <summary>Adds a returning object (the caller checks that there is room).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint AddReturn(ulong obj, ulong mark, byte owner)
    {
        uint n = Returning;
        ref MagazineEntry e = ref ReturnAt(n);
        e.Object = obj;
        e.Mark = mark;
        OwnerAt(n) = owner;
        Returning = ++n;
        return n;
    }
}

/// <summary>Inline storage for a magazine's objects on their way home.</summary>
[InlineArray(Magazine.ReturnCapacity)]
public struct ReturnSlots
{
    private MagazineEntry _first;
}

/// <summary>Inline storage for the slab owners recorded with a magazine's returns.</summary>
[InlineArray(Magazine.ReturnCapacity)]
public struct ReturnOwners
{
    private byte _first;
}
