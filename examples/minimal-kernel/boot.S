/*
 * The smallest boot path to a C# kmain on x86-64, for QEMU's Multiboot 1 loader (-kernel).
 *
 * QEMU loads 64-bit kernels through Multiboot 1 only as a flat binary whose header says where to
 * load it (the "a.out kludge", flag bit 16); build-and-boot.sh makes that binary with objcopy.
 * The loader enters _start in 32-bit protected mode, paging off, EAX = 0x2BADB002, EBX = the
 * physical address of the Multiboot information. This stub identity-maps the first 4 GiB with
 * 2 MiB pages, enters long mode and calls
 *
 *     kmain(magic, info, __kernel_start, __data_start, __kernel_end)     (System V: rdi .. r8)
 *
 * kmain then builds its own page tables with SharpMM and leaves these behind. Below the entry:
 * the few instructions C# cannot express, and the runtime symbols ilc's code calls.
 */
    .equ MB_FLAGS, 0x00010002           /* memory map | a.out kludge */
    .equ MB_MAGIC, 0x1BADB002

    .section .multiboot, "a"
    .balign 4
mb_header:
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
    .long mb_header, __kernel_start, __load_end, __bss_end, _start

    .section .text.boot, "ax"
    .code32
    .global _start
_start:
    mov     $stack_top, %esp
    mov     %eax, %ebp                  /* kept for kmain: magic, info (nothing below uses ebp, esi) */
    mov     %ebx, %esi
    /* Long mode and NX required (every x86-64 CPU QEMU models has both): CPUID 0x80000001 EDX
       bits 29 and 20. Without them, stop with QEMU exit status 35 (isa-debug-exit, 0x11). */
    mov     $0x80000001, %eax
    cpuid
    and     $((1 << 29) | (1 << 20)), %edx
    cmp     $((1 << 29) | (1 << 20)), %edx
    jne     fail32
    /* PML4[0] -> PDPT, PDPT[0..3] -> PD[0..3], 2048 PD entries of 2 MiB: virt == phys below 4 GiB.
       .bss is zero (the loader clears up to bss_end_addr). */
    movl    $(pdpt + 3), pml4           /* present | writable */
    mov     $pdpt, %edi
    mov     $(pd + 3), %eax
    mov     $4, %ecx
1:  mov     %eax, (%edi)
    add     $4096, %eax
    add     $8, %edi
    loop    1b
    mov     $pd, %edi
    mov     $0x83, %eax                 /* present | writable | 2 MiB page */
    mov     $2048, %ecx
2:  mov     %eax, (%edi)
    add     $0x200000, %eax
    add     $8, %edi
    loop    2b
    mov     $(1 << 5) | (1 << 9) | (1 << 10), %eax   /* CR4: PAE; OSFXSR, OSXMMEXCPT (ilc's code uses SSE) */
    mov     %eax, %cr4
    mov     $pml4, %eax
    mov     %eax, %cr3
    mov     $0xC0000080, %ecx           /* EFER: long mode enable, no-execute enable */
    rdmsr
    or      $((1 << 8) | (1 << 11)), %eax
    wrmsr
    mov     %cr0, %eax                  /* CR0: paging (enters long mode), WP, FPU native (NE, MP, not EM) */
    and     $~(1 << 2), %eax
    or      $((1 << 31) | (1 << 16) | (1 << 5) | (1 << 1) | 1), %eax
    mov     %eax, %cr0
    lgdt    gdt_ptr
    ljmp    $0x08, $start64
fail32:
    mov     $0xF4, %dx
    mov     $0x11, %al
    outb    %al, %dx
    hlt

    .code64
start64:
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     %ebp, %edi                  /* magic, info: 32-bit moves zero-extend */
    mov     %esi, %esi
    lea     __kernel_start(%rip), %rdx
    lea     __data_start(%rip), %rcx
    lea     __kernel_end(%rip), %r8
    call    kmain
3:  cli                                 /* kmain exits QEMU itself; it never returns */
    hlt
    jmp     3b

/* C# calls these through [RuntimeImport] (Kmain.cs, class Cpu). */
    .text
    .macro FUNC name
    .global \name
    .type \name, @function
\name:
    .endm
FUNC arch_outb                          /* (ushort port, byte value) */
    mov     %edi, %edx
    mov     %esi, %eax
    outb    %al, %dx
    ret
FUNC arch_read_cr3
    mov     %cr3, %rax
    ret
FUNC arch_write_cr3
    mov     %rdi, %cr3
    ret
FUNC arch_invlpg
    invlpg  (%rdi)
    ret

/* What ilc's generated code calls here (`nm -u` on its object lists them; the linker names any
   a larger kmain adds, such as memset): the GC transition around kmain (no GC: nothing to do),
   the probe for frames larger than a page (the stack is one .bss block without a guard page:
   nothing to touch), and the stack cookie of frames with stackalloc, below. */
FUNC RhpReversePInvoke
FUNC RhpReversePInvokeReturn
FUNC RhpStackProbe
    ret

    .data
    .global __security_cookie
    .balign 8
__security_cookie:
    .quad 0x2B992DDFA232                /* a bug detector here, not a security boundary */
    .balign 8
gdt:                                    /* null, 64-bit code (0x08), data (0x10) */
    .quad 0, 0x00AF9A000000FFFF, 0x00CF92000000FFFF
gdt_ptr:
    .word gdt_ptr - gdt - 1
    .quad gdt

    .bss
    .balign 4096
pml4:   .skip 4096
pdpt:   .skip 4096
pd:     .skip 4 * 4096
        .skip 256 * 1024                /* the boot stack: SharpMM keeps multi-KiB maps on it */
stack_top:

    .section .note.GNU-stack, "", @progbits
