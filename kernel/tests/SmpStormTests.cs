using System.Threading;
using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Diagnostics;
using SharpMM.Physical;

namespace SharpMM.Kernel;

/// <summary>
/// Allocation storms on every CPU at once (with two CPUs or more), each followed by the
/// validators with the CPUs quiet again. In each round every CPU allocates a batch, stamps every
/// block with its CPU, round and slot, then (after a barrier) checks and frees the batch of the
/// next CPU: every free is a cross-CPU free, and a block handed out twice shows up as a stamp
/// another CPU overwrote. After the storm the free counts are what they were before and the
/// buddy allocator's and the heap's validators pass; each storm prints its lock statistics (the
/// zone locks', the slab caches').
/// <code>
///   buddy     orders 0 (7 in 8) and 1-3, 48 blocks a CPU a round, 40 rounds
///   kmalloc   sizes 8 to 4096 bytes (slab caches only: kmalloc's large blocks map pages in the
///             kernel's tables, which another layer makes safe for several CPUs), 64 objects
///             a CPU a round, 40 rounds
/// </code>
/// </summary>
internal static unsafe class SmpStormTests
{
    private const int Rounds = 40, BuddyBatch = 48, HeapBatch = 64, MaxBatch = 64;
    private const ulong TimeoutMs = 60_000;

    public static void RunAll(ref TestRunner r)
    {
        if (Smp.Online < 2) return;
        r.Run("smp: buddy storm on every CPU at once, frees on another CPU, then the validator", &BuddyStorm);
        r.Run("smp: kmalloc storm on every CPU at once, frees on another CPU, then the validators", &HeapStorm);
    }

    // Shared between the CPUs of one storm: slots[cpu * MaxBatch + i], the barrier, the errors.
    private static ulong* s_slots;
    private static uint* s_orders;
    private static int s_arrived;
    private static int s_errors;
    private static int s_failedAllocations;
    private static ulong s_firstBadSlot;

    /// <summary>Waits until every online CPU has arrived at barrier number <paramref name="generation"/>
    /// (1, 2, ...). False after the timeout (a CPU that never came: the storm then stops).</summary>
    private static bool Barrier(int generation)
    {
        Interlocked.Increment(ref s_arrived);
        int target = generation * Smp.Online;
        ulong deadline = Arch.Rdtsc() + Tsc.Hz / 1000 * TimeoutMs;
        while (Volatile.Read(ref s_arrived) < target)
        {
            if (Arch.Rdtsc() > deadline) return false;
            Cpu.Relax();
        }
        return true;
    }

    private static void Error(ulong slot)
    {
        if (Interlocked.Increment(ref s_errors) == 1) s_firstBadSlot = slot;
    }

    private static ulong Stamp(ulong cpu, int round, int slot) => 0x5EED_0000_0000_0000UL | cpu << 32 | (ulong)round << 16 | (uint)slot;

    // ---- buddy ----------------------------------------------------------------------------

    private static void BuddyWork(ulong cpu)
    {
        ref BuddyAllocator buddy = ref PhysicalBoot.Memory.Buddy;
        int n = Smp.Online;
        ulong next = (cpu + 1) % (ulong)n;
        ulong rng = 0x9E3779B97F4A7C15UL * (cpu + 1);
        for (int round = 0; round < Rounds; round++)
        {
            ulong* mine = s_slots + cpu * MaxBatch;
            uint* orders = s_orders + cpu * MaxBatch;
            for (int i = 0; i < BuddyBatch; i++)
            {
                rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
                uint order = (rng & 7) != 0 ? 0u : (uint)(1 + (rng >> 8) % 3);
                orders[i] = order;
                if (buddy.Allocate(order, MemoryClass.Kernel, out Pfn pfn) != Status.Ok)
                {
                    mine[i] = 0;
                    Interlocked.Increment(ref s_failedAllocations);
                    continue;
                }
                mine[i] = pfn.Value;
                ulong* first = (ulong*)Platform.DirectMap.ToVirt(pfn.ToAddr().Value);
                ulong* last = (ulong*)((byte*)first + (PageSize.Bytes << (int)order) - 8);
                *first = *last = Stamp(cpu, round, i);
            }
            if (!Barrier(2 * round + 1)) { Error(ulong.MaxValue); return; }
            ulong* theirs = s_slots + next * MaxBatch;
            uint* theirOrders = s_orders + next * MaxBatch;
            for (int i = 0; i < BuddyBatch; i++)
            {
                if (theirs[i] == 0) continue;
                Pfn pfn = Pfn.NewUnchecked(theirs[i]);
                ulong* first = (ulong*)Platform.DirectMap.ToVirt(pfn.ToAddr().Value);
                ulong* last = (ulong*)((byte*)first + (PageSize.Bytes << (int)theirOrders[i]) - 8);
                ulong want = Stamp(next, round, i);
                if (*first != want || *last != want) Error(theirs[i]);
                if (buddy.Free(pfn, theirOrders[i]) != Status.Ok) Error(theirs[i]);
            }
            if (!Barrier(2 * round + 2)) { Error(ulong.MaxValue); return; }
        }
    }

    private static void BuddyStorm(ref TestContext t)
    {
        ref BuddyAllocator buddy = ref PhysicalBoot.Memory.Buddy;
        buddy.Drain();
        ulong free0 = buddy.FreeFrames;
        ulong* slots = stackalloc ulong[PerCpus.MaxCpus * MaxBatch];
        uint* orders = stackalloc uint[PerCpus.MaxCpus * MaxBatch];
        Reset(slots, orders);
        LockStats locks0 = buddy.ZoneLockTotals;
        ulong t0 = Arch.Rdtsc();
        t.Check(Smp.RunOnAll(&BuddyWork, TimeoutMs), "every CPU ran its share");
        ulong cycles = Arch.Rdtsc() - t0;
        LockStats locks = Minus(buddy.ZoneLockTotals, locks0);
        t.Equal((ulong)s_errors, 0, "blocks stamped by one CPU and found changed, or refused, by the next");
        if (s_errors != 0) t.Equal(s_firstBadSlot, 0, "first bad frame");
        t.Equal((ulong)s_failedAllocations, 0, "allocations refused");
        buddy.Drain();
        t.Equal(buddy.FreeFrames, free0, "free frames after the storm, every CPU's cache drained");
        buddy.Validate();
        Report(cycles, BuddyBatch, "buddy blocks", "zone locks", in locks);
        s_slots = null;
        s_orders = null;
    }

    // ---- kmalloc --------------------------------------------------------------------------

    private static void HeapWork(ulong cpu)
    {
        int n = Smp.Online;
        ulong next = (cpu + 1) % (ulong)n;
        ulong rng = 0xD1B54A32D192ED03UL * (cpu + 1);
        for (int round = 0; round < Rounds; round++)
        {
            ulong* mine = s_slots + cpu * MaxBatch;
            uint* sizes = s_orders + cpu * MaxBatch;
            for (int i = 0; i < HeapBatch; i++)
            {
                rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
                uint size = 8u << (int)(rng % 10);          // 8 .. 4096
                size -= (uint)((rng >> 16) % (size / 2 + 1)) & ~7u;
                if (size < 8) size = 8;
                sizes[i] = size;
                if (PhysicalBoot.Heap.Kmalloc(size, out void* p) != Status.Ok)
                {
                    mine[i] = 0;
                    Interlocked.Increment(ref s_failedAllocations);
                    continue;
                }
                mine[i] = (ulong)p;
                ulong stamp = Stamp(cpu, round, i);
                *(ulong*)p = stamp;
                *(ulong*)((byte*)p + size - 8) = stamp;
            }
            if (!Barrier(2 * round + 1)) { Error(ulong.MaxValue); return; }
            ulong* theirs = s_slots + next * MaxBatch;
            uint* theirSizes = s_orders + next * MaxBatch;
            for (int i = 0; i < HeapBatch; i++)
            {
                if (theirs[i] == 0) continue;
                byte* p = (byte*)theirs[i];
                ulong want = Stamp(next, round, i);
                if (*(ulong*)p != want || *(ulong*)(p + theirSizes[i] - 8) != want) Error(theirs[i]);
                if (PhysicalBoot.Heap.Kfree(p) != Status.Ok) Error(theirs[i]);
            }
            if (!Barrier(2 * round + 2)) { Error(ulong.MaxValue); return; }
        }
    }

    private static void HeapStorm(ref TestContext t)
    {
        ulong live0 = LiveObjects();
        ulong* slots = stackalloc ulong[PerCpus.MaxCpus * MaxBatch];
        uint* sizes = stackalloc uint[PerCpus.MaxCpus * MaxBatch];
        Reset(slots, sizes);
        LockStats locks0 = SlabLocks();
        ulong t0 = Arch.Rdtsc();
        t.Check(Smp.RunOnAll(&HeapWork, TimeoutMs), "every CPU ran its share");
        ulong cycles = Arch.Rdtsc() - t0;
        LockStats locks = Minus(SlabLocks(), locks0);
        t.Equal((ulong)s_errors, 0, "objects stamped by one CPU and found changed, or refused, by the next");
        if (s_errors != 0) t.Equal(s_firstBadSlot, 0, "first bad object");
        t.Equal((ulong)s_failedAllocations, 0, "allocations refused");
        t.Equal(LiveObjects(), live0, "live slab objects after the storm");
        PhysicalBoot.Heap.Validate();
        PhysicalBoot.Memory.Buddy.Validate();
        Report(cycles, HeapBatch, "kmalloc objects", "slab cache locks", in locks);
        s_slots = null;
        s_orders = null;
    }

    /// <summary>Objects the slab caches count as allocated (objects cached on a CPU are free).</summary>
    private static ulong LiveObjects()
    {
        ulong live = 0;
        for (SharpMM.Heap.SlabCache* c = PhysicalBoot.Heap.Pages.FirstCache; c != null; c = c->NextCache) live += c->ActiveObjects;
        return live;
    }

    private static LockStats SlabLocks()
    {
        LockStats sum = default;
        for (SharpMM.Heap.SlabCache* c = PhysicalBoot.Heap.Pages.FirstCache; c != null; c = c->NextCache) sum.Add(c->LockStats);
        return sum;
    }

    private static LockStats Minus(LockStats after, LockStats before)
    {
        after.Acquisitions -= before.Acquisitions;
        after.Contended -= before.Contended;
        after.SpinTicks -= before.SpinTicks;
        return after;
    }

    private static void Reset(ulong* slots, uint* extra)
    {
        for (int i = 0; i < PerCpus.MaxCpus * MaxBatch; i++) { slots[i] = 0; extra[i] = 0; }
        s_slots = slots;
        s_orders = extra;
        s_arrived = 0;
        s_errors = 0;
        s_failedAllocations = 0;
        s_firstBadSlot = 0;
    }

    private static void Report(ulong cycles, int batch, string what, string lockName, in LockStats locks)
    {
        TextWriter<SerialSink> w = Log.Writer();
        ulong pairs = (ulong)Smp.Online * Rounds * (ulong)batch;
        w.Str("  ");
        w.Dec(pairs);
        w.Char(' ');
        w.Str(what);
        w.Str(" allocated and freed on another CPU by ");
        w.Dec((ulong)Smp.Online);
        w.Str(" CPUs in ");
        w.Dec(Tsc.Nanoseconds(cycles) / 1000);
        w.Str(" us; ");
        w.Str(lockName);
        w.Str(": ");
        w.Dec(locks.Acquisitions);
        w.Str(" acquisitions, ");
        w.Dec(locks.Contended);
        w.Str(" contended, ");
        w.Dec(Tsc.Nanoseconds(locks.SpinTicks) / 1000);
        w.Line(" us spinning; validators passed");
    }
}
