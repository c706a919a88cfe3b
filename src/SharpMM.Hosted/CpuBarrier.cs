using System;
using System.Diagnostics;
using System.Threading;
using SharpMM.Concurrency;

namespace SharpMM.Hosted;

/// <summary>
/// A barrier for threads that stand for CPUs (<see cref="HostedCpus.Run"/>), or for the threads
/// of a peer allocator measured beside them. Sense-reversing: reusable for any number of phases.
/// <para>How a waiter waits decides what a benchmark with a barrier per round measures. A kernel's
/// CPUs spin at a barrier, and so does a waiter here while there are no more threads than
/// processors: a waiter that sleeps (a .NET <see cref="Barrier"/> after a few spins, or
/// <c>pthread_barrier_wait</c>) comes back one wake-up later, tens of microseconds on a virtual
/// machine, and the core it gave up may meanwhile run another process: with rounds of 15-60 us
/// (W5x, W6x) the wake-ups, not the allocator, set the measured rate. With more threads than
/// processors a spinning waiter would take the core from a thread that has not arrived yet, so
/// it yields instead: the yield hands the core over and returns at once when nothing else is
/// runnable. A waiter that has waited <see cref="SleepAfter"/> sleeps, so that a thread that never
/// arrives (a failed test) does not keep a core busy.</para>
/// <para>A waiter for a simulated CPU keeps answering cross-CPU requests (a page-cache drain asked
/// by a CPU whose allocation failed), as a kernel CPU with interrupts on would; a waiter that
/// only blocked could leave a CPU still allocating waiting for its answer. Under
/// <see cref="DeterministicCpus"/> a waiter only spins through <see cref="Cpu.Relax"/> (each spin
/// is a point where another CPU runs).</para>
/// </summary>
public sealed class CpuBarrier
{
    /// <summary>How long a waiter spins or yields before it sleeps.</summary>
    public static readonly TimeSpan SleepAfter = TimeSpan.FromMilliseconds(20);

    // Turns of the wait loop between two reads of the clock.
    private const int TurnsPerClockRead = 64;

    private readonly int _count;
    private readonly bool _cpus;
    private readonly bool _yield;
    private readonly long _sleepAfterTicks = (long)(SleepAfter.TotalSeconds * Stopwatch.Frequency);
    private readonly object _gate = new();
    private int _remaining;
    private int _phase;

    /// <summary>A barrier for <paramref name="count"/> threads. <paramref name="simulatedCpus"/>:
    /// the threads are CPUs of <see cref="HostedCpus"/> (they answer requests while they wait);
    /// false for threads that are not (a peer allocator's).</summary>
    public CpuBarrier(int count, bool simulatedCpus = true)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "a barrier needs at least one thread");
        _count = count;
        _remaining = count;
        _cpus = simulatedCpus;
        _yield = count > Environment.ProcessorCount;
    }

    /// <summary>Waits until all threads have arrived.</summary>
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
        if (_cpus && DeterministicCpus.IsScheduled)
        {
            while (Volatile.Read(ref _phase) == phase) Cpu.Relax();
            return;
        }
        long start = Stopwatch.GetTimestamp();
        for (int turn = 1; Volatile.Read(ref _phase) == phase; turn++)
        {
            if (_cpus && Cpu.RequestPending) Cpu.ServiceRequests();
            if (_yield) Thread.Yield();
            else Thread.SpinWait(4);
            if (turn % TurnsPerClockRead == 0 && Stopwatch.GetTimestamp() - start > _sleepAfterTicks)
            {
                Sleep(phase);
                return;
            }
        }
    }

    // The long wait: sleep in steps of at most a millisecond, answering requests between them.
    private void Sleep(int phase)
    {
        while (Volatile.Read(ref _phase) == phase)
        {
            if (_cpus && Cpu.RequestPending) Cpu.ServiceRequests();
            lock (_gate)
            {
                if (Volatile.Read(ref _phase) == phase) Monitor.Wait(_gate, 1);
            }
        }
    }
}
