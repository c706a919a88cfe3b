using System.Runtime;
using System.Runtime.CompilerServices;

namespace SharpMM.Kernel;

/// <summary>
/// x86-64 instructions the managed code cannot express, each a few lines in boot/arch.S
/// (port I/O, control registers, TLB, TSC, CPUID, interrupts) plus the addresses the boot stub
/// and the linker define. Every member is a direct call to an assembly symbol.
/// </summary>
internal static unsafe class Arch
{
    /// <summary>Where the kernel image runs: virtual = physical + this (the top 2 GiB; linker.ld,
    /// boot.S and arch.S spell it KERNEL_VMA, AddressSpaceLayout.X86_64 KernelVirtualOffset).
    /// Kernel image addresses from <see cref="KernelStart"/> and friends are physical.</summary>
    public const ulong KernelVirtualBase = 0xFFFF_FFFF_8000_0000UL;

    /// <summary>Where the boot stub maps physical memory (boot.S DIRECT_MAP_BASE): the start of
    /// AddressSpaceLayout.X86_64's direct-map region, <see cref="Platform.DirectMap"/>.</summary>
    public const ulong DirectMapBase = 0xFFFF_8880_0000_0000UL;

    /// <summary>CR0.WP, CR0.PG, CR4.PAE and friends, as the boot stub set them.</summary>
    public const ulong Cr0PagingEnabled = 1UL << 31;

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_outb")] public static extern void OutB(ushort port, byte value);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_inb")] public static extern byte InB(ushort port);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_outw")] public static extern void OutW(ushort port, ushort value);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_outl")] public static extern void OutL(ushort port, uint value);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_inl")] public static extern uint InL(ushort port);

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_read_cr0")] public static extern ulong ReadCr0();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_read_cr2")] public static extern ulong ReadCr2();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_read_cr3")] public static extern ulong ReadCr3();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_read_cr4")] public static extern ulong ReadCr4();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_write_cr0")] public static extern void WriteCr0(ulong value);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_write_cr3")] public static extern void WriteCr3(ulong value);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_write_cr4")] public static extern void WriteCr4(ulong value);

    /// <summary>Drops the TLB entry for the page containing <paramref name="virt"/>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_invlpg")] public static extern void Invlpg(ulong virt);

    /// <summary>The time-stamp counter (after an lfence, so earlier work has completed).</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_rdtsc")] public static extern ulong Rdtsc();

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_rdmsr")] public static extern ulong ReadMsr(uint msr);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_wrmsr")] public static extern void WriteMsr(uint msr, ulong value);

    /// <summary>IA32_EFER and its no-execute enable bit.</summary>
    public const uint MsrEfer = 0xC0000080;
    public const ulong EferNxe = 1UL << 11;
    /// <summary>CR0.WP: supervisor writes honour read-only pages (boot.S sets it).</summary>
    public const ulong Cr0WriteProtect = 1UL << 16;
    /// <summary>CR4.PSE (large pages; always on in long mode, set for clarity) and CR4.PGE (global pages).</summary>
    public const ulong Cr4Pse = 1UL << 4;
    public const ulong Cr4Pge = 1UL << 7;

    /// <summary>CPUID leaf/subleaf; writes eax, ebx, ecx, edx to <paramref name="regs"/>[0..3].</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_cpuid")] public static extern void CpuId(uint leaf, uint subleaf, uint* regs);

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_hlt")] public static extern void Hlt();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_cli")] public static extern void Cli();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_sti")] public static extern void Sti();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_pause")] public static extern void Pause();

    /// <summary>Loads IDTR from a 10-byte { limit, base } descriptor.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_lidt")] public static extern void Lidt(void* descriptor);

    /// <summary>Executes int3 (#BP); only the IDT self-test expects to come back.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_int3")] public static extern void Int3();

    // Addresses defined by linker.ld and boot/*.S.
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_kernel_start")] public static extern ulong KernelStart();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_kernel_end")] public static extern ulong KernelEnd();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_text_end")] public static extern ulong TextEnd();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_rodata_start")] public static extern ulong RodataStart();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_data_start")] public static extern ulong DataStart();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_bss_start")] public static extern ulong BssStart();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_boot_tsc")] public static extern ulong BootTsc();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_boot_pml4")] public static extern ulong* BootPml4();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_boot_pdpt")] public static extern ulong* BootPdpt();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_boot_pt0")] public static extern ulong* BootPt0();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_direct_map_pd_pool")] public static extern ulong* DirectMapPdPool();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_direct_map_pd_pool_end")] public static extern ulong* DirectMapPdPoolEnd();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_boot_stack_guard")] public static extern ulong BootStackGuard();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_boot_stack_top")] public static extern ulong BootStackTop();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_isr_stub_table")] public static extern ulong* IsrStubTable();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_idt_table")] public static extern byte* IdtTable();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_rtr_header")] public static extern byte* ReadyToRunHeader();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_gc_statics_storage")] public static extern byte* GcStaticsStorage();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_gc_statics_storage_end")] public static extern byte* GcStaticsStorageEnd();

    /// <summary>Moves to the stack below <paramref name="top"/> and calls kmain_stage2 there; never returns.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_run_on_stack")] public static extern void RunOnStack(ulong top);

    // Fault probes (boot/arch.S, FaultProbe.cs): 0 when the access completed, 1 when it faulted.
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_read")] public static extern int ProbeRead(ulong addr, ulong* value);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_write")] public static extern int ProbeWrite(ulong addr, ulong value);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_exec")] public static extern int ProbeExec(ulong addr);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_read_insn_addr")] public static extern ulong ProbeReadInsn();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_write_insn_addr")] public static extern ulong ProbeWriteInsn();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_fixup_addr")] public static extern ulong ProbeFixup();
    // Read and write share one fixup here (nothing to pop); i386 needs one each (ret $n).
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_fixup_addr")] public static extern ulong ProbeReadFixup();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_fixup_addr")] public static extern ulong ProbeWriteFixup();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_exec_fixup_addr")] public static extern ulong ProbeExecFixup();
}
