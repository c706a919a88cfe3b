using SharpMM.Addressing;
using SharpMM.Diagnostics;
using SharpMM.Paging;

namespace SharpMM.Kernel;

/// <summary>
/// The other CPUs (Smp), run when the kernel has them (-smp N): every CPU is online with its
/// own index, GS area, stack and unmapped guard page; a request IPI to a CPU runs its handler on
/// that CPU; the local APIC timer ticks on every CPU; atomic increments from all CPUs at once
/// add up. The timer test also runs on one CPU.
/// </summary>
internal static unsafe class SmpTests
{
    private const ulong TimeoutMs = 5000;

    public static void RunAll(ref TestRunner r)
    {
        if (LocalApic.Virt != 0) r.Run("smp: the local APIC timer ticks on every CPU", &TimerTicksEverywhere);
        if (Smp.Online < 2) return;
        r.Run("smp: every CPU online with its own index, GS area, stack and guard page", &EveryCpuHasItsOwn);
        r.Run("smp: a request IPI to each CPU runs its handler on that CPU", &IpiRoundTrip);
        r.Run("smp: lock xadd from every CPU at once loses no increment", &AtomicAddsFromEveryCpu);
    }

    private struct Seen
    {
        public int Index;
        public ulong Area;
        public ulong StackPointer;
        public uint ApicId;
    }

    private static Seen* s_seen;

    private static void Record(ulong index)
    {
        Seen* s = s_seen + index;
        s->Index = PerCpus.CurrentIndex;
        s->Area = (ulong)PerCpus.Current;
        s->StackPointer = Smp.StackPointer();
        s->ApicId = LocalApic.Id;
    }

    private static void EveryCpuHasItsOwn(ref TestContext t)
    {
        Seen* seen = stackalloc Seen[PerCpus.MaxCpus];
        for (int i = 0; i < PerCpus.MaxCpus; i++) seen[i] = new Seen { Index = -1 };
        s_seen = seen;
        t.Check(Smp.RunOnAll(&Record, TimeoutMs), "every CPU ran its share");
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("  ");
        for (int i = 0; i < Smp.Online; i++)
        {
            ulong top = PerCpus.StackTopOf(i);
            t.Equal((ulong)seen[i].Index, (ulong)i, "the index GS gives on the CPU that ran share i");
            t.Equal(seen[i].Area, (ulong)PerCpus.Area(i), "the GS area of CPU i is area i");
            t.Check(seen[i].StackPointer < top && seen[i].StackPointer >= top - KernelStack.Size, "RSP lies in CPU i's own stack");
            t.Equal(seen[i].ApicId, PerCpus.Area(i)->ApicId, "the APIC that answered is CPU i's");
            for (int j = 0; j < i; j++) t.Check(seen[j].ApicId != seen[i].ApicId, "APIC ids differ");
            ulong guard = i == 0 ? KernelStack.Guard : PerCpus.Area(i)->StackGuard;
            t.Equal(guard, top - KernelStack.Size - PageSize.Bytes, "the guard page lies right below the stack");
            t.Check(KernelAddressSpace.Translate(guard, out Translation _) != Status.Ok, "the guard page is not mapped");
            t.Check(KernelAddressSpace.Translate(top - PageSize.Bytes, out Translation _) == Status.Ok, "the stack's top page is mapped");
            w.Str(" cpu ");
            w.Dec((ulong)i);
            w.Str(" rsp ");
            w.Hex(seen[i].StackPointer, 16);
        }
        w.Line();
        s_seen = null;
    }

    private static void IpiRoundTrip(ref TestContext t)
    {
        for (int i = 1; i < Smp.Online; i++)
        {
            PerCpu* cpu = PerCpus.Area(i);
            int before = Smp.Load(&cpu->IpisTaken);
            Smp.Store(&cpu->IpiSeenOnCpu, -1);
            t.Check(LocalApic.SendFixed(cpu->ApicId, Interrupts.RequestVector), "the IPI was accepted by the local APIC");
            ulong deadline = Arch.Rdtsc() + Tsc.Hz / 1000 * TimeoutMs;
            while (Smp.Load(&cpu->IpisTaken) == before && Arch.Rdtsc() < deadline) Arch.Pause();
            t.Equal((ulong)(Smp.Load(&cpu->IpisTaken) - before), 1, "the handler ran once on the target");
            t.Equal((ulong)Smp.Load(&cpu->IpiSeenOnCpu), (ulong)i, "GS inside the handler was the target's");
        }
    }

    private const uint TickMs = 1, TimerWindowMs = 40;

    private static void CountTicks(ulong index)
    {
        PerCpu* cpu = PerCpus.Current;
        cpu->TimerTicks = 0;
        LocalApic.StartPeriodic(TickMs);
        Arch.Sti();
        Smp.SpinMicroseconds(TimerWindowMs * 1000);
        Arch.Cli();
        LocalApic.StopTimer();
    }

    private static void TimerTicksEverywhere(ref TestContext t)
    {
        t.Check(Smp.RunOnAll(&CountTicks, TimeoutMs), "every CPU ran its share");
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("  ticks in ");
        w.Dec(TimerWindowMs);
        w.Str(" ms at one per ms:");
        for (int i = 0; i < Smp.Online; i++)
        {
            int ticks = Smp.Load(&PerCpus.Area(i)->TimerTicks);
            w.Char(' ');
            w.Dec((ulong)ticks);
            // TCG runs the guest's timer on the host's clock: a loaded host delays ticks but does
            // not lose them all; a few in 40 ms proves the timer, its vector and EOI work.
            t.Check(ticks >= 3, "the timer interrupted this CPU at least 3 times");
        }
        w.Line();
    }

    private const int AddsPerCpu = 200_000;
    private static int s_sum;

    private static void AddMany(ulong index)
    {
        fixed (int* p = &s_sum) for (int i = 0; i < AddsPerCpu; i++) Smp.Add(p, 1);
    }

    private static void AtomicAddsFromEveryCpu(ref TestContext t)
    {
        s_sum = 0;
        t.Check(Smp.RunOnAll(&AddMany, TimeoutMs * 4), "every CPU ran its share");
        int sum;
        fixed (int* p = &s_sum) sum = Smp.Load(p);
        t.Equal((ulong)sum, (ulong)(AddsPerCpu * Smp.Online), "the sum of every CPU's increments");
    }
}
