/* mmap, munmap, mprotect, mremap and madvise at their edges, through raw system calls (musl's
 * wrappers would round or refuse some arguments before the kernel sees them). Each line is one
 * call and its result (OK or the errno name) or one probe of a page from a forked child ("ok" or
 * "signal 11"). No addresses are printed: where an address matters, the line says how it relates
 * to the one asked for. */
#include "common.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif

#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define RW (PROT_READ | PROT_WRITE)

static char pbuf[64];
static const char *touch(char *a, enum access how) { return probe(a, how, pbuf, sizeof pbuf); }

static char *map(const char *what, void *addr, unsigned long len, int prot, int flags)
{
    long r = check(what, RAW(SYS_mmap, addr, len, prot, flags, -1, 0));
    return failed(r) ? 0 : (char *)r;
}

/* A fresh reservation of n pages, PROT_NONE, for cases that need known neighbours. */
static char *reserve(unsigned long pages)
{
    long r = RAW(SYS_mmap, 0, pages * PAGE, PROT_NONE, ANON, -1, 0);
    if (failed(r)) { say("reserve: %s\n", errno_name((int)-r)); _exit(1); }
    return (char *)r;
}

static void section(const char *name) { say("\n== %s\n", name); }

/* When a call a section builds on fails, the rest of the section would touch memory that is not
 * there: the section ends with a line saying so (the difference shows in the comparison) and the
 * program goes on with the next one. */
#define NEED(ok, end) do { if (!(ok)) { say("  (the rest of this section needs that call: skipped)\n"); goto end; } } while (0)

/* The lengths and addresses past user space: x86-64's non-canonical hole, i386's kernel quarter. */
#if defined(__i386__)
#define HUGE_LENGTH (1UL << 31)
#define HUGE_TEXT "2^31"
#define PAST_USER "the end of user space (0xC0000000)"
#define USER_SPACE_TEXT "3 GiB (the whole user space)"
#else
#define HUGE_LENGTH (1UL << 63)
#define HUGE_TEXT "2^63"
#define PAST_USER "a non-canonical address"
#define USER_SPACE_TEXT "2^47 (the whole user half)"
#endif

int main(void)
{
    require_four_level_paging();
    const unsigned long kernel = KERNEL_IMAGE, noncanon = USER_END;

    section("mmap arguments");
    check("length 0", RAW(SYS_mmap, 0, 0, RW, ANON, -1, 0));
    check("length ~0 (rounds up to 0)", RAW(SYS_mmap, 0, ~0UL, RW, ANON, -1, 0));
    check("length " HUGE_TEXT, RAW(SYS_mmap, 0, HUGE_LENGTH, RW, ANON, -1, 0));
    check("length " USER_SPACE_TEXT, RAW(SYS_mmap, 0, USER_END, RW, ANON, -1, 0));
    check("neither MAP_PRIVATE nor MAP_SHARED", RAW(SYS_mmap, 0, PAGE, RW, MAP_ANONYMOUS, -1, 0));
    check("MAP_PRIVATE|MAP_SHARED", RAW(SYS_mmap, 0, PAGE, RW, MAP_PRIVATE | MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    check("prot bit 0x10 (mmap does not check prot)", RAW(SYS_mmap, 0, PAGE, RW | 0x10, ANON, -1, 0));
    check("file mapping of fd -1", RAW(SYS_mmap, 0, PAGE, RW, MAP_PRIVATE, -1, 0));
    check("file mapping of fd 1000 (not open)", RAW(SYS_mmap, 0, PAGE, RW, MAP_PRIVATE, 1000, 0));
    check("anonymous with unaligned offset", RAW(SYS_mmap, 0, PAGE, RW, ANON, -1, 123));
    check("MAP_FIXED at an unaligned address", RAW(SYS_mmap, 0x10000123, PAGE, RW, ANON | MAP_FIXED, -1, 0));
    check("MAP_FIXED at a kernel address", RAW(SYS_mmap, kernel, PAGE, RW, ANON | MAP_FIXED, -1, 0));
    check("MAP_FIXED at " PAST_USER, RAW(SYS_mmap, noncanon, PAGE, RW, ANON | MAP_FIXED, -1, 0));
    check("MAP_FIXED ending past the user half", RAW(SYS_mmap, noncanon - PAGE, 2 * PAGE, RW, ANON | MAP_FIXED, -1, 0));
    {
        long r = check("hint at a kernel address (ignored)", RAW(SYS_mmap, kernel, PAGE, RW, ANON, -1, 0));
        if (!failed(r)) { say("  placed in the user half: %s\n", (unsigned long)r < noncanon ? "yes" : "no"); RAW(SYS_munmap, r, PAGE, 0, 0, 0, 0); }
    }

    section("MAP_FIXED and MAP_FIXED_NOREPLACE");
    {
        char *r = reserve(8);
        char *a = map("MAP_FIXED over the middle of a reservation", r + 2 * PAGE, 2 * PAGE, RW, ANON | MAP_FIXED);
        NEED(a == r + 2 * PAGE, fixed_end);
        say("  at the requested address: %s\n", a == r + 2 * PAGE ? "yes" : "no");
        r[2 * PAGE] = 7;
        say("  page before: %s\n", touch(r + PAGE, READ));
        say("  mapped page write: %s\n", touch(r + 3 * PAGE, WRITE));
        say("  page after: %s\n", touch(r + 4 * PAGE, READ));
        check("MAP_FIXED_NOREPLACE over the mapped pages", RAW(SYS_mmap, r + 2 * PAGE, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0));
        check("MAP_FIXED_NOREPLACE overlapping the end", RAW(SYS_mmap, r + 3 * PAGE, 2 * PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0));
        say("  data kept: %s\n", r[2 * PAGE] == 7 ? "yes" : "no");
        check("munmap the reservation", RAW(SYS_munmap, r, 8 * PAGE, 0, 0, 0, 0));
        char *b = map("MAP_FIXED_NOREPLACE into the freed range", r + PAGE, PAGE, RW, ANON | MAP_FIXED_NOREPLACE);
        say("  at the requested address: %s\n", b == r + PAGE ? "yes" : "no");
        char *h = map("hint at a free address", r + 4 * PAGE, PAGE, RW, ANON);
        say("  hint taken: %s\n", h == r + 4 * PAGE ? "yes" : "no");
        char *h2 = map("hint at a taken address", r + PAGE, PAGE, RW, ANON);
        say("  placed elsewhere: %s\n", h2 && h2 != r + PAGE ? "yes" : "no");
        check("MAP_FIXED replaces a mapping", RAW(SYS_mmap, r + PAGE, PAGE, PROT_READ, ANON | MAP_FIXED, -1, 0));
        say("  the new mapping is read-only, write: %s\n", touch(r + PAGE, WRITE));
        if (h2) RAW(SYS_munmap, h2, PAGE, 0, 0, 0, 0);
    fixed_end:
        RAW(SYS_munmap, r, 8 * PAGE, 0, 0, 0, 0);
    }

    section("PROT_NONE reservation");
    {
        char *r = reserve(16);
        say("read the reservation: %s\n", touch(r + 5 * PAGE, READ));
        NEED(!failed(check("mprotect 4 pages in the middle RW", RAW(SYS_mprotect, r + 4 * PAGE, 4 * PAGE, RW, 0, 0, 0))), reservation_end);
        r[4 * PAGE] = 1; r[7 * PAGE] = 2;
        say("  write inside: %s\n", touch(r + 6 * PAGE, WRITE));
        say("  write below: %s\n", touch(r + 3 * PAGE, WRITE));
        say("  write above: %s\n", touch(r + 8 * PAGE, WRITE));
        say("  new pages read zero: %s\n", r[5 * PAGE] == 0 && r[6 * PAGE + 100] == 0 ? "yes" : "no");
    reservation_end:
        RAW(SYS_munmap, r, 16 * PAGE, 0, 0, 0, 0);
    }

    section("munmap");
    check("munmap length 0", RAW(SYS_munmap, 0x10000000, 0, 0, 0, 0, 0));
    check("munmap unaligned address", RAW(SYS_munmap, 0x10000123, PAGE, 0, 0, 0, 0));
    check("munmap a kernel address", RAW(SYS_munmap, kernel, PAGE, 0, 0, 0, 0));
    check("munmap " PAST_USER, RAW(SYS_munmap, noncanon, PAGE, 0, 0, 0, 0));
    check("munmap with a wrapping length", RAW(SYS_munmap, 0x10000000, ~0UL - PAGE, 0, 0, 0, 0));
    check("munmap with length " USER_SPACE_TEXT, RAW(SYS_munmap, 0x10000000, USER_END, 0, 0, 0, 0));
    {
        char *r = reserve(16);
        check("munmap a whole reservation", RAW(SYS_munmap, r, 16 * PAGE, 0, 0, 0, 0));
        check("munmap it again (nothing mapped there)", RAW(SYS_munmap, r, 16 * PAGE, 0, 0, 0, 0));
        char *a = map("three RW mappings of 4 pages side by side (1)", r, 4 * PAGE, RW, ANON | MAP_FIXED);
        char *a2 = map("three RW mappings of 4 pages side by side (2)", r + 4 * PAGE, 4 * PAGE, PROT_READ, ANON | MAP_FIXED);
        char *a3 = map("three RW mappings of 4 pages side by side (3)", r + 8 * PAGE, 4 * PAGE, RW, ANON | MAP_FIXED);
        NEED(a == r && a2 == r + 4 * PAGE && a3 == r + 8 * PAGE, munmap_end);
        for (int i = 0; i < 4; i++) a[i * PAGE] = (char)(10 + i), a[(8 + i) * PAGE] = (char)(20 + i);
        check("munmap the first page (front)", RAW(SYS_munmap, r, PAGE, 0, 0, 0, 0));
        check("munmap page 2 (middle of the first)", RAW(SYS_munmap, r + 2 * PAGE, PAGE, 0, 0, 0, 0));
        check("munmap pages 3-9 (spanning all three)", RAW(SYS_munmap, r + 3 * PAGE, 7 * PAGE, 0, 0, 0, 0));
        static const char *const names[12] = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11" };
        for (int i = 0; i < 12; i++) say("  page %s read: %s\n", names[i], touch(r + i * PAGE, READ));
        say("  survivors kept their data: %s\n", r[PAGE] == 11 && r[10 * PAGE] == 22 && r[11 * PAGE] == 23 ? "yes" : "no");
        check("munmap with an unaligned length (rounds up)", RAW(SYS_munmap, r + 10 * PAGE, PAGE + 1, 0, 0, 0, 0));
        say("  page 11 read: %s\n", touch(r + 11 * PAGE, READ));
    munmap_end:
        RAW(SYS_munmap, r, 16 * PAGE, 0, 0, 0, 0);
    }

    section("mprotect");
    {
        char *r = map("map 8 pages RW", 0, 8 * PAGE, RW, ANON);
        NEED(r, mprotect_end);
        check("unaligned address", RAW(SYS_mprotect, r + 1, PAGE, PROT_READ, 0, 0, 0));
        check("unknown prot bit 0x10", RAW(SYS_mprotect, r, PAGE, PROT_READ | 0x10, 0, 0, 0));
        check("length 0", RAW(SYS_mprotect, r, 0, PROT_READ, 0, 0, 0));
#if defined(__x86_64__)
        /* (Not on i386: x86-64 Linux runs a 32-bit program's call with the length zero-extended,
         * so it does not wrap there, and changes the pages up to the first hole before it answers
         * ENOMEM, where an i386 kernel refuses it whole.) */
        check("wrapping length", RAW(SYS_mprotect, r, ~0UL - PAGE, PROT_READ, 0, 0, 0));
#endif
        check("kernel address", RAW(SYS_mprotect, kernel, PAGE, PROT_READ, 0, 0, 0));
        check("page 2 read-only", RAW(SYS_mprotect, r + 2 * PAGE, PAGE, PROT_READ, 0, 0, 0));
        say("  write page 1: %s\n", touch(r + PAGE, WRITE));
        say("  write page 2: %s\n", touch(r + 2 * PAGE, WRITE));
        say("  read page 2: %s\n", touch(r + 2 * PAGE, READ));
        check("munmap page 5", RAW(SYS_munmap, r + 5 * PAGE, PAGE, 0, 0, 0, 0));
        check("mprotect across the hole", RAW(SYS_mprotect, r + 4 * PAGE, 3 * PAGE, PROT_READ, 0, 0, 0));
        check("mprotect the unmapped page", RAW(SYS_mprotect, r + 5 * PAGE, PAGE, PROT_READ, 0, 0, 0));
        check("PROT_EXEC", RAW(SYS_mprotect, r, PAGE, PROT_READ | PROT_EXEC, 0, 0, 0));
        RAW(SYS_munmap, r, 8 * PAGE, 0, 0, 0, 0);
    mprotect_end:;
    }

    section("mremap");
    {
        char *r = reserve(32);
        RAW(SYS_munmap, r, 32 * PAGE, 0, 0, 0, 0);
        char *a = map("map 4 pages at a known free place", r, 4 * PAGE, RW, ANON | MAP_FIXED);
        NEED(a == r, mremap_end);
        for (int i = 0; i < 4; i++) a[i * PAGE] = (char)(40 + i);
        check("unaligned old address", RAW(SYS_mremap, a + 1, PAGE, 2 * PAGE, 0, 0, 0));
        check("new length 0", RAW(SYS_mremap, a, PAGE, 0, 0, 0, 0));
        check("unknown flag 0x80", RAW(SYS_mremap, a, PAGE, PAGE, 0x80, 0, 0));
        check("MREMAP_FIXED without MREMAP_MAYMOVE", RAW(SYS_mremap, a, PAGE, PAGE, MREMAP_FIXED, r + 20 * PAGE, 0));
        /* (A new length of 2^63 is left out: Linux 6.1 answers ENOMEM, later versions EINVAL.) */
        check("old range not mapped", RAW(SYS_mremap, r + 10 * PAGE, PAGE, 2 * PAGE, 0, 0, 0));
        check("old range longer than the mapping", RAW(SYS_mremap, a, 8 * PAGE, 9 * PAGE, 0, 0, 0));
        long g = check("grow in place 4 -> 6 pages", RAW(SYS_mremap, a, 4 * PAGE, 6 * PAGE, 0, 0, 0));
        if (!failed(g)) say("  same address: %s, new pages read zero: %s\n", (char *)g == a ? "yes" : "no", a[5 * PAGE] == 0 ? "yes" : "no");
        map("a neighbour right after it", r + 6 * PAGE, PAGE, RW, ANON | MAP_FIXED);
        check("grow into the neighbour without MREMAP_MAYMOVE", RAW(SYS_mremap, a, 6 * PAGE, 8 * PAGE, 0, 0, 0));
        long s = check("shrink 6 -> 3 pages", RAW(SYS_mremap, a, 6 * PAGE, 3 * PAGE, 0, 0, 0));
        if (!failed(s)) say("  same address: %s\n", (char *)s == a ? "yes" : "no");
        say("  page 3 read after the shrink: %s\n", touch(a + 3 * PAGE, READ));
        NEED(!failed(check("grow back 3 -> 6 pages", RAW(SYS_mremap, a, 3 * PAGE, 6 * PAGE, 0, 0, 0))), mremap_end);
        say("  page 3 reads zero: %s\n", a[3 * PAGE] == 0 ? "yes" : "no");
        long m = check("grow 6 -> 12 pages with MREMAP_MAYMOVE (must move)", RAW(SYS_mremap, a, 6 * PAGE, 12 * PAGE, MREMAP_MAYMOVE, 0, 0));
        if (!failed(m)) {
            char *b = (char *)m;
            say("  moved: %s, data moved: %s\n", b != a ? "yes" : "no", b[0] == 40 && b[PAGE] == 41 && b[2 * PAGE] == 42 ? "yes" : "no");
            say("  old address read: %s\n", touch(a, READ));
            long f = check("MREMAP_FIXED to a chosen address", RAW(SYS_mremap, b, 12 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, r + 16 * PAGE, 0));
            if (!failed(f)) say("  at the chosen address: %s, data: %s\n", (char *)f == r + 16 * PAGE ? "yes" : "no",
                                (char *)f == r + 16 * PAGE && r[16 * PAGE + PAGE] == 41 ? "yes" : "no");
            check("MREMAP_FIXED onto itself (overlap)", RAW(SYS_mremap, r + 16 * PAGE, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, r + 17 * PAGE, 0));
            RAW(SYS_munmap, b, 12 * PAGE, 0, 0, 0, 0);
        }
        {
            /* A mapped old range of its own: with none, which check answers first (the old range
             * or the new address) differs between Linux versions (EFAULT in 6.1, EINVAL in 6.18). */
            char *k = map("a page to move", 0, PAGE, RW, ANON);
            if (k) {
                check("MREMAP_FIXED to a kernel address", RAW(SYS_mremap, k, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, kernel, 0));
                RAW(SYS_munmap, k, PAGE, 0, 0, 0, 0);
            }
        }
    mremap_end:
        RAW(SYS_munmap, r, 32 * PAGE, 0, 0, 0, 0);
    }

    section("madvise");
    {
        char *a = map("map 4 pages RW", 0, 4 * PAGE, RW, ANON);
        NEED(a, madvise_end);
        memset(a, 0x5a, 4 * PAGE);
        check("MADV_DONTNEED pages 1-2", RAW(SYS_madvise, a + PAGE, 2 * PAGE, MADV_DONTNEED, 0, 0, 0));
        say("  page 0 kept: %s, pages 1-2 read zero: %s, page 3 kept: %s\n", a[0] == 0x5a ? "yes" : "no",
            a[PAGE] == 0 && a[3 * PAGE - 1] == 0 ? "yes" : "no", a[3 * PAGE] == 0x5a ? "yes" : "no");
        check("MADV_FREE", RAW(SYS_madvise, a, PAGE, MADV_FREE, 0, 0, 0));
        check("unaligned address", RAW(SYS_madvise, a + 1, PAGE, MADV_DONTNEED, 0, 0, 0));
        check("unknown advice 999", RAW(SYS_madvise, a, PAGE, 999, 0, 0, 0));
        check("length 0", RAW(SYS_madvise, a, 0, MADV_DONTNEED, 0, 0, 0));
#if defined(__x86_64__)
        /* (Not on i386, for the reason given at mprotect: x86-64 Linux would zap every page above.) */
        check("wrapping length", RAW(SYS_madvise, a, ~0UL - PAGE, MADV_DONTNEED, 0, 0, 0));
#endif
        check("munmap page 3", RAW(SYS_munmap, a + 3 * PAGE, PAGE, 0, 0, 0, 0));
        check("MADV_DONTNEED across the hole", RAW(SYS_madvise, a + 2 * PAGE, 2 * PAGE, MADV_DONTNEED, 0, 0, 0));
        check("MADV_DONTNEED on a kernel address", RAW(SYS_madvise, kernel, PAGE, MADV_DONTNEED, 0, 0, 0));
        RAW(SYS_munmap, a, 4 * PAGE, 0, 0, 0, 0);
    madvise_end:;
    }

    section("MAP_SHARED anonymous");
    {
        char *s = map("map 1 page shared", 0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS);
        NEED(s, shared_end);
        s[0] = 1;
        pid_t pid = fork();
        if (pid == 0) { s[0] = 2; _exit(0); }
        int st = reap(pid);
        say("  child %s, the parent sees the child's write: %s\n", status_text(st, pbuf, sizeof pbuf), s[0] == 2 ? "yes" : "no");
    shared_end:;
    }
    say("\ndone\n");
    return 0;
}
