/*
 * Small instruction wrappers reached from C# through
 *   [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_xxx")] static extern ...
 * System V AMD64 calling convention: arguments in rdi, rsi, rdx; result in rax.
 * Each one is a leaf that touches only the registers it names.
 */
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

/* Linker and boot-stub addresses, returned as values so C# needs no relocation tricks. */
FUNC arch_kernel_start
    lea     __kernel_start(%rip), %rax
    ret
FUNC arch_kernel_end
    lea     __kernel_end(%rip), %rax
    ret
FUNC arch_text_end
    lea     __text_end(%rip), %rax
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

    .section .note.GNU-stack, "", @progbits
