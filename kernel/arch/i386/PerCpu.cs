using System.Runtime.InteropServices;

namespace SharpMM.Kernel;

/// <summary>
/// One CPU's area on i386, the base of the per-CPU segment (GDT entry 8, selector 0x40) that FS
/// holds in ring 0 on every CPU (smp.S reserves <see cref="PerCpus.MaxCpus"/> of them, 512 bytes
/// each). User programs own GS for their TLS, so the kernel takes FS, as Linux i386 does: every
/// way into the kernel saves the interrupted FS in the frame and loads 0x40, every way out
/// restores it (isr.S). Assembly reads fields by offset:
/// <code>
///   +0   Self         arch_percpu: the area's own address (mov %fs:0)
///   +4   Index        arch_cpu_index: 0 for the boot CPU, 1.. for the others in MADT order
///   +12  TssAddress   arch_tss, df_entry: this CPU's TSS (ESP0; the state a double fault interrupted)
///   +16  GdtAddress   arch_gdt_tls: this CPU's GDT (its entry 7 is the running process's TLS)
///   +20  GdtLimit, GdtBase   ap_entry: lgdt
///   +32  StackTop     ap_entry: the initial ESP (low half)
/// </code>
/// The rest is the kernel's C#: an AP's own GDT (the boot CPU's entries with its own TSS,
/// double-fault TSS, TLS entry and per-CPU segment), TSS (ESP0), double-fault task, stacks, and
/// the mailbox through which another CPU hands it work (<see cref="Smp.RunOn"/>). The boot CPU
/// keeps boot.S's GDT and isr.S's two TSSes.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 512)]
internal unsafe struct PerCpu
{
    [FieldOffset(0)] public uint Self;
    [FieldOffset(4)] public int Index;
    /// <summary>The local APIC ID (the destination of IPIs to this CPU).</summary>
    [FieldOffset(8)] public uint ApicId;
    [FieldOffset(12)] public uint TssAddress;
    [FieldOffset(16)] public uint GdtAddress;
    [FieldOffset(20)] public ushort GdtLimit;
    [FieldOffset(22)] public uint GdtBase;
    /// <summary>The kernel stack: [StackTop - KernelStack.Size, StackTop), the guard page below.</summary>
    [FieldOffset(32)] public ulong StackTop;
    [FieldOffset(40)] public ulong StackGuard;
    /// <summary>The double-fault task's stack top.</summary>
    [FieldOffset(48)] public ulong DoubleFaultStackTop;

    // Mailbox (Smp.RunOn): the poster writes Work and Argument, then bumps Requested; the CPU
    // runs the work and sets Completed = Requested. One request at a time per CPU.
    [FieldOffset(56)] public delegate*<ulong, void> Work;
    [FieldOffset(64)] public ulong Argument;
    [FieldOffset(72)] public int Requested;
    [FieldOffset(76)] public int Completed;
    /// <summary>1 once the CPU runs its idle loop (set by the CPU itself).</summary>
    [FieldOffset(80)] public int Online;
    /// <summary>Request IPIs (vector 240) taken on this CPU.</summary>
    [FieldOffset(84)] public int IpisTaken;
    /// <summary>Local APIC timer interrupts taken on this CPU.</summary>
    [FieldOffset(88)] public int TimerTicks;
    /// <summary>The index read from FS inside the last request IPI's handler (the IPI test's witness).</summary>
    [FieldOffset(92)] public int IpiSeenOnCpu;
    /// <summary>Host-call requests (CpuRequest.HostCall) this CPU's handler ran.</summary>
    [FieldOffset(96)] public int HostCalls;
    /// <summary>kmap slots this CPU holds (Kmap: its own slots, taken as a stack).</summary>
    [FieldOffset(100)] public int KmapDepth;

    /// <summary>GDT (APs): boot.S's nine entries; 0x18 and 0x20 point at <see cref="Tss"/> and
    /// <see cref="DoubleFaultTss"/>, 0x38 (TLS) starts empty, 0x40's base is this area.</summary>
    [FieldOffset(128)] public fixed ulong Gdt[PerCpus.GdtEntries];
    /// <summary>The 104-byte 32-bit TSS: ESP0 at +4, SS0 at +8; a double fault saves the
    /// interrupted state here.</summary>
    [FieldOffset(208)] public fixed byte Tss[104];
    /// <summary>The double-fault task's TSS: EIP df_entry, its own stack, the kernel's CR3.</summary>
    [FieldOffset(320)] public fixed byte DoubleFaultTss[104];
}
