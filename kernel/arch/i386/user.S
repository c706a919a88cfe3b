/*
 * The scheduler's stack switches and the CPU accessors of ring 3 (UserMode.cs, Processes.cs),
 * in the managed x86 convention: the first two 32-bit arguments in ecx and edx, the result in
 * eax; none of these takes stack arguments.
 */
    .text
    .code32

/* void arch_run_on_scheduler_stack(uint top, void (*fn)(void)): moves esp to `top` (ecx) and
   calls fn (edx) there (the kernel's own stack, while a process's kernel stack is given back).
   fn must not return; if it does, the kernel stops through the exit device (status 9). */
    .global arch_run_on_scheduler_stack
arch_run_on_scheduler_stack:
    mov     %ecx, %esp
    xor     %ebp, %ebp
    call    *%edx
    mov     $0xF4, %dx
    mov     $0x04, %eax
    outl    %eax, %dx
1:  cli
    hlt
    jmp     1b

/*
 * Saved kernel contexts (setjmp/longjmp for the scheduler; callee-saved registers only):
 *   int  arch_save_context(ulong* ctx)     0 when saving, 1 when resumed by restore
 *   void arch_restore_context(ulong* ctx)  never returns
 * ctx (ecx): ebx esi edi ebp esp eip (6 words of 4 bytes, in a buffer of 8-byte words).
 */
    .global arch_save_context
arch_save_context:
    mov     %ebx, 0(%ecx)
    mov     %esi, 4(%ecx)
    mov     %edi, 8(%ecx)
    mov     %ebp, 12(%ecx)
    lea     4(%esp), %eax
    mov     %eax, 16(%ecx)
    mov     (%esp), %eax
    mov     %eax, 20(%ecx)
    xor     %eax, %eax
    ret

    .global arch_restore_context
arch_restore_context:
    mov     0(%ecx), %ebx
    mov     4(%ecx), %esi
    mov     8(%ecx), %edi
    mov     12(%ecx), %ebp
    mov     16(%ecx), %esp
    mov     $1, %eax
    jmp     *20(%ecx)

/* ulong* arch_gdt_tls(): the TLS descriptor (entry 7) of this CPU's GDT (boot.S's on the boot
   CPU, its own on another: PerCpu.GdtAddress, +16 through FS). */
    .global arch_gdt_tls
arch_gdt_tls:
    mov     %fs:16, %eax
    add     $(7 * 8), %eax
    ret

/* uint arch_cpuid7_ebx(): CPUID leaf 7 subleaf 0's ebx (SMEP bit 7, SMAP bit 20), 0 when the
   CPU has no leaf 7. */
    .global arch_cpuid7_ebx
arch_cpuid7_ebx:
    push    %ebx
    xor     %eax, %eax
    cpuid
    cmp     $7, %eax
    jb      1f
    mov     $7, %eax
    xor     %ecx, %ecx
    cpuid
    mov     %ebx, %eax
    pop     %ebx
    ret
1:  xor     %eax, %eax
    pop     %ebx
    ret

    .section .note.GNU-stack, "", @progbits
