using System.Threading;
using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Diagnostics;
using SharpMM.Paging;
using SharpMM.Physical;


namespace SharpMM.Kernel;

/// <summary>
/// The other CPUs (Smp), run when the kernel has them (-smp N), on x86-64 and i386 alike: every
/// CPU is online with its own index, per-CPU area (behind GS on x86-64, FS on i386), stack and
/// unmapped guard page; a request IPI to a CPU runs its handler on
/// that CPU; the local APIC timer ticks on every CPU; atomic increments from all CPUs at once
/// add up. The timer test also runs on one CPU.
/// </summary>
internal static unsafe class SmpTests
{
    private const ulong TimeoutMs = 5000;

    public static void RunAll(ref TestRunner r)
    {
        if (LocalApic.Virt != 0) r.Run("smp: the local APIC's registers are mapped uncached (PCD and PWT)", &ApicMappedUncached);
        if (LocalApic.Virt != 0) r.Run("smp: the local APIC timer ticks on every CPU", &TimerTicksEverywhere);
        if (Smp.Online < 2) return;
        r.Run("smp: every CPU online with its own index, per-CPU area, stack and guard page", &EveryCpuHasItsOwn);
        r.Run("smp: Cpu.Kick of each CPU runs its request handler on that CPU", &IpiRoundTrip);
        r.Run("smp: lock xadd from every CPU at once loses no increment", &AtomicAddsFromEveryCpu);
        r.Run("smp: on its kernel stack a CPU finds itself in line; page and kmalloc pairs there", &FastPathsInLine);
        r.Run("smp: page-cache drains asked of CPUs in the middle of their order-0 pairs, interrupts on: nothing lost", &DrainsInterruptPairs);
    }

    private const int DrainPairs = 20000, DrainRing = 8;
    private static int s_pairsDone, s_pairFailures, s_drains, s_drainerStarted;
    private static ulong s_drained;

    /// <summary>CPU 0 asks every other CPU for its cached frames (the drain on demand of memory
    /// pressure: an IPI each, answered from the handler) again and again, while the others,
    /// with interrupts on, allocate and free order-0 frames through the inline paths, keeping
    /// a few in a ring so that their caches' counts move. A request that lands inside a change
    /// of a cache is deferred (Busy) and answered when the change ends; either way no frame is
    /// lost or handed out twice: the free count comes back and the validator passes.</summary>
    private static void DrainsInterruptPairs(ref TestContext t)
    {
        ref BuddyAllocator buddy = ref PhysicalBoot.Memory.Buddy;
        ulong freeBefore = buddy.FreeFrames, deferredBefore = buddy.DeferredDrainRequests;
        s_pairsDone = s_pairFailures = s_drains = s_drainerStarted = 0;
        s_drained = 0;
        t.Check(Smp.RunOnAll(&PairsOrDrains, TimeoutMs), "every CPU ran its share");
        t.Equal((ulong)s_pairFailures, 0, "every allocation and free succeeded");
        t.Equal((ulong)Volatile.Read(ref s_pairsDone), (ulong)(Smp.Online - 1), "every other CPU finished its pairs");
        t.Check(s_drains > 0, "CPU 0 asked for drains while the others worked");
        buddy.Drain();
        buddy.Validate();
        t.Equal(buddy.FreeFrames, freeBefore, "free frames after the pairs, the drains and a final drain");
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("  ");
        w.Dec((ulong)s_drains);
        w.Str(" drains by cpu 0 took back ");
        w.Dec(s_drained);
        w.Str(" cached frames during ");
        w.Dec((ulong)(DrainPairs * (Smp.Online - 1)));
        w.Str(" pairs on the other CPUs; ");
        w.Dec(buddy.DeferredDrainRequests - deferredBefore);
        w.Line(" requests arrived inside a change of a cache and were answered after it");
    }

    private static void PairsOrDrains(ulong index)
    {
        ref BuddyAllocator buddy = ref PhysicalBoot.Memory.Buddy;
        if (index == 0)
        {
            // At least one drain after the others were let go, however late this CPU runs.
            ulong deadline = Arch.Rdtsc() + Tsc.Hz / 1000 * TimeoutMs;
            Volatile.Write(ref s_drainerStarted, 1);
            do
            {
                s_drained += buddy.DrainAllCpus();
                s_drains++;
            }
            while (Volatile.Read(ref s_pairsDone) < Smp.Online - 1 && Arch.Rdtsc() < deadline);
            return;
        }
        // The pairs start once CPU 0 drains (a CPU scheduled late by the host would otherwise
        // find the others done, and the test would ask for no drain during them).
        while (Volatile.Read(ref s_drainerStarted) == 0) Cpu.Relax();
        uint* ring = stackalloc uint[DrainRing];
        for (int i = 0; i < DrainRing; i++) ring[i] = 0;
        Arch.Sti();
        for (int i = 0; i < DrainPairs; i++)
        {
            ref uint slot = ref ring[i % DrainRing];
            if (slot != 0 && buddy.Free(Pfn.NewUnchecked(slot), 0) != Status.Ok) Interlocked.Increment(ref s_pairFailures);
            slot = buddy.Allocate(0, MemoryClass.Kernel, out Pfn p) == Status.Ok ? (uint)p.Value : 0;
            if (slot == 0) Interlocked.Increment(ref s_pairFailures);
        }
        for (int i = 0; i < DrainRing; i++)
            if (ring[i] != 0 && buddy.Free(Pfn.NewUnchecked(ring[i]), 0) != Status.Ok) Interlocked.Increment(ref s_pairFailures);
        Arch.Cli();
        Interlocked.Increment(ref s_pairsDone);
    }

    private const int FastPairs = 20000;

    /// <summary>The fast paths of several CPUs, on the boot CPU with the others online and idle:
    /// Cpu.CurrentWithoutCall answers from the stack map (so the page allocator's and kmalloc's
    /// several-CPU paths run inline, with no call to the per-CPU register's hook), and order-0
    /// page pairs and kmalloc(64) pairs through them leave the free counts as they found them.
    /// Prints each pair's rdtsc cycles (under TCG, an emulated figure: compare runs of one
    /// build against another, never with hardware).</summary>
    private static void FastPathsInLine(ref TestContext t)
    {
        t.Equal((ulong)Cpu.CurrentWithoutCall, (ulong)PerCpus.CurrentIndex, "Cpu.CurrentWithoutCall on the boot CPU's kernel stack");
        ref BuddyAllocator buddy = ref PhysicalBoot.Memory.Buddy;
        ulong freeBefore = buddy.FreeFrames;
        ulong t0 = Arch.Rdtsc();
        int failed = 0;
        for (int i = 0; i < FastPairs; i++)
        {
            if (buddy.Allocate(0, MemoryClass.Kernel, out Pfn p) != Status.Ok || buddy.Free(p, 0) != Status.Ok) failed++;
        }
        ulong pageCycles = Arch.Rdtsc() - t0;
        t.Equal((ulong)failed, 0, "every order-0 pair succeeded");
        t.Equal(buddy.FreeFrames, freeBefore, "free frames after the pairs");
        ulong heapBefore = SmpStormTests.KmallocObjects.Conserved();
        t0 = Arch.Rdtsc();
        failed = 0;
        for (int i = 0; i < FastPairs; i++)
        {
            if (PhysicalBoot.Heap.Kmalloc(64, out void* o) != Status.Ok || PhysicalBoot.Heap.Kfree(o) != Status.Ok) failed++;
        }
        ulong heapCycles = Arch.Rdtsc() - t0;
        t.Equal((ulong)failed, 0, "every kmalloc(64) pair succeeded");
        t.Equal(SmpStormTests.KmallocObjects.Conserved(), heapBefore, "slab objects in use after the pairs");
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("  ");
        w.Dec((ulong)Smp.Online);
        w.Str(" CPUs online: ");
        w.Dec(pageCycles / FastPairs);
        w.Str(" cycles per order-0 page pair, ");
        w.Dec(heapCycles / FastPairs);
        w.Line(" per kmalloc(64) pair");
    }

    /// <summary>The device mapping Smp.Start made: one 4 KiB page at the MADT's address, cache
    /// disabled and write-through in the entry (x86-64's 8-byte, i386's 4-byte legacy or 8-byte
    /// PAE), and the ID register read through it is this CPU's.</summary>
    private static void ApicMappedUncached(ref TestContext t)
    {
        t.Equal((ulong)KernelAddressSpace.Translate(LocalApic.Virt, out Translation tr), (ulong)Status.Ok, "the APIC's page is mapped");
        t.Equal(tr.Phys.Value, LocalApic.Phys, "it maps the MADT's local APIC address");
        t.Check(tr.Size == MappingSize.Size4KiB, "one 4 KiB page");
        t.Check((tr.Flags & PageFlags.CacheDisable) != 0, "PCD set");
        t.Check((tr.Flags & PageFlags.WriteThrough) != 0, "PWT set");
        t.Equal(LocalApic.Id, PerCpus.Current->ApicId, "the ID register read through the mapping is this CPU's");
    }

    private struct Seen
    {
        public int Index;
        public ulong Area;
        public ulong StackPointer;
        public uint ApicId;
        public int LibraryIndex;
        public int InlineIndex;
    }

    private static Seen* s_seen;

    private static void Record(ulong index)
    {
        Seen* s = s_seen + index;
        s->Index = PerCpus.CurrentIndex;
        s->Area = (ulong)PerCpus.Current;
        s->StackPointer = Smp.StackPointer();
        s->ApicId = LocalApic.Id;
        s->LibraryIndex = Cpu.Current;
        s->InlineIndex = Cpu.CurrentWithoutCall;
    }

    private static void EveryCpuHasItsOwn(ref TestContext t)
    {
        Seen* seen = stackalloc Seen[PerCpus.MaxCpus];
        for (int i = 0; i < PerCpus.MaxCpus; i++) seen[i] = new Seen { Index = -1, InlineIndex = -2 };
        s_seen = seen;
        t.Check(Smp.RunOnAll(&Record, TimeoutMs), "every CPU ran its share");
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("  ");
        for (int i = 0; i < Smp.Online; i++)
        {
            ulong top = PerCpus.StackTopOf(i);
            t.Equal((ulong)seen[i].Index, (ulong)i, "the index the per-CPU register gives on the CPU that ran share i");
            t.Equal(seen[i].Area, (ulong)PerCpus.Area(i), "the per-CPU area of CPU i is area i");
            t.Equal((ulong)seen[i].LibraryIndex, (ulong)i, "the library's Cpu.Current on CPU i");
            t.Equal((ulong)seen[i].InlineIndex, (ulong)i, "Cpu.CurrentWithoutCall on CPU i: its kernel stack is in the library's stack map (the fast paths stay inline)");
            t.Check(seen[i].StackPointer < top && seen[i].StackPointer >= top - KernelStack.Size, "the stack pointer lies in CPU i's own stack");
            t.Equal(seen[i].ApicId, PerCpus.Area(i)->ApicId, "the APIC that answered is CPU i's");
            for (int j = 0; j < i; j++) t.Check(seen[j].ApicId != seen[i].ApicId, "APIC ids differ");
            ulong guard = i == 0 ? KernelStack.Guard : PerCpus.Area(i)->StackGuard;
            t.Equal(guard, top - KernelStack.Size - PageSize.Bytes, "the guard page lies right below the stack");
            t.Check(KernelAddressSpace.Translate(guard, out Translation _) != Status.Ok, "the guard page is not mapped");
            t.Check(KernelAddressSpace.Translate(top - PageSize.Bytes, out Translation _) == Status.Ok, "the stack's top page is mapped");
            w.Str(" cpu ");
            w.Dec((ulong)i);
            w.Str(" sp ");
            w.Hex(seen[i].StackPointer, PerCpus.AddressDigits);
        }
        w.Line();
        s_seen = null;
    }

    /// <summary>Cpu.Kick of a host call to each other CPU: the kernel's IPI hook interrupts it,
    /// its vector-240 handler runs Cpu.ServiceRequests there, and the host-call handler counts
    /// on the CPU it ran on (the per-CPU register).</summary>
    private static void IpiRoundTrip(ref TestContext t)
    {
        for (int i = 1; i < Smp.Online; i++)
        {
            PerCpu* cpu = PerCpus.Area(i);
            int ipis = Volatile.Read(ref cpu->IpisTaken), calls = Volatile.Read(ref cpu->HostCalls);
            Volatile.Write(ref cpu->IpiSeenOnCpu, -1);
            Cpu.Kick(1UL << i, CpuRequest.HostCall);
            ulong deadline = Arch.Rdtsc() + Tsc.Hz / 1000 * TimeoutMs;
            while (Volatile.Read(ref cpu->HostCalls) == calls && Arch.Rdtsc() < deadline) Arch.Pause();
            t.Equal((ulong)(Volatile.Read(ref cpu->HostCalls) - calls), 1, "the host-call handler ran once on the target");
            t.Equal((ulong)(Volatile.Read(ref cpu->IpisTaken) - ipis), 1, "one request IPI reached the target");
            t.Equal((ulong)Volatile.Read(ref cpu->IpiSeenOnCpu), (ulong)i, "the per-CPU register inside the IPI handler was the target's");
        }
        int self = PerCpus.Current->HostCalls;
        Cpu.Kick(1UL, CpuRequest.HostCall);
        t.Equal((ulong)(PerCpus.Current->HostCalls - self), 1, "a kick of the current CPU runs its handler right away");
    }

    private const uint TickMs = 1, WantedTicks = 10, TimerLimitMs = 2000;
    private static ulong* s_tickCycles;

    /// <summary>Runs the periodic timer (one tick a millisecond) with interrupts on until 10 ticks
    /// arrived or 2 s passed: TCG on a loaded host delays ticks, so the test counts ticks, not time.</summary>
    private static void CountTicks(ulong index)
    {
        PerCpu* cpu = PerCpus.Current;
        Volatile.Write(ref cpu->TimerTicks, 0);
        ulong t0 = Arch.Rdtsc(), deadline = t0 + Tsc.Hz / 1000 * TimerLimitMs;
        LocalApic.StartPeriodic(TickMs);
        Arch.Sti();
        while (Volatile.Read(ref cpu->TimerTicks) < WantedTicks && Arch.Rdtsc() < deadline) Arch.Pause();
        Arch.Cli();
        LocalApic.StopTimer();
        s_tickCycles[index] = Arch.Rdtsc() - t0;
    }

    private static void TimerTicksEverywhere(ref TestContext t)
    {
        ulong* cycles = stackalloc ulong[PerCpus.MaxCpus];
        s_tickCycles = cycles;
        t.Check(Smp.RunOnAll(&CountTicks, TimeoutMs), "every CPU ran its share");
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("  ticks (ms taken) at one per ms:");
        for (int i = 0; i < Smp.Online; i++)
        {
            int ticks = Volatile.Read(ref PerCpus.Area(i)->TimerTicks);
            w.Char(' ');
            w.Dec((ulong)ticks);
            w.Str(" (");
            w.Dec(Tsc.Nanoseconds(cycles[i]) / 1_000_000);
            w.Char(')');
            // Each tick is an interrupt taken and an EOI sent: without the EOI only one arrives.
            t.Check(ticks >= (int)WantedTicks, "the timer interrupted this CPU 10 times within 2 s");
        }
        w.Line();
        s_tickCycles = null;
    }

    private const int AddsPerCpu = 200_000;
    private static int s_sum;

    private static void AddMany(ulong index)
    {
        for (int i = 0; i < AddsPerCpu; i++) Interlocked.Increment(ref s_sum);
    }

    private static void AtomicAddsFromEveryCpu(ref TestContext t)
    {
        s_sum = 0;
        t.Check(Smp.RunOnAll(&AddMany, TimeoutMs * 4), "every CPU ran its share");
        int sum = Volatile.Read(ref s_sum);
        t.Equal((ulong)sum, (ulong)(AddsPerCpu * Smp.Online), "the sum of every CPU's increments");
    }
}
