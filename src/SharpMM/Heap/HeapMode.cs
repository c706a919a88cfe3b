namespace SharpMM.Heap;

/// <summary>How the heap runs, chosen once at initialisation.</summary>
public enum HeapMode : byte
{
    /// <summary>Per-CPU magazines, no poisoning, no red zones (benchmarks, production).
    /// Invalid and double frees are still refused with a status.</summary>
    Fast = 0,
    /// <summary>Every allocation and free goes through the slab lists with the debugging aids:
    /// poison on free (0x6b) and on allocation (0x5a), red zones checked on free, the poison
    /// checked when an object is handed out again (use after free), allocation sites recorded
    /// for the leak report, every refused free recorded as an event.</summary>
    Debug = 1,
}
