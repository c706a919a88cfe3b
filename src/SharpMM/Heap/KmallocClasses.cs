namespace SharpMM.Heap;

/// <summary>
/// kmalloc's size classes (Linux's, 96 and 192 included): 8, 16, 32, 64, 96, 128, 192, 256,
/// 512, 1024, 2048, 4096, 8192 bytes. A request of n bytes (1..8192) goes to the smallest class
/// that holds it (<see cref="ClassOf"/>, the definition); the heap finds it with one lookup in a
/// <see cref="KmallocClassTable"/> computed from these sizes at Init. Larger requests take the
/// large path (whole buddy blocks with a header).
/// </summary>
public static class KmallocClasses
{
    /// <summary>Number of classes.</summary>
    public const int Count = 13;

    /// <summary>Largest request served from a slab class.</summary>
    public const uint MaxSmall = 8192;

    /// <summary>Request sizes share a table entry in steps of this many bytes; every class size
    /// is a multiple of it, so all sizes of one step have the same class.</summary>
    public const int Granule = 8;

    /// <summary>Object size of class <paramref name="i"/>.</summary>
    public static uint Size(int i) => i switch
    {
        0 => 8, 1 => 16, 2 => 32, 3 => 64, 4 => 96, 5 => 128, 6 => 192, 7 => 256,
        8 => 512, 9 => 1024, 10 => 2048, 11 => 4096, 12 => 8192,
        _ => 0,
    };

    /// <summary>Cache name of class <paramref name="i"/> (as /proc/slabinfo prints it).</summary>
    public static string Name(int i) => i switch
    {
        0 => "kmalloc-8", 1 => "kmalloc-16", 2 => "kmalloc-32", 3 => "kmalloc-64", 4 => "kmalloc-96",
        5 => "kmalloc-128", 6 => "kmalloc-192", 7 => "kmalloc-256", 8 => "kmalloc-512", 9 => "kmalloc-1k",
        10 => "kmalloc-2k", 11 => "kmalloc-4k", 12 => "kmalloc-8k",
        _ => "kmalloc-?",
    };

    /// <summary>The class of a request of <paramref name="size"/> bytes (1..<see cref="MaxSmall"/>):
    /// the smallest class that holds it. The definition the lookup table is computed from.</summary>
    public static int ClassOf(ulong size)
    {
        int i = 0;
        while (i < Count - 1 && Size(i) < size) i++;
        return i;
    }
}
