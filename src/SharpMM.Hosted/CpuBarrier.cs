using System.Threading;
using SharpMM.Concurrency;

namespace SharpMM.Hosted;

/// <summary>
/// A barrier for simulated CPUs (<see cref="HostedCpus.Run"/>): a waiter keeps answering
/// cross-CPU requests (a page-cache drain asked by a CPU whose allocation failed), as a kernel
/// CPU with interrupts on would; a plain .NET Barrier would block it, and a CPU still allocating
/// could wait for its answer forever. A waiter spins through <see cref="Cpu.Relax"/> for a short
/// while, then sleeps in steps of at most a millisecond, answering requests between them: with
/// more CPUs than cores, spinning waiters would take the cores from the CPUs they wait for.
/// Sense-reversing: reusable for any number of phases. Under <see cref="DeterministicCpus"/> a
/// waiter only spins (each spin is a point where another CPU runs).
/// </summary>
public sealed class CpuBarrier
{
    private const int SpinsBeforeSleeping = 200;
    private readonly int _count;
    private readonly object _gate = new();
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
            lock (_gate)
            {
                Volatile.Write(ref _phase, phase + 1);
                Monitor.PulseAll(_gate);
            }
            return;
        }
        // Under the deterministic scheduler only points let the others run: no sleeping.
        if (DeterministicCpus.IsScheduled)
        {
            while (Volatile.Read(ref _phase) == phase) Cpu.Relax();
            return;
        }
        for (int i = 0; i < SpinsBeforeSleeping; i++)
        {
            if (Volatile.Read(ref _phase) != phase) return;
            Cpu.Relax();
        }
        while (Volatile.Read(ref _phase) == phase)
        {
            if (Cpu.RequestPending) Cpu.ServiceRequests();
            lock (_gate)
            {
                if (Volatile.Read(ref _phase) == phase) Monitor.Wait(_gate, 1);
            }
        }
    }
}
