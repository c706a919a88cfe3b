using System.Diagnostics;
using System.Threading;

namespace SharpMM.Hosted.Workloads;

/// <summary>
/// The timed part of a threaded workload: the wall clock, read by one thread right after the
/// barrier that starts it and right after the one that ends it, and the CPU time of every
/// thread that runs it (<see cref="ThreadCpuTime"/>, from the start barrier to the end one, each
/// thread adding its own). The CPU time counts a thread's spinning at the barriers inside the
/// part too, so for workloads with a barrier per round it is an upper bound. Unlike the wall
/// clock it does not grow when other programs take the cores: it tells whether a thread's
/// operations got dearer with more threads, whatever the machine was doing.
/// </summary>
public sealed class TimedSection
{
    private long _wall0, _wall1, _cpuNs;

    /// <summary>Reads the wall clock at the start (one thread).</summary>
    public void Start() => _wall0 = Stopwatch.GetTimestamp();

    /// <summary>Reads the wall clock at the end (the thread that called <see cref="Start"/>).</summary>
    public void Stop() => _wall1 = Stopwatch.GetTimestamp();

    /// <summary>Adds a thread's CPU time over the part: <paramref name="startNs"/> is what
    /// <see cref="ThreadCpuTime.Nanoseconds"/> said on that thread at the start.</summary>
    public void AddThreadCpu(long startNs) => Interlocked.Add(ref _cpuNs, ThreadCpuTime.Nanoseconds() - startNs);

    /// <summary>Elapsed wall-clock seconds.</summary>
    public double WallSeconds => (_wall1 - _wall0) / (double)Stopwatch.Frequency;

    /// <summary>CPU seconds of the threads that ran the part, together.</summary>
    public double CpuSeconds => Interlocked.Read(ref _cpuNs) / 1e9;
}
