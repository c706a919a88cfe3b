using System.Runtime.CompilerServices;

namespace SharpMM.Heap;

/// <summary>
/// kmalloc's size-to-class lookup: entry k is the class of requests of 8k - 7 .. 8k bytes, so a
/// request of n bytes (1..8192) finds its class at (n + 7) / 8 with one load and no
/// data-dependent branch (request sizes are random in real workloads, and a compare chain would
/// mispredict). Computed from <see cref="KmallocClasses"/> by <see cref="Fill"/>, not written
/// out by hand; the heap holds one and fills it at Init (no allocation, no static constructor).
/// </summary>
[InlineArray(Length)]
public struct KmallocClassTable
{
    /// <summary>Entries: one per <see cref="KmallocClasses.Granule"/> bytes up to
    /// <see cref="KmallocClasses.MaxSmall"/>, plus entry 0.</summary>
    public const int Length = (int)(KmallocClasses.MaxSmall / KmallocClasses.Granule) + 1;

    private byte _first;

    /// <summary>Computes every entry from the class sizes (<see cref="KmallocClasses.ClassOf"/>
    /// of the step's largest size). Panics when a class size is not a multiple of the granule,
    /// since the sizes of one entry would then fall in two classes.</summary>
    public void Fill()
    {
        for (int i = 0; i < KmallocClasses.Count; i++)
            if (KmallocClasses.Size(i) % KmallocClasses.Granule != 0)
                Panic.Fail("heap: kmalloc class size is not a multiple of the lookup granule", KmallocClasses.Size(i));
        int c = 0;
        for (int k = 0; k < Length; k++)
        {
            // Entry k serves sizes up to k * Granule; classes only grow with k.
            while (c < KmallocClasses.Count - 1 && KmallocClasses.Size(c) < (uint)(k * KmallocClasses.Granule)) c++;
            this[k] = (byte)c;
        }
    }

    /// <summary>The class of a request of <paramref name="size"/> bytes (1..<see cref="KmallocClasses.MaxSmall"/>;
    /// the caller has checked the range).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int ClassOf(ulong size) => this[(int)((size + (KmallocClasses.Granule - 1)) / KmallocClasses.Granule)];
}
