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
 * That is for KERNEL_VMA = 0xC0000000 (sharpmm.elf). build.sh also assembles this file with
 * KERNEL_VMA = 0x80000000 for layout=low-2g (sharpmm-low-2g.elf): PD[512..991] then map
 * [0, 1920 MiB); the direct map ends at 0xF8000000 either way.
 *
 * Everything is writable and executable, page 0 included (4 MiB pages cannot leave it out):
 * the final directory, built by the library (Platform.cs), drops the identity map and maps the
 * image with 4 KiB pages, text read-only.
 *
 * With `pae` on the command line (a word of the Multiboot command line) the stub builds the
 * same two mappings as PAE tables instead, 2 MiB pages, and turns on CR4.PAE with paging; when
 * CPUID reports NX it also sets EFER.NXE, so the final tables may mark pages execute-disable:
 *
 *   boot_pdpt[0] -> boot_pae_pd0   [0, 4 MiB) identity (PD0[0..1])
 *   boot_pdpt[3] -> boot_pae_pd3   0xC0000000 -> [0, 896 MiB) (PD3[0..447]; low-2g: 0x80000000 ->
 *   boot_pdpt[2] -> boot_pae_pd2   [0, 1920 MiB), PD2[0..511] and PD3[0..447])
 *
 * A CPU without PAE stops the boot (exit status 9) when PAE is asked for. The kernel reads
 * the outcome with arch_boot_pae / arch_boot_nx; it never switches between the two modes.
 */

.ifndef KERNEL_VMA
.equ KERNEL_VMA, 0xC0000000            /* layout=higher-half; build.sh gives 0x80000000 for low-2g */
.endif
/* Low memory is mapped at KERNEL_VMA up to 0xF8000000: 896 MiB on the higher half, 1920 MiB
   on low-2g; the top 128 MiB hold the windows, the kernel stack and the page tables. */
.ifndef DIRECT_MAP_END
.equ DIRECT_MAP_END, 0xF8000000        /* layout=phantom: 0x40000000 (build.sh) */
.endif
.equ DIRECT_MAP_PDES, (DIRECT_MAP_END - KERNEL_VMA) >> 22     /* in 4 MiB pages */

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
.equ CR4_PAE, (1 << 5)
.equ MSR_EFER, 0xC0000080
.equ EFER_NXE, (1 << 11)
.equ MB_FLAG_CMDLINE, (1 << 2)
.equ PAE_DIRECT_MAP_PDES, (DIRECT_MAP_END - KERNEL_VMA) >> 21 /* in 2 MiB pages */

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

    call    find_pae_word
    test    %eax, %eax
    jnz     boot_pae_tables

    /* PD[0]: identity of the first 4 MiB. */
    movl    $(PDE_P | PDE_W | PDE_PS), (boot_pd - KERNEL_VMA)
    /* PD[(KERNEL_VMA >> 22) + i] = i * 4 MiB for the low memory. */
    mov     $(boot_pd - KERNEL_VMA + (KERNEL_VMA >> 22) * 4), %edi
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
    mov     $(msg_paging - KERNEL_VMA), %esi
paging_on:
    /* CR0: paging on; FPU/SSE usable (EM off, MP on, native x87 errors); WP: supervisor writes
       honour read-only pages. */
    mov     %cr0, %eax
    and     $~CR0_EM, %eax
    or      $(CR0_MP | CR0_NE | CR0_WP | CR0_PG), %eax
    mov     %eax, %cr0

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

/* The PAE variant of the temporary tables (see the header), then paging on with CR4.PAE. */
boot_pae_tables:
    mov     $1, %eax
    cpuid
    test    $(1 << 6), %edx                /* CPUID.1:EDX.PAE */
    jnz     1f
    mov     $(msg_no_pae - KERNEL_VMA), %esi
    call    serial_puts
    mov     $DEBUG_EXIT_PORT, %dx
    mov     $EXIT_BOOT_FAIL, %eax
    outl    %eax, %dx
2:  cli
    hlt
    jmp     2b
1:  movl    $1, (boot_pae - KERNEL_VMA)
    /* NX: CPUID.80000001h:EDX bit 20, when the extended leaf exists. */
    mov     $0x80000000, %eax
    cpuid
    cmp     $0x80000001, %eax
    jb      3f
    mov     $0x80000001, %eax
    cpuid
    test    $(1 << 20), %edx
    jz      3f
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $EFER_NXE, %eax
    wrmsr
    movl    $1, (boot_nx - KERNEL_VMA)
3:
    /* PDPTEs: present only (bits 1-2 and 5-8 are reserved in a PDPTE). */
    movl    $(boot_pae_pd0 - KERNEL_VMA + PDE_P), (boot_pdpt - KERNEL_VMA)
    movl    $(boot_pae_pd2 - KERNEL_VMA + PDE_P), (boot_pdpt - KERNEL_VMA + 2 * 8)
    movl    $(boot_pae_pd3 - KERNEL_VMA + PDE_P), (boot_pdpt - KERNEL_VMA + 3 * 8)
    /* PD0[0..1]: identity of the first 4 MiB in 2 MiB pages. */
    movl    $(PDE_P | PDE_W | PDE_PS), (boot_pae_pd0 - KERNEL_VMA)
    movl    $(0x200000 | PDE_P | PDE_W | PDE_PS), (boot_pae_pd0 - KERNEL_VMA + 8)
    /* From KERNEL_VMA's entry on, i * 2 MiB (PD2 and PD3 are consecutive pages, so low-2g's
       960 entries run from PD2 into PD3). */
.if KERNEL_VMA == 0
    mov     $(boot_pae_pd0 - KERNEL_VMA), %edi     /* layout=phantom: the identity map in PD0 */
.else
    mov     $(boot_pae_pd2 - KERNEL_VMA + ((KERNEL_VMA >> 30) - 2) * 4096), %edi
.endif
    mov     $(PDE_P | PDE_W | PDE_PS), %eax
    mov     $PAE_DIRECT_MAP_PDES, %ecx
4:  mov     %eax, (%edi)
    add     $0x200000, %eax
    add     $8, %edi
    loop    4b

    mov     $(msg_pd - KERNEL_VMA), %esi
    call    serial_puts
    mov     $(boot_pdpt - KERNEL_VMA), %eax
    call    serial_hex
    mov     $(msg_pd_pae - KERNEL_VMA), %esi
    call    serial_puts

    mov     %cr4, %eax
    or      $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    mov     %eax, %cr4
    mov     $(boot_pdpt - KERNEL_VMA), %eax
    mov     %eax, %cr3
    mov     $(msg_paging_pae - KERNEL_VMA), %esi
    jmp     paging_on

/* eax = 1 when the Multiboot command line has the word "pae", else 0. Paging is off: the
   command line's physical address is its address. Clobbers ecx, edx, esi. */
find_pae_word:
    xor     %eax, %eax
    mov     (mb_info - KERNEL_VMA), %esi
    testl   $MB_FLAG_CMDLINE, (%esi)
    jz      9f
    mov     16(%esi), %esi
    mov     $' ', %dl                      /* the character before the current one */
1:  mov     (%esi), %cl
    test    %cl, %cl
    jz      9f
    cmp     $' ', %dl
    jne     2f
    cmpb    $'p', (%esi)
    jne     2f
    cmpb    $'a', 1(%esi)
    jne     2f
    cmpb    $'e', 2(%esi)
    jne     2f
    mov     3(%esi), %cl
    test    %cl, %cl
    jz      8f
    cmp     $' ', %cl
    je      8f
2:  mov     (%esi), %dl
    inc     %esi
    jmp     1b
8:  mov     $1, %eax
9:  ret

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
.if KERNEL_VMA == 0xC0000000
msg_pd2:    .asciz ": [0, 4 MiB) identity and 0xc0000000 -> [0, 896 MiB), 4 MiB pages\n"
msg_pd_pae: .asciz ": [0, 4 MiB) identity and 0xc0000000 -> [0, 896 MiB), 2 MiB pages (PAE: PDPT, PD0, PD3)\n"
msg_higher: .asciz "boot: jumped to the higher half, running at "
.elseif KERNEL_VMA == 0x80000000
msg_pd2:    .asciz ": [0, 4 MiB) identity and 0x80000000 -> [0, 1920 MiB), 4 MiB pages\n"
msg_pd_pae: .asciz ": [0, 4 MiB) identity and 0x80000000 -> [0, 1920 MiB), 2 MiB pages (PAE: PDPT, PD0, PD2, PD3)\n"
msg_higher: .asciz "boot: jumped to the higher half, running at "
.else
msg_pd2:    .asciz ": [0, 4 MiB) identity and 0x00000000 -> [0, 1024 MiB), 4 MiB pages (the same identity map)\n"
msg_pd_pae: .asciz ": [0, 4 MiB) identity and 0x00000000 -> [0, 1024 MiB), 2 MiB pages (PAE: PDPT, PD0)\n"
msg_higher: .asciz "boot: jumped to the linked address (identity layout), running at "
.endif
msg_paging: .asciz "boot: paging on (CR4.PSE, CR0.PG|WP)\n"
msg_paging_pae: .asciz "boot: paging on (CR4.PAE, CR0.PG|WP)\n"
msg_no_pae: .asciz "boot: pae on the command line, but the CPU has no PAE\n"
msg_nl:     .asciz "\n"

    .data
    .balign 16
    .global gdt
gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF                /* 0x08 code: flat, 32-bit, ring 0 */
    .quad 0x00CF92000000FFFF                /* 0x10 data: flat, writable */
    .global gdt_main_tss, gdt_df_tss
gdt_main_tss:
    .quad 0x0000890000000067                /* 0x18 TSS (the kernel's task): base set by df_install */
gdt_df_tss:
    .quad 0x0000890000000067                /* 0x20 TSS of the double-fault task */
    .quad 0x00CFFA000000FFFF                /* 0x28 user code: flat, 32-bit, ring 3 (0x2b) */
    .quad 0x00CFF2000000FFFF                /* 0x30 user data: flat, writable, ring 3 (0x33) */
    .global gdt_tls
gdt_tls:
    .quad 0                                 /* 0x38 TLS (0x3b): the running process's set_thread_area segment */
    .quad 0x00CF92000000FFFF                /* 0x40 per-CPU data: base set to the CPU's area (PerCpus.cs), FS in ring 0 */
gdt_end:
gdt_ptr:
    .word gdt_end - gdt - 1
    .long gdt

    .global mb_magic, mb_info, boot_tsc, boot_pae, boot_nx
mb_magic:       .long 0
mb_info:        .long 0
boot_pae:       .long 0                /* 1: PAE paging (pae on the command line) */
boot_nx:        .long 0                /* 1: EFER.NXE set (PAE and CPUID has NX) */
    .balign 8
boot_tsc:       .quad 0

/* ---------------------------------------------------------------------------------------- */
    .bss
    .balign 4096
    .global boot_pd
boot_pd:        .skip 4096
    .global boot_pdpt
boot_pdpt:      .skip 4096             /* PAE: 4 entries used (CR3 wants 32-byte alignment) */
boot_pae_pd0:   .skip 4096
boot_pae_pd2:   .skip 4096             /* PD2 and PD3 must stay consecutive (see above) */
boot_pae_pd3:   .skip 4096
    .global boot_stack_bottom, boot_stack_top
boot_stack_bottom:
                .skip BOOT_STACK_SIZE
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
