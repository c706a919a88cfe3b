/* malloc/free/realloc churn: SEED OPS. Slots hold blocks of random sizes (small, medium and
 * large enough for musl to map them on their own), each filled with a pattern of its slot and
 * generation; every realloc and free first verifies the bytes the block must still hold. Prints
 * a checksum of what was verified and the number of corrupted blocks (0). */
#include "common.h"

#define SLOTS 512

struct slot { unsigned char *p; size_t size; uint32_t gen; };
static struct slot slots[SLOTS];

static unsigned char pattern(size_t slot, uint32_t gen, size_t i) { return (unsigned char)(slot * 31 + gen * 7 + i * 13 + (i >> 8)); }

static size_t random_size(void)
{
    switch (rng_below(8)) {
    case 0: return 1 + rng_below(16);
    case 1: case 2: case 3: return 1 + rng_below(256);
    case 4: case 5: return 1 + rng_below(8192);
    case 6: return 1 + rng_below(100000);
    default: return 100000 + rng_below(1 << 18); /* half of them above musl's mmap threshold */
    }
}

static uint64_t sum = FNV_START;
static unsigned long corrupted;

/* Verifies the first n bytes of a slot's block and folds them into the checksum. */
static void verify(size_t s, size_t n)
{
    struct slot *b = &slots[s];
    for (size_t i = 0; i < n; i++)
        if (b->p[i] != pattern(s, b->gen, i)) { corrupted++; break; }
    /* The checksum takes the length and a sample of every 64th byte: each byte is already
     * compared above, and hashing all of them would make the run slow under emulation. */
    sum = fnv(sum, &n, sizeof n);
    for (size_t i = 0; i < n; i += 64) sum = fnv(sum, b->p + i, 1);
}

static void fill(size_t s, size_t from)
{
    struct slot *b = &slots[s];
    for (size_t i = from; i < b->size; i++) b->p[i] = pattern(s, b->gen, i);
}

int main(int argc, char **argv)
{
    rng_seed(arg_ul(argc, argv, 1, 1));
    unsigned long ops = arg_ul(argc, argv, 2, 10000);
    unsigned long mallocs = 0, reallocs = 0, frees = 0, oom = 0;
    for (unsigned long op = 0; op < ops; op++) {
        size_t s = rng_below(SLOTS);
        struct slot *b = &slots[s];
        unsigned what = (unsigned)rng_below(3);
        if (!b->p) {
            size_t size = random_size();
            b->p = malloc(size);
            if (!b->p) { oom++; continue; }
            b->size = size; b->gen = (uint32_t)op;
            fill(s, 0);
            mallocs++;
        } else if (what == 0) {
            verify(s, b->size);
            free(b->p); b->p = 0;
            frees++;
        } else {
            verify(s, b->size);
            size_t size = random_size();
            unsigned char *q = realloc(b->p, size);
            if (!q) { oom++; continue; }
            /* The kept prefix must have moved intact; the grown tail gets the same pattern. */
            size_t kept = size < b->size ? size : b->size;
            size_t old = b->size;
            b->p = q; b->size = size;
            verify(s, kept);
            if (size > old) fill(s, old);
            reallocs++;
        }
    }
    for (size_t s = 0; s < SLOTS; s++)
        if (slots[s].p) { verify(s, slots[s].size); free(slots[s].p); slots[s].p = 0; frees++; }
    say("malloc-churn: %lu ops, %lu malloc, %lu realloc, %lu free, %lu out of memory\n", ops, mallocs, reallocs, frees, oom);
    say("checksum %016llx, corrupted blocks %lu\n", (unsigned long long)sum, corrupted);
    return corrupted ? 1 : 0;
}
