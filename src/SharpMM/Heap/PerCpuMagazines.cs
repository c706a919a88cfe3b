using System.Runtime.CompilerServices;
using SharpMM.Concurrency;

namespace SharpMM.Heap;

/// <summary>One magazine per CPU, indexed by <see cref="Cpu.Current"/>. A CPU's fast paths touch
/// only its own magazine, without a lock; another CPU never does (it asks for a drain).</summary>
[InlineArray(Cpu.MaxCpus)]
public struct PerCpuMagazines
{
    private Magazine _first;
}

/// <summary>One word per CPU, each on its own cache line.</summary>
[InlineArray(Cpu.MaxCpus)]
public struct PerCpuWords
{
    private PaddedFlag _first;
}

/// <summary>One status per CPU (the reason of the CPU's last failed allocation).</summary>
[InlineArray(Cpu.MaxCpus)]
public struct PerCpuStatus
{
    private Status _first;
}
