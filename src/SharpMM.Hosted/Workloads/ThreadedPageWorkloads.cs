using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Physical;

namespace SharpMM.Hosted.Workloads;

/// <summary>One W5/W5x run: throughput, failures, and what the zone lock saw.</summary>
public struct W5Result
{
    /// <summary>Million alloc+free pairs per second, all threads together.</summary>
    public double MpairsPerS;
    /// <summary>Nanoseconds per pair per thread (wall time x threads / pairs).</summary>
    public double NsPerPairPerThread;
    /// <summary>The working threads' CPU time over the timed part per pair (<see cref="TimedSection"/>):
    /// what a pair costs whatever else the machine runs.</summary>
    public double CpuNsPerPair;
    /// <summary>Allocations that failed (the definition wants 0).</summary>
    public ulong Failed;
    /// <summary>Alloc+free pairs done.</summary>
    public ulong Pairs;
    /// <summary>The zone lock's statistics over the run.</summary>
    public LockStats ZoneLock;
}

/// <summary>
/// W5 and W5x of bench/peers/README.md ("Several threads"): one buddy allocator (1 GiB arena,
/// per-CPU caches batch 63 / high 378) shared by N simulated CPUs (<see cref="HostedCpus"/>).
/// Thread t draws a Fisher-Yates permutation of 0..4095 from splitmix64 seeded 5000 + t
/// (untimed), then 200 rounds of { allocate 4096 order-0 frames into its batch; free a batch in
/// its permutation's order }: its own batch (W5), or, after a barrier, the batch of thread
/// (t + 1) mod N, with a barrier after the frees (W5x: every free crosses CPUs when N > 1). The
/// clock runs from a barrier after setup to one at the end. Afterwards every cache is drained,
/// the allocator validated and every frame must be free again.
/// </summary>
public static unsafe class ThreadedPageWorkloads
{
    /// <summary>Frames each thread allocates per round.</summary>
    public const int Batch = 4096;

    /// <summary>One timed run with <paramref name="threads"/> CPUs working, of
    /// <paramref name="online"/> online (0: as many as work; see <see cref="HostedCpus.Run(int, int, Action{int})"/>);
    /// <paramref name="cross"/> selects W5x. <paramref name="scale"/> multiplies the 200 rounds.</summary>
    public static W5Result Run(int threads, bool cross, double scale, int online = 0)
    {
        if (threads < 1 || threads > Cpu.MaxCpus) throw new ArgumentOutOfRangeException(nameof(threads), threads, $"1 to {Cpu.MaxCpus} threads");
        if (online == 0) online = threads;
        long rounds = Math.Max(1, (long)(200 * scale));
        var perms = new uint[threads][];
        var batches = new uint[threads][];
        for (int t = 0; t < threads; t++)
        {
            var rng = new SplitMix64(5000 + (ulong)t);
            uint[] perm = new uint[Batch];
            for (int i = 0; i < Batch; i++) perm[i] = (uint)i;
            for (int i = Batch - 1; i > 0; i--)
            {
                uint j = SplitMix64.Bound(rng.Next(), (uint)i + 1);
                (perm[i], perm[j]) = (perm[j], perm[i]);
            }
            perms[t] = perm;
            batches[t] = new uint[Batch];
        }
        BuddyAllocator* b = PageWorkloads.Create(PcpConfig.Default, out HostMemory meta);
        try
        {
            var barrier = new CpuBarrier(threads);
            var failed = new ulong[threads];
            var timed = new TimedSection();
            HostedCpus.Run(threads, online, cpu =>
            {
                barrier.SignalAndWait();
                if (cpu == 0) timed.Start();
                long cpu0 = ThreadCpuTime.Nanoseconds();
                failed[cpu] = Loop(b, batches, perms, cpu, threads, rounds, cross, barrier);
                timed.AddThreadCpu(cpu0);
                barrier.SignalAndWait();
                if (cpu == 0) timed.Stop();
            });
            LockStats stats = b->ZoneLockTotals;
            b->Drain();
            b->Validate();
            if (b->FreeFrames != PageWorkloads.Frames)
                throw new InvalidOperationException($"W5: {b->FreeFrames} frames free at the end, want {PageWorkloads.Frames}");
            double seconds = timed.WallSeconds;
            ulong pairs = (ulong)rounds * Batch * (ulong)threads;
            return new W5Result
            {
                MpairsPerS = pairs / seconds / 1e6,
                NsPerPairPerThread = seconds * 1e9 * threads / pairs,
                CpuNsPerPair = timed.CpuSeconds * 1e9 / pairs,
                Failed = (ulong)failed.Sum(f => (long)f),
                Pairs = pairs,
                ZoneLock = stats,
            };
        }
        finally { PageWorkloads.Destroy(b, meta); }
    }

    /// <summary>Stopwatch ticks in nanoseconds (the lock clock is the Stopwatch when hosted).</summary>
    public static double TicksToNs(ulong ticks) => ticks * 1e9 / Stopwatch.Frequency;

    // One thread's rounds; compiled optimised at once (it runs once per repetition).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ulong Loop(BuddyAllocator* b, uint[][] batches, uint[][] perms, int t, int threads, long rounds, bool cross, CpuBarrier barrier)
    {
        ulong failed = 0;
        uint[] mine = batches[t], perm = perms[t];
        uint[] freed = cross ? batches[(t + 1) % threads] : mine;
        for (long r = 0; r < rounds; r++)
        {
            for (int i = 0; i < Batch; i++)
            {
                if (b->Allocate(0, out Pfn p) != Status.Ok) { failed++; mine[i] = 0; continue; }
                mine[i] = (uint)p.Value;
            }
            if (cross) barrier.SignalAndWait();
            for (int i = 0; i < Batch; i++)
            {
                uint p = freed[perm[i]];
                if (p != 0 && b->Free(Pfn.NewUnchecked(p), 0) != Status.Ok) throw new InvalidOperationException($"W5: free of frame {p} refused");
            }
            if (cross) barrier.SignalAndWait();
        }
        return failed;
    }
}
