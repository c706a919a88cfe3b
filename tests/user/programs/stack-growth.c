/* Stack growth: MIB (default 7) of recursion with 64 KiB frames, each frame written and checked
 * on the way back; then a forked child recurses without end and is killed by SIGSEGV when it
 * passes the 8 MiB stack limit (the parent prints the wait status). */
#include "common.h"

#define FRAME (64 * 1024)

static uint64_t descend(unsigned depth, unsigned target)
{
    volatile unsigned char frame[FRAME];
    for (size_t i = 0; i < FRAME; i += 512) frame[i] = (unsigned char)(depth + i / 512);
    uint64_t below = depth + 1 < target ? descend(depth + 1, target) : 0;
    uint64_t h = below;
    for (size_t i = 0; i < FRAME; i += 512) {
        if (frame[i] != (unsigned char)(depth + i / 512)) { say("frame %u corrupted\n", depth); _exit(1); }
        h = h * 31 + frame[i];
    }
    return h;
}

/* The stack limit, not this flag, ends the recursion (the flag keeps the compiler from calling the
 * recursion infinite). */
static volatile int keep_going = 1;

static unsigned long forever(unsigned long depth)
{
    volatile unsigned char frame[FRAME];
    if (!keep_going) return depth;
    frame[0] = (unsigned char)depth;
    frame[FRAME - 1] = (unsigned char)depth;
    return forever(depth + 1) + frame[0];
}

int main(int argc, char **argv)
{
    char buf[64];
    unsigned mib = (unsigned)arg_ul(argc, argv, 1, 7);
    uint64_t h = descend(0, mib * 16);
    say("recursed %u MiB of stack: checksum %016llx\n", mib, (unsigned long long)h);
    pid_t pid = fork();
    if (pid == 0) { say("child: recursing without end\n"); forever(0); _exit(0); }
    say("parent: child %s\n", status_text(reap(pid), buf, sizeof buf));
    return 0;
}
