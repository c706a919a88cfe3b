using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using SharpMM.Concurrency;
using SharpMM.Heap;
using SharpMM.Hosted.Peers;

namespace SharpMM.Hosted.Workloads;

/// <summary>One W6 or W6x run on several threads.</summary>
public struct W6Result
{
    /// <summary>Threads (simulated CPUs for SharpMM).</summary>
    public int Threads;
    /// <summary>Aggregate million free+malloc pairs per second.</summary>
    public double MpairsPerSecond;
    /// <summary>Wall-clock ns per pair on each thread (elapsed x threads / pairs).</summary>
    public double NsPerPairPerThread;
    /// <summary>The working threads' CPU time over the timed part per pair (<see cref="TimedSection"/>).</summary>
    public double CpuNsPerPair;
    /// <summary>Failed allocations or refused frees (must be 0).</summary>
    public ulong Failures;
    /// <summary>SharpMM only: cache-lock acquisitions per malloc+free pair over all caches, and
    /// the share of them that found the lock held.</summary>
    public double CacheLocksPerPair;
    /// <summary>See <see cref="CacheLocksPerPair"/>.</summary>
    public double CacheLockContendedShare;
    /// <summary>SharpMM only: page-lock acquisitions per pair.</summary>
    public double PageLocksPerPair;
    /// <summary>SharpMM only: inbox-lock acquisitions per pair over all caches and CPUs (batches
    /// of objects freed on another CPU than their slab's owner, handed over or taken).</summary>
    public double InboxLocksPerPair;
}

/// <summary>
/// W6 and W6x (bench/peers/README.md, "Several threads"), on SharpMM's kmalloc with each thread a
/// simulated CPU (<see cref="HostedCpus"/>), or on a peer malloc with plain threads.
/// W6: thread t owns 100,000 / N slots filled with W3 sizes (splitmix64 seeded 6000 + t), then
/// 10,000,000 / N operations of { free a random slot ; malloc a W3 size into it }. W6x: 10,000
/// rounds of { malloc 1,000 W3 sizes into an outbox ; barrier ; free the outbox of thread
/// (t + 1) mod N ; barrier }. The clock runs from a barrier all threads pass after setup to one
/// they pass at the end (thread 0 reads it).
/// </summary>
public static unsafe class HeapThreadWorkloads
{
    /// <summary>W6x objects per round and thread.</summary>
    public const int CrossBatch = 1000;
    /// <summary>W6x rounds at scale 1.</summary>
    public const long CrossRounds = 10_000;

    /// <summary>One run of W6 (<paramref name="cross"/> false) or W6x on <paramref name="backend"/>
    /// ("sharpmm" or a peer of <see cref="HeapWorkloads.Backends"/>). <paramref name="online"/>:
    /// SharpMM's CPUs online (0: as many as threads; see <see cref="HostedCpus.Run(int, int, Action{int})"/>).</summary>
    public static W6Result Run(string backend, int threads, bool cross, double scale, int online = 0)
    {
        switch (backend)
        {
            case "sharpmm":
            {
                using var arena = new HeapArena(HeapConfig.Default);
                var b = arena.Backend;
                W6Result r = RunOn(ref b, threads, cross, scale, sharpmm: true, online);
                AddLockFigures(ref r, arena, threads, cross, scale);
                return r;
            }
            case "glibc": { var b = new GlibcMalloc(); return RunOn(ref b, threads, cross, scale, false, 0); }
            case "mimalloc": { var b = new Mimalloc(); return RunOn(ref b, threads, cross, scale, false, 0); }
            case "jemalloc": { var b = new Jemalloc(); return RunOn(ref b, threads, cross, scale, false, 0); }
            case "tcmalloc": { var b = new Tcmalloc(); return RunOn(ref b, threads, cross, scale, false, 0); }
            default: throw new ArgumentException($"unknown backend '{backend}'", nameof(backend));
        }
    }

    private static long OpsPerThread(int threads, double scale) => Math.Max(1, (long)(HeapWorkloads.Ops * scale) / threads);
    private static long Rounds(double scale) => Math.Max(1, (long)(CrossRounds * scale));

    private static void AddLockFigures(ref W6Result r, HeapArena arena, int threads, bool cross, double scale)
    {
        ulong acquisitions = 0, contended = 0, inbox = 0;
        for (SlabCache* c = arena.Heap->Pages.FirstCache; c != null; c = c->NextCache)
        {
            LockStats s = c->LockStats;
            acquisitions += s.Acquisitions;
            contended += s.Contended;
            inbox += c->InboxLockStats.Acquisitions;
        }
        double pairs = cross ? (double)Rounds(scale) * CrossBatch * threads : (double)OpsPerThread(threads, scale) * threads;
        r.CacheLocksPerPair = acquisitions / pairs;
        r.CacheLockContendedShare = acquisitions == 0 ? 0 : (double)contended / acquisitions;
        r.PageLocksPerPair = arena.Heap->Pages.LockStats.Acquisitions / pairs;
        r.InboxLocksPerPair = inbox / pairs;
    }

    private static W6Result RunOn<TM>(ref TM backend, int threads, bool cross, double scale, bool sharpmm, int online) where TM : struct, IMalloc
    {
        TM m = backend;
        long ops = OpsPerThread(threads, scale);
        long rounds = Rounds(scale);
        int slots = (int)(HeapWorkloads.Slots / (uint)threads);
        var outboxes = new nint[threads];
        for (int t = 0; t < threads; t++) outboxes[t] = (nint)NativeMemory.Alloc(CrossBatch, (nuint)sizeof(void*));
        long failures = 0;
        var timed = new TimedSection();
        var barrier = new CpuBarrier(threads, simulatedCpus: sharpmm);
        Action<int> body = t =>
        {
            ulong bad = cross ? Cross(m, t, threads, rounds, outboxes, barrier, timed)
                              : Own(m, t, slots, ops, barrier, timed);
            Interlocked.Add(ref failures, (long)bad);
        };
        try
        {
            if (sharpmm) HostedCpus.Run(threads, online == 0 ? threads : online, body);
            else RunThreads(threads, body);
        }
        finally
        {
            foreach (nint o in outboxes) NativeMemory.Free((void*)o);
        }
        double pairs = cross ? (double)rounds * CrossBatch * threads : (double)ops * threads;
        double ns = timed.WallSeconds * 1e9;
        return new W6Result
        {
            Threads = threads,
            MpairsPerSecond = pairs / (ns / 1e3),
            NsPerPairPerThread = ns * threads / pairs,
            CpuNsPerPair = timed.CpuSeconds * 1e9 / pairs,
            Failures = (ulong)failures,
        };
    }

    private static void RunThreads(int threads, Action<int> body)
    {
        var th = new Thread[threads];
        Exception? failure = null;
        for (int i = 0; i < threads; i++)
        {
            int t = i;
            th[i] = new Thread(() =>
            {
                try { body(t); }
                catch (Exception e) { Interlocked.CompareExchange(ref failure, e, null); }
            }, 16 << 20) { IsBackground = true };
            th[i].Start();
        }
        foreach (Thread x in th) x.Join();
        if (failure != null) throw new InvalidOperationException($"a thread failed: {failure.Message}", failure);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ulong Own<TM>(TM m, int t, int n, long ops, CpuBarrier barrier, TimedSection timed) where TM : struct, IMalloc
    {
        void** s = (void**)NativeMemory.Alloc((nuint)n, (nuint)sizeof(void*));
        var rng = new SplitMix64(6000 + (ulong)t);
        ulong bad = 0;
        for (int i = 0; i < n; i++) { s[i] = m.Malloc(HeapWorkloads.W3Size(rng.Next())); if (s[i] == null) bad++; }
        barrier.SignalAndWait();
        if (t == 0) timed.Start();
        long cpu0 = ThreadCpuTime.Nanoseconds();
        for (long k = 0; k < ops; k++)
        {
            uint j = SplitMix64.Bound(rng.Next(), (uint)n);
            uint size = HeapWorkloads.W3Size(rng.Next());
            bad += m.Free(s[j]) ? 0UL : 1UL;
            void* p = m.Malloc(size);
            bad += p == null ? 1UL : 0UL;
            s[j] = p;
        }
        timed.AddThreadCpu(cpu0);
        barrier.SignalAndWait();
        if (t == 0) timed.Stop();
        for (int i = 0; i < n; i++) if (s[i] != null && !m.Free(s[i])) bad++;
        NativeMemory.Free(s);
        Drain(m);
        return bad;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ulong Cross<TM>(TM m, int t, int threads, long rounds, nint[] outboxes, CpuBarrier barrier, TimedSection timed) where TM : struct, IMalloc
    {
        var rng = new SplitMix64(6000 + (ulong)t);
        void** mine = (void**)outboxes[t];
        void** peer = (void**)outboxes[(t + 1) % threads];
        ulong bad = 0;
        barrier.SignalAndWait();
        if (t == 0) timed.Start();
        long cpu0 = ThreadCpuTime.Nanoseconds();
        for (long r = 0; r < rounds; r++)
        {
            for (int i = 0; i < CrossBatch; i++) { mine[i] = m.Malloc(HeapWorkloads.W3Size(rng.Next())); if (mine[i] == null) bad++; }
            barrier.SignalAndWait();
            for (int i = 0; i < CrossBatch; i++) if (peer[i] != null && !m.Free(peer[i])) bad++;
            barrier.SignalAndWait();
        }
        timed.AddThreadCpu(cpu0);
        barrier.SignalAndWait();
        if (t == 0) timed.Stop();
        Drain(m);
        return bad;
    }

    // SharpMM: each CPU gives back its cached objects, so that the heap can be destroyed.
    private static void Drain<TM>(TM m) where TM : struct, IMalloc
    {
        if (m is KmallocBackend k) k.DrainCurrentCpu();
    }
}
