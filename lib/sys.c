/* sys: the few system calls atb wraps, made EINTR-safe and close-on-exec. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

ssize_t atb__read(int fd, void *buf, size_t len)
{
    ssize_t n;

    do
        n = read(fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

/* Writes all of buf, across partial writes; -EAGAIN on a non-blocking fd
 * that is full is returned as is, with nothing said about what was written,
 * so use it only on blocking fds. */
int atb__write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads a small file (a /proc entry) whole into buf, NUL-terminated, up to
 * size - 1 bytes. Returns its length, -ESRCH when it does not exist (a
 * process that is gone), or another negative errno. */
ssize_t atb__read_file(const char *path, char *buf, size_t size)
{
    size_t len = 0;
    int fd = atb__open(path, O_RDONLY, 0);

    if (fd < 0)
        return fd == -ENOENT ? -ESRCH : fd;
    while (len < size - 1) {
        ssize_t n = atb__read(fd, buf + len, size - 1 - len);
        if (n < 0) {
            atb__close(&fd);
            return n;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    atb__close(&fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

int atb__open(const char *path, int flags, mode_t mode)
{
    int fd;

    do
        fd = open(path, flags | O_CLOEXEC, mode);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

/* Closes *fd once and marks it -1. close() is never retried: on Linux the fd
 * is gone even when close() reports EINTR. */
void atb__close(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

int atb__pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
    long fd = syscall(SYS_pidfd_open, pid, 0);
    /* pidfd_open's fds are always close-on-exec. */
    return fd < 0 ? -errno : (int)fd;
#else
    (void)pid;
    return -ENOSYS;
#endif
}

int atb__pidfd_exited(int pidfd)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int r;

    do
        r = poll(&p, 1, 0);
    while (r < 0 && errno == EINTR);
    return r > 0;
}

int atb__pidfd_send_signal(int pidfd, int signo)
{
#ifdef SYS_pidfd_send_signal
    return syscall(SYS_pidfd_send_signal, pidfd, signo, NULL, 0) < 0 ? -errno : 0;
#else
    (void)pidfd;
    (void)signo;
    return -ENOSYS;
#endif
}

double atb__now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double atb__wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Scans /proc for processes whose parent is this process: the fallback for
 * kernels without /proc/PID/task/TID/children. */
static int children_scan(pid_t self, pid_t **out, size_t *n, size_t *cap)
{
    DIR *d = opendir("/proc");
    struct dirent *e;

    if (d == NULL)
        return -errno;
    while ((e = readdir(d)) != NULL) {
        struct atb__proc_stat st;
        pid_t pid;

        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        pid = (pid_t)atol(e->d_name);
        if (atb__proc_stat(pid, &st) < 0 || st.ppid != self)
            continue;
        if (*n == *cap) {
            size_t ncap = *cap ? *cap * 2 : 16;
            pid_t *np = realloc(*out, ncap * sizeof(*np));
            if (np == NULL) {
                closedir(d);
                return -ENOMEM;
            }
            *out = np;
            *cap = ncap;
        }
        (*out)[(*n)++] = pid;
    }
    closedir(d);
    return 0;
}

/* Lists this process's children, live or zombie, into a malloc'd array the
 * caller frees. Used at the end of a run to find descendants that left their
 * command's process group and were reparented to us as subreaper. */
int atb__children(pid_t **out, size_t *n)
{
    char path[64], *text = NULL, *p, *end;
    pid_t self = getpid();
    size_t cap = 0, len = 0, size = 0;
    int fd, rc = 0;

    *out = NULL;
    *n = 0;
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)self, (int)self);
    fd = atb__open(path, O_RDONLY, 0);
    if (fd < 0)
        return children_scan(self, out, n, &cap);
    /* Read it whole (a pid is at most 8 bytes here), then parse. */
    for (;;) {
        ssize_t got;

        if (size - len < 1024) {
            char *nt = realloc(text, size + 8192);
            if (nt == NULL) {
                rc = -ENOMEM;
                goto out;
            }
            text = nt;
            size += 8192;
        }
        got = atb__read(fd, text + len, size - len - 1);
        if (got < 0) {
            rc = (int)got;
            goto out;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    text[len] = '\0';
    for (p = text;; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            pid_t *np = realloc(*out, ncap * sizeof(*np));
            if (np == NULL) {
                rc = -ENOMEM;
                goto out;
            }
            *out = np;
            cap = ncap;
        }
        (*out)[(*n)++] = (pid_t)v;
    }
out:
    free(text);
    atb__close(&fd);
    return rc;
}

int atb__close_range_works(void)
{
#ifdef SYS_close_range
    /* 0 not asked yet, 1 works, -1 does not. Asked once a process: the
     * answer is the kernel's and its filter's, which do not change. */
    static int known;
    int k = __atomic_load_n(&known, __ATOMIC_RELAXED);

    if (k == 0) {
        k = syscall(SYS_close_range, ~0U, ~0U, 0) == 0 ? 1 : -1;
        __atomic_store_n(&known, k, __ATOMIC_RELAXED);
    }
    return k > 0;
#else
    return 0;
#endif
}

int atb__fd_top(void)
{
    struct rlimit rl;
    struct dirent *e;
    DIR *d = opendir("/proc/self/fd");
    int top = 0;

    if (d == NULL) {
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > ATB__FD_TOP_GUESS)
            return ATB__FD_TOP_GUESS;
        return (int)rl.rlim_cur;
    }
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);

        if (fd >= top && fd != dirfd(d))
            top = fd + 1;
    }
    closedir(d);
    return top;
}

int atb__fds_available(int n)
{
    int fds[16], got, rc = 0;

    if (n > (int)ATB__ARRAY_SIZE(fds))
        return -EINVAL;
    fds[0] = atb__open("/dev/null", O_RDONLY, 0);
    if (fds[0] < 0)
        return fds[0];
    for (got = 1; got < n; got++) {
        fds[got] = fcntl(fds[0], F_DUPFD_CLOEXEC, 0);
        if (fds[got] < 0) {
            rc = -errno;
            break;
        }
    }
    while (got > 0)
        atb__close(&fds[--got]);
    return rc;
}

/* True when a zombie thread-group leader still has live threads: the
 * leader's /proc entry shows Z once its own thread has ended, while the
 * process goes on. A true zombie lists only itself under task/. */
static int zombie_has_threads(pid_t pid)
{
    char path[32];
    struct dirent *e;
    DIR *d;
    int n = 0;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    d = opendir(path);
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n > 1;
}

int atb__proc_stat(pid_t pid, struct atb__proc_stat *st)
{
    char path[32], buf[1024], *p, *tok, *save = NULL;
    ssize_t len;
    int field, state = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    len = atb__read_file(path, buf, sizeof(buf));
    /* A process that is released while we read leaves nothing to read. */
    if (len <= 0)
        return len == 0 ? -ESRCH : (int)len;
    /* The command name may hold spaces and parentheses: fields are counted
     * from the last ')', which ends field 2. */
    p = strrchr(buf, ')');
    if (p == NULL)
        return -EIO;
    field = 3;
    for (tok = strtok_r(p + 1, " \n", &save); tok != NULL;
         tok = strtok_r(NULL, " \n", &save), field++) {
        if (field == 3)
            state = tok[0];
        else if (field == 4)
            st->ppid = (pid_t)strtol(tok, NULL, 10);
        else if (field == 5)
            st->pgrp = (pid_t)strtol(tok, NULL, 10);
        else if (field == 9)
            st->flags = strtoul(tok, NULL, 10);
        else if (field == 22) {
            st->start_time = strtoull(tok, NULL, 10);
            break;
        }
    }
    if (field != 22)
        return -EIO;
    st->exited = state == 'X' || state == 'x' || (state == 'Z' && !zombie_has_threads(pid));
    return 0;
}

int atb__read_all(int fd, size_t max, char **text, size_t *len)
{
    size_t cap = 64 * 1024, n = 0;
    struct stat st;
    char *buf;
    int rc = 0;

    *text = NULL;
    *len = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        if ((uintmax_t)st.st_size > max)
            return -EFBIG;
        cap = (size_t)st.st_size + 1; /* +1: the read that finds the end */
    }
    buf = malloc(cap + 1);
    if (buf == NULL)
        return -ENOMEM;
    for (;;) {
        ssize_t got;

        if (n == cap) {
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *nbuf;

            if (cap > max) {
                rc = -EFBIG;
                break;
            }
            nbuf = realloc(buf, ncap + 1);
            if (nbuf == NULL) {
                rc = -ENOMEM;
                break;
            }
            buf = nbuf;
            cap = ncap;
        }
        got = atb__read(fd, buf + n, cap - n);
        if (got < 0) {
            rc = (int)got;
            break;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

void atb__tty_reclaim(int fd)
{
    sigset_t ttou, old;

    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    pthread_sigmask(SIG_BLOCK, &ttou, &old);
    (void)tcsetpgrp(fd, getpgrp());
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

size_t atb__arg_max(void)
{
    long v = sysconf(_SC_ARG_MAX);

    return v > 0 ? (size_t)v : 128 * 1024;
}

uint64_t atb__random64(void)
{
    static uint64_t calls;
    uint64_t r;
    struct timespec ts;

    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
        return r;
    /* Not a secret, only unlikely to collide: the time, the pid, and a
     * count so that two calls in one clock tick differ. */
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 16) ^
           __atomic_add_fetch(&calls, 0x9e3779b97f4a7c15ULL, __ATOMIC_RELAXED);
}

int atb__random_token(char *buf, size_t size)
{
    uint64_t v = atb__random64();
    unsigned char r[8];
    size_t len = 0;

    memcpy(r, &v, sizeof(r));
    for (size_t i = 0; i < sizeof(r) && len + 2 < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%02x", r[i]);
    return len == 2 * sizeof(r) ? 0 : -EINVAL;
}
