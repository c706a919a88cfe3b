namespace SharpMM.Paging;

/// <summary>
/// Where the mapper records what the TLB may now hold wrongly; implemented by
/// <see cref="FlushBatch"/> (range operations) and by the builder of a <see cref="FlushToken"/>
/// (single-page operations).
/// </summary>
internal interface IFlushRecorder
{
    /// <summary>The leaf at <paramref name="va"/> was added, changed or removed; one invalidation
    /// of that address covers it (whatever the page size).</summary>
    void Page(ulong va, bool global);
    /// <summary>A leaf was split into smaller pages (or a split undone): the TLB may hold
    /// translations of both sizes for the range, so the whole TLB must go (the Intel "TLBs may
    /// contain both ordinary and large-page translations" rule Linux follows after a split).</summary>
    void SizeChanged(bool global);
    /// <summary>A top-level entry of a format with <see cref="IPagingFormat.RootEntriesLatched"/>
    /// changed: only a root reload (CR3 write) makes the CPU see it.</summary>
    void RootChanged();
}
