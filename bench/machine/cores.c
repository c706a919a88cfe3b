/* What the machine's cores cost each other, to read several-thread benchmarks against:
 *
 *   cores transfer         ns for one cache line to move from one core to another: two threads
 *                          (on cores 0 and 1) take turns storing to one line, each waiting for
 *                          the other's store
 *   cores loads BYTES      ns per load of a chain of dependent loads through BYTES of memory
 *                          (one load per 64-byte line, in a random cyclic order), on this core
 *
 * bench/machine.sh runs both, the loads alone and on two cores at once. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

#define TURNS 2000000ull
static volatile uint64_t line[8] __attribute__((aligned(64)));

/* Odd values are the other thread's to write, even ones this thread's. */
static void take_turns(uint64_t first)
{
    for (uint64_t i = first; i < 2 * TURNS; i += 2) {
        while (line[0] != i) {}
        line[0] = i + 1;
    }
}

static void *other(void *arg)
{
    (void)arg;
    pin(1);
    take_turns(1);
    return NULL;
}

static int transfer(void)
{
    pthread_t t;
    line[0] = 0;
    if (pthread_create(&t, NULL, other, NULL) != 0) { perror("pthread_create"); return 1; }
    pin(0);
    uint64_t t0 = now_ns();
    take_turns(0);
    uint64_t ns = now_ns() - t0;
    pthread_join(t, NULL);
    printf("%.1f ns per line moved between cores 0 and 1\n", (double)ns / (2.0 * TURNS));
    return 0;
}

static int loads(size_t bytes)
{
    size_t n = bytes / 64;
    if (n < 2) { fprintf(stderr, "loads: BYTES must be at least 128\n"); return 2; }
    uint64_t *a = aligned_alloc(64, n * 64);
    size_t *order = malloc(n * sizeof *order);
    if (!a || !order) { fprintf(stderr, "loads: out of memory\n"); return 1; }
    for (size_t i = 0; i < n; i++) order[i] = i;
    uint64_t r = 88172645463325252ull;   /* xorshift64: a fixed random order */
    for (size_t i = n - 1; i > 0; i--) {
        r ^= r << 13; r ^= r >> 7; r ^= r << 17;
        size_t k = r % (i + 1), t = order[i];
        order[i] = order[k];
        order[k] = t;
    }
    for (size_t i = 0; i < n; i++) a[order[i] * 8] = order[(i + 1) % n] * 8;
    const long steps = 20000000;
    uint64_t j = 0, t0 = now_ns();
    for (long k = 0; k < steps; k++) j = a[j];
    uint64_t ns = now_ns() - t0;
    printf("%.2f ns per dependent load over %zu bytes (end %llu)\n", (double)ns / steps, bytes, (unsigned long long)j);
    free(a);
    free(order);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "transfer")) return transfer();
    if (argc == 3 && !strcmp(argv[1], "loads")) return loads((size_t)strtoull(argv[2], NULL, 10));
    fprintf(stderr, "usage: %s transfer | loads BYTES\n", argv[0]);
    return 2;
}
