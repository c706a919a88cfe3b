using Xunit;

namespace SharpMM.Tests.Concurrency;

/// <summary>Tests that run simulated CPUs as threads or change the library's process-wide CPU
/// hooks (the request handler, the IPI hook) run one at a time, never beside each other.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CpuCollection
{
    /// <summary>The collection's name, for <c>[Collection(CpuCollection.Name)]</c>.</summary>
    public const string Name = "simulated CPUs";
}
