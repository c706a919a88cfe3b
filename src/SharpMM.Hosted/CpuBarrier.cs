using System.Threading;
using SharpMM.Concurrency;

namespace SharpMM.Hosted;

/// <summary>
/// A barrier for simulated CPUs (<see cref="HostedCpus.Run"/>): the waiters spin through
/// <see cref="Cpu.Relax"/>, so a CPU waiting here still answers cross-CPU requests (a page-cache
/// drain asked by a CPU whose allocation failed), as a kernel CPU with interrupts on would. A
/// .NET Barrier would block the thread, and a CPU still allocating could wait for it forever.
/// Sense-reversing: reusable for any number of phases.
/// </summary>
public sealed class CpuBarrier
{
    private readonly int _count;
    private int _remaining;
    private int _phase;

    /// <summary>A barrier for <paramref name="count"/> CPUs.</summary>
    public CpuBarrier(int count)
    {
        _count = count;
        _remaining = count;
    }

    /// <summary>Waits until all CPUs have arrived.</summary>
    public void SignalAndWait()
    {
        int phase = Volatile.Read(ref _phase);
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            Volatile.Write(ref _remaining, _count);
            Volatile.Write(ref _phase, phase + 1);
            return;
        }
        while (Volatile.Read(ref _phase) == phase) Cpu.Relax();
    }
}
