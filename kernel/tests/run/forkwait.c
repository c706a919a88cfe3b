/* fork with copy-on-write: parent and child each see only their own writes (a stack variable,
   a 1 MiB heap block); wait4 returns the child's pid and its exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

int main(void)
{
    int local = 1;
    char *block = malloc(1 << 20);
    memset(block, 'p', 1 << 20);
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) { perror("fork"); return 1; }
    if (child == 0) {
        local = 2;
        memset(block, 'c', 1 << 20);
        printf("child: local %d, block %c%c\n", local, block[0], block[(1 << 20) - 1]);
        fflush(stdout);
        _exit(42);
    }
    int status = 0;
    pid_t waited = wait4(child, &status, 0, NULL);
    printf("parent: local %d, block %c%c\n", local, block[0], block[(1 << 20) - 1]);
    printf("wait4: own child %s, exited %d, status %d\n", waited == child ? "yes" : "no", WIFEXITED(status), WEXITSTATUS(status));
    printf("wait4 again: %s\n", wait4(-1, &status, 0, NULL) < 0 ? "no child left" : "unexpected child");
    return 0;
}
