using System.Runtime;
using SharpMM.Diagnostics;

namespace SharpMM.Kernel;

/// <summary>
/// Called by the exception stubs (isr.S) for every CPU exception (#DF: from the CPU's
/// double-fault task, on its own stack; a kernel stack overflow is reported with the guard-page
/// note, naming the CPU when it is not the boot CPU's stack) and the local APIC's interrupts
/// (vectors from 32 on: <see cref="Interrupts"/>). With several CPUs online a line
/// "  on cpu N of M" names the CPU that took the exception. A #PF
/// in the user half of a loaded user space goes to the library's fault handler first
/// (<see cref="DemandPaging"/>: resolved, the access runs again); one taken by an armed
/// <see cref="FaultProbe"/> resumes at the probe's fixup; anything else prints a report in the
/// x86-64 kernel's format (32-bit registers, 8 hex digits) and stops QEMU with
/// <see cref="ExitCode.CpuException"/> (status 7):
/// <code>
///   cpu exception: vector 14 #PF page fault, error=0x00000000 [not-present read supervisor]
///     EIP=0xc0102a16 CR2=0x00000000 note: null pointer dereference
///     ESP=0x... EFLAGS=0x... CS=0x... CR3=0x...
///     EAX=0x... EBX=0x... ECX=0x... EDX=0x...
///     ESI=0x... EDI=0x... EBP=0x...
///   backtrace: 0x... 0x...          (return addresses from the EBP chain, see Backtrace)
///   panic: unhandled cpu exception (0xe)
/// </code>
/// </summary>
internal static unsafe class ExceptionDispatcher
{
    /// <summary>Vectors 0-31 are the CPU's exceptions; the local APIC's start at 239 (Interrupts).</summary>
    private const uint ExceptionVectors = 32;

    /// <summary>Set by the FS test: the next #BP records the frame's FS and the CPU the handler
    /// ran on (through FS), and returns instead of stopping.</summary>
    public static bool ExpectBreakpoint;
    /// <summary>The interrupted code's FS as the last expected #BP's frame held it.</summary>
    public static uint BreakpointFs;
    /// <summary>The CPU index the last expected #BP's handler read through FS.</summary>
    public static int BreakpointCpu;

    [RuntimeExport("isr_dispatch")]
    private static void Dispatch(InterruptFrame* frame)
    {
        if (frame->Vector >= ExceptionVectors)
        {
            Interrupts.Dispatch(frame);
            return;
        }
        if (frame->Vector == 3 && ExpectBreakpoint && (frame->Cs & 3) == 0)
        {
            ExpectBreakpoint = false;
            BreakpointFs = frame->Fs;
            BreakpointCpu = PerCpus.CurrentIndex;
            return;
        }
        uint cr2 = Arch.ReadCr2();
        if ((frame->Cs & 3) != 0)
        {
            UserFaults.Handle(frame, cr2);
            return;
        }
        if (frame->Vector == 14 && Platform.Phantom && ObjectSpace.TryHandle(cr2, frame->ErrorCode)) return;
        if (frame->Vector == 14 && DemandPaging.TryHandle(frame, cr2)) return;
        if (frame->Vector == 14 && FaultProbe.TryHandle(frame, cr2)) return;
        TextWriter<SerialSink> w = X86Exceptions.BeginReport(frame->Vector, frame->ErrorCode, 8);
        w.Char(' ');
        Reg(ref w, "EIP", frame->Eip);
        Reg(ref w, "CR2", cr2);
        if (frame->Vector == 14) WriteNote(ref w, frame->ErrorCode, cr2);
        if (frame->Vector == 8 && KernelStack.IsGuard(cr2)) w.Str(" note: kernel stack overflow (guard page)");
        else if (frame->Vector == 8 && PerCpus.StackGuardOwner(cr2, out int cpu))
        {
            w.Str(" note: cpu ");
            w.Dec((ulong)cpu);
            w.Str(" kernel stack overflow (guard page)");
        }
        w.Line();
        w.Char(' ');
        // The interrupted code's esp: just above the CPU's three words (no privilege change);
        // for #DF the interrupted task's, which df_entry stored in the frame.
        Reg(ref w, "ESP", frame->Vector == 8 ? frame->Esp : (uint)((byte*)frame + sizeof(InterruptFrame)));
        Reg(ref w, "EFLAGS", frame->Eflags); Reg(ref w, "CS", frame->Cs); Reg(ref w, "CR3", Arch.ReadCr3());
        w.Line();
        w.Char(' ');
        Reg(ref w, "EAX", frame->Eax); Reg(ref w, "EBX", frame->Ebx); Reg(ref w, "ECX", frame->Ecx); Reg(ref w, "EDX", frame->Edx);
        w.Line();
        w.Char(' ');
        Reg(ref w, "ESI", frame->Esi); Reg(ref w, "EDI", frame->Edi); Reg(ref w, "EBP", frame->Ebp);
        w.Line();
        if (Smp.Online > 1)
        {
            w.Str("  on cpu ");
            w.Dec((ulong)PerCpus.CurrentIndex);
            w.Str(" of ");
            w.Dec((ulong)Smp.Online);
            w.Line();
        }
        // The callers of the faulting method (kernel/qemu.sh names them, and EIP, with addr2line).
        Backtrace.Write(ref w, frame->Ebp);
        KernelPanic.Stop("unhandled cpu exception", frame->Vector, true, ExitCode.CpuException);
    }

    /// <summary>What CR2 points at, when the kernel knows: page 0, the kernel stack's guard page,
    /// kernel text or rodata.</summary>
    private static void WriteNote(ref TextWriter<SerialSink> w, uint error, uint cr2)
    {
        ulong text = Arch.KernelVirtualBase + KernelImage.Start, rodata = Arch.KernelVirtualBase + KernelImage.RodataStart;
        ulong data = Arch.KernelVirtualBase + KernelImage.DataStart;
        if (cr2 < 4096) w.Str(" note: null pointer dereference");
        else if (KernelStack.IsGuard(cr2)) w.Str(" note: kernel stack guard page");
        else if (PerCpus.StackGuardOwner(cr2, out int cpu))
        {
            w.Str(" note: cpu ");
            w.Dec((ulong)cpu);
            w.Str(" kernel stack guard page");
        }
        else if ((error & 3) == 3 && cr2 >= text && cr2 < rodata) w.Str(" note: write to kernel text (read-only)");
        else if ((error & 3) == 3 && cr2 >= rodata && cr2 < data) w.Str(" note: write to kernel rodata (read-only)");
        else if ((error & 0x11) == 0x11) w.Str(" note: instruction fetch from a no-execute page");
    }

    private static void Reg(ref TextWriter<SerialSink> w, string name, uint value)
    {
        w.Char(' ');
        w.Str(name);
        w.Char('=');
        w.Hex(value, 8);
    }
}
