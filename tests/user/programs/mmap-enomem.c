/* mmap until ENOMEM, free, and go on: 1 GiB private anonymous mappings until the kernel refuses
 * one with ENOMEM (the address space or the memory limit runs out), a page touched in the first
 * few; then all of them unmapped, and a new mapping works and holds data. MAP_NORESERVE: Linux's
 * default overcommit refuses any single mapping larger than RAM and swap, which would make the
 * answer depend on the machine's memory. */
#include "common.h"

/* i386: 64 MiB chunks (3 GiB of user space hold about 40), at least 16 (1 GiB) expected. */
#if defined(__i386__)
#define CHUNK (64UL << 20)
#define CHUNK_TEXT "64 MiB"
#define LEAST_TEXT "1 GiB"
#else
#define CHUNK (1UL << 30)
#define CHUNK_TEXT "1 GiB"
#define LEAST_TEXT "16 GiB"
#endif
#define MAX_CHUNKS (1UL << 18)

static char *chunks[MAX_CHUNKS];

int main(void)
{
    unsigned long n = 0;
    long r = 0;
    while (n < MAX_CHUNKS) {
        r = RAW(SYS_mmap, 0, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (failed(r)) break;
        chunks[n] = (char *)r;
        if (n < 16) chunks[n][n * PAGE] = (char)n;
        n++;
    }
    if (n == MAX_CHUNKS) { say("no ENOMEM after %lu chunks of " CHUNK_TEXT "\n", n); return 1; }
    say("mmap of " CHUNK_TEXT " failed with %s after at least " LEAST_TEXT ": %s\n", errno_name((int)-r), n >= 16 ? "yes" : "no");
    unsigned long bad = 0;
    for (unsigned long i = 0; i < 16 && i < n; i++) if (chunks[i][i * PAGE] != (char)i) bad++;
    say("the touched pages kept their data: %s\n", bad ? "no" : "yes");
    unsigned long unmap_failures = 0;
    for (unsigned long i = 0; i < n; i++) if (failed(RAW(SYS_munmap, chunks[i], CHUNK, 0, 0, 0, 0))) unmap_failures++;
    say("munmap of every chunk: %lu failed\n", unmap_failures);
    r = check("mmap 16 MiB after freeing", RAW(SYS_mmap, 0, 16UL << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (failed(r)) return 1;
    char *p = (char *)r;
    for (size_t i = 0; i < (16UL << 20); i += PAGE) p[i] = (char)(i >> 12);
    unsigned long wrong = 0;
    for (size_t i = 0; i < (16UL << 20); i += PAGE) if (p[i] != (char)(i >> 12)) wrong++;
    say("16 MiB written and read back: %lu pages wrong\n", wrong);
    return wrong || unmap_failures ? 1 : 0;
}
