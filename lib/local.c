/* local: the launcher that runs commands as process groups on this machine.
 *
 * A command is a process group: atb starts its leader in a group of its
 * own, and a cancel signals the whole group, which is what reaches the
 * leader's descendants. It has ended for the run's policy when its leader
 * has been reaped (on_leader), and is over only when its group is gone
 * (on_group), because that group is what a cancel must reach.
 *
 * Watching leaders. With pidfds each leader has a pidfd watched by an ev_io
 * and is reaped with waitid(P_PIDFD), so nothing else in the process can
 * take its status; this works on any loop but libev's default one, which
 * reaps every child with waitpid(-1) on SIGCHLD. There, and only there,
 * leaders are watched by ev_child: libev hands each status to the watcher
 * of that pid, and the caller's own ev_child watchers keep theirs.
 *
 * Why a group check needs the orphans reaped: kill(-pgid, 0) succeeds while
 * any member exists, zombies included, and the members left when a leader
 * dies may be reparented to this process (when it is a subreaper). So once
 * the leader is reaped, members of its group that are our zombies are
 * reaped by group (waitid(P_PGID)), every reap elsewhere re-checks the
 * groups whose leader is gone (atb__local_recheck), and a 50 ms timer
 * covers members whose death is reported to some other parent.
 */
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define ATB__P_PIDFD ((idtype_t)3) /* not in glibc 2.36's idtype_t yet */
#define LINGER_TICK_S 0.05
/* After SIGKILL a group empties at once unless a member is a zombie whose
 * parent is neither dead nor us; don't wait on those forever. */
#define KILLED_GROUP_WAIT_S 2.0

struct local {
    struct atb__launcher l;   /* first: the run sees only this */
    struct atb__spawner sp;
    int use_pidfd;
    int own_process;
    struct atb__pidmap leaders; /* own_process: pid -> proc, until reaped */
    struct atb__proc *lingering; /* leader reaped, group not yet gone */
    ev_child any_w;           /* default loop: some child was reaped */
};

static void group_check(struct local *lc, struct atb__proc *p);

static int group_alive(pid_t pgid)
{
    return kill(-pgid, 0) == 0 || errno == EPERM;
}

/* Sends signo to the whole group. The pgid cannot have been reused: this is
 * called only while the leader is unreaped or the group was seen non-empty
 * a moment ago, and a pgid is never recycled while in use. A failure
 * (ESRCH: the group just emptied) needs no action: the group check that
 * follows every reap sees the group gone. */
static void group_kill(const struct atb__proc *p, int signo)
{
    (void)kill(-p->pid, signo);
}

static void linger_add(struct local *lc, struct atb__proc *p)
{
    p->lingering = 1;
    p->lprev = NULL;
    p->lnext = lc->lingering;
    if (lc->lingering)
        lc->lingering->lprev = p;
    lc->lingering = p;
}

static void linger_del(struct local *lc, struct atb__proc *p)
{
    if (!p->lingering)
        return;
    if (p->lprev)
        p->lprev->lnext = p->lnext;
    else
        lc->lingering = p->lnext;
    if (p->lnext)
        p->lnext->lprev = p->lprev;
    p->lingering = 0;
    p->lnext = p->lprev = NULL;
}

static void grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb__proc *p = ATB__CONTAINER_OF(w, struct atb__proc, grace_w);
    struct local *lc = w->data;

    (void)loop;
    (void)revents;
    if (p->group_done)
        return;
    if (group_alive(p->pid)) {
        group_kill(p, SIGKILL);
        p->killed = 1;
        p->t_killed = atb__now();
        if (lc->l.on_killed)
            lc->l.on_killed(p, lc->l.data);
    }
    if (p->leader_done)
        group_check(lc, p);
}

static void local_stop(struct atb__launcher *l, struct atb__proc *p, int signo)
{
    if (p->signalled || p->group_done || !p->started)
        return;
    p->signalled = 1;
    p->sent_signal = signo;
    group_kill(p, signo);
    /* A stopped process acts on the signal only once continued. */
    if (signo != SIGCONT && signo != SIGKILL)
        group_kill(p, SIGCONT);
    ev_timer_init(&p->grace_w, grace_cb, l->grace_s, 0);
    p->grace_w.data = l;
    ev_timer_start(l->loop, &p->grace_w);
}

static void local_kill(struct atb__launcher *l, struct atb__proc *p)
{
    if (p->group_done || !p->started)
        return;
    p->signalled = 1;
    ev_timer_stop(l->loop, &p->grace_w);
    if (group_alive(p->pid)) {
        group_kill(p, SIGKILL);
        p->killed = 1;
        p->t_killed = atb__now();
    }
}

static void linger_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    group_check(w->data, ATB__CONTAINER_OF(w, struct atb__proc, linger_w));
}

static void group_done(struct local *lc, struct atb__proc *p)
{
    p->group_done = 1;
    ev_timer_stop(lc->l.loop, &p->grace_w);
    ev_timer_stop(lc->l.loop, &p->linger_w);
    linger_del(lc, p);
    lc->l.on_group(p, lc->l.data);
}

/* Reaps the members of p's group that are our children and have ended: a
 * zombie still counts as a member for kill(-pgid, 0). Only once the leader
 * is reaped, so its status is never taken from its watcher. */
static void group_reap(const struct atb__proc *p)
{
    for (;;) {
        siginfo_t si;

        si.si_pid = 0;
        if (waitid(P_PGID, (id_t)p->pid, &si, WEXITED | WNOHANG) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (si.si_pid == 0)
            return;
    }
}

/* The leader is gone: is the rest of its group? Members left behind get
 * the linger signal (once) and SIGKILL after the grace, as in any cancel. */
static void group_check(struct local *lc, struct atb__proc *p)
{
    if (p->group_done || !p->leader_done)
        return;
    /* Reaping by group scans every child the process has (the kernel has
     * no list by group): not for a group that is gone already, as most
     * are once their leader is, or ending 10,000 commands would cost
     * 10,000 scans of up to 10,000 children. */
    if (group_alive(p->pid))
        group_reap(p);
    if (!group_alive(p->pid) ||
        (p->killed && atb__now() - p->t_killed > KILLED_GROUP_WAIT_S)) {
        group_done(lc, p);
        return;
    }
    local_stop(&lc->l, p, lc->l.linger_signo);
    if (!p->lingering) {
        linger_add(lc, p);
        ev_timer_init(&p->linger_w, linger_cb, LINGER_TICK_S, LINGER_TICK_S);
        p->linger_w.data = lc;
        ev_timer_start(lc->l.loop, &p->linger_w);
    }
}

/* The leader ended with a waitid()-style code and status. */
static void leader_done(struct local *lc, struct atb__proc *p, int code, int status)
{
    if (p->leader_done)
        return;
    p->leader_done = 1;
    if (lc->use_pidfd) {
        ev_io_stop(lc->l.loop, &p->pidfd_w);
        atb__close(&p->pidfd);
    } else {
        ev_child_stop(lc->l.loop, &p->child_w);
    }
    if (lc->own_process)
        atb__pidmap_del(&lc->leaders, p->pid);
    lc->l.on_leader(p, code, status, lc->l.data);
    group_check(lc, p);
}

/* Takes what the leader used from its reaping: the kernel's waitid()
 * (unlike glibc's) fills a struct rusage, as wait4() does. */
static void take_usage(struct atb__proc *p, const struct rusage *ru)
{
    p->user_s = (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6;
    p->system_s = (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
    p->max_rss_kib = ru->ru_maxrss;
}

static void pidfd_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct atb__proc *p = ATB__CONTAINER_OF(w, struct atb__proc, pidfd_w);
    struct rusage ru;
    siginfo_t si;

    (void)loop;
    (void)revents;
    si.si_pid = 0;
    while (syscall(SYS_waitid, ATB__P_PIDFD, p->pidfd, &si, WEXITED | WNOHANG, &ru) < 0) {
        if (errno == EINTR)
            continue;
        /* Readable, yet nothing to wait for: something else in the process
         * reaped it (wait(), waitpid(-1), SIGCHLD ignored). Its status is
         * lost, but not its end: waiting on would never end the run. */
        if (errno == ECHILD)
            leader_done(w->data, p, 0, 0);
        return;
    }
    if (si.si_pid == 0)
        return;
    take_usage(p, &ru);
    leader_done(w->data, p, si.si_code, si.si_status);
}

static void child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    struct atb__proc *p = ATB__CONTAINER_OF(w, struct atb__proc, child_w);
    int st = w->rstatus;

    (void)loop;
    (void)revents;
    if (WIFEXITED(st))
        leader_done(w->data, p, CLD_EXITED, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        leader_done(w->data, p, WCOREDUMP(st) ? CLD_DUMPED : CLD_KILLED, WTERMSIG(st));
}

void atb__local_recheck(struct atb__launcher *l)
{
    struct local *lc = (struct local *)l->local;

    for (struct atb__proc *p = lc->lingering, *next; p; p = next) {
        next = p->lnext;
        group_check(lc, p);
    }
}

int atb__local_is_leader(struct atb__launcher *l, pid_t pid)
{
    return atb__pidmap_get(&((struct local *)l->local)->leaders, pid) != NULL;
}

/* Default loop: libev reaped some child; lingering groups may be empty. */
static void any_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    (void)loop;
    (void)revents;
    atb__local_recheck(w->data);
}

/* Watches a started leader. The fd its pidfd needs was held until just
 * before, so running out of fds shows before the start, not here. */
static int watch(struct local *lc, struct atb__proc *p)
{
    int rc = 0;

    if (!lc->use_pidfd) {
        /* Safe after the spawn: libev takes statuses only inside the loop,
         * and we are not back in it yet. */
        ev_child_init(&p->child_w, child_cb, p->pid, 0);
        p->child_w.data = lc;
        ev_child_start(lc->l.loop, &p->child_w);
        return 0;
    }
    p->pidfd = atb__pidfd_open(p->pid);
    if (p->pidfd < 0)
        rc = p->pidfd;
    else if (lc->own_process)
        rc = atb__pidmap_put(&lc->leaders, p->pid, p);
    if (rc < 0) {
        /* Out of fds or memory: take the child down again, by pid since
         * nobody else reaps it. */
        atb__close(&p->pidfd);
        kill(-p->pid, SIGKILL);
        while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return rc;
    }
    ev_io_init(&p->pidfd_w, pidfd_cb, p->pidfd, EV_READ);
    p->pidfd_w.data = lc;
    ev_io_start(lc->l.loop, &p->pidfd_w);
    return 0;
}

static int local_start(struct atb__launcher *l, struct atb__proc *p, char *const argv[],
                       const struct atb__spawn_ctx *ctx)
{
    struct local *lc = (struct local *)l;
    int spare = -1, rc;

    memset(p, 0, sizeof(*p));
    p->pidfd = -1;
    p->remote_job = p->remote_step = -1;
    p->user_s = p->system_s = -1;
    p->max_rss_kib = -1;
    if (lc->use_pidfd) {
        spare = fcntl(lc->sp.devnull, F_DUPFD_CLOEXEC, 0);
        if (spare < 0)
            return -errno;
    }
    rc = atb__spawn(&lc->sp, argv, ctx, &p->pid);
    atb__close(&spare);
    if (rc < 0)
        return rc;
    rc = watch(lc, p);
    if (rc < 0) {
        p->pid = 0;
        return rc;
    }
    p->started = 1;
    return 0;
}

static int local_exited(struct atb__launcher *l, struct atb__proc *p)
{
    siginfo_t si;

    if (!p->started || p->leader_done)
        return 0;
    if (((struct local *)l)->use_pidfd)
        return atb__pidfd_exited(p->pidfd);
    /* libev may have reaped it already and queued its watcher. */
    if (ev_is_pending(&p->child_w))
        return 1;
    si.si_pid = 0;
    while (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
        if (errno != EINTR)
            return 0;
    return si.si_pid != 0;
}

static void local_forget(struct atb__launcher *l, struct atb__proc *p)
{
    struct local *lc = (struct local *)l;

    if (lc->use_pidfd)
        ev_io_stop(l->loop, &p->pidfd_w);
    else
        ev_child_stop(l->loop, &p->child_w);
    ev_timer_stop(l->loop, &p->grace_w);
    ev_timer_stop(l->loop, &p->linger_w);
    linger_del(lc, p);
    if (lc->own_process && p->started && !p->leader_done)
        atb__pidmap_del(&lc->leaders, p->pid);
    atb__close(&p->pidfd);
}

static void local_close(struct atb__launcher *l)
{
    struct local *lc = (struct local *)l;

    if (lc == NULL)
        return;
    ev_child_stop(l->loop, &lc->any_w);
    atb__spawner_close(&lc->sp);
    atb__pidmap_free(&lc->leaders);
    free(lc);
}

static const struct atb__launcher_ops local_ops = {
    local_start, local_exited, local_stop, local_kill, local_forget, local_close,
};

int atb__local_open(struct atb__launcher **out, struct ev_loop *loop, int use_pidfd,
                    int own_process)
{
    struct local *lc = calloc(1, sizeof(*lc));
    int rc;

    *out = NULL;
    if (lc == NULL)
        return -ENOMEM;
    rc = atb__spawner_init(&lc->sp, own_process);
    if (rc < 0) {
        free(lc);
        return rc;
    }
    lc->l.ops = &local_ops;
    lc->l.loop = loop;
    lc->l.local = &lc->l;
    lc->use_pidfd = use_pidfd;
    lc->own_process = own_process;
    if (!use_pidfd) {
        ev_child_init(&lc->any_w, any_cb, 0, 0);
        lc->any_w.data = lc;
        ev_child_start(loop, &lc->any_w);
    }
    *out = &lc->l;
    return 0;
}
