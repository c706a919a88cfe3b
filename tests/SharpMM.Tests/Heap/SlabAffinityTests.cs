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
/// Slab ownership on several simulated CPUs: after a warm-up, every object a CPU's kmalloc hands
/// out comes from a slab that CPU owns (and a slab has one owner at a time), whether the CPU
/// frees its own objects (W6's pattern) or objects of the next CPU (W6x's); objects freed on a
/// CPU that does not own their slab go back to the slab and are not handed out there. After
/// each CPU drains, no CPU owns a slab, the validator passes and destroying the heap gives every
/// frame back.
/// </summary>
[Collection(CpuCollection.Name)]
public unsafe class SlabAffinityTests
{
    public static IEnumerable<object[]> Runs()
    {
        yield return new object[] { 2, 301, false };
        yield return new object[] { 4, 302, false };
        yield return new object[] { 2, 303, true };
        yield return new object[] { 4, 304, true };
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void AfterWarmUp_EachCpuAllocatesOnlyFromSlabsItOwns(int cpus, int seed, bool crossFrees)
    {
        try { Run(cpus, seed, crossFrees); }
        catch (Exception e) { throw new Xunit.Sdk.XunitException($"{cpus} CPUs, seed {seed}, cross frees {crossFrees}: {e.Message}\n{e}"); }
    }

    private static void Run(int cpus, int seed, bool crossFrees)
    {
        using var f = new HeapFixture(32768);
        var inbox = new ConcurrentQueue<nint>[cpus];
        for (int i = 0; i < cpus; i++) inbox[i] = new ConcurrentQueue<nint>();
        using var barrier = new Barrier(cpus);
        long checkedAllocations = 0, foreign = 0;
        string? firstForeign = null;
        HostedCpus.Run(cpus, cpu =>
        {
            try
            {
                var rng = new Random(seed * 1000 + cpu);
                var live = new List<nint>();
                const int Live = 600, WarmUpRounds = 10, Rounds = 40, PerRound = 400;
                for (int round = 0; round < WarmUpRounds + Rounds; round++)
                {
                    bool measured = round >= WarmUpRounds;
                    for (int i = 0; i < PerRound; i++)
                    {
                        if (live.Count >= Live)
                        {
                            int k = rng.Next(live.Count);
                            nint victim = live[k];
                            live[k] = live[^1];
                            live.RemoveAt(live.Count - 1);
                            if (crossFrees && rng.Next(2) == 0) inbox[(cpu + 1) % cpus].Enqueue(victim);
                            else Free(f, victim);
                        }
                        ulong size = (ulong)rng.Next(8, 2048);
                        Status s = f.H.Kmalloc(size, out void* p);
                        if (s != Status.Ok) throw new InvalidOperationException($"CPU {cpu}: kmalloc({size}) = {s}");
                        live.Add((nint)p);
                        if (!measured) continue;
                        SlabDescriptor* d = f.Pages.SlabOf(p);
                        Interlocked.Increment(ref checkedAllocations);
                        if (d->Owner != cpu)
                        {
                            Interlocked.Increment(ref foreign);
                            Interlocked.CompareExchange(ref firstForeign,
                                $"CPU {cpu}, round {round}: kmalloc({size}) = {(nint)p:x} from a slab owned by {(d->Owner == SlabDescriptor.Shared ? "no CPU" : "CPU " + d->Owner)}", null);
                        }
                    }
                    barrier.SignalAndWait();
                    while (inbox[cpu].TryDequeue(out nint o)) Free(f, o);
                    barrier.SignalAndWait();
                }
                foreach (nint o in live) Free(f, o);
                barrier.SignalAndWait();
                while (inbox[cpu].TryDequeue(out nint o)) Free(f, o);
                f.Pages.DrainCurrentCpu();
            }
            catch { barrier.RemoveParticipant(); throw; }
        });
        Assert.True(checkedAllocations > 0);
        Assert.True(foreign == 0, $"{foreign} of {checkedAllocations} allocations came from slabs their CPU does not own; first: {firstForeign}");
        for (SlabCache* c = f.Pages.FirstCache; c != null; c = c->NextCache)
        {
            Assert.Equal(0UL, c->ActiveObjects);
            for (int cpu = 0; cpu < Cpu.MaxCpus; cpu++) Assert.Equal(0UL, c->SlabsOwnedBy(cpu));
        }
        f.H.Validate();
        f.DestroyAndCheck();
    }

    private static void Free(HeapFixture f, nint p)
    {
        Status s = f.H.Kfree((void*)p);
        if (s != Status.Ok) throw new InvalidOperationException($"kfree({p:x}) = {s} on CPU {Cpu.Current}");
    }

    // A CPU that frees another CPU's object does not hand it out again: the object goes back to
    // its slab (which stays the allocating CPU's), and the freeing CPU's next allocation of that
    // size comes from a slab of its own.
    [Fact]
    public void ObjectFreedOnAnotherCpu_GoesBackToItsSlab_NotToTheFreeingCpu()
    {
        using var f = new HeapFixture(4096);
        nint obj = 0, next = 0;
        using var step = new Barrier(2);
        HostedCpus.Run(2, cpu =>
        {
            try
            {
                if (cpu == 0) { f.H.Kmalloc(64, out void* p); obj = (nint)p; }
                step.SignalAndWait();
                if (cpu == 1)
                {
                    Assert.Equal(Status.Ok, f.H.Kfree((void*)obj));
                    Assert.NotEqual((ulong)obj, f.Pages.Hot[1].Object);
                    f.H.Kmalloc(64, out void* q);
                    next = (nint)q;
                    Assert.Equal(Status.DoubleFree, f.H.Kfree((void*)obj));
                    Assert.Equal(Status.Ok, f.H.Kfree(q));
                }
                step.SignalAndWait();
                f.Pages.DrainCurrentCpu();
            }
            catch { step.RemoveParticipant(); throw; }
        });
        Assert.NotEqual(obj, next);
        f.H.Validate();
        f.DestroyAndCheck();
    }
}
