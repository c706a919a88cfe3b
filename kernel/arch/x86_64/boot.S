/*
 * SharpMM boot stub: Multiboot 1 entry, long-mode switch, boot page tables, the jump to the
 * higher half, then kmain.
 *
 * QEMU -kernel loads ELF64 images only through other paths and does not speak Multiboot 2, so the
 * kernel is a flat binary with a Multiboot 1 header that uses the "a.out kludge" (flag bit 16):
 * the header itself says where to load the file and where to jump, in physical addresses.
 *
 * The image is linked at KERNEL_VMA + physical (linker.ld). Until the jump to the higher half,
 * every absolute address is written (symbol - KERNEL_VMA); after it, code is RIP-relative.
 *
 * The loader enters _start32 (at its physical address) in 32-bit protected mode, paging off, with
 *   EAX = 0x2BADB002 (Multiboot magic), EBX = physical address of the Multiboot info structure.
 *
 * Boot page tables (all in .bss):
 *
 *   PML4[0]   --> boot_pdpt    identity map, only for the instructions between enabling paging
 *                              and the jump to the higher half; cleared right after the jump
 *   PML4[273] --> boot_pdpt    direct map at DIRECT_MAP_BASE (AddressSpaceLayout.X86_64's
 *                              direct-map region), the same PDPT:
 *       boot_pdpt[0] --> PD0[0] --> PT0: 512 x 4 KiB   phys 0x00000000-0x001fffff
 *                                          PT0[0] not present: page 0 stays unmapped so that a
 *                                          null dereference faults; the stack guard page too
 *                        PD0[1..511]  2 MiB pages    phys 0x00200000-0x3fffffff
 *       boot_pdpt[1..3] --> PD1..PD3  2 MiB pages    phys 0x40000000-0xffffffff
 *       boot_pdpt[4..63]  empty: kmain fills them for RAM above 4 GiB from the
 *                         direct_map_pd_pool (BootDirectMap.cs), up to 64 GiB
 *   PML4[511] --> boot_pdpt_high[510] --> PD0   the kernel image at KERNEL_VMA + phys
 *                                               (the first GiB of physical memory)
 *
 * Everything is mapped writable and executable, cacheable (MMIO in 3-4 GiB too; nothing touches
 * it yet). kmain replaces these tables with its own, built by the library's mapper
 * (KernelAddressSpace.cs), which have no identity map.
 */

.equ KERNEL_VMA, 0xFFFFFFFF80000000     /* linker.ld; AddressSpaceLayout.X86_64 KernelVirtualOffset */
.equ DIRECT_MAP_BASE, 0xFFFF888000000000 /* Platform.DirectMap; the layout's direct-map region */
.equ DIRECT_MAP_PML4_INDEX, ((DIRECT_MAP_BASE >> 39) & 511)
.equ IMAGE_PDPT_INDEX, ((KERNEL_VMA >> 30) & 511)

.equ MB_MAGIC, 0x1BADB002
.equ MB_FLAGS, 0x00010003      /* page-align modules | memory info | a.out kludge */

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
.equ EFER_LME, (1 << 8)
.equ EFER_NXE, (1 << 11)

.equ PTE_P, (1 << 0)
.equ PTE_W, (1 << 1)
.equ PTE_PS, (1 << 7)

.equ COM1, 0x3F8
.equ DEBUG_EXIT_PORT, 0xF4
.equ EXIT_BOOT_FAIL, 0x04            /* QEMU exit status (4 << 1) | 1 = 9, see src/ExitCode.cs */

.equ BOOT_STACK_SIZE, (256 * 1024)     /* the library keeps multi-KiB maps on the stack */
.equ IST_STACK_SIZE, (16 * 1024)
.equ DIRECT_MAP_PDS, 60              /* PDPT[4..63]: RAM from 4 GiB to 64 GiB */

/* ---------------------------------------------------------------------------------------- */
    .section .multiboot, "a"
    .balign 4
multiboot_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long multiboot_header - KERNEL_VMA  /* header_addr */
    .long __kernel_start - KERNEL_VMA    /* load_addr: first byte of the file */
    .long __load_end - KERNEL_VMA        /* load_end_addr: end of .data (file end) */
    .long __bss_end - KERNEL_VMA         /* bss_end_addr: the loader zeroes up to here */
    .long _start32 - KERNEL_VMA          /* entry_addr */

/* ---------------------------------------------------------------------------------------- */
    .section .text.boot32, "ax"
    .code32
    .global _start32
_start32:
    cli
    cld
    /* .data first (the .bss clearing below must not lose them); .bss is cleared next. */
    mov     %eax, (mb_magic - KERNEL_VMA)
    mov     %ebx, (mb_info - KERNEL_VMA)
    rdtsc
    mov     %eax, (boot_tsc - KERNEL_VMA)
    mov     %edx, (boot_tsc - KERNEL_VMA + 4)
    mov     $(boot_stack_top - KERNEL_VMA), %esp

    /* Zero .bss ourselves rather than trust the loader (GRUB does, QEMU does, others may not). */
    mov     $(__bss_start - KERNEL_VMA), %edi
    mov     $(__bss_end - KERNEL_VMA), %ecx
    sub     %edi, %ecx
    xor     %eax, %eax
    rep stosb

    /* CPUID present? (EFLAGS.ID toggles) */
    pushfl
    pop     %eax
    mov     %eax, %ecx
    xor     $(1 << 21), %eax
    push    %eax
    popfl
    pushfl
    pop     %eax
    push    %ecx
    popfl
    cmp     %eax, %ecx
    je      no_long_mode

    /* Long mode present? (extended leaf 0x80000001, EDX bit 29) */
    mov     $0x80000000, %eax
    cpuid
    cmp     $0x80000001, %eax
    jb      no_long_mode
    mov     $0x80000001, %eax
    cpuid
    test    $(1 << 29), %edx
    jz      no_long_mode
    mov     %edx, (cpuid_ext_edx - KERNEL_VMA)

    /* PML4[0] and PML4[DIRECT_MAP_PML4_INDEX] -> PDPT; PDPT[0..3] -> PD0..PD3 (4 KiB apart,
       contiguous). PML4[511] -> PDPT_HIGH; PDPT_HIGH[510] -> PD0: the image at KERNEL_VMA. */
    mov     $(boot_pdpt - KERNEL_VMA), %eax
    or      $(PTE_P | PTE_W), %eax
    mov     %eax, (boot_pml4 - KERNEL_VMA)
    mov     %eax, (boot_pml4 - KERNEL_VMA + DIRECT_MAP_PML4_INDEX * 8)
    mov     $(boot_pdpt_high - KERNEL_VMA), %eax
    or      $(PTE_P | PTE_W), %eax
    mov     %eax, (boot_pml4 - KERNEL_VMA + 511 * 8)
    mov     $(boot_pd - KERNEL_VMA), %eax
    or      $(PTE_P | PTE_W), %eax
    mov     %eax, (boot_pdpt_high - KERNEL_VMA + IMAGE_PDPT_INDEX * 8)
    mov     $(boot_pdpt - KERNEL_VMA), %edi
    mov     $4, %ecx
1:  mov     %eax, (%edi)
    add     $4096, %eax
    add     $8, %edi
    loop    1b

    /* PD0..PD3: 2048 entries of 2 MiB, entry i maps i * 2 MiB. */
    mov     $(boot_pd - KERNEL_VMA), %edi
    mov     $(PTE_P | PTE_W | PTE_PS), %eax
    mov     $2048, %ecx
2:  mov     %eax, (%edi)
    add     $0x200000, %eax
    add     $8, %edi
    loop    2b

    /* PD0[0] -> PT0: the first 2 MiB in 4 KiB pages, page 0 left not present. */
    mov     $(boot_pt0 - KERNEL_VMA), %eax
    or      $(PTE_P | PTE_W), %eax
    mov     %eax, (boot_pd - KERNEL_VMA)
    mov     $(boot_pt0 - KERNEL_VMA + 8), %edi
    mov     $(0x1000 | PTE_P | PTE_W), %eax
    mov     $511, %ecx
3:  mov     %eax, (%edi)
    add     $0x1000, %eax
    add     $8, %edi
    loop    3b

    /* Guard page under the boot stack: not present, so an overflow faults (onto the IST stack)
       instead of running into whatever .bss lies below. Only possible while it lies in PT0. */
    mov     $(boot_stack_guard - KERNEL_VMA), %eax
    cmp     $0x200000, %eax
    jae     4f
    shr     $12, %eax
    movl    $0, (boot_pt0 - KERNEL_VMA)(, %eax, 8)
4:

    /* CR4: PAE for long mode; OSFXSR/OSXMMEXCPT so SSE works (the C# compiler zeroes and copies
       structs with xmm registers) and fxsave/fxrstor save it. */
    mov     %cr4, %eax
    or      $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    mov     %eax, %cr4

    mov     $(boot_pml4 - KERNEL_VMA), %eax
    mov     %eax, %cr3

    /* EFER: long mode enable; no-execute enable when the CPU has NX (EDX bit 20). */
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $EFER_LME, %eax
    testl   $(1 << 20), (cpuid_ext_edx - KERNEL_VMA)
    jz      5f
    or      $EFER_NXE, %eax
5:  wrmsr

    /* CR0: paging on (activates long mode), FPU/SSE usable (EM off, MP on, native x87 errors),
       supervisor writes honour read-only pages (WP). */
    mov     %cr0, %eax
    and     $~CR0_EM, %eax
    or      $(CR0_PE | CR0_MP | CR0_NE | CR0_WP | CR0_PG), %eax
    mov     %eax, %cr0

    lgdt    (gdt64_ptr_low - KERNEL_VMA)
    ljmp    $0x08, $(start64_low - KERNEL_VMA)

no_long_mode:
    mov     $(msg_no_long_mode - KERNEL_VMA), %esi
6:  lodsb
    test    %al, %al
    jz      7f
    mov     $COM1, %dx
    outb    %al, %dx
    jmp     6b
7:  mov     $DEBUG_EXIT_PORT, %dx
    mov     $EXIT_BOOT_FAIL, %eax
    outl    %eax, %dx
8:  hlt
    jmp     8b

/* ---------------------------------------------------------------------------------------- */
    .section .text.boot64, "ax"
    .code64
/* Long mode, still at the physical address (through the identity map): jump to the same code's
   link address. */
start64_low:
    movabs  $start64, %rax
    jmp     *%rax

start64:
    /* From here on every address is the linked (high) one: the GDT again from its high address,
       the identity map gone (a stray physical pointer faults from now on). */
    lgdt    gdt64_ptr(%rip)
    movq    $0, boot_pml4(%rip)
    mov     %cr3, %rax
    mov     %rax, %cr3
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    xor     %ax, %ax
    mov     %ax, %fs
    mov     %ax, %gs

    /* The TSS carries IST1, the stack the CPU switches to for #DF and NMI (Idt.cs): a kernel
       stack overflow then still produces a report instead of a triple fault. RSP0, the stack a
       trap from ring 3 lands on, is the running process's kernel stack (UserMode.cs sets it). */
    lea     tss64(%rip), %rax
    mov     %ax, gdt64_tss + 2(%rip)
    shr     $16, %rax
    mov     %al, gdt64_tss + 4(%rip)
    mov     %ah, gdt64_tss + 7(%rip)
    shr     $16, %rax
    mov     %eax, gdt64_tss + 8(%rip)
    lea     ist1_stack_top(%rip), %rax
    mov     %rax, tss64 + 36(%rip)
    movw    $104, tss64 + 102(%rip)         /* I/O map base past the limit: no I/O bitmap */
    mov     $0x28, %ax
    ltr     %ax

    lea     boot_stack_top(%rip), %rsp
    xor     %ebp, %ebp
    fninit

    mov     mb_magic(%rip), %edi
    mov     mb_info(%rip), %esi             /* physical: kmain reaches it through the direct map */
    call    kmain

    /* kmain must not return; if it does, report it through the exit device. */
    mov     $DEBUG_EXIT_PORT, %dx
    mov     $EXIT_BOOT_FAIL, %eax
    outl    %eax, %dx
9:  cli
    hlt
    jmp     9b

/* ---------------------------------------------------------------------------------------- */
    .section .rodata
msg_no_long_mode:
    .asciz "boot: this CPU has no long mode (x86-64); SharpMM needs it\n"

    .data
    .balign 16
/* Flat segments; only CS.L matters in long mode. The GDT lives in .data because start64 patches
   the TSS base into it. The order is the one syscall/sysret need (UserMode.cs programs STAR):
   syscall loads CS = 0x08 and SS = 0x10; sysret (64-bit) loads SS = 0x10 + 8 = 0x18 and
   CS = 0x10 + 16 = 0x20, both with RPL 3. The other CPUs copy it (PerCpus.cs). */
    .global gdt64_rw
gdt64_rw:
    .quad 0
    .quad 0x00AF9A000000FFFF                /* 0x08 code: present, ring 0, L=1 */
    .quad 0x00CF92000000FFFF                /* 0x10 data: present, writable */
    .quad 0x00CFF2000000FFFF                /* 0x18 user data: DPL 3 (selector 0x1b) */
    .quad 0x00AFFA000000FFFF                /* 0x20 user code: DPL 3, L=1 (selector 0x23) */
gdt64_tss:
    .quad 0x0000890000000067                /* 0x28 TSS: present, available, limit 103 */
    .quad 0
gdt64_end:
/* lgdt in 32-bit mode reads a 32-bit base: the GDT's physical address. */
gdt64_ptr_low:
    .word gdt64_end - gdt64_rw - 1
    .long gdt64_rw - KERNEL_VMA
    .balign 8
gdt64_ptr:
    .word gdt64_end - gdt64_rw - 1
    .quad gdt64_rw

    .global mb_magic, mb_info, boot_tsc
mb_magic:       .long 0
mb_info:        .long 0
cpuid_ext_edx:  .long 0
    .balign 8
boot_tsc:       .quad 0

/* ---------------------------------------------------------------------------------------- */
    .bss
    .balign 4096
    .global boot_pml4, boot_pdpt, boot_pdpt_high, boot_pd, boot_pt0, direct_map_pd_pool
boot_pml4:      .skip 4096
boot_pdpt:      .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4 * 4096              /* PD0..PD3, contiguous */
boot_pt0:       .skip 4096
direct_map_pd_pool:
                .skip DIRECT_MAP_PDS * 4096
    .global direct_map_pd_pool_end
direct_map_pd_pool_end:

    .global boot_stack_guard, boot_stack_bottom, boot_stack_top
boot_stack_guard:
                .skip 4096
boot_stack_bottom:
                .skip BOOT_STACK_SIZE
boot_stack_top:

    .balign 16
ist1_stack_bottom:
                .skip IST_STACK_SIZE
ist1_stack_top:

    .balign 16
    .global tss64
tss64:          .skip 104

    .section .note.GNU-stack, "", @progbits
