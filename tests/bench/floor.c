/* floor: the least a process orchestrator can do, as the yardstick for atb.
 *
 *   floor run [-j P] [-n N] [-p | -g] -- CMD [ARG...]
 *       Starts N copies of CMD (default 1) with at most P running at once
 *       (default and 0: no limit) and waits for them. -p: each child's
 *       stdout goes through a pipe that floor copies to its own stdout, as
 *       cat(1) would (the floor for any mode that reads the output). -g:
 *       each child writes straight into an unlinked file in $TMPDIR
 *       (default /tmp), sent to floor's stdout when the child ends: the
 *       least that holding output back in a file costs (the floor for
 *       atb's group mode).
 *   floor failfast [-n N] [-f] -- CMD [ARG...] -- FAILCMD [ARG...]
 *       Starts N copies of CMD, then FAILCMD; on the first child that fails
 *       SIGKILLs every process group it started, then reaps every
 *       descendant (it is a child subreaper) before it exits. -f: also
 *       holds a pidfd (close-on-exec) for every child, as atb does, to show
 *       what open fds cost each later spawn (the fd table is copied).
 *
 * Children are started with posix_spawn() in a process group of their own,
 * as atb starts them, and nothing else: no signal reset, no pidfds, no
 * event loop, no report. A program is looked up in PATH once, as a shell's
 * hash (and atb) does: posix_spawnp() would walk PATH again for every child
 * with a failed execve() per folder, more than the floor has to pay. Exit status: 0 when every child succeeded, else
 * the first failure's (128+N for a signal).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static posix_spawnattr_t attr;
static int hold_pidfds;

static void die(const char *what, int err)
{
    fprintf(stderr, "floor: %s: %s\n", what, strerror(err));
    exit(125);
}

static void usage(void)
{
    fprintf(stderr, "usage: floor run [-j P] [-n N] [-p | -g] -- CMD [ARG...]\n"
                    "       floor failfast [-n N] [-f] -- CMD [ARG...] -- FAILCMD [ARG...]\n");
    exit(2);
}

static int status_code(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Where name is, found in PATH the first time (two names are ever run). */
static const char *where(const char *name)
{
    static char found[2][4096];
    static const char *names[2];
    const char *path = getenv("PATH");
    int slot;

    if (strchr(name, '/') != NULL)
        return name;
    for (slot = 0; slot < 2 && names[slot] != NULL; slot++)
        if (strcmp(names[slot], name) == 0)
            return found[slot];
    if (slot == 2)
        slot = 1;
    while (path != NULL && *path) {
        const char *end = strchrnul(path, ':');

        snprintf(found[slot], sizeof(found[slot]), "%.*s/%s", (int)(end - path), path, name);
        struct stat st;

        if (stat(found[slot], &st) == 0 && S_ISREG(st.st_mode) && access(found[slot], X_OK) == 0) {
            names[slot] = name;
            return found[slot];
        }
        path = *end ? end + 1 : end;
    }
    return name; /* posix_spawn() then says why */
}

static pid_t spawn(char *const argv[], int out_fd)
{
    posix_spawn_file_actions_t fa, *fap = NULL;
    pid_t pid;
    int rc;

    if (out_fd >= 0) {
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
        fap = &fa;
    }
    rc = posix_spawn(&pid, where(argv[0]), fap, &attr, argv, environ);
    if (fap)
        posix_spawn_file_actions_destroy(fap);
    if (rc != 0)
        die(argv[0], rc);
    return pid;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int spill_open(void)
{
    const char *dir = getenv("TMPDIR");
    int fd;

    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        die("O_TMPFILE", errno);
    return fd;
}

/* -p: every child writes into a pipe of its own; copy them all to stdout. */
static int run_piped(char *const argv[], long n)
{
    static char buf[128 * 1024];
    struct pollfd *pfd = calloc((size_t)n, sizeof(*pfd));
    long open = n;
    int first = 0;

    if (pfd == NULL)
        die("calloc", ENOMEM);
    for (long i = 0; i < n; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
            die("pipe", errno);
        spawn(argv, p[1]);
        close(p[1]);
        pfd[i].fd = p[0];
        pfd[i].events = POLLIN;
    }
    while (open > 0) {
        if (poll(pfd, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll", errno);
        }
        for (long i = 0; i < n; i++) {
            ssize_t r;
            if (pfd[i].fd < 0 || pfd[i].revents == 0)
                continue;
            r = read(pfd[i].fd, buf, sizeof(buf));
            if (r > 0) {
                write_all(1, buf, (size_t)r);
            } else if (r == 0 || errno != EINTR) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
                open--;
            }
        }
    }
    for (;;) {
        int st;
        if (waitpid(-1, &st, 0) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (first == 0 && status_code(st) != 0)
            first = status_code(st);
    }
    free(pfd);
    return first;
}

/* -g: every child writes straight into an unlinked file of its own, which
 * is sent to stdout (sendfile) when the child has ended. */
static int run_held(char *const argv[], long n)
{
    pid_t *pids = calloc((size_t)n, sizeof(*pids));
    int *spill = calloc((size_t)n, sizeof(*spill));
    long left = n;
    int first = 0;

    if (pids == NULL || spill == NULL)
        die("calloc", ENOMEM);
    for (long i = 0; i < n; i++) {
        spill[i] = spill_open();
        pids[i] = spawn(argv, spill[i]);
    }
    while (left > 0) {
        struct stat st;
        off_t off = 0;
        pid_t pid;
        int ws;
        long i;

        pid = waitpid(-1, &ws, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            die("waitpid", errno);
        }
        for (i = 0; i < n && pids[i] != pid; i++)
            ;
        if (i == n)
            continue;
        left--;
        if (first == 0 && status_code(ws) != 0)
            first = status_code(ws);
        if (fstat(spill[i], &st) < 0)
            die("fstat", errno);
        while (off < st.st_size)
            if (sendfile(1, spill[i], &off, (size_t)(st.st_size - off)) <= 0 && errno != EINTR)
                die("sendfile", errno);
        close(spill[i]);
    }
    free(pids);
    free(spill);
    return first;
}

static int run(char *const argv[], long n, long jobs)
{
    long started = 0, running = 0;
    int first = 0;

    while (started < n || running > 0) {
        int st;

        while (started < n && (jobs == 0 || running < jobs)) {
            spawn(argv, -1);
            started++;
            running++;
        }
        if (waitpid(-1, &st, 0) < 0) {
            if (errno == EINTR)
                continue;
            die("waitpid", errno);
        }
        running--;
        if (first == 0 && status_code(st) != 0)
            first = status_code(st);
    }
    return first;
}

static int failfast(char *const argv[], char *const fail_argv[], long n)
{
    pid_t *pids = calloc((size_t)n + 1, sizeof(*pids));
    long alive = n + 1;
    int first = 0;

    if (pids == NULL)
        die("calloc", ENOMEM);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    for (long i = 0; i < n; i++) {
        pids[i] = spawn(argv, -1);
        if (hold_pidfds && syscall(SYS_pidfd_open, pids[i], 0) < 0)
            die("pidfd_open", errno);
    }
    pids[n] = spawn(fail_argv, -1);
    while (alive > 0) {
        int st;
        pid_t pid = waitpid(-1, &st, 0);

        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (long i = 0; i <= n; i++) {
            if (pids[i] != pid)
                continue;
            pids[i] = 0;
            alive--;
            if (first == 0 && status_code(st) != 0) {
                first = status_code(st);
                for (long j = 0; j <= n; j++)
                    if (pids[j] > 0)
                        kill(-pids[j], SIGKILL);
            }
            break;
        }
    }
    /* Grandchildren were reparented to us: reap them all. */
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
    free(pids);
    return first;
}

int main(int argc, char **argv)
{
    long n = 1, jobs = 0;
    int piped = 0, hold = 0, i;
    const char *verb;

    if (argc < 2)
        usage();
    verb = argv[1];
    for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "-j") == 0 && i + 1 < argc)
            jobs = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-p") == 0)
            piped = 1;
        else if (strcmp(argv[i], "-g") == 0)
            piped = hold = 1;
        else if (strcmp(argv[i], "-f") == 0)
            hold_pidfds = 1;
        else
            usage();
    }
    if (i + 1 >= argc || n < 1 || jobs < 0)
        usage();
    argv += i + 1;
    argc -= i + 1;

    posix_spawnattr_init(&attr);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);

    if (strcmp(verb, "run") == 0)
        return hold ? run_held(argv, n) : piped ? run_piped(argv, n) : run(argv, n, jobs);
    if (strcmp(verb, "failfast") == 0) {
        int k;
        for (k = 0; k < argc && strcmp(argv[k], "--") != 0; k++)
            ;
        if (k == 0 || k + 1 >= argc)
            usage();
        argv[k] = NULL;
        return failfast(argv, argv + k + 1, n);
    }
    usage();
    return 2;
}
