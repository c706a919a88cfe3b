namespace SharpMM.User;

/// <summary>What the user memory manager did: faults by kind, paging traffic, the clock's work.</summary>
public unsafe struct UserCounters
{
    /// <summary>Faults by <see cref="FaultKind"/>.</summary>
    public fixed ulong Faults[(int)FaultKind.Count];
    /// <summary>Pages written to the store on their way out of RAM.</summary>
    public ulong PagesOut;
    /// <summary>Pages that left RAM without a write (clean: zero, or already in a slot).</summary>
    public ulong CleanDrops;
    /// <summary>Pages read back from the store (page-in and store-fill faults).</summary>
    public ulong PagesIn;
    /// <summary>Present entries the clock looked at.</summary>
    public ulong ClockScans;
    /// <summary>Accessed bits the clock cleared (second chances given).</summary>
    public ulong SecondChances;
    /// <summary>Pages the clock could not evict (store full or failing).</summary>
    public ulong EvictionsRefused;
    /// <summary>Reclaim calls (memory pressure events).</summary>
    public ulong ReclaimRuns;
    /// <summary>Store writes or reads that failed.</summary>
    public ulong StoreErrors;
    /// <summary>Page mappings fork shared copy-on-write with a child.</summary>
    public ulong ForkSharedPages;

    /// <summary>Faults of <paramref name="kind"/>.</summary>
    public readonly ulong Of(FaultKind kind) => Faults[(int)kind];

    /// <summary>Faults of every kind.</summary>
    public readonly ulong TotalFaults
    {
        get
        {
            ulong n = 0;
            for (int i = 0; i < (int)FaultKind.Count; i++) n += Faults[i];
            return n;
        }
    }
}
