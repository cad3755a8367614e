/* t-pty: runs a command on a terminal of its own, as a shell prompt would,
 * and types into it: for the tests of what atb does with a terminal
 * (--foreground, SIGTTIN, ^C).
 *
 *   t-pty [-w TEXT] [-s BYTES] ... -- COMMAND [ARG...]
 *
 * The command leads a new session whose controlling terminal is a fresh
 * pseudo-terminal, on its fds 0, 1 and 2, in the terminal's foreground
 * group. The steps run in order: -w waits until TEXT has appeared in what
 * the terminal printed since the previous -w matched, -s types BYTES. What
 * the terminal prints is copied to stdout (with \r\n as the terminal makes
 * it). t-pty exits with the command's status (128+N for signal N) once the
 * command has ended, 124 after 30 s (the command is then killed), and 125
 * on a usage or system error. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LIMIT_S 30

static char seen[65536];
static size_t nseen;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads what the terminal printed, waiting up to ms; -1 at its end (EIO
 * once every slave fd is closed). */
static int pump(int master, int ms)
{
    struct pollfd p = {.fd = master, .events = POLLIN};
    char buf[4096];
    ssize_t n;

    if (poll(&p, 1, ms) <= 0)
        return 0;
    n = read(master, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0)
        return -1;
    fwrite(buf, 1, (size_t)n, stdout);
    fflush(stdout);
    if (nseen + (size_t)n >= sizeof(seen)) /* keep the tail */
        nseen = 0;
    memcpy(seen + nseen, buf, (size_t)n);
    nseen += (size_t)n;
    seen[nseen] = '\0';
    return 1;
}

static int run_steps(int master, char **argv, int first_cmd, double deadline)
{
    for (int i = 1; i < first_cmd - 1; i += 2) {
        if (strcmp(argv[i], "-s") == 0) {
            size_t len = strlen(argv[i + 1]);
            if (write(master, argv[i + 1], len) != (ssize_t)len)
                return -1;
            continue;
        }
        while (strstr(seen, argv[i + 1]) == NULL) {
            if (now() > deadline || pump(master, 100) < 0)
                return -1;
        }
        /* The next -w looks only at what comes after this match. */
        {
            char *at = strstr(seen, argv[i + 1]) + strlen(argv[i + 1]);
            nseen = strlen(at);
            memmove(seen, at, nseen + 1);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int master, first_cmd = -1, status;
    double deadline = now() + LIMIT_S;
    pid_t pid;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            first_cmd = i + 1;
            break;
        }
        if ((strcmp(argv[i], "-w") != 0 && strcmp(argv[i], "-s") != 0) || i + 1 >= argc) {
            fprintf(stderr, "usage: t-pty [-w TEXT] [-s BYTES]... -- COMMAND [ARG...]\n");
            return 125;
        }
        i++;
    }
    if (first_cmd < 0 || first_cmd >= argc) {
        fprintf(stderr, "usage: t-pty [-w TEXT] [-s BYTES]... -- COMMAND [ARG...]\n");
        return 125;
    }
    pid = forkpty(&master, NULL, NULL, NULL);
    if (pid < 0) {
        perror("t-pty: forkpty");
        return 125;
    }
    if (pid == 0) {
        execvp(argv[first_cmd], argv + first_cmd);
        perror("t-pty: exec");
        _exit(127);
    }
    if (run_steps(master, argv, first_cmd, deadline) < 0) {
        fprintf(stderr, "t-pty: gave up waiting for the terminal\n");
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return 124;
    }
    /* Until the command has ended and the terminal said all it had. */
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (now() > deadline) {
            fprintf(stderr, "t-pty: the command did not end within %d s\n", LIMIT_S);
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return 124;
        }
        pump(master, 20);
    }
    while (pump(master, 0) > 0)
        ;
    close(master);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
