/*
 * SharpMM i386 boot stub: Multiboot 1 entry, the temporary page directory, paging on, the jump
 * to the higher half, then kmain. Each step is printed on COM1 ("boot: ...").
 *
 * QEMU loads the ELF32 image at its physical addresses (1 MiB) and enters _start (through the
 * physical entry point _start_phys) in 32-bit protected mode, paging off, with
 *   EAX = 0x2BADB002 (Multiboot magic), EBX = physical address of the Multiboot info structure.
 * The image is linked at KERNEL_VMA + phys: until paging is on, every absolute address is
 * written (symbol - KERNEL_VMA).
 *
 * Temporary page directory (boot_pd, in .bss), 4 MiB pages (CR4.PSE):
 *
 *   PD[0]          0x00000000 -> 0x00000000   identity of [0, 4 MiB): the stub's own code keeps
 *                                             running after paging is on, until the jump
 *   PD[768..991]   0xC0000000 -> 0x00000000   the kernel and low memory, [0, 896 MiB): what
 *                  ...                        memblock, the buddy allocator and the frame
 *                  0xF7C00000 -> 0x37C00000   metadata reach before the library's final directory
 *
 * Everything is writable and executable, page 0 included (4 MiB pages cannot leave it out):
 * the final directory, built by the library (Platform.cs), drops the identity map and maps the
 * image with 4 KiB pages, text read-only.
 */

.equ KERNEL_VMA, 0xC0000000
.equ DIRECT_MAP_PDES, 224              /* 896 MiB of low memory in 4 MiB pages */

.equ MB_MAGIC, 0x1BADB002
.equ MB_FLAGS, 0x00000003              /* page-align modules | memory info (ELF: no a.out kludge) */

.equ CR0_MP, (1 << 1)
.equ CR0_EM, (1 << 2)
.equ CR0_NE, (1 << 5)
.equ CR0_WP, (1 << 16)
.equ CR0_PG, (1 << 31)
.equ CR4_PSE, (1 << 4)
.equ CR4_OSFXSR, (1 << 9)
.equ CR4_OSXMMEXCPT, (1 << 10)

.equ PDE_P, (1 << 0)
.equ PDE_W, (1 << 1)
.equ PDE_PS, (1 << 7)

.equ DEBUG_EXIT_PORT, 0xF4
.equ EXIT_BOOT_FAIL, 0x04              /* QEMU exit status (4 << 1) | 1 = 9, see src/ExitCode.cs */

.equ BOOT_STACK_SIZE, (256 * 1024)


/* ---------------------------------------------------------------------------------------- */
    .section .multiboot, "a"
    .balign 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

/* ---------------------------------------------------------------------------------------- */
    .section .text.boot, "ax"
    .code32
    .global _start
_start:
    cli
    cld
    mov     %eax, (mb_magic - KERNEL_VMA)
    mov     %ebx, (mb_info - KERNEL_VMA)
    rdtsc
    mov     %eax, (boot_tsc - KERNEL_VMA)
    mov     %edx, (boot_tsc - KERNEL_VMA + 4)
    mov     $(boot_stack_top - KERNEL_VMA), %esp

    /* Zero .bss ourselves rather than trust the loader. */
    mov     $(__bss_start - KERNEL_VMA), %edi
    mov     $(__bss_end - KERNEL_VMA), %ecx
    sub     %edi, %ecx
    xor     %eax, %eax
    rep stosb

    mov     $(msg_entry - KERNEL_VMA), %esi
    call    serial_puts
    mov     $(_start - KERNEL_VMA), %eax
    call    serial_hex
    mov     $(msg_mbi - KERNEL_VMA), %esi
    call    serial_puts
    mov     (mb_info - KERNEL_VMA), %eax
    call    serial_hex
    mov     $(msg_nl - KERNEL_VMA), %esi
    call    serial_puts

    /* PD[0]: identity of the first 4 MiB. */
    movl    $(PDE_P | PDE_W | PDE_PS), (boot_pd - KERNEL_VMA)
    /* PD[768 + i] = i * 4 MiB for the low memory. */
    mov     $(boot_pd - KERNEL_VMA + 768 * 4), %edi
    mov     $(PDE_P | PDE_W | PDE_PS), %eax
    mov     $DIRECT_MAP_PDES, %ecx
1:  mov     %eax, (%edi)
    add     $0x400000, %eax
    add     $4, %edi
    loop    1b

    mov     $(msg_pd - KERNEL_VMA), %esi
    call    serial_puts
    mov     $(boot_pd - KERNEL_VMA), %eax
    call    serial_hex
    mov     $(msg_pd2 - KERNEL_VMA), %esi
    call    serial_puts

    /* CR4: 4 MiB pages; OSFXSR/OSXMMEXCPT before any C# runs (the code generator moves and
       zeroes structs with xmm registers). */
    mov     %cr4, %eax
    or      $(CR4_PSE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    mov     %eax, %cr4
    mov     $(boot_pd - KERNEL_VMA), %eax
    mov     %eax, %cr3
    /* CR0: paging on; FPU/SSE usable (EM off, MP on, native x87 errors); WP: supervisor writes
       honour read-only pages. */
    mov     %cr0, %eax
    and     $~CR0_EM, %eax
    or      $(CR0_MP | CR0_NE | CR0_WP | CR0_PG), %eax
    mov     %eax, %cr0

    mov     $(msg_paging - KERNEL_VMA), %esi
    call    serial_puts

    /* An absolute jump: from here on the addresses are the linked (virtual) ones. */
    mov     $higher_half, %eax
    jmp     *%eax

higher_half:
    mov     $boot_stack_top, %esp
    lgdt    gdt_ptr
    ljmp    $0x08, $1f
1:  mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     %ax, %fs
    mov     %ax, %gs

    mov     $msg_higher, %esi
    call    serial_puts
    call    2f
2:  pop     %eax                       /* this instruction's address: proof of where we run */
    call    serial_hex
    mov     $msg_nl, %esi
    call    serial_puts

    call    isr_install
    fninit
    xor     %ebp, %ebp
    /* kmain(uint magic, uint multibootInfo): managed x86 convention, ecx and edx. */
    mov     mb_magic, %ecx
    mov     mb_info, %edx
    call    kmain

    /* kmain must not return; if it does, report it through the exit device. */
    mov     $DEBUG_EXIT_PORT, %dx
    mov     $EXIT_BOOT_FAIL, %eax
    outl    %eax, %dx
3:  cli
    hlt
    jmp     3b

/* Prints the NUL-terminated string at esi on COM1 (address valid in the current mode).
   Clobbers eax, edx, esi. */
    .global serial_puts
serial_puts:
1:  lodsb
    test    %al, %al
    jz      2f
    mov     $0x3F8, %dx
    outb    %al, %dx
    jmp     1b
2:  ret

/* Prints eax as 0x + 8 hex digits on COM1. Clobbers eax, ecx, edx. */
    .global serial_hex
serial_hex:
    push    %ebx
    mov     %eax, %ebx
    mov     $0x3F8, %dx
    mov     $'0', %al
    outb    %al, %dx
    mov     $'x', %al
    outb    %al, %dx
    mov     $8, %ecx
1:  rol     $4, %ebx
    mov     %bl, %al
    and     $0xF, %al
    add     $'0', %al
    cmp     $'9', %al
    jbe     2f
    add     $('a' - '9' - 1), %al
2:  outb    %al, %dx
    loop    1b
    pop     %ebx
    ret

/* ---------------------------------------------------------------------------------------- */
    .section .rodata
msg_entry:  .asciz "boot: i386 boot stub at "
msg_mbi:    .asciz ", Multiboot info at "
msg_pd:     .asciz "boot: temporary page directory at "
msg_pd2:    .asciz ": [0, 4 MiB) identity and 0xc0000000 -> [0, 896 MiB), 4 MiB pages\n"
msg_paging: .asciz "boot: paging on (CR4.PSE, CR0.PG|WP)\n"
msg_higher: .asciz "boot: jumped to the higher half, running at "
msg_nl:     .asciz "\n"

    .data
    .balign 16
gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF                /* 0x08 code: flat, 32-bit, ring 0 */
    .quad 0x00CF92000000FFFF                /* 0x10 data: flat, writable */
    .global gdt_main_tss, gdt_df_tss
gdt_main_tss:
    .quad 0x0000890000000067                /* 0x18 TSS (the kernel's task): base set by df_install */
gdt_df_tss:
    .quad 0x0000890000000067                /* 0x20 TSS of the double-fault task */
gdt_end:
gdt_ptr:
    .word gdt_end - gdt - 1
    .long gdt

    .global mb_magic, mb_info, boot_tsc
mb_magic:       .long 0
mb_info:        .long 0
    .balign 8
boot_tsc:       .quad 0

/* ---------------------------------------------------------------------------------------- */
    .bss
    .balign 4096
    .global boot_pd
boot_pd:        .skip 4096
    .global boot_stack_bottom, boot_stack_top
boot_stack_bottom:
                .skip BOOT_STACK_SIZE
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
