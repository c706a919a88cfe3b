using System;
using SharpMM.Concurrency;

namespace SharpMM.Kernel;

/// <summary>
/// The interrupt vectors above the exceptions, all from the local APIC (the 8259 PICs are masked,
/// <see cref="Smp.Start"/>): the exception stubs' dispatcher hands them here.
/// <code>
///   239  LAPIC timer      counts a tick on this CPU, EOI
///   240  request IPI      EOI, counts it, notes the CPU it ran on (per-CPU register), then Cpu.ServiceRequests
///                         (the library's cross-CPU requests: TLB shootdown, cache drains); also
///                         wakes a CPU halted in its idle loop, which then looks at its mailbox
///                         (<see cref="Smp.RunOn"/>)
///   255  spurious         nothing (a spurious interrupt takes no EOI)
/// </code>
/// Interrupts are off in the kernel except where a CPU waits for them (the APs' idle loop, the
/// timer test), so these handlers never run in the middle of kernel code that holds state.
/// </summary>
internal static unsafe class Interrupts
{
    public const int TimerVector = 239, RequestVector = 240, SpuriousVector = 255;

    /// <summary>The vectors with a gate, in the order of isr.S's irq_stub_table.</summary>
    public static ReadOnlySpan<byte> Vectors => new byte[] { TimerVector, RequestVector, SpuriousVector };

    public static void Dispatch(InterruptFrame* frame)
    {
        PerCpu* cpu = PerCpus.Current;
        switch (frame->Vector)
        {
            case TimerVector:
                cpu->TimerTicks++;
                LocalApic.Eoi();
                return;
            case RequestVector:
                LocalApic.Eoi();
                cpu->IpisTaken++;
                cpu->IpiSeenOnCpu = PerCpus.CurrentIndex;
                Cpu.ServiceRequests();
                return;
            case SpuriousVector:
                return;
        }
        KernelPanic.Fail("interrupt: a vector without a handler", frame->Vector);
    }
}
