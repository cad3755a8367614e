/* guard: a guardian process, so that nothing of a run outlives atb even when
 * atb itself dies in a way no handler sees: SIGKILL, the OOM killer, a CI
 * runner's hard kill.
 *
 * atb_run_exec() starts the guardian before the first command starts. It
 * leaves atb's session and process group (setsid), so a signal to atb's
 * group or a closing terminal does not take it along, and keeps no fd but
 * /dev/null and its end of a socket pair whose other end only atb holds
 * (close-on-exec: no command inherits it). It knows each command's
 * process group from its start to its end: the first guardian (below)
 * from a list atb keeps in the memory they share, the forked one from
 * atb's words on that socket ("+PGID", "-PGID"). At a normal end atb says
 * "E" and closes the socket. An end of file
 * without that word means atb has died: the guardian then sends the run's
 * cancel signal (and SIGCONT) to every group it knows and to every process
 * that carries the run's mark in its environment, so that descendants that
 * left their group are found too; waits the grace period while any is
 * left; sends SIGKILL to what is left; and exits. Before all that it runs
 * the run's will, when it has one: the Slurm launcher's scancel of the
 * run's jobs, which live on the cluster, out of reach of any signal.
 *
 * Two guardians, one after the other, so that it costs the start-up almost
 * nothing and still outlives anything that kills atb:
 *
 *   first     a process that shares atb's memory (clone with CLONE_VM, no
 *             copy of the address space: a fork copies atb's page tables
 *             and makes each page atb then writes a copy-on-write fault,
 *             milliseconds on a slow VM). It settles (settle()) while
 *             atb makes the run ready, and is ready before the first
 *             command starts. Sharing memory, it never calls malloc (atb
 *             may die holding the allocator's lock, and glibc's per-thread
 *             cache is shared with it) and never writes errno while atb
 *             lives (errno is shared too): its set-up calls go straight to
 *             the kernel, and once ready it makes no call that can fail.
 *             Its limit: the OOM killer kills every process sharing its
 *             victim's memory.
 *   handover  after HANDOVER_S of run (atb__guard_handover(), from the
 *             run's loop), a forked guardian with memory of its own takes
 *             over, told every group still running, and the first ends.
 *             The OOM killer strikes runs that have gone on, not ones in
 *             their first half second.
 *
 * The mark is ATB_RUN, which every command gets: a colon-separated list of
 * the tokens of the runs it is inside (nested runs add theirs). Its limits:
 * a process that replaced its environment (env -i) and left its group, or
 * one running as another user (its environment cannot be read), escapes
 * the guardian; and a pid reused in the grace period by a process that
 * carries the same token cannot happen, since tokens are random.
 */
#include "engine.h"
#include "guard-int.h"
#include "rawsys.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define GUARD_FD 3
/* The first guardian's stack, and its list of groups above it: one
 * mapping, reserved address space paid for only as used. One, because each
 * unmapping costs a TLB shootdown on the cores the guardian ran on. */
#define GUARD_STACK (256 * 1024)
#define GUARD_MAP (GUARD_STACK + PGIDS_MAX * sizeof(pid_t))

/* The list of groups in the first guardian's mapping. */
static pid_t *pgids_of(const struct atb__guard *gd)
{
    return (pid_t *)(void *)((char *)gd->stack + GUARD_STACK);
}

static void remember(struct atb__guard_state *g, pid_t pgid)
{
    if (g->n < PGIDS_MAX) /* else the mark still finds its processes */
        g->pgids[g->n++] = pgid;
}

static void forget_pgid(struct atb__guard_state *g, pid_t pgid)
{
    for (size_t i = 0; i < g->n; i++) {
        if (g->pgids[i] == pgid) {
            g->pgids[i] = g->pgids[--g->n];
            return;
        }
    }
}

/* The guardian's life: read what atb says until it ends, one way or the
 * other. */
static void guardian(struct atb__guard_state *g)
{
    char buf[4096], *line;
    size_t len = 0;

    for (;;) {
        ssize_t n = atb__read(GUARD_FD, buf + len, sizeof(buf) - 1 - len);
        char *nl;

        if (n <= 0 && n != -EAGAIN) {
            atb__guard_act(g);
            return;
        }
        len += (size_t)(n > 0 ? n : 0);
        buf[len] = '\0';
        for (line = buf; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
            *nl = '\0';
            if (line[0] == 'E')
                return;
            if (line[0] == '+')
                remember(g, (pid_t)atol(line + 1));
            else if (line[0] == '-')
                forget_pgid(g, (pid_t)atol(line + 1));
        }
        len -= (size_t)(line - buf);
        memmove(buf, line, len);
    }
}

/* settle()'s calls: straight to the kernel where rawsys.h can, so that a
 * failure never writes the errno the first guardian shares with atb, and
 * atb need not wait for it (atb__guard_ready()); else libc's. */
#ifdef ATB__RAW_SYSCALLS
#define SYS6(n, a, b, c, d, e, f) \
    atb__raw6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#else
#define SYS6(n, a, b, c, d, e, f) syscall((n), (a), (b), (c), (d), (e), (f))
#endif
#define SYS3(n, a, b, c) SYS6((n), (a), (b), (c), 0, 0, 0)

/* In the guardian: out of atb's session, nothing held but /dev/null and
 * the socket (moved out of 0-2 first, where a closed stdio may have put
 * it). Says it is ready with "R": from then on the shared guardian makes
 * no call that can fail while atb lives. Returns 0, or -1 to exit. */
static int settle(int fd, int top)
{
    long moved = SYS3(SYS_fcntl, fd, F_DUPFD, GUARD_FD + 1), null;

    if (moved < 0)
        return -1;
    null = SYS6(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR, 0, 0, 0);
    (void)SYS3(SYS_setsid, 0, 0, 0);
    (void)SYS3(SYS_prctl, PR_SET_NAME, "atb-guard", 0);
    for (long i = 0; null >= 0 && i < 3; i++)
        if (null != i)
            (void)SYS3(SYS_dup3, null, i, 0);
    /* Close-on-exec: the will's shell is not to hold it. */
    if (SYS3(SYS_dup3, moved, GUARD_FD, O_CLOEXEC) < 0)
        return -1;
    /* Both were opened here, so may lie at or above top: the loop below
     * need not reach them. */
    (void)SYS3(SYS_close, moved, 0, 0);
    if (null > GUARD_FD)
        (void)SYS3(SYS_close, null, 0, 0);
#ifdef SYS_close_range
    if (top == 0)
        (void)SYS3(SYS_close_range, GUARD_FD + 1, ~0U, 0);
#endif
    for (long i = GUARD_FD + 1; i < top; i++)
        (void)SYS3(SYS_close, i, 0, 0);
    return SYS6(SYS_sendto, GUARD_FD, "R", 1, MSG_NOSIGNAL, 0, 0) == 1 ? 0 : -1;
}

static int shared_guardian(void *arg)
{
    struct atb__guard_state *g = arg;

    if (settle(g->fd, g->top) == 0)
        guardian(g);
    return 0;
}

/* Sends all of buf; MSG_NOSIGNAL: a guardian that died is no reason for atb
 * to. Returns 0 or a negative errno. */
static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Waits for the guardian's "R". Returns 0 or a negative errno. */
static int wait_ready(int fd)
{
    char c;
    ssize_t n = atb__read(fd, &c, 1);

    if (n < 0)
        return (int)n;
    return n == 1 && c == 'R' ? 0 : -ECHILD;
}

/* settle()'s top: 0 where close_range() works, else the fds to close. */
static int fds_to_close(void)
{
    return atb__close_range_works() ? 0 : atb__fd_top();
}

static void unmap_first(struct atb__guard *gd)
{
    if (gd->stack != NULL)
        munmap(gd->stack, GUARD_MAP);
    gd->stack = NULL;
}

/* Clones the shared guardian on its mapped stack, every signal blocked
 * across the clone so that no handler of atb's ever runs on it. */
static pid_t clone_shared(struct atb__guard *gd, struct atb__guard_state *g)
{
    sigset_t all, old;
    pid_t pid;

    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid = clone(shared_guardian, (char *)gd->stack + GUARD_STACK, CLONE_VM | SIGCHLD, g);
    if (pid < 0)
        pid = -errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return pid;
}

int atb__guard_start(struct atb__guard *gd, const char *token, int signo, double grace_s,
                     const char *will)
{
    struct atb__guard_state *g;
    int sv[2], rc;
    pid_t pid;

    memset(gd, 0, sizeof(*gd));
    gd->fd = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    gd->stack = mmap(NULL, GUARD_MAP, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (gd->stack == MAP_FAILED) {
        rc = -errno;
        gd->stack = NULL;
        goto fail;
    }
    /* Its state lives at the bottom of its stack: atb's memory that atb
     * does not touch while it runs. */
    g = gd->stack;
    if (will != NULL)
        snprintf(gd->will, sizeof(gd->will), "%s", will);
    *g = (struct atb__guard_state){pgids_of(gd), 0, token, sv[0], signo, grace_s,
                              gd->will[0] ? gd->will : NULL, fds_to_close()};
    gd->token = token;
    gd->signo = signo;
    gd->grace_s = grace_s;
    pid = clone_shared(gd, g);
    if (pid < 0) {
        rc = (int)pid;
        goto fail;
    }
    gd->pid = pid;
    atb__close(&sv[0]);
    gd->fd = sv[1];
    gd->settling = 1;
#ifdef ATB__RAW_SYSCALLS
    /* It settles while atb makes the run ready; atb__guard_ready() before
     * the first start. */
    return 0;
#else
    return atb__guard_ready(gd);
#endif
fail:
    atb__close(&sv[0]);
    atb__close(&sv[1]);
    unmap_first(gd);
    return rc;
}

int atb__guard_ready(struct atb__guard *gd)
{
    int rc;

    if (!gd->settling)
        return 0;
    gd->settling = 0;
    rc = wait_ready(gd->fd);
    if (rc < 0)
        atb__guard_reap(gd);
    return rc;
}

/* Tells the new guardian every group still running: those in the first
 * one's list, which atb keeps (atb__guard_tell()). */
static int tell_all(const struct atb__guard *gd, int fd)
{
    const struct atb__guard_state *g = gd->stack;
    char buf[4096];
    size_t len = 0;
    int rc = 0;

    for (size_t i = 0; i < g->n && rc == 0; i++) {
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "+%d\n", (int)g->pgids[i]);
        if (len > sizeof(buf) - 32 || i + 1 == g->n) {
            rc = send_all(fd, buf, len);
            len = 0;
        }
    }
    return rc;
}

/* In the forked guardian: a state of its own, its copy of the groups'
 * array emptied, filled again from what atb tells it. */
static void forked_guardian(struct atb__guard *gd, int fd, int top)
{
    struct atb__guard_state g = {pgids_of(gd), 0, gd->token, fd, gd->signo, gd->grace_s,
                            gd->will[0] ? gd->will : NULL, top};

    if (settle(fd, top) == 0)
        guardian(&g);
    _exit(0);
}

int atb__guard_handover(struct atb__guard *gd)
{
    int sv[2], rc, top;
    pid_t pid, first = gd->pid;

    if (gd->stack == NULL || gd->fd < 0)
        return 0; /* handed over already, or no guardian to hand over */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    top = fds_to_close();
    pid = fork();
    if (pid == 0) {
        close(sv[1]);
        forked_guardian(gd, sv[0], top);
    }
    rc = pid < 0 ? -errno : 0;
    atb__close(&sv[0]);
    if (rc == 0 && (rc = wait_ready(sv[1])) == 0)
        rc = tell_all(gd, sv[1]);
    if (rc < 0) {
        /* The first one stays on guard; the new one, if any, is told the
         * run is over (an end of file alone would make it cancel the run's
         * marked processes) and exits. */
        (void)send_all(sv[1], "E\n", 2);
        atb__close(&sv[1]);
        if (pid > 0)
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        return rc;
    }
    /* The new one knows every group from the list: what was pending is
     * not said to the first, which is told the end. */
    gd->npending = 0;
    atb__guard_end(gd);
    while (waitpid(first, NULL, 0) < 0 && errno == EINTR)
        ;
    unmap_first(gd);
    gd->fd = sv[1];
    gd->pid = pid;
    return 0;
}

/* Adds line to what is still to be said; 0, or -1 when memory ran out. */
static int add_pending(struct atb__guard *gd, const char *line, size_t len)
{
    if (gd->npending + len > gd->cappending) {
        size_t cap = gd->cappending ? gd->cappending * 2 : 256;
        char *n;

        while (cap < gd->npending + len)
            cap *= 2;
        n = realloc(gd->pending, cap);
        if (n == NULL)
            return -1;
        gd->pending = n;
        gd->cappending = cap;
    }
    memcpy(gd->pending + gd->npending, line, len);
    gd->npending += len;
    return 0;
}

/* The first guardian shares atb's memory and reads its list of groups only
 * once atb is dead: atb keeps that list itself, in place, and never wakes
 * it for a group (two wake-ups a command on a busy core). The order of the
 * writes leaves the list usable wherever atb is killed: an entry is in
 * place before it is counted, and one that goes is overwritten before the
 * count drops (at worst a group is listed twice, or once after it ended). */
static void tell_shared(struct atb__guard_state *g, char what, pid_t pgid)
{
    size_t n = __atomic_load_n(&g->n, __ATOMIC_RELAXED);

    if (what == '+') {
        if (n < PGIDS_MAX) { /* else the mark still finds its processes */
            __atomic_store_n(&g->pgids[n], pgid, __ATOMIC_RELAXED);
            __atomic_store_n(&g->n, n + 1, __ATOMIC_RELEASE);
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (g->pgids[i] == pgid) {
            __atomic_store_n(&g->pgids[i], g->pgids[n - 1], __ATOMIC_RELEASE);
            __atomic_store_n(&g->n, n - 1, __ATOMIC_RELEASE);
            return;
        }
    }
}

void atb__guard_tell(struct atb__guard *gd, char what, pid_t pgid)
{
    char line[32];
    int len;

    if (gd->stack != NULL) {
        tell_shared(gd->stack, what, pgid);
        return;
    }
    len = snprintf(line, sizeof(line), "%c%d\n", what, (int)pgid);
    if (gd->fd >= 0 && add_pending(gd, line, (size_t)len) < 0) {
        /* No memory to hold it: said now. */
        atb__guard_flush(gd);
        if (gd->fd >= 0 && send_all(gd->fd, line, (size_t)len) < 0)
            atb__close(&gd->fd);
    }
}

void atb__guard_flush(struct atb__guard *gd)
{
    if (gd->npending > 0 && gd->fd >= 0 && send_all(gd->fd, gd->pending, gd->npending) < 0)
        atb__close(&gd->fd); /* the guardian is gone: no longer counted on */
    gd->npending = 0;
}

void atb__guard_end(struct atb__guard *gd)
{
    atb__guard_flush(gd);
    if (gd->fd >= 0)
        (void)send_all(gd->fd, "E\n", 2);
    atb__close(&gd->fd);
}

void atb__guard_reap(struct atb__guard *gd)
{
    atb__guard_end(gd);
    if (gd->pid > 0) {
        /* It exits at once on "E"; if it died before, it is reaped already
         * (ECHILD) or now. */
        while (waitpid(gd->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    gd->pid = 0;
    /* Only once it has exited: the first guardian runs on this stack. */
    unmap_first(gd);
    free(gd->pending);
    gd->pending = NULL;
    gd->npending = gd->cappending = 0;
}
