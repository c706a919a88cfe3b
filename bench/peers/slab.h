/* The reference kmalloc: a SLUB-style slab allocator (Linux's SLUB, single CPU, no locking) over
 * the reference buddy allocator (buddy.h), the design SharpMM's Heap layer implements:
 *
 *   - Linux's kmalloc size classes 8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048; a slab is
 *     one buddy block: order 0 up to 512 bytes, order 1 for 1024, order 2 for 2048 (>= 8 objects);
 *   - each class has a "CPU slab" whose free objects form the CPU freelist, linked through a
 *     pointer stored in each free object: kmalloc pops it, kfree of an object of the CPU slab
 *     pushes it (the fast paths);
 *   - every other slab keeps its own freelist and in-use count. When the CPU freelist is empty the
 *     next CPU slab is a partial slab (its whole freelist taken at once) or a new slab from the
 *     buddy, its objects threaded lowest address first;
 *   - a free into a full slab puts it on the class's partial list; a slab that empties is given
 *     back to the buddy once the class keeps more than 5 partial slabs (SLUB's min_partial);
 *   - kfree finds the slab through a per-frame descriptor array (Linux's virt_to_page), each frame
 *     of a slab naming the slab's first frame. */
#ifndef PEERS_SLAB_H
#define PEERS_SLAB_H
#include "buddy.h"

#define SLAB_CLASSES 11
#define SLAB_KEEP_PARTIAL 5

static const uint32_t class_bytes[SLAB_CLASSES] = { 8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048 };
static const uint8_t class_slab_order[SLAB_CLASSES] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2 };

struct slab_page {                 /* the descriptor of one frame */
    void *freelist;                /* objects freed while this slab was not the CPU slab */
    uint32_t first;                /* the slab's first frame (set in every frame of the slab) */
    uint32_t next, prev;           /* partial-list links, by first frame */
    uint16_t in_use, objects;
    uint8_t size_class, partial;
};

struct size_class {
    void *cpu_freelist;
    uint32_t cpu_slab;             /* first frame of the CPU slab, or NO_FRAME */
    uint32_t partial_head, partial_count;
    uint32_t object_bytes, slab_order, objects_per_slab;
};

struct slab_heap {
    struct buddy pages;
    unsigned char *memory;         /* frame f is memory + f * 4096 */
    struct slab_page *desc;
    struct size_class cls[SLAB_CLASSES];
    uint8_t small_class[25];       /* (size + 7) / 8 -> class, for sizes up to 192 */
    uint64_t frames_held;          /* frames in slabs: the footprint */
};

static void slab_init(struct slab_heap *h, unsigned char *memory, uint32_t frames)
{
    memset(h, 0, sizeof *h);
    h->memory = memory;
    buddy_init(&h->pages, frames);
    h->desc = calloc(frames, sizeof(struct slab_page));
    if (!h->desc) die("out of memory for the slab descriptors");
    for (int c = 0; c < SLAB_CLASSES; c++) {
        struct size_class *k = &h->cls[c];
        k->cpu_freelist = NULL;
        k->cpu_slab = k->partial_head = NO_FRAME;
        k->object_bytes = class_bytes[c];
        k->slab_order = class_slab_order[c];
        k->objects_per_slab = (4096u << k->slab_order) / k->object_bytes;
    }
    for (uint32_t q = 0; q <= 24; q++) {
        int c = 0;
        while (class_bytes[c] < q * 8) c++;
        h->small_class[q] = (uint8_t)c;
    }
}

static void slab_destroy(struct slab_heap *h)
{
    buddy_destroy(&h->pages);
    free(h->desc);
}

/* The class for 1..2048 bytes: a table up to 192, then the power of two at or above the size. */
HOT int class_of(const struct slab_heap *h, size_t bytes)
{
    if (bytes <= 192) return h->small_class[(bytes + 7) / 8];
    return 63 - __builtin_clzll(bytes - 1);   /* 193..256 -> 7, ..512 -> 8, ..1024 -> 9, ..2048 -> 10 */
}

HOT void partial_add(struct slab_heap *h, struct size_class *k, uint32_t slab)
{
    struct slab_page *d = &h->desc[slab];
    d->next = k->partial_head;
    d->prev = NO_FRAME;
    d->partial = 1;
    if (k->partial_head != NO_FRAME) h->desc[k->partial_head].prev = slab;
    k->partial_head = slab;
    k->partial_count++;
}

HOT void partial_remove(struct slab_heap *h, struct size_class *k, uint32_t slab)
{
    struct slab_page *d = &h->desc[slab];
    if (d->prev == NO_FRAME) k->partial_head = d->next; else h->desc[d->prev].next = d->next;
    if (d->next != NO_FRAME) h->desc[d->next].prev = d->prev;
    d->partial = 0;
    k->partial_count--;
}

/* A slab straight from the buddy, its objects on its own freelist; NO_FRAME when out of memory. */
static uint32_t slab_new(struct slab_heap *h, struct size_class *k, int c)
{
    uint32_t first = buddy_alloc(&h->pages, (int)k->slab_order);
    if (first == NO_FRAME) return NO_FRAME;
    uint32_t frames = 1u << k->slab_order;
    h->frames_held += frames;
    for (uint32_t i = 0; i < frames; i++) h->desc[first + i].first = first;
    struct slab_page *d = &h->desc[first];
    d->size_class = (uint8_t)c;
    d->objects = (uint16_t)k->objects_per_slab;
    d->partial = 0;
    unsigned char *base = h->memory + ((size_t)first << 12);
    void *list = NULL;
    for (uint32_t i = k->objects_per_slab; i-- > 0;) {   /* from the top, so the lowest is first */
        void **obj = (void **)(base + (size_t)i * k->object_bytes);
        *obj = list;
        list = obj;
    }
    d->freelist = list;
    return first;
}

/* The CPU freelist is empty: make the next slab the CPU slab and return its first free object. */
static __attribute__((noinline)) void *kmalloc_refill(struct slab_heap *h, struct size_class *k, int c)
{
    uint32_t slab = k->partial_head;
    if (slab != NO_FRAME) partial_remove(h, k, slab);
    else if ((slab = slab_new(h, k, c)) == NO_FRAME) return NULL;
    struct slab_page *d = &h->desc[slab];
    void **obj = d->freelist;
    d->freelist = NULL;
    d->in_use = d->objects;   /* its free objects now belong to the CPU freelist */
    k->cpu_slab = slab;
    k->cpu_freelist = *obj;
    return obj;
}

HOT void *kmalloc(struct slab_heap *h, size_t bytes)
{
    int c = class_of(h, bytes);
    struct size_class *k = &h->cls[c];
    void **obj = k->cpu_freelist;
    if (__builtin_expect(obj != NULL, 1)) { k->cpu_freelist = *obj; return obj; }
    return kmalloc_refill(h, k, c);
}

/* A free into a slab that is not the CPU slab. */
static __attribute__((noinline)) void kfree_to_slab(struct slab_heap *h, struct size_class *k, uint32_t slab, void *obj)
{
    struct slab_page *d = &h->desc[slab];
    *(void **)obj = d->freelist;
    d->freelist = obj;
    if (d->in_use-- == d->objects) partial_add(h, k, slab);
    if (d->in_use == 0 && k->partial_count > SLAB_KEEP_PARTIAL) {
        partial_remove(h, k, slab);
        buddy_free(&h->pages, slab, (int)k->slab_order);
        h->frames_held -= 1u << k->slab_order;
    }
}

HOT void kfree(struct slab_heap *h, void *obj)
{
    uint32_t frame = (uint32_t)(((unsigned char *)obj - h->memory) >> 12);
    uint32_t slab = h->desc[frame].first;
    struct size_class *k = &h->cls[h->desc[slab].size_class];
    if (__builtin_expect(slab == k->cpu_slab, 1)) {
        *(void **)obj = k->cpu_freelist;
        k->cpu_freelist = obj;
        return;
    }
    kfree_to_slab(h, k, slab, obj);
}
#endif
