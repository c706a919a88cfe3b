/* The kmalloc workloads W3, W3t and W3h (README.md) on the reference slab allocator (slab.h) over
 * a 1 GiB arena. The system mallocs are not run here: `sharpmm bench W3` calls them in its own
 * process, next to SharpMM's kmalloc.
 *
 *   kmalloc W3|W3t|W3h [--scale S] [--reps N] [--json]
 *   kmalloc selftest */
#include "slab.h"

#define ARENA_BYTES (1ull << 30)
#define SLOTS 100000u

static struct slab_heap heap;
static unsigned char *arena;

/* W3's sizes: 8..2047 bytes, an exponent 3..10 from the low bits and a mantissa above them. */
HOT uint32_t w3_size(uint64_t draw)
{
    uint32_t base = 1u << (3 + (draw & 7));
    return base + (uint32_t)((draw >> 8) & (base - 1));
}

/* The whole W3 trace, drawn before any run (seed 3): the fill sizes, then per operation the slot
 * to replace and the new size. */
struct w3_trace { uint64_t ops; uint16_t fill[SLOTS]; uint32_t *slot; uint16_t *size; };

static struct w3_trace *w3_trace_make(uint64_t ops)
{
    struct w3_trace *t = malloc(sizeof *t);
    prng g = { 3 };
    t->ops = ops;
    t->slot = malloc(ops * sizeof(uint32_t));
    t->size = malloc(ops * sizeof(uint16_t));
    for (uint32_t i = 0; i < SLOTS; i++) t->fill[i] = (uint16_t)w3_size(prng_next(&g));
    for (uint64_t k = 0; k < ops; k++) {
        t->slot[k] = prng_bound(prng_next(&g), SLOTS);
        t->size[k] = (uint16_t)w3_size(prng_next(&g));
    }
    return t;
}

struct w3_result { double pair_ns; uint64_t footprint_bytes, live_bytes; };

/* The timed loop. With `touch` (W3t) the caller writes the first 8
 * bytes of each new object; with `verify` (self-test only) each object carries its slot number
 * in its first and last 4 bytes, checked before it is freed. */
HOT uint64_t w3_loop(const struct w3_trace *t, void **slot, uint16_t *live_size, int touch, int verify)
{
    uint64_t bad = 0;
    for (uint64_t k = 0; k < t->ops; k++) {
        uint32_t j = t->slot[k];
        if (verify) {
            uint32_t head, tail;
            memcpy(&head, slot[j], 4);
            memcpy(&tail, (char *)slot[j] + live_size[j] - 4, 4);
            bad += head != j || tail != j;
        }
        kfree(&heap, slot[j]);
        void *p = kmalloc(&heap, t->size[k]);
        __asm__ volatile("" : : "r"(p) : "memory");   /* the object is used: keep the call */
        if (touch) *(volatile uint64_t *)p = k;
        slot[j] = p;
        if (verify) {
            if (!p) { bad++; continue; }
            live_size[j] = t->size[k];
            memcpy(p, &j, 4);
            memcpy((char *)p + live_size[j] - 4, &j, 4);
        }
    }
    return bad;
}

HOT struct w3_result w3_run(const struct w3_trace *t, int touch, int verify, uint64_t *bad)
{
    static void *slot[SLOTS];
    static uint16_t live_size[SLOTS];
    struct w3_result res = { 0 };
    slab_init(&heap, arena, (uint32_t)(ARENA_BYTES >> 12));
    for (uint32_t i = 0; i < SLOTS; i++) {
        slot[i] = kmalloc(&heap, t->fill[i]);
        if (!slot[i]) die("W3: fill allocation failed");
        live_size[i] = t->fill[i];
        if (verify) { memcpy(slot[i], &i, 4); memcpy((char *)slot[i] + live_size[i] - 4, &i, 4); }
    }
    uint64_t t0 = clock_ns();
    *bad = w3_loop(t, slot, live_size, touch, verify);
    res.pair_ns = (double)(clock_ns() - t0) / (double)t->ops;
    for (uint64_t k = 0; k < t->ops; k++) live_size[t->slot[k]] = t->size[k];
    for (uint32_t i = 0; i < SLOTS; i++) res.live_bytes += live_size[i];
    res.footprint_bytes = heap.frames_held * 4096;
    for (uint32_t i = 0; i < SLOTS; i++) kfree(&heap, slot[i]);
    return res;
}

/* W3h on a fresh heap (the caller destroys it). */
static double w3h_run(uint64_t ops)
{
    slab_init(&heap, arena, (uint32_t)(ARENA_BYTES >> 12));
    for (int i = 0; i < 1000; i++) {
        void *p = kmalloc(&heap, 64);
        __asm__ volatile("" : : "r"(p) : "memory");
        kfree(&heap, p);
    }
    uint64_t t0 = clock_ns();
    for (uint64_t k = 0; k < ops; k++) {
        void *p = kmalloc(&heap, 64);
        __asm__ volatile("" : : "r"(p) : "memory");
        kfree(&heap, p);
    }
    return (double)(clock_ns() - t0) / (double)ops;
}

static int selftest(void)
{
    /* The published trace checks, over the full 10,000,000 operations (draws only). */
    prng g = { 3 };
    uint64_t fill_sum = 0, op_size_sum = 0, slot_sum = 0;
    for (uint32_t i = 0; i < SLOTS; i++) fill_sum += w3_size(prng_next(&g));
    for (uint64_t k = 0; k < 10000000; k++) {
        slot_sum += prng_bound(prng_next(&g), SLOTS);
        op_size_sum += w3_size(prng_next(&g));
    }
    check(fill_sum == 38066095 && op_size_sum == 3820101847ull && slot_sum == 499865727279ull,
          "W3 trace: fill-size sum 38066095, op-size sum 3820101847, slot-index sum 499865727279 (got %llu %llu %llu)",
          (unsigned long long)fill_sum, (unsigned long long)op_size_sum, (unsigned long long)slot_sum);

    int sizes_ok = 1;
    slab_init(&heap, arena, 1024);
    for (size_t n = 1; n <= 2048; n++) {
        int c = class_of(&heap, n);
        sizes_ok &= class_bytes[c] >= n && (c == 0 || class_bytes[c - 1] < n);
    }
    slab_destroy(&heap);
    check(sizes_ok, "every size 1..2048 goes to the smallest class that holds it");

    /* 100,000 operations with every object's contents checked: no two live objects overlap. */
    struct w3_trace *t = w3_trace_make(100000);
    uint64_t bad = 0;
    struct w3_result r = w3_run(t, 1, 1, &bad);
    check(bad == 0, "W3 (100,000 operations): every object keeps its contents until freed (%llu damaged)", (unsigned long long)bad);
    check(r.footprint_bytes >= r.live_bytes && r.footprint_bytes < 2 * r.live_bytes,
          "W3 footprint between 1x and 2x the live bytes (%.3fx)", (double)r.footprint_bytes / (double)r.live_bytes);
    uint64_t kept = heap.frames_held;
    check(kept <= (uint64_t)SLAB_CLASSES * (SLAB_KEEP_PARTIAL + 1) * 4,
          "after every object is freed, at most %d slabs a class stay (%llu frames)", SLAB_KEEP_PARTIAL + 1, (unsigned long long)kept);
    slab_destroy(&heap);
    w3h_run(10000);
    check(heap.frames_held == 1, "W3h (10,000 pairs) reuses one object: the heap holds one slab (%llu frames)",
          (unsigned long long)heap.frames_held);
    slab_destroy(&heap);
    free(t->slot); free(t->size); free(t);
    return checks_summary();
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "selftest")) { arena = arena_map(ARENA_BYTES, 0); return selftest(); }
    run_args a = parse_args(argc, argv, "W3|W3t|W3h [--scale S] [--reps N] [--json] | selftest");
    arena = arena_map(ARENA_BYTES, 1);
    uint64_t ops = (uint64_t)(10000000 * a.scale);
    double ns[64];
    if (!strcasecmp(a.workload, "W3h")) {
        for (int r = 0; r < a.reps; r++) { ns[r] = w3h_run(ops); slab_destroy(&heap); }
        report(&a, "refslab", "W3h", "hot kmalloc(64)+kfree, ns", "pair_ns", median_of(ns, a.reps), NULL);
        return 0;
    }
    int touch = !strcasecmp(a.workload, "W3t");
    if (!touch && strcasecmp(a.workload, "W3")) die("unknown workload %s (W3, W3t, W3h)", a.workload);
    struct w3_trace *t = w3_trace_make(ops);
    struct w3_result first = { 0 };
    for (int r = 0; r < a.reps; r++) {
        uint64_t bad;
        struct w3_result res = touch ? w3_run(t, 1, 0, &bad) : w3_run(t, 0, 0, &bad);   /* two specialised loops */
        slab_destroy(&heap);
        if (r == 0) first = res;
        ns[r] = res.pair_ns;
    }
    report(&a, "refslab", touch ? "W3t" : "W3", "random 8..2047 B, 100k live, ns", "pair_ns", median_of(ns, a.reps),
           "footprint_bytes", (double)first.footprint_bytes, "live_bytes", (double)first.live_bytes, NULL);
    return 0;
}
