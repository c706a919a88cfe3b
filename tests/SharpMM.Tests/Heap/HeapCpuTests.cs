using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using SharpMM.Concurrency;
using SharpMM.Heap;
using SharpMM.Hosted;
using SharpMM.Tests.Concurrency;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>
/// The kernel heap on several simulated CPUs (threads bound to CPUs 0..n-1): kmalloc and kfree
/// of mixed sizes at once, objects handed to other CPUs and freed there, memory pressure that
/// must be answered by the other CPUs giving back their cached objects. Every object is filled
/// with a pattern naming its owner and checked before it is freed, so two CPUs handed the same
/// memory show as a damaged pattern. After each run every CPU drains its per-CPU layers, the
/// heap validator runs, and destroying the heap must give every frame back.
/// </summary>
[Collection(CpuCollection.Name)]
public unsafe class HeapCpuTests
{
    private readonly record struct Obj(nint Ptr, ulong Size, ulong Tag);

    public static IEnumerable<object[]> Runs()
    {
        yield return new object[] { 2, 101, "fast" };
        yield return new object[] { 4, 102, "fast" };
        yield return new object[] { 8, 103, "fast" };
        yield return new object[] { 4, 104, "debug" };
        yield return new object[] { 2, 105, "no-magazines" };
    }

    // Rounds of: allocate a batch (mixed sizes, a few large), keep some and churn them locally,
    // hand the rest to CPU (cpu + 1 + round) mod n; barrier; check and free what was handed to
    // this CPU; barrier.
    [Theory]
    [MemberData(nameof(Runs))]
    public void Kmalloc_OnSeveralCpus_WithCrossCpuFrees_HandsNoObjectOutTwice_AndLeaksNothing(int cpus, int seed, string mode)
    {
        HeapConfig config = mode switch
        {
            "debug" => HeapConfig.Debugging,
            "no-magazines" => HeapConfig.Default with { MagazineCapacity = 0 },
            _ => HeapConfig.Default,
        };
        try { Run(cpus, seed, config); }
        catch (Exception e) { throw new Xunit.Sdk.XunitException($"{cpus} CPUs, seed {seed}, {mode}: {e.Message}\n{e}"); }
    }

    private static void Run(int cpus, int seed, HeapConfig config)
    {
        using var f = new HeapFixture(32768, config);
        var inbox = new ConcurrentQueue<Obj>[cpus];
        for (int i = 0; i < cpus; i++) inbox[i] = new ConcurrentQueue<Obj>();
        using var barrier = new Barrier(cpus);
        long freedElsewhere = 0;
        HostedCpus.Run(cpus, cpu =>
        {
            // A CPU that fails leaves the barrier, so that the others finish and the failure is reported.
            try { Churn(f, cpus, cpu, seed, inbox, barrier, ref freedElsewhere); }
            catch { barrier.RemoveParticipant(); throw; }
        });
        if (cpus > 1) Assert.True(freedElsewhere > 0);
        for (SlabCache* c = f.Pages.FirstCache; c != null; c = c->NextCache)
        {
            Assert.Equal(0UL, c->ActiveObjects);
            Assert.Equal(0UL, c->CpuCachedObjects);
        }
        Assert.Equal(0UL, f.Pages.LargeCount);
        f.H.Validate();
        f.DestroyAndCheck();
    }

    private static void Churn(HeapFixture f, int cpus, int cpu, int seed, ConcurrentQueue<Obj>[] inbox, Barrier barrier, ref long freedElsewhere)
    {
        const int Rounds = 150, Batch = 120;
        {
            var rng = new Random(seed * 1000 + cpu);
            var kept = new List<Obj>();
            ulong serial = 0;
            for (int round = 0; round < Rounds; round++)
            {
                int target = (cpu + 1 + round) % cpus;
                for (int i = 0; i < Batch; i++)
                {
                    Obj o = Allocate(f, cpu, ref serial, rng);
                    if (rng.Next(3) == 0 || target == cpu) kept.Add(o);
                    else inbox[target].Enqueue(o);
                    if (kept.Count > 200)
                    {
                        int k = rng.Next(kept.Count);
                        CheckAndFree(f, kept[k]);
                        kept[k] = kept[^1];
                        kept.RemoveAt(kept.Count - 1);
                    }
                }
                barrier.SignalAndWait();
                while (inbox[cpu].TryDequeue(out Obj o))
                {
                    CheckAndFree(f, o);
                    Interlocked.Increment(ref freedElsewhere);
                }
                barrier.SignalAndWait();
            }
            foreach (Obj o in kept) CheckAndFree(f, o);
            // Every free is done before any CPU drains: a free on one CPU after another drained
            // may leave objects in the drained CPU's inbox (cached, given back by a shrink).
            barrier.SignalAndWait();
            f.Pages.DrainCurrentCpu();
        }
    }

    // Sizes: mostly 8..2047 bytes (W3's distribution), 1 in 20 up to 8 KiB, 1 in 200 large.
    private static Obj Allocate(HeapFixture f, int cpu, ref ulong serial, Random rng)
    {
        int pick = rng.Next(200);
        ulong size = pick == 0 ? (ulong)rng.Next(8193, 40000)
            : pick < 10 ? (ulong)rng.Next(2048, 8193)
            : (ulong)rng.Next(8, 2048);
        Status s = f.H.Kmalloc(size, out void* p);
        if (s != Status.Ok) throw new InvalidOperationException($"CPU {cpu}: kmalloc({size}) = {s}");
        ulong tag = ((ulong)cpu << 48) | ++serial;
        Fill((byte*)p, size, tag);
        return new Obj((nint)p, size, tag);
    }

    private static void Fill(byte* p, ulong size, ulong tag)
    {
        *(ulong*)p = tag;
        byte b = (byte)(tag * 0x9E3779B97F4A7C15UL >> 56);
        for (ulong i = 8; i < size; i++) p[i] = b;
    }

    private static void CheckAndFree(HeapFixture f, Obj o)
    {
        byte* p = (byte*)o.Ptr;
        ulong seen = *(ulong*)p;
        if (seen != o.Tag)
            throw new InvalidOperationException($"object {o.Ptr:x} of CPU {o.Tag >> 48} (#{o.Tag & 0xffff_ffff_ffff}) holds the tag of CPU {seen >> 48} (#{seen & 0xffff_ffff_ffff}): handed out twice");
        byte b = (byte)(o.Tag * 0x9E3779B97F4A7C15UL >> 56);
        for (ulong i = 8; i < o.Size; i++)
            if (p[i] != b) throw new InvalidOperationException($"object {o.Ptr:x} of CPU {o.Tag >> 48}: byte {i} of {o.Size} overwritten");
        Status s = f.H.Kfree(p);
        if (s != Status.Ok) throw new InvalidOperationException($"kfree({o.Ptr:x}, {o.Size} bytes, CPU {o.Tag >> 48}) = {s} on CPU {Cpu.Current}");
    }

    // An object freed on another CPU than the one that allocated it waits in the freeing CPU's
    // returns (not its hot slot: the slab is the allocating CPU's); a second free of it, on
    // either CPU, is refused.
    [Fact]
    public void CrossCpuDoubleFree_IsRefusedOnEitherCpu()
    {
        using var f = new HeapFixture(4096);
        nint obj = 0;
        using var step = new Barrier(2);
        Status secondOnFreeer = Status.Ok, secondOnAllocator = Status.Ok;
        HostedCpus.Run(2, cpu =>
        {
            try
            {
                if (cpu == 0)
                {
                    f.H.Kmalloc(64, out void* p);
                    obj = (nint)p;
                }
                step.SignalAndWait();
                if (cpu == 1)
                {
                    Assert.Equal(Status.Ok, f.H.Kfree((void*)obj));
                    Assert.NotEqual((ulong)obj, f.Pages.Hot[1].Object);
                    secondOnFreeer = f.H.Kfree((void*)obj);
                }
                step.SignalAndWait();
                if (cpu == 0) secondOnAllocator = f.H.Kfree((void*)obj);
                step.SignalAndWait();
                f.Pages.DrainCurrentCpu();
            }
            catch { step.RemoveParticipant(); throw; } // so that the other CPU finishes and the failure is reported
        });
        Assert.Equal(Status.DoubleFree, secondOnFreeer);
        Assert.Equal(Status.DoubleFree, secondOnAllocator);
        f.H.Validate();
        f.DestroyAndCheck();
    }

    // Memory pressure on CPU 0 while CPU 1 holds freed objects in its magazine: CPU 0 asks for a
    // drain, CPU 1 answers at its next safe point, the pages of kmalloc-64 go back to the buddy
    // allocator and CPU 0 gets them.
    [Fact]
    public void MemoryPressure_AsksOtherCpusToDrain_AndGetsTheirPages()
    {
        using var f = new HeapFixture(512);
        int cached = 0, done = 0;
        ulong slabPagesBefore = 0, blocks = 0;
        HostedCpus.Run(2, cpu =>
        {
            if (cpu == 1)
            {
                var objs = new List<nint>();
                for (int i = 0; i < 40; i++) { f.H.Kmalloc(64, out void* p); objs.Add((nint)p); }
                foreach (nint p in objs) Assert.Equal(Status.Ok, f.H.Kfree((void*)p));
                Volatile.Write(ref cached, 1);
                while (Volatile.Read(ref done) == 0)
                {
                    f.Pages.DrainIfRequested(); // the idle loop's safe point
                    Cpu.Relax();                // and its interrupts: the page allocator's drain request is answered here
                }
                return;
            }
            while (Volatile.Read(ref cached) == 0) Thread.Yield();
            slabPagesBefore = f.H.Cache(3).Slabs * f.H.Cache(3).PagesPerSlab;
            Assert.True(f.H.Cache(3).CpuCachedObjects > 0);
            var held = new List<nint>();
            while (f.H.Kmalloc(4096 * 3, out void* big) == Status.Ok) held.Add((nint)big);
            blocks = (ulong)held.Count;
            Assert.Equal(0UL, f.H.Cache(3).CpuCachedObjects);
            Assert.Equal(0UL, f.H.Cache(3).Slabs);
            foreach (nint p in held) Assert.Equal(Status.Ok, f.H.Kfree((void*)p));
            Volatile.Write(ref done, 1);
        });
        Assert.True(slabPagesBefore > 0);
        Assert.True(f.Pages.DrainRequests > 0);
        Assert.Equal(0UL, f.Pages.DrainTimeouts);
        Assert.True(blocks > 0);
        f.H.Validate();
        f.DestroyAndCheck();
    }

    // Frees in random order on two CPUs make most slabs sparse, so most frees send an object
    // back to its slab. Those objects wait in the CPU's returns and go back a batch at a time:
    // the cache lock is taken a small fraction of the frees (once per object, it was the heap's
    // most contended lock). While they wait they are parked objects: the validator counts them,
    // and a drain gives them back.
    [Theory]
    [InlineData(201)]
    [InlineData(202)]
    public void SparseSlabReturns_OnSeveralCpus_TakeTheCacheLockOncePerBatch(int seed)
    {
        const int Cpus = 2, PerCpu = 3000;
        using var f = new HeapFixture(16384);
        ref SlabCache c = ref f.H.Cache(3); // kmalloc-64: 64 objects per slab
        var objs = new nint[Cpus][];
        ulong locksBefore = 0, locksAfter = 0, cachedWhileParked = 0;
        using var barrier = new Barrier(Cpus);
        SlabCache* cache = (SlabCache*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref c);
        HostedCpus.Run(Cpus, cpu =>
        {
            var rng = new Random(seed * 10 + cpu);
            var mine = objs[cpu] = new nint[PerCpu];
            for (int i = 0; i < PerCpu; i++)
            {
                Assert.Equal(Status.Ok, f.H.Kmalloc(64, out void* p));
                mine[i] = (nint)p;
            }
            rng.Shuffle(mine);
            barrier.SignalAndWait();
            if (cpu == 0) locksBefore = cache->LockStats.Acquisitions;
            barrier.SignalAndWait();
            // Every object but one in eight, in random order.
            for (int i = 0; i < PerCpu; i++)
                if (i % 8 != 0) Assert.Equal(Status.Ok, f.H.Kfree((void*)mine[i]));
            barrier.SignalAndWait();
            if (cpu == 0)
            {
                locksAfter = cache->LockStats.Acquisitions;
                cachedWhileParked = cache->CpuCachedObjects;
                f.H.Validate(); // CPU 1 waits at the barrier: every CPU is quiescent
            }
            barrier.SignalAndWait();
            for (int i = 0; i < PerCpu; i += 8) Assert.Equal(Status.Ok, f.H.Kfree((void*)mine[i]));
            f.Pages.DrainCurrentCpu();
        });
        ulong frees = Cpus * (PerCpu - PerCpu / 8);
        ulong locks = locksAfter - locksBefore;
        Assert.True(locks * 8 < frees, $"seed {seed}: {locks} cache-lock acquisitions for {frees} frees");
        Assert.True(cachedWhileParked > 0, $"seed {seed}: nothing parked after the frees");
        Assert.Equal(0UL, c.CpuCachedObjects);
        Assert.Equal(0UL, c.ActiveObjects);
        f.H.Validate();
        f.DestroyAndCheck();
    }
}
