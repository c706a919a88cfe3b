using System.Runtime.InteropServices;

namespace SharpMM.Kernel;

/// <summary>
/// What the entry stubs (isr.S) leave on the stack, lowest address first: the data segment
/// registers, the general registers pusha saved, the vector and error code the stub pushed (0
/// when the CPU pushes none), then the CPU's frame: EIP, CS, EFLAGS, and from ring 3 also the
/// user's ESP and SS (<see cref="UserEsp"/>, <see cref="UserSs"/>: not there for a trap taken in
/// ring 0). For #DF, df_entry builds the same layout from the state the task switch saved.
/// Writing a field changes the register (or the return EIP) the interrupted code resumes with.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct InterruptFrame
{
    /// <summary>The interrupted code's segment registers (the kernel runs with its own loaded).</summary>
    public uint Gs, Fs, Es, Ds;
    /// <summary>Esp: pusha's copy (not the interrupted esp) for the interrupt gates; for #DF the
    /// interrupted task's esp (df_entry copies it from main_tss).</summary>
    public uint Edi, Esi, Ebp, Esp, Ebx, Edx, Ecx, Eax;
    public uint Vector;
    public uint ErrorCode;
    public uint Eip, Cs, Eflags;
    /// <summary>Pushed by the CPU only on a change of ring (from ring 3).</summary>
    public uint UserEsp, UserSs;

    /// <summary>The return address, by the name shared code uses on every architecture.</summary>
    public ulong InstructionPointer { readonly get => Eip; set => Eip = (uint)value; }

    /// <summary>The interrupted user stack pointer (a frame from ring 3).</summary>
    public ulong StackPointer { readonly get => UserEsp; set => UserEsp = (uint)value; }

    /// <summary>Where a system call's result goes (eax).</summary>
    public ulong SyscallResult { readonly get => Eax; set => Eax = (uint)value; }

    /// <summary>Makes this a ring-3 context: the user selectors in CS, SS, DS and ES (FS and GS
    /// null until the program loads its TLS selector), EFLAGS with IF clear (see UserMode).</summary>
    public void MakeUser()
    {
        Cs = UserMode.UserCodeSelector;
        UserSs = Ds = Es = UserMode.UserDataSelector;
        Fs = Gs = 0;
        Eflags = 0x2;
    }
}
