/* write() from addresses the process may not read: the call returns EFAULT and the process goes
 * on. Kernel half, non-canonical, the NULL page, memory unmapped a moment ago, a PROT_NONE page.
 * A buffer that runs from a mapped page into an unmapped one is left out: Linux writes its readable
 * prefix to a regular file (a short count) but answers EFAULT on a terminal, so the answer depends
 * on what stderr is, not on the memory code. */
#include "common.h"

static void try_write(const char *what, const void *buf, size_t n)
{
    long r = RAW(SYS_write, 2, buf, n, 0, 0, 0);
    if (failed(r)) say("write from %s: %s\n", what, errno_name((int)-r));
    else say("write from %s: wrote %ld of %zu\n", what, r, n);
}

int main(void)
{
#if defined(__i386__)
    try_write("the kernel image (0xc0100000)", (void *)KERNEL_IMAGE, 16);
    try_write("the start of the kernel quarter (0xc0000000)", (void *)USER_END, 16);
    try_write("the last page (0xfffff000)", (void *)0xfffff000UL, 16);
#else
    try_write("the kernel image (0xffffffff80000000)", (void *)0xffffffff80000000UL, 16);
    try_write("the direct map (0xffff888000000000)", (void *)0xffff888000000000UL, 16);
    try_write("the last page (0xfffffffffffff000)", (void *)0xfffffffffffff000UL, 16);
    try_write("a non-canonical address", (void *)0x0000800000000000UL, 16);
#endif
    try_write("address 0", (void *)0, 16);
    try_write("address 0x1000", (void *)0x1000, 16);

    char *p = (char *)RAW(SYS_mmap, 0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (failed((long)p)) { say("mmap: %s\n", errno_name((int)-(long)p)); return 1; }
    memset(p, 'x', 2 * PAGE);
    check("munmap second page", RAW(SYS_munmap, p + PAGE, PAGE, 0, 0, 0, 0));
    try_write("the unmapped page", p + PAGE, 16);
    check("mprotect first page PROT_NONE", RAW(SYS_mprotect, p, PAGE, PROT_NONE, 0, 0, 0));
    try_write("a PROT_NONE page", p, 16);
    check("munmap first page", RAW(SYS_munmap, p, PAGE, 0, 0, 0, 0));
    try_write("the page just unmapped", p, 16);
    say("\nthe process goes on after every EFAULT\n");
    return 0;
}
