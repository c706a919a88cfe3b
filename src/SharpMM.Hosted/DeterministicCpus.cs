using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading;
using SharpMM.Concurrency;
using SharpMM.Hosted.Workloads;

namespace SharpMM.Hosted;

/// <summary>How <see cref="DeterministicCpus"/> picks the CPU that runs after a point.</summary>
public enum ScheduleStrategy
{
    /// <summary>Any CPU that can run, uniformly at random, at every point (a spinning CPU always
    /// hands over when another can run).</summary>
    RandomWalk,
    /// <summary>PCT (probabilistic concurrency testing): random distinct priorities, the highest
    /// runs; at a few random steps (<see cref="ScheduleOptions.PriorityChanges"/>) the running
    /// CPU drops to the lowest priority. Long runs of one CPU with rare preemptions: finds bugs
    /// that need few, well-placed preemptions with a known probability.</summary>
    Priorities,
}

/// <summary>Settings of one <see cref="DeterministicCpus.Run"/>.</summary>
public sealed record ScheduleOptions
{
    /// <summary>The choice of the next CPU.</summary>
    public ScheduleStrategy Strategy { get; init; } = ScheduleStrategy.RandomWalk;

    /// <summary><see cref="ScheduleStrategy.Priorities"/>: how many times a running CPU is
    /// demoted (PCT's depth minus one).</summary>
    public int PriorityChanges { get; init; } = 3;

    /// <summary><see cref="ScheduleStrategy.Priorities"/>: the steps among which the demotions
    /// are drawn (an estimate of the run's length).</summary>
    public long PriorityChangeSteps { get; init; } = 5_000;

    /// <summary>Points in a row with no CPU making progress (every CPU spinning) after which the
    /// run fails as a deadlock or livelock. Above the library's bounded waits
    /// (<see cref="Heap.HeapPages.DrainWaitSpins"/> spins for a drain that may not come).</summary>
    public long MaxStalledSteps { get; init; } = 100_000;

    /// <summary>Points after which the run fails (a livelock that looks like progress).</summary>
    public long MaxSteps { get; init; } = 20_000_000;

    /// <summary>Points of the schedule a failure report shows (the last ones).</summary>
    public int TailLength { get; init; } = 48;

    /// <summary>Keep the whole schedule in <see cref="ScheduleResult.Trace"/> (tests of the
    /// scheduler itself; a long run's trace is large).</summary>
    public bool KeepTrace { get; init; }

    /// <summary>false: the CPUs find themselves from the thread static only, never from the
    /// stack pointer (<see cref="Cpu.CurrentWithoutCall"/> answers -1), so the library's
    /// out-of-line paths run where the inline ones would. A schedule must not depend on which
    /// (tests compare the two).</summary>
    public bool MapStacks { get; init; } = true;

    /// <summary>Wall-clock limit of a run: a CPU blocked on something that is no point (a
    /// .NET lock or event held by a CPU that is not running) stops every CPU.</summary>
    public TimeSpan Watchdog { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>The defaults.</summary>
    public static ScheduleOptions Default { get; } = new();
}

/// <summary>What one step of a schedule was: a library point (<see cref="InterleavingPoint"/>,
/// same values) or one of the scheduler's own events.</summary>
public enum ScheduleEvent : byte
{
    /// <summary><see cref="InterleavingPoint.Spin"/>.</summary>
    Spin = InterleavingPoint.Spin,
    /// <summary><see cref="InterleavingPoint.LockAcquire"/>.</summary>
    LockAcquire = InterleavingPoint.LockAcquire,
    /// <summary><see cref="InterleavingPoint.LockRelease"/>.</summary>
    LockRelease = InterleavingPoint.LockRelease,
    /// <summary><see cref="InterleavingPoint.PerCpuCache"/>.</summary>
    PerCpuCache = InterleavingPoint.PerCpuCache,
    /// <summary><see cref="InterleavingPoint.Kick"/>.</summary>
    Kick = InterleavingPoint.Kick,
    /// <summary><see cref="InterleavingPoint.Explicit"/>.</summary>
    Explicit = InterleavingPoint.Explicit,
    /// <summary>The CPU took its pending requests (an interrupt delivered at this point).</summary>
    Interrupt = 32,
    /// <summary>The CPU's body returned (or threw).</summary>
    Finish,
}

/// <summary>One step of a schedule: which CPU was at which point.</summary>
public readonly record struct ScheduleStep(int Cpu, ScheduleEvent Event)
{
    /// <summary>"cpu1:LockAcquire".</summary>
    public override string ToString() => $"cpu{Cpu}:{Event}";
}

/// <summary>A finished run: its seed, length, and a digest of the whole schedule (equal digests
/// for equal schedules; the schedule itself with <see cref="ScheduleOptions.KeepTrace"/>).</summary>
public sealed record ScheduleResult(ulong Seed, long Steps, long Switches, long Interrupts, ulong Digest, IReadOnlyList<ScheduleStep>? Trace);

/// <summary>A run that failed: a CPU threw, or the CPUs deadlocked. The message names the seed,
/// how to run that seed alone, and the last points of the schedule.</summary>
public sealed class ScheduleFailedException : Exception
{
    /// <summary>The failing run's seed.</summary>
    public ulong Seed { get; }
    /// <summary>The last points before the failure, oldest first.</summary>
    public IReadOnlyList<ScheduleStep> Tail { get; }

    internal ScheduleFailedException(ulong seed, string what, IReadOnlyList<ScheduleStep> tail, Exception? inner)
        : base(Describe(seed, what, tail), inner)
    {
        Seed = seed;
        Tail = tail;
    }

    private static string Describe(ulong seed, string what, IReadOnlyList<ScheduleStep> tail)
    {
        var sb = new StringBuilder();
        sb.Append("seed ").Append(seed).Append(" (run it alone: ").Append(DeterministicCpus.SeedVariable).Append('=').Append(seed).Append("): ").Append(what);
        sb.Append("\nlast ").Append(tail.Count).Append(" points:");
        for (int i = 0; i < tail.Count; i++) sb.Append(i % 8 == 0 ? "\n  " : " ").Append(tail[i]);
        return sb.ToString();
    }
}

/// <summary>
/// Simulated CPUs under a deterministic scheduler: <see cref="Run"/> makes n threads CPUs 0..n-1
/// (as <see cref="HostedCpus.Run"/> does) but lets exactly one run at a time. At every
/// interleaving point (<see cref="Cpu.Interleave"/>: spin loops, spin-lock acquire and release,
/// the buddy allocator's per-CPU cache Busy flag, cross-CPU kicks; <see cref="Point"/> in test
/// bodies) the running CPU hands the processor to the CPU a seeded generator picks. Requests
/// kicked at a CPU are delivered at one of its next points, as an interrupt would be, and not
/// inside a handler already running. The same seed gives the same schedule and the same result,
/// so a failure found by one seed of a sweep reruns alone (<see cref="SeedVariable"/>).
/// <para>What a CPU does between two points is atomic to the schedule: races inside lock-free
/// code with no point in it are not explored. Bodies must wait only through points (Cpu.Relax,
/// <see cref="CpuBarrier"/>): a CPU blocked on a .NET lock or event held by a CPU that is not
/// running stops the run (the watchdog reports it).</para>
/// <para>Deadlock and livelock: a CPU makes progress when two of its points in a row are not
/// spins (a spin followed by a failed try-acquire is not progress). When no CPU has made
/// progress for <see cref="ScheduleOptions.MaxStalledSteps"/> points, the run fails with the
/// seed and the last points.</para>
/// </summary>
public static unsafe class DeterministicCpus
{
    /// <summary>The environment variable that pins <see cref="Seeds"/> to one seed.</summary>
    public const string SeedVariable = "SHARPMM_SCHED_SEED";

    [ThreadStatic] private static Scheduler? t_scheduler;
    private static int s_running;

    /// <summary>True when the calling thread is a CPU of a deterministic run.</summary>
    public static bool IsScheduled => t_scheduler != null;

    /// <summary>An interleaving point in a test body; nothing outside a deterministic run.</summary>
    public static void Point() => t_scheduler?.At(InterleavingPoint.Explicit);

    /// <summary>The seeds of a sweep: <paramref name="count"/> seeds from <paramref name="first"/>,
    /// or only the seed in <see cref="SeedVariable"/> when it is set (to rerun a failure).</summary>
    public static IEnumerable<ulong> Seeds(int count, ulong first = 1) => Seeds(count, first, Environment.GetEnvironmentVariable(SeedVariable));

    /// <summary><see cref="Seeds(int, ulong)"/> with the pinned seed given (null: none).</summary>
    public static IEnumerable<ulong> Seeds(int count, ulong first, string? pinned)
    {
        if (!string.IsNullOrWhiteSpace(pinned))
        {
            if (!ulong.TryParse(pinned.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed))
                throw new ArgumentException($"{SeedVariable}={pinned}: not a seed (a decimal number)");
            yield return seed;
            yield break;
        }
        for (int i = 0; i < count; i++) yield return first + (ulong)i;
    }

    /// <summary>Runs <paramref name="check"/> for every seed of <see cref="Seeds(int, ulong)"/>; a
    /// failure that is not already a <see cref="ScheduleFailedException"/> (a validator after the
    /// run) is rethrown with its seed.</summary>
    public static void ForEachSeed(int count, Action<ulong> check, ulong first = 1)
    {
        foreach (ulong seed in Seeds(count, first))
        {
            try { check(seed); }
            catch (ScheduleFailedException) { throw; }
            catch (Exception e) { throw new InvalidOperationException($"seed {seed} (run it alone: {SeedVariable}={seed}): {e.Message}", e); }
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> on <paramref name="cpus"/> CPUs, one at a time, interleaved
    /// by the schedule that <paramref name="seed"/> draws; sets <see cref="Cpu.Online"/> for the
    /// run and back to 1 after. Throws <see cref="ScheduleFailedException"/> when a CPU throws
    /// (the others are stopped at their next point) or the CPUs deadlock.
    /// </summary>
    public static ScheduleResult Run(int cpus, ulong seed, Action<int> body, ScheduleOptions? options = null)
    {
        if (cpus < 1 || cpus > Cpu.MaxCpus) throw new ArgumentOutOfRangeException(nameof(cpus), cpus, $"1 to {Cpu.MaxCpus} CPUs");
        ArgumentNullException.ThrowIfNull(body);
        if (Interlocked.Exchange(ref s_running, 1) != 0) throw new InvalidOperationException("a deterministic run is already going on (the CPUs are process-wide)");
        HostedCpus.Install();
        var s = new Scheduler(cpus, seed, options ?? ScheduleOptions.Default, body);
        Cpu.SetOnline(cpus);
        Cpu.InstallInterleaving(&OnPoint);
        try
        {
            return s.Run();
        }
        finally
        {
            Cpu.InstallInterleaving(null);
            Cpu.SetOnline(1);
            Volatile.Write(ref s_running, 0);
        }
    }

    // The library's hook: threads that are no CPU of the run (other tests) pass through.
    private static void OnPoint(InterleavingPoint point) => t_scheduler?.At(point);

    // Thrown on the other CPUs when the run stops: unwinds their bodies.
    private sealed class StoppedException : Exception
    {
        public StoppedException() : base("the deterministic run stopped") { }
    }

    private sealed class Scheduler
    {
        private readonly int _n;
        private readonly ulong _seed;
        private readonly ScheduleOptions _o;
        private readonly Action<int> _body;
        private readonly SemaphoreSlim[] _turn;
        private readonly bool[] _finished;
        private readonly bool[] _lastWasSpin;
        private readonly bool[] _inInterrupt;
        private readonly int[] _priority;      // higher runs first (Priorities)
        private readonly long[] _changeAt;     // steps at which the running CPU is demoted
        private readonly ScheduleStep[] _tail;
        private readonly List<ScheduleStep>? _trace;
        private readonly CountdownEvent _done;
        private SplitMix64 _rng;
        private int _current;
        private int _live;
        private long _steps, _switches, _interrupts, _stalled;
        private int _lowest;
        private ulong _digest = 14695981039346656037UL;
        private volatile bool _stopped;
        private ScheduleFailedException? _failure;

        public Scheduler(int n, ulong seed, ScheduleOptions o, Action<int> body)
        {
            _n = n;
            _seed = seed;
            _o = o;
            _body = body;
            _rng = new SplitMix64(seed ^ 0x5DEECE66DUL);
            _turn = new SemaphoreSlim[n];
            for (int i = 0; i < n; i++) _turn[i] = new SemaphoreSlim(0, 1);
            _finished = new bool[n];
            _lastWasSpin = new bool[n];
            _inInterrupt = new bool[n];
            _tail = new ScheduleStep[Math.Max(1, o.TailLength)];
            _trace = o.KeepTrace ? new List<ScheduleStep>() : null;
            _done = new CountdownEvent(n);
            _live = n;
            _priority = new int[n];
            _changeAt = new long[Math.Max(0, o.PriorityChanges)];
            if (o.Strategy == ScheduleStrategy.Priorities)
            {
                // A random permutation of n .. 2n-1; demoted CPUs go below, to 0, -1, ...
                for (int i = 0; i < n; i++) _priority[i] = n + i;
                for (int i = n - 1; i > 0; i--)
                {
                    int j = (int)SplitMix64.Bound(_rng.Next(), (uint)(i + 1));
                    (_priority[i], _priority[j]) = (_priority[j], _priority[i]);
                }
                for (int i = 0; i < _changeAt.Length; i++) _changeAt[i] = 1 + (long)(_rng.Next() % (ulong)Math.Max(1, o.PriorityChangeSteps));
                _lowest = n;
            }
        }

        public ScheduleResult Run()
        {
            var threads = new Thread[_n];
            for (int i = 0; i < _n; i++)
            {
                int cpu = i;
                threads[i] = new Thread(() => HostedCpus.AsCpu(cpu, () => CpuThread(cpu), _o.MapStacks), HostedCpus.CpuThreadStack) { IsBackground = true, Name = $"sched-cpu{cpu}" };
                threads[i].Start();
            }
            _current = Pick(-1, spinning: false);
            _turn[_current].Release();
            if (!_done.Wait(_o.Watchdog))
            {
                Stop(new ScheduleFailedException(_seed, $"no CPU reached a point for {_o.Watchdog.TotalSeconds:0} s: CPU {_current} is blocked outside the scheduler (a .NET lock, event or sleep)", Tail(), null));
                throw _failure!;
            }
            foreach (Thread t in threads) t.Join();
            foreach (SemaphoreSlim t in _turn) t.Dispose();
            _done.Dispose();
            if (_failure != null) throw _failure;
            return new ScheduleResult(_seed, _steps, _switches, _interrupts, _digest, _trace);
        }

        private void CpuThread(int cpu)
        {
            HostedCpus.Bind(cpu);
            t_scheduler = this;
            try
            {
                _turn[cpu].Wait();
                if (_stopped) return;
                _body(cpu);
            }
            catch (StoppedException)
            {
            }
            catch (Exception e)
            {
                Stop(new ScheduleFailedException(_seed, $"CPU {cpu} failed at step {_steps}: {e.Message}", Tail(), e));
            }
            finally
            {
                t_scheduler = null;
                Finish(cpu);
            }
        }

        // A point on the running CPU `cpu`.
        public void At(InterleavingPoint point)
        {
            int cpu = Cpu.Current;
            if (_stopped) throw new StoppedException();
            if (cpu != _current) Panic.Fail("deterministic CPUs: a CPU ran out of turn", (ulong)cpu);
            bool spin = point == InterleavingPoint.Spin;
            Record(cpu, (ScheduleEvent)point);
            // Progress: two points in a row on one CPU that are no spin.
            if (!spin && !_lastWasSpin[cpu]) _stalled = 0;
            else if (++_stalled > _o.MaxStalledSteps)
                Fail($"deadlock or livelock: no CPU made progress in {_o.MaxStalledSteps} points ({_live} CPUs running)");
            _lastWasSpin[cpu] = spin;
            if (_steps > _o.MaxSteps) Fail($"the run passed {_o.MaxSteps} points");
            int next = Pick(cpu, spin);
            if (next != cpu) SwitchTo(cpu, next);
            Deliver(cpu);
        }

        private void Fail(string what)
        {
            var e = new ScheduleFailedException(_seed, what, Tail(), null);
            Stop(e);
            throw e;
        }

        // Requests pending on this CPU are taken here, or at a later point (half the time: an
        // interrupt arrives some time after the kick), never inside a handler already running.
        private void Deliver(int cpu)
        {
            if (_inInterrupt[cpu] || !Cpu.RequestPending) return;
            if ((_rng.Next() & 1) == 0) return;
            Record(cpu, ScheduleEvent.Interrupt);
            _interrupts++;
            _inInterrupt[cpu] = true;
            try { Cpu.ServiceRequests(); }
            finally { _inInterrupt[cpu] = false; }
        }

        private void SwitchTo(int cpu, int next)
        {
            _switches++;
            _current = next;
            _turn[next].Release();
            _turn[cpu].Wait();
            if (_stopped) throw new StoppedException();
        }

        private void Finish(int cpu)
        {
            lock (_turn)
            {
                _finished[cpu] = true;
                _live--;
            }
            if (!_stopped)
            {
                Record(cpu, ScheduleEvent.Finish);
                if (_live > 0)
                {
                    int next = Pick(cpu, spinning: false);
                    _switches++;
                    _current = next;
                    _turn[next].Release();
                }
            }
            _done.Signal();
        }

        // The CPU that runs next. `cpu` is the running one (-1 at the start); a spinning CPU
        // hands over whenever another can run (it would only spin again).
        private int Pick(int cpu, bool spinning)
        {
            if (_o.Strategy == ScheduleStrategy.Priorities)
            {
                if (cpu >= 0 && !_finished[cpu])
                {
                    bool change = spinning;
                    foreach (long at in _changeAt) if (at == _steps) change = true;
                    if (change) _priority[cpu] = --_lowest;
                }
                int best = -1;
                for (int i = 0; i < _n; i++)
                    if (!_finished[i] && (best < 0 || _priority[i] > _priority[best])) best = i;
                return best;
            }
            int candidates = 0;
            for (int i = 0; i < _n; i++) if (!_finished[i] && !(spinning && i == cpu)) candidates++;
            if (candidates == 0) return cpu;   // spinning alone: its wait may still end (a bounded wait)
            int k = (int)SplitMix64.Bound(_rng.Next(), (uint)candidates);
            for (int i = 0; i < _n; i++)
            {
                if (_finished[i] || (spinning && i == cpu)) continue;
                if (k-- == 0) return i;
            }
            return cpu;
        }

        private void Record(int cpu, ScheduleEvent e)
        {
            var step = new ScheduleStep(cpu, e);
            _tail[_steps % _tail.Length] = step;
            _trace?.Add(step);
            _digest = (_digest ^ (ulong)(cpu << 8 | (int)e)) * 1099511628211UL;
            _steps++;
        }

        private ScheduleStep[] Tail()
        {
            long count = Math.Min(_steps, _tail.Length);
            var tail = new ScheduleStep[count];
            for (long i = 0; i < count; i++) tail[i] = _tail[(_steps - count + i) % _tail.Length];
            return tail;
        }

        // The first failure stops the run: every CPU waiting for its turn wakes and unwinds.
        private void Stop(ScheduleFailedException e)
        {
            lock (_turn)
            {
                if (_stopped) return;
                _failure = e;
                _stopped = true;
            }
            for (int i = 0; i < _n; i++)
                if (_turn[i].CurrentCount == 0) { try { _turn[i].Release(); } catch (SemaphoreFullException) { } }
        }
    }
}
