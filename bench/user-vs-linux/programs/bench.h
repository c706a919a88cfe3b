/* Shared helpers of the benchmark programs: CLOCK_MONOTONIC and the TSC, raw memory calls, and the
 * one result line each program prints ("BENCH name key=value ..."), read by run.sh. The same
 * static binary runs under Linux and under SharpMM, so both kernels are timed by the same code. */
#ifndef BENCH_H
#define BENCH_H
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

static inline uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static inline uint64_t tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) :: "memory");
    return (uint64_t)hi << 32 | lo;
}

static inline void *map_anon(size_t n)
{
    void *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { printf("BENCH error mmap of %zu bytes failed\n", n); fflush(stdout); exit(1); }
    return p;
}

/* One line, written at once. */
static void result(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void result(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0) { if ((size_t)n >= sizeof buf) n = sizeof buf - 1; if (write(1, buf, (size_t)n) < 0) exit(3); }
}

static inline unsigned long arg_ul(int argc, char **argv, int i, unsigned long fallback)
{
    return i < argc ? strtoul(argv[i], 0, 0) : fallback;
}

#endif
