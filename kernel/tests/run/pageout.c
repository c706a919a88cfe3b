/* Touches more memory than a 64 MiB guest has (96 MiB, one word per page, twice over): the
   kernel must page out to its backing store and bring every page back with its value. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

#define BYTES (96UL << 20)
#define PAGE 4096UL

int main(void)
{
    uint64_t *p = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    for (unsigned long i = 0; i < BYTES / PAGE; i++) p[i * (PAGE / 8)] = i * 2654435761UL;
    unsigned long wrong = 0;
    for (int round = 0; round < 2; round++)
        for (unsigned long i = 0; i < BYTES / PAGE; i++)
            if (p[i * (PAGE / 8)] != i * 2654435761UL) wrong++;
    printf("touched %lu MiB, read back twice: %lu pages wrong\n", BYTES >> 20, wrong);
    printf("munmap: %s\n", munmap(p, BYTES) == 0 ? "ok" : "failed");
    return wrong != 0;
}
