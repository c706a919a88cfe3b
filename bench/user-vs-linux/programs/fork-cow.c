/* Fork of a large process with copy-on-write: MIB (default 128) of anonymous memory written, then
 * ROUNDS (default 4) times: fork (timed in the parent until fork returns), the child writes one
 * byte in every page (each write breaks a shared page: timed by the child, reported through a
 * shared page) and exits, the parent waits and writes every page itself.
 * Prints (means per round): BENCH fork-cow ms=TOTAL fork_us=F child_dirty_ms=C parent_dirty_ms=P */
#include "bench.h"
#include <sys/wait.h>

int main(int argc, char **argv)
{
    size_t mib = arg_ul(argc, argv, 1, 128);
    unsigned long rounds = arg_ul(argc, argv, 2, 4);
    size_t n = mib << 20, pages = n / PAGE;
    volatile char *p = map_anon(n);
    for (size_t i = 0; i < pages; i++) p[i * PAGE] = 1;
    volatile uint64_t *shared = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if ((void *)shared == MAP_FAILED) { result("BENCH error shared mmap failed\n"); return 1; }
    uint64_t fork_ns = 0, child_ns = 0, parent_ns = 0, start = now_ns();
    for (unsigned long r = 0; r < rounds; r++) {
        uint64_t t0 = now_ns();
        pid_t pid = fork();
        if (pid < 0) { result("BENCH error fork failed\n"); return 1; }
        if (pid == 0) {
            uint64_t c0 = now_ns();
            for (size_t i = 0; i < pages; i++) p[i * PAGE] = 2;
            shared[0] = now_ns() - c0;
            _exit(0);
        }
        fork_ns += now_ns() - t0;
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) { result("BENCH error child failed\n"); return 1; }
        child_ns += shared[0];
        uint64_t d0 = now_ns();
        for (size_t i = 0; i < pages; i++) p[i * PAGE] = (char)r;
        parent_ns += now_ns() - d0;
    }
    uint64_t total = now_ns() - start;
    result("BENCH fork-cow ms=%.3f fork_us=%.1f child_dirty_ms=%.3f parent_dirty_ms=%.3f\n", total / 1e6, fork_ns / 1e3 / rounds,
           child_ns / 1e6 / rounds, parent_ns / 1e6 / rounds);
    return 0;
}
