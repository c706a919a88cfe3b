using System.Runtime;
using System.Runtime.CompilerServices;

namespace SharpMM.Kernel;

/// <summary>
/// i386 instructions the managed code cannot express, each a few lines in arch.S, plus the
/// addresses the boot stub and the linker define. Every member is a direct call to an assembly
/// symbol, in the managed x86 calling convention (first two 32-bit arguments in ecx and edx,
/// the rest and every 64-bit one on the stack, popped by the callee; 64-bit results in edx:eax).
/// Kernel image addresses are physical (the image runs at <see cref="KernelVirtualBase"/> + phys).
/// </summary>
internal static unsafe class Arch
{
    /// <summary>Where the kernel's virtual addresses start, virtual = this + phys: 0xC0000000 for
    /// the higher half (sharpmm.elf), 0x80000000 for layout=low-2g (sharpmm-low-2g.elf); the
    /// link sets it (linker.ld, build.sh).</summary>
    public static uint KernelVirtualBase => KernelVma();

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_kernel_vma")] private static extern uint KernelVma();

    /// <summary>Where the direct map of low memory ends: 0xF8000000, or 0x40000000 for
    /// layout=phantom (the kernel heap's end); the link sets it (build.sh).</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_direct_map_end")] public static extern uint DirectMapEnd();

    public const uint Cr0PagingEnabled = 1U << 31;
    /// <summary>CR0.WP: supervisor writes honour read-only pages (boot.S sets it).</summary>
    public const uint Cr0WriteProtect = 1U << 16;
    /// <summary>CR4.PSE (4 MiB pages, boot.S sets it) and CR4.PGE (global pages).</summary>
    public const uint Cr4Pse = 1U << 4;
    public const uint Cr4Pge = 1U << 7;

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_outb")] public static extern void OutB(ushort port, byte value);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_inb")] public static extern byte InB(ushort port);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_outl")] public static extern void OutL(ushort port, uint value);

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_read_cr0")] public static extern uint ReadCr0();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_read_cr2")] public static extern uint ReadCr2();
    /// <summary>The calling method's frame pointer (ebp).</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_frame_pointer")] public static extern uint FramePointer();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_read_cr3")] public static extern uint ReadCr3();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_read_cr4")] public static extern uint ReadCr4();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_write_cr3")] public static extern void WriteCr3(uint value);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_write_cr4")] public static extern void WriteCr4(uint value);

    /// <summary>Drops the TLB entry for the page containing <paramref name="virt"/>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_invlpg")] public static extern void Invlpg(uint virt);

    /// <summary>The time-stamp counter.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_rdtsc")] public static extern ulong Rdtsc();

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_hlt")] public static extern void Hlt();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_cli")] public static extern void Cli();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_sti")] public static extern void Sti();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_pause")] public static extern void Pause();

    // Addresses defined by linker.ld and boot.S (kernel image: physical).
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_kernel_start")] public static extern ulong KernelStart();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_kernel_end")] public static extern ulong KernelEnd();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_text_end")] public static extern ulong TextEnd();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_rodata_start")] public static extern ulong RodataStart();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_data_start")] public static extern ulong DataStart();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_boot_tsc")] public static extern ulong BootTsc();
    /// <summary>The boot stub's page directory (virtual address, in .bss).</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_boot_pd")] public static extern uint* BootPageDirectory();
    /// <summary>The boot stub's PAE directory-pointer table (virtual address, in .bss; used with `pae`).</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_boot_pdpt")] public static extern ulong* BootPdpt();
    /// <summary>1 when the boot stub turned on PAE paging (`pae` on the command line), else 0.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_boot_pae")] public static extern uint BootPae();
    /// <summary>1 when the boot stub set EFER.NXE (PAE paging on a CPU with NX), else 0.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_boot_nx")] public static extern uint BootNx();
    /// <summary>The earliest allocator's region [__free_ram, __free_ram_end) (virtual addresses).</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_free_ram")] public static extern byte* FreeRam();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_free_ram_end")] public static extern byte* FreeRamEnd();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_rtr_header")] public static extern byte* ReadyToRunHeader();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_gc_statics_storage")] public static extern byte* GcStaticsStorage();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_gc_statics_storage_end")] public static extern byte* GcStaticsStorageEnd();

    /// <summary>Installs the double-fault task (isr.S) with the stack below <paramref name="stackTop"/>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "df_install")] public static extern void InstallDoubleFaultTask(uint stackTop);
    /// <summary>The directory the double-fault task switches to.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "df_set_cr3")] public static extern void SetDoubleFaultCr3(uint cr3);

    /// <summary>Moves to the stack below <paramref name="top"/> and calls kmain_stage2 there; never returns.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_run_on_stack")] public static extern void RunOnStack(uint top);

    // Fault probes (arch.S, FaultProbe.cs): 0 when the access completed, 1 when it faulted.
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_read")] public static extern int ProbeRead(ulong addr, ulong* value);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_write")] public static extern int ProbeWrite(ulong addr, ulong value);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_exec")] public static extern int ProbeExec(ulong addr);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_read_insn_addr")] public static extern ulong ProbeReadInsn();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_write_insn_addr")] public static extern ulong ProbeWriteInsn();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_read_fixup_addr")] public static extern ulong ProbeReadFixup();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_write_fixup_addr")] public static extern ulong ProbeWriteFixup();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_probe_exec_fixup_addr")] public static extern ulong ProbeExecFixup();
}
