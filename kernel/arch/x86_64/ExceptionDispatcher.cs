using System.Runtime;
using SharpMM.Diagnostics;
using SharpMM.User;

namespace SharpMM.Kernel;

/// <summary>
/// Called by the exception stubs for every CPU exception. Prints a report and stops QEMU with
/// <see cref="ExitCode.CpuException"/> (status 7). The report's format is fixed (test.sh greps it):
/// <code>
///   cpu exception: vector 14 #PF page fault, error=0x0000000000000000 [not-present read supervisor]
///     RIP=0x0000000000102a16 CR2=0x0000000000000000 note: null pointer dereference
///     RSP=0x... RFLAGS=0x... CS=0x... CR3=0x...
///     RAX=0x... RBX=0x... RCX=0x... RDX=0x...
///     RSI=0x... RDI=0x... RBP=0x... R8=0x...
///     R9=0x... R10=0x... R11=0x... R12=0x...
///     R13=0x... R14=0x... R15=0x...
///   panic: unhandled cpu exception (0xe)
/// </code>
/// Every register is "NAME=0x" and 16 lowercase hex digits. With several CPUs a line
/// "  on cpu N of M" names the CPU that took the exception. CR2 (the faulting address) is printed
/// for every vector, meaningful for #PF. The "note:" names a null dereference (CR2 below 4 KiB),
/// a kernel or boot stack overflow (CR2 in a guard page; reported as #DF, taken on the IST stack),
/// a touch of a guard page (#PF), a write to kernel text or rodata and an instruction fetch from a
/// no-execute page (WriteNote). Map RIP to source with
/// <c>addr2line -f -e kernel/build/x86_64/sharpmm.elf 0xRIP</c>.
///
/// The exceptions that return: #BP (int3) while <see cref="ExpectBreakpoint"/> is set, used
/// by the IDT self-test to check that a trap comes back with every register intact, a #PF in
/// the user half of the loaded test address space that the library's fault handler resolves
/// (<see cref="DemandPaging"/>: the access runs again), and a #PF taken by an armed
/// <see cref="FaultProbe"/> (resumed at the probe's fixup). A fault the library refuses and no
/// probe takes is reported with "note: user memory refused it: KIND".
/// </summary>
internal static unsafe class ExceptionDispatcher
{
    /// <summary>Set by the IDT test: the next #BP counts and returns instead of stopping.</summary>
    public static bool ExpectBreakpoint;

    /// <summary>Number of expected #BP traps taken.</summary>
    public static int BreakpointCount;

    [RuntimeExport("isr_dispatch")]
    private static void Dispatch(InterruptFrame* frame)
    {
        if (frame->Vector >= Idt.ExceptionVectors)
        {
            Interrupts.Dispatch(frame);
            return;
        }
        if (frame->Vector == 3 && ExpectBreakpoint)
        {
            ExpectBreakpoint = false;
            BreakpointCount++;
            return;
        }

        ulong cr2 = Arch.ReadCr2();
        if ((frame->Cs & 3) != 0)
        {
            UserFaults.Handle(frame, cr2);
            return;
        }
        if (frame->Vector == 14 && DemandPaging.TryHandle(frame, cr2)) return;
        if (frame->Vector == 14 && FaultProbe.TryHandle(frame, cr2)) return;
        TextWriter<SerialSink> w = X86Exceptions.BeginReport(frame->Vector, frame->ErrorCode, 16);

        w.Char(' ');
        Reg(ref w, "RIP", frame->Rip);
        Reg(ref w, "CR2", cr2);
        if (frame->Vector == 14 || frame->Vector == 8) WriteNote(ref w, frame->Vector, frame->ErrorCode, cr2);
        w.Line();
        w.Char(' ');
        Reg(ref w, "RSP", frame->Rsp); Reg(ref w, "RFLAGS", frame->Rflags); Reg(ref w, "CS", frame->Cs); Reg(ref w, "CR3", Arch.ReadCr3());
        w.Line();
        w.Char(' ');
        Reg(ref w, "RAX", frame->Rax); Reg(ref w, "RBX", frame->Rbx); Reg(ref w, "RCX", frame->Rcx); Reg(ref w, "RDX", frame->Rdx);
        w.Line();
        w.Char(' ');
        Reg(ref w, "RSI", frame->Rsi); Reg(ref w, "RDI", frame->Rdi); Reg(ref w, "RBP", frame->Rbp); Reg(ref w, "R8", frame->R8);
        w.Line();
        w.Char(' ');
        Reg(ref w, "R9", frame->R9); Reg(ref w, "R10", frame->R10); Reg(ref w, "R11", frame->R11); Reg(ref w, "R12", frame->R12);
        w.Line();
        w.Char(' ');
        Reg(ref w, "R13", frame->R13); Reg(ref w, "R14", frame->R14); Reg(ref w, "R15", frame->R15);
        w.Line();
        if (Smp.Online > 1)
        {
            w.Str("  on cpu ");
            w.Dec((ulong)PerCpus.CurrentIndex);
            w.Str(" of ");
            w.Dec((ulong)Smp.Online);
            w.Line();
        }
        KernelPanic.Stop("unhandled cpu exception", frame->Vector, true, ExitCode.CpuException);
    }

    /// <summary>What CR2 points at, when the kernel knows: page 0, a guard page, kernel text, a
    /// no-execute page. A #PF that cannot push its frame (a stack overflow) arrives as #DF with CR2
    /// still set, hence "overflow" for #DF and "guard page" for a #PF.</summary>
    private static void WriteNote(ref TextWriter<SerialSink> w, ulong vector, ulong error, ulong cr2)
    {
        bool pf = vector == 14;
        if (pf && DemandPaging.RefusedAt(cr2))
        {
            w.Str(" note: user memory refused it: ");
            w.Str(SharpMM.User.FaultKindNames.Name(DemandPaging.LastResult.Kind));
        }
        else if (pf && cr2 < 4096) w.Str(" note: null pointer dereference");
        else if (KernelStack.IsGuard(cr2)) w.Str(pf ? " note: kernel stack guard page" : " note: kernel stack overflow (guard page)");
        else if (PerCpus.StackGuardOwner(cr2, out int cpu))
        {
            w.Str(" note: cpu ");
            w.Dec((ulong)cpu);
            w.Str(pf ? " kernel stack guard page" : " kernel stack overflow (guard page)");
        }
        else if (cr2 >= Arch.BootStackGuard() && cr2 < Arch.BootStackGuard() + 4096) w.Str(pf ? " note: boot stack guard page" : " note: boot stack overflow (guard page)");
        else if (pf && (error & 0x10) != 0) w.Str(" note: instruction fetch from a no-execute page");
        else if (pf && (error & 3) == 3 && cr2 >= KernelImage.ToVirt(KernelImage.Start) && cr2 < KernelImage.ToVirt(KernelImage.RodataStart)) w.Str(" note: write to kernel text (read-only)");
        else if (pf && (error & 3) == 3 && cr2 >= KernelImage.ToVirt(KernelImage.RodataStart) && cr2 < KernelImage.ToVirt(KernelImage.DataStart)) w.Str(" note: write to kernel rodata (read-only)");
    }

    private static void Reg(ref TextWriter<SerialSink> w, string name, ulong value)
    {
        w.Char(' ');
        w.Str(name);
        w.Char('=');
        w.Hex(value, 16);
    }
}
