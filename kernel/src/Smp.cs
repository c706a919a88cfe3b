using System;
using System.Runtime;
using System.Runtime.CompilerServices;
using System.Threading;
using SharpMM.Boot;
using SharpMM.Concurrency;
using SharpMM.Diagnostics;
using SharpMM.Paging;


namespace SharpMM.Kernel;

/// <summary>
/// Several CPUs, on x86-64 and i386: <see cref="Start"/> (kmain stage 2, on the kernel's own
/// tables) maps the local APIC, masks the 8259 PICs, calibrates the TSC and the APIC timer, then starts every
/// enabled processor of the MADT (<see cref="CpuDiscovery"/>) in table order, one at a time
/// (<see cref="ApStartup"/>). CPU 0 is the boot CPU; the others are numbered 1.. as they come
/// online, so the online CPUs are always 0..<see cref="Online"/>-1. A MADT with more than
/// <see cref="PerCpus.MaxCpus"/> enabled processors starts the first ones and says so
/// (Madt.StartOrder); a CPU that does not come up within <see cref="StartTimeoutMs"/> is reported
/// and skipped (test=apstartfail sends the first AP no start-up IPI to show it).
///
/// The architecture supplies the rest (arch/ARCH): the per-CPU areas and the register that
/// reaches them (<see cref="PerCpus"/>: GS on x86-64, FS on i386), the trampoline and what an AP
/// copies from the boot CPU (<see cref="ApStartup"/>), the interrupt stubs and gates.
///
/// An AP runs <see cref="ApMain"/>: the boot CPU's control registers and MSRs
/// (<see cref="ApStartup.InitThisCpu"/>), its local APIC enabled, a line on serial, then the idle loop: interrupts off, run the mailbox's work if
/// there is some (<see cref="RunOn"/>), else <c>sti; hlt</c> until an interrupt (a request IPI
/// wakes it). Interrupts are on only inside that hlt: work runs with them off, so a spin loop in
/// work must call Cpu.Relax (which answers the CPU's pending requests), never a bare pause.
/// </summary>
internal static unsafe class Smp
{
    /// <summary>How long a starting AP has to say it is online.</summary>
    public const ulong StartTimeoutMs = 2000;

    private static int s_online = 1;

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_sti_hlt")] private static extern void StiHlt();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_stack_pointer")] public static extern ulong StackPointer();

    /// <summary>CPUs running (the boot CPU included).</summary>
    public static int Online => s_online;

    /// <summary>Busy-waits <paramref name="us"/> microseconds of TSC time (after Tsc.Calibrate).</summary>
    public static void SpinMicroseconds(ulong us)
    {
        ulong end = Arch.Rdtsc() + Tsc.Hz / 1_000_000 * us;
        while (Arch.Rdtsc() < end) Arch.Pause();
    }

    /// <summary>Brings up the other CPUs; returns how many CPUs are online.</summary>
    public static int Start(ref LoaderInfo loader)
    {
        TextWriter<SerialSink> w = Log.Writer();
        // The BIOS leaves the 8259s delivering IRQ 0-7 on vectors 8-15 (exception vectors):
        // masked, they deliver nothing when a CPU enables interrupts.
        Arch.OutB(0x21, 0xFF);
        Arch.OutB(0xA1, 0xFF);
        if (!CpuDiscovery.Found) return 1;
        ref Madt madt = ref CpuDiscovery.Madt;
        Tsc.Calibrate();
        Status s = LocalApic.Map(madt.LocalApicAddress);
        if (s != Status.Ok)
        {
            w.Str("smp: the local APIC could not be mapped (");
            w.Str(StatusNames.Name(s));
            w.Line("): one CPU");
            return 1;
        }
        LocalApic.Enable();
        LocalApic.CalibrateTimer();
        InstallLibraryHooks();
        uint bootApic = LocalApic.Id;
        PerCpus.Current->ApicId = bootApic;
        w.Str("smp: local APIC at ");
        w.Hex(LocalApic.Phys, 8);
        w.Str(" mapped uncached at ");
        w.Hex(LocalApic.Virt, PerCpus.AddressDigits);
        w.Str(", boot CPU APIC id ");
        w.Dec(bootApic);
        w.Str(", TSC ");
        w.Dec(Tsc.Hz / 1_000_000);
        w.Str(" MHz, APIC timer ");
        w.Dec(LocalApic.TimerTicksPerMs);
        w.Line(" counts/ms");

        uint* apicIds = stackalloc uint[PerCpus.MaxCpus];
        int starting = madt.StartOrder(bootApic, PerCpus.MaxCpus, new Span<uint>(apicIds, PerCpus.MaxCpus), out int beyondLimit);
        int wanted = 1 + starting;
        if (beyondLimit != 0)
        {
            w.Str("smp: the MADT lists ");
            w.Dec((ulong)(wanted + beyondLimit));
            w.Str(" processors; starting the first ");
            w.Dec((ulong)PerCpus.MaxCpus);
            w.Str(" (PerCpus.MaxCpus), ");
            w.Dec((ulong)beyondLimit);
            w.Line(" left out");
        }
        if (starting == 0) return 1;

        s = ApStartup.Prepare();
        if (s != Status.Ok)
        {
            w.Line("smp: no low memory for the AP trampoline: one CPU");
            return 1;
        }
        ApStartup.SaveBootCpuState();
        w.Str("smp: AP trampoline at ");
        w.Hex(ApStartup.TrampolinePhys, 8);
        w.Line();

        ulong t0 = Arch.Rdtsc();
        int failed = 0;
        // test=apstartfail: the first AP gets no start-up IPI, as a dead CPU would not answer one.
        bool failFirst = loader.CommandLine.Has("test=apstartfail");
        for (int i = 0; i < starting; i++)
        {
            uint apicId = apicIds[i];
            int index = s_online;
            Status prepared = PerCpus.Prepare(index, apicId);
            if (prepared != Status.Ok)
            {
                w.Str("smp: the stacks of cpu ");
                w.Dec((ulong)index);
                w.Str(" could not be made (");
                w.Str(StatusNames.Name(prepared));
                w.Line("); not starting more");
                break;
            }
            if (!ApStartup.Start(PerCpus.Area(index), StartTimeoutMs, sendStartup: !(failFirst && i == 0)))
            {
                failed++;
                w.Str("smp: cpu ");
                w.Dec((ulong)index);
                w.Str(" (APIC id ");
                w.Dec(apicId);
                w.Str(") did not come up within ");
                w.Dec(StartTimeoutMs);
                w.Line(" ms; going on without it");
                continue;
            }
            s_online++;
        }
        ulong cycles = Arch.Rdtsc() - t0;
        Cpu.SetOnline(s_online);
        w.Str("smp: ");
        w.Dec((ulong)s_online);
        w.Str(" of ");
        w.Dec((ulong)wanted);
        w.Str(" CPUs online in ");
        w.Dec(Tsc.Nanoseconds(cycles) / 1_000_000);
        w.Str(" ms");
        if (failed != 0)
        {
            w.Str(", ");
            w.Dec((ulong)failed);
            w.Str(" did not start");
        }
        w.Line();
        return s_online;
    }

    /// <summary>
    /// The library's view of the CPUs (SharpMM.Concurrency.Cpu): the current CPU from the per-CPU
    /// register, pause
    /// in spin loops, IPIs through the local APIC, the TSC as the lock clock, the kernel's
    /// host-call handler, and the TLB shootdown's handler over the kernel's arch hooks (invlpg,
    /// CR3 reload, PGE toggle on the CPU that receives the request; kernel vmalloc and device
    /// unmaps send to every online CPU). The host call only counts (the IPI test's witness): work handed to a
    /// CPU runs in its idle loop (<see cref="RunOn"/>), never inside a request handler, which
    /// may run in Cpu.Relax while its CPU holds locks.
    /// </summary>
    private static void InstallLibraryHooks()
    {
        Cpu.Install(&CurrentIndex, &Pause);
        Cpu.InstallIpi(&SendIpis);
        Cpu.InstallClock(&Clock);
        Cpu.SetRequestHandler(CpuRequest.HostCall, &CountHostCall);
        TlbShootdown.Install<KernelArchHooks>();
    }

    private static int CurrentIndex() => PerCpus.CurrentIndex;
    private static void Pause() => Arch.Pause();
    private static ulong Clock() => Arch.Rdtsc();
    private static void CountHostCall() => PerCpus.Current->HostCalls++;

    /// <summary>A request IPI to every online CPU of <paramref name="mask"/>.</summary>
    private static void SendIpis(ulong mask)
    {
        for (int i = 0; i < s_online && i < 64; i++)
            if ((mask & (1UL << i)) != 0 && !LocalApic.SendFixed(PerCpus.Area(i)->ApicId, Interrupts.RequestVector))
                KernelPanic.Fail("smp: the local APIC did not accept an IPI for cpu", (ulong)i);
    }

    /// <summary>An AP's first managed code (smp.S's ap_entry, on its own stack, the per-CPU
    /// register on its area).</summary>
    [RuntimeExport("ap_main")]
    private static void ApMain(PerCpu* cpu)
    {
        ApStartup.InitThisCpu();
        LocalApic.Enable();
        if (PerCpus.CurrentIndex != cpu->Index || LocalApic.Id != cpu->ApicId) KernelPanic.Fail("smp: an AP's per-CPU area or APIC id is not its own", (ulong)cpu->Index);

        // The boot CPU waits (without printing) until Online is set: this line is not interleaved.
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("smp: cpu ");
        w.Dec((ulong)cpu->Index);
        w.Str(" online, APIC id ");
        w.Dec(cpu->ApicId);
        w.Str(", ");
        w.Str(PerCpus.Register);
        w.Str(" area ");
        w.Hex((ulong)cpu, PerCpus.AddressDigits);
        w.Str(", stack [");
        w.Hex(cpu->StackTop - KernelStack.Size, PerCpus.AddressDigits);
        w.Char('-');
        w.Hex(cpu->StackTop - 1, PerCpus.AddressDigits);
        w.Str("], guard page ");
        w.Hex(cpu->StackGuard, PerCpus.AddressDigits);
        w.Line();
        Volatile.Write(ref cpu->Online, 1);
        IdleLoop(cpu);
    }

    private static void IdleLoop(PerCpu* cpu)
    {
        while (true)
        {
            Arch.Cli();
            int requested = Volatile.Read(ref cpu->Requested);
            if (requested != cpu->Completed)
            {
                cpu->Work(cpu->Argument);
                Volatile.Write(ref cpu->Completed, requested);
                continue;
            }
            StiHlt();
        }
    }

    /// <summary>Hands <paramref name="work"/>(<paramref name="argument"/>) to CPU
    /// <paramref name="index"/>'s mailbox and wakes it. Return: the request's number for
    /// <see cref="Wait"/>; 0 when the CPU is not online or still busy with an earlier request.</summary>
    public static int Post(int index, delegate*<ulong, void> work, ulong argument)
    {
        if (index <= 0 || index >= s_online) return 0;
        PerCpu* cpu = PerCpus.Area(index);
        if (Volatile.Read(ref cpu->Online) == 0 || Volatile.Read(ref cpu->Requested) != Volatile.Read(ref cpu->Completed)) return 0;
        cpu->Work = work;
        cpu->Argument = argument;
        int request = Interlocked.Increment(ref cpu->Requested);
        LocalApic.SendFixed(cpu->ApicId, Interrupts.RequestVector);
        return request;
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for CPU <paramref name="index"/> to
    /// complete request <paramref name="request"/>. True when it did.</summary>
    public static bool Wait(int index, int request, ulong timeoutMs)
    {
        PerCpu* cpu = PerCpus.Area(index);
        ulong deadline = Arch.Rdtsc() + Tsc.Hz / 1000 * timeoutMs;
        while (Volatile.Read(ref cpu->Completed) != request)
        {
            if (Arch.Rdtsc() > deadline) return false;
            // Relax answers this CPU's own pending requests: the CPU it waits for may be waiting
            // for a TLB shootdown this one has to acknowledge.
            Cpu.Relax();
        }
        return true;
    }

    /// <summary>Runs <paramref name="work"/>(<paramref name="argument"/>) on CPU
    /// <paramref name="index"/> (directly when it is this one) and waits for it. False when the
    /// CPU is not online, busy, or did not finish within <paramref name="timeoutMs"/>.</summary>
    public static bool RunOn(int index, delegate*<ulong, void> work, ulong argument, ulong timeoutMs)
    {
        if (index == PerCpus.CurrentIndex)
        {
            work(argument);
            return true;
        }
        int request = Post(index, work, argument);
        return request != 0 && Wait(index, request, timeoutMs);
    }

    /// <summary>Runs <paramref name="work"/> on every online CPU at once, each with its own index
    /// as the argument (this CPU's share runs here while the others run theirs), and waits for
    /// all. False when a CPU did not take or finish its share within <paramref name="timeoutMs"/>.</summary>
    public static bool RunOnAll(delegate*<ulong, void> work, ulong timeoutMs)
    {
        int* requests = stackalloc int[PerCpus.MaxCpus];
        int self = PerCpus.CurrentIndex;
        bool ok = true;
        for (int i = 0; i < s_online; i++)
        {
            requests[i] = i == self ? 0 : Post(i, work, (ulong)i);
            if (i != self && requests[i] == 0) ok = false;
        }
        work((ulong)self);
        for (int i = 0; i < s_online; i++)
            if (i != self && requests[i] != 0 && !Wait(i, requests[i], timeoutMs)) ok = false;
        return ok;
    }

    /// <summary>test=apstackoverflow: CPU 1 recurses into its stack's guard page; the double
    /// fault, on CPU 1's own double-fault stack (x86-64: its IST1; i386: its double-fault task),
    /// reports it (status 7). Panics when there is no CPU 1 or it returns.</summary>
    public static void DeliberateApStackOverflow()
    {
        if (s_online < 2) KernelPanic.Fail("test=apstackoverflow: needs a second CPU (-smp 2)");
        TextWriter<SerialSink> w = Log.Writer();
        w.Str("test=apstackoverflow: cpu 1 recursing into its kernel stack guard page at ");
        w.Hex(PerCpus.Area(1)->StackGuard, PerCpus.AddressDigits);
        w.Line(", expecting a double fault");
        RunOn(1, &Overflow, 0, 30_000);
        KernelPanic.Fail("test=apstackoverflow: cpu 1 came back");
    }

    private static void Overflow(ulong unused) => DeliberateFaults.StackOverflowHere();
}
