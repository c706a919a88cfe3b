using Xunit;

namespace SharpMM.Tests;

/// <summary>
/// Tests that assert a measured region allocated nothing on the GC heap
/// (<see cref="System.GC.GetAllocatedBytesForCurrentThread"/> unchanged) run alone: while other
/// tests run in parallel, a collection they trigger retires this thread's allocation context and
/// the reading jumps by up to one allocation quantum (about 8 KiB) with nothing allocated.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationFreeCollection
{
    public const string Name = "allocation-free measurements";
}
