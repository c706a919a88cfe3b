using System.Runtime.CompilerServices;

namespace SharpMM.Heap;

/// <summary>One <see cref="HotSlot"/> per CPU.</summary>
[InlineArray(HeapPages.MaxCpus)]
public struct PerCpuHotSlots
{
    private HotSlot _first;
}
