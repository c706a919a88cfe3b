using System;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading;

namespace SharpMM.Hosted.Workloads;

/// <summary>
/// What one cache line costs to move between two cores, measured the way bench/machine.sh does
/// (bench/machine/cores.c): two threads take turns storing to one line, each waiting for the
/// other's store, and the time per turn is one transfer. Several-thread figures (W5-W6x) depend
/// on it, and on a virtual machine it changes with where the host puts the virtual CPUs (40-46 ns
/// and 160-174 ns within a minute on the machine of docs/benchmarks.md), so `sharpmm bench`
/// measures it before and after a several-thread workload and prints both with the figures.
/// </summary>
public static unsafe class LineTransfer
{
    private const long Turns = 200_000;
    private static readonly long Limit = Stopwatch.Frequency; // one second

    /// <summary>Nanoseconds per transfer, or null when this process may run on one processor
    /// only (the two threads would take turns on one core: no transfer to measure). A run that
    /// has not finished within a second (the other thread not scheduled) ends there and reports
    /// the turns it made (null if none).</summary>
    public static double? MeasureNs()
    {
        if (Environment.ProcessorCount < 2) return null;
        // Its own line, whatever the allocation's alignment: the word in the middle of 192 bytes.
        byte* block = (byte*)NativeMemory.AlignedAlloc(192, 64);
        try
        {
            long* line = (long*)(block + 64);
            *line = 0;
            long deadline = Stopwatch.GetTimestamp() + Limit;
            long reached = 0;
            var other = new Thread(() => TakeTurns(line, 1, deadline, ref reached)) { IsBackground = true };
            other.Start();
            long t0 = Stopwatch.GetTimestamp();
            long mine = 0;
            TakeTurns(line, 0, deadline, ref mine);
            long t1 = Stopwatch.GetTimestamp();
            other.Join();
            long turns = Math.Max(mine, Volatile.Read(ref reached));
            return turns < 2 ? null : (t1 - t0) * 1e9 / Stopwatch.Frequency / turns;
        }
        finally { NativeMemory.AlignedFree(block); }
    }

    // Even values are the first thread's to write, odd ones the second's.
    private static void TakeTurns(long* line, long first, long deadline, ref long turns)
    {
        for (long i = first; i < 2 * Turns; i += 2)
        {
            int spins = 0;
            while (Volatile.Read(ref *line) != i)
            {
                if (++spins == 1 << 16)
                {
                    spins = 0;
                    if (Stopwatch.GetTimestamp() > deadline) { Volatile.Write(ref *line, -1); return; }
                }
                if (Volatile.Read(ref *line) < 0) return;
            }
            Volatile.Write(ref *line, i + 1);
            turns = i + 1;
        }
    }
}
