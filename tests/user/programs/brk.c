/* brk growth and shrink through the raw system call (brk returns the new break, or the old one
 * when it refuses): grow by 1 MiB and fill it, shrink to 256 KiB (the pages above are gone),
 * grow again (they come back zero), refuse a break below the start, in the kernel half or
 * non-canonical, and a grow by 2^46 bytes (Linux refuses it: the data limit or the
 * mappings above). Only differences from the first break are printed. */
#include "common.h"

static unsigned long brk_to(unsigned long a) { return (unsigned long)syscall(SYS_brk, a); }

int main(void)
{
    char buf[64];
    unsigned long start = brk_to(0);
    say("brk(0) is page-aligned: %s\n", start % PAGE == 0 ? "yes" : "no");
    unsigned long mib = 1UL << 20;
    unsigned long b = brk_to(start + mib);
    say("grow by 1 MiB: %s\n", b == start + mib ? "moved" : "refused");
    unsigned char *p = (unsigned char *)start;
    for (unsigned long i = 0; i < mib; i++) p[i] = (unsigned char)(i * 7 + (i >> 12));
    uint64_t h = fnv(FNV_START, p, mib);
    say("  filled, checksum %016llx\n", (unsigned long long)h);
    uint64_t kept = fnv(FNV_START, p, mib / 4);
    b = brk_to(start + mib / 4);
    say("shrink to 256 KiB: %s\n", b == start + mib / 4 ? "moved" : "refused");
    say("  read below the break: %s\n", probe((char *)p + mib / 4 - 1, READ, buf, sizeof buf));
    say("  read 512 KiB up (above the break): %s\n", probe((char *)p + mib / 2, READ, buf, sizeof buf));
    say("  data below kept: %s\n", fnv(FNV_START, p, mib / 4) == kept ? "yes" : "no");
    b = brk_to(start + mib);
    say("grow to 1 MiB again: %s\n", b == start + mib ? "moved" : "refused");
    int zero = 1;
    for (unsigned long i = mib / 4 + PAGE; i < mib; i++) if (p[i]) { zero = 0; break; }
    say("  the pages given back read zero: %s\n", zero ? "yes" : "no");
    b = brk_to(start + mib + 123);
    say("grow to an unaligned break: %s, the byte at it writable: %s\n", b == start + mib + 123 ? "moved" : "refused",
        probe((char *)p + mib + 122, WRITE, buf, sizeof buf));
    b = brk_to(start - PAGE);
    say("below the start: %s\n", b == start + mib + 123 ? "refused" : "moved");
    b = brk_to(KERNEL_IMAGE);
    say("a kernel address: %s\n", b == start + mib + 123 ? "refused" : "moved");
#if defined(__x86_64__)
    b = brk_to(0x0000900000000000UL);
    say("a non-canonical address: %s\n", b == start + mib + 123 ? "refused" : "moved");
    b = brk_to(start + (1UL << 46));
    say("grow by 2^46 bytes: %s\n", b == start + mib + 123 ? "refused" : "moved");
#endif
    b = brk_to(start);
    say("back to the start: %s\n", b == start ? "moved" : "refused");
    say("  read the first heap page: %s\n", probe((char *)p, READ, buf, sizeof buf));
    return 0;
}
