/* More memory than the guest has: MIB (default 128) of anonymous memory, every page written with a
 * value of its index and read back twice (in order, then in reverse), so under a 64 MiB guest its
 * pages must go out to the backing store and come back. */
#include "common.h"

static uint64_t value(size_t page, unsigned pass) { return (page * 0x9E3779B97F4A7C15ULL) ^ pass; }

int main(int argc, char **argv)
{
    size_t mib = arg_ul(argc, argv, 1, 128);
    size_t pages = mib * 256, n = pages * PAGE;
    long r = RAW(SYS_mmap, 0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (failed(r)) { say("mmap %zu MiB: %s\n", mib, errno_name((int)-r)); return 1; }
    unsigned char *p = (unsigned char *)r;
    for (size_t i = 0; i < pages; i++) {
        uint64_t v = value(i, 0);
        memcpy(p + i * PAGE, &v, 8);
        memcpy(p + i * PAGE + PAGE - 8, &v, 8);
    }
    unsigned long bad = 0;
    for (size_t i = 0; i < pages; i++) {
        uint64_t a, b, v = value(i, 0);
        memcpy(&a, p + i * PAGE, 8); memcpy(&b, p + i * PAGE + PAGE - 8, 8);
        if (a != v || b != v) bad++;
        uint64_t w = value(i, 1);
        memcpy(p + i * PAGE + 2048, &w, 8);
    }
    for (size_t i = pages; i-- > 0;) {
        uint64_t a, c, v = value(i, 0), w = value(i, 1);
        memcpy(&a, p + i * PAGE, 8); memcpy(&c, p + i * PAGE + 2048, 8);
        if (a != v || c != w) bad++;
    }
    say("touched %zu MiB (%zu pages) three times: %lu pages wrong\n", mib, pages, bad);
    check("munmap", RAW(SYS_munmap, p, n, 0, 0, 0, 0));
    return bad ? 1 : 0;
}
