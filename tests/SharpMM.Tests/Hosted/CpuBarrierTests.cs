using System;
using System.Threading;
using SharpMM.Hosted;
using Xunit;

namespace SharpMM.Tests.Hosted;

/// <summary>
/// The benchmarks' barrier (<see cref="CpuBarrier"/>): no thread leaves a phase before every
/// thread has arrived, whichever way the waiters wait (spinning with no more threads than
/// processors, yielding with more, sleeping after a long wait).
/// </summary>
public class CpuBarrierTests
{
    // Every thread counts its arrivals in a shared counter before the barrier and checks after
    // it that the count has reached the whole phase's.
    private static int PhasesWithAnEarlyLeaver(int threads, int phases, int lateThread, TimeSpan lateBy)
    {
        var barrier = new CpuBarrier(threads, simulatedCpus: false);
        int arrived = 0, early = 0;
        var all = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int self = t;
            all[t] = new Thread(() =>
            {
                for (int phase = 1; phase <= phases; phase++)
                {
                    if (self == lateThread && phase == 2) Thread.Sleep(lateBy);
                    Interlocked.Increment(ref arrived);
                    barrier.SignalAndWait();
                    if (Volatile.Read(ref arrived) < phase * threads) Interlocked.Increment(ref early);
                    // A second barrier, so that no thread's next arrival is counted before every
                    // thread has checked this phase.
                    barrier.SignalAndWait();
                }
            });
            all[t].Start();
        }
        foreach (Thread th in all) Assert.True(th.Join(TimeSpan.FromSeconds(60)), "a thread never left the barrier");
        Assert.Equal(phases * threads, arrived);
        return early;
    }

    // Expect: with two threads (spinning waiters) no phase is left early.
    [Fact]
    public void TwoThreads_NoneLeavesBeforeTheOtherArrives()
        => Assert.Equal(0, PhasesWithAnEarlyLeaver(2, 2000, lateThread: -1, TimeSpan.Zero));

    // Expect: with more threads than processors (yielding waiters) no phase is left early.
    [Fact]
    public void MoreThreadsThanProcessors_NoneLeavesEarly()
        => Assert.Equal(0, PhasesWithAnEarlyLeaver(Environment.ProcessorCount * 2 + 1, 300, lateThread: -1, TimeSpan.Zero));

    // Expect: a thread that comes much later than the others wait before sleeping still finds
    // them waiting, and they all leave together once it arrives.
    [Fact]
    public void ALateThread_WakesTheSleepers()
        => Assert.Equal(0, PhasesWithAnEarlyLeaver(3, 4, lateThread: 1, CpuBarrier.SleepAfter * 3));

    // Expect: a barrier for no thread is refused.
    [Fact]
    public void ZeroThreads_Refused()
        => Assert.Throws<ArgumentOutOfRangeException>(() => new CpuBarrier(0));
}
