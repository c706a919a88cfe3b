/* A file read and mapped: PATH (a file given with `--file`). openat, fstat, read in odd-sized
 * pieces, lseek, pread, close; mmap MAP_PRIVATE of the whole file and at a page offset, compared
 * with what read gave; a write to a private writable mapping changes the copy only; the bytes
 * past the end of the file in the last page read zero; the errors of bad descriptors, paths,
 * buffers and rights. */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
    if (argc < 2) { say("usage: file-map PATH\n"); return 2; }
    long fd = check("openat", RAW(SYS_openat, AT_FDCWD, argv[1], O_RDONLY, 0, 0, 0));
    if (failed(fd)) return 1;
#if defined(__i386__)
    struct stat64 st; /* i386's fstat is the old 16-bit structure; fstat64's matches struct stat64 */
    check("fstat", RAW(SYS_fstat64, fd, &st, 0, 0, 0, 0));
#else
    struct stat st;
    check("fstat", RAW(SYS_fstat, fd, &st, 0, 0, 0, 0));
#endif
    size_t size = (size_t)st.st_size;
    say("  size %zu bytes, regular file: %s\n", size, S_ISREG(st.st_mode) ? "yes" : "no");
    if (size < 2 * PAGE) { say("the file must be at least two pages long\n"); return 1; }

    unsigned char *data = malloc(size + 1);
    size_t got = 0;
    for (;;) {
        long r = RAW(SYS_read, fd, data + got, size + 1 - got < 1000 ? size + 1 - got : 1000, 0, 0, 0);
        if (failed(r)) { say("read: %s\n", errno_name((int)-r)); return 1; }
        if (r == 0) break;
        got += (size_t)r;
    }
    say("read in 1000-byte pieces: %zu bytes, checksum %016llx\n", got, (unsigned long long)fnv(FNV_START, data, got));
    say("lseek to the end: %s\n", RAW(SYS_lseek, fd, 0, SEEK_END, 0, 0, 0) == (long)size ? "the size" : "wrong");
    say("lseek to 100 then read 16: %s\n", RAW(SYS_lseek, fd, 100, SEEK_SET, 0, 0, 0) == 100 ? "at 100" : "wrong");
    unsigned char piece[16];
    say("  matches: %s\n", RAW(SYS_read, fd, piece, 16, 0, 0, 0) == 16 && !memcmp(piece, data + 100, 16) ? "yes" : "no");
    say("pread 16 at 3000: %s\n", RAW(SYS_pread64, fd, piece, 16, 3000, 0, 0) == 16 && !memcmp(piece, data + 3000, 16) ? "matches" : "wrong");
    say("  file offset unchanged by pread: %s\n", RAW(SYS_lseek, fd, 0, SEEK_CUR, 0, 0, 0) == 116 ? "yes" : "no");
    check("lseek to a negative offset", RAW(SYS_lseek, fd, -1, SEEK_SET, 0, 0, 0));
    check("lseek with whence 99", RAW(SYS_lseek, fd, 0, 99, 0, 0, 0));
    check("read into a kernel address", RAW(SYS_read, fd, 0xffffffff80000000UL, 16, 0, 0, 0));
    check("read into address 0", RAW(SYS_read, fd, 0, 16, 0, 0, 0));
    check("pread at a negative offset", RAW(SYS_pread64, fd, piece, 16, -5, 0, 0));

    long m = check("mmap MAP_PRIVATE PROT_READ of the whole file", RAW(SYS_mmap, 0, size, PROT_READ, MAP_PRIVATE, fd, 0));
    if (failed(m)) return 1;
    unsigned char *map = (unsigned char *)m;
    say("  same bytes as read: %s\n", !memcmp(map, data, size) ? "yes" : "no");
    size_t tail = (size + PAGE - 1) / PAGE * PAGE;
    int zero = 1;
    for (size_t i = size; i < tail; i++) if (map[i]) zero = 0;
    say("  bytes past the end in the last page read zero: %s\n", zero ? "yes" : "no");
    char buf[64];
    say("  write to the read-only mapping: %s\n", probe((char *)map, WRITE, buf, sizeof buf));

    long w = check("mmap MAP_PRIVATE PROT_READ|PROT_WRITE at offset 4096", RAW(SYS_mmap, 0, size - PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PAGE));
    if (failed(w)) return 1;
    unsigned char *copy = (unsigned char *)w;
    say("  same bytes as read from 4096: %s\n", !memcmp(copy, data + PAGE, size - PAGE) ? "yes" : "no");
    copy[0] ^= 0xff;
    RAW(SYS_pread64, fd, piece, 1, PAGE, 0, 0);
    say("  a write changes the private copy only: file %s, whole-file mapping %s\n", piece[0] == data[PAGE] ? "unchanged" : "changed",
        map[PAGE] == data[PAGE] ? "unchanged" : "changed");
    check("mmap at an unaligned offset", RAW(SYS_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE, fd, 100));
    check("mmap MAP_SHARED PROT_WRITE of a read-only descriptor", RAW(SYS_mmap, 0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    check("munmap the whole-file mapping", RAW(SYS_munmap, map, size, 0, 0, 0, 0));
    check("close", RAW(SYS_close, fd, 0, 0, 0, 0, 0));
    say("  the private mapping outlives the descriptor: %s\n", copy[1] == data[PAGE + 1] ? "yes" : "no");
    check("close again", RAW(SYS_close, fd, 0, 0, 0, 0, 0));
    check("read from the closed descriptor", RAW(SYS_read, fd, piece, 1, 0, 0, 0));
    check("openat a missing file", RAW(SYS_openat, AT_FDCWD, "/no-such-file-here", O_RDONLY, 0, 0, 0));
    check("openat with a kernel-address path", RAW(SYS_openat, AT_FDCWD, 0xffffffff80000000UL, O_RDONLY, 0, 0, 0));
    return 0;
}
