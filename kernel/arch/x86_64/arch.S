/*
 * Small instruction wrappers reached from C# through
 *   [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_xxx")] static extern ...
 * System V AMD64 calling convention: arguments in rdi, rsi, rdx; result in rax.
 * Each one is a leaf that touches only the registers it names.
 */
.equ KERNEL_VMA, 0xFFFFFFFF80000000     /* linker.ld, boot.S */

    .text
    .code64

    .macro FUNC name
    .global \name
    .type \name, @function
\name:
    .endm

/* void arch_outb(ushort port, byte value) */
FUNC arch_outb
    mov     %edi, %edx
    mov     %esi, %eax
    outb    %al, %dx
    ret

/* byte arch_inb(ushort port) */
FUNC arch_inb
    mov     %edi, %edx
    xor     %eax, %eax
    inb     %dx, %al
    ret

/* void arch_outw(ushort port, ushort value) */
FUNC arch_outw
    mov     %edi, %edx
    mov     %esi, %eax
    outw    %ax, %dx
    ret

/* void arch_outl(ushort port, uint value) */
FUNC arch_outl
    mov     %edi, %edx
    mov     %esi, %eax
    outl    %eax, %dx
    ret

/* uint arch_inl(ushort port) */
FUNC arch_inl
    mov     %edi, %edx
    inl     %dx, %eax
    ret

FUNC arch_read_cr0
    mov     %cr0, %rax
    ret
FUNC arch_read_cr2
    mov     %cr2, %rax
    ret
FUNC arch_read_cr3
    mov     %cr3, %rax
    ret
FUNC arch_read_cr4
    mov     %cr4, %rax
    ret
FUNC arch_write_cr0
    mov     %rdi, %cr0
    ret
FUNC arch_write_cr3
    mov     %rdi, %cr3
    ret
FUNC arch_write_cr4
    mov     %rdi, %cr4
    ret

/* void arch_invlpg(ulong virt) */
FUNC arch_invlpg
    invlpg  (%rdi)
    ret

/* ulong arch_rdtsc(void): lfence first so earlier instructions have finished. */
FUNC arch_rdtsc
    lfence
    rdtsc
    shl     $32, %rdx
    or      %rdx, %rax
    ret

/* ulong arch_rdmsr(uint msr) */
FUNC arch_rdmsr
    mov     %edi, %ecx
    rdmsr
    shl     $32, %rdx
    or      %rdx, %rax
    ret

/* void arch_wrmsr(uint msr, ulong value) */
FUNC arch_wrmsr
    mov     %edi, %ecx
    mov     %rsi, %rax
    mov     %rsi, %rdx
    shr     $32, %rdx
    wrmsr
    ret

/* void arch_cpuid(uint leaf, uint subleaf, uint* out4): eax, ebx, ecx, edx into out4[0..3] */
FUNC arch_cpuid
    push    %rbx
    mov     %rdx, %r8
    mov     %edi, %eax
    mov     %esi, %ecx
    cpuid
    mov     %eax, 0(%r8)
    mov     %ebx, 4(%r8)
    mov     %ecx, 8(%r8)
    mov     %edx, 12(%r8)
    pop     %rbx
    ret

FUNC arch_hlt
    hlt
    ret
FUNC arch_cli
    cli
    ret
FUNC arch_sti
    sti
    ret
FUNC arch_pause
    pause
    ret

/* void arch_lidt(void* descriptor): descriptor = { ushort limit; ulong base } */
FUNC arch_lidt
    lidt    (%rdi)
    ret

/* Linker and boot-stub addresses, returned as values so C# needs no relocation tricks. The
   image bounds are physical (KernelImage.cs: the image runs at KERNEL_VMA + these); every other
   symbol below is returned at its linked (virtual) address. */
FUNC arch_kernel_start
    mov     $(__kernel_start - KERNEL_VMA), %eax
    ret
FUNC arch_kernel_end
    mov     $(__kernel_end - KERNEL_VMA), %eax
    ret
FUNC arch_text_end
    mov     $(__text_end - KERNEL_VMA), %eax
    ret
FUNC arch_rodata_start
    mov     $(__rodata_start - KERNEL_VMA), %eax
    ret
FUNC arch_data_start
    mov     $(__data_start - KERNEL_VMA), %eax
    ret
FUNC arch_bss_start
    lea     __bss_start(%rip), %rax
    ret
FUNC arch_boot_tsc
    mov     boot_tsc(%rip), %rax
    ret
FUNC arch_boot_pdpt
    lea     boot_pdpt(%rip), %rax
    ret
FUNC arch_direct_map_pd_pool
    lea     direct_map_pd_pool(%rip), %rax
    ret
FUNC arch_direct_map_pd_pool_end
    lea     direct_map_pd_pool_end(%rip), %rax
    ret
FUNC arch_boot_stack_guard
    lea     boot_stack_guard(%rip), %rax
    ret
FUNC arch_boot_stack_top
    lea     boot_stack_top(%rip), %rax
    ret
FUNC arch_isr_stub_table
    lea     isr_stub_table(%rip), %rax
    ret
FUNC arch_rtr_header
    lea     __ReadyToRunHeader(%rip), %rax
    ret
FUNC arch_gc_statics_storage
    lea     gc_statics_storage(%rip), %rax
    ret
FUNC arch_gc_statics_storage_end
    lea     gc_statics_storage_end(%rip), %rax
    ret
FUNC arch_idt_table
    lea     idt_table(%rip), %rax
    ret

/* void arch_int3(void): raises #BP, which the IDT test expects to return from */
FUNC arch_int3
    int3
    ret

/* The boot PML4 (CR3 at kmain entry). */
FUNC arch_boot_pml4
    lea     boot_pml4(%rip), %rax
    ret
FUNC arch_boot_pt0
    lea     boot_pt0(%rip), %rax
    ret

/*
 * void arch_run_on_stack(ulong top): moves rsp to `top` (16-byte aligned, the first byte above
 * the new stack) and calls kmain_stage2 (KernelMain.cs) there with an empty frame chain. The
 * frames below on the old stack stay where they are. kmain_stage2 does not return; if it does,
 * the kernel stops through the exit device (status 9), like a kmain that returns.
 */
FUNC arch_run_on_stack
    mov     %rdi, %rsp
    xor     %ebp, %ebp
    call    kmain_stage2
    mov     $0xF4, %dx
    mov     $0x04, %eax
    outl    %eax, %dx
1:  cli
    hlt
    jmp     1b

/*
 * Fault probes: one access that may fault, with a fixup (the exception-table idea). When the
 * access faults with a #PF while FaultProbe.cs has armed the probe, the dispatcher records CR2
 * and the error code and resumes at the fixup instead of reporting. Return: 0 the access
 * completed, 1 it faulted.
 *
 *   int arch_probe_read(ulong addr, ulong* value)    reads 8 bytes at addr into *value
 *   int arch_probe_write(ulong addr, ulong value)    writes 8 bytes at addr
 *   int arch_probe_exec(ulong addr)                  calls addr (which must hold a ret)
 *
 * The faulting instruction of read and write is at arch_probe_read_insn / arch_probe_write_insn
 * (nothing pushed yet: the fixup just returns 1). A fetch fault has RIP = addr with the return
 * address already pushed by the call: arch_probe_exec_fixup drops it.
 */
FUNC arch_probe_read
    .global arch_probe_read_insn
arch_probe_read_insn:
    mov     (%rdi), %rcx
    mov     %rcx, (%rsi)
    xor     %eax, %eax
    ret

FUNC arch_probe_write
    .global arch_probe_write_insn
arch_probe_write_insn:
    mov     %rsi, (%rdi)
    xor     %eax, %eax
    ret

FUNC arch_probe_fixup
    mov     $1, %eax
    ret

FUNC arch_probe_exec
    call    *%rdi
    xor     %eax, %eax
    ret

FUNC arch_probe_exec_fixup
    add     $8, %rsp
    mov     $1, %eax
    ret

/* Addresses of the probe labels, for the dispatcher's comparison with the faulting RIP. */
FUNC arch_probe_read_insn_addr
    lea     arch_probe_read_insn(%rip), %rax
    ret
FUNC arch_probe_write_insn_addr
    lea     arch_probe_write_insn(%rip), %rax
    ret
FUNC arch_probe_fixup_addr
    lea     arch_probe_fixup(%rip), %rax
    ret
FUNC arch_probe_exec_fixup_addr
    lea     arch_probe_exec_fixup(%rip), %rax
    ret

    .section .note.GNU-stack, "", @progbits
