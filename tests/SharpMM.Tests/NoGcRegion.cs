using System;
using System.Runtime;

namespace SharpMM.Tests;

/// <summary>
/// A region in which the GC does not run (<see cref="GC.TryStartNoGCRegion(long)"/>), for tests
/// that assert that code allocated nothing: a collection, triggered by any thread (the test
/// runner's own included), retires this thread's allocation context and moves
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> with nothing allocated. Inside the region
/// the reading moves only with this thread's allocations.
/// </summary>
public sealed class NoGcRegion : IDisposable
{
    public NoGcRegion(long budgetBytes = 64L << 20)
    {
        if (!GC.TryStartNoGCRegion(budgetBytes)) throw new InvalidOperationException("the GC refused a no-GC region");
    }

    /// <summary>False when the budget ran out and a collection happened after all.</summary>
    public static bool Held => GCSettings.LatencyMode == GCLatencyMode.NoGCRegion;

    public void Dispose()
    {
        if (Held) GC.EndNoGCRegion();
    }
}
