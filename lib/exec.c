/* exec: atb_run_exec(), a run that takes the process for its duration, as
 * the atb program wants: tini's spine, each phase a named step.
 *
 *   take the process   child subreaper (so descendants that leave their
 *                      command's group come back to us), the open-files
 *                      limit raised (local.c), SIGCHLD unblocked, and with
 *                      catch_signals SIGINT, SIGTERM, SIGHUP caught;
 *   run                on a private loop with pidfds, or on libev's default
 *                      loop with ev_child where pidfds are missing; orphans
 *                      are reaped as they come;
 *   sweep              whatever child of the process is left and was not
 *                      there before the run left its group: it is killed
 *                      and reaped with whatever it leaves behind;
 *   give it back       every setting as it was, a signal that came as the
 *                      run ended taken as its interruption.
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* A signal counts as a second one (kill now) only this long after the
 * first: timeout(1) and others signal both a process and its group, so one
 * cancellation can arrive twice at once, and that must not skip the grace. */
#define SECOND_SIGNAL_S 0.1
/* Fds the run needs before it can say that fds ran out: the event loop's
 * (see atb__fds_available), the spawner's /dev/null and its three
 * placeholders (spawn-fast.c), the signalfd that reads the caught signals,
 * the guardian's socket and the latch scope's folder. One short and libev
 * aborts when it makes its signal pipe. */
#define RUN_FDS (ATB__LOOP_FDS + 7)
/* When the guardian that shares atb's memory hands over to one of its own
 * (guard.c): late enough that short runs never pay for the fork, early
 * enough that the OOM killer, which kills the first one with atb, rarely
 * comes before. */
#define HANDOVER_S 0.5
/* How often at most the guardian is told of groups started and ended: each
 * write wakes it, which on two busy cores costs each command's start as
 * much as a tenth of a millisecond. A command started since is found by
 * its mark meanwhile. */
#define GUARD_FLUSH_S 0.02

struct atb__exec {
    struct ev_loop *loop;
    int own_loop;           /* made here: destroyed here */
    struct atb__catch sig;
    int catching;
    int caught;             /* signals caught so far */
    double first_at;        /* monotonic, when the first came */
    pid_t *before;          /* owned, sorted: the children the process had */
    size_t nbefore;
    ev_signal sigchld_w;    /* pidfd mode: orphans to reap */
    ev_timer handover_w;    /* the guardian's handover */
    ev_prepare flush_w;     /* before the loop waits: the guardian told */
    ev_timer flush_t;       /* ... or once GUARD_FLUSH_S has passed */
    double flushed_at;      /* loop time of the last flush */
    int old_subreaper;
    sigset_t old_mask;
    struct sigaction old_chld; /* libev sets SIGCHLD's action: put back */
};

static int cmp_pid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

    return (x > y) - (x < y);
}

/* Was pid a child of the process before the run? Those are not the run's. */
static int was_before(const struct atb__exec *ex, pid_t pid)
{
    return ex->nbefore > 0 &&
           bsearch(&pid, ex->before, ex->nbefore, sizeof(pid), cmp_pid) != NULL;
}

size_t atb_run_signals(int *signals, size_t size)
{
    static const int named[] = {SIGHUP,  SIGINT,  SIGQUIT,   SIGTERM, SIGUSR1,
                                SIGUSR2, SIGALRM, SIGXCPU,   SIGXFSZ, SIGVTALRM,
                                SIGPROF, SIGPWR,  SIGSTKFLT, SIGIO};
    size_t n = 0;

    for (size_t i = 0; i < ATB__ARRAY_SIZE(named); i++, n++)
        if (n < size)
            signals[n] = named[i];
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++, n++)
        if (n < size)
            signals[n] = sig;
    return n;
}

/* The same as a set. */
static void stop_set(sigset_t *set)
{
    int signals[64];
    size_t n = atb_run_signals(signals, ATB__ARRAY_SIZE(signals));

    sigemptyset(set);
    for (size_t i = 0; i < n && i < ATB__ARRAY_SIZE(signals); i++)
        sigaddset(set, signals[i]);
}

/* What the commands get for a caught signal: the signals people send to
 * stop a job, and those a program may mean for its children (QUIT for a
 * core dump, USR1 and USR2), pass on as they are, as timeout(1) does; any
 * other (a timer, a limit, a power failure) stops them as SIGTERM does. */
static int forwarded(int signo)
{
    switch (signo) {
    case SIGHUP:
    case SIGINT:
    case SIGQUIT:
    case SIGTERM:
    case SIGUSR1:
    case SIGUSR2:
        return signo;
    default:
        return SIGTERM;
    }
}

static void on_signal(int signo, void *data)
{
    struct atb_run *run = data;
    struct atb__exec *ex = run->exec;
    double now = atb__now();
    struct atb_event ev = {.kind = ATB_EVENT_SIGNAL, .id = -1, .signo = signo};

    /* Taken in after the end (see signals.c): the run was interrupted. */
    if (run->stage != ATB__GOING) {
        if (run->interrupted == 0)
            run->interrupted = signo;
        return;
    }
    if (ex->caught > 0 && now - ex->first_at < SECOND_SIGNAL_S)
        return; /* the same cancel, arriving twice */
    atb__enter(run);
    if (ex->caught++ == 0)
        ex->first_at = now;
    ev.count = ex->caught;
    atb__emit_event(run, &ev);
    (void)atb__run_interrupt(run, signo, forwarded(signo));
    atb__leave(run);
}

/* pidfd mode: SIGCHLD means some child can be reaped. Leaders are left to
 * their pidfd; here only orphans in front of the first waiting leader (a
 * WNOWAIT peek tells them apart). The rest are reaped by group (local.c)
 * or by the sweep. waitpid(-1) is never used. */
static void sigchld_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct atb_run *run = w->data;

    (void)loop;
    (void)revents;
    for (;;) {
        siginfo_t si;

        si.si_pid = 0;
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (si.si_pid == 0 || atb__local_is_leader(run->launcher, si.si_pid) ||
            was_before(run->exec, si.si_pid))
            break;
        while (waitid(P_PID, (id_t)si.si_pid, &si, WEXITED | WNOHANG) < 0 && errno == EINTR)
            ;
    }
    if (run->stage == ATB__GOING) {
        atb__enter(run);
        atb__local_recheck(run->launcher);
        atb__leave(run);
    }
}

/* After the loop: anything still a child of ours that was not one before
 * left its command's process group (setsid, setpgid) and was reparented to
 * us. It is killed, and reaped with whatever it leaves behind, until none
 * is left. Bounded, so a process stuck in the kernel (D state) cannot hang
 * us forever. */
static void sweep(struct atb__exec *ex, pid_t guardian)
{
    for (int round = 0; round < 100; round++) {
        pid_t *pids;
        size_t n, found = 0, left = 0;

        if (atb__children(&pids, &n) < 0) {
            free(pids);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            siginfo_t si;

            if (was_before(ex, pids[i]) || pids[i] == guardian)
                continue;
            found++;
            (void)kill(pids[i], SIGKILL);
            si.si_pid = 0;
            while (waitid(P_PID, (id_t)pids[i], &si, WEXITED | WNOHANG) < 0 &&
                   errno == EINTR)
                ;
            if (si.si_pid == 0)
                left++; /* not dead yet: looked at again after a pause */
        }
        free(pids);
        /* What a reaped one left behind has been handed to us already. */
        if (found == 0)
            break;
        if (left > 0)
            usleep(1000 * (round < 10 ? 1 : 10));
    }
}

static void handover_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb_run *run = w->data;

    (void)loop;
    (void)revents;
    /* Refused (EAGAIN under a process limit, say): the first guardian
     * stays on guard, as good as the second but for the OOM killer. */
    (void)atb__guard_handover(&run->guard);
}

static void flush_now(struct ev_loop *loop, struct atb_run *run)
{
    atb__guard_flush(&run->guard);
    run->exec->flushed_at = ev_now(loop);
}

static void flush_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    flush_now(loop, w->data);
}

/* Before the loop waits: what the guardian is to be told goes now, or when
 * GUARD_FLUSH_S has passed since the last time. */
static void flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    struct atb_run *run = w->data;
    struct atb__exec *ex = run->exec;
    double since = ev_now(loop) - ex->flushed_at;

    (void)revents;
    if (run->guard.npending == 0)
        return;
    if (since >= GUARD_FLUSH_S) {
        flush_now(loop, run);
    } else if (!ev_is_active(&ex->flush_t)) {
        ev_timer_set(&ex->flush_t, GUARD_FLUSH_S - since, 0);
        ev_timer_start(loop, &ex->flush_t);
    }
}

static void exec_done(struct atb_run *run, void *data)
{
    (void)data;
    ev_break(run->exec->loop, EVBREAK_ALL);
}

/* Takes the process: the loop, the children it has now, the subreaper
 * flag, SIGCHLD. Returns 0 or a negative errno with nothing taken. */
static int take(struct atb__exec *ex, int use_pidfd)
{
    sigset_t chld;
    int rc = atb__fds_available(RUN_FDS);

    if (rc < 0)
        return rc;
    if (sigaction(SIGCHLD, NULL, &ex->old_chld) < 0)
        return -errno;
    ex->own_loop = use_pidfd || ev_default_loop_uc_() == NULL;
    /* A private loop never reaps: pidfds have their statuses to
     * themselves. ev_child works only on the default loop. */
    ex->loop = use_pidfd ? ev_loop_new(EVFLAG_AUTO) : ev_default_loop(EVFLAG_AUTO);
    if (ex->loop == NULL)
        return -ENOMEM;
    if (atb__children(&ex->before, &ex->nbefore) < 0)
        ex->nbefore = 0;
    if (ex->nbefore > 1)
        qsort(ex->before, ex->nbefore, sizeof(pid_t), cmp_pid);
    if (prctl(PR_GET_CHILD_SUBREAPER, &ex->old_subreaper) < 0)
        ex->old_subreaper = 0;
    /* Refused only where prctl lacks the option (Linux < 3.4): descendants
     * that leave their group then go to init, as they would without atb. */
    (void)prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_UNBLOCK, &chld, &ex->old_mask);
    return 0;
}

static void give_back(struct atb__exec *ex)
{
    sigprocmask(SIG_SETMASK, &ex->old_mask, NULL);
    (void)prctl(PR_SET_CHILD_SUBREAPER, ex->old_subreaper);
    /* Destroying the default loop resets SIGCHLD to SIG_DFL: the action
     * the caller had comes back after it. */
    if (ex->own_loop)
        ev_loop_destroy(ex->loop);
    if (ex->own_loop)
        sigaction(SIGCHLD, &ex->old_chld, NULL);
    free(ex->before);
}

/* 1 for pidfds, 0 for the default loop's child watchers, or -ENOSYS when
 * pidfds are asked for and do not work here (ENOSYS before Linux 5.3,
 * EPERM under a seccomp filter older than pidfd_open). */
static int use_pidfd_here(const struct atb_run *run)
{
    int fd, ok;

    if (run->set.watch == ATB_WATCH_SIGCHLD)
        return 0;
    fd = atb__pidfd_open(getpid());
    ok = fd >= 0;
    atb__close(&fd);
    if (run->set.watch == ATB_WATCH_PIDFD && !ok)
        return -ENOSYS;
    return ok;
}

/* rc, the run's error "guardian" when it is one. */
static int guardian_error(struct atb_run *run, int rc)
{
    if (rc < 0) {
        run->error.code = rc;
        run->error.key = "guardian";
    }
    return rc;
}

/* The guardian, started before any command it must know of, with the
 * Slurm launcher's will. Returns 0 or a negative errno (the run's error). */
static int start_guardian(struct atb_run *run)
{
    int slurm = run->set.launcher == ATB_LAUNCHER_SLURM;
    int rc = atb__random_token(run->mark, sizeof(run->mark));
    char will[512];

    if (rc == 0 && slurm)
        rc = atb__slurm_will(run->mark, will, sizeof(will));
    if (rc == 0)
        rc = atb__guard_start(&run->guard, run->mark, run->set.cancel_signal, run->set.grace_s,
                              slurm ? will : NULL);
    return guardian_error(run, rc);
}

int atb_run_exec(struct atb_run *run)
{
    sigset_t stop, force;
    struct atb__exec ex;
    int use_pidfd = use_pidfd_here(run), rc, sig;

    if (run->stage != ATB__NEW)
        return ATB_ESTATE;
    if (use_pidfd < 0)
        return use_pidfd;
    memset(&ex, 0, sizeof(ex));
    rc = take(&ex, use_pidfd);
    if (rc < 0)
        return rc;
    run->exec = &ex;
    run->done = exec_done;
    if (run->set.guardian)
        rc = start_guardian(run);
    if (rc == 0)
        rc = atb__run_prepare(run, ex.loop, use_pidfd, 1);
    if (rc < 0)
        goto out;
    /* A signal ignored on entry stays ignored: that is how nohup and a
     * shell's background jobs ask not to be stopped by a hangup or a
     * Ctrl-C meant for the foreground. But SIGTERM, which is how a process
     * is asked to stop. */
    stop_set(&stop);
    sigemptyset(&force);
    sigaddset(&force, SIGTERM);
    if (run->set.catch_signals)
        ex.catching = atb__catch_start(&ex.sig, ex.loop, &stop, &force, on_signal, run) == 0;
    if (use_pidfd && ex.own_loop && ev_default_loop_uc_() == NULL) {
        ev_signal_init(&ex.sigchld_w, sigchld_cb, SIGCHLD);
        ex.sigchld_w.data = run;
        ev_signal_start(ex.loop, &ex.sigchld_w);
    }
    if (run->guard.pid > 0) {
        ev_timer_init(&ex.handover_w, handover_cb, HANDOVER_S, 0);
        ex.handover_w.data = run;
        ev_timer_start(ex.loop, &ex.handover_w);
        ev_prepare_init(&ex.flush_w, flush_cb);
        ex.flush_w.data = run;
        ev_prepare_start(ex.loop, &ex.flush_w);
        ev_timer_init(&ex.flush_t, flush_timer_cb, GUARD_FLUSH_S, 0);
        ex.flush_t.data = run;
    }
    /* The guardian settled while the run was made ready; nothing starts
     * before it has. */
    rc = guardian_error(run, atb__guard_ready(&run->guard));
    if (rc < 0)
        atb__run_teardown(run);
    else
        ev_run(ex.loop, 0);
    ev_prepare_stop(ex.loop, &ex.flush_w);
    ev_timer_stop(ex.loop, &ex.flush_t);
    ev_timer_stop(ex.loop, &ex.handover_w);
    ev_signal_stop(ex.loop, &ex.sigchld_w);
    /* The guardian is told the run is over only once nothing of it is
     * left: a SIGKILL during the sweep still finds it on guard. */
    sweep(&ex, run->guard.pid);
    atb__guard_end(&run->guard);
    if (ex.catching && (sig = atb__catch_stop(&ex.sig, 1)) != 0 && run->interrupted == 0)
        run->interrupted = sig;
out:
    atb__guard_end(&run->guard);
    give_back(&ex);
    run->exec = NULL;
    return rc;
}
