/* The reference page allocator: a binary buddy allocator of the classic design (Knuth's buddy
 * system as Linux's zone allocator keeps it), the one SharpMM's BuddyAllocator implements:
 *
 *   - 4 KiB frames, block orders 0..10 (a block of order k is 2^k frames, aligned to its size);
 *   - one free list per order, doubly linked, LIFO (a freed block goes to the head, an
 *     allocation takes the head); the links live in a compact per-frame descriptor array (two
 *     32-bit frame numbers, the role of Linux's struct page), never inside the free frames;
 *   - one bitmap per order, bit (pfn >> k) set when a free block of order k starts at pfn, so a
 *     block's buddy is found free or not in O(1) and unlinked in O(1);
 *   - a split keeps the lower half and frees the upper halves; a free merges with its buddy for
 *     as long as the buddy is free at the same order;
 *   - the lists start with the max-order blocks in ascending address order, lowest at the head.
 *
 * Optionally (buddy_pcp_*) a per-CPU order-0 cache in front of it, Linux's per-CPU pages with
 * their default batch 63 and high mark 378: allocations pop a stack that is refilled with a batch
 * from the buddy when empty; frees push on it, and past the high mark the oldest batch (the
 * bottom of the stack) goes back to the buddy.
 *
 * No validation: a free of something not allocated corrupts the lists. The reference measures
 * the design's own cost; SharpMM validates every free on top of it. */
#ifndef PEERS_BUDDY_H
#define PEERS_BUDDY_H
#include "harness.h"

#define BUDDY_MAX_ORDER 10
#define NO_FRAME 0xFFFFFFFFu

struct frame_links { uint32_t next, prev; };

struct buddy {
    uint32_t frames;                          /* frames managed: 0 .. frames-1 */
    uint32_t orders_with_blocks;              /* bit k set: list k is not empty */
    uint32_t head[BUDDY_MAX_ORDER + 1];
    uint64_t *block_starts[BUDDY_MAX_ORDER + 1];
    uint64_t free_blocks[BUDDY_MAX_ORDER + 1];
    struct frame_links *links;                /* the descriptor array: one entry per frame */
};

HOT int block_starts_at(const struct buddy *b, int order, uint32_t pfn)
{
    uint32_t bit = pfn >> order;
    return (int)((b->block_starts[order][bit / 64] >> (bit % 64)) & 1);
}

HOT void mark_block(struct buddy *b, int order, uint32_t pfn, int is_free)
{
    uint32_t bit = pfn >> order;
    uint64_t mask = 1ull << (bit % 64);
    if (is_free) b->block_starts[order][bit / 64] |= mask;
    else b->block_starts[order][bit / 64] &= ~mask;
}

HOT void list_push(struct buddy *b, int order, uint32_t pfn)
{
    uint32_t old = b->head[order];
    b->links[pfn].next = old;
    b->links[pfn].prev = NO_FRAME;
    if (old != NO_FRAME) b->links[old].prev = pfn;
    b->head[order] = pfn;
    b->orders_with_blocks |= 1u << order;
    mark_block(b, order, pfn, 1);
    b->free_blocks[order]++;
}

HOT void list_remove(struct buddy *b, int order, uint32_t pfn)
{
    uint32_t next = b->links[pfn].next, prev = b->links[pfn].prev;
    if (prev == NO_FRAME) {
        b->head[order] = next;
        if (next == NO_FRAME) b->orders_with_blocks &= ~(1u << order);
    } else {
        b->links[prev].next = next;
    }
    if (next != NO_FRAME) b->links[next].prev = prev;
    mark_block(b, order, pfn, 0);
    b->free_blocks[order]--;
}

static void buddy_init(struct buddy *b, uint32_t frames)
{
    memset(b, 0, sizeof *b);
    b->frames = frames;
    for (int k = 0; k <= BUDDY_MAX_ORDER; k++) {
        size_t bits = (size_t)(frames >> k) + 1;
        b->block_starts[k] = calloc((bits + 63) / 64, sizeof(uint64_t));
        b->head[k] = NO_FRAME;
    }
    b->links = aligned_alloc(64, ((size_t)frames * sizeof(struct frame_links) + 63) & ~(size_t)63);
    if (!b->links) die("out of memory for the descriptor array");
    /* Push the max-order blocks from the top down, so the lowest ends at the head. */
    uint32_t size = 1u << BUDDY_MAX_ORDER, whole = frames / size;
    for (uint32_t i = whole; i-- > 0;) list_push(b, BUDDY_MAX_ORDER, i * size);
}

static void buddy_destroy(struct buddy *b)
{
    for (int k = 0; k <= BUDDY_MAX_ORDER; k++) free(b->block_starts[k]);
    free(b->links);
}

/* A block of 2^order frames, or NO_FRAME. */
HOT uint32_t buddy_alloc(struct buddy *b, int order)
{
    uint32_t usable = b->orders_with_blocks >> order;
    if (usable == 0) return NO_FRAME;
    int k = order + __builtin_ctz(usable);
    uint32_t pfn = b->head[k];
    list_remove(b, k, pfn);
    while (k > order) {
        k--;
        list_push(b, k, pfn + (1u << k));   /* the upper half goes back; we keep the lower */
    }
    return pfn;
}

HOT void buddy_free(struct buddy *b, uint32_t pfn, int order)
{
    for (; order < BUDDY_MAX_ORDER; order++) {
        uint32_t buddy_pfn = pfn ^ (1u << order);
        if (buddy_pfn >= b->frames || !block_starts_at(b, order, buddy_pfn)) break;
        list_remove(b, order, buddy_pfn);
        pfn &= ~(1u << order);
    }
    list_push(b, order, pfn);
}

static uint64_t buddy_free_frames(const struct buddy *b)
{
    uint64_t n = 0;
    for (int k = 0; k <= BUDDY_MAX_ORDER; k++) n += b->free_blocks[k] << k;
    return n;
}

/* ---- the per-CPU order-0 cache (one CPU here) ----
 * Batch and high mark are fields, as in Linux (tunable at run time) and in SharpMM's PcpConfig,
 * not compile-time constants. */
#define PCP_CAPACITY 1024

struct pcp_cache {
    uint32_t count, batch, high;
    uint32_t frames[PCP_CAPACITY];
};

static void buddy_pcp_init(struct pcp_cache *c)
{
    c->count = 0;
    c->batch = 63;
    c->high = 378;   /* high + 1 <= PCP_CAPACITY: a free pushes before it drains */
}

HOT uint32_t buddy_pcp_alloc(struct buddy *b, struct pcp_cache *c, int order)
{
    if (order != 0) return buddy_alloc(b, order);
    if (c->count == 0) {
        while (c->count < c->batch) {
            uint32_t pfn = buddy_alloc(b, 0);
            if (pfn == NO_FRAME) break;
            c->frames[c->count++] = pfn;
        }
        if (c->count == 0) return NO_FRAME;
    }
    return c->frames[--c->count];
}

HOT void buddy_pcp_free(struct buddy *b, struct pcp_cache *c, uint32_t pfn, int order)
{
    if (order != 0) { buddy_free(b, pfn, order); return; }
    c->frames[c->count++] = pfn;
    if (c->count <= c->high) return;
    for (uint32_t i = 0; i < c->batch; i++) buddy_free(b, c->frames[i], 0);
    c->count -= c->batch;
    memmove(c->frames, c->frames + c->batch, c->count * sizeof(uint32_t));
}

/* Returns every cached frame to the buddy (before the end-state probes). */
static void buddy_pcp_drain(struct buddy *b, struct pcp_cache *c)
{
    for (uint32_t i = 0; i < c->count; i++) buddy_free(b, c->frames[i], 0);
    c->count = 0;
}
#endif
