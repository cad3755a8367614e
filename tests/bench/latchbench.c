/* latchbench: how long a waiting `atb latch wait-set NAME` takes to return
 * once `atb latch set NAME` runs.
 *
 *   latchbench ATB NAME WAITERS TRIALS
 *
 * Each trial unsets the latch, starts WAITERS waiters, waits until every one
 * of them is blocked (it has an inotify watch and is sleeping), then starts
 * the setter and reaps everything, noting when each process ended. A
 * waiter's latency is from just before the setter is started to its exit,
 * so it includes the setter's own start-up. Prints one line per trial and a
 * summary, in a form `key=value` the bench driver parses:
 *   trial=1 median_ms=.. max_ms=.. setter_ms=.. polling=..
 * where polling counts the waiters that had no inotify instance (they read
 * a wake FIFO of their own instead).
 * Exit status 0, or 1 when a waiter failed or never blocked.
 *
 *   latchbench floor FIFO WAITERS TRIALS
 *
 * is the physical floor of the same trial: WAITERS processes of this
 * program blocked in open(2) of a FIFO (latchbench --wait FIFO), and a
 * setter process that opens it for writing and closes it (latchbench --set
 * FIFO), which wakes them all with an end of file. Each does nothing else,
 * so what its latency shows is starting one process and the exits of the
 * woken ones on this machine's cores, which atb's waiters pay as well.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static pid_t spawn(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int rc;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "latchbench: %s: %s\n", argv[0], strerror(rc));
        exit(1);
    }
    return pid;
}

static int run_wait(char *const argv[])
{
    int st;
    pid_t pid = spawn(argv);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return st;
}

/* Is pid blocked in its wait? Returns 1 when it sleeps with an inotify watch
 * placed, 2 when it sleeps without any inotify fd (it reads its own
 * wake FIFO, or polls, as when fs.inotify.max_user_instances is used up),
 * 0 when not yet. */
static int blocked(pid_t pid)
{
    char path[64], buf[512], link[64];
    int watched = 0, inotify = 0, fd;
    ssize_t n;
    DIR *d;
    struct dirent *e;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL || p[2] != 'S')
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    d = opendir(path);
    if (d == NULL)
        return 0;
    while (!watched && (e = readdir(d)) != NULL) {
        char fpath[300];
        if (e->d_name[0] == '.')
            continue;
        snprintf(fpath, sizeof(fpath), "/proc/%d/fd/%s", (int)pid, e->d_name);
        n = readlink(fpath, link, sizeof(link) - 1);
        if (n <= 0)
            continue;
        link[n] = '\0';
        if (strcmp(link, "anon_inode:inotify") != 0)
            continue;
        inotify = 1;
        snprintf(fpath, sizeof(fpath), "/proc/%d/fdinfo/%s", (int)pid, e->d_name);
        fd = open(fpath, O_RDONLY);
        if (fd < 0)
            continue;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n > 0) {
            buf[n] = '\0';
            watched = strstr(buf, "inotify wd:") != NULL;
        }
    }
    closedir(d);
    return watched ? 1 : inotify ? 0 : 2;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The floor's two roles: a waiter blocked on the FIFO until a writer has
 * opened and closed it, and that writer. */
static int floor_role(const char *role, const char *fifo)
{
    char c;
    ssize_t n;
    int fd;

    if (strcmp(role, "--set") == 0) {
        fd = open(fifo, O_WRONLY | O_CLOEXEC);
        return fd < 0 || close(fd) < 0;
    }
    fd = open(fifo, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    /* Nothing is ever written: an end of file is the setter's close. */
    while ((n = read(fd, &c, 1)) != 0)
        if (n < 0 && errno != EINTR)
            return 1;
    return 0;
}

/* The floor's argv: this program, as --set and --wait on the FIFO name. */
static int floor_argv(char *name, char *self, size_t size, char *set_argv[], char *wait_argv[])
{
    ssize_t n = readlink("/proc/self/exe", self, size - 1);

    if (n <= 0 || (mkfifo(name, 0600) < 0 && errno != EEXIST)) {
        fprintf(stderr, "latchbench: %s: %s\n", name, strerror(errno));
        return -1;
    }
    self[n] = '\0';
    set_argv[0] = wait_argv[0] = self;
    set_argv[1] = "--set";
    set_argv[2] = name;
    set_argv[3] = NULL;
    wait_argv[1] = "--wait";
    wait_argv[2] = name;
    wait_argv[3] = NULL;
    return 0;
}

/* Waits until each of the waiters is blocked; returns how many have no
 * inotify watch (they read wake FIFOs), or -1. */
static long all_blocked(const pid_t *pids, long waiters)
{
    double spawned = now_ms(), deadline = spawned + 60000;
    long ready = 0, polling = 0;

    while (ready < waiters) {
        int st, b;

        if (waitpid(-1, &st, WNOHANG) > 0) {
            fprintf(stderr, "latchbench: a waiter ended before the latch was set\n");
            return -1;
        }
        b = blocked(pids[ready]);
        /* A waiter without inotify is taken as blocked once it has had
         * time to start: it has no watch to show for it. */
        if (b == 1 || (b == 2 && now_ms() - spawned > 300)) {
            polling += b == 2;
            ready++;
        } else if (now_ms() > deadline) {
            fprintf(stderr, "latchbench: waiter %d never blocked\n", (int)pids[ready]);
            return -1;
        } else {
            usleep(1000);
        }
    }
    return polling;
}

struct figures {
    double median, max, setter;
};

/* One trial: the waiters, then the setter; each one's time to its end. */
static int trial(long t, long waiters, char *const wait_argv[], char *const set_argv[],
                 pid_t *pids, double *lat, struct figures *f)
{
    long nlat = 0, failed = 0, polling;
    double t0;
    pid_t setter;

    for (long i = 0; i < waiters; i++)
        pids[i] = spawn(wait_argv);
    polling = all_blocked(pids, waiters);
    if (polling < 0)
        return -1;
    usleep(20000);
    t0 = now_ms();
    setter = spawn(set_argv);
    f->setter = 0;
    for (long left = waiters + 1; left > 0;) {
        siginfo_t si;
        double t1;

        si.si_pid = 0;
        if (waitid(P_ALL, 0, &si, WEXITED) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        t1 = now_ms() - t0;
        left--;
        if (si.si_code != CLD_EXITED || si.si_status != 0)
            failed++;
        if (si.si_pid == setter)
            f->setter = t1;
        else
            lat[nlat++] = t1;
    }
    if (failed || nlat == 0) {
        fprintf(stderr, "latchbench: %ld processes failed\n", failed);
        return -1;
    }
    qsort(lat, (size_t)nlat, sizeof(*lat), cmp_double);
    f->median = lat[nlat / 2];
    f->max = lat[nlat - 1];
    printf("trial=%ld median_ms=%.3f max_ms=%.3f setter_ms=%.3f polling=%ld\n", t + 1,
           f->median, f->max, f->setter, polling);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    char *atb, *name, self[4096];
    long waiters, trials;
    int floor;

    if (argc == 3 && (strcmp(argv[1], "--wait") == 0 || strcmp(argv[1], "--set") == 0))
        return floor_role(argv[1], argv[2]);
    if (argc != 5) {
        fprintf(stderr, "usage: latchbench ATB|floor NAME WAITERS TRIALS\n");
        return 2;
    }
    atb = argv[1];
    name = argv[2];
    waiters = strtol(argv[3], NULL, 10);
    trials = strtol(argv[4], NULL, 10);
    if (waiters < 1 || trials < 1)
        return 2;

    char *unset_argv[] = {atb, "latch", "unset", name, NULL};
    char *set_argv[] = {atb, "latch", "set", name, NULL};
    char *wait_argv[] = {atb, "latch", "wait-set", "-t", "60s", name, NULL};
    pid_t *pids = calloc((size_t)waiters, sizeof(*pids));
    double *lat = calloc((size_t)waiters, sizeof(*lat));
    double *medians = calloc((size_t)trials, sizeof(*medians));
    double *maxes = calloc((size_t)trials, sizeof(*maxes));
    double *setters = calloc((size_t)trials, sizeof(*setters));

    floor = strcmp(atb, "floor") == 0;
    if (floor && floor_argv(name, self, sizeof(self), set_argv, wait_argv) < 0)
        return 1;
    for (long t = 0; t < trials; t++) {
        struct figures f;

        if (!floor && run_wait(unset_argv) != 0) {
            fprintf(stderr, "latchbench: atb latch unset failed\n");
            return 1;
        }
        if (trial(t, waiters, wait_argv, set_argv, pids, lat, &f) < 0)
            return 1;
        medians[t] = f.median;
        maxes[t] = f.max;
        setters[t] = f.setter;
    }
    qsort(medians, (size_t)trials, sizeof(double), cmp_double);
    qsort(maxes, (size_t)trials, sizeof(double), cmp_double);
    qsort(setters, (size_t)trials, sizeof(double), cmp_double);
    printf("summary waiters=%ld trials=%ld median_ms=%.3f max_ms=%.3f setter_ms=%.3f\n",
           waiters, trials, medians[trials / 2], maxes[trials / 2], setters[trials / 2]);
    if (floor)
        unlink(name);
    else
        run_wait(unset_argv);
    return 0;
}
