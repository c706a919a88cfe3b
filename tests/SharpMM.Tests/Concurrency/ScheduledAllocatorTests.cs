using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Numerics;
using System.Threading;
using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Heap;
using SharpMM.Hosted;
using SharpMM.Hosted.Workloads;
using SharpMM.Physical;
using SharpMM.Tests.Heap;
using SharpMM.Tests.Physical;
using Xunit;

namespace SharpMM.Tests.Concurrency;

/// <summary>
/// The page allocator and the kernel heap on simulated CPUs under the deterministic scheduler,
/// over 200 seeds each: small storms with frees on other CPUs than the allocating one, memory
/// small enough that allocations fail and ask the other CPUs to drain their caches. Each seed's
/// run is checked as it goes (no frame or object handed out twice) and after (the validators,
/// counters, nothing leaked). A failing seed is named in the message; set
/// SHARPMM_SCHED_SEED to rerun it alone.
/// </summary>
[Collection(CpuCollection.Name)]
public sealed unsafe class ScheduledAllocatorTests
{
    private const int Seeds = 200;

    // A barrier for scheduled CPUs that keeps answering the heap's drain requests while it
    // waits, as an idle kernel CPU does (the page allocator's come through Cpu.Relax).
    private sealed class IdleBarrier(int parties, Action? idle = null)
    {
        private int _arrived, _phase;

        public void Wait()
        {
            int phase = Volatile.Read(ref _phase);
            if (Interlocked.Increment(ref _arrived) == parties)
            {
                _arrived = 0;
                Volatile.Write(ref _phase, phase + 1);
                return;
            }
            while (Volatile.Read(ref _phase) == phase)
            {
                idle?.Invoke();
                Cpu.Relax();
            }
        }
    }

    // ---- the buddy allocator ----

    private const ulong Base = 4096, Frames = 64;

    // Three CPUs, 40 steps each: allocate (three times in four) order 0 (three times in four) or 1..2, or free a held
    // block, a third of frees handed to another CPU's inbox. 64 frames, caches of batch 4 and
    // high 8: lists run dry, and the allocation drains the other CPUs' caches on demand.
    private static (ScheduleResult Result, long Failed, string Errors) BuddyStorm(ulong seed, ScheduleStrategy strategy = ScheduleStrategy.RandomWalk, bool mapStacks = true)
    {
        const int cpus = 3, steps = 40, maxHeld = 16;
        using var f = new BuddyFixture(new[] { (Base, Base + Frames) }, ZoneLayout.Flat(), new PcpConfig { Batch = 4, High = 8 });
        BuddyAllocator* b = f.Buddy;
        var owner = new int[Frames];
        var errors = new ConcurrentQueue<string>();
        var inbox = new ConcurrentQueue<(uint Pfn, uint Order)>[cpus];
        for (int i = 0; i < cpus; i++) inbox[i] = new ConcurrentQueue<(uint, uint)>();
        var barrier = new IdleBarrier(cpus);
        long failed = 0;
        ScheduleResult r = DeterministicCpus.Run(cpus, seed, cpu =>
        {
            var rng = new SplitMix64(seed * 1_000_003 + (ulong)cpu);
            var held = new List<(uint Pfn, uint Order)>();
            void Free((uint Pfn, uint Order) blk)
            {
                for (uint i = 0; i < 1u << (int)blk.Order; i++)
                    if (Interlocked.Exchange(ref owner[blk.Pfn + i - Base], 0) == 0) errors.Enqueue($"frame {blk.Pfn + i} freed by CPU {cpu}, owned by nobody");
                Status s = b->Free(Pfn.New(blk.Pfn), blk.Order);
                if (s != Status.Ok) errors.Enqueue($"CPU {cpu}: free of {blk.Pfn} order {blk.Order}: {s}");
            }
            for (int step = 0; step < steps; step++)
            {
                while (inbox[cpu].TryDequeue(out var got)) Free(got);
                ulong x = rng.Next();
                if (held.Count < maxHeld && (held.Count == 0 || (x & 0x18) != 0))
                {
                    uint order = (x & 0x6) != 0 ? 0 : (uint)(1 + ((x >> 5) & 1));
                    if (b->Allocate(order, out Pfn p) != Status.Ok) { failed++; continue; }
                    for (uint i = 0; i < 1u << (int)order; i++)
                    {
                        int before = Interlocked.Exchange(ref owner[(uint)p.Value + i - Base], cpu + 1);
                        if (before != 0) errors.Enqueue($"frame {p.Value + i} handed to CPU {cpu} while CPU {before - 1} held it");
                    }
                    held.Add(((uint)p.Value, order));
                }
                else
                {
                    int i = (int)SplitMix64.Bound(x, (uint)held.Count);
                    var blk = held[i];
                    held[i] = held[^1];
                    held.RemoveAt(held.Count - 1);
                    if ((x >> 40) % 3 == 0) inbox[(cpu + 1 + (int)((x >> 48) & 1)) % cpus].Enqueue(blk);
                    else Free(blk);
                }
            }
            barrier.Wait();   // no more allocations or hand-overs
            while (inbox[cpu].TryDequeue(out var got)) Free(got);
            foreach (var blk in held) Free(blk);
            barrier.Wait();
        }, Options(strategy) with { KeepTrace = true, MapStacks = mapStacks });
        if (errors.IsEmpty)
        {
            f.B.Validate();
            if (f.B.FreeFrames != Frames) errors.Enqueue($"{Frames - f.B.FreeFrames} frames missing after every block was freed");
            f.B.Drain();
            f.B.Validate();
            if (f.BlocksAt(0, 6) != 1) errors.Enqueue("after the drain the frames did not merge back into one block of 64");
        }
        return (r, failed, string.Join("; ", errors));
    }

    // PCT's demotions drawn over about as many points as one run has.
    private static ScheduleOptions Options(ScheduleStrategy strategy) => new() { Strategy = strategy, PriorityChangeSteps = 1000 };

    [Theory]
    [InlineData(ScheduleStrategy.RandomWalk)]
    [InlineData(ScheduleStrategy.Priorities)]
    public void Buddy_CrossCpuFreesAndDrainOnDemand_OverManySchedules(ScheduleStrategy strategy)
    {
        long failedTotal = 0, interrupts = 0, switches = 0, whileBusy = 0;
        DeterministicCpus.ForEachSeed(Seeds, seed =>
        {
            var (r, failed, errors) = BuddyStorm(seed, strategy);
            Assert.True(errors.Length == 0, errors);
            failedTotal += failed;
            interrupts += r.Interrupts;
            switches += r.Switches;
            whileBusy += InterruptsWhileBusy(r);
        });
        if (Environment.GetEnvironmentVariable(DeterministicCpus.SeedVariable) != null) return;
        // The sweep reached what it is for: lists run dry, drain requests delivered as interrupts.
        Assert.True(failedTotal > 0, "no allocation ever failed: the storm never needed a drain");
        Assert.True(interrupts > 0, "no drain request was ever delivered");
        Assert.True(switches > Seeds * 10, $"{switches} switches in {Seeds} runs");
        Assert.True(whileBusy > 0, "no drain request ever arrived while its CPU was changing its cache (the deferred answer)");
    }

    // Requests delivered to a CPU between its cache's Busy points (set, cleared): those the
    // buddy allocator must defer to Leave.
    private static long InterruptsWhileBusy(ScheduleResult r)
    {
        var busy = new bool[Cpu.MaxCpus];
        long n = 0;
        foreach (ScheduleStep step in r.Trace!)
        {
            if (step.Event == ScheduleEvent.PerCpuCache) busy[step.Cpu] = !busy[step.Cpu];
            else if (step.Event == ScheduleEvent.Interrupt && busy[step.Cpu]) n++;
        }
        return n;
    }

    [Fact]
    public void Buddy_SameSeed_SameScheduleAndResult()
    {
        var a = BuddyStorm(11);
        var b = BuddyStorm(11);
        Assert.Equal(a.Result.Digest, b.Result.Digest);
        Assert.Equal(a.Result.Steps, b.Result.Steps);
        Assert.Equal(a.Failed, b.Failed);
    }

    // The fast paths find the CPU inline when they can (hosted: from the stack pointer) and
    // take an out-of-line path otherwise; both must enter the per-CPU cache at the same points,
    // or a seed would replay another schedule depending on where a thread's stack happens to lie.
    [Fact]
    public void Buddy_Schedule_DoesNotDependOnHowTheCpuIsFound()
    {
        var mapped = BuddyStorm(11);
        var unmapped = BuddyStorm(11, mapStacks: false);
        AssertSameRun((mapped.Result, mapped.Errors), (unmapped.Result, unmapped.Errors));
    }

    // Two runs without errors that took the same schedule to the same result.
    private static void AssertSameRun((ScheduleResult Result, string Errors) a, (ScheduleResult Result, string Errors) b)
    {
        Assert.True(a.Errors.Length == 0 && b.Errors.Length == 0, a.Errors + b.Errors);
        Assert.Equal(a.Result.Digest, b.Result.Digest);
        Assert.Equal(a.Result.Steps, b.Result.Steps);
    }

    // ---- the kernel heap ----

    private readonly record struct Obj(nint Ptr, ulong Size, ulong Tag);

    // An object written with its tag: the tag in its first word, the tag's low byte after it.
    private static Obj Tagged(void* p, ulong size, ulong tag)
    {
        *(ulong*)p = tag;
        for (ulong i = 8; i < size; i++) ((byte*)p)[i] = (byte)tag;
        return new Obj((nint)p, size, tag);
    }

    // Checks that a tagged object still holds what Tagged wrote (else it was handed out twice or
    // overwritten) and frees it on CPU cpu; what is wrong goes to errors.
    private static void CheckAndFreeTagged(HeapFixture f, Obj o, int cpu, ConcurrentQueue<string> errors)
    {
        byte* p = (byte*)o.Ptr;
        if (*(ulong*)p != o.Tag) errors.Enqueue($"object {o.Ptr:x} ({o.Size} bytes) holds tag {*(ulong*)p:x}, not {o.Tag:x}: handed out twice");
        else
            for (ulong i = 8; i < o.Size; i++)
                if (p[i] != (byte)o.Tag) { errors.Enqueue($"object {o.Ptr:x}: byte {i} of {o.Size} overwritten"); break; }
        Status s = f.H.Kfree(p);
        if (s != Status.Ok) errors.Enqueue($"kfree({o.Ptr:x}) on CPU {cpu}: {s}");
    }

    // Two or three CPUs, 30 steps each: kmalloc of mixed sizes (each filled with a pattern
    // naming its allocation), frees of own objects and of objects other CPUs handed over (checked
    // first). One CPU in a few asks for a burst of large blocks until memory runs out: the heap
    // then asks the other CPUs to give back their cached objects; they answer at their next slab
    // slow path or, waiting at the barrier, as an idle CPU does.
    private static (ScheduleResult Result, ulong DrainRequests, string Errors) HeapStorm(ulong seed, ScheduleStrategy strategy = ScheduleStrategy.RandomWalk, bool mapStacks = true)
    {
        int cpus = 2 + (int)(seed % 2);
        const int steps = 30;
        using var f = new HeapFixture(256);
        HeapPages* pages = f.PagesPtr;
        var errors = new ConcurrentQueue<string>();
        var inbox = new ConcurrentQueue<Obj>[cpus];
        for (int i = 0; i < cpus; i++) inbox[i] = new ConcurrentQueue<Obj>();
        var barrier = new IdleBarrier(cpus, () => pages->DrainIfRequested());
        ulong[] sizes = { 24, 64, 64, 200, 512, 1500, 3000 };
        ScheduleResult r = DeterministicCpus.Run(cpus, seed, cpu =>
        {
            var rng = new SplitMix64(seed * 7_368_787 + (ulong)cpu);
            var kept = new List<Obj>();
            ulong serial = 0;
            void CheckAndFree(Obj o) => CheckAndFreeTagged(f, o, cpu, errors);
            for (int step = 0; step < steps; step++)
            {
                while (inbox[cpu].TryDequeue(out Obj got)) CheckAndFree(got);
                ulong x = rng.Next();
                if (cpu == 0 && step % 10 == 9 && (x & 1) == 0)
                {
                    // Memory pressure: large blocks until the heap has none left, then back.
                    var big = new List<nint>();
                    while (big.Count < 64 && f.H.Kmalloc(4096 * 3, out void* q) == Status.Ok) big.Add((nint)q);
                    foreach (nint q in big) if (f.H.Kfree((void*)q) != Status.Ok) errors.Enqueue("kfree of a large block refused");
                    continue;
                }
                if (kept.Count == 0 || (x & 3) != 0)
                {
                    ulong size = sizes[SplitMix64.Bound(x, (uint)sizes.Length)];
                    if (f.H.Kmalloc(size, out void* p) != Status.Ok) continue;   // memory taken by another CPU's burst
                    ulong tag = ((ulong)cpu << 56) | (++serial << 8) | (x >> 56);
                    kept.Add(Tagged(p, size, tag));
                }
                else
                {
                    int i = (int)SplitMix64.Bound(x, (uint)kept.Count);
                    Obj o = kept[i];
                    kept[i] = kept[^1];
                    kept.RemoveAt(kept.Count - 1);
                    if (((x >> 20) & 1) == 0) inbox[(cpu + 1) % cpus].Enqueue(o);
                    else CheckAndFree(o);
                }
            }
            barrier.Wait();
            while (inbox[cpu].TryDequeue(out Obj got)) CheckAndFree(got);
            foreach (Obj o in kept) CheckAndFree(o);
            pages->DrainCurrentCpu();
            barrier.Wait();
        }, Options(strategy) with { MapStacks = mapStacks });
        ulong drains = f.Pages.DrainRequests;
        if (errors.IsEmpty)
        {
            for (SlabCache* c = f.Pages.FirstCache; c != null; c = c->NextCache)
                if (c->ActiveObjects != 0 || c->CpuCachedObjects != 0)
                    errors.Enqueue($"a cache has {c->ActiveObjects} objects in use and {c->CpuCachedObjects} cached after the run");
            if (f.Pages.LargeCount != 0) errors.Enqueue($"{f.Pages.LargeCount} large blocks left");
            // Every CPU answered every drain request: each reaches a slab slow path or the
            // barrier's idle loop long before the asking CPU's bounded wait runs out.
            if (f.Pages.DrainTimeouts != 0) errors.Enqueue($"{f.Pages.DrainTimeouts} drain requests went unanswered");
            f.H.Validate();
            f.DestroyAndCheck();
        }
        return (r, drains, string.Join("; ", errors));
    }

    // Runs a storm for each seed (or the one seed the environment names), asserts that it
    // reported no error, and sums the count it returned.
    private static ulong SumOverSeeds(Func<ulong, (ulong Count, string Errors)> storm)
    {
        ulong total = 0;
        DeterministicCpus.ForEachSeed(Seeds, seed =>
        {
            var (count, errors) = storm(seed);
            Assert.True(errors.Length == 0, errors);
            total += count;
        });
        return total;
    }

    // Objects going home through their owners' inboxes while the owners refill from them: each
    // CPU allocates bursts of one size and hands every object to the next CPU, which frees it
    // (so the freeing CPU's returns reach a batch and are sent to the owner's inbox) while it
    // allocates its own bursts (so its refills take from its inbox). Every lock acquisition is a
    // point where the schedule may switch CPUs. Checks: no object handed out twice (tags), every
    // free accepted, every object home at the end (nothing in use or cached after the drains),
    // the validator, and that batches really went through inboxes.
    private static (ScheduleResult Result, ulong InboxLocks, string Errors) InboxStorm(ulong seed, ScheduleStrategy strategy)
    {
        int cpus = 2 + (int)(seed % 2);
        const int Bursts = 4, Burst = 40;
        const ulong Size = 64;
        using var f = new HeapFixture(1024);
        HeapPages* pages = f.PagesPtr;
        var errors = new ConcurrentQueue<string>();
        var handed = new ConcurrentQueue<Obj>[cpus];
        for (int i = 0; i < cpus; i++) handed[i] = new ConcurrentQueue<Obj>();
        var barrier = new IdleBarrier(cpus, () => pages->DrainIfRequested());
        ScheduleResult r = DeterministicCpus.Run(cpus, seed, cpu =>
        {
            ulong serial = 0;
            void CheckAndFree(Obj o) => CheckAndFreeTagged(f, o, cpu, errors);
            for (int burst = 0; burst < Bursts; burst++)
            {
                for (int i = 0; i < Burst; i++)
                {
                    while (handed[cpu].TryDequeue(out Obj got)) CheckAndFree(got);
                    if (f.H.Kmalloc(Size, out void* p) != Status.Ok) { errors.Enqueue($"kmalloc on CPU {cpu} failed"); continue; }
                    handed[(cpu + 1) % cpus].Enqueue(Tagged(p, Size, ((ulong)cpu << 56) | ++serial));
                }
            }
            barrier.Wait();
            while (handed[cpu].TryDequeue(out Obj got)) CheckAndFree(got);
            barrier.Wait();
            pages->DrainCurrentCpu();
            barrier.Wait();
        }, Options(strategy));
        ulong inboxLocks = 0;
        if (errors.IsEmpty)
        {
            for (SlabCache* c = f.Pages.FirstCache; c != null; c = c->NextCache)
            {
                inboxLocks += c->InboxLockStats.Acquisitions;
                if (c->ActiveObjects != 0 || c->CpuCachedObjects != 0)
                    errors.Enqueue($"a cache has {c->ActiveObjects} objects in use and {c->CpuCachedObjects} cached after the run");
            }
            f.H.Validate();
            f.DestroyAndCheck();
        }
        return (r, inboxLocks, string.Join("; ", errors));
    }

    [Theory]
    [InlineData(ScheduleStrategy.RandomWalk)]
    [InlineData(ScheduleStrategy.Priorities)]
    public void Kmalloc_ObjectsGoingHomeThroughInboxes_OverManySchedules(ScheduleStrategy strategy)
    {
        ulong inboxLocks = SumOverSeeds(seed => { var (_, locks, errors) = InboxStorm(seed, strategy); return (locks, errors); });
        Assert.True(inboxLocks > 0, "no batch went through an inbox");
    }

    [Theory]
    [InlineData(ScheduleStrategy.RandomWalk)]
    [InlineData(ScheduleStrategy.Priorities)]
    public void Kmalloc_CrossCpuFreesAndSlabDrain_OverManySchedules(ScheduleStrategy strategy)
    {
        ulong drains = SumOverSeeds(seed => { var (_, d, errors) = HeapStorm(seed, strategy); return (d, errors); });
        if (Environment.GetEnvironmentVariable(DeterministicCpus.SeedVariable) != null) return;
        Assert.True(drains > 0, "memory never ran short enough to ask the other CPUs to drain");
    }

    [Fact]
    public void Kmalloc_SameSeed_SameScheduleAndResult()
    {
        var a = HeapStorm(21);
        var b = HeapStorm(21);
        Assert.Equal(a.Result.Digest, b.Result.Digest);
        Assert.Equal(a.DrainRequests, b.DrainRequests);
    }

    // As Buddy_Schedule_DoesNotDependOnHowTheCpuIsFound, for kmalloc and kfree.
    [Fact]
    public void Kmalloc_Schedule_DoesNotDependOnHowTheCpuIsFound()
    {
        var mapped = HeapStorm(21);
        var unmapped = HeapStorm(21, mapStacks: false);
        AssertSameRun((mapped.Result, mapped.Errors), (unmapped.Result, unmapped.Errors));
        Assert.Equal(mapped.DrainRequests, unmapped.DrainRequests);
    }
}
