/* First-touch faults: MIB (default 256) of fresh anonymous memory, one byte written per 4 KiB page,
 * with the TSC and CLOCK_MONOTONIC read around the touches only (the mmap and munmap are not in
 * the figure). Unless the second argument is "thp", the region is advised MADV_NOHUGEPAGE so
 * Linux takes one fault per 4 KiB page as SharpMM does (a kernel that does not know the advice
 * just refuses it; the program goes on).
 * Prints: BENCH first-touch ms=TOUCH_TIME pages=N cycles_per_fault=C ns_per_fault=T */
#include "bench.h"

int main(int argc, char **argv)
{
    size_t mib = arg_ul(argc, argv, 1, 256);
    int thp = argc > 2 && !strcmp(argv[2], "thp");
    size_t n = mib << 20, pages = n / PAGE;
    volatile char *p = map_anon(n);
    if (!thp) (void)madvise((void *)p, n, MADV_NOHUGEPAGE);
    uint64_t c0 = tsc(), t0 = now_ns();
    for (size_t i = 0; i < pages; i++) p[i * PAGE] = (char)i;
    uint64_t c1 = tsc(), t1 = now_ns();
    munmap((void *)p, n);
    result("BENCH first-touch%s ms=%.3f pages=%zu cycles_per_fault=%.0f ns_per_fault=%.0f\n", thp ? "-thp" : "", (t1 - t0) / 1e6, pages,
           (double)(c1 - c0) / pages, (double)(t1 - t0) / pages);
    return 0;
}
