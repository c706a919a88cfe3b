/* brk growth and shrink: ROUNDS (default 8) times the break grows in 64 KiB steps to MIB (default
 * 64) above its start, each new page written, then shrinks back in the same steps.
 * Prints: BENCH brk ms=TOTAL steps=N */
#include "bench.h"

static unsigned long set_break(unsigned long a) { return (unsigned long)syscall(SYS_brk, a); }

int main(int argc, char **argv)
{
    unsigned long rounds = arg_ul(argc, argv, 1, 8);
    size_t mib = arg_ul(argc, argv, 2, 64), step = 64 << 10, top = mib << 20;
    unsigned long start = set_break(0), steps = 0;
    uint64_t t0 = now_ns();
    for (unsigned long r = 0; r < rounds; r++) {
        for (size_t b = step; b <= top; b += step, steps++) {
            if (set_break(start + b) != start + b) { result("BENCH error brk refused a grow\n"); return 1; }
            for (size_t i = b - step; i < b; i += PAGE) ((volatile char *)start)[i] = (char)r;
        }
        for (size_t b = top; b >= step; b -= step, steps++)
            if (set_break(start + b - step) != start + b - step) { result("BENCH error brk refused a shrink\n"); return 1; }
    }
    result("BENCH brk ms=%.3f steps=%lu\n", (now_ns() - t0) / 1e6, steps);
    return 0;
}
