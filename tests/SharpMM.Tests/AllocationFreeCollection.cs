using Xunit;

namespace SharpMM.Tests;

/// <summary>
/// Tests that assert a measured region allocated nothing on the GC heap
/// (<see cref="System.GC.GetAllocatedBytesForCurrentThread"/> unchanged). They measure inside a
/// <see cref="NoGcRegion"/>, as a collection triggered by any thread moves the reading with nothing
/// allocated, and run apart from the parallel tests, whose allocations would use up the region's budget.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationFreeCollection
{
    public const string Name = "allocation-free measurements";
}
