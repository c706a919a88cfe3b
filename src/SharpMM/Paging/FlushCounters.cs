namespace SharpMM.Paging;

/// <summary>What a <see cref="FlushPolicy"/> has done, for tests, benchmarks and reports.</summary>
public struct FlushCounters
{
    // A token for one page, flushed with one invalidation (the common case) is counted once,
    // here, and shows in both Flushed and PagesInvalidated: one counter to update, not two.
    // First, so that a reference to the policy is a reference to it.
    internal ulong SinglePages;
    /// <summary>Single-page invalidations issued (invlpg, sfence.vma with an address).</summary>
    public readonly ulong PagesInvalidated => BatchPages + SinglePages;
    /// <summary>Full flushes including global entries (<see cref="IArchHooks.FlushAll"/>).</summary>
    public ulong FullFlushes;
    /// <summary>Root reloads (<see cref="IArchHooks.WriteCr3"/> with the current root).</summary>
    public ulong Cr3Reloads;
    /// <summary>Non-empty tokens and batches dropped with Ignore.</summary>
    public ulong Ignored;
    /// <summary>Non-empty tokens and batches flushed.</summary>
    public readonly ulong Flushed => BatchFlushes + SinglePages;

    // Everything else: flushes through FlushPolicy.Apply and the pages they invalidated.
    internal ulong BatchFlushes, BatchPages;

    /// <summary>Adds another policy's counters (totals over several policies).</summary>
    public void Add(in FlushCounters other)
    {
        SinglePages += other.SinglePages;
        FullFlushes += other.FullFlushes;
        Cr3Reloads += other.Cr3Reloads;
        Ignored += other.Ignored;
        BatchFlushes += other.BatchFlushes;
        BatchPages += other.BatchPages;
    }
}
