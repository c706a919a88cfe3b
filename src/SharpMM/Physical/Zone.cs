using System.Runtime.CompilerServices;

namespace SharpMM.Physical;

/// <summary>
/// One zone of the buddy allocator: per-order free lists (heads are frame numbers; links live in
/// the frame descriptors), a bit per non-empty list, counters, and the order-0 per-CPU cache in
/// front (Linux's per_cpu_pages: a stack refilled from the buddy lists <see cref="PcpBatch"/>
/// frames at a time and drained by a batch when it exceeds <see cref="PcpHigh"/>). There is one
/// CPU today: no locking, the caller serialises.
/// </summary>
public unsafe struct Zone
{
    /// <summary>Orders 0..10.</summary>
    public const int Orders = 11;
    /// <summary>Capacity of the per-CPU cache array (high watermark + 1 must fit).</summary>
    public const int PcpCapacity = 512;

    /// <summary>What the zone is.</summary>
    public ZoneKind Kind;
    /// <summary>First frame of the zone's address range (by configuration).</summary>
    public ulong StartPfn;
    /// <summary>One past the last frame of the zone's address range.</summary>
    public ulong EndPfn;
    /// <summary>Lowest frame of RAM in the zone (== <see cref="SpannedEndPfn"/> when empty).</summary>
    public ulong SpannedStartPfn;
    /// <summary>One past the highest frame of RAM in the zone.</summary>
    public ulong SpannedEndPfn;
    /// <summary><see cref="SpannedEndPfn"/> - <see cref="SpannedStartPfn"/> (a frame is in the
    /// zone's span when pfn - SpannedStartPfn is below it: one compare on the free path).</summary>
    public ulong SpannedFrames;
    /// <summary>Frames of RAM in the zone (reserved ones included).</summary>
    public ulong PresentFrames;
    /// <summary>Frames handed to the buddy allocator.</summary>
    public ulong ManagedFrames;
    /// <summary>Bit o set when list o is not empty.</summary>
    public uint NonEmpty;
    /// <summary>Frames in the per-CPU cache.</summary>
    public uint PcpCount;
    /// <summary>Drain above this many frames; 0 disables the cache.</summary>
    public uint PcpHigh;
    /// <summary>Frames moved per refill or drain.</summary>
    public uint PcpBatch;
    /// <summary>Biased links base when the zone's metadata is one packed run, else null
    /// (see <see cref="FrameMap.TryDenseRun"/>).</summary>
    public FrameLinks* DenseLinks;
    /// <summary>Biased state-byte base of a dense zone, else null.</summary>
    public byte* DenseInfo;
    /// <summary>Per-order pair-bit bases of a dense zone: bit (pfn >> (o + 1)) of DensePairs[o].</summary>
    public fixed ulong DensePairs[FrameMap.PairOrders];
    /// <summary>Heads of the free lists (frame numbers, 0 = empty).</summary>
    public fixed uint Head[Orders];
    /// <summary>Free blocks per order.</summary>
    public fixed ulong Blocks[Orders];
    /// <summary>The per-CPU cache: a stack of order-0 frame numbers.</summary>
    public fixed uint Pcp[PcpCapacity];

    /// <summary>Frames in free blocks on the lists (per-CPU cache not included), from the
    /// per-order counts: not kept as a counter, which would cost a write on every list change.</summary>
    public readonly ulong BuddyFreeFrames
    {
        get
        {
            ulong sum = 0;
            for (int o = 0; o < Orders; o++) sum += Blocks[o] << o;
            return sum;
        }
    }

    /// <summary>Free frames including the per-CPU cache.</summary>
    public readonly ulong FreeFrames => BuddyFreeFrames + PcpCount;

    /// <summary>The zone's name.</summary>
    public readonly string Name => ZoneNames.Name(Kind);
}

/// <summary>Inline storage for the zones of a <see cref="BuddyAllocator"/>.</summary>
[InlineArray(ZoneLayout.MaxZones)]
public struct ZoneArray
{
    private Zone _first;
}
