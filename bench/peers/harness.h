/* What every C reference program shares: the workloads' random numbers, the clock, medians, the
 * arena, the report line. The definitions they implement are in README.md next to this file. */
#ifndef PEERS_HARNESS_H
#define PEERS_HARNESS_H
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* splitmix64, the generator every workload draws from (README.md, "Random numbers"). */
typedef struct { uint64_t state; } prng;

static inline uint64_t prng_next(prng *g)
{
    uint64_t z = g->state += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A draw in [0, n): the top 32 bits scaled by n (no rejection; the workloads define it so). */
static inline uint32_t prng_bound(uint64_t draw, uint32_t n)
{
    return (uint32_t)(((draw >> 32) * (uint64_t)n) >> 32);
}

/* Fisher-Yates over 0..n-1, drawing j in [0, i] from i = n-1 down to 1. */
static void prng_permutation(prng *g, uint32_t *out, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) out[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = prng_bound(prng_next(g), i + 1);
        uint32_t t = out[i]; out[i] = out[j]; out[j] = t;
    }
}

/* The operations a workload times are forced inline, as in a kernel where the allocator's fast
 * path is compiled into its caller: otherwise gcc's heuristics decide per program, and the
 * comparison would measure a call. */
#define HOT static inline __attribute__((always_inline))

static inline uint64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n values (sorts a copy; n <= 64, the largest --reps the drivers accept). */
static double median_of(const double *v, int n)
{
    double t[64];
    memcpy(t, v, sizeof(double) * (size_t)n);
    qsort(t, (size_t)n, sizeof(double), by_value);
    return (n & 1) ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* Simulated physical memory. Timed runs commit it up front (MAP_POPULATE) so that no page fault
 * lands in a measured region; the self-test leaves it lazy. */
static unsigned char *arena_map(size_t bytes, int commit)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (commit ? MAP_POPULATE : 0), -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(1); }
    return p;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* The command line every driver takes: WORKLOAD [--scale S] [--reps N] [--json], the same options
 * `sharpmm bench` takes, or `selftest`. */
typedef struct { const char *workload; double scale; int reps; int json; } run_args;

static run_args parse_args(int argc, char **argv, const char *usage)
{
    run_args a = { NULL, 1.0, 5, 0 };
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--scale") && i + 1 < argc) a.scale = atof(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) a.reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json")) a.json = 1;
        else if (argv[i][0] != '-' && !a.workload) a.workload = argv[i];
        else die("usage: %s %s", argv[0], usage);
    }
    if (!a.workload) die("usage: %s %s", argv[0], usage);
    if (!(a.scale > 0 && a.scale <= 100)) die("--scale must be in (0, 100]");
    if (a.reps < 1 || a.reps > 64) die("--reps must be 1..64");
    return a;
}

/* One result line: human-readable, or with --json one object whose field names are those of
 * `sharpmm bench --json` (bench/compare.sh reads both the same way). Fields are name, value
 * pairs (const char *, double) ending with NULL; whole numbers print without decimals. */
static void report(const run_args *a, const char *design, const char *workload, const char *what, ...)
{
    va_list ap;
    if (a->json) {
        printf("{\"design\":\"%s\",\"workload\":\"%s\",\"scale\":%g,\"reps\":%d", design, workload, a->scale, a->reps);
        va_start(ap, what);
        for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
            double v = va_arg(ap, double);
            printf(v == (double)(int64_t)v ? ",\"%s\":%.0f" : ",\"%s\":%.2f", k, v);
        }
        va_end(ap);
        printf("}\n");
        return;
    }
    printf("%-16s %-5s %-34s:", design, workload, what);
    va_start(ap, what);
    for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
        double v = va_arg(ap, double);
        printf(v == (double)(int64_t)v ? " %s %.0f" : " %s %.2f", k, v);
    }
    va_end(ap);
    printf("  [scale %g, median of %d]\n", a->scale, a->reps);
}

/* Self-test bookkeeping: each check prints one line; the program ends with "N passed, M failed". */
static int checks_passed, checks_failed;

static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "ok  " : "FAIL");
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (ok) checks_passed++; else checks_failed++;
}

static int checks_summary(void)
{
    printf("%d passed, %d failed\n", checks_passed, checks_failed);
    return checks_failed != 0;
}
#endif
