using System;
using System.Collections.Generic;
using System.IO;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using SharpMM.Heap;
using SharpMM.Hosted.Peers;
using SharpMM.Hosted.Workloads;

namespace SharpMM.Benchmarks;

/// <summary>
/// W3, W3t and W3h (bench/peers/README.md) under BenchmarkDotNet, on SharpMM's kmalloc and on
/// the peer mallocs called in-process (glibc; mimalloc, jemalloc, tcmalloc when their Debian
/// packages are installed). Each invocation runs one workload: W3/W3t fill 100,000 slots and
/// then do 1,000,000 free+malloc pairs of the 10,000,000-operation trace's first million
/// (the fill, about a tenth of the time, is included); W3h does 10,000,000 hot pairs. SharpMM
/// gets a fresh heap over a fresh buddy allocator per invocation. OperationsPerInvoke turns the
/// figure into ns per pair. The job runs fully optimised code (no tiered compilation), as
/// `sharpmm bench` does, and gives glibc room for jemalloc's initial-exec TLS so that it can
/// be loaded after start-up.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(HeapFullOptsConfig))]
public unsafe class HeapBenchmarks
{
    private const int Ops = 1_000_000;
    private const int HotOps = 10_000_000;
    private W3Trace? _trace;
    private HeapArena? _arena;

    /// <summary>sharpmm and the peers whose libraries are installed.</summary>
    public static IEnumerable<string> Backends()
    {
        foreach (string b in HeapWorkloads.Backends)
        {
            string? lib = b == "sharpmm" ? null : PeerLibraries.LibraryOf(b);
            if (lib == null || File.Exists("/usr/lib/x86_64-linux-gnu/" + lib)) yield return b;
        }
    }

    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "sharpmm";

    [GlobalSetup]
    public void GlobalSetup()
    {
        if (Backend != "sharpmm" && !PeerLibraries.IsAvailable(Backend, out string why)) throw new InvalidOperationException(why);
        _trace = new W3Trace(Ops);
    }

    [GlobalCleanup]
    public void GlobalCleanup() => _trace?.Dispose();

    [IterationSetup]
    public void Setup()
    {
        if (Backend == "sharpmm") _arena = new HeapArena(HeapConfig.Default);
    }

    [IterationCleanup]
    public void Cleanup()
    {
        _arena?.Dispose();
        _arena = null;
    }

    /// <summary>W3: ns per free+malloc pair (random sizes 8..2047, 100,000 live).</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public double W3() => RunW3(touch: false);

    /// <summary>W3t: W3 writing 8 bytes into each new object.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public double W3t() => RunW3(touch: true);

    /// <summary>W3h: ns per hot malloc(64)+free pair.</summary>
    [Benchmark(OperationsPerInvoke = HotOps)]
    public double W3h()
    {
        double ns;
        ulong failures;
        switch (Backend)
        {
            case "sharpmm": { var b = _arena!.Backend; ns = HeapWorkloads.W3h(ref b, HotOps, out failures, out _); break; }
            case "glibc": { var b = new GlibcMalloc(); ns = HeapWorkloads.W3h(ref b, HotOps, out failures, out _); break; }
            case "mimalloc": { var b = new Mimalloc(); ns = HeapWorkloads.W3h(ref b, HotOps, out failures, out _); break; }
            case "jemalloc": { var b = new Jemalloc(); ns = HeapWorkloads.W3h(ref b, HotOps, out failures, out _); break; }
            default: { var b = new Tcmalloc(); ns = HeapWorkloads.W3h(ref b, HotOps, out failures, out _); break; }
        }
        if (failures != 0) throw new InvalidOperationException($"W3h: {failures} failures");
        return ns;
    }

    private double RunW3(bool touch)
    {
        W3Result r;
        switch (Backend)
        {
            case "sharpmm": { var b = _arena!.Backend; r = HeapWorkloads.W3(ref b, _trace!, touch); break; }
            case "glibc": { var b = new GlibcMalloc(); r = HeapWorkloads.W3(ref b, _trace!, touch); break; }
            case "mimalloc": { var b = new Mimalloc(); r = HeapWorkloads.W3(ref b, _trace!, touch); break; }
            case "jemalloc": { var b = new Jemalloc(); r = HeapWorkloads.W3(ref b, _trace!, touch); break; }
            default: { var b = new Tcmalloc(); r = HeapWorkloads.W3(ref b, _trace!, touch); break; }
        }
        if (r.Failures != 0) throw new InvalidOperationException($"W3: {r.Failures} failures");
        return r.PairNs;
    }
}

/// <summary>15 measured iterations, tiered compilation off, static TLS room for jemalloc.</summary>
public sealed class HeapFullOptsConfig : ManualConfig
{
    public HeapFullOptsConfig() =>
        AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(15)
            .WithEnvironmentVariables(
                new EnvironmentVariable("DOTNET_TieredCompilation", "0"),
                new EnvironmentVariable("GLIBC_TUNABLES", "glibc.rtld.optional_static_tls=1048576")));
}
