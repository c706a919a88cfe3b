/* Shared helpers of the user test programs: unbuffered output (a forked child and a killed
 * process lose nothing and duplicate nothing), errno names, raw system calls (musl's wrappers
 * round or pre-check some arguments, so the kernel would never see them), a probe that touches an
 * address in a forked child, and a seeded generator. Programs print no addresses, so the output of
 * a run under Linux and under SharpMM can be compared byte for byte. */
#ifndef USER_COMMON_H
#define USER_COMMON_H
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096UL
#define MAP_FIXED_NOREPLACE_VALUE 0x100000

/* One write per call: output is never buffered across a fork or lost by a kill. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void say(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
    for (int done = 0; done < n;) {
        long w = write(1, buf + done, (size_t)(n - done));
        if (w <= 0) _exit(120);
        done += (int)w;
    }
}

static inline const char *errno_name(int e)
{
    switch (e) {
    case 0: return "OK";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
    case EBADF: return "EBADF";
    case ECHILD: return "ECHILD";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENOTTY: return "ENOTTY";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    case ERANGE: return "ERANGE";
    case ENOSYS: return "ENOSYS";
    case EOVERFLOW: return "EOVERFLOW";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "E_OTHER";
    }
}

/* The address space the expectations assume. x86-64: a 47-bit user half (4-level paging), the
 * kernel's image at 0xffffffff80000000. i386 (the same sources built with gcc -m32): the classic
 * 3G/1G split, user space below 0xC0000000, the kernel's image at 0xC0100000; natively such a
 * program runs under `setarch i386 -3`, which gives a 32-bit process on x86-64 Linux the same
 * limit (without it, its user space would reach 0xFFFFE000). */
#if defined(__i386__)
#define USER_END 0xC0000000UL
#define KERNEL_IMAGE 0xC0100000UL
#else
#define USER_END 0x0000800000000000UL
#define KERNEL_IMAGE 0xffffffff80000000UL
#endif

/* A raw system call: the result, or -errno (Linux's convention for -4095..-1). On i386,
 * SYS_mmap is old_mmap, whose six arguments are in a structure in memory (mmap2 is what the C
 * library's mmap calls). */
static inline long raw6(long n, long a, long b, long c, long d, long e, long f)
{
#if defined(__i386__)
    long args[6] = { a, b, c, d, e, f };
    long r = n == SYS_mmap ? syscall(n, args) : syscall(n, a, b, c, d, e, f);
#else
    long r = syscall(n, a, b, c, d, e, f);
#endif
    return r == -1 ? -errno : r;
}
#define RAW(n, a, b, c, d, e, f) raw6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

static inline int failed(long r) { return r < 0 && r > -4096; }

/* "what: OK" or "what: EINVAL"; returns the raw result so a caller can go on with it. */
static inline long check(const char *what, long r)
{
    say("%s: %s\n", what, failed(r) ? errno_name((int)-r) : "OK");
    return r;
}

/* How a child ended, in words that do not depend on the kernel: "exit 0" or "signal 11". */
static inline const char *status_text(int status, char *buf, size_t size)
{
    if (WIFEXITED(status)) snprintf(buf, size, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) snprintf(buf, size, "signal %d", WTERMSIG(status));
    else snprintf(buf, size, "status 0x%x", status);
    return buf;
}

/* Waits for pid with wait4 and returns its status; exits the program if wait4 fails. */
static inline int reap(pid_t pid)
{
    int status = 0;
    long r = RAW(SYS_wait4, pid, &status, 0, 0, 0, 0);
    if (r != pid) {
        say("wait4: %s\n", failed(r) ? errno_name((int)-r) : "wrong pid");
        _exit(121);
    }
    return status;
}

enum access { READ, WRITE };

/* Touches one byte at addr in a forked child: "ok" when the access worked, "signal 11" when the
 * child was killed. The parent's memory is never touched. */
static inline const char *probe(volatile char *addr, enum access how, char *buf, size_t size)
{
    pid_t pid = fork();
    if (pid < 0) { say("fork: %s\n", errno_name(errno)); _exit(122); }
    if (pid == 0) {
        if (how == WRITE) *addr = 1;
        else (void)*addr;
        _exit(0);
    }
    int status = reap(pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) { snprintf(buf, size, "ok"); return buf; }
    return status_text(status, buf, size);
}

/* xorshift64*: small, seeded, the same sequence on every machine. */
static uint64_t rng_state = 1;
static inline void rng_seed(uint64_t seed) { rng_state = seed * 0x9E3779B97F4A7C15ULL + 1; if (!rng_state) rng_state = 1; }
static inline uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}
static inline uint64_t rng_below(uint64_t n) { return n ? rng() % n : 0; }

/* FNV-1a over bytes, for checksums and digests. */
static inline uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 0x100000001b3ULL; }
    return h;
}
#define FNV_START 0xcbf29ce484222325ULL

/* The expectations assume 4-level paging: a 47-bit user half, 0x0000800000000000 non-canonical.
 * With 5-level paging (LA57) Linux maps there, and a call the tests expect to be refused would
 * unmap the program itself: say so and stop (exit 2) instead. */
static inline void require_four_level_paging(void)
{
#if defined(__x86_64__)
    long r = raw6(SYS_mmap, 0x0000800000000000L, (long)PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE_VALUE, -1, 0);
    if (!failed(r)) {
        say("this machine has a user half above 2^47 (5-level paging): these tests assume 4-level paging\n");
        _exit(2);
    }
#endif
}

static inline unsigned long arg_ul(int argc, char **argv, int i, unsigned long fallback)
{
    return i < argc ? strtoul(argv[i], 0, 0) : fallback;
}

#endif
