/*
 * The way into the kernel from ring 3 by `syscall`, and the ways back (sysret, iretq).
 *
 * `syscall` (UserMode.cs programs LSTAR = syscall_entry, STAR, SFMASK) leaves the user's RIP in
 * RCX and RFLAGS in R11, loads CS/SS from STAR and clears IF, DF, TF, AC (SFMASK); it does not
 * switch stacks. The entry swaps GS to the per-CPU area, saves the user RSP there, loads the
 * process's kernel stack top from it and builds the same frame the exception stubs build
 * (InterruptFrame.cs), with vector 256 for "system call":
 *
 *   frame -> r15 ... rax (as isr_common)  vector=256  error=0  rip(rcx) cs(0x23) rflags(r11) rsp ss(0x1b)
 *
 * so one C# type describes a stopped user context whichever way it entered. Registers follow
 * the Linux x86-64 convention (number in rax; arguments rdi, rsi, rdx, r10, r8, r9; result in
 * rax; rcx and r11 are lost), and the SSE state is saved around the C# code as in isr_common.
 *
 * Per-CPU area (PerCpu.cs; one per CPU in smp.S, a CPU's GS base points at its own while it runs the kernel):
 *
 *   +0   kernel stack top of the running process (also TSS.RSP0)
 *   +8   the user RSP, saved by syscall_entry until it is in the frame
 *   +16  the area's own address
 */
    .text
    .code64
    .include "frame.inc"

    .equ PERCPU_KERNEL_RSP, 0
    .equ PERCPU_USER_RSP, 8
    .equ USER_CS, 0x23
    .equ USER_SS, 0x1b
    .equ SYSCALL_VECTOR, 256

    .macro FUNC name
    .global \name
    .type \name, @function
\name:
    .endm

FUNC syscall_entry
    swapgs
    mov     %rsp, %gs:PERCPU_USER_RSP
    mov     %gs:PERCPU_KERNEL_RSP, %rsp
    pushq   $USER_SS
    pushq   %gs:PERCPU_USER_RSP
    push    %r11                    /* user RFLAGS */
    pushq   $USER_CS
    push    %rcx                    /* user RIP */
    pushq   $0                      /* error code */
    pushq   $SYSCALL_VECTOR
    PUSH_GPRS
    CALL_WITH_FRAME syscall_dispatch  /* Syscalls.cs; returns only when the caller resumes */
    /* sysret: RIP from RCX, RFLAGS from R11 (the frame's, which the dispatcher may have
       changed), CS/SS from STAR. The dispatcher has checked that the RIP is canonical: sysret to
       a non-canonical RIP would fault in ring 0 on the user's stack. */
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    add     $8, %rsp                /* r11: replaced by RFLAGS below */
    pop     %r10
    pop     %r9
    pop     %r8
    pop     %rbp
    pop     %rdi
    pop     %rsi
    pop     %rdx
    add     $8, %rsp                /* rcx: replaced by RIP below */
    pop     %rbx
    pop     %rax
    add     $16, %rsp               /* vector, error code */
    pop     %rcx                    /* RIP */
    add     $8, %rsp                /* CS */
    pop     %r11                    /* RFLAGS */
    pop     %rsp                    /* user RSP: from here on the user's stack, nothing pushed */
    swapgs
    sysretq

/*
 * void arch_enter_user(InterruptFrame* frame): loads every register from `frame` (on the
 * process's kernel stack, which is also TSS.RSP0) and returns to ring 3 with iretq: the first
 * run of a process and its resumption after another ran. Never returns.
 */
FUNC arch_enter_user
    mov     %rdi, %rsp
    POP_GPRS
    add     $16, %rsp
    swapgs
    iretq

/* void arch_run_on_scheduler_stack(ulong top, void (*fn)(void)): moves rsp to `top` and calls
   fn there (the kernel's own stack, while a process's kernel stack is given back). fn must not
   return; if it does, the kernel stops through the exit device (status 9). */
FUNC arch_run_on_scheduler_stack
    mov     %rdi, %rsp
    xor     %ebp, %ebp
    call    *%rsi
    mov     $0xF4, %dx
    mov     $0x04, %eax
    outl    %eax, %dx
1:  cli
    hlt
    jmp     1b

FUNC arch_syscall_entry_addr
    lea     syscall_entry(%rip), %rax
    ret

/* The running CPU's per-CPU area (smp.S, PerCpu.cs): its own address, read through GS. */
FUNC arch_percpu
    mov     %gs:16, %rax
    ret

FUNC arch_tss
    lea     tss64(%rip), %rax
    ret

/*
 * Saved kernel contexts (setjmp/longjmp for the scheduler; callee-saved registers only, the
 * managed code keeps nothing in xmm registers across calls):
 *   int  arch_save_context(ulong* ctx)     0 when saving, 1 when resumed by restore
 *   void arch_restore_context(ulong* ctx)  never returns
 * ctx: rbx rbp r12 r13 r14 r15 rsp rip (8 words).
 */
FUNC arch_save_context
    mov     %rbx, 0(%rdi)
    mov     %rbp, 8(%rdi)
    mov     %r12, 16(%rdi)
    mov     %r13, 24(%rdi)
    mov     %r14, 32(%rdi)
    mov     %r15, 40(%rdi)
    lea     8(%rsp), %rax
    mov     %rax, 48(%rdi)
    mov     (%rsp), %rax
    mov     %rax, 56(%rdi)
    xor     %eax, %eax
    ret

FUNC arch_restore_context
    mov     0(%rdi), %rbx
    mov     8(%rdi), %rbp
    mov     16(%rdi), %r12
    mov     24(%rdi), %r13
    mov     32(%rdi), %r14
    mov     40(%rdi), %r15
    mov     48(%rdi), %rsp
    mov     $1, %eax
    jmp     *56(%rdi)

    .section .note.GNU-stack, "", @progbits
