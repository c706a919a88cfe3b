/* Memory system call fuzzer: SEED COUNT (default 1 100000). COUNT seeded random calls of mmap,
 * munmap, mprotect, mremap and madvise, and touches, in the parent and in forked children; random
 * arguments: addresses in an arena the program owns, in the kernel half, non-canonical and in the
 * unmapped first 64 KiB; lengths that overflow; every combination of flags that leaves Linux's
 * answer independent of the machine's configuration (no MAP_HUGETLB, MAP_LOCKED or MAP_GROWSDOWN,
 * no advice that poisons or shares pages between processes differently).
 *
 * The program keeps a model of the arena, one state byte per page, updated from each call's
 * result, so a touch that would fault is never made in the parent: it is made in a forked child
 * whose wait status is recorded. A placement the model cannot know (where a mapping without
 * MAP_FIXED lands) is unmapped at once. So the output depends only on the kernel's answers: the
 * digest of every (call, result) pair and the value each touch read, and a table of results per
 * call, compared between a run under Linux and one under SharpMM. Each errno is checked against
 * the ones Linux documents for that call; an errno outside them is printed and fails the run.
 *
 * Ranges never run from the arena into memory the program needs (the stack, its data): an
 * unmapped guard page sits at each end of the arena, and lengths are either inside the arena or
 * so large that the kernel must refuse them before looking at mappings. */
#include "common.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define ARENA_PAGES 1024UL
#define AT_FDCWD_VALUE (-100)
#if defined(__i386__)
#define KERNEL USER_END /* the kernel's quarter: [0xC0000000, 4 GiB) */
#else
#define KERNEL 0xffff800000000000UL
#define NONCANON 0x0000800000000000UL
#endif

/* Model state of one arena page. */
enum { MAPPED = 0x80, PROT_BITS = 0x07, SHARED = 0x08, PROT_UNKNOWN = 0x10, CONTENT_UNKNOWN = 0x20, PAST_OBJECT = 0x40 };

static unsigned char model[ARENA_PAGES];
static char *arena;
static uint64_t digest = FNV_START;
static uint64_t seed_value;

enum call { C_MMAP, C_MUNMAP, C_MPROTECT, C_MREMAP, C_MADVISE, C_TOUCH, C_FAULT, C_CHILD, C_COUNT };
static const char *const call_names[C_COUNT] = { "mmap", "munmap", "mprotect", "mremap", "madvise", "touch", "touch in a child", "child fuzzer" };
#define ERRNO_SLOTS 140
/* results[call][0] counts successes, [e] counts errno e. Kept in a shared page so a child's
 * counts reach the parent. */
struct shared_state { unsigned long results[C_COUNT][ERRNO_SLOTS]; unsigned long unexpected; uint64_t child_digest; };
static struct shared_state *shared;

static int trace;               /* argv[3] "trace": one line per recorded result, to find where two runs part */
static unsigned long current_op;

static void fold(uint64_t v)
{
    digest = fnv(digest, &v, sizeof v);
    if (trace) say("  op %lu fold %llx\n", current_op, (unsigned long long)v);
}

static int allowed(enum call c, int e)
{
    switch (c) {
    case C_MMAP: return e == EINVAL || e == ENOMEM || e == EEXIST || e == EBADF || e == EACCES || e == ENODEV || e == EOPNOTSUPP || e == EPERM || e == EOVERFLOW;
    case C_MUNMAP: return e == EINVAL || e == ENOMEM;
    case C_MPROTECT: return e == EINVAL || e == ENOMEM || e == EACCES;
    case C_MREMAP: return e == EINVAL || e == ENOMEM || e == EFAULT || e == EAGAIN;
    case C_MADVISE: return e == EINVAL || e == ENOMEM || e == EAGAIN || e == EBADF || e == EPERM;
    default: return 0;
    }
}

/* Records a call's result (in the digest and the table) and returns it. */
static long record(enum call c, long r)
{
    int e = failed(r) ? (int)-r : 0;
    fold((uint64_t)c << 32 | (uint64_t)e);
    shared->results[c][e < ERRNO_SLOTS ? e : ERRNO_SLOTS - 1]++;
    if (e && !allowed(c, e)) {
        shared->unexpected++;
        say("unexpected errno %s (%d) from %s\n", errno_name(e), e, call_names[c]);
    }
    return r;
}

static char *page_addr(size_t page) { return arena + page * PAGE; }
static int in_arena(unsigned long a) { return a >= (unsigned long)arena && a < (unsigned long)arena + ARENA_PAGES * PAGE; }

/* Trace mode: a call's arguments, with arena addresses as offsets into the arena (the arena's own
 * address differs between kernels; wild addresses are the same). */
static void trace_call(const char *name, unsigned long addr, unsigned long len, long a, long b, long r)
{
    if (!trace) return;
    char where[40];
    if (in_arena(addr)) snprintf(where, sizeof where, "arena+0x%lx", addr - (unsigned long)arena);
    else snprintf(where, sizeof where, "0x%lx", addr);
    say("  op %lu %s(%s, 0x%lx, 0x%lx, 0x%lx): %s\n", current_op, name, where, len, a, b, failed(r) ? errno_name((int)-r) : "OK");
}

/* Runs: pages with the same run number lie in one mapping (one VMA) on every kernel. A kernel may
 * merge neighbouring mappings or not (Linux's merge rules change between versions), and mremap
 * cannot cross a mapping's end, so mremap keeps its old range inside one run. A new mapping is a
 * new run; mprotect and madvise only cut runs at their range's ends (they may split mappings but
 * never surely join them). More runs than mappings is only cautious. */
static uint32_t run_of[ARENA_PAGES];
static uint32_t runs;

static void split_at(size_t p)
{
    if (p == 0 || p >= ARENA_PAGES || run_of[p] != run_of[p - 1]) return;
    uint32_t old = run_of[p], fresh = ++runs;
    for (size_t i = p; i < ARENA_PAGES && run_of[i] == old; i++) run_of[i] = fresh;
}

static void new_run(size_t first, size_t count)
{
    if (first >= ARENA_PAGES) return;
    if (count > ARENA_PAGES - first) count = ARENA_PAGES - first;
    split_at(first);
    split_at(first + count);
    uint32_t fresh = ++runs;
    for (size_t i = first; i < first + count; i++) run_of[i] = fresh;
}

static void cut(size_t first, size_t count)
{
    split_at(first);
    split_at(first + count);
}

static void set_range(size_t first, size_t count, unsigned char state)
{
    for (size_t i = first; i < first + count && i < ARENA_PAGES; i++) model[i] = state;
    new_run(first, count);
}

/* A random page range inside the arena: first page and 1..64 pages, clipped to the end. */
static void arena_range(size_t *first, size_t *count)
{
    *first = rng_below(ARENA_PAGES);
    size_t n = 1 + (rng_below(4) == 0 ? rng_below(64) : rng_below(8));
    if (*first + n > ARENA_PAGES) n = ARENA_PAGES - *first;
    *count = n;
}

/* An address no mapping of the program can be at: kernel half, non-canonical, first 64 KiB
 * (i386: the kernel's quarter, its start or its last pages, and the first 64 KiB). */
static unsigned long wild_address(int for_mapping)
{
    switch (rng_below(for_mapping ? 2 : 3)) {
#if defined(__i386__)
    case 0: return KERNEL + rng_below(0x40000) * PAGE + (rng_below(8) == 0 ? rng_below(PAGE) : 0);
    case 1: return 0xfffff000UL - rng_below(16) * PAGE;
#else
    case 0: return KERNEL + rng_below(1UL << 40) * PAGE + (rng_below(8) == 0 ? rng_below(PAGE) : 0);
    case 1: return NONCANON + rng_below(1UL << 30) * PAGE * (1 + rng_below(1000));
#endif
    default: return rng_below(16) * PAGE;
    }
}

/* A length the kernel must refuse whatever the address: wraps, or longer than the user half. */
static unsigned long overflowing_length(unsigned long addr)
{
    switch (rng_below(5)) {
    case 0: return ~0UL;
    case 1: return ~0UL - PAGE + 1;
#if defined(__i386__)
    case 2: return USER_END + PAGE * (1 + rng_below(16));
    case 3: return 0UL - PAGE;
    default: {
        /* As below, kept past user space without wrapping (4 GiB - USER_END is 1 GiB). */
        unsigned long len = -addr + PAGE * (1 + rng_below(4));
        return len < USER_END ? USER_END + len % (0UL - USER_END) : len;
    }
#else
    case 2: return 1UL << 63;
    case 3: return 1UL << 47;
    default: {
        /* Wraps from a low address; from a high one (kernel, non-canonical) it can be shorter
         * than the user half, where a hinted mapping fits and Linux's answer would depend on the
         * machine's RAM and swap (its overcommit heuristic): lengthened past the user half. */
        unsigned long len = -addr + PAGE * (1 + rng_below(4));
        return len < (1UL << 47) ? len + (1UL << 47) : len;
    }
#endif
    }
}

static int random_prot(void)
{
    int p = (int)rng_below(8);
    if (rng_below(32) == 0) p |= rng_below(2) ? 0x08 : 0x01000000; /* unknown bit, PROT_GROWSDOWN */
    return p;
}

static int random_map_flags(void)
{
    static const int types[] = { MAP_PRIVATE, MAP_PRIVATE, MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, 0, MAP_PRIVATE | MAP_SHARED };
    static const int extras[] = { MAP_NORESERVE, MAP_POPULATE, MAP_STACK, MAP_32BIT, 0x0800 /* MAP_DENYWRITE, ignored */, 0x1000 /* MAP_EXECUTABLE, ignored */, 0x4000000 /* unknown */ };
    int f = types[rng_below(sizeof types / sizeof types[0])];
    if (rng_below(16)) f |= MAP_ANONYMOUS;
    for (size_t i = 0; i < sizeof extras / sizeof extras[0]; i++)
        if (rng_below(6) == 0) f |= extras[i];
    return f;
}

static unsigned char mapped_state(int prot, int flags)
{
    int shared_map = (flags & 0x03) == MAP_SHARED || (flags & 0x03) == MAP_SHARED_VALIDATE;
    return (unsigned char)(MAPPED | (prot & PROT_BITS) | (shared_map ? SHARED : 0));
}

static void op_mmap(void)
{
    int prot = random_prot(), flags = random_map_flags();
    unsigned long off = rng_below(16) == 0 ? (rng_below(2) ? PAGE * rng_below(4) : rng_below(PAGE)) : 0;
    int kind = (int)rng_below(10);
    if (kind < 5) { /* MAP_FIXED or MAP_FIXED_NOREPLACE in the arena */
        size_t first, count;
        arena_range(&first, &count);
        flags |= rng_below(3) ? MAP_FIXED : MAP_FIXED_NOREPLACE;
        if (rng_below(8) == 0) flags |= MAP_FIXED;
        unsigned long addr = (unsigned long)page_addr(first) + (rng_below(32) == 0 ? 1 + rng_below(PAGE - 1) : 0);
        unsigned long len = count * PAGE - (rng_below(4) == 0 ? rng_below(PAGE) : 0);
        long r = record(C_MMAP, RAW(SYS_mmap, addr, len, prot, flags, -1, off));
        trace_call("mmap", addr, len, prot, flags, r);
        if (!failed(r)) {
            if ((unsigned long)r != addr) { say("MAP_FIXED mapping not at its address\n"); shared->unexpected++; RAW(SYS_munmap, r, len, 0, 0, 0, 0); return; }
            set_range(first, count, mapped_state(prot, flags));
        }
    } else if (kind < 8) { /* a hint in the arena, or no address */
        size_t first, count;
        arena_range(&first, &count);
        unsigned long addr = kind == 5 ? 0 : (unsigned long)page_addr(first);
        long r = record(C_MMAP, RAW(SYS_mmap, addr, count * PAGE, prot, flags, -1, off));
        trace_call("mmap", addr, count * PAGE, prot, flags, r);
        if (!failed(r)) {
            int taken = addr && (unsigned long)r == addr;
            fold(taken);
            if (taken) set_range(first, count, mapped_state(prot, flags));
            else RAW(SYS_munmap, r, count * PAGE, 0, 0, 0, 0);
        }
    } else { /* a wild address or an overflowing length */
        unsigned long addr = wild_address(1);
        unsigned long len = rng_below(2) ? overflowing_length(addr) : PAGE * (1 + rng_below(16));
        if (rng_below(2)) flags |= MAP_FIXED;
        long r = record(C_MMAP, RAW(SYS_mmap, addr, len, prot, flags, -1, off));
        trace_call("mmap", addr, len, prot, flags, r);
        if (!failed(r)) RAW(SYS_munmap, r, len, 0, 0, 0, 0); /* wherever it landed (maybe a hole in the arena) */
    }
}

static void op_munmap(void)
{
    if (rng_below(6) == 0) {
        unsigned long addr = wild_address(0);
        unsigned long len = rng_below(2) ? overflowing_length(addr) : PAGE * rng_below(16);
        trace_call("munmap", addr, len, 0, 0, record(C_MUNMAP, RAW(SYS_munmap, addr, len, 0, 0, 0, 0)));
        return;
    }
    size_t first, count;
    arena_range(&first, &count);
    unsigned long addr = (unsigned long)page_addr(first);
    unsigned long len = count * PAGE;
    switch (rng_below(8)) {
    case 0: addr += 1 + rng_below(PAGE - 1); break;                /* unaligned: EINVAL */
    case 1: len = len - PAGE + 1 + rng_below(PAGE - 1); break;      /* unaligned length: rounds up */
    case 2: len = rng_below(2) ? 0 : overflowing_length(addr); break;
    default: break;
    }
    long r = record(C_MUNMAP, RAW(SYS_munmap, addr, len, 0, 0, 0, 0));
    trace_call("munmap", addr, len, 0, 0, r);
    if (!failed(r) && len) set_range(first, (len + PAGE - 1) / PAGE, 0);
}

static void op_mprotect(void)
{
    int prot = random_prot();
    if (rng_below(8) == 0) {
        unsigned long addr = wild_address(0);
        unsigned long len = rng_below(2) ? overflowing_length(addr) : PAGE * (1 + rng_below(8));
        trace_call("mprotect", addr, len, prot, 0, record(C_MPROTECT, RAW(SYS_mprotect, addr, len, prot, 0, 0, 0)));
        return;
    }
    size_t first, count;
    arena_range(&first, &count);
    unsigned long addr = (unsigned long)page_addr(first), len = count * PAGE;
    if (rng_below(16) == 0) addr += 1 + rng_below(PAGE - 1);
    if (rng_below(16) == 0) len = len - PAGE + 1 + rng_below(PAGE - 1);
    long r = record(C_MPROTECT, RAW(SYS_mprotect, addr, len, prot, 0, 0, 0));
    trace_call("mprotect", addr, len, prot, 0, r);
    if (addr % PAGE) return;
    cut(first, count);
    for (size_t i = first; i < first + count && i < ARENA_PAGES; i++) {
        if (!(model[i] & MAPPED)) continue;
        if (!failed(r)) model[i] = (unsigned char)((model[i] & ~(PROT_BITS | PROT_UNKNOWN)) | (prot & PROT_BITS));
        else if (r == -ENOMEM || r == -EACCES) model[i] |= PROT_UNKNOWN; /* Linux may have changed a prefix */
    }
}

static void op_mremap(void)
{
    static const int flag_sets[] = { 0, 0, MREMAP_MAYMOVE, MREMAP_MAYMOVE, MREMAP_MAYMOVE | MREMAP_FIXED, MREMAP_MAYMOVE | MREMAP_FIXED,
                                     MREMAP_FIXED, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0x40 };
    int flags = flag_sets[rng_below(sizeof flag_sets / sizeof flag_sets[0])];
    if (rng_below(10) == 0) {
        /* No overflowing new length: Linux 6.1 answers ENOMEM or EFAULT where later versions check
         * the length first (EINVAL). */
        unsigned long addr = wild_address(0);
        (void)rng_below(2);
        record(C_MREMAP, RAW(SYS_mremap, addr, PAGE, PAGE, flags, page_addr(rng_below(ARENA_PAGES)), 0));
        return;
    }
    size_t first, count;
    arena_range(&first, &count);
    if (model[first] & MAPPED)
        for (size_t i = 1; i < count; i++)
            if (run_of[first + i] != run_of[first]) { count = i; break; }
    unsigned long old = (unsigned long)page_addr(first), old_len = count * PAGE;
    size_t new_count = 1 + rng_below(2 * count + 2);
    if (!(flags & MREMAP_MAYMOVE) && first + new_count > ARENA_PAGES) new_count = ARENA_PAGES - first; /* in place stays inside */
    if (flags & MREMAP_DONTUNMAP && rng_below(2)) new_count = count;
    /* A move to a fixed address without a resize may take several mappings and the holes between
     * them since Linux 6.17 (EFAULT before): the fuzzer keeps to what every version answers alike. */
    if (flags & MREMAP_FIXED && new_count == count) new_count = count + 1;
    unsigned long new_len = new_count * PAGE;
    size_t target = 0;
    unsigned long new_addr = 0;
    if (flags & MREMAP_FIXED) {
        target = rng_below(ARENA_PAGES);
        if (target + new_count > ARENA_PAGES) target = ARENA_PAGES - new_count;
        /* A wild target only when the old range starts at a mapping: Linux 6.1 looks the old address
         * up first (EFAULT), later versions check the target first (EINVAL). */
        new_addr = rng_below(12) == 0 && (model[first] & MAPPED) ? wild_address(1) : (unsigned long)page_addr(target);
    }
    /* Nor a target overlapping an old range that starts unmapped (6.1: EFAULT, later: EINVAL). */
    if ((flags & MREMAP_FIXED) && !(model[first] & MAPPED) && in_arena(new_addr) && target < first + count && first < target + new_count)
        flags &= ~MREMAP_FIXED;
    int shared_old = (model[first] & (MAPPED | SHARED)) == (MAPPED | SHARED);
    switch (rng_below(12)) {
    case 0: break; /* (no overflowing new length: see above) */
    case 1: old += 1 + rng_below(PAGE - 1); break;
    case 2: if (shared_old) old_len = 0; break; /* a second mapping of the same shared pages */
    case 3: new_len = 0; break;
    default: break;
    }
    if (!(flags & MREMAP_MAYMOVE) && !(flags & MREMAP_FIXED) && old + new_len > (unsigned long)page_addr(ARENA_PAGES) && old + new_len > old)
        new_len = (unsigned long)page_addr(ARENA_PAGES) - old; /* never grow past the arena's guard page */
    unsigned char before[ARENA_PAGES];
    memcpy(before, model, sizeof model);
    long r = record(C_MREMAP, RAW(SYS_mremap, old, old_len, new_len, flags, new_addr, 0));
    if (trace)
        say("  op %lu mremap page %zu+%lu -> %lu pages, flags %d, target %s %zu: %s\n", current_op, first, old_len / PAGE, new_len / PAGE,
            flags, in_arena(new_addr) ? "page" : "outside", target, failed(r) ? errno_name((int)-r) : (unsigned long)r == old ? "in place" : in_arena((unsigned long)r) ? "moved in the arena" : "moved out");
    size_t new_pages = (new_len + PAGE - 1) / PAGE;
    if (failed(r)) {
        /* A failed move to a fixed address may or may not have unmapped the target and, when it
         * shrinks, the old range's tail first (Linux 6.1 unmaps both before it finds the old
         * range too short; later versions check first): the fuzzer unmaps them itself, so every
         * kernel goes on from the same state. */
        if ((flags & MREMAP_FIXED) && in_arena(new_addr) && new_pages) {
            RAW(SYS_munmap, new_addr, new_pages * PAGE, 0, 0, 0, 0);
            set_range(target, new_pages, 0);
            if (old % PAGE == 0 && old_len > new_pages * PAGE) {
                RAW(SYS_munmap, old + new_pages * PAGE, old_len - new_pages * PAGE, 0, 0, 0, 0);
                set_range(first + new_pages, old_len / PAGE - new_pages, 0);
            }
        }
        return;
    }
    unsigned char last = before[first + (old_len ? (old_len - 1) / PAGE : 0)];
    /* Pages a resize adds to a shared mapping may lie past the end of the shared object, where an
     * access is SIGBUS: the model does not follow objects, so it never touches them. */
    if (last & SHARED) last |= PAST_OBJECT;
    if ((unsigned long)r == old) {            /* resized in place */
        fold(1);
        size_t old_pages = old_len / PAGE;
        if (new_pages < old_pages) set_range(first + new_pages, old_pages - new_pages, 0);
        else set_range(first + old_pages, new_pages - old_pages, last & (unsigned char)~CONTENT_UNKNOWN);
        return;
    }
    fold(2);
    if (old_len && !(flags & MREMAP_DONTUNMAP)) set_range(first, old_len / PAGE, 0);
    else if (old_len) for (size_t i = first; i < first + old_len / PAGE; i++) if (!(model[i] & SHARED)) model[i] &= (unsigned char)~CONTENT_UNKNOWN;
    if ((flags & MREMAP_FIXED) && (unsigned long)r == new_addr && in_arena(new_addr)) {
        new_run(target, new_pages);
        for (size_t i = 0; i < new_pages; i++) {
            size_t from = first + i;
            model[target + i] = i < old_len / PAGE ? before[from] : (last & (unsigned char)~CONTENT_UNKNOWN);
        }
    } else {
        RAW(SYS_munmap, r, new_len, 0, 0, 0, 0); /* moved where the model cannot know */
    }
}

static void op_madvise(void)
{
    static const int advice[] = { MADV_DONTNEED, MADV_DONTNEED, MADV_FREE, MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, 999, -1 };
    int adv = advice[rng_below(sizeof advice / sizeof advice[0])];
    if (rng_below(8) == 0) {
        unsigned long addr = wild_address(0);
        /* Only lengths that wrap: a long one that does not would reach the program's own memory.
         * (i386: x86-64 Linux runs a 32-bit program's call with the length zero-extended, so no
         * 32-bit length wraps there; a long one only from the kernel's quarter, above all of it.) */
#if defined(__i386__)
        unsigned long len = rng_below(2) && addr >= USER_END ? ~0UL - rng_below(PAGE) : PAGE * (1 + rng_below(8));
#else
        unsigned long len = rng_below(2) ? ~0UL - rng_below(PAGE) : PAGE * (1 + rng_below(8));
#endif
        trace_call("madvise", addr, len, adv, 0, record(C_MADVISE, RAW(SYS_madvise, addr, len, adv, 0, 0, 0)));
        return;
    }
    size_t first, count;
    arena_range(&first, &count);
    unsigned long addr = (unsigned long)page_addr(first), len = count * PAGE;
    if (rng_below(16) == 0) addr += 1 + rng_below(PAGE - 1);
#if !defined(__i386__) /* (a wrapping length from the arena: not on i386, see above) */
    if (rng_below(16) == 0) len = ~0UL - rng_below(PAGE);
#endif
    long r = record(C_MADVISE, RAW(SYS_madvise, addr, len, adv, 0, 0, 0));
    trace_call("madvise", addr, len, adv, 0, r);
    if (addr % PAGE == 0 && len < ARENA_PAGES * PAGE) cut(first, count); /* some advice splits a mapping */
    if (adv == MADV_FREE && addr % PAGE == 0 && len < ARENA_PAGES * PAGE)
        for (size_t i = first; i < first + count; i++) model[i] |= CONTENT_UNKNOWN; /* freed lazily: old data or zero */
    if (adv == MADV_DONTNEED && !failed(r) && len < ARENA_PAGES * PAGE)
        for (size_t i = first; i < first + count; i++) model[i] &= (unsigned char)~CONTENT_UNKNOWN;
}

static unsigned long fault_budget, child_budget;

static void op_touch(unsigned long op)
{
    size_t page = rng_below(ARENA_PAGES);
    int write_it = (int)rng_below(2);
    unsigned char m = model[page];
    int prot = m & PROT_BITS;
    volatile uint64_t *p = (volatile uint64_t *)page_addr(page);
    if (trace) say("  op %lu touch page %zu state 0x%02x %s\n", op, page, m, write_it ? "write" : "read");
    if (m & PAST_OBJECT) return;
    if (m & MAPPED && !(m & PROT_UNKNOWN)) {
        if (write_it && (prot & PROT_WRITE)) {
            *p = op ^ seed_value;
            model[page] &= (unsigned char)~CONTENT_UNKNOWN;
            record(C_TOUCH, 0);
            return;
        }
        if (!write_it && (prot & (PROT_READ | PROT_WRITE))) {
            uint64_t v = *p;
            record(C_TOUCH, 0);
            if (!(m & CONTENT_UNKNOWN)) fold(v);
            return;
        }
        if (prot == PROT_EXEC) return; /* execute-only reads depend on the CPU's protection keys */
    } else if (m & PROT_UNKNOWN) {
        return;
    }
    /* The access must fault: make it in a child, now and then (forks are not free). */
    if (!fault_budget) return;
    fault_budget--;
    volatile char *target = rng_below(4) == 0 ? (volatile char *)wild_address(0) : (volatile char *)p;
    pid_t pid = fork();
    if (pid == 0) {
        if (write_it) *target = 1; else (void)*target;
        _exit(0);
    }
    if (pid < 0) { record(C_FAULT, -errno); return; }
    int st = reap(pid);
    fold((uint64_t)st);
    record(C_FAULT, WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV ? 0 : -EINVAL);
    if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV)) {
        char b[64];
        say("a %s of %s page %zu (model state 0x%02x) that the model says faults ended %s\n", write_it ? "write" : "read",
            target == (volatile char *)p ? "arena" : "wild address, not arena", page, m, status_text(st, b, sizeof b));
    }
}

static void run_ops(unsigned long from, unsigned long count, int depth);

/* Trace mode on Linux: compares the model's mapped pages and rights with /proc/self/maps after
 * every operation (a kernel without /proc skips it). */
static void check_model_against_proc(void)
{
    static char text[1 << 20];
    long fd = RAW(SYS_openat, AT_FDCWD_VALUE, "/proc/self/maps", 0, 0, 0, 0);
    if (failed(fd)) return;
    size_t n = 0;
    for (long r; (r = RAW(SYS_read, fd, text + n, sizeof text - 1 - n, 0, 0, 0)) > 0;) n += (size_t)r;
    RAW(SYS_close, fd, 0, 0, 0, 0, 0);
    text[n] = 0;
    static unsigned char real[ARENA_PAGES];
    memset(real, 0, sizeof real);
    for (char *line = text; *line;) {
        unsigned long lo = strtoul(line, &line, 16), hi = strtoul(line + 1, &line, 16);
        int prot = (line[1] == 'r' ? PROT_READ : 0) | (line[2] == 'w' ? PROT_WRITE : 0) | (line[3] == 'x' ? PROT_EXEC : 0);
        for (unsigned long a = lo; a < hi; a += PAGE)
            if (in_arena(a)) real[(a - (unsigned long)arena) / PAGE] = (unsigned char)(MAPPED | prot);
        while (*line && *line != '\n') line++;
        if (*line) line++;
    }
    for (size_t i = 0; i < ARENA_PAGES; i++) {
        unsigned char m = model[i];
        if ((m & MAPPED) != (real[i] & MAPPED) || ((m & MAPPED) && !(m & PROT_UNKNOWN) && (m & PROT_BITS) != (real[i] & PROT_BITS))) {
            say("model differs at op %lu, page %zu: model 0x%02x, /proc/self/maps 0x%02x\n", current_op, i, m, real[i]);
            _exit(99);
        }
    }
}

/* A child fuzzes its copy of everything (the model, the arena) with its own seed, then leaves its
 * digest in the shared page; the parent folds it and the wait status in. */
static void op_child(unsigned long op)
{
    if (!child_budget) return;
    child_budget--;
    pid_t pid = fork();
    if (pid == 0) {
        rng_seed(seed_value ^ (op * 0x100000001b3ULL));
        digest = FNV_START ^ op;
        run_ops(op, 200, 1);
        shared->child_digest = digest;
        _exit((int)(digest & 0x3f));
    }
    if (pid < 0) { record(C_CHILD, -errno); return; }
    int st = reap(pid);
    fold((uint64_t)st);
    fold(shared->child_digest);
    record(C_CHILD, 0);
}

static void run_ops(unsigned long from, unsigned long count, int depth)
{
    for (unsigned long op = from; op < from + count; op++) {
        current_op = op;
        unsigned k = (unsigned)rng_below(100);
        if (k < 18) op_mmap();
        else if (k < 30) op_munmap();
        else if (k < 44) op_mprotect();
        else if (k < 54) op_mremap();
        else if (k < 62) op_madvise();
        else if (k < 99 || depth) op_touch(op);
        else op_child(op);
        if (trace) check_model_against_proc();
    }
}

int main(int argc, char **argv)
{
    seed_value = arg_ul(argc, argv, 1, 1);
    unsigned long count = arg_ul(argc, argv, 2, 100000);
    trace = argc > 3 && !strcmp(argv[3], "trace");
    require_four_level_paging();
    rng_seed(seed_value);
    fault_budget = count / 200 + 1;
    child_budget = count / 2000 + 1;
    long s = RAW(SYS_mmap, 0, (sizeof(struct shared_state) + PAGE - 1) & ~(PAGE - 1), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    long a = RAW(SYS_mmap, 0, (ARENA_PAGES + 2) * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (failed(s) || failed(a)) { say("setup mmap failed\n"); return 1; }
    shared = (struct shared_state *)s;
    arena = (char *)a + PAGE;
    RAW(SYS_munmap, a, PAGE, 0, 0, 0, 0);                                  /* guard page below */
    RAW(SYS_munmap, arena + ARENA_PAGES * PAGE, PAGE, 0, 0, 0, 0);          /* guard page above */
    set_range(0, ARENA_PAGES, MAPPED | PROT_NONE);

    run_ops(0, count, 0);

    say("fuzz: seed %lu, %lu operations in the parent\n", (unsigned long)seed_value, count);
    for (int c = 0; c < C_COUNT; c++) {
        char line[1024];
        int n = snprintf(line, sizeof line, "%s:", call_names[c]);
        for (int e = 0; e < ERRNO_SLOTS; e++)
            if (shared->results[c][e]) n += snprintf(line + n, sizeof line - (size_t)n, " %s %lu", e ? errno_name(e) : "OK", shared->results[c][e]);
        say("%s\n", line);
    }
    say("digest %016llx\n", (unsigned long long)digest);
    say("unexpected results: %lu\n", shared->unexpected);
    return shared->unexpected ? 1 : 0;
}
