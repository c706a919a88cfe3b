using System;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Physical;

namespace SharpMM.Hosted.Workloads;

/// <summary>A live block in W2: the C reference's struct live_block (8 bytes: frame, order).</summary>
internal struct LiveBlock
{
    public uint Pfn;
    public byte Order;
}

/// <summary>W2's end state and timing.</summary>
public struct W2Result
{
    public double StepNs, FillNs;
    public ulong Allocs, Frees, Failed, FailedHigh, FreePages, Order10Blocks, Order9Blocks;
    public int LargestOrder;
}

/// <summary>
/// The page-allocator workloads W0, W1, W2 of bench/peers/README.md, over a 1 GiB arena of
/// 262,144 frames. The arena starts at frame 262,144 (frame 0 is never managed; any 4 MiB-aligned
/// base gives the same block structure) and is handed over in descending 4 MiB blocks so the
/// lists start as the C reference's do: ascending, lowest at the head. Measured regions allocate
/// nothing on the GC heap (<see cref="GcBytes"/> tells). The drivers are compiled fully optimised
/// at once (each runs once per repetition, too few calls for tiered compilation to promote them
/// out of the loop-patched first tier); the allocator code they call tiers as usual. The drivers
/// are generic over the frame allocator so that a recording wrapper (Trace/RecordingFrames) can
/// run the same steps; for the buddy allocator itself the JIT compiles a specialised copy, as fast
/// as a direct call.
/// </summary>
public static unsafe class PageWorkloads
{
    /// <summary>Frames in the arena.</summary>
    public const uint Frames = 262_144;
    /// <summary>First frame of the arena.</summary>
    public const ulong Base = 262_144;

    /// <summary>GC bytes allocated by this thread during the last measured region.</summary>
    public static long GcBytes { get; private set; }

    /// <summary>A fresh buddy allocator over the arena (caller frees with <see cref="Destroy"/>).</summary>
    public static BuddyAllocator* Create(PcpConfig pcp, out HostMemory meta)
    {
        meta = new HostMemory(8UL << 20);
        var md = new HostMetadata(meta.Base, meta.Size, 0x1_0000_0000_0000);
        var b = (BuddyAllocator*)NativeMemory.AllocZeroed((nuint)sizeof(BuddyAllocator));
        ReadOnlySpan<PhysRange> ram = stackalloc PhysRange[] { PhysRange.FromFrames(Pfn.New(Base), Pfn.New(Base + Frames)) };
        if (b->Init(ref md, ram, ZoneLayout.Flat(), pcp) != Status.Ok) throw new InvalidOperationException("buddy init failed");
        for (ulong top = Base + Frames; top > Base; top -= 1024) b->AddFreeRange(Pfn.New(top - 1024), Pfn.New(top));
        return b;
    }

    /// <summary>Frees what <see cref="Create"/> made.</summary>
    public static void Destroy(BuddyAllocator* b, HostMemory meta)
    {
        NativeMemory.Free(b);
        meta.Dispose();
    }

    private static long Now() => Stopwatch.GetTimestamp();
    private static double Ns(long ticks) => ticks * 1e9 / Stopwatch.Frequency;

    /// <summary>W0: 1000 warm-up pairs, then <paramref name="iters"/> x { alloc(0); free }. ns per pair.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double W0<TF>(ref TF b, long iters) where TF : struct, IFrameTableAllocator
    {
        for (int i = 0; i < 1000; i++) { b.Allocate(0, out Pfn w); b.Free(w, 0); }
        long gc0 = GC.GetAllocatedBytesForCurrentThread();
        long t0 = Now();
        ulong failed = W0Loop(ref b, iters);
        long t1 = Now();
        if (failed != 0) throw new InvalidOperationException("W0 alloc failed");
        GcBytes = GC.GetAllocatedBytesForCurrentThread() - gc0;
        return Ns(t1 - t0) / iters;
    }

    // The timed loop, in a method of its own so that its few live values stay in registers.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static ulong W0Loop<TF>(ref TF b, long iters) where TF : struct, IFrameTableAllocator
    {
        ulong failed = 0;
        for (long i = 0; i < iters; i++)
        {
            if (b.Allocate(0, out Pfn p) != Status.Ok) failed++;
            b.Free(p, 0);
        }
        return failed;
    }

    // W1's timed loops, each in a method of its own (as W0Loop).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void W1Alloc<TF>(ref TF b, uint* pages, uint n) where TF : struct, IFrameTableAllocator
    {
        for (uint i = 0; i < n; i++)
        {
            b.Allocate(0, out Pfn p);
            pages[i] = (uint)p.Value;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void W1Free<TF>(ref TF b, uint* pages, uint* perm, uint n) where TF : struct, IFrameTableAllocator
    {
        for (uint i = 0; i < n; i++) b.Free(Pfn.NewUnchecked(pages[perm[i]]), 0);
    }

    private struct W2State
    {
        public SplitMix64 Rng;
        public uint NLive;
        public ulong LivePages, Allocs, Frees, Failed, FailedHigh;
    }

    // W2's timed steps, in a method of its own (as W0Loop), the state in locals while it runs.
    // Few live values: the steps count down, frees and allocations follow from the number of
    // allocation steps, and the failure counters (never touched in a correct run) stay in st.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void W2Steps<TF>(ref TF b, LiveBlock* live, long steps, int maxOrder, ref W2State st) where TF : struct, IFrameTableAllocator
    {
        const ulong target = Frames / 2;
        SplitMix64 rng = st.Rng;
        uint nlive = st.NLive;
        ulong livePages = st.LivePages, cap = 1UL << maxOrder;
        long allocSteps = 0;
        for (long left = steps; left > 0; left--)
        {
            ulong r1 = rng.Next(), r2 = rng.Next();
            if (livePages < target)
            {
                allocSteps++;
                uint o = (uint)BitOperations.TrailingZeroCount(r1 | cap);
                if (b.Allocate(o, out Pfn p) == Status.Ok) { live[nlive].Pfn = (uint)p.Value; live[nlive].Order = (byte)o; nlive++; livePages += 1UL << (int)o; }
                else { st.Failed++; if (o >= 9) st.FailedHigh++; }
            }
            else
            {
                uint i = SplitMix64.Bound(r2, nlive);
                b.Free(Pfn.NewUnchecked(live[i].Pfn), live[i].Order);
                livePages -= 1UL << live[i].Order;
                live[i] = live[--nlive];
            }
        }
        st.Rng = rng; st.NLive = nlive; st.LivePages = livePages;
        st.Allocs = (ulong)allocSteps - st.Failed;
        st.Frees = (ulong)(steps - allocSteps);
    }

    /// <summary>The Fisher-Yates permutation W1 draws for one round.</summary>
    public static void Permute(uint* perm, uint n, ref SplitMix64 rng)
    {
        for (uint i = 0; i < n; i++) perm[i] = i;
        for (uint i = n - 1; i > 0; i--)
        {
            uint j = SplitMix64.Bound(rng.Next(), i + 1);
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
    }

    /// <summary>W1: <paramref name="rounds"/> x { untimed permutation; timed: allocate
    /// <paramref name="n"/> order-0 frames; timed: free them in permutation order }.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double allocNs, double freeNs) W1<TF>(ref TF b, uint n, int rounds) where TF : struct, IFrameTableAllocator
    {
        uint* pages = (uint*)NativeMemory.Alloc(n, 4);
        uint* perm = (uint*)NativeMemory.Alloc(n, 4);
        var rng = new SplitMix64(1);
        long ta = 0, tf = 0, gc = 0;
        try
        {
            for (int round = 0; round < rounds; round++)
            {
                Permute(perm, n, ref rng);
                long gc0 = GC.GetAllocatedBytesForCurrentThread();
                long t0 = Now();
                W1Alloc(ref b, pages, n);
                long t1 = Now();
                for (uint i = 0; i < n; i++) if (pages[i] == 0) throw new InvalidOperationException("W1 alloc failed");
                long t2 = Now();
                W1Free(ref b, pages, perm, n);
                long t3 = Now();
                gc += GC.GetAllocatedBytesForCurrentThread() - gc0;
                ta += t1 - t0; tf += t3 - t2;
            }
        }
        finally
        {
            NativeMemory.Free(pages);
            NativeMemory.Free(perm);
        }
        GcBytes = gc;
        return (Ns(ta) / ((double)n * rounds), Ns(tf) / ((double)n * rounds));
    }

    /// <summary>W2 (maxOrder 10) or W2-o9 (maxOrder 9): mixed orders at 50% live, then the
    /// fragmentation probes. Leaves the allocator with everything freed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static W2Result W2<TF>(ref TF b, long steps, int maxOrder) where TF : struct, IFrameTableAllocator
    {
        const ulong target = Frames / 2;
        LiveBlock* live = (LiveBlock*)NativeMemory.Alloc(Frames, (nuint)sizeof(LiveBlock));
        var res = new W2Result();
        try
        {
            var rng = new SplitMix64(2);
            uint nlive = 0;
            ulong livePages = 0;
            long f0 = Now(), fillOps = 0;
            while (livePages < target)
            {
                uint o = (uint)BitOperations.TrailingZeroCount(rng.Next() | (1UL << maxOrder));
                fillOps++;
                if (b.Allocate(o, out Pfn p) == Status.Ok) { live[nlive].Pfn = (uint)p.Value; live[nlive].Order = (byte)o; nlive++; livePages += 1UL << (int)o; }
            }
            res.FillNs = Ns(Now() - f0) / fillOps;
            var st = new W2State { Rng = rng, NLive = nlive, LivePages = livePages };
            long gc0 = GC.GetAllocatedBytesForCurrentThread();
            long t0 = Now();
            W2Steps(ref b, live, steps, maxOrder, ref st);
            long t1 = Now();
            GcBytes = GC.GetAllocatedBytesForCurrentThread() - gc0;
            nlive = st.NLive; livePages = st.LivePages;
            res.StepNs = Ns(t1 - t0) / steps;
            res.Allocs = st.Allocs; res.Frees = st.Frees; res.Failed = st.Failed; res.FailedHigh = st.FailedHigh;

            b.Drain();
            res.LargestOrder = -1;
            for (int o = maxOrder; o >= 0; o--)
                if (b.Allocate((uint)o, out Pfn p) == Status.Ok) { b.Free(p, (uint)o); res.LargestOrder = o; break; }
            uint* tmp = (uint*)NativeMemory.Alloc(Frames, 4);
            for (int o = maxOrder; o >= 9; o--)
            {
                uint k = 0;
                while (b.Allocate((uint)o, out Pfn p) == Status.Ok) tmp[k++] = (uint)p.Value;
                for (uint i = 0; i < k; i++) b.Free(Pfn.NewUnchecked(tmp[i]), (uint)o);
                if (o == 10) res.Order10Blocks = k; else res.Order9Blocks = k;
            }
            NativeMemory.Free(tmp);
            res.FreePages = Frames - livePages;
            for (uint i = 0; i < nlive; i++) b.Free(Pfn.NewUnchecked(live[i].Pfn), live[i].Order);
            b.Drain();
        }
        finally
        {
            NativeMemory.Free(live);
        }
        return res;
    }
}
