/* The init of tests/linux/i386-native's initramfs: runs the i386 program /job/prog once, with the
 * arguments in /job/argv (NUL-separated, argv[0] first), as `setarch i386 -3 -L -R` runs it (a
 * 3 GiB user space, the classic bottom-up mmap layout, no randomisation), its stdin /dev/null,
 * its stdout and stderr into files; then prints on the console, one marked line at a time:
 *   I386-NATIVE status N            (exit status, or 128 + the signal that ended it)
 *   I386-NATIVE out HEX / err HEX   (its output, 48 bytes a line, upper-case hexadecimal)
 *   I386-NATIVE end
 * and powers the machine off. Memory is overcommitted as on a large host, where a 32-bit
 * program's limit is its address space, not the guest's RAM. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void power_off(void)
{
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    for (;;) pause();
}

static void fail(const char *what)
{
    printf("I386-NATIVE error %s\n", what);
    power_off();
}

static void dump(const char *label, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail("an output file is missing");
    unsigned char buf[48];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        printf("I386-NATIVE %s ", label);
        for (size_t i = 0; i < n; i++) printf("%02X", buf[i]);
        printf("\n");
    }
    fclose(f);
}

int main(void)
{
    /* devtmpfs for /dev/null (the kernel's own rootfs has /dev/console, and opened it for init
     * when it could). */
    mkdir("/dev", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
    if (fcntl(1, F_GETFD) < 0) {
        int fd = open("/dev/console", O_RDWR);
        if (fd < 0) power_off();
        dup2(fd, 0); dup2(fd, 1); dup2(fd, 2);
        if (fd > 2) close(fd);
    }
    mkdir("/proc", 0555);
    mount("proc", "/proc", "proc", 0, 0);
    int fd = open("/proc/sys/vm/overcommit_memory", O_WRONLY);
    if (fd < 0 || write(fd, "1", 1) != 1) fail("overcommit_memory");
    close(fd);

    static char args[1 << 16];
    fd = open("/job/argv", O_RDONLY);
    if (fd < 0) fail("no /job/argv");
    ssize_t len = read(fd, args, sizeof args - 1);
    close(fd);
    if (len <= 0) fail("an empty /job/argv");
    char *argv[256];
    int argc = 0;
    for (ssize_t i = 0; i < len && argc < 255; i += strlen(args + i) + 1) argv[argc++] = args + i;
    argv[argc] = NULL;
    char *envp[] = { "PATH=/usr/bin:/bin", "HOME=/", NULL };

    pid_t pid = fork();
    if (pid == 0) {
        /* Close-on-exec: the program starts with 0, 1 and 2 open and nothing else, as natively. */
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        int out = open("/job/out", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int err = open("/job/err", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (in < 0 || out < 0 || err < 0) { dprintf(1, "I386-NATIVE error /dev/null, /job/out or /job/err\n"); _exit(125); }
        if (personality(PER_LINUX32 | ADDR_LIMIT_3GB | ADDR_COMPAT_LAYOUT | ADDR_NO_RANDOMIZE) < 0) { dprintf(1, "I386-NATIVE error personality\n"); _exit(125); }
        int console = fcntl(1, F_DUPFD_CLOEXEC, 3);
        dup2(in, 0); dup2(out, 1); dup2(err, 2);
        execve("/job/prog", argv, envp);
        dprintf(console, "I386-NATIVE error execve /job/prog\n");
        _exit(126);
    }
    if (pid < 0) fail("fork");
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {}
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("I386-NATIVE status %d\n", code);
    dump("out", "/job/out");
    dump("err", "/job/err");
    printf("I386-NATIVE end\n");
    power_off();
    return 0;
}
