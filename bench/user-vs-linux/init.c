/* The init of the Linux benchmark initramfs: runs the program named by its arguments (the words
 * after "--" on the kernel command line), times it with CLOCK_MONOTONIC from fork to wait, prints
 * "LINUX-RUN {"program":...,"exit_status":N,"elapsed_ms":T}" on the console and powers the machine
 * off. The program's own output goes to the same console. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void power_off(void)
{
    sync();
    reboot(RB_POWER_OFF);
    for (;;) pause();
}

int main(int argc, char **argv, char **envp)
{
    /* The kernel opens /dev/console for init when the initramfs has it; otherwise mount devtmpfs. */
    if (fcntl(1, F_GETFD) < 0) {
        mkdir("/dev", 0755);
        mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
        int fd = open("/dev/console", O_RDWR);
        if (fd < 0) power_off();
        dup2(fd, 0); dup2(fd, 1); dup2(fd, 2);
    }
    /* /proc for programs that read their own maps (the fuzzer's trace mode). */
    mkdir("/proc", 0555);
    mount("proc", "/proc", "proc", 0, 0);
    if (argc < 2) { printf("LINUX-RUN {\"error\":\"no program on the kernel command line (after --)\"}\n"); fflush(stdout); power_off(); }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid == 0) {
        execve(argv[1], argv + 1, envp);
        printf("LINUX-RUN {\"error\":\"execve %s failed\"}\n", argv[1]);
        fflush(stdout);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {}
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("LINUX-RUN {\"program\":\"%s\",\"exit_status\":%d,\"elapsed_ms\":%.3f}\n", argv[1], code, ms);
    fflush(stdout);
    power_off();
    return 0;
}
