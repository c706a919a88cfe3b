using System.Runtime.CompilerServices;
using SharpMM.Concurrency;

namespace SharpMM.Heap;

/// <summary>One <see cref="HotSlot"/> per CPU, indexed by <see cref="Cpu.Current"/>.</summary>
[InlineArray(Cpu.MaxCpus)]
public struct PerCpuHotSlots
{
    private HotSlot _first;
}
