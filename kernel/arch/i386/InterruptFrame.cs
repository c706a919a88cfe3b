using System.Runtime.InteropServices;

namespace SharpMM.Kernel;

/// <summary>
/// What the exception stubs (isr.S) leave on the stack, lowest address first: the general
/// registers pusha saved, the vector and error code the stub pushed (0 when the CPU pushes
/// none), then the CPU's frame (ring 0 to ring 0: no ESP/SS). For #DF, df_entry builds the
/// same layout from the state the task switch saved. Writing a field changes the
/// register (or the return EIP) the interrupted code resumes with.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct InterruptFrame
{
    /// <summary>Esp: pusha's copy (not the interrupted esp) for the interrupt gates; for #DF the
    /// interrupted task's esp (df_entry copies it from main_tss).</summary>
    public uint Edi, Esi, Ebp, Esp, Ebx, Edx, Ecx, Eax;
    public uint Vector;
    public uint ErrorCode;
    public uint Eip, Cs, Eflags;

    /// <summary>The return address, by the name shared code uses on every architecture.</summary>
    public ulong InstructionPointer { readonly get => Eip; set => Eip = (uint)value; }
}
