/* The several-thread page-allocator workloads W5 and W5x (README.md, "Several threads") on the
 * design Linux runs on many CPUs: the reference buddy allocator (buddy.h) behind one zone lock,
 * and a per-thread order-0 cache (batch 63, high 378) that takes the lock only to refill or
 * drain. Compared with SharpMM's `bench W5|W5x --threads N` (bench/compare.sh W5).
 *
 *   refbuddy_mt W5|W5x [--threads N] [--scale S] [--reps N] [--json]   median of N runs
 *   refbuddy_mt selftest                                                small checked runs
 *
 * The zone lock is test and test-and-set on a line of its own, spinning with `pause` and
 * yielding the core after 64 turns (threads may outnumber cores). Rounds meet at a barrier whose
 * waiters spin while the threads do not outnumber the processors this process may run on, yield
 * when they do, and sleep only after 20 ms: the policy of SharpMM's harness (CpuBarrier), so that
 * both measure the allocator rather than the operating system's wake-ups. */
#include "buddy.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <strings.h>

#define FRAMES 262144u
#define BATCH 4096u
#define MAX_THREADS 64

/* ---- the zone lock ---- */
static struct { _Alignas(64) atomic_int held; char pad[60]; } zone_lock;
static struct buddy zone;

static inline void relax(unsigned *turns)
{
    if (++*turns % 64 == 0) sched_yield();
    else __builtin_ia32_pause();
}

static inline void zone_lock_take(void)
{
    unsigned turns = 0;
    for (;;) {
        if (!atomic_load_explicit(&zone_lock.held, memory_order_relaxed)
            && !atomic_exchange_explicit(&zone_lock.held, 1, memory_order_acquire)) return;
        relax(&turns);
    }
}

static inline void zone_lock_drop(void) { atomic_store_explicit(&zone_lock.held, 0, memory_order_release); }

/* ---- the per-thread cache: buddy.h's, with the zone lock taken only when a call refills
 * (the cache is empty) or drains (the push takes it past its high) ---- */
struct thread_cache { _Alignas(64) struct pcp_cache pcp; };

static uint32_t cached_alloc(struct thread_cache *c)
{
    if (c->pcp.count != 0) return buddy_pcp_alloc(&zone, &c->pcp, 0);
    zone_lock_take();
    uint32_t pfn = buddy_pcp_alloc(&zone, &c->pcp, 0);
    zone_lock_drop();
    return pfn;
}

static void cached_free(struct thread_cache *c, uint32_t pfn)
{
    if (c->pcp.count < c->pcp.high) { buddy_pcp_free(&zone, &c->pcp, pfn, 0); return; }
    zone_lock_take();
    buddy_pcp_free(&zone, &c->pcp, pfn, 0);
    zone_lock_drop();
}

/* ---- the barrier (sense-reversing) ---- */
static struct {
    _Alignas(64) atomic_int remaining;
    _Alignas(64) atomic_int phase;
    int count, yield;
} bar;

static void barrier_init(int threads)
{
    cpu_set_t set;
    int processors = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    atomic_store(&bar.remaining, threads);
    atomic_store(&bar.phase, 0);
    bar.count = threads;
    bar.yield = threads > processors;
}

static void barrier_wait(void)
{
    int phase = atomic_load_explicit(&bar.phase, memory_order_acquire);
    if (atomic_fetch_sub_explicit(&bar.remaining, 1, memory_order_acq_rel) == 1) {
        atomic_store_explicit(&bar.remaining, bar.count, memory_order_relaxed);
        atomic_store_explicit(&bar.phase, phase + 1, memory_order_release);
        return;
    }
    uint64_t start = clock_ns();
    for (unsigned turn = 1; atomic_load_explicit(&bar.phase, memory_order_acquire) == phase; turn++) {
        if (bar.yield) sched_yield();
        else for (int i = 0; i < 4; i++) __builtin_ia32_pause();
        if (turn % 64 == 0 && clock_ns() - start > 20000000ull) {
            struct timespec ms = { 0, 1000000 };
            while (atomic_load_explicit(&bar.phase, memory_order_acquire) == phase) nanosleep(&ms, NULL);
            return;
        }
    }
}

/* ---- one run ---- */
struct worker {
    int t, threads, cross;
    uint64_t rounds, failed, cpu_ns;
    uint32_t *batch, *perm;
    struct thread_cache *cache;
};

static struct worker workers[MAX_THREADS];
static uint64_t wall_start, wall_end;
/* Self-test only: which thread holds each frame (0 free), to catch a frame handed out twice. */
static atomic_uchar *holder;
static atomic_int twice;

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    uint32_t *mine = w->batch;
    const uint32_t *freed = w->cross ? workers[(w->t + 1) % w->threads].batch : mine;
    barrier_wait();
    if (w->t == 0) wall_start = clock_ns();
    uint64_t cpu0 = thread_cpu_ns();
    for (uint64_t r = 0; r < w->rounds; r++) {
        for (uint32_t i = 0; i < BATCH; i++) {
            uint32_t pfn = cached_alloc(w->cache);
            if (pfn == NO_FRAME) { w->failed++; mine[i] = NO_FRAME; continue; }
            if (holder && atomic_exchange(&holder[pfn], (unsigned char)(w->t + 1)) != 0) atomic_fetch_add(&twice, 1);
            mine[i] = pfn;
        }
        if (w->cross) barrier_wait();
        for (uint32_t i = 0; i < BATCH; i++) {
            uint32_t pfn = freed[w->perm[i]];
            if (pfn == NO_FRAME) continue;
            if (holder) atomic_store(&holder[pfn], 0);
            cached_free(w->cache, pfn);
        }
        if (w->cross) barrier_wait();
    }
    w->cpu_ns = thread_cpu_ns() - cpu0;
    barrier_wait();
    if (w->t == 0) wall_end = clock_ns();
    /* Each thread gives its cache back, as each CPU drains its own. */
    zone_lock_take();
    buddy_pcp_drain(&zone, &w->cache->pcp);
    zone_lock_drop();
    return NULL;
}

struct mt_result { double mpairs_per_s, ns_per_pair_per_thread, cpu_ns_per_pair; uint64_t failed, free_frames; };

static struct mt_result mt_run(int threads, int cross, uint64_t rounds)
{
    buddy_init(&zone, FRAMES);
    atomic_store(&zone_lock.held, 0);
    barrier_init(threads);
    for (int t = 0; t < threads; t++) {
        struct worker *w = &workers[t];
        *w = (struct worker){ .t = t, .threads = threads, .cross = cross, .rounds = rounds };
        w->batch = malloc(BATCH * sizeof(uint32_t));
        w->perm = malloc(BATCH * sizeof(uint32_t));
        w->cache = aligned_alloc(64, sizeof *w->cache);
        if (!w->batch || !w->perm || !w->cache) die("out of memory");
        buddy_pcp_init(&w->cache->pcp);
        prng g = { 5000 + (uint64_t)t };
        prng_permutation(&g, w->perm, BATCH);
    }
    pthread_t th[MAX_THREADS];
    for (int t = 0; t < threads; t++)
        if (pthread_create(&th[t], NULL, work, &workers[t]) != 0) die("pthread_create failed");
    struct mt_result r = { 0 };
    uint64_t cpu = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(th[t], NULL);
        r.failed += workers[t].failed;
        cpu += workers[t].cpu_ns;
        free(workers[t].batch); free(workers[t].perm); free(workers[t].cache);
    }
    double pairs = (double)rounds * BATCH * threads, ns = (double)(wall_end - wall_start);
    r.mpairs_per_s = pairs / ns * 1e3;
    r.ns_per_pair_per_thread = ns * threads / pairs;
    r.cpu_ns_per_pair = (double)cpu / pairs;
    r.free_frames = buddy_free_frames(&zone);
    return r;
}

static int fully_merged(void)
{
    return zone.free_blocks[BUDDY_MAX_ORDER] == FRAMES >> BUDDY_MAX_ORDER;
}

static int selftest(void)
{
    holder = calloc(FRAMES, 1);
    for (int cross = 0; cross <= 1; cross++)
        for (int threads = 1; threads <= 3; threads++) {
            atomic_store(&twice, 0);
            struct mt_result r = mt_run(threads, cross, 20);
            check(r.failed == 0 && atomic_load(&twice) == 0,
                  "%s, %d thread%s, 20 rounds: no allocation refused, no frame held by two threads at once (%llu refused, %d twice)",
                  cross ? "W5x" : "W5", threads, threads > 1 ? "s" : "", (unsigned long long)r.failed, atomic_load(&twice));
            check(r.free_frames == FRAMES && fully_merged(),
                  "%s, %d thread%s: every frame free again in order-10 blocks once the caches are drained (%llu free)",
                  cross ? "W5x" : "W5", threads, threads > 1 ? "s" : "", (unsigned long long)r.free_frames);
            buddy_destroy(&zone);
        }
    free(holder);
    holder = NULL;
    return checks_summary();
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "selftest")) return selftest();
    /* --threads N is this program's own; the rest is the common command line. */
    int threads = 1, n = 0;
    char *rest[64];
    for (int i = 0; i < argc && n < 63; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else rest[n++] = argv[i];
    }
    rest[n] = NULL;
    run_args a = parse_args(n, rest, "W5|W5x [--threads N] [--scale S] [--reps N] [--json] | selftest");
    if (threads < 1 || threads > MAX_THREADS) die("--threads must be 1..%d", MAX_THREADS);
    int cross;
    if (!strcasecmp(a.workload, "W5")) cross = 0;
    else if (!strcasecmp(a.workload, "W5x")) cross = 1;
    else die("unknown workload %s (W5, W5x)", a.workload);
    uint64_t rounds = (uint64_t)(200 * a.scale);
    if (rounds < 1) rounds = 1;
    double rate[64], per_thread[64], cpu[64];
    for (int r = 0; r < a.reps; r++) {
        struct mt_result m = mt_run(threads, cross, rounds);
        if (m.failed != 0 || m.free_frames != FRAMES) die("%s: %llu allocations refused, %llu of %u frames free at the end",
                                                          a.workload, (unsigned long long)m.failed, (unsigned long long)m.free_frames, FRAMES);
        buddy_destroy(&zone);
        rate[r] = m.mpairs_per_s; per_thread[r] = m.ns_per_pair_per_thread; cpu[r] = m.cpu_ns_per_pair;
    }
    report(&a, "refbuddy+pcp+lock", cross ? "W5x" : "W5", "alloc+free pairs, all threads", "threads", (double)threads,
           "mpairs_per_s", median_of(rate, a.reps), "ns_per_pair_per_thread", median_of(per_thread, a.reps),
           "cpu_ns_per_pair", median_of(cpu, a.reps), NULL);
    return 0;
}
