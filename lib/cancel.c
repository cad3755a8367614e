/* cancel: signal processes atb did not start and wait until they are gone.
 *
 * atb is not the parent of these processes, so it cannot wait for them with
 * waitpid(), and a bare pid can be recycled between any two system calls. A
 * cancel therefore pins every target down before it signals anything:
 *
 * - With pidfds (Linux 5.3 and later), pidfd_open() pins the process itself.
 *   pidfd_send_signal() can never reach a later process that got the same
 *   number, and the pidfd turns readable (POLLIN) once the process has
 *   exited, so poll() waits for every target at once.
 *
 * - Without them (an old kernel, a seccomp filter, or ATB_NO_PIDFD in the
 *   CLI), atb notes the start time in /proc/PID/stat and, right before each
 *   kill(), checks that the process with that pid still has that start time.
 *   A pid recycled in the microseconds between the check and the kill() is
 *   the one race left, and the reason pidfds are preferred. "Gone" is seen
 *   by polling /proc every TICK_S: the stat file missing, the state zombie,
 *   or the start time changed.
 *
 * An exited process whose parent has not yet reaped it (a zombie) counts as
 * gone: it has exited, and collecting it is its parent's business. Its pidfd
 * is readable already, which is what makes the two paths agree.
 *
 * With a group, the target stands for its process group (looked up when the
 * target is opened) and is signalled with kill(-pgid). A group number cannot
 * be reused while the group has a member, and Linux hands out numbers
 * cyclically, so the group is signalled only when one of two things holds
 * right before the kill(): the target is still alive (pidfd or start time)
 * and still in the group, or the group was seen with a live member at the
 * previous check, at most TICK_S earlier. Reusing the number in between
 * would take the pid counter a whole lap round pid_max within TICK_S. Once
 * the group is seen gone it is never signalled again. The group is gone when
 * kill(-pgid, 0) says ESRCH, or when every process left in it is a zombie
 * (found by a scan of /proc): this is the single-process rule again, and it
 * keeps a slow or absent reaper (PID 1 in many containers) from making a
 * killed group look stuck.
 *
 * Some targets are refused, and then nothing at all is signalled: pid 1,
 * atb itself and its ancestors, kernel threads, and a process that
 * started after the pid file that named it was written. cancel-check.c
 * says how each is told, and why. They are judged once every target is
 * pinned, so each judgement is about the process that would be signalled.
 */
#include "cancel-int.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How often what a pidfd cannot watch (groups, the /proc fallback) is
 * checked: often enough that a cancel ends promptly, seldom enough not to
 * load a busy machine. */
#define TICK_S 0.05
/* poll() takes an int of milliseconds; longer waits go round the loop. */
#define POLL_MAX_MS 60000

struct slot {
    struct atb_cancel_target *t;
    int pidfd;                     /* -1 in the fallback and once done */
    struct atb__cancel_facts facts; /* what decides whether it is refused */
    int pending;                   /* signalled, not yet seen gone */
    int round;                     /* the last signal round that reached it */
};

struct ctx {
    const struct atb_cancel_opts *opts;
    struct slot *slots;
    size_t n;
    int use_pidfd;
    int started; /* set once the targets are accepted: DONE events flow */
    double t0;   /* when the first signal went out */
};

void atb_cancel_opts_init(struct atb_cancel_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->signo = SIGTERM;
    opts->grace_s = 5;
    opts->kill_wait_s = 1;
}

/* Returns 0 when pidfds work here, else the negative errno that says why
 * not: ENOSYS on kernels before 5.3, EPERM under some seccomp filters. */
static int pidfd_probe(void)
{
    int fd = atb__pidfd_open(getpid()), rc;

    if (fd < 0)
        return fd;
    rc = atb__pidfd_send_signal(fd, 0);
    atb__close(&fd);
    return rc;
}

static void emit(struct ctx *c, enum atb_cancel_event_kind kind,
                 const struct atb_cancel_target *t, int signo, int error)
{
    struct atb_cancel_event ev = {kind, t, signo, error};

    if (c->opts->event_cb != NULL)
        c->opts->event_cb(&ev, c->opts->data);
}

/* Settles a target. Events wait until the targets are accepted, so that a
 * refused cancel says nothing but the refusal. */
static void finish(struct ctx *c, struct slot *s, enum atb_cancel_state state,
                   int error)
{
    s->t->state = state;
    s->t->error = error;
    if (state == ATB_CANCEL_GONE || state == ATB_CANCEL_KILLED)
        s->t->gone_s = atb__now() - c->t0;
    s->pending = 0;
    atb__close(&s->pidfd);
    if (c->started)
        emit(c, ATB_CANCEL_EV_DONE, s->t, 0, 0);
}

static void finish_gone(struct ctx *c, struct slot *s)
{
    finish(c, s, s->t->killed ? ATB_CANCEL_KILLED : ATB_CANCEL_GONE, 0);
}

/* slot_open() with pidfds: pidfd_open() pins the process, and with a group
 * getpgid() and /proc are asked while the pidfd shows it alive. Separate
 * from the fallback because the two share no step. */
static int slot_open_pidfd(struct ctx *c, struct slot *s)
{
    struct atb_cancel_target *t = s->t;
    struct atb__proc_stat st;
    int r;

    r = atb__pidfd_open(t->pid);
    if (r == -ESRCH) {
        finish(c, s, ATB_CANCEL_NOT_RUNNING, 0);
        return 0;
    }
    /* A thread's id, not a process's: older kernels say EINVAL, recent
     * ones ENOENT. Both are reported as -EINVAL. */
    if (r == -EINVAL || r == -ENOENT) {
        finish(c, s, ATB_CANCEL_FAILED, -EINVAL);
        return 0;
    }
    if (r < 0)
        return r;
    s->pidfd = r;
    /* getpgid() and /proc take a pid: the pidfd still showing the process
     * alive afterwards proves that they answered about our process. */
    if (c->opts->group) {
        pid_t pgid = getpgid(t->pid);
        if (pgid < 0) {
            finish(c, s, ATB_CANCEL_NOT_RUNNING, 0);
            return 0;
        }
        t->pgid = pgid;
    }
    if (atb__proc_stat(t->pid, &st) == 0) {
        s->facts.start_time = st.start_time;
        s->facts.kthread = atb__cancel_kthread(t->pid, st.ppid);
    } else if (s->facts.written != NULL && !atb__pidfd_exited(s->pidfd)) {
        /* Hidden from /proc (hidepid): no start time to compare. */
        finish(c, s, ATB_CANCEL_FAILED, -EACCES);
        return 0;
    }
    if (atb__pidfd_exited(s->pidfd))
        finish(c, s, ATB_CANCEL_NOT_RUNNING, 0);
    return 0;
}

/* slot_open() without pidfds: notes the start time (and group) from
 * /proc/PID/stat, after telling a hidden or thread id apart from a process.
 * Separate from the pidfd path because the two share no step. Always
 * returns 0: every failure here settles the target. */
static int slot_open_proc(struct ctx *c, struct slot *s)
{
    struct atb_cancel_target *t = s->t;
    struct atb__proc_stat st;
    int r;

    r = atb__proc_stat(t->pid, &st);
    if (r == -ESRCH) {
        /* No /proc entry: gone, or hidden from us (hidepid). kill(pid, 0)
         * tells them apart; a hidden process has no start time to check,
         * so it is not signalled. */
        r = kill(t->pid, 0) < 0 ? -errno : 0;
        if (r == -ESRCH)
            finish(c, s, ATB_CANCEL_NOT_RUNNING, 0);
        else if (r == -EPERM)
            finish(c, s, ATB_CANCEL_DENIED, r);
        else
            finish(c, s, ATB_CANCEL_FAILED, -EACCES);
        return 0;
    }
    if (r < 0) {
        finish(c, s, ATB_CANCEL_FAILED, r);
        return 0;
    }
    if (st.exited) {
        finish(c, s, ATB_CANCEL_NOT_RUNNING, 0);
        return 0;
    }
    /* As pidfd_open() does, refuse a thread's id: kill() would signal its
     * whole process, but /proc/TID/stat is the thread's, not the process's. */
    r = atb__cancel_tgid(t->pid);
    if (r == -ESRCH) {
        finish(c, s, ATB_CANCEL_NOT_RUNNING, 0);
        return 0;
    }
    if (r != t->pid) {
        finish(c, s, ATB_CANCEL_FAILED, r < 0 ? r : -EINVAL);
        return 0;
    }
    s->facts.start_time = st.start_time;
    s->facts.kthread = atb__cancel_kthread(t->pid, st.ppid);
    if (c->opts->group)
        t->pgid = st.pgrp;
    return 0;
}

/* Pins one target down: a pidfd, or its start time in the fallback; with a
 * group, its process group. Settles targets that are not running. Returns 0,
 * or a negative errno when atb itself cannot go on (no fds, no memory). */
static int slot_open(struct ctx *c, struct slot *s)
{
    if (c->use_pidfd)
        return slot_open_pidfd(c, s);
    return slot_open_proc(c, s);
}

/* True while the target itself is alive: the same process atb opened. */
static int target_alive(struct ctx *c, struct slot *s, pid_t *pgrp)
{
    struct atb__proc_stat st;

    if (c->use_pidfd) {
        if (s->pidfd < 0 || atb__pidfd_exited(s->pidfd))
            return 0;
        if (pgrp != NULL) {
            *pgrp = getpgid(s->t->pid);
            /* Alive after the lookup too: the answer was about it. */
            return *pgrp > 0 && !atb__pidfd_exited(s->pidfd);
        }
        return 1;
    }
    if (atb__proc_stat(s->t->pid, &st) < 0 || st.exited ||
        st.start_time != s->facts.start_time)
        return 0;
    if (pgrp != NULL)
        *pgrp = st.pgrp;
    return 1;
}

/* Scans /proc for a member of the group that has not exited. Returns 1 when
 * there is one, or when /proc cannot be read (assume it is there). */
static int group_has_live_member(pid_t pgid)
{
    struct dirent *e;
    DIR *d = opendir("/proc");
    int found = 0;

    if (d == NULL)
        return 1;
    while (!found && (e = readdir(d)) != NULL) {
        struct atb__proc_stat st;
        pid_t pid;

        if (atb_cancel_pid_parse(e->d_name, &pid) < 0)
            continue;
        found = atb__proc_stat(pid, &st) == 0 && st.pgrp == pgid && !st.exited;
    }
    closedir(d);
    return found;
}

/* True when what the target stands for is gone: the process, or with a
 * group, every live member of the group (see the top of the file). */
static int slot_gone(struct ctx *c, struct slot *s)
{
    pid_t pgrp = 0;

    if (!c->opts->group)
        return !target_alive(c, s, NULL);
    if (target_alive(c, s, &pgrp) && pgrp == s->t->pgid)
        return 0;
    if (kill(-s->t->pgid, 0) < 0 && errno == ESRCH)
        return 1;
    return !group_has_live_member(s->t->pgid);
}

/* Sends signo to the target or its group, unless it is gone. Returns 1 when
 * sent, 0 when gone, or a negative errno (-EPERM: not allowed). */
static int slot_send(struct ctx *c, struct slot *s, int signo)
{
    int r;

    if (slot_gone(c, s))
        return 0;
    if (c->opts->group)
        r = kill(-s->t->pgid, signo) < 0 ? -errno : 0;
    else if (c->use_pidfd)
        r = atb__pidfd_send_signal(s->pidfd, signo);
    else
        r = kill(s->t->pid, signo) < 0 ? -errno : 0;
    if (r == -ESRCH)
        return 0;
    return r < 0 ? r : 1;
}

/* A stopped process cannot act on most signals until it is continued, so
 * the first signal is followed by SIGCONT, as timeout(1) and systemd do;
 * not when the signal is itself about stopping or continuing. */
static int wants_cont(int signo)
{
    return signo != SIGKILL && signo != SIGCONT && signo != SIGSTOP &&
           signo != SIGTSTP && signo != SIGTTIN && signo != SIGTTOU;
}

/* True when an earlier target stands for the same process or group and was
 * signalled in this round: one signal is enough, and a second TERM means
 * "hurry" to some programs. */
static int already_sent(struct ctx *c, size_t i, int round)
{
    const struct atb_cancel_target *t = c->slots[i].t;

    for (size_t j = 0; j < i; j++) {
        const struct atb_cancel_target *u = c->slots[j].t;
        if (c->slots[j].round == round &&
            (c->opts->group ? u->pgid == t->pgid : u->pid == t->pid))
            return 1;
    }
    return 0;
}

/* Round 1 sends opts->signo to every accepted target; round 2 sends SIGKILL
 * to those still pending when the grace period ends. */
static void signal_round(struct ctx *c, int signo, int round)
{
    for (size_t i = 0; i < c->n; i++) {
        struct slot *s = &c->slots[i];
        int r;

        if (round == 1 ? s->t->state != ATB_CANCEL_PENDING : !s->pending)
            continue;
        /* Reached by an earlier target's signal: noted, not sent again. */
        r = already_sent(c, i, round) ? 2 : slot_send(c, s, signo);
        if (r == 0) {
            finish_gone(c, s);
        } else if (r < 0) {
            finish(c, s, r == -EPERM ? ATB_CANCEL_DENIED : ATB_CANCEL_FAILED, r);
        } else {
            s->round = round;
            s->pending = 1;
            if (round == 1)
                s->t->sent_signal = signo;
            else
                s->t->killed = 1;
            if (r == 2)
                continue;
            emit(c, ATB_CANCEL_EV_SIGNAL, s->t, signo, 0);
            if (round == 1 && wants_cont(signo))
                slot_send(c, s, SIGCONT);
        }
    }
}

/* Waits until every pending target is gone or the deadline passes: poll()
 * on the pidfds of single processes, and every TICK_S a look at what
 * pidfds cannot show (groups, the fallback). Returns 0 or a negative errno
 * from poll(). */
static int wait_until(struct ctx *c, struct pollfd *pfds, size_t *idx,
                      double deadline)
{
    for (;;) {
        size_t nfds = 0, left = 0;
        int tick = 0, ms, r;
        double wait_s;

        for (size_t i = 0; i < c->n; i++) {
            struct slot *s = &c->slots[i];

            if (!s->pending)
                continue;
            left++;
            if (s->pidfd >= 0 && !c->opts->group) {
                pfds[nfds].fd = s->pidfd;
                pfds[nfds].events = POLLIN;
                pfds[nfds].revents = 0;
                idx[nfds++] = i;
            } else {
                tick = 1;
            }
        }
        wait_s = deadline - atb__now();
        if (left == 0 || wait_s <= 0)
            return 0;
        if (tick && wait_s > TICK_S)
            wait_s = TICK_S;
        ms = wait_s * 1000 >= POLL_MAX_MS ? POLL_MAX_MS : (int)(wait_s * 1000) + 1;
        r = poll(pfds, nfds, ms);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        for (size_t k = 0; k < nfds; k++)
            if (pfds[k].revents != 0)
                finish_gone(c, &c->slots[idx[k]]);
        if (!tick)
            continue;
        for (size_t i = 0; i < c->n; i++) {
            struct slot *s = &c->slots[i];
            if (s->pending && (s->pidfd < 0 || c->opts->group) && slot_gone(c, s))
                finish_gone(c, s);
        }
    }
}

/* Refuses what must never be signalled (atb__cancel_refusal()), with the
 * reason in error. Before opening (opened 0): init, and atb itself; after:
 * the rest. Returns 1 when anything was refused. */
static int refuse(struct ctx *c, int opened)
{
    int refused = 0;

    for (size_t i = 0; i < c->n; i++) {
        struct atb_cancel_target *t = c->slots[i].t;
        int why = atb__cancel_refusal(t, &c->slots[i].facts, opened,
                                      c->opts->group);

        if (why != 0) {
            t->state = ATB_CANCEL_REFUSED;
            t->error = why < 0 ? why : 0;
        }
        refused |= t->state == ATB_CANCEL_REFUSED;
    }
    return refused;
}

/* Sets every target back to pending, with nothing noted from an earlier
 * run, and gives it a slot with no pidfd yet and its pid file's mtime (a
 * negative tv_nsec: none). Separate from atb_cancel_run_pidfiles() to keep
 * that to allocating and releasing. */
static void slots_init(struct ctx *c, struct atb_cancel_target *targets,
                       const struct timespec *written)
{
    for (size_t i = 0; i < c->n; i++) {
        struct atb_cancel_target *t = &targets[i];

        t->state = ATB_CANCEL_PENDING;
        t->error = t->pgid = t->sent_signal = t->killed = 0;
        t->gone_s = 0;
        c->slots[i].t = t;
        c->slots[i].pidfd = -1;
        if (written != NULL && written[i].tv_nsec >= 0)
            c->slots[i].facts.written = &written[i];
    }
}

/* Chooses pidfds, or the fallback when the kernel or a seccomp filter has
 * none (or opts->no_pidfd), and says so with a FALLBACK event. Returns 0,
 * or the probe's negative errno when it failed for another reason. Separate
 * so that the whole choice, and why, reads in one place. */
static int use_pidfd_or_fallback(struct ctx *c)
{
    int why = 0;

    if (!c->opts->no_pidfd) {
        why = pidfd_probe();
        if (why != 0 && why != -ENOSYS && why != -EPERM)
            return why;
    }
    c->use_pidfd = !c->opts->no_pidfd && why == 0;
    if (!c->use_pidfd)
        emit(c, ATB_CANCEL_EV_FALLBACK, NULL, 0, why);
    return 0;
}

/* Accepts the targets: refuses what must not be signalled, pins every one
 * down, then starts the events with the targets settled while opening.
 * Returns 0, -EINVAL when a target was refused, or a negative errno when
 * atb cannot go on. Separate from the signalling: all that can stop the
 * whole cancel happens here, before any signal. */
static int slots_accept(struct ctx *c)
{
    int rc;

    if (refuse(c, 0))
        return -EINVAL;
    rc = use_pidfd_or_fallback(c);
    if (rc != 0)
        return rc;

    /* Every target is pinned before any is signalled, so a refusal or a
     * lack of fds leaves every process untouched. */
    for (size_t i = 0; i < c->n; i++) {
        rc = slot_open(c, &c->slots[i]);
        if (rc < 0)
            return rc;
    }
    if (refuse(c, 1))
        return -EINVAL;
    c->started = 1;
    for (size_t i = 0; i < c->n; i++)
        if (c->slots[i].t->state != ATB_CANCEL_PENDING)
            emit(c, ATB_CANCEL_EV_DONE, c->slots[i].t, 0, 0);
    return 0;
}

/* Signals the accepted targets, waits out the grace period, sends SIGKILL
 * to what is left and waits kill_wait_s; then settles each target still
 * pending as gone or stuck. Returns 0 or a negative errno from poll().
 * Separate from slots_accept(): this is the part that touches processes. */
static int slots_cancel(struct ctx *c, struct pollfd *pfds, size_t *idx)
{
    int rc;

    c->t0 = atb__now();
    signal_round(c, c->opts->signo, 1);
    if (c->opts->signo != SIGKILL) {
        rc = wait_until(c, pfds, idx, c->t0 + c->opts->grace_s);
        if (rc < 0)
            return rc;
        signal_round(c, SIGKILL, 2);
    }
    rc = wait_until(c, pfds, idx, atb__now() + c->opts->kill_wait_s);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < c->n; i++) {
        struct slot *s = &c->slots[i];

        if (!s->pending)
            continue;
        if (slot_gone(c, s))
            finish_gone(c, s);
        else
            finish(c, s, ATB_CANCEL_STUCK, 0);
    }
    return rc;
}

int atb_cancel_run(struct atb_cancel_target *targets, size_t n,
                   const struct atb_cancel_opts *opts)
{
    return atb_cancel_run_pidfiles(targets, n, opts, NULL);
}

int atb_cancel_run_pidfiles(struct atb_cancel_target *targets, size_t n,
                            const struct atb_cancel_opts *opts,
                            const struct timespec *written)
{
    struct atb_cancel_opts defaults;
    struct ctx c = {0};
    struct pollfd *pfds = NULL;
    size_t *idx = NULL;
    int rc;

    if (opts == NULL) {
        atb_cancel_opts_init(&defaults);
        opts = &defaults;
    }
    if (atb_signal_name(opts->signo) == NULL || !(opts->grace_s >= 0) ||
        !(opts->kill_wait_s >= 0))
        return -EINVAL;
    if (n == 0)
        return 0;
    c.opts = opts;
    c.n = n;
    c.slots = calloc(n, sizeof(*c.slots));
    pfds = calloc(n, sizeof(*pfds));
    idx = calloc(n, sizeof(*idx));
    if (c.slots == NULL || pfds == NULL || idx == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    slots_init(&c, targets, written);
    rc = slots_accept(&c);
    if (rc != 0)
        goto out;
    rc = slots_cancel(&c, pfds, idx);
out:
    if (c.slots != NULL)
        for (size_t i = 0; i < n; i++)
            atb__close(&c.slots[i].pidfd);
    free(c.slots);
    free(pfds);
    free(idx);
    return rc;
}
