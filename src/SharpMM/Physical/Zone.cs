using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpMM.Concurrency;

namespace SharpMM.Physical;

/// <summary>
/// One zone of the buddy allocator: per-order free lists (heads are frame numbers; links live in
/// the frame descriptors), a bit per non-empty list, counters, and the settings of the order-0
/// per-CPU caches in front (Linux's per_cpu_pages: one <see cref="PcpCache"/> per CPU, refilled
/// from the lists and drained back in multiples of <see cref="PcpBatch"/> frames when it exceeds
/// its own high, which starts at <see cref="PcpHigh"/>; the caches are at <see cref="Pcp"/>).
/// <see cref="Lock"/> protects the lists, the pair bits of the zone's frames, and the counters.
/// </summary>
public unsafe struct Zone
{
    /// <summary>Orders 0..10.</summary>
    public const int Orders = 11;
    /// <summary>The most frames a per-CPU stack is made to hold (<see cref="PcpStack"/> is at
    /// most this): the largest high a CPU's cache may tune itself to is one less (a free pushes
    /// before it compares with the high). Twice the 4096 frames a burst of W5 allocates, so that
    /// a CPU whose high has grown keeps a whole burst (a smaller stack sent half of every burst
    /// through the zone lock whatever the high said).</summary>
    public const int PcpCapacity = 8192;

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
    /// <summary>The least high of a CPU's cache (high_min: where every cache starts and where
    /// pressure puts it back); 0 disables the cache. Each cache's own high
    /// (<see cref="PcpCache.High"/>) tunes itself between this and <see cref="BuddyAllocator.PcpHighMax"/>.</summary>
    public uint PcpHigh;
    /// <summary>Frames moved per refill or drain.</summary>
    public uint PcpBatch;
    /// <summary>Frames each CPU's stack of this zone holds (<see cref="PcpCache.Frames"/>): an
    /// eighth of the zone's present frames (what <see cref="BuddyAllocator.PcpHighMax"/> allows
    /// one CPU), at least <see cref="PcpHigh"/> + 1 and at most <see cref="PcpCapacity"/>,
    /// rounded up to whole cache lines; 0 for a zone without a cache (caches off, or no more
    /// frames than the least high: its <see cref="PcpHigh"/> is 0 too).</summary>
    public uint PcpStack;
    /// <summary>Where a CPU answering a drain request puts this zone's cached frames
    /// (<see cref="PcpStack"/> entries; one request at a time, see PageCacheDrain).</summary>
    public uint* PcpMailbox;
    /// <summary>Biased links base when the zone's metadata is one packed run, else null
    /// (see <see cref="FrameMap.TryDenseRun"/>).</summary>
    public FrameLinks* DenseLinks;
    /// <summary>Biased state-byte base of a dense zone, else null.</summary>
    public byte* DenseInfo;
    /// <summary>Per-order pair-bit bases of a dense zone: bit (pfn >> (o + 1)) of DensePairs[o].</summary>
    public fixed ulong DensePairs[FrameMap.PairOrders];
    // The fields above are read on every allocation and free by every CPU and change only at
    // boot; the ones below change under the lock. The gap keeps them on different cache lines,
    // so that a refill on one CPU does not take the lines another CPU's fast path reads.
    private fixed byte _readMostlyEnd[64];
    /// <summary>The zone lock (rank Zone): held for every change of the free lists, the pair
    /// bits of the zone's frames, <see cref="NonEmpty"/> and <see cref="Blocks"/>, and for every
    /// refill or drain of a per-CPU cache. Not taken while only one CPU is online.</summary>
    public SpinLock Lock;
    /// <summary>Bit o set when list o is not empty.</summary>
    public uint NonEmpty;
    /// <summary>Heads of the free lists (frame numbers, 0 = empty).</summary>
    public fixed uint Head[Orders];
    /// <summary>Free blocks per order.</summary>
    public fixed ulong Blocks[Orders];
    /// <summary>1 when the lists were under the low watermark at the last refill or drain of a
    /// per-CPU cache (set under the lock, read without it by the tuning of the caches' highs,
    /// which then do not grow).</summary>
    public int PcpShort;
    private fixed byte _lockedEnd[64];
    /// <summary>Every CPU's cache of this zone (<see cref="Cache"/>), here rather than behind a
    /// pointer: the fast paths reach CPU n's at a fixed offset from the zone, with no load
    /// before the count's. Each record is two cache lines of which its fields use the first 40
    /// bytes, so no two CPUs' fields ever share a line, wherever the allocator lies (its host
    /// aligns it to 8 or 16 bytes). A zone without a cache (<see cref="PcpStack"/> 0) leaves
    /// them zero, never written: the fast paths read a count of 0 and go on to the lists.</summary>
    public PcpCacheArray Pcp;
    // The next zone's read-mostly fields follow: kept off the last record's lines.
    private fixed byte _cachesEnd[64];

    /// <summary>CPU <paramref name="cpu"/>'s cache of <paramref name="zone"/> (no bounds check:
    /// CPU indices are below <see cref="Cpu.MaxCpus"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref PcpCache Cache(ref Zone zone, int cpu) =>
        ref Unsafe.Add(ref Unsafe.As<PcpCacheArray, PcpCache>(ref zone.Pcp), cpu);

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

    /// <summary>The zone's name.</summary>
    public readonly string Name => ZoneNames.Name(Kind);
}

/// <summary>
/// One CPU's order-0 cache of one zone: a stack of frames (state PerCpu) only that CPU pushes and
/// pops, with no lock and no atomic instruction. 128 bytes, its fields in the first 40, so that
/// two CPUs' records in a row (<see cref="Zone.Pcp"/>) never share a cache line however they
/// are aligned; the stack's storage is apart, in the allocator's metadata.
/// <para><see cref="Busy"/> is set while the owner changes the stack; a drain request that
/// interrupts it then (an IPI, or the owner's own spin on the zone lock) cannot take the frames
/// and sets <see cref="DrainPending"/> instead, which the owner answers when it clears Busy.</para>
/// </summary>
/// <para>The fields after <see cref="DrainPending"/> tune <see cref="High"/> (Linux 6.7's pcp high
/// auto-tuning); only the owner changes them, on a refill or a drain, never on the fast path.</para>
[StructLayout(LayoutKind.Sequential, Size = 128)]
public unsafe struct PcpCache
{
    /// <summary>Frames in the stack.</summary>
    public uint Count;
    /// <summary>Drain when the stack holds more than this: between the zone's
    /// <see cref="Zone.PcpHigh"/> and <see cref="BuddyAllocator.PcpHighMax"/>.</summary>
    public uint High;
    /// <summary>1 while the owner changes the stack.</summary>
    public int Busy;
    /// <summary>1 when a drain request arrived while the stack was busy.</summary>
    public int DrainPending;
    /// <summary>Frames refilled since the last drain: a drain that finds some is a burst of
    /// frees that follows a burst of allocations, which raises <see cref="High"/> by as many.</summary>
    public uint RefilledSinceDrain;
    /// <summary>Refills since the last drain: each refill of a streak takes twice the previous
    /// one (up to 32 batches, and never more than <see cref="High"/>).</summary>
    public uint RefillStreak;
    /// <summary>Drains since the last refill: each drain of a streak returns twice the previous
    /// one (up to 32 batches).</summary>
    public uint DrainStreak;
    /// <summary>Frames drained since the last refill: frees that dominate with no allocation;
    /// past twice <see cref="High"/> they lower it by an eighth.</summary>
    public uint DrainedSinceRefill;
    /// <summary>The stack of order-0 frame numbers (<see cref="Zone.PcpStack"/> entries, taken
    /// from the metadata at Init and sized by the zone: null for a zone with no RAM).</summary>
    public uint* Frames;

    /// <summary>Takes the frame on top of the stack, which is not empty (its owner, entered where
    /// several CPUs are online; the caller marks the frame allocated).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Pop()
    {
        uint n = Count - 1;
        Count = n;
        return Frames[n];
    }

    /// <summary>Puts <paramref name="frame"/> on top of the stack, which has room (its owner,
    /// entered where several CPUs are online); returns the new count, for the caller's test
    /// against <see cref="High"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Push(uint frame)
    {
        uint n = Count;
        Frames[n] = frame;
        Count = n + 1;
        return n + 1;
    }
}

/// <summary>Inline storage for every CPU's cache of a <see cref="Zone"/>.</summary>
[InlineArray(Cpu.MaxCpus)]
public struct PcpCacheArray
{
    private PcpCache _first;
}

/// <summary>Inline storage for the zones of a <see cref="BuddyAllocator"/>.</summary>
[InlineArray(ZoneLayout.MaxZones)]
public struct ZoneArray
{
    private Zone _first;
}
