/*
 * Entry stubs for the 32 CPU exception vectors and the IDT. Each stub makes the stack uniform
 * (pushes a 0 error code when the CPU pushes none, then the vector number) and jumps to
 * isr_common, which saves the general registers and the SSE state and calls the C# dispatcher
 *
 *   [RuntimeExport("isr_dispatch")] static void Dispatch(InterruptFrame* frame)   (frame in ecx)
 *
 * Frame as the dispatcher sees it (InterruptFrame.cs), lowest address first:
 *
 *   frame -> edi esi ebp esp_unused ebx edx ecx eax   (pusha)
 *            vector  error_code                       (pushed by the stub)
 *            eip  cs  eflags                          (pushed by the CPU: ring 0 to ring 0)
 *
 * Below the frame isr_common reserves 512 bytes for fxsave, 16-byte aligned: the managed
 * dispatcher uses xmm registers, which must survive for the interrupted code. All gates are
 * interrupt gates on the current stack (no task gate for #DF: a kernel stack overflow is a
 * triple fault here).
 */
    .text
    .code32

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

isr_common:
    pusha
    cld
    mov     %esp, %ebx              /* ebx is callee-saved: it still holds the frame after the call */
    and     $-16, %esp
    sub     $512, %esp
    fxsave  (%esp)
    mov     %ebx, %ecx
    call    isr_dispatch
    fxrstor (%esp)
    mov     %ebx, %esp
    popa
    add     $8, %esp                /* vector, error code */
    iret

/* Fills the 32 exception gates (interrupt gates, selector 0x08, DPL 0) and loads IDTR.
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
    lidt    idt_ptr
    ret

    .section .rodata
    .balign 4
isr_stub_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .long isr_stub_\n
    .endr
idt_ptr:
    .word 256 * 8 - 1
    .long idt_table

    .bss
    .balign 4096
idt_table:
    .skip 256 * 8

    .section .note.GNU-stack, "", @progbits
