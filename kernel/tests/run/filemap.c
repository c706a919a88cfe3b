/* A file given to the run (argv[1]): fstat, read, pread, then mapped MAP_PRIVATE: its bytes
   come in on first touch, a write to the mapping stays private (the file reads the same after),
   and what a read-only file refuses (a shared writable mapping, write) fails with Linux's errno.
   Nothing printed depends on where things are, so the output equals a native run's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *result(long r) { return r < 0 ? strerror(errno) : "ok"; }

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: filemap FILE\n"); return 2; }
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { printf("open: %s\n", strerror(errno)); return 1; }
    struct stat st;
    if (fstat(fd, &st) != 0) { printf("fstat: %s\n", strerror(errno)); return 1; }
    printf("size %ld, regular %d\n", (long)st.st_size, S_ISREG(st.st_mode));
    char buf[64];
    ssize_t n = read(fd, buf, 10);
    printf("read %zd: %.*s\n", n, (int)n, buf);
    n = pread(fd, buf, 5, 2);
    printf("pread %zd: %.*s\n", n, (int)n, buf);
    printf("lseek to end: %ld\n", (long)lseek(fd, 0, SEEK_END));
    printf("read at end: %zd\n", read(fd, buf, sizeof buf));

    char *m = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) { printf("mmap: %s\n", strerror(errno)); return 1; }
    printf("mapped: %.12s\n", m);
    printf("past the end of the file, in its last page: %d\n", m[st.st_size]);
    m[0] = 'X';
    n = pread(fd, buf, 3, 0);
    printf("after a private write: file %.*s, mapping %.3s\n", (int)n, buf, m);
    printf("munmap: %s\n", result(munmap(m, st.st_size)));

    void *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("shared writable mapping: %s\n", shared == MAP_FAILED ? strerror(errno) : "ok");
    printf("unaligned offset: %s\n", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 100) == MAP_FAILED ? strerror(errno) : "ok");
    printf("write: %s\n", result(write(fd, "x", 1)));
    printf("read into a kernel address: %s\n", result(read(fd, (void *)0xffff800000000000UL, 4)));
    printf("open a missing file: %s\n", result(open("/no-such-file", O_RDONLY)));
    printf("close: %s\n", result(close(fd)));
    printf("close again: %s\n", result(close(fd)));
    return 0;
}
