/* Writes through a NULL pointer: the kernel kills the process with SIGSEGV (status 139), and
   goes on to report the run and get every frame back. */
#include <stdio.h>

int main(void)
{
    printf("about to write to NULL\n");
    fflush(stdout);
    *(volatile int *)0 = 1;
    printf("still alive\n");
    return 0;
}
