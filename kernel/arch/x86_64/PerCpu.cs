using System.Runtime.InteropServices;

namespace SharpMM.Kernel;

/// <summary>
/// The per-CPU area GS points at while the CPU runs the kernel (syscall.S reserves one, for the
/// one CPU that runs today; each CPU gets its own when the others start). syscall_entry reads
/// the first two fields by offset: keep them where they are.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PerCpu
{
    /// <summary>+0: the running process's kernel stack top (also in TSS.RSP0).</summary>
    public ulong KernelStackTop;
    /// <summary>+8: the user RSP, saved by syscall_entry until it is in the frame.</summary>
    public ulong UserRspScratch;
    /// <summary>+16: the area's own address.</summary>
    public ulong Self;
}
