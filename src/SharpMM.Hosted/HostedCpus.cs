using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using SharpMM.Concurrency;

namespace SharpMM.Hosted;

/// <summary>
/// The hosted machine's CPUs are threads. A thread becomes CPU n with <see cref="Bind"/> (or runs
/// as one of <see cref="Run"/>'s CPUs); an unbound thread is CPU 0, which is what every
/// single-threaded test, workload and benchmark is (hosted, the library finds the current CPU
/// from the stack pointer in <see cref="Run"/>'s threads, whose stacks it maps, and from a thread
/// static elsewhere: <see cref="Cpu.BindThisStack"/>). Installs the library's
/// hooks: a spin loop that yields (threads may outnumber cores: a waiter must
/// let the holder run), the Stopwatch as the lock clock, and held locks kept per thread for the
/// lock-order check (unrelated test threads all calling themselves CPU 0 must not share a list).
/// </summary>
public static unsafe class HostedCpus
{
    [ThreadStatic] private static int t_spins;
    [ThreadStatic] private static IntPtr t_held;
    private static int s_installed;

    /// <summary>Idempotent; <see cref="HostedPanic.Install"/> calls it.</summary>
    public static void Install()
    {
        if (Interlocked.Exchange(ref s_installed, 1) == 1) return;
        Cpu.Install(null, &Relax);
        Cpu.InstallClock(&Ticks);
        LockOrder.UseStorage(&HeldForThisThread);
    }

    /// <summary>Makes the calling thread CPU <paramref name="cpu"/>.</summary>
    public static void Bind(int cpu)
    {
        if ((uint)cpu >= Cpu.MaxCpus) throw new ArgumentOutOfRangeException(nameof(cpu), cpu, $"a CPU index is below {Cpu.MaxCpus}");
        Install();
        Cpu.BindThisThread(cpu);
    }

    /// <summary>The calling thread's CPU.</summary>
    public static int Current => Cpu.Current;

    /// <summary>Runs <paramref name="body"/> on <paramref name="cpus"/> threads at once, thread i
    /// bound to CPU i and all released together; sets <see cref="Cpu.Online"/> for the run and back
    /// to 1 after. Rethrows the first failure (an <see cref="AggregateException"/> if several).</summary>
    public static void Run(int cpus, Action<int> body) => Run(cpus, cpus, body);

    /// <summary>As <see cref="Run(int, Action{int})"/> on a machine with <paramref name="online"/>
    /// CPUs online, of which the first <paramref name="cpus"/> run <paramref name="body"/> and the
    /// others run nothing (they answer no request, so the caller keeps their caches empty: they
    /// hold nothing to drain). What it is for: the code paths of several CPUs with fewer threads
    /// working, e.g. one thread on a two-CPU machine against two.</summary>
    public static void Run(int cpus, int online, Action<int> body)
    {
        if (online < 1 || online > Cpu.MaxCpus) throw new ArgumentOutOfRangeException(nameof(online), online, $"1 to {Cpu.MaxCpus} CPUs online");
        if (cpus < 1 || cpus > online) throw new ArgumentOutOfRangeException(nameof(cpus), cpus, $"1 to {online} CPUs (the CPUs online)");
        Install();
        var failures = new List<Exception>();
        using var start = new Barrier(cpus);
        var threads = new Thread[cpus];
        Cpu.SetOnline(online);
        try
        {
            for (int i = 0; i < cpus; i++)
            {
                int cpu = i;
                threads[i] = new Thread(() => AsCpu(cpu, () =>
                {
                    try
                    {
                        start.SignalAndWait();
                        body(cpu);
                    }
                    catch (Exception e)
                    {
                        lock (failures) failures.Add(e);
                    }
                }), CpuThreadStack) { IsBackground = true, Name = $"cpu{cpu}" };
                threads[i].Start();
            }
            foreach (Thread t in threads) t.Join();
        }
        finally
        {
            Cpu.SetOnline(1);
        }
        if (failures.Count == 1) throw new AggregateException($"CPU failed: {failures[0].Message}", failures);
        if (failures.Count > 1) throw new AggregateException($"{failures.Count} CPUs failed; first: {failures[0].Message}", failures);
    }

    /// <summary>Stack size of the threads that run as CPUs.</summary>
    public const int CpuThreadStack = 16 << 20;

    // How much of a CPU thread's stack, below its first frame of ours, Cpu.Current answers from
    // the stack pointer (deeper frames read the thread static): well inside the stack, since the
    // runtime's start frames and the C library's thread-local storage sit above that frame.
    private const nuint MappedStack = 12 << 20;

    /// <summary>Runs <paramref name="run"/> on the calling thread, a thread of ours with a
    /// <see cref="CpuThreadStack"/> stack that is CPU <paramref name="cpu"/> until it returns:
    /// bound with its stack range (<see cref="Cpu.BindThisStack"/>), so that Cpu.Current costs
    /// no thread-static read, and the range forgotten before the thread ends.</summary>
    internal static void AsCpu(int cpu, Action run, bool mapStack = true)
    {
        if ((uint)cpu >= Cpu.MaxCpus) throw new ArgumentOutOfRangeException(nameof(cpu), cpu, $"a CPU index is below {Cpu.MaxCpus}");
        Install();
        if (!mapStack)
        {
            // The thread static alone (DeterministicCpus' MapStacks = false).
            Cpu.BindThisThread(cpu);
            run();
            return;
        }
        byte top;
        Cpu.BindThisStack(cpu, &top, MappedStack);
        try
        {
            // The granule this frame lies in has no map entry (its top part is not ours): run
            // below it, past a stack allocation that reaches its start.
            int skip = (int)((ulong)&top - Cpu.StackMapFloor(&top)) + 64;
            byte* below = stackalloc byte[skip];
            RunBelow(below, run);
        }
        finally
        {
            Cpu.UnbindThisStack();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RunBelow(byte* skipped, Action run)
    {
        skipped[0] = 0; // (the allocation is used, so it is kept)
        run();
    }

    private static void Relax()
    {
        // Under the deterministic scheduler the spin point has already handed the processor over.
        if (DeterministicCpus.IsScheduled) return;
        // Spin briefly, then give the core away: with more CPU threads than cores the holder of
        // the lock we wait for may not be running at all.
        if (++t_spins < 64) Thread.SpinWait(8);
        else
        {
            t_spins = 0;
            Thread.Yield();
        }
    }

    private static ulong Ticks() => (ulong)Stopwatch.GetTimestamp();

    private static HeldLocks* HeldForThisThread()
    {
        if (t_held == IntPtr.Zero) t_held = (IntPtr)NativeMemory.AllocZeroed((nuint)sizeof(HeldLocks));
        return (HeldLocks*)t_held;
    }
}
