/* mmap/munmap churn: SMALL LARGE (defaults 20000 and 400). SMALL rounds of one-page mappings (mapped,
 * written, unmapped) and LARGE rounds of 64 MiB mappings with 16 pages written across them, so
 * both the call path and the cost of tearing down a sparse large region are in the figure.
 * Prints: BENCH mmap-churn ms=TOTAL small_ns=PER_SMALL_ROUND large_us=PER_LARGE_ROUND */
#include "bench.h"

int main(int argc, char **argv)
{
    unsigned long small = arg_ul(argc, argv, 1, 20000), large = arg_ul(argc, argv, 2, 400);
    const size_t big = 64UL << 20;
    uint64_t t0 = now_ns();
    for (unsigned long i = 0; i < small; i++) {
        volatile char *p = map_anon(PAGE);
        p[0] = (char)i;
        munmap((void *)p, PAGE);
    }
    uint64_t t1 = now_ns();
    for (unsigned long i = 0; i < large; i++) {
        volatile char *p = map_anon(big);
        for (size_t k = 0; k < 16; k++) p[k * (big / 16)] = (char)k;
        munmap((void *)p, big);
    }
    uint64_t t2 = now_ns();
    result("BENCH mmap-churn ms=%.3f small_ns=%.0f large_us=%.2f\n", (t2 - t0) / 1e6, small ? (double)(t1 - t0) / small : 0.0,
           large ? (double)(t2 - t1) / large / 1e3 : 0.0);
    return 0;
}
