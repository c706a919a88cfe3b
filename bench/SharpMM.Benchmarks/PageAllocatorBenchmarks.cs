using System;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using SharpMM.Hosted;
using SharpMM.Hosted.Workloads;
using SharpMM.Physical;

namespace SharpMM.Benchmarks;

/// <summary>
/// W0, W1 and W2 (bench/peers/README.md) under BenchmarkDotNet. Each invocation runs a whole
/// workload on a fresh allocator; OperationsPerInvoke turns the figure into ns per pair, per
/// allocation + free, or per step, comparable with the C peers' lines. Allocations on the GC
/// heap in the measured region are reported by the MemoryDiagnoser (expected: 0 B).
/// Every invocation builds a fresh allocator, so the job runs fully optimised code from the
/// first call (no tiered compilation), as `sharpmm bench` does and as the C peers are compiled.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(FullOptsConfig))]
public unsafe class PageAllocatorBenchmarks
{
    private BuddyAllocator* _buddy;
    private HostMemory? _meta;

    [Params(false, true)]
    public bool Pcp { get; set; }

    [IterationSetup]
    public void Setup() => _buddy = PageWorkloads.Create(Pcp ? PcpConfig.Default : PcpConfig.Off, out _meta);

    [IterationCleanup]
    public void Cleanup() => PageWorkloads.Destroy(_buddy, _meta!);

    /// <summary>W0: ns per alloc+free pair.</summary>
    [Benchmark(OperationsPerInvoke = 1_000_000)]
    public double W0_Pair() => PageWorkloads.W0(ref *_buddy, 1_000_000);

    /// <summary>W1: one round of 100,000 allocations and 100,000 frees in random order; ns per alloc+free.</summary>
    [Benchmark(OperationsPerInvoke = 100_000)]
    public double W1_AllocFree() { var (a, f) = PageWorkloads.W1(ref *_buddy, 100_000, 1); return a + f; }

    /// <summary>W2: fill to 50% then 2,000,000 mixed steps; ns per step (fill and probes included, about 10%).</summary>
    [Benchmark(OperationsPerInvoke = 2_000_000)]
    public double W2_Step()
    {
        var r = PageWorkloads.W2(ref *_buddy, 2_000_000, 10);
        if (r.Failed != 0) throw new InvalidOperationException("W2 had failed allocations");
        return r.StepNs;
    }
}

/// <summary>15 measured iterations, tiered compilation off.</summary>
public sealed class FullOptsConfig : ManualConfig
{
    public FullOptsConfig() =>
        AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(15)
            .WithEnvironmentVariables(new EnvironmentVariable("DOTNET_TieredCompilation", "0")));
}
