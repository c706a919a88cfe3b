/*
 * Several CPUs on i386: the application processors' way from the start-up IPI into managed
 * code, the per-CPU areas behind FS, and the few instructions SMP code needs (MMIO, sti;hlt).
 *
 * AP start-up (ApStartup.cs copies the trampoline to a page below 1 MiB, fills its parameters
 * and sends INIT-SIPI-SIPI with vector = the page number, so the AP starts in real mode at
 * CS = page << 8, IP = 0):
 *
 *   real mode    DS = CS; EBX = the page's physical address; patches the GDT base and the
 *                far-jump target into the page (every AP writes the same values); lgdt the
 *                page's GDT; CR0.PE; far jump to 32-bit code
 *   protected    CR4 = the boot CPU's (PSE or PAE, OSFXSR, OSXMMEXCPT); EFER.NXE when the boot
 *                CPU set it (PAE entries then carry XD); CR3 = the trampoline's root (the kernel's
 *                entries with the first 4 MiB, or 2 MiB under PAE, identity-mapped by one large
 *                page: the trampoline must survive the switch to paging); CR0.PG|WP|MP|NE, EM off;
 *                EDI = the AP's per-CPU area, EAX = the kernel's CR3; jump to ap_entry in the image
 *   ap_entry     CR3 = the kernel's tables; lgdt the area's GDT (its own TSS, double-fault TSS,
 *                TLS entry and per-CPU segment), lidt the shared IDT, ltr; FS = 0x40 (base: the
 *                area); ESP = the AP's kernel stack; call ap_main (Smp.cs), which never returns
 *
 * Parameter block (offsets from the page start; ApStartup.cs writes them):
 *   +4 trampoline CR3   +8 kernel CR3   +12 ap_entry   +16 per-CPU area   +20 CR4
 *   +24 1: set EFER.NXE   +28 GDTR   +36 far pointer   +48 GDT (3 entries)
 */
    .equ CR0_PE, (1 << 0)
    .equ CR0_MP, (1 << 1)
    .equ CR0_EM, (1 << 2)
    .equ CR0_NE, (1 << 5)
    .equ CR0_WP, (1 << 16)
    .equ CR0_PG, (1 << 31)
    .equ MSR_EFER, 0xC0000080
    .equ EFER_NXE, (1 << 11)
    .equ PERCPU_SELF, 0                 /* PerCpu.cs */
    .equ PERCPU_INDEX, 4
    .equ PERCPU_TSS, 12
    .equ PERCPU_GDT, 16
    .equ PERCPU_GDT_DESC, 20
    .equ PERCPU_STACK_TOP, 32
    .equ PERCPU_SIZE, 512
    .equ MAX_CPUS, 15                   /* PerCpus.MaxCpus */
    .equ PERCPU_SELECTOR, 0x40          /* GDT entry 8 (boot.S) */

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
    .skip   2
t_cr3:      .long 0                     /* +4 */
t_kcr3:     .long 0                     /* +8 */
t_entry:    .long 0                     /* +12 */
t_percpu:   .long 0                     /* +16 */
t_cr4:      .long 0                     /* +20 */
t_nx:       .long 0                     /* +24 */
t_gdtr:     .word t_gdt_end - t_gdt - 1 /* +28 */
            .long 0                     /* +30 base, patched in real mode */
            .word 0
t_pm32:     .long 0                     /* +36 offset, patched */
            .word 0x08
            .skip 6
t_gdt:      .quad 0                     /* +48 */
            .quad 0x00CF9A000000FFFF    /* 0x08 32-bit code */
            .quad 0x00CF92000000FFFF    /* 0x10 data */
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
    mov     (t_cr4 - ap_trampoline_start)(%ebx), %eax
    mov     %eax, %cr4
    cmpl    $0, (t_nx - ap_trampoline_start)(%ebx)
    je      1f
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $EFER_NXE, %eax
    wrmsr
1:  mov     (t_cr3 - ap_trampoline_start)(%ebx), %eax
    mov     %eax, %cr3
    mov     %cr0, %eax
    and     $~CR0_EM, %eax
    or      $(CR0_PE | CR0_MP | CR0_NE | CR0_WP | CR0_PG), %eax
    mov     %eax, %cr0
    mov     (t_percpu - ap_trampoline_start)(%ebx), %edi
    mov     (t_kcr3 - ap_trampoline_start)(%ebx), %eax
    jmp     *(t_entry - ap_trampoline_start)(%ebx)
ap_trampoline_end:

    .if (t_cr3 - ap_trampoline_start) != 4 || (t_nx - ap_trampoline_start) != 24 || (t_gdt - ap_trampoline_start) != 48
    .error "AP trampoline parameter offsets changed: update ApStartup.cs"
    .endif

/* ---------------------------------------------------------------------------------------- */
    .text
    .code32

/* The AP in the kernel's image, still on the trampoline's root (EDI = its area, EAX = the
   kernel's CR3); never returns. */
ap_entry:
    mov     %eax, %cr3
    lgdt    PERCPU_GDT_DESC(%edi)
    lidt    idt_ptr
    ljmp    $0x08, $1f
1:  mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     %ax, %gs
    mov     $PERCPU_SELECTOR, %ax
    mov     %ax, %fs
    mov     $0x18, %ax
    ltr     %ax
    mov     PERCPU_STACK_TOP(%edi), %esp
    xor     %ebp, %ebp
    fninit
    mov     %edi, %ecx
    call    ap_main
2:  cli
    hlt
    jmp     2b

FUNC arch_ap_trampoline_start
    mov     $ap_trampoline_start, %eax
    ret
FUNC arch_ap_trampoline_end
    mov     $ap_trampoline_end, %eax
    ret
FUNC arch_ap_entry
    mov     $ap_entry, %eax
    ret
FUNC arch_percpu_areas
    mov     $percpu_areas, %eax
    ret
/* ulong* arch_gdt(): the boot CPU's GDT (boot.S). */
FUNC arch_gdt
    mov     $gdt, %eax
    ret
/* byte* arch_boot_tss(): the boot CPU's TSS (isr.S). */
FUNC arch_boot_tss
    mov     $main_tss, %eax
    ret
/* uint arch_df_entry(): where a double-fault task starts (isr.S). */
FUNC arch_df_entry
    mov     $df_entry, %eax
    ret

/* void arch_load_percpu_segment(): FS = the per-CPU selector (its GDT entry was just written). */
FUNC arch_load_percpu_segment
    mov     $PERCPU_SELECTOR, %ax
    mov     %ax, %fs
    ret

/* PerCpu* arch_percpu(void): this CPU's area (its Self field, through FS). */
FUNC arch_percpu
    mov     %fs:PERCPU_SELF, %eax
    ret

/* int arch_cpu_index(void): this CPU's index, from its per-CPU area (FS). */
FUNC arch_cpu_index
    mov     %fs:PERCPU_INDEX, %eax
    ret

/* void arch_sti_hlt(void): enables interrupts and halts in one step (sti's one-instruction
   shadow: an interrupt pending at the sti wakes the hlt instead of slipping in between);
   returns with interrupts enabled after the interrupt that woke it. */
FUNC arch_sti_hlt
    sti
    hlt
    ret

FUNC arch_sti
    sti
    ret

/* uint arch_mmio_read32(ulong va): va at 4(%esp). void arch_mmio_write32(ulong va, uint v):
   v in ecx, va at 4(%esp). Device registers (the upper half of va is 0). */
FUNC arch_mmio_read32
    mov     4(%esp), %eax
    mov     (%eax), %eax
    ret     $8
FUNC arch_mmio_write32
    mov     4(%esp), %eax
    mov     %ecx, (%eax)
    ret     $8

/* uint arch_fs_across_int3(uint selector): FS = selector (ecx), int3 (the exception path saves
   that FS in the frame and runs the handler with the per-CPU one), then returns the FS the
   trap's way out left, and loads the per-CPU selector again. For the FS test (ArchTests). */
FUNC arch_fs_across_int3
    mov     %cx, %fs
    int3
    xor     %eax, %eax
    mov     %fs, %ax
    mov     $PERCPU_SELECTOR, %cx
    mov     %cx, %fs
    ret

/* ulong arch_stack_pointer(void): the caller's ESP (after the call returns). */
FUNC arch_stack_pointer
    lea     4(%esp), %eax
    xor     %edx, %edx
    ret

    .bss
    .balign 64
    .global percpu_areas
percpu_areas:
    .skip   PERCPU_SIZE * MAX_CPUS

    .section .note.GNU-stack, "", @progbits
