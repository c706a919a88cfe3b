/* The page-table workload W4 (README.md) on the reference MMU: x86-64 4-level page tables (the
 * PML4 -> PDPT -> PD -> PT walk of the Intel SDM, 4 KiB pages only) kept in simulated physical
 * memory, with a software TLB in front of translation: 64 entries, direct-mapped by the low bits
 * of the page number. Table pages come from the reference buddy allocator (buddy.h, order 0) in a
 * 1 GiB arena and are zeroed when allocated; an unmap clears the PTE and drops the page's TLB
 * entry (invlpg). Only the present bit is checked on the way down, and tables are never freed:
 * the design's bare cost, against which SharpMM's checks and table reclaim are measured.
 *
 *   mmu W4 [--scale S] [--reps N] [--json]
 *   mmu selftest */
#include "buddy.h"

#define ARENA_BYTES (1ull << 30)
#define PAGES 262144u                        /* 1 GiB of virtual pages */
#define VIRTUAL_BASE 0x00007f0000000000ull
#define PTE_PRESENT 1ull
#define PTE_WRITABLE 2ull
#define PTE_FRAME 0x000FFFFFFFFFF000ull
#define TLB_SLOTS 64
#define NOT_MAPPED (~0ull)

struct tlb_slot { uint64_t page, frame; };

static struct buddy table_frames;
static unsigned char *arena;
static uint64_t root;                        /* physical address of the PML4 (CR3) */
static uint64_t table_pages;
static struct tlb_slot tlb[TLB_SLOTS];

HOT uint64_t *table_at(uint64_t phys) { return (uint64_t *)(arena + phys); }

HOT unsigned index_at(uint64_t va, int level) { return (unsigned)(va >> (12 + 9 * level)) & 511; }

static uint64_t new_table(void)
{
    uint32_t pfn = buddy_alloc(&table_frames, 0);
    if (pfn == NO_FRAME) die("W4: out of table frames");
    memset(arena + ((size_t)pfn << 12), 0, 4096);
    table_pages++;
    return (uint64_t)pfn << 12;
}

static void mmu_reset(void)
{
    buddy_init(&table_frames, (uint32_t)(ARENA_BYTES >> 12));
    for (int i = 0; i < TLB_SLOTS; i++) tlb[i].page = NOT_MAPPED;
    table_pages = 0;
    root = new_table();
}

/* Maps one 4 KiB page, creating the tables on the way; -1 if the page is already mapped. */
HOT int map_page(uint64_t va, uint64_t pa)
{
    uint64_t table = root;
    for (int level = 3; level > 0; level--) {
        uint64_t *e = table_at(table) + index_at(va, level);
        if (!(*e & PTE_PRESENT)) *e = new_table() | PTE_WRITABLE | PTE_PRESENT;
        table = *e & PTE_FRAME;
    }
    uint64_t *pte = table_at(table) + index_at(va, 0);
    if (*pte & PTE_PRESENT) return -1;
    *pte = (pa & PTE_FRAME) | PTE_WRITABLE | PTE_PRESENT;
    return 0;
}

/* The PTE slot for va, or NULL where an upper level is not present. */
HOT uint64_t *find_pte(uint64_t va)
{
    uint64_t table = root;
    for (int level = 3; level > 0; level--) {
        uint64_t e = table_at(table)[index_at(va, level)];
        if (!(e & PTE_PRESENT)) return NULL;
        table = e & PTE_FRAME;
    }
    return table_at(table) + index_at(va, 0);
}

/* The physical address va maps to, or NOT_MAPPED (a fault): the TLB first, then the walk. */
HOT uint64_t translate(uint64_t va)
{
    uint64_t page = va >> 12;
    struct tlb_slot *s = &tlb[page % TLB_SLOTS];
    if (s->page == page) return (s->frame << 12) | (va & 4095);
    uint64_t *pte = find_pte(va);
    if (!pte || !(*pte & PTE_PRESENT)) return NOT_MAPPED;
    s->page = page;
    s->frame = (*pte & PTE_FRAME) >> 12;
    return (*pte & PTE_FRAME) | (va & 4095);
}

/* Unmaps one page and invalidates its TLB entry; returns the frame's address or NOT_MAPPED. */
HOT uint64_t unmap_page(uint64_t va)
{
    uint64_t *pte = find_pte(va);
    if (!pte) return NOT_MAPPED;
    uint64_t old = *pte;
    *pte = 0;
    uint64_t page = va >> 12;
    if (tlb[page % TLB_SLOTS].page == page) tlb[page % TLB_SLOTS].page = NOT_MAPPED;
    return old & PTE_FRAME;
}

/* W4's draws (seed 4), made once: each page's frame, the unmap order, the pages to translate. */
struct w4_draws { uint32_t frame[PAGES], unmap_order[PAGES]; uint64_t translations; uint32_t *page; };

static struct w4_draws *w4_draw(uint64_t translations)
{
    struct w4_draws *d = malloc(sizeof *d);
    prng g = { 4 };
    for (uint32_t i = 0; i < PAGES; i++) d->frame[i] = prng_bound(prng_next(&g), 1u << 24);   /* a 64 GiB space */
    prng_permutation(&g, d->unmap_order, PAGES);
    d->translations = translations;
    d->page = malloc(translations * sizeof(uint32_t));
    for (uint64_t k = 0; k < translations; k++) d->page[k] = prng_bound(prng_next(&g), PAGES);
    return d;
}

struct w4_result { double map_ns, walk_ns, hit_ns, unmap_ns; uint64_t checksum, unmapped_sum; int refused; };

static struct w4_result w4_run(const struct w4_draws *d)
{
    struct w4_result r = { 0 };
    uint64_t m = d->translations, sum = 0, back = 0;
    mmu_reset();
    uint64_t t0 = clock_ns();
    for (uint32_t i = 0; i < PAGES; i++) r.refused += map_page(VIRTUAL_BASE + ((uint64_t)i << 12), (uint64_t)d->frame[i] << 12) != 0;
    uint64_t t1 = clock_ns();
    for (uint64_t k = 0; k < m; k++) sum += translate(VIRTUAL_BASE + ((uint64_t)d->page[k] << 12) + (k & 4095));   /* random: TLB misses */
    uint64_t t2 = clock_ns();
    for (uint64_t k = 0; k < m; k++) sum += translate(VIRTUAL_BASE + ((uint64_t)(d->page[k] & 31) << 12));         /* 32 pages: TLB hits */
    uint64_t t3 = clock_ns();
    for (uint32_t i = 0; i < PAGES; i++) back += unmap_page(VIRTUAL_BASE + ((uint64_t)d->unmap_order[i] << 12));
    uint64_t t4 = clock_ns();
    r.map_ns = (double)(t1 - t0) / PAGES;
    r.walk_ns = (double)(t2 - t1) / (double)m;
    r.hit_ns = (double)(t3 - t2) / (double)m;
    r.unmap_ns = (double)(t4 - t3) / PAGES;
    r.checksum = sum;
    r.unmapped_sum = back;
    return r;
}

static int selftest(void)
{
    const uint64_t m = 20000;
    struct w4_draws *d = w4_draw(m);
    uint64_t want = 0, frames = 0;
    for (uint64_t k = 0; k < m; k++) want += ((uint64_t)d->frame[d->page[k]] << 12) + (k & 4095);
    for (uint64_t k = 0; k < m; k++) want += (uint64_t)d->frame[d->page[k] & 31] << 12;
    for (uint32_t i = 0; i < PAGES; i++) frames += (uint64_t)d->frame[i] << 12;
    struct w4_result r = w4_run(d);
    check(r.refused == 0, "W4 maps all 262,144 pages (%d refused)", r.refused);
    check(table_pages == 515, "W4 allocates 515 table pages: the PML4, 1 PDPT, 1 PD, 512 PTs (got %llu)", (unsigned long long)table_pages);
    check(r.checksum == want, "W4 translates every draw to its frame (checksum %llu, want %llu)", (unsigned long long)r.checksum, (unsigned long long)want);
    check(r.unmapped_sum == frames, "W4's unmaps return every mapped frame once");
    int faults = translate(VIRTUAL_BASE) == NOT_MAPPED && translate(VIRTUAL_BASE + ((uint64_t)(PAGES - 1) << 12)) == NOT_MAPPED;
    check(faults, "after the unmaps, translations fault (the TLB entries went too)");
    check(map_page(VIRTUAL_BASE, 0x1000) == 0 && map_page(VIRTUAL_BASE, 0x2000) == -1, "mapping a mapped page is refused");
    buddy_destroy(&table_frames);
    free(d->page); free(d);
    return checks_summary();
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "selftest")) { arena = arena_map(ARENA_BYTES, 0); return selftest(); }
    run_args a = parse_args(argc, argv, "W4 [--scale S] [--reps N] [--json] | selftest");
    if (strcasecmp(a.workload, "W4")) die("unknown workload %s (W4)", a.workload);
    arena = arena_map(ARENA_BYTES, 1);
    struct w4_draws *d = w4_draw((uint64_t)(10000000 * a.scale));
    double map[64], walk[64], hit[64], unmap[64];
    uint64_t sink = 0;
    for (int r = 0; r < a.reps; r++) {
        struct w4_result w = w4_run(d);
        if (w.refused) die("W4: %d pages refused", w.refused);
        buddy_destroy(&table_frames);
        map[r] = w.map_ns; walk[r] = w.walk_ns; hit[r] = w.hit_ns; unmap[r] = w.unmap_ns;
        sink += w.checksum;
    }
    __asm__ volatile("" : : "r"(sink));
    report(&a, "refmmu", "W4", "page tables, ns", "map_ns", median_of(map, a.reps), "walk_ns", median_of(walk, a.reps),
           "hit_ns", median_of(hit, a.reps), "unmap_ns", median_of(unmap, a.reps), "table_pages", (double)table_pages, NULL);
    return 0;
}
