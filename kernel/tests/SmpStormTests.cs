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
    private const int Rounds = 40, MaxBatch = 64;
    private const ulong TimeoutMs = 60_000;

    public static void RunAll(ref TestRunner r)
    {
        if (Smp.Online < 2) return;
        r.Run("smp: buddy storm on every CPU at once, frees on another CPU, then the validator", &Storm<BuddyBlocks>);
        r.Run("smp: kmalloc storm on every CPU at once, frees on another CPU, then the validators", &Storm<KmallocObjects>);
    }

    /// <summary>
    /// What one storm allocates; <see cref="Work{TKind}"/> and <see cref="Storm{TKind}"/> are the
    /// skeleton every storm shares. An item is a nonzero number the kind chooses (a frame
    /// number, an address) and its size in bytes, which the storm stamps at both ends.
    /// </summary>
    private interface IStormKind
    {
        /// <summary>Items a CPU allocates in one round (at most <see cref="MaxBatch"/>).</summary>
        static abstract int Batch { get; }

        /// <summary>CPU n's random sequence starts at Seed * (n + 1).</summary>
        static abstract ulong Seed { get; }

        /// <summary>Turns one random draw into an item's size and allocates it: false if refused.</summary>
        static abstract bool Allocate(ulong draw, out ulong item, out uint bytes);

        /// <summary>Where the item's bytes are.</summary>
        static abstract byte* Address(ulong item);

        static abstract Status Free(ulong item, uint bytes);

        /// <summary>The quantity a storm must leave as it found it, taken with the CPUs quiet.</summary>
        static abstract ulong Conserved();

        /// <summary>The validators run after the storm.</summary>
        static abstract void Validate();

        /// <summary>The totals of the locks the storm contends on.</summary>
        static abstract LockStats Locks();

        // Names for the checks and the report line.
        static abstract string ChangedCheck { get; }
        static abstract string FirstBadCheck { get; }
        static abstract string ConservedCheck { get; }
        static abstract string Items { get; }
        static abstract string LockName { get; }
    }

    // Shared between the CPUs of one storm: slots[cpu * MaxBatch + i] and the item's size in
    // bytes[cpu * MaxBatch + i], the barrier, the errors.
    private static ulong* s_slots;
    private static uint* s_bytes;
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

    /// <summary>One CPU's share: each round allocate and stamp a batch, then check and free the
    /// next CPU's.</summary>
    private static void Work<TKind>(ulong cpu) where TKind : struct, IStormKind
    {
        int n = Smp.Online;
        ulong next = (cpu + 1) % (ulong)n;
        ulong rng = TKind.Seed * (cpu + 1);
        for (int round = 0; round < Rounds; round++)
        {
            ulong* mine = s_slots + cpu * MaxBatch;
            uint* sizes = s_bytes + cpu * MaxBatch;
            for (int i = 0; i < TKind.Batch; i++)
            {
                rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
                if (!TKind.Allocate(rng, out ulong item, out uint bytes))
                {
                    mine[i] = 0;
                    Interlocked.Increment(ref s_failedAllocations);
                    continue;
                }
                mine[i] = item;
                sizes[i] = bytes;
                byte* p = TKind.Address(item);
                ulong stamp = Stamp(cpu, round, i);
                *(ulong*)p = stamp;
                *(ulong*)(p + bytes - 8) = stamp;
            }
            if (!Barrier(2 * round + 1)) { Error(ulong.MaxValue); return; }
            ulong* theirs = s_slots + next * MaxBatch;
            uint* theirSizes = s_bytes + next * MaxBatch;
            for (int i = 0; i < TKind.Batch; i++)
            {
                if (theirs[i] == 0) continue;
                byte* p = TKind.Address(theirs[i]);
                ulong want = Stamp(next, round, i);
                if (*(ulong*)p != want || *(ulong*)(p + theirSizes[i] - 8) != want) Error(theirs[i]);
                if (TKind.Free(theirs[i], theirSizes[i]) != Status.Ok) Error(theirs[i]);
            }
            if (!Barrier(2 * round + 2)) { Error(ulong.MaxValue); return; }
        }
    }

    private static void Storm<TKind>(ref TestContext t) where TKind : struct, IStormKind
    {
        ulong before = TKind.Conserved();
        ulong* slots = stackalloc ulong[PerCpus.MaxCpus * MaxBatch];
        uint* bytes = stackalloc uint[PerCpus.MaxCpus * MaxBatch];
        Reset(slots, bytes);
        LockStats locks0 = TKind.Locks();
        ulong t0 = Arch.Rdtsc();
        t.Check(Smp.RunOnAll(&Work<TKind>, TimeoutMs), "every CPU ran its share");
        ulong cycles = Arch.Rdtsc() - t0;
        LockStats locks = Minus(TKind.Locks(), locks0);
        t.Equal((ulong)s_errors, 0, TKind.ChangedCheck);
        if (s_errors != 0) t.Equal(s_firstBadSlot, 0, TKind.FirstBadCheck);
        t.Equal((ulong)s_failedAllocations, 0, "allocations refused");
        t.Equal(TKind.Conserved(), before, TKind.ConservedCheck);
        TKind.Validate();
        Report(cycles, TKind.Batch, TKind.Items, TKind.LockName, in locks);
        s_slots = null;
        s_bytes = null;
    }

    // ---- buddy ----------------------------------------------------------------------------

    /// <summary>Buddy blocks of order 0 (7 in 8) and 1-3; the item is the frame number.</summary>
    private struct BuddyBlocks : IStormKind
    {
        public static int Batch => 48;
        public static ulong Seed => 0x9E3779B97F4A7C15UL;

        public static bool Allocate(ulong draw, out ulong item, out uint bytes)
        {
            uint order = (draw & 7) != 0 ? 0u : (uint)(1 + (draw >> 8) % 3);
            bytes = (uint)(PageSize.Bytes << (int)order);
            Status s = PhysicalBoot.Memory.Buddy.Allocate(order, MemoryClass.Kernel, out Pfn pfn);
            item = pfn.Value;
            return s == Status.Ok;
        }

        public static byte* Address(ulong item) => (byte*)Platform.DirectMap.ToVirt(Pfn.NewUnchecked(item).ToAddr().Value);

        public static Status Free(ulong item, uint bytes) => PhysicalBoot.Memory.Buddy.Free(Pfn.NewUnchecked(item), BlockOrder.ForBytes(bytes));

        /// <summary>Free frames with every CPU's cache drained.</summary>
        public static ulong Conserved()
        {
            ref BuddyAllocator buddy = ref PhysicalBoot.Memory.Buddy;
            buddy.Drain();
            return buddy.FreeFrames;
        }

        public static void Validate() => PhysicalBoot.Memory.Buddy.Validate();
        public static LockStats Locks() => PhysicalBoot.Memory.Buddy.ZoneLockTotals;

        public static string ChangedCheck => "blocks stamped by one CPU and found changed, or refused, by the next";
        public static string FirstBadCheck => "first bad frame";
        public static string ConservedCheck => "free frames after the storm, every CPU's cache drained";
        public static string Items => "buddy blocks";
        public static string LockName => "zone locks";
    }

    // ---- kmalloc --------------------------------------------------------------------------

    /// <summary>kmalloc objects of 8 to 4096 bytes; the item is the object's address.</summary>
    internal struct KmallocObjects : IStormKind
    {
        public static int Batch => 64;
        public static ulong Seed => 0xD1B54A32D192ED03UL;

        public static bool Allocate(ulong draw, out ulong item, out uint bytes)
        {
            uint size = 8u << (int)(draw % 10);          // 8 .. 4096
            size -= (uint)((draw >> 16) % (size / 2 + 1)) & ~7u;
            if (size < 8) size = 8;
            bytes = size;
            Status s = PhysicalBoot.Heap.Kmalloc(size, out void* p);
            item = (ulong)p;
            return s == Status.Ok;
        }

        public static byte* Address(ulong item) => (byte*)item;
        public static Status Free(ulong item, uint bytes) => PhysicalBoot.Heap.Kfree((void*)item);

        /// <summary>Objects the slab caches count as allocated (objects cached on a CPU are free).</summary>
        public static ulong Conserved()
        {
            ulong live = 0;
            for (SharpMM.Heap.SlabCache* c = PhysicalBoot.Heap.Pages.FirstCache; c != null; c = c->NextCache) live += c->ActiveObjects;
            return live;
        }

        public static void Validate()
        {
            PhysicalBoot.Heap.Validate();
            PhysicalBoot.Memory.Buddy.Validate();
        }

        public static LockStats Locks()
        {
            LockStats sum = default;
            for (SharpMM.Heap.SlabCache* c = PhysicalBoot.Heap.Pages.FirstCache; c != null; c = c->NextCache) sum.Add(c->LockStats);
            return sum;
        }

        public static string ChangedCheck => "objects stamped by one CPU and found changed, or refused, by the next";
        public static string FirstBadCheck => "first bad object";
        public static string ConservedCheck => "live slab objects after the storm";
        public static string Items => "kmalloc objects";
        public static string LockName => "slab cache locks";
    }

    private static LockStats Minus(LockStats after, LockStats before)
    {
        after.Acquisitions -= before.Acquisitions;
        after.Contended -= before.Contended;
        after.SpinTicks -= before.SpinTicks;
        return after;
    }

    private static void Reset(ulong* slots, uint* bytes)
    {
        for (int i = 0; i < PerCpus.MaxCpus * MaxBatch; i++) { slots[i] = 0; bytes[i] = 0; }
        s_slots = slots;
        s_bytes = bytes;
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
