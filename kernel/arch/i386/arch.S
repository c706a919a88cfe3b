/*
 * Small instruction wrappers reached from C# through
 *   [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_xxx")] static extern ...
 * Managed x86 calling convention (what ilc generates for these calls): the first two 32-bit
 * arguments in ecx and edx; 64-bit arguments and the rest on the stack, pushed left to right
 * (the last argument lowest) and popped by the callee (ret $n); results in eax, 64-bit ones in
 * edx:eax. Each one is a leaf that touches only eax, ecx, edx.
 */
    .text
    .code32

.ifndef KERNEL_VMA
.equ KERNEL_VMA, 0xC0000000            /* layout=higher-half; build.sh gives 0x80000000 for low-2g */
.endif
.ifndef DIRECT_MAP_END
.equ DIRECT_MAP_END, 0xF8000000
.endif

    .macro FUNC name
    .global \name
    .type \name, @function
\name:
    .endm

/* void arch_outb(ushort port, byte value) */
FUNC arch_outb
    mov     %edx, %eax
    mov     %ecx, %edx
    outb    %al, %dx
    ret

/* byte arch_inb(ushort port) */
FUNC arch_inb
    mov     %ecx, %edx
    xor     %eax, %eax
    inb     %dx, %al
    ret

/* void arch_outl(ushort port, uint value) */
FUNC arch_outl
    mov     %edx, %eax
    mov     %ecx, %edx
    outl    %eax, %dx
    ret

FUNC arch_read_cr0
    mov     %cr0, %eax
    ret
FUNC arch_read_cr2
    mov     %cr2, %eax
    ret
/* The caller's frame pointer (its ebp: ilc's x86 code keeps ebp frames), for backtraces. */
FUNC arch_frame_pointer
    mov     %ebp, %eax
    ret
FUNC arch_read_cr3
    mov     %cr3, %eax
    ret
FUNC arch_read_cr4
    mov     %cr4, %eax
    ret
/* void arch_write_cr3(uint) */
FUNC arch_write_cr3
    mov     %ecx, %cr3
    ret
/* void arch_write_cr4(uint) */
FUNC arch_write_cr4
    mov     %ecx, %cr4
    ret

/* void arch_invlpg(uint virt) */
FUNC arch_invlpg
    invlpg  (%ecx)
    ret

/* ulong arch_rdtsc(): edx:eax, after the earlier instructions completed (lfence needs SSE2) */
FUNC arch_rdtsc
    lfence
    rdtsc
    ret

FUNC arch_hlt
    hlt
    ret
FUNC arch_cli
    cli
    ret
FUNC arch_pause
    pause
    ret

/* Kernel image bounds as physical addresses (ulong: edx = 0). */
FUNC arch_kernel_start
    mov     $(__kernel_start - KERNEL_VMA), %eax
    xor     %edx, %edx
    ret
FUNC arch_kernel_end
    mov     $(__kernel_end - KERNEL_VMA), %eax
    xor     %edx, %edx
    ret
FUNC arch_text_end
    mov     $(__text_end - KERNEL_VMA), %eax
    xor     %edx, %edx
    ret
FUNC arch_rodata_start
    mov     $(__rodata_start - KERNEL_VMA), %eax
    xor     %edx, %edx
    ret
FUNC arch_data_start
    mov     $(__data_start - KERNEL_VMA), %eax
    xor     %edx, %edx
    ret
FUNC arch_boot_tsc
    mov     boot_tsc, %eax
    mov     boot_tsc + 4, %edx
    ret
/* Virtual addresses. */
FUNC arch_boot_pd
    mov     $boot_pd, %eax
    ret
/* Where the image is linked: 0xC0000000 (higher half), 0x80000000 (low-2g) or 0 (phantom);
   where the direct map of low memory ends (0xF8000000, phantom 0x40000000). */
FUNC arch_kernel_vma
    mov     $KERNEL_VMA, %eax
    ret
FUNC arch_direct_map_end
    mov     $DIRECT_MAP_END, %eax
    ret
/* The boot stub's PAE directory-pointer table (virtual); 1/0: PAE paging on, EFER.NXE set. */
FUNC arch_boot_pdpt
    mov     $boot_pdpt, %eax
    ret
FUNC arch_boot_pae
    mov     boot_pae, %eax
    ret
FUNC arch_boot_nx
    mov     boot_nx, %eax
    ret
FUNC arch_free_ram
    mov     $__free_ram, %eax
    ret
FUNC arch_free_ram_end
    mov     $__free_ram_end, %eax
    ret
FUNC arch_rtr_header
    mov     $__ReadyToRunHeader, %eax
    ret
FUNC arch_gc_statics_storage
    mov     $gc_statics_storage, %eax
    ret
FUNC arch_gc_statics_storage_end
    mov     $gc_statics_storage_end, %eax
    ret

/*
 * void arch_run_on_stack(uint top): moves esp to `top` (ecx; the first byte above the new stack)
 * and calls kmain_stage2 (KernelMain.cs) there with an empty frame chain. kmain_stage2 does not
 * return; if it does, the kernel stops through the exit device (status 9).
 */
FUNC arch_run_on_stack
    mov     %ecx, %esp
    xor     %ebp, %ebp
    call    kmain_stage2
    mov     $0xF4, %dx
    mov     $0x04, %eax
    outl    %eax, %dx
1:  cli
    hlt
    jmp     1b

/*
 * Fault probes (FaultProbe.cs): one access that may fault, with a fixup. When the access faults
 * with a #PF while the probe is armed, the dispatcher records CR2 and the error code and
 * resumes at the probe's fixup instead of reporting. Return: 0 the access completed, 1 it
 * faulted.
 *
 *   int arch_probe_read(ulong addr, ulong* value)   addr at 4(%esp), value in ecx; reads 8 bytes
 *   int arch_probe_write(ulong addr, ulong value)   value at 4(%esp), addr at 12(%esp)
 *   int arch_probe_exec(ulong addr)                 addr at 4(%esp); calls it (it must hold a ret)
 *
 * Each 8-byte access is one instruction (movq through xmm0), so a fault is always at the label.
 * A fetch fault has EIP = addr with the return address already pushed by the call:
 * arch_probe_exec_fixup drops it.
 */
FUNC arch_probe_read
    mov     4(%esp), %eax
    .global arch_probe_read_insn
arch_probe_read_insn:
    movq    (%eax), %xmm0
    movq    %xmm0, (%ecx)
    xor     %eax, %eax
    ret     $8
FUNC arch_probe_read_fixup
    mov     $1, %eax
    ret     $8

FUNC arch_probe_write
    movq    4(%esp), %xmm0
    mov     12(%esp), %eax
    .global arch_probe_write_insn
arch_probe_write_insn:
    movq    %xmm0, (%eax)
    xor     %eax, %eax
    ret     $16
FUNC arch_probe_write_fixup
    mov     $1, %eax
    ret     $16

FUNC arch_probe_exec
    call    *4(%esp)
    xor     %eax, %eax
    ret     $8
FUNC arch_probe_exec_fixup
    add     $4, %esp
    mov     $1, %eax
    ret     $8

/* Addresses of the probe labels (ulong), for the dispatcher's comparison with the faulting EIP. */
FUNC arch_probe_read_insn_addr
    mov     $arch_probe_read_insn, %eax
    xor     %edx, %edx
    ret
FUNC arch_probe_write_insn_addr
    mov     $arch_probe_write_insn, %eax
    xor     %edx, %edx
    ret
FUNC arch_probe_read_fixup_addr
    mov     $arch_probe_read_fixup, %eax
    xor     %edx, %edx
    ret
FUNC arch_probe_write_fixup_addr
    mov     $arch_probe_write_fixup, %eax
    xor     %edx, %edx
    ret
FUNC arch_probe_exec_fixup_addr
    mov     $arch_probe_exec_fixup, %eax
    xor     %edx, %edx
    ret

    .section .note.GNU-stack, "", @progbits
