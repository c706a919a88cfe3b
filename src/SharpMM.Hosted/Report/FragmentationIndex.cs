namespace SharpMM.Hosted.Report;

/// <summary>
/// Linux's two fragmentation figures for one zone and one order, computed from the zone's free
/// blocks per order (buddyinfo) exactly as mm/vmstat.c does (fill_contig_page_info,
/// unusable_free_index, __fragmentation_index), in thousandths as /sys/kernel/debug/extfrag
/// prints them (1000 = 1.000).
/// <list type="bullet">
/// <item>Unusable free index: the share of free memory that cannot serve a request of the order
/// (free pages minus the pages in suitable blocks, over free pages); 1000 when nothing is free.</item>
/// <item>Extfrag index: whether a failing request of the order fails for lack of memory (toward 0)
/// or for fragmentation (toward 1000); -1000 when the request would succeed (a suitable block is
/// free), 0 when the zone has no free block.</item>
/// </list>
/// </summary>
public static class FragmentationIndex
{
    /// <summary>The value both indices use for "the request would succeed" (extfrag) and
    /// the scale of a whole (1.000).</summary>
    public const int Whole = 1000;

    /// <summary>The unusable free index of <paramref name="order"/>, in thousandths, given the
    /// free block count per order (index = order).</summary>
    public static int UnusableFree(int order, ulong[] freeBlocks)
    {
        Contig c = Fill(order, freeBlocks);
        if (c.FreePages == 0) return Whole;
        return (int)((c.FreePages - (c.SuitableBlocks << order)) * Whole / c.FreePages);
    }

    /// <summary>The external fragmentation index of <paramref name="order"/>, in thousandths
    /// (-1000: a block of the order is free, the request would succeed).</summary>
    public static int Extfrag(int order, ulong[] freeBlocks)
    {
        Contig c = Fill(order, freeBlocks);
        if (c.TotalBlocks == 0) return 0;
        if (c.SuitableBlocks != 0) return -Whole;
        ulong requested = 1UL << order;
        return Whole - (int)((Whole + c.FreePages * Whole / requested) / c.TotalBlocks);
    }

    /// <summary>The index as Linux prints it: "0.875", "-1.000".</summary>
    public static string Format(int thousandths) =>
        (thousandths < 0 ? "-" : "") + $"{System.Math.Abs(thousandths) / Whole}.{System.Math.Abs(thousandths) % Whole:D3}";

    private readonly record struct Contig(ulong FreePages, ulong TotalBlocks, ulong SuitableBlocks);

    // fill_contig_page_info: free pages, free blocks, and free blocks of at least the order
    // counted in units of the order.
    private static Contig Fill(int order, ulong[] freeBlocks)
    {
        if ((uint)order >= (uint)freeBlocks.Length) throw new System.ArgumentOutOfRangeException(nameof(order), $"order {order} is beyond the {freeBlocks.Length} orders given");
        ulong pages = 0, total = 0, suitable = 0;
        for (int o = 0; o < freeBlocks.Length; o++)
        {
            total += freeBlocks[o];
            pages += freeBlocks[o] << o;
            if (o >= order) suitable += freeBlocks[o] << (o - order);
        }
        return new Contig(pages, total, suitable);
    }
}
