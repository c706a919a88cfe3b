/* PROT_NONE then touch: a forked child reads, another writes a PROT_NONE page, each is killed by
 * SIGSEGV and the parent reports the wait status; a PROT_READ page takes reads and kills a writer;
 * after mprotect(PROT_READ|PROT_WRITE) the data written before PROT_NONE is still there. Last, the
 * program touches the PROT_NONE page itself and is killed (exit status 139). */
#include "common.h"

int main(void)
{
    char buf[64];
    char *p = (char *)RAW(SYS_mmap, 0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (failed((long)p)) { say("mmap: %s\n", errno_name((int)-(long)p)); return 1; }
    strcpy(p, "kept across PROT_NONE");
    check("mprotect PROT_NONE", RAW(SYS_mprotect, p, PAGE, PROT_NONE, 0, 0, 0));
    say("child reads PROT_NONE page: %s\n", probe(p, READ, buf, sizeof buf));
    say("child writes PROT_NONE page: %s\n", probe(p, WRITE, buf, sizeof buf));
    check("mprotect PROT_READ", RAW(SYS_mprotect, p, PAGE, PROT_READ, 0, 0, 0));
    say("child reads PROT_READ page: %s\n", probe(p, READ, buf, sizeof buf));
    say("child writes PROT_READ page: %s\n", probe(p, WRITE, buf, sizeof buf));
    say("contents: %s\n", p);
    check("mprotect PROT_READ|PROT_WRITE", RAW(SYS_mprotect, p, PAGE, PROT_READ | PROT_WRITE, 0, 0, 0));
    say("child writes PROT_READ|PROT_WRITE page: %s\n", probe(p, WRITE, buf, sizeof buf));
    p[0] = 'K';
    say("contents after the parent's write: %s\n", p);
    check("mprotect PROT_NONE again", RAW(SYS_mprotect, p, PAGE, PROT_NONE, 0, 0, 0));
    say("the parent now reads the PROT_NONE page\n");
    volatile char *v = p;
    say("read %d: the access was not caught\n", *v);
    return 1;
}
