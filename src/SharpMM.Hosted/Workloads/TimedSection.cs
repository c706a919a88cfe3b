using System;
using System.Diagnostics;

namespace SharpMM.Hosted.Workloads;

/// <summary>
/// The timed part of a threaded workload: wall clock and the process's CPU time, read by one
/// thread right after the barrier that starts it and right after the one that ends it. The CPU
/// time counts every thread's work (and the little the runtime does meanwhile); spinning at a
/// barrier counts too, so for workloads with a barrier per round it is an upper bound. Unlike
/// the wall clock it does not grow when other programs take the cores: it tells whether a
/// thread's operations got dearer with more threads, whatever the machine was doing.
/// </summary>
public sealed class TimedSection
{
    private long _wall0, _wall1;
    private TimeSpan _cpu0, _cpu1;

    /// <summary>Reads both clocks at the start.</summary>
    public void Start()
    {
        _cpu0 = Environment.CpuUsage.TotalTime;
        _wall0 = Stopwatch.GetTimestamp();
    }

    /// <summary>Reads both clocks at the end.</summary>
    public void Stop()
    {
        _wall1 = Stopwatch.GetTimestamp();
        _cpu1 = Environment.CpuUsage.TotalTime;
    }

    /// <summary>Elapsed wall-clock seconds.</summary>
    public double WallSeconds => (_wall1 - _wall0) / (double)Stopwatch.Frequency;

    /// <summary>CPU seconds of the whole process in between.</summary>
    public double CpuSeconds => (_cpu1 - _cpu0).TotalSeconds;
}
