using System.Runtime.CompilerServices;

namespace SharpMM.Heap;

/// <summary>One magazine per CPU, indexed by CPU number. One CPU today (no locking: the caller
/// serialises); more CPUs need only a larger <see cref="HeapPages.MaxCpus"/> and the current CPU's
/// index, since each CPU touches only its own magazine on the fast paths.</summary>
[InlineArray(HeapPages.MaxCpus)]
public struct PerCpuMagazines
{
    private Magazine _first;
}
