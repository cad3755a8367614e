/* cancel-check: what atb_cancel_run() must never signal, and where its
 * pids come from: process ids, pid files read strictly, kernel threads,
 * atb's ancestors, and a process that started after its pid file was
 * written. cancel.c pins the targets and asks here.
 *
 * Some targets are refused, and then nothing at all is signalled: pid 1,
 * atb itself and its ancestors (a cancel would end the script that runs
 * atb), and kernel threads: PF_KTHREAD in /proc/PID/stat, or a child of
 * pid 2 when pid 2 is kthreadd (in a pid namespace it is an ordinary
 * process, whose children are too).
 *
 * A pid read from a pid file may belong to a process other than the one
 * that wrote it: the writer ended and a new process got its number. The
 * new one started after the file was written; the writer cannot have (it
 * writes its own pid once it runs, or its parent does after fork()). So
 * once a target is pinned, its start time (clock ticks since boot, field 22
 * of /proc/PID/stat, on CLOCK_BOOTTIME) is made wall-clock time with
 * CLOCK_REALTIME - CLOCK_BOOTTIME now and compared with the file's mtime.
 * The start time is cut down to a tick (10 ms), and file times come from
 * the coarse clock, up to a kernel tick (10 ms at HZ=100) early: a start up
 * to 2 ticks after the mtime still counts as before it. An mtime of whole
 * seconds (a file system that keeps no more; FAT keeps 2 s) gets 2 s more.
 * A step of the wall clock since the process started shifts the
 * comparison by as much.
 */
#include "cancel-int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The most of a pid file that is read: a pid and a newline fit well. */
#define PIDFILE_MAX 64
/* A kernel thread, in the flags of /proc/PID/stat (linux/sched.h). */
#define PF_KTHREAD 0x00200000UL

int atb_cancel_pid_parse(const char *text, pid_t *pid)
{
    long long v = 0;
    int too_big = 0;

    if (text == NULL || *text == '\0')
        return -EINVAL;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        if (!too_big) {
            v = v * 10 + (*p - '0');
            too_big = v > INT_MAX;
        }
    }
    if (too_big)
        return -ERANGE;
    if (v == 0)
        return -EINVAL;
    *pid = (pid_t)v;
    return 0;
}

/* Judges the text of a pid file: one pid and at most one newline. Returns
 * 0 with *pid set, or -EINVAL/-ERANGE with *why saying what is wrong. */
static int pidfile_parse(const char *buf, size_t len, pid_t *pid,
                         const char **why)
{
    char text[PIDFILE_MAX + 1];
    size_t digits = 0;
    int rc;

    while (digits < len && buf[digits] >= '0' && buf[digits] <= '9')
        digits++;
    if (len > PIDFILE_MAX)
        *why = "too long for a pid file";
    else if (len == 0)
        *why = "empty";
    else if (isspace((unsigned char)buf[0]))
        *why = "starts with a blank";
    else if (digits == 0)
        *why = "does not start with a process id";
    else if (len - digits > 1 || (len > digits && buf[digits] != '\n'))
        *why = "text after the process id (only a newline may follow it)";
    else
        *why = NULL;
    if (*why != NULL)
        return -EINVAL;
    memcpy(text, buf, digits);
    text[digits] = '\0';
    rc = atb_cancel_pid_parse(text, pid);
    if (rc < 0)
        *why = rc == -ERANGE ? "number too large for a process id"
                             : "0 is not a process id";
    return rc;
}

/* Reads at most PIDFILE_MAX + 1 bytes of fd into buf. */
static ssize_t pidfile_slurp(int fd, char *buf)
{
    size_t len = 0;

    while (len <= PIDFILE_MAX) {
        ssize_t got = atb__read(fd, buf + len, PIDFILE_MAX + 1 - len);
        if (got <= 0)
            return got < 0 ? got : (ssize_t)len;
        len += (size_t)got;
    }
    return (ssize_t)len;
}

static int not_regular(const char **why)
{
    *why = "not a regular file";
    return -EINVAL;
}

int atb_cancel_pidfile_load(const char *path, pid_t *pid,
                            struct timespec *written, const char **why)
{
    char buf[PIDFILE_MAX + 1];
    const char *ignored;
    struct stat st;
    ssize_t len;
    int fd;

    why = why != NULL ? why : &ignored;
    *why = NULL;
    /* stat() first: a device is never opened, as opening some acts (a
     * watchdog starts). O_NONBLOCK keeps a FIFO put there meanwhile from
     * blocking the open(), and fstat() of what was opened decides. Its
     * mtime is taken before the read: a file rewritten meanwhile then
     * looks older than its text, which can refuse, never wrongly accept. */
    if (stat(path, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return not_regular(why);
    fd = atb__open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
    if (fd < 0)
        return fd;
    if (fstat(fd, &st) < 0)
        len = -errno;
    else if (!S_ISREG(st.st_mode))
        len = not_regular(why);
    else
        len = pidfile_slurp(fd, buf);
    atb__close(&fd);
    if (len < 0)
        return (int)len;
    if (written != NULL)
        *written = st.st_mtim;
    return pidfile_parse(buf, (size_t)len, pid, why);
}

int atb_cancel_pidfile_read(const char *path, pid_t *pid)
{
    return atb_cancel_pidfile_load(path, pid, NULL, NULL);
}

/* Returns 1 when pid is a kernel thread by its own flags, 0 when not, or a
 * negative errno. */
static int proc_kthread(pid_t pid)
{
    struct atb__proc_stat st;
    int r = atb__proc_stat(pid, &st);

    return r < 0 ? r : (st.flags & PF_KTHREAD) != 0;
}

pid_t atb__cancel_tgid(pid_t pid)
{
    char path[32], buf[512], *p;
    ssize_t len;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    /* Tgid is the fourth line, well within the first 512 bytes. */
    len = atb__read_file(path, buf, sizeof(buf));
    if (len <= 0)
        return len == 0 ? -ESRCH : (int)len;
    p = strstr(buf, "\nTgid:");
    if (p == NULL)
        return -EIO;
    return (pid_t)strtol(p + 6, NULL, 10);
}

int atb__cancel_kthread(pid_t pid, pid_t ppid)
{
    return proc_kthread(pid) == 1 || (ppid == 2 && proc_kthread(2) == 1);
}

/* True when pid is an ancestor of atb: its parent, its parent's parent...
 * up to pid 1 (a hop that /proc hides ends the walk). */
static int is_ancestor(pid_t pid)
{
    pid_t up = getppid();

    /* The bound only guards against a loop in a changing tree. */
    for (int hops = 0; up > 1 && hops < 4096; hops++) {
        struct atb__proc_stat st;

        if (up == pid)
            return 1;
        if (atb__proc_stat(up, &st) < 0)
            break;
        up = st.ppid;
    }
    return 0;
}

static double ts_s(const struct timespec *ts)
{
    return (double)ts->tv_sec + (double)ts->tv_nsec / 1e9;
}

/* True when a process that started start_time clock ticks after boot
 * started after written, beyond the tolerance explained at the top of the
 * file: another process that got the number. */
static int started_after(unsigned long long start_time,
                         const struct timespec *written)
{
    long hz = sysconf(_SC_CLK_TCK);
    struct timespec real, boot;
    double start_s, slack_s;

    hz = hz > 0 ? hz : 100;
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_BOOTTIME, &boot);
    start_s = ts_s(&real) - ts_s(&boot) +
              (double)start_time / (double)hz;
    slack_s = 2.0 / (double)hz + (written->tv_nsec == 0 ? 2 : 0);
    return start_s > ts_s(written) + slack_s;
}

int atb__cancel_refusal(const struct atb_cancel_target *t,
                        const struct atb__cancel_facts *f, int opened,
                        int group)
{
    if (!opened)
        return t->pid <= 1 || t->pid == getpid();
    if (t->state != ATB_CANCEL_PENDING)
        return 0;
    if (f->kthread)
        return -EPERM;
    if (is_ancestor(t->pid))
        return -EDEADLK;
    if (f->written != NULL && started_after(f->start_time, f->written))
        return -ESTALE;
    /* atb's own group would cancel atb and whoever shares its group (a
     * calling script, for one); group 0 holds kernel threads. */
    return group && (t->pgid <= 1 || t->pgid == getpgrp());
}
