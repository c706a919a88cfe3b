/*
 * Entry stubs for the 32 CPU exception vectors. Each stub makes the stack uniform (pushes a 0
 * error code when the CPU does not push one, then the vector number) and jumps to isr_common,
 * which saves the general registers and the SSE state and calls the C# dispatcher
 *
 *   [RuntimeExport("isr_dispatch")] static void Dispatch(InterruptFrame* frame)
 *
 * Frame as the dispatcher sees it (InterruptFrame.cs), lowest address first:
 *
 *   frame -> r15 r14 r13 r12 r11 r10 r9 r8 rbp rdi rsi rdx rcx rbx rax   (pushed here)
 *            vector  error_code                                          (pushed by the stub)
 *            rip  cs  rflags  rsp  ss                                    (pushed by the CPU)
 *
 * Below the frame, isr_common aligns the stack to 16 (the CPU only aligns to 16 before pushing
 * its 5 words, and the stub pushes an odd or even count) and reserves 512 bytes for fxsave: the
 * managed dispatcher uses xmm registers, which must survive for the interrupted code.
 */
    .text
    .code64
    .include "frame.inc"

/* Vectors for which the CPU pushes an error code: 8 10 11 12 13 14 17 21 29 30. */
    .macro ISR_NOERR n
isr_stub_\n:
    pushq   $0
    pushq   $\n
    jmp     isr_common
    .endm

    .macro ISR_ERR n
isr_stub_\n:
    pushq   $\n
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
/* Interrupts (Interrupts.cs): the local APIC timer, the cross-CPU request IPI, spurious. */
    ISR_NOERR 239
    ISR_NOERR 240
    ISR_NOERR 255

isr_common:
    /* From ring 3 (the saved CS's RPL, at 24(%rsp) above vector and error code): the CPU is on
       the process's kernel stack (TSS.RSP0) but GS still holds the user's base; swapgs brings
       the per-CPU area (syscall.S) back, and the way out swaps again. */
    testb   $3, 24(%rsp)
    jz      1f
    swapgs
1:  PUSH_GPRS
    CALL_WITH_FRAME isr_dispatch
    POP_GPRS
    add     $16, %rsp               /* vector, error code */
    testb   $3, 8(%rsp)             /* back to ring 3: the user's GS base again */
    jz      2f
    swapgs
2:  iretq

    .section .rodata
    .balign 8
    .global isr_stub_table
isr_stub_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad isr_stub_\n
    .endr
    .global irq_stub_table
irq_stub_table:
    .quad isr_stub_239, isr_stub_240, isr_stub_255

/* The interrupt descriptor table itself: 256 gates of 16 bytes, filled in by Idt.cs. */
    .bss
    .balign 4096
    .global idt_table
idt_table:
    .skip 256 * 16

    .section .note.GNU-stack, "", @progbits
