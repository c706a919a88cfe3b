using System.Runtime.InteropServices;

namespace SharpMM.Kernel;

/// <summary>
/// What the exception stubs (isr.S) leave on the stack, lowest address first: the general
/// registers isr_common pushed, the vector and error code the stub pushed (0 when the CPU pushes
/// none), then the CPU's interrupt frame. Writing a field changes the register (or the return
/// RIP) the interrupted code resumes with.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct InterruptFrame
{
    public ulong R15, R14, R13, R12, R11, R10, R9, R8;
    public ulong Rbp, Rdi, Rsi, Rdx, Rcx, Rbx, Rax;
    public ulong Vector;
    public ulong ErrorCode;
    public ulong Rip, Cs, Rflags, Rsp, Ss;

    /// <summary>The return address, by the name shared code uses on every architecture.</summary>
    public ulong InstructionPointer { readonly get => Rip; set => Rip = value; }

    /// <summary>The interrupted user stack pointer (a frame from ring 3).</summary>
    public ulong StackPointer { readonly get => Rsp; set => Rsp = value; }

    /// <summary>Where a system call's result goes (rax).</summary>
    public ulong SyscallResult { readonly get => Rax; set => Rax = value; }

    /// <summary>Makes this a ring-3 context: the user selectors, RFLAGS with IF clear (see UserMode).</summary>
    public void MakeUser()
    {
        Cs = UserMode.UserCodeSelector;
        Ss = UserMode.UserDataSelector;
        Rflags = 0x2;
    }
}
