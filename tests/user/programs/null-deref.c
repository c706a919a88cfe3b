/* Reads through a NULL pointer: the process is killed by SIGSEGV (exit status 139 for the shell
 * and for `sharpmm qemu --run`); the line before it shows the program ran until then. */
#include "common.h"

int main(void)
{
    say("about to read address 0\n");
    volatile int *p = 0;
    int v = *p;
    say("read %d: the NULL dereference was not caught\n", v);
    return 1;
}
