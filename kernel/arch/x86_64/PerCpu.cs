using System.Runtime.InteropServices;

namespace SharpMM.Kernel;

/// <summary>
/// One CPU's area, the one its GS base points at while it runs the kernel (smp.S reserves
/// <see cref="PerCpus.MaxCpus"/> of them, 512 bytes each). Assembly reads fields by offset:
/// <code>
///   +0   KernelStackTop   syscall_entry: the running process's kernel stack top (also TSS.RSP0)
///   +8   UserRspScratch   syscall_entry: the user RSP until it is in the frame
///   +16  Self             arch_percpu: the area's own address (mov %gs:16)
///   +24  Index            arch_cpu_index: 0 for the boot CPU, 1.. for the others in MADT order
///   +32  GdtDescriptor    ap_entry64: lgdt (limit, base of <see cref="Gdt"/>)
///   +48  IdtDescriptor    ap_entry64: lidt (the one IDT every CPU shares)
/// </code>
/// The rest is the kernel's C#: an AP's own GDT (a copy of the boot CPU's with its own TSS
/// descriptor) and TSS (IST1 for #DF/NMI, RSP0), its stacks, and the mailbox through which
/// another CPU hands it work (<see cref="Smp.RunOn"/>).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 512)]
internal unsafe struct PerCpu
{
    [FieldOffset(0)] public ulong KernelStackTop;
    [FieldOffset(8)] public ulong UserRspScratch;
    [FieldOffset(16)] public ulong Self;
    [FieldOffset(24)] public int Index;
    /// <summary>The local APIC ID (the destination of IPIs to this CPU).</summary>
    [FieldOffset(28)] public uint ApicId;
    [FieldOffset(32)] public ushort GdtLimit;
    [FieldOffset(34)] public ulong GdtBase;
    [FieldOffset(48)] public ushort IdtLimit;
    [FieldOffset(50)] public ulong IdtBase;
    /// <summary>GDT: the boot CPU's seven entries, the TSS descriptor pointing at <see cref="Tss"/>.</summary>
    [FieldOffset(64)] public fixed ulong Gdt[PerCpus.GdtEntries];
    /// <summary>The 104-byte 64-bit TSS: RSP0 at +4, IST1 at +36, I/O map base at +102.</summary>
    [FieldOffset(128)] public fixed byte Tss[104];
    /// <summary>The kernel stack: [StackTop - KernelStack.Size, StackTop), the guard page below.</summary>
    [FieldOffset(240)] public ulong StackTop;
    [FieldOffset(248)] public ulong StackGuard;
    /// <summary>The IST1 stack's top (#DF, NMI).</summary>
    [FieldOffset(256)] public ulong IstTop;

    // Mailbox (Smp.RunOn): the poster writes Work and Argument, then bumps Requested; the CPU
    // runs the work and sets Completed = Requested. One request at a time per CPU.
    [FieldOffset(264)] public delegate*<ulong, void> Work;
    [FieldOffset(272)] public ulong Argument;
    [FieldOffset(280)] public int Requested;
    [FieldOffset(284)] public int Completed;
    /// <summary>1 once the CPU runs its idle loop (set by the CPU itself).</summary>
    [FieldOffset(288)] public int Online;
    /// <summary>Request IPIs (vector 240) taken on this CPU.</summary>
    [FieldOffset(292)] public int IpisTaken;
    /// <summary>Local APIC timer interrupts taken on this CPU.</summary>
    [FieldOffset(296)] public int TimerTicks;
    /// <summary>The index read from GS inside the last request IPI's handler (the IPI test's witness).</summary>
    [FieldOffset(300)] public int IpiSeenOnCpu;
    /// <summary>Host-call requests (CpuRequest.HostCall) this CPU's handler ran.</summary>
    [FieldOffset(304)] public int HostCalls;
}
