/*
 * Several CPUs: the application processors' way from the start-up IPI into managed code, the
 * per-CPU areas behind GS, and the few instructions SMP code needs (MMIO, sti;hlt).
 *
 * AP start-up (ApStartup.cs copies the trampoline to a page below 1 MiB, fills its parameters
 * and sends INIT-SIPI-SIPI with vector = the page number, so the AP starts in real mode at
 * CS = page << 8, IP = 0):
 *
 *   real mode    DS = CS; EBX = the page's physical address; patches the GDT base and the two
 *                far-jump targets into the page (idempotent: every AP writes the same values);
 *                lgdt the page's GDT; CR0.PE; far jump to 32-bit code
 *   protected    CR4.PAE|OSFXSR|OSXMMEXCPT; CR3 = the trampoline's root (below 4 GiB: the page
 *                identity-mapped by a 2 MiB page, the kernel half copied from the kernel's root);
 *                EFER.LME (+NXE when the CPU has NX); CR0.PG|WP|MP|NE; far jump to 64-bit code
 *   long mode    (still identity) RSP = the AP's kernel stack, RDI = its per-CPU area, RAX = the
 *                kernel's CR3; jump to ap_entry64 in the image (the kernel half is mapped)
 *   ap_entry64   CR3 = the kernel's tables; lgdt/lidt/ltr from the per-CPU area (its own GDT
 *                and TSS); GS base = the area; call ap_main (Smp.cs), which never returns
 *
 * Parameter block (offsets from the page start; ApStartup.cs writes them):
 *   +8 trampoline CR3   +16 kernel CR3   +24 ap_entry64   +32 stack top   +40 per-CPU area
 *   +48 EFER bits to set (LME, NXE)   +56 GDTR   +64 / +72 far pointers   +80 GDT (4 entries)
 */
    .equ CR0_PE, (1 << 0)
    .equ CR0_MP, (1 << 1)
    .equ CR0_EM, (1 << 2)
    .equ CR0_NE, (1 << 5)
    .equ CR0_WP, (1 << 16)
    .equ CR0_PG, (1 << 31)
    .equ CR4_PAE, (1 << 5)
    .equ CR4_OSFXSR, (1 << 9)
    .equ CR4_OSXMMEXCPT, (1 << 10)
    .equ MSR_EFER, 0xC0000080
    .equ MSR_GS_BASE, 0xC0000101
    .equ PERCPU_GDT_DESC, 32        /* PerCpu.cs */
    .equ PERCPU_IDT_DESC, 48
    .equ PERCPU_INDEX, 24
    .equ PERCPU_SELF, 16
    .equ PERCPU_SIZE, 512
    .equ MAX_CPUS, 16

    .macro FUNC name
    .global \name
    .type \name, @function
\name:
    .endm

/* ---------------------------------------------------------------------------------------- */
    .section .rodata
    .balign 16
    .global ap_trampoline_start, ap_trampoline_end
ap_trampoline_start:
    .code16
    .byte   0xEB, (ap_real - ap_trampoline_start - 2)   /* jmp short over the parameters */
    .skip   6
t_cr3:      .quad 0                     /* +8 */
t_kcr3:     .quad 0                     /* +16 */
t_entry:    .quad 0                     /* +24 */
t_stack:    .quad 0                     /* +32 */
t_percpu:   .quad 0                     /* +40 */
t_efer:     .quad 0                     /* +48 */
t_gdtr:     .word t_gdt_end - t_gdt - 1 /* +56 */
            .long 0                     /* +58 base, patched in real mode */
            .word 0
t_pm32:     .long 0                     /* +64 offset, patched */
            .word 0x08
            .word 0
t_lm64:     .long 0                     /* +72 offset, patched */
            .word 0x18
            .word 0
t_gdt:      .quad 0                     /* +80 */
            .quad 0x00CF9A000000FFFF    /* 0x08 32-bit code */
            .quad 0x00CF92000000FFFF    /* 0x10 data */
            .quad 0x00AF9A000000FFFF    /* 0x18 64-bit code */
t_gdt_end:

ap_real:
    cli
    cld
    mov     %cs, %ax
    mov     %ax, %ds
    xor     %ebx, %ebx
    mov     %cs, %bx
    shl     $4, %ebx
    leal    (t_gdt - ap_trampoline_start)(%ebx), %eax
    movl    %eax, (t_gdtr + 2 - ap_trampoline_start)
    leal    (ap_pm32 - ap_trampoline_start)(%ebx), %eax
    movl    %eax, (t_pm32 - ap_trampoline_start)
    leal    (ap_lm64 - ap_trampoline_start)(%ebx), %eax
    movl    %eax, (t_lm64 - ap_trampoline_start)
    lgdtl   (t_gdtr - ap_trampoline_start)
    mov     %cr0, %eax
    or      $CR0_PE, %eax
    mov     %eax, %cr0
    ljmpl   *(t_pm32 - ap_trampoline_start)

    .code32
ap_pm32:
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     %cr4, %eax
    or      $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    mov     %eax, %cr4
    mov     (t_cr3 - ap_trampoline_start)(%ebx), %eax
    mov     %eax, %cr3
    mov     $MSR_EFER, %ecx
    rdmsr
    or      (t_efer - ap_trampoline_start)(%ebx), %eax
    wrmsr
    mov     %cr0, %eax
    and     $~CR0_EM, %eax
    or      $(CR0_PE | CR0_MP | CR0_NE | CR0_WP | CR0_PG), %eax
    mov     %eax, %cr0
    ljmp    *(t_lm64 - ap_trampoline_start)(%ebx)

    .code64
ap_lm64:
    mov     %ebx, %ebx
    mov     (t_stack - ap_trampoline_start)(%rbx), %rsp
    mov     (t_percpu - ap_trampoline_start)(%rbx), %rdi
    mov     (t_kcr3 - ap_trampoline_start)(%rbx), %rax
    jmp     *(t_entry - ap_trampoline_start)(%rbx)
ap_trampoline_end:

    .if (t_cr3 - ap_trampoline_start) != 8 || (t_efer - ap_trampoline_start) != 48 || (t_gdt - ap_trampoline_start) != 80
    .error "AP trampoline parameter offsets changed: update ApStartup.cs"
    .endif

/* ---------------------------------------------------------------------------------------- */
    .text
    .code64

/* The AP in the kernel's image, still on the trampoline's root; never returns. */
ap_entry64:
    mov     %rax, %cr3
    lgdt    PERCPU_GDT_DESC(%rdi)
    lidt    PERCPU_IDT_DESC(%rdi)
    lea     1f(%rip), %rax
    pushq   $0x08
    push    %rax
    lretq
1:  mov     $0x10, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    xor     %eax, %eax
    mov     %eax, %fs
    mov     %eax, %gs
    mov     $0x28, %eax
    ltr     %ax
    mov     $MSR_GS_BASE, %ecx
    mov     %edi, %eax
    mov     %rdi, %rdx
    shr     $32, %rdx
    wrmsr
    xor     %ebp, %ebp
    fninit
    call    ap_main
2:  cli
    hlt
    jmp     2b

FUNC arch_ap_trampoline_start
    lea     ap_trampoline_start(%rip), %rax
    ret
FUNC arch_ap_trampoline_end
    lea     ap_trampoline_end(%rip), %rax
    ret
FUNC arch_ap_entry
    lea     ap_entry64(%rip), %rax
    ret
FUNC arch_percpu_areas
    lea     percpu_areas(%rip), %rax
    ret
FUNC arch_irq_stub_table
    lea     irq_stub_table(%rip), %rax
    ret
FUNC arch_gdt64
    lea     gdt64_rw(%rip), %rax
    ret

/* int arch_cpu_index(void): this CPU's index, from its per-CPU area (GS). */
FUNC arch_cpu_index
    mov     %gs:PERCPU_INDEX, %eax
    ret

/* void arch_sti_hlt(void): enables interrupts and halts in one step (sti's one-instruction
   shadow: an interrupt pending at the sti wakes the hlt instead of slipping in between);
   returns with interrupts enabled after the interrupt that woke it. */
FUNC arch_sti_hlt
    sti
    hlt
    ret

/* uint arch_mmio_read32(ulong va) / void arch_mmio_write32(ulong va, uint v): device registers. */
FUNC arch_mmio_read32
    mov     (%rdi), %eax
    ret
FUNC arch_mmio_write32
    mov     %esi, (%rdi)
    ret

/* ulong arch_stack_pointer(void): the caller's RSP (after the call returns). */
FUNC arch_stack_pointer
    lea     8(%rsp), %rax
    ret

    .bss
    .balign 64
    .global percpu_areas
percpu_areas:
    .skip   PERCPU_SIZE * MAX_CPUS

    .section .note.GNU-stack, "", @progbits
