/*
 * Entry stubs for the 32 CPU exception vectors, the local APIC's three (239 timer, 240 request
 * IPI, 255 spurious: Interrupts.cs), the system call vector 0x80, and the IDT. Each stub makes
 * the stack uniform (pushes a 0 error code when the CPU pushes none, then the vector number) and
 * jumps to isr_common (syscall_entry for 0x80), which saves the segment and general registers
 * and the SSE state, loads the kernel's data segment (and FS = 0x40, the running CPU's per-CPU
 * area: PerCpus.cs) and calls the C# dispatcher
 *
 *   [RuntimeExport("isr_dispatch")] static void Dispatch(InterruptFrame* frame)   (frame in ecx)
 *   [RuntimeExport("syscall_dispatch")] Syscalls.Dispatch(InterruptFrame* frame)  (vector 0x80)
 *
 * Frame as the dispatcher sees it (InterruptFrame.cs), lowest address first:
 *
 *   frame -> gs fs es ds                              (the interrupted code's)
 *            edi esi ebp esp_unused ebx edx ecx eax   (pusha)
 *            vector  error_code                       (pushed by the stub)
 *            eip  cs  eflags                          (pushed by the CPU)
 *            esp  ss                                  (pushed by the CPU from ring 3 only)
 *
 * Below the frame isr_common reserves 512 bytes for fxsave, 16-byte aligned: the managed
 * dispatcher uses xmm registers, which must survive for the interrupted code. All gates but #DF's
 * are interrupt gates on the current stack.
 *
 * #DF (vector 8) is a task gate to selector 0x20, df_tss on the boot CPU (df_install), each
 * other CPU's own in its GDT (PerCpus.cs): the CPU switches to a separate stack and CR3 even
 * when the fault came from a stack that cannot take another push (a kernel stack overflow into
 * its guard page), saving the interrupted state in its TSS (main_tss on the boot CPU). df_entry
 * builds an InterruptFrame from that saved state and calls the dispatcher, which reports and stops.
 */
    .text
    .code32

    .equ PERCPU_SELECTOR, 0x40      /* GDT entry 8: base = the CPU's per-CPU area (boot.S, PerCpus.cs) */
    .equ PERCPU_TSS, 12             /* PerCpu.TssAddress */

    .macro ISR_NOERR n
isr_stub_\n:
    pushl   $0
    pushl   $\n
    jmp     isr_common
    .endm

    .macro ISR_ERR n
isr_stub_\n:
    pushl   $\n
    jmp     isr_common
    .endm

    ISR_NOERR 0
    ISR_NOERR 1
    ISR_NOERR 2
    ISR_NOERR 3
    ISR_NOERR 4
    ISR_NOERR 5
    ISR_NOERR 6
    ISR_NOERR 7
    ISR_ERR   8
    ISR_NOERR 9
    ISR_ERR   10
    ISR_ERR   11
    ISR_ERR   12
    ISR_ERR   13
    ISR_ERR   14
    ISR_NOERR 15
    ISR_NOERR 16
    ISR_ERR   17
    ISR_NOERR 18
    ISR_NOERR 19
    ISR_NOERR 20
    ISR_ERR   21
    ISR_NOERR 22
    ISR_NOERR 23
    ISR_NOERR 24
    ISR_NOERR 25
    ISR_NOERR 26
    ISR_NOERR 27
    ISR_NOERR 28
    ISR_ERR   29
    ISR_ERR   30
    ISR_NOERR 31

    /* The local APIC's vectors (Interrupts.cs): timer, request IPI, spurious. */
    ISR_NOERR 239
    ISR_NOERR 240
    ISR_NOERR 255

    /* Saves what the interrupted code had, loads the kernel's segments, calls \target with
       the frame (ecx) and the SSE state saved below it, and returns by iret. */
    .macro ENTRY_BODY target
    pusha
    push    %ds
    push    %es
    push    %fs
    push    %gs
    pushl   $0x2                    /* the kernel's EFLAGS: AC (a user's popf may set it; SMAP */
    popfl                           /* would be off), NT, DF and TF clear; the user's are in the frame */
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %gs
    mov     $PERCPU_SELECTOR, %ax   /* FS: this CPU's area (PerCpus.cs); the user's FS is in the frame */
    mov     %ax, %fs
    mov     %esp, %ebx              /* ebx is callee-saved: it still holds the frame after the call */
    and     $-16, %esp
    sub     $512, %esp
    fxsave  (%esp)
    mov     %ebx, %ecx
    call    \target
    fxrstor (%esp)
    mov     %ebx, %esp
    pop     %gs                     /* reloads the descriptor: a new TLS entry takes effect */
    pop     %fs
    pop     %es
    pop     %ds
    popa
    add     $8, %esp                /* vector, error code */
    iret
    .endm

isr_common:
    ENTRY_BODY isr_dispatch

/* int 0x80 from ring 3: the i386 Linux system call (number in eax, arguments in ebx ecx edx
   esi edi ebp, result in eax: SyscallAbi.cs). A call that blocks or exits does not return here:
   the process is resumed later by arch_enter_user from its saved frame. */
    .global syscall_entry
syscall_entry:
    pushl   $0
    pushl   $0x80
    ENTRY_BODY syscall_dispatch

/*
 * void arch_enter_user(InterruptFrame* frame) (ecx): loads every register from `frame` (on the
 * process's kernel stack, whose top is TSS.ESP0) and returns to ring 3 with iret: the first run
 * of a process and its resumption after another ran. Never returns.
 */
    .global arch_enter_user
arch_enter_user:
    mov     %ecx, %esp
    pop     %gs
    pop     %fs
    pop     %es
    pop     %ds
    popa
    add     $8, %esp
    iret

/* Fills the 32 exception gates (interrupt gates, selector 0x08, DPL 0) and the system call gate
   (0x80: interrupt gate, DPL 3, so that ring 3 may `int 0x80`) and loads IDTR.
   Called by boot.S in the higher half before kmain. Clobbers eax, ecx, edx, edi. */
    .global isr_install
isr_install:
    mov     $isr_stub_table, %edx
    mov     $idt_table, %edi
    mov     $32, %ecx
1:  mov     (%edx), %eax
    mov     %ax, (%edi)
    movw    $0x08, 2(%edi)
    movw    $0x8E00, 4(%edi)
    shr     $16, %eax
    mov     %ax, 6(%edi)
    add     $4, %edx
    add     $8, %edi
    loop    1b
    mov     $syscall_entry, %eax
    mov     $idt_table + 0x80 * 8, %edi
    mov     %ax, (%edi)
    movw    $0x08, 2(%edi)
    movw    $0xEE00, 4(%edi)
    shr     $16, %eax
    mov     %ax, 6(%edi)
    mov     $isr_stub_239, %eax
    mov     $idt_table + 239 * 8, %edi
    call    set_interrupt_gate
    mov     $isr_stub_240, %eax
    mov     $idt_table + 240 * 8, %edi
    call    set_interrupt_gate
    mov     $isr_stub_255, %eax
    mov     $idt_table + 255 * 8, %edi
    call    set_interrupt_gate
    lidt    idt_ptr
    ret

/* The gate at edi := an interrupt gate (selector 0x08, DPL 0) to eax. Clobbers eax. */
set_interrupt_gate:
    mov     %ax, (%edi)
    movw    $0x08, 2(%edi)
    movw    $0x8E00, 4(%edi)
    shr     $16, %eax
    mov     %ax, 6(%edi)
    ret

/*
 * void df_install(uint stackTop): the double-fault task (managed convention: stackTop in ecx,
 * the top of a stack from EarlyPages). Fills df_tss (entry df_entry, that stack, flat segments,
 * the current CR3), points the GDT's TSS descriptors at main_tss and df_tss, loads the task
 * register with main_tss (where the CPU saves the interrupted state) and makes IDT[8] a task gate.
 */
    .global df_install
df_install:
    mov     %ecx, df_tss + 0x38             /* esp */
    movl    $0x10, df_tss + 0x50            /* ss */
    movl    $0x10, df_tss + 0x48            /* es */
    movl    $0x10, df_tss + 0x54            /* ds */
    movl    $PERCPU_SELECTOR, df_tss + 0x58 /* fs: the per-CPU area, where df_entry finds the TSS */
    movl    $0x10, df_tss + 0x5C            /* gs */
    movl    $0x08, df_tss + 0x4C            /* cs */
    movl    $df_entry, df_tss + 0x20        /* eip */
    movl    $0x2, df_tss + 0x24             /* eflags: interrupts off */
    mov     %cr3, %eax
    mov     %eax, df_tss + 0x1C             /* cr3 */
    movw    $104, df_tss + 0x66             /* I/O map base past the limit: no I/O bitmap */
    movw    $104, main_tss + 0x66
    mov     $main_tss, %eax
    mov     $gdt_main_tss, %edx
    call    set_tss_base
    mov     $df_tss, %eax
    mov     $gdt_df_tss, %edx
    call    set_tss_base
    mov     $0x18, %ax
    ltr     %ax
    /* IDT[8]: task gate, selector 0x20, present, DPL 0, type 5. */
    movl    $0x00200000, idt_table + 8 * 8
    movl    $0x00008500, idt_table + 8 * 8 + 4
    ret

/* The base of the TSS descriptor at edx := eax. Clobbers eax. */
set_tss_base:
    mov     %ax, 2(%edx)
    shr     $16, %eax
    mov     %al, 4(%edx)
    mov     %ah, 7(%edx)
    ret

/* void df_set_cr3(uint cr3): the directory the double-fault task runs on (ecx), once the kernel
   has switched to its own. */
    .global df_set_cr3
df_set_cr3:
    mov     %ecx, df_tss + 0x1C
    ret

/* The double-fault task: the CPU pushed the error code on the df stack. CR0.TS is set by the
   task switch: cleared first, since the dispatcher uses SSE. The interrupted state is in this
   CPU's TSS (main_tss on the boot CPU, its own on another), found through FS, which the task
   switch loaded with the per-CPU selector. Never returns. */
    .global df_entry
df_entry:
    clts
    mov     %fs:PERCPU_TSS, %esi
    pop     %eax                            /* error code */
    pushl   0x24(%esi)                      /* eflags */
    pushl   0x4C(%esi)                      /* cs */
    pushl   0x20(%esi)                      /* eip */
    pushl   %eax
    pushl   $8
    pushl   0x28(%esi)                      /* eax */
    pushl   0x2C(%esi)                      /* ecx */
    pushl   0x30(%esi)                      /* edx */
    pushl   0x34(%esi)                      /* ebx */
    pushl   0x38(%esi)                      /* esp of the interrupted code */
    pushl   0x3C(%esi)                      /* ebp */
    pushl   0x40(%esi)                      /* esi */
    pushl   0x44(%esi)                      /* edi */
    pushl   0x54(%esi)                      /* ds */
    pushl   0x48(%esi)                      /* es */
    pushl   0x58(%esi)                      /* fs */
    pushl   0x5C(%esi)                      /* gs */
    mov     %esp, %ecx
    call    isr_dispatch
1:  cli
    hlt
    jmp     1b

    .global arch_tss
arch_tss:                                   /* byte* arch_tss(): this CPU's TSS (ESP0, SS0), through FS */
    mov     %fs:PERCPU_TSS, %eax
    ret

    .section .rodata
    .balign 4
isr_stub_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .long isr_stub_\n
    .endr
    .global idt_ptr
idt_ptr:
    .word 256 * 8 - 1
    .long idt_table

    .bss
    .balign 4096
idt_table:
    .skip 256 * 8
    .balign 16
    .global main_tss
main_tss:
    .skip 104
    .balign 16
df_tss:
    .skip 104

    .section .note.GNU-stack, "", @progbits
