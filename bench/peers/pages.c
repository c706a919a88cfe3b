/* The page-allocator workloads W0, W1, W2 and W2-o9 (README.md) on the reference buddy allocator
 * (buddy.h), over a 1 GiB arena of 262,144 frames. Built twice: plain (`refbuddy`, compared with
 * SharpMM's buddy with its per-CPU cache off) and with -DWITH_PCP (`refbuddy+pcp`, compared with
 * it on). The allocator never touches the frames themselves, so no arena memory is mapped.
 *
 *   pages W0|W1|W2|W2o9 [--scale S] [--reps N] [--json]     one workload, median of N runs
 *   pages selftest                                           the published checks, small runs */
#include "buddy.h"

#define FRAMES 262144u
#define HALF_FRAMES (FRAMES / 2)

static struct buddy alloc_state;
#ifdef WITH_PCP
static struct pcp_cache cpu_cache;
static const char *design = "refbuddy+pcp";
HOT uint32_t page_alloc(int order) { return buddy_pcp_alloc(&alloc_state, &cpu_cache, order); }
HOT void page_free(uint32_t pfn, int order) { buddy_pcp_free(&alloc_state, &cpu_cache, pfn, order); }
static void page_drain(void) { buddy_pcp_drain(&alloc_state, &cpu_cache); }
#else
static const char *design = "refbuddy";
HOT uint32_t page_alloc(int order) { return buddy_alloc(&alloc_state, order); }
HOT void page_free(uint32_t pfn, int order) { buddy_free(&alloc_state, pfn, order); }
static void page_drain(void) {}
#endif

/* Each run starts from a fresh allocator. */
static void fresh(void)
{
    buddy_init(&alloc_state, FRAMES);
#ifdef WITH_PCP
    buddy_pcp_init(&cpu_cache);
#endif
}

static void retire(void)
{
    page_drain();
    buddy_destroy(&alloc_state);
}

/* ---- W0: the hot pair ---- */
static double w0_run(uint64_t pairs)
{
    fresh();
    for (int i = 0; i < 1000; i++) page_free(page_alloc(0), 0);
    uint64_t t0 = clock_ns();
    for (uint64_t i = 0; i < pairs; i++) {
        uint32_t pfn = page_alloc(0);
        if (pfn == NO_FRAME) die("W0: allocation failed");
        page_free(pfn, 0);
    }
    double ns = (double)(clock_ns() - t0) / (double)pairs;
    page_drain();
    return ns;
}

/* ---- W1: order-0 churn; ns per allocation and per free ---- */
struct w1_result { double alloc_ns, free_ns; };

static struct w1_result w1_run(int rounds, uint32_t *held, uint32_t *order)
{
    const uint32_t n = 100000;
    prng g = { 1 };
    uint64_t alloc_total = 0, free_total = 0;
    fresh();
    for (int r = 0; r < rounds; r++) {
        prng_permutation(&g, order, n);
        uint64_t t0 = clock_ns();
        for (uint32_t i = 0; i < n; i++) held[i] = page_alloc(0);
        uint64_t t1 = clock_ns();
        for (uint32_t i = 0; i < n; i++)
            if (held[i] == NO_FRAME) die("W1: allocation failed");
        uint64_t t2 = clock_ns();
        for (uint32_t i = 0; i < n; i++) page_free(held[order[i]], 0);
        free_total += clock_ns() - t2;
        alloc_total += t1 - t0;
    }
    page_drain();
    return (struct w1_result){ (double)alloc_total / ((double)n * rounds), (double)free_total / ((double)n * rounds) };
}

/* ---- W2: mixed orders at half the arena live ---- */
struct live_block { uint32_t pfn; uint32_t order; };

struct w2_result {
    double step_ns, fill_ns;
    uint64_t allocs, frees, failed, free_frames, order10, order9;
    int largest_order;
};

HOT int w2_order(uint64_t draw, int max_order) { return __builtin_ctzll(draw | (1ull << max_order)); }

static struct w2_result w2_run(uint64_t steps, int max_order, struct live_block *live, uint32_t *scratch)
{
    struct w2_result res = { 0 };
    prng g = { 2 };
    uint32_t nlive = 0;
    uint64_t live_frames = 0, fill_calls = 0;
    fresh();

    uint64_t f0 = clock_ns();
    while (live_frames < HALF_FRAMES) {
        int order = w2_order(prng_next(&g), max_order);
        uint32_t pfn = page_alloc(order);
        fill_calls++;
        if (pfn != NO_FRAME) { live[nlive++] = (struct live_block){ pfn, (uint32_t)order }; live_frames += 1u << order; }
    }
    res.fill_ns = (double)(clock_ns() - f0) / (double)fill_calls;

    uint64_t t0 = clock_ns();
    for (uint64_t s = 0; s < steps; s++) {
        uint64_t r1 = prng_next(&g), r2 = prng_next(&g);
        if (live_frames < HALF_FRAMES) {
            int order = w2_order(r1, max_order);
            uint32_t pfn = page_alloc(order);
            if (pfn == NO_FRAME) { res.failed++; continue; }
            live[nlive++] = (struct live_block){ pfn, (uint32_t)order };
            live_frames += 1u << order;
            res.allocs++;
        } else {
            uint32_t victim = prng_bound(r2, nlive);
            page_free(live[victim].pfn, (int)live[victim].order);
            live_frames -= 1u << live[victim].order;
            live[victim] = live[--nlive];
            res.frees++;
        }
    }
    res.step_ns = (double)(clock_ns() - t0) / (double)steps;

    /* End probes: the largest order still allocatable, then how many blocks of each order from
     * max_order down to 9 can be taken now (each count is given back before the next). */
    page_drain();
    res.largest_order = -1;
    for (int k = max_order; k >= 0 && res.largest_order < 0; k--) {
        uint32_t pfn = page_alloc(k);
        if (pfn != NO_FRAME) { page_free(pfn, k); res.largest_order = k; }
    }
    for (int k = max_order; k >= 9; k--) {
        uint32_t taken = 0, pfn;
        while ((pfn = page_alloc(k)) != NO_FRAME) scratch[taken++] = pfn;
        for (uint32_t i = 0; i < taken; i++) page_free(scratch[i], k);
        if (k == 10) res.order10 = taken; else res.order9 = taken;
    }
    res.free_frames = FRAMES - live_frames;
    for (uint32_t i = 0; i < nlive; i++) page_free(live[i].pfn, (int)live[i].order);
    page_drain();
    return res;
}

static int fully_merged(void)
{
    return buddy_free_frames(&alloc_state) == FRAMES && alloc_state.free_blocks[BUDDY_MAX_ORDER] == FRAMES >> BUDDY_MAX_ORDER;
}

/* ---- self-test: the published check values, then small runs that must end where they began ---- */
static int selftest(void)
{
    prng g = { 1 };
    uint64_t want1[4] = { 0x910a2dec89025cc1ull, 0xbeeb8da1658eec67ull, 0xf893a2eefb32555eull, 0x71c18690ee42c90bull };
    int same = 1;
    for (int i = 0; i < 4; i++) same &= prng_next(&g) == want1[i];
    check(same, "splitmix64 seed 1: 910a2dec89025cc1 beeb8da1658eec67 f893a2eefb32555e 71c18690ee42c90b");
    g.state = 2;
    check(prng_next(&g) == 0x975835de1c9756ceull, "splitmix64 seed 2 starts 975835de1c9756ce");

    uint32_t *order = malloc(100000 * sizeof(uint32_t)), *held = malloc(100000 * sizeof(uint32_t));
    g.state = 1;
    prng_permutation(&g, order, 100000);
    check(order[0] == 66787 && order[1] == 90204 && order[2] == 81960 && order[99999] == 56656,
          "W1 round-1 permutation: 66787 90204 81960 ... 56656 (got %u %u %u ... %u)", order[0], order[1], order[2], order[99999]);

    g.state = 2;
    int first[8], want2[8] = { 1, 1, 0, 2, 0, 0, 1, 0 };
    same = 1;
    for (int i = 0; i < 8; i++) { first[i] = w2_order(prng_next(&g), 10); same &= first[i] == want2[i]; }
    check(same, "W2 first eight orders: 1 1 0 2 0 0 1 0");

    w0_run(10000);
    check(fully_merged(), "W0 (10,000 pairs) ends with every frame free in order-10 blocks");
    buddy_destroy(&alloc_state);

    /* One W1 round: every frame handed out once, all of them merged back after the frees. */
    w1_run(1, held, order);
    check(fully_merged(), "W1 (one round) ends with every frame free in order-10 blocks");
    buddy_destroy(&alloc_state);
    fresh();
    uint8_t *seen = calloc(FRAMES, 1);
    int distinct = 1;
    for (uint32_t i = 0; i < 100000; i++) {
        uint32_t pfn = page_alloc(0);
        if (pfn == NO_FRAME || pfn >= FRAMES || seen[pfn]) distinct = 0; else seen[pfn] = 1;
        held[i] = pfn;
    }
    check(distinct, "100,000 order-0 allocations are distinct frames");
    for (uint32_t i = 0; i < 100000; i++) page_free(held[i], 0);
    retire();
    free(seen);

    struct live_block *live = malloc(FRAMES * sizeof *live);
    uint32_t *scratch = malloc(FRAMES * sizeof(uint32_t));
    struct w2_result w2 = w2_run(2000000, 10, live, scratch);
    check(fully_merged(), "W2 ends with every frame free in order-10 blocks once its blocks are freed");
    buddy_destroy(&alloc_state);
#ifdef WITH_PCP
    check(w2.failed == 0 && w2.order10 * 100 >= (w2.free_frames >> 10) * 85,
          "W2 through the per-CPU cache: no failure, order-10 availability >= 85%% of ideal (%llu of %llu)",
          (unsigned long long)w2.order10, (unsigned long long)(w2.free_frames >> 10));
#else
    check(w2.allocs == 998640 && w2.frees == 1001360 && w2.failed == 0 && w2.free_frames == 130893
          && w2.largest_order == 10 && w2.order10 == 109 && w2.order9 == 221,
          "W2 end state: 998640 allocs, 1001360 frees, 0 failed, 130893 free, largest 10, 109 order-10, 221 order-9 "
          "(got %llu %llu %llu %llu %d %llu %llu)",
          (unsigned long long)w2.allocs, (unsigned long long)w2.frees, (unsigned long long)w2.failed,
          (unsigned long long)w2.free_frames, w2.largest_order, (unsigned long long)w2.order10, (unsigned long long)w2.order9);
#endif
    free(live); free(scratch); free(order); free(held);
    return checks_summary();
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "selftest")) return selftest();
    run_args a = parse_args(argc, argv, "W0|W1|W2|W2o9 [--scale S] [--reps N] [--json] | selftest");
    double v1[64], v2[64];
    if (!strcasecmp(a.workload, "W0")) {
        uint64_t pairs = (uint64_t)(10000000 * a.scale);
        for (int r = 0; r < a.reps; r++) { v1[r] = w0_run(pairs); buddy_destroy(&alloc_state); }
        report(&a, design, "W0", "hot alloc+free pair, ns", "pair_ns", median_of(v1, a.reps), NULL);
    } else if (!strcasecmp(a.workload, "W1")) {
        uint32_t *order = malloc(100000 * sizeof(uint32_t)), *held = malloc(100000 * sizeof(uint32_t));
        for (int r = 0; r < a.reps; r++) {
            struct w1_result w = w1_run(a.scale >= 1 ? 20 : 2, held, order);
            buddy_destroy(&alloc_state);
            v1[r] = w.alloc_ns; v2[r] = w.free_ns;
        }
        report(&a, design, "W1", "order-0 churn, ns", "alloc_ns", median_of(v1, a.reps), "free_ns", median_of(v2, a.reps), NULL);
        free(order); free(held);
    } else if (!strcasecmp(a.workload, "W2") || !strcasecmp(a.workload, "W2o9")) {
        int max_order = strcasecmp(a.workload, "W2") ? 9 : 10;
        const char *name = max_order == 10 ? "W2" : "W2o9";
        struct live_block *live = malloc(FRAMES * sizeof *live);
        uint32_t *scratch = malloc(FRAMES * sizeof(uint32_t));
        struct w2_result w = { 0 };
        for (int r = 0; r < a.reps; r++) {
            w = w2_run((uint64_t)(2000000 * a.scale), max_order, live, scratch);
            buddy_destroy(&alloc_state);
            v1[r] = w.step_ns; v2[r] = w.fill_ns;
        }
        report(&a, design, name, "mixed orders at 50% live, ns", "step_ns", median_of(v1, a.reps), "fill_ns", median_of(v2, a.reps),
               "failed", (double)w.failed, "free_pages", (double)w.free_frames, "largest_order", (double)w.largest_order,
               "order10_blocks", (double)w.order10, "order9_blocks", (double)w.order9, NULL);
        free(live); free(scratch);
    } else {
        die("unknown workload %s (W0, W1, W2, W2o9)", a.workload);
    }
    return 0;
}
