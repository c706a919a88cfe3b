/* fork with copy-on-write: parent and child each write their own pattern over a private region
 * they share after fork, and each sees only its own writes; a MAP_SHARED anonymous page is seen
 * by both; a grandchild and several children in a row; wait4 reports each exit status. The child
 * prints before it exits and the parent only after wait4, so the output order is fixed. */
#include "common.h"

#define PAGES 64

static uint64_t sum_region(const unsigned char *p, size_t n) { return fnv(FNV_START, p, n); }

int main(void)
{
    char buf[64];
    size_t n = PAGES * PAGE;
    unsigned char *priv = (unsigned char *)RAW(SYS_mmap, 0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *shared = (unsigned char *)RAW(SYS_mmap, 0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (failed((long)priv) || failed((long)shared)) { say("mmap failed\n"); return 1; }
    for (size_t i = 0; i < n; i++) priv[i] = (unsigned char)(i * 3);
    static int data_var = 100; /* in .data: copy-on-write of the image's pages too */
    uint64_t before = sum_region(priv, n);
    say("parent before fork: region %016llx\n", (unsigned long long)before);

    pid_t pid = fork();
    if (pid < 0) { say("fork: %s\n", errno_name(errno)); return 1; }
    if (pid == 0) {
        int same = sum_region(priv, n) == before;
        for (size_t i = 0; i < n; i += 2 * PAGE) priv[i + 5] = 0xc1; /* every other page */
        data_var = 200;
        shared[0] = 'c';
        say("child: saw the parent's data: %s, region after its writes %016llx, data_var %d\n", same ? "yes" : "no",
            (unsigned long long)sum_region(priv, n), data_var);
        _exit(7);
    }
    int st = reap(pid);
    say("parent: child %s\n", status_text(st, buf, sizeof buf));
    say("parent: region unchanged by the child: %s, data_var %d, shared page from the child: %c\n",
        sum_region(priv, n) == before ? "yes" : "no", data_var, shared[0]);
    for (size_t i = PAGE; i < n; i += 2 * PAGE) priv[i + 9] = 0xa7;
    say("parent: region after its own writes %016llx\n", (unsigned long long)sum_region(priv, n));

    /* The parent writes after fork, the child must still see the old contents. */
    pid = fork();
    if (pid == 0) {
        /* Grandchild: a copy of a copy. */
        pid_t g = fork();
        if (g == 0) {
            priv[0] = 0x11;
            say("grandchild: region %016llx\n", (unsigned long long)sum_region(priv, n));
            _exit(3);
        }
        int gs = reap(g);
        say("child: grandchild %s, child's region %016llx (unchanged by the grandchild)\n", status_text(gs, buf, sizeof buf),
            (unsigned long long)sum_region(priv, n));
        _exit(0);
    }
    st = reap(pid);
    say("parent: second child %s\n", status_text(st, buf, sizeof buf));

    /* Children in a row, each writing all pages, each exit status distinct. */
    for (int k = 1; k <= 5; k++) {
        pid = fork();
        if (pid == 0) {
            memset(priv, k, n);
            shared[k] = (unsigned char)k;
            _exit(10 + k);
        }
        st = reap(pid);
        say("child %d: %s\n", k, status_text(st, buf, sizeof buf));
    }
    say("parent: region still its own: %016llx, shared page 1..5: %d %d %d %d %d\n", (unsigned long long)sum_region(priv, n),
        shared[1], shared[2], shared[3], shared[4], shared[5]);
    int status = 0;
    long r = RAW(SYS_wait4, -1, &status, 0, 0, 0, 0);
    say("wait4 with no children left: %s\n", failed(r) ? errno_name((int)-r) : "a child");
    return 0;
}
