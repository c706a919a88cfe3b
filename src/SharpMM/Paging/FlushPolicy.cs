namespace SharpMM.Paging;

/// <summary>
/// How recorded page-table changes become TLB invalidations, and counters of what it did.
///
/// Rules, in order:
/// <code>
///   root entry latched (PAE PDPTE changed)   -> reload the root (CR3), always
///   pages &lt;= Ceiling, no size change,
///   the CPU has invlpg                       -> invalidate each page (a root reload already
///                                               dropped non-global ones, so then only if global)
///   otherwise (too many, size changed,
///   or an i386 without invlpg)               -> a global mapping changed: FlushAll (CR4.PGE toggle)
///                                               none global: reload the root (CR3)
/// </code>
/// Why global matters: a CR3 load keeps global TLB entries, so when a changed mapping was or
/// becomes global and the pages are not invalidated one by one, only <see cref="IArchHooks.FlushAll"/>
/// is correct. A batch marks itself global when the old or the new entry had G set. Linux uses
/// the same split: flush_tlb_kernel_range goes page by page up to tlb_single_page_flush_ceiling
/// (33) and then flushes everything, globals included.
///
/// Other CPUs: <see cref="TlbShootdown"/> sends a batch to them and applies it there with these
/// same rules. Not done: PCID/ASID-tagged flushes.
/// </summary>
public struct FlushPolicy
{
    /// <summary>Linux's tlb_single_page_flush_ceiling.</summary>
    public const int LinuxCeiling = 33;

    /// <summary>What has been done so far.</summary>
    public FlushCounters Counters;
    /// <summary>Most pages invalidated one by one; above, a full flush. Values above
    /// <see cref="FlushBatch.Capacity"/> behave as the capacity.</summary>
    public int Ceiling;

    /// <summary>A policy with <paramref name="ceiling"/> (0: every flush is a full one).</summary>
    public FlushPolicy(int ceiling) { Ceiling = ceiling; Counters = default; }

    /// <summary>Ceiling 33, as Linux.</summary>
    public static FlushPolicy Default => new FlushPolicy(LinuxCeiling);

    internal unsafe void Apply<TArch>(ref TArch arch, int pageCount, ulong* pages, bool global, bool full, bool rootReload)
        where TArch : struct, IArchHooks
    {
        Counters.BatchFlushes++;
        if (rootReload) ReloadRoot(ref arch);
        bool pageByPage = !full && pageCount <= Ceiling && arch.HasInvalidatePage;
        if (pageByPage)
        {
            if (rootReload && !global) return;
            for (int i = 0; i < pageCount; i++)
            {
                arch.InvalidatePage(pages[i]);
                Counters.BatchPages++;
            }
        }
        else if (global)
        {
            arch.FlushAll();
            Counters.FullFlushes++;
        }
        else if (!rootReload)
        {
            ReloadRoot(ref arch);
        }
    }

    private void ReloadRoot<TArch>(ref TArch arch) where TArch : struct, IArchHooks
    {
        arch.WriteCr3(arch.ReadCr3());
        Counters.Cr3Reloads++;
    }
}
