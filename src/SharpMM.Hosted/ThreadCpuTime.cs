using System.Runtime.InteropServices;

namespace SharpMM.Hosted;

/// <summary>
/// The CPU time the calling thread has used (Linux's CLOCK_THREAD_CPUTIME_ID): unlike the wall
/// clock it does not count the time the thread waited for a core, so on a machine shared with
/// other work it measures a loop's own cost more steadily.
/// </summary>
public static unsafe class ThreadCpuTime
{
    private const int ClockThreadCpuTimeId = 3;

    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, Timespec* ts);

    /// <summary>Nanoseconds of CPU time used by this thread; 0 where the clock is missing.</summary>
    public static long Nanoseconds()
    {
        if (!System.OperatingSystem.IsLinux()) return 0;
        Timespec ts;
        return ClockGetTime(ClockThreadCpuTimeId, &ts) == 0 ? ts.Seconds * 1_000_000_000 + ts.Nanoseconds : 0;
    }
}
