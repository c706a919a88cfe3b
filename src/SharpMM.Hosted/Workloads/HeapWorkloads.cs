using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Heap;
using SharpMM.Hosted.Peers;
using SharpMM.Physical;

namespace SharpMM.Hosted.Workloads;

/// <summary>One W3 or W3t run.</summary>
public struct W3Result
{
    /// <summary>ns per free+malloc pair in the timed loop.</summary>
    public double PairNs;
    /// <summary>Memory held after the timed loop minus before the fill (pages held by the heap
    /// for SharpMM, resident-set growth for a peer).</summary>
    public ulong FootprintBytes;
    /// <summary>Bytes requested by the 100,000 live objects after the timed loop.</summary>
    public ulong LiveBytes;
    /// <summary>Failed allocations or refused frees (must be 0).</summary>
    public ulong Failures;
    /// <summary>GC bytes allocated in the timed loop (must be 0).</summary>
    public long GcBytes;
}

/// <summary>
/// The W3 trace, precomputed as the C peers do (untimed, in native memory): 100,000 fill sizes,
/// then per operation the slot to free and the size to allocate. Sizes are w3_size of a
/// splitmix64(3) draw; slots are bound(next, 100000).
/// </summary>
public sealed unsafe class W3Trace : IDisposable
{
    /// <summary>Size of slot i at the fill.</summary>
    public ushort* FillSizes { get; private set; }
    /// <summary>Slot freed and reallocated by operation t.</summary>
    public uint* OpSlots { get; private set; }
    /// <summary>Size allocated by operation t.</summary>
    public ushort* OpSizes { get; private set; }
    /// <summary>Operations.</summary>
    public long Ops { get; }
    /// <summary>Sum of the fill sizes (38,066,095: bench/peers/README.md).</summary>
    public ulong FillSizeSum { get; }
    /// <summary>Sum of the operation sizes (3,820,101,847 for 10,000,000 operations).</summary>
    public ulong OpSizeSum { get; }
    /// <summary>Sum of the slot indices (499,865,727,279 for 10,000,000 operations).</summary>
    public ulong SlotSum { get; }
    /// <summary>Requested bytes live after all operations.</summary>
    public ulong LiveBytesAtEnd { get; }

    /// <summary>Generates the trace of <paramref name="ops"/> operations.</summary>
    public W3Trace(long ops)
    {
        Ops = ops;
        FillSizes = (ushort*)NativeMemory.Alloc(HeapWorkloads.Slots, 2);
        OpSlots = (uint*)NativeMemory.Alloc((nuint)Math.Max(ops, 1), 4);
        OpSizes = (ushort*)NativeMemory.Alloc((nuint)Math.Max(ops, 1), 2);
        var rng = new SplitMix64(3);
        ulong fill = 0, sizes = 0, slots = 0;
        for (uint i = 0; i < HeapWorkloads.Slots; i++) { FillSizes[i] = (ushort)HeapWorkloads.W3Size(rng.Next()); fill += FillSizes[i]; }
        for (long t = 0; t < ops; t++)
        {
            OpSlots[t] = SplitMix64.Bound(rng.Next(), HeapWorkloads.Slots);
            OpSizes[t] = (ushort)HeapWorkloads.W3Size(rng.Next());
            sizes += OpSizes[t];
            slots += OpSlots[t];
        }
        FillSizeSum = fill; OpSizeSum = sizes; SlotSum = slots;
        ushort* live = (ushort*)NativeMemory.Alloc(HeapWorkloads.Slots, 2);
        for (uint i = 0; i < HeapWorkloads.Slots; i++) live[i] = FillSizes[i];
        for (long t = 0; t < ops; t++) live[OpSlots[t]] = OpSizes[t];
        ulong lb = 0;
        for (uint i = 0; i < HeapWorkloads.Slots; i++) lb += live[i];
        NativeMemory.Free(live);
        LiveBytesAtEnd = lb;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        NativeMemory.Free(FillSizes); NativeMemory.Free(OpSlots); NativeMemory.Free(OpSizes);
        FillSizes = null; OpSlots = null; OpSizes = null;
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the native arrays if Dispose was not called.</summary>
    ~W3Trace() { NativeMemory.Free(FillSizes); NativeMemory.Free(OpSlots); NativeMemory.Free(OpSizes); }
}

/// <summary>SharpMM's kmalloc/kfree as an <see cref="IMalloc"/> (a heap over a fresh buddy
/// allocator; see <see cref="HeapArena"/>).</summary>
public unsafe struct KmallocBackend : IMalloc
{
    private readonly KernelHeap<BuddyClassFrames, DirectLargeMapper>* _heap;

    /// <summary>Calls into <paramref name="heap"/>.</summary>
    public KmallocBackend(KernelHeap<BuddyClassFrames, DirectLargeMapper>* heap) { _heap = heap; }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* Malloc(nuint size)
    {
        _heap->Kmalloc(size, out void* p);
        return p;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Free(void* p) => _heap->Kfree(p) == Status.Ok;

    /// <inheritdoc/>
    public ulong HeldBytes() => (_heap->Pages.SlabPages + _heap->Pages.LargePages) << PageSize.Shift;

    /// <summary>Gives back the calling CPU's cached objects (each CPU, before the heap is destroyed).</summary>
    public void DrainCurrentCpu() => _heap->Pages.DrainCurrentCpu();
}

/// <summary>
/// A kernel heap over a fresh buddy allocator (the page workloads' 1 GiB arena of 262,144
/// frames) whose frames are real memory: one 1 GiB host buffer, touched once per process so
/// that, as in the C peers' MAP_POPULATE arena, no run pays first-touch page faults.
/// </summary>
public sealed unsafe class HeapArena : IDisposable
{
    private static HostMemory? s_ram;
    private readonly HostMemory _meta;

    /// <summary>The buddy allocator under the heap.</summary>
    public BuddyAllocator* Buddy { get; private set; }
    /// <summary>The heap.</summary>
    public KernelHeap<BuddyClassFrames, DirectLargeMapper>* Heap { get; private set; }
    /// <summary>The direct map (physical frame Base is the first byte of the RAM buffer).</summary>
    public DirectMap Map { get; }

    /// <summary>Builds a buddy allocator and a heap in <paramref name="config"/>'s mode.</summary>
    public HeapArena(HeapConfig config)
    {
        HostMemory ram = Ram();
        Buddy = PageWorkloads.Create(PcpConfig.Default, out _meta);
        Map = new DirectMap((ulong)ram.Base - (PageWorkloads.Base << PageSize.Shift));
        // On a cache line, as a kernel places it: the heap's per-CPU hot slots are a line each,
        // so that CPUs never write one line (false sharing showed in W6).
        nuint bytes = (nuint)sizeof(KernelHeap<BuddyClassFrames, DirectLargeMapper>);
        Heap = (KernelHeap<BuddyClassFrames, DirectLargeMapper>*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(Heap, bytes);
        Status s = Heap->Init(new BuddyClassFrames(Buddy, MemoryClass.Kernel), Map, new DirectLargeMapper(Map), config);
        if (s != Status.Ok) throw new InvalidOperationException($"heap init failed: {s}");
    }

    /// <summary>The heap as a workload backend.</summary>
    public KmallocBackend Backend => new(Heap);

    private static HostMemory Ram()
    {
        if (s_ram != null) return s_ram;
        var ram = new HostMemory((ulong)PageWorkloads.Frames << PageSize.Shift);
        for (ulong off = 0; off < ram.Size; off += PageSize.Bytes) ram.Base[off] = 0;
        return s_ram = ram;
    }

    /// <summary>Destroys the heap (everything must have been freed) and checks that every frame
    /// is back in the buddy allocator.</summary>
    public void Dispose()
    {
        if (Heap == null) return;
        Status s = Heap->Destroy();
        ulong free = Buddy->FreeFrames;
        NativeMemory.AlignedFree(Heap);
        PageWorkloads.Destroy(Buddy, _meta);
        Heap = null; Buddy = null;
        if (s != Status.Ok) throw new InvalidOperationException($"heap destroy: {s}");
        if (free != PageWorkloads.Frames) throw new InvalidOperationException($"heap destroy left {PageWorkloads.Frames - free} frames allocated");
    }
}

/// <summary>
/// The kmalloc workloads of bench/peers/README.md, for any <see cref="IMalloc"/>:
/// W3 (100,000 slots filled with w3_size sizes, then timed operations { free a random slot;
/// allocate a w3_size object into it }), W3t (the same, writing 8 bytes at the start of each new
/// object) and W3h (a hot malloc(64) + free pair). The drivers are compiled fully optimised at
/// once (each runs once per repetition) and allocate nothing on the GC heap in the timed loop.
/// </summary>
public static unsafe class HeapWorkloads
{
    /// <summary>Live slots.</summary>
    public const uint Slots = 100_000;
    /// <summary>Operations of a full-scale run.</summary>
    public const long Ops = 10_000_000;

    /// <summary>w3_size: e = 3 + (r &amp; 7); base = 1 &lt;&lt; e; base + ((r &gt;&gt; 8) &amp; (base - 1)): 8..2047 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint W3Size(ulong r)
    {
        uint e = 3 + (uint)(r & 7);
        uint b = 1u << (int)e;
        return b + (uint)((r >> 8) & (b - 1));
    }

    private static long Now() => Stopwatch.GetTimestamp();
    private static double Ns(long ticks) => ticks * 1e9 / Stopwatch.Frequency;

    /// <summary>W3 (or W3t with <paramref name="touch"/>) on <paramref name="m"/>; frees
    /// everything it allocated before returning.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static W3Result W3<TM>(ref TM backend, W3Trace trace, bool touch) where TM : struct, IMalloc
    {
        TM m = backend; // a local copy: its fields stay in registers across the loop's stores
        void** slot = (void**)NativeMemory.Alloc(Slots, (nuint)sizeof(void*));
        var res = new W3Result();
        try
        {
            ulong held0 = m.HeldBytes();
            ulong failures = 0;
            ushort* fill = trace.FillSizes;
            for (uint i = 0; i < Slots; i++)
            {
                slot[i] = m.Malloc(fill[i]);
                if (slot[i] == null) failures++;
            }
            uint* js = trace.OpSlots;
            ushort* sizes = trace.OpSizes;
            long ops = trace.Ops;
            long gc0 = GC.GetAllocatedBytesForCurrentThread();
            long t0 = Now();
            if (touch)
            {
                for (long t = 0; t < ops; t++)
                {
                    uint j = js[t];
                    failures += m.Free(slot[j]) ? 0UL : 1UL;
                    void* p = m.Malloc(sizes[t]);
                    if (p != null) *(ulong*)p = (ulong)t;
                    else failures++;
                    slot[j] = p;
                }
            }
            else
            {
                for (long t = 0; t < ops; t++)
                {
                    uint j = js[t];
                    failures += m.Free(slot[j]) ? 0UL : 1UL;
                    void* p = m.Malloc(sizes[t]);
                    failures += p == null ? 1UL : 0UL;
                    slot[j] = p;
                }
            }
            long t1 = Now();
            res.GcBytes = GC.GetAllocatedBytesForCurrentThread() - gc0;
            res.PairNs = ops == 0 ? 0 : Ns(t1 - t0) / ops;
            ulong held1 = m.HeldBytes();
            res.FootprintBytes = held1 > held0 ? held1 - held0 : 0;
            res.LiveBytes = trace.LiveBytesAtEnd;
            for (uint i = 0; i < Slots; i++)
                if (slot[i] != null && !m.Free(slot[i])) failures++;
            res.Failures = failures;
        }
        finally { NativeMemory.Free(slot); }
        return res;
    }

    /// <summary>W3h: 1000 untimed pairs, then <paramref name="ops"/> x { p = malloc(64); free(p) }.
    /// ns per pair; <paramref name="failures"/> counts failed allocations and refused frees.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double W3h<TM>(ref TM backend, long ops, out ulong failures, out long gcBytes) where TM : struct, IMalloc
    {
        TM m = backend; // a local copy: its fields stay in registers across the loop's stores
        ulong bad = 0;
        for (int i = 0; i < 1000; i++) { void* w = m.Malloc(64); if (!m.Free(w)) bad++; }
        long gc0 = GC.GetAllocatedBytesForCurrentThread();
        long t0 = Now();
        for (long t = 0; t < ops; t++)
        {
            void* p = m.Malloc(64);
            bad += m.Free(p) ? 0UL : 1UL;
        }
        long t1 = Now();
        gcBytes = GC.GetAllocatedBytesForCurrentThread() - gc0;
        failures = bad;
        return ops == 0 ? 0 : Ns(t1 - t0) / ops;
    }

    /// <summary>Backends the workloads can run: "sharpmm" and the peers of <see cref="PeerLibraries"/>.</summary>
    public static readonly string[] Backends = { "sharpmm", "glibc", "mimalloc", "jemalloc", "tcmalloc" };

    /// <summary>One W3/W3t repetition on <paramref name="backend"/> (SharpMM: a fresh heap,
    /// destroyed and checked afterwards).</summary>
    public static W3Result RunW3(string backend, W3Trace trace, bool touch)
    {
        switch (backend)
        {
            case "sharpmm":
            {
                using var arena = new HeapArena(HeapConfig.Default);
                var b = arena.Backend;
                return W3(ref b, trace, touch);
            }
            case "glibc": { var b = new GlibcMalloc(); return W3(ref b, trace, touch); }
            case "mimalloc": { var b = new Mimalloc(); return W3(ref b, trace, touch); }
            case "jemalloc": { var b = new Jemalloc(); return W3(ref b, trace, touch); }
            case "tcmalloc": { var b = new Tcmalloc(); return W3(ref b, trace, touch); }
            default: throw new ArgumentException($"unknown backend '{backend}'", nameof(backend));
        }
    }

    /// <summary>One W3h repetition on <paramref name="backend"/>.</summary>
    public static double RunW3h(string backend, long ops, out ulong failures, out long gcBytes)
    {
        switch (backend)
        {
            case "sharpmm":
            {
                using var arena = new HeapArena(HeapConfig.Default);
                var b = arena.Backend;
                return W3h(ref b, ops, out failures, out gcBytes);
            }
            case "glibc": { var b = new GlibcMalloc(); return W3h(ref b, ops, out failures, out gcBytes); }
            case "mimalloc": { var b = new Mimalloc(); return W3h(ref b, ops, out failures, out gcBytes); }
            case "jemalloc": { var b = new Jemalloc(); return W3h(ref b, ops, out failures, out gcBytes); }
            case "tcmalloc": { var b = new Tcmalloc(); return W3h(ref b, ops, out failures, out gcBytes); }
            default: throw new ArgumentException($"unknown backend '{backend}'", nameof(backend));
        }
    }
}
