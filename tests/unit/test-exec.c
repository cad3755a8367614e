/* Unit tests for lib/exec.c: atb_run_exec(), the blocking run that takes
 * the process for its duration, and what the process looks like after it.
 * Each test is its own forked process, so the state it changes (limits,
 * masks, actions, the subreaper flag) dies with it. Tests named _pidfd run
 * on exec's private loop with pidfds, _sigchld on libev's default loop
 * (ATB_WATCH_SIGCHLD). Output goes to events so the TAP stream stays clean,
 * and the lines come back to the test through the event callback. Every
 * command ends by itself within minutes, so a test that fails half-way
 * leaves nothing running for long. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atb.h"
#include "runs.h"
#include "waits.h"

#define BOTH(name)                                                     \
    static void name(enum atb_watch watch);                            \
    TEST(name##_pidfd) { name(ATB_WATCH_PIDFD); }                      \
    TEST(name##_sigchld) { name(ATB_WATCH_SIGCHLD); }                  \
    static void name(enum atb_watch watch)

/* The process as seen from inside the run (from an event callback). */
struct during {
    int checked;
    int subreaper;
    struct rlimit nofile;
    sigset_t mask;
};

struct rec {
    char out[1024];        /* every output line, each followed by '\n' */
    size_t len;
    int signals;           /* ATB_EVENT_SIGNAL events */
    int last_signo, last_count;
    struct during during;
};

static void on_event(struct atb_run *run, const struct atb_event *ev, void *data)
{
    struct rec *r = data;

    (void)run;
    switch (ev->kind) {
    case ATB_EVENT_OUTPUT:
        if (r->len + ev->len + 2 < sizeof(r->out)) {
            memcpy(r->out + r->len, ev->data, ev->len);
            r->len += ev->len;
            r->out[r->len++] = '\n';
            r->out[r->len] = '\0';
        }
        break;
    case ATB_EVENT_SIGNAL:
        r->signals++;
        r->last_signo = ev->signo;
        r->last_count = ev->count;
        break;
    case ATB_EVENT_STARTED:
        if (!r->during.checked) {
            r->during.checked = 1;
            prctl(PR_GET_CHILD_SUBREAPER, &r->during.subreaper);
            getrlimit(RLIMIT_NOFILE, &r->during.nofile);
            sigprocmask(SIG_BLOCK, NULL, &r->during.mask);
        }
        break;
    default:
        break;
    }
}

static struct atb_run *new_run(enum atb_watch watch, struct rec *r)
{
    struct atb_run *run;

    memset(r, 0, sizeof(*r));
    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_watch(run, watch), 0);
    ASSERT_EQ(atb_run_set_output(run, ATB_OUTPUT_EVENTS), 0);
    ASSERT_EQ(atb_run_on_event(run, on_event, r), 0);
    /* Long: a kill before WAIT_S can only come from what the test does. */
    ASSERT_EQ(atb_run_set_cancel(run, SIGTERM, 3 * WAIT_S), 0);
    return run;
}

static int add_sh(struct atb_run *run, const char *name, const char *line)
{
    struct atb_cmd c = CMD_SH(name, line);
    int id = atb_run_add(run, &c);

    ASSERT(id >= 0);
    return id;
}

static volatile sig_atomic_t mine[NSIG];

static void my_handler(int signo)
{
    mine[signo]++;
}

static void set_action(int signo, void (*handler)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(signo, &sa, NULL), 0);
}

static void (*handler_of(int signo))(int)
{
    struct sigaction sa;

    ASSERT_EQ(sigaction(signo, NULL, &sa), 0);
    return sa.sa_handler;
}

static void assert_same_mask(const sigset_t *a, const sigset_t *b)
{
    for (int s = 1; s < NSIG; s++)
        if (sigismember(a, s) != sigismember(b, s))
            unit_fail(__FILE__, __LINE__, "signal %d: blocked %d before, %d after", s,
                      sigismember(a, s), sigismember(b, s));
}

/* Subreaper flag, open-files limit and signal mask: changed while the run
 * goes on, exactly as they were afterwards; the commands get the limit the
 * process had, not the raised one. Once with the flag off on entry, once
 * with it on. */
BOTH(gives_the_process_back)
{
    struct rlimit lim, after_lim;
    sigset_t set, before, after;
    rlim_t soft = 517; /* distinctive, below any hard limit we run under */

    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
    ASSERT(lim.rlim_max > soft);
    lim.rlim_cur = soft;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lim), 0);
    /* Blocked on entry: SIGUSR1 stays blocked throughout, SIGCHLD is
     * unblocked while the run goes on (it watches its children by it),
     * SIGHUP is one of the signals catch_signals takes over. */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGHUP);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, NULL), 0);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, NULL, &before), 0);

    for (int flag = 0; flag <= 1; flag++) {
        struct rec r;
        struct atb_run *run = new_run(watch, &r);
        int old = -1;

        ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, flag), 0);
        ASSERT_EQ(atb_run_set_catch_signals(run, 1), 0);
        add_sh(run, "limit", "ulimit -n");
        ASSERT_EQ(atb_run_exec(run), 0);
        ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_SUCCEEDED);
        ASSERT_STR_EQ(r.out, "517\n");
        /* during */
        ASSERT(r.during.checked);
        ASSERT_EQ(r.during.subreaper, 1);
        ASSERT_EQ(r.during.nofile.rlim_cur, lim.rlim_max);
        ASSERT_EQ(sigismember(&r.during.mask, SIGCHLD), 0);
        ASSERT_EQ(sigismember(&r.during.mask, SIGUSR1), 1);
        /* after */
        ASSERT_EQ(prctl(PR_GET_CHILD_SUBREAPER, &old), 0);
        ASSERT_EQ(old, flag);
        ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &after_lim), 0);
        ASSERT_EQ(after_lim.rlim_cur, soft);
        ASSERT_EQ(after_lim.rlim_max, lim.rlim_max);
        ASSERT_EQ(sigprocmask(SIG_BLOCK, NULL, &after), 0);
        assert_same_mask(&before, &after);
        atb_run_free(run);
    }
}

/* The run watches children through SIGCHLD (a handler on the default loop,
 * a signal watcher beside the pidfds): the caller's own SIGCHLD action must
 * be back afterwards, as every other setting is. */
BOTH(gives_sigchld_action_back)
{
    struct rec r;
    struct atb_run *run = new_run(watch, &r);

    set_action(SIGCHLD, my_handler);
    add_sh(run, "a", "exit 0");
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT(handler_of(SIGCHLD) == my_handler);
    atb_run_free(run);
}

/* Parses "escaped PID" from the output. */
static pid_t escaped_pid(const struct rec *r)
{
    const char *p = strstr(r->out, "escaped ");
    long pid;

    ASSERT(p != NULL);
    pid = strtol(p + 8, NULL, 10);
    ASSERT(pid > 1);
    return (pid_t)pid;
}

/* A descendant that leaves its command's group (setsid) is killed and
 * reaped by the sweep at the end, while a child the caller had before the
 * run is left alone: still alive, unreaped, ours to end. */
BOTH(sweep_spares_the_callers_children)
{
    struct rec r;
    struct atb_run *run = new_run(watch, &r);
    pid_t pre, esc;
    siginfo_t si;
    int st;

    pre = fork();
    ASSERT(pre >= 0);
    if (pre == 0) {
        execlp("sleep", "sleep", "100", (char *)NULL);
        _exit(127);
    }
    /* The escapee prints its pid and lets go of the pipe, so the command
     * substitution (and the leader) need not wait for it. */
    add_sh(run, "escape",
           "pid=$(setsid sh -c 'echo $$; exec sleep 100 >/dev/null 2>&1' &); "
           "echo \"escaped $pid\"");
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_SUCCEEDED);
    esc = escaped_pid(&r);
    /* Gone, not a zombie: kill(pid, 0) succeeds on a zombie. */
    ASSERT_EQ(kill(esc, 0), -1);
    ASSERT_EQ(errno, ESRCH);
    /* Ours is alive and unreaped. */
    ASSERT_EQ(kill(pre, 0), 0);
    si.si_pid = 0;
    ASSERT_EQ(waitid(P_PID, (id_t)pre, &si, WEXITED | WNOHANG | WNOWAIT), 0);
    ASSERT_EQ(si.si_pid, 0);
    ASSERT_EQ(kill(pre, SIGKILL), 0);
    ASSERT_EQ(waitpid(pre, &st, 0), pre);
    ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    atb_run_free(run);
}

/* A child of the caller that ends while the run goes on is the caller's to
 * reap: its status must still be there after the run. The order is forced
 * from the STARTED callback: our child is told to exit (its stdin closes)
 * and waited for until it is a zombie, and only then is the command told
 * to end; so the loop sees our child's SIGCHLD before the run can end.
 * pidfd mode only: on the default loop (ATB_WATCH_SIGCHLD) libev reaps
 * every child with waitpid(-1), the caller's included, and the status is
 * lost; run.h does not promise otherwise there. */
struct pre_child {
    struct rec r;
    pid_t pid;
    int child_in;           /* write end of our child's stdin, or -1 */
    int cmd_in;             /* write end of the command's stdin, or -1 */
};

static void end_in_order(struct atb_run *run, const struct atb_event *ev, void *data)
{
    struct pre_child *pc = data;

    if (ev->kind == ATB_EVENT_STARTED && pc->child_in >= 0) {
        close(pc->child_in);
        pc->child_in = -1;
        wait_exited_nowait(pc->pid);
        close(pc->cmd_in);
        pc->cmd_in = -1;
    }
    on_event(run, ev, &pc->r);
}

TEST(callers_child_keeps_its_status)
{
    struct pre_child pc;
    struct atb_run *run = new_run(ATB_WATCH_PIDFD, &pc.r);
    int in[2], cmd_in[2], st;

    ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
    ASSERT_EQ(pipe2(cmd_in, O_CLOEXEC), 0);
    pc.pid = fork();
    ASSERT(pc.pid >= 0);
    if (pc.pid == 0) {
        char c;
        close(in[1]);
        while (read(in[0], &c, 1) > 0)
            ;
        _exit(9);
    }
    close(in[0]);
    pc.child_in = in[1];
    pc.cmd_in = cmd_in[1];
    ASSERT_EQ(atb_run_on_event(run, end_in_order, &pc), 0);
    add_sh(run, "a", "read x; exit 0");
    ASSERT_EQ(atb_run_set_input(run, "a", cmd_in[0]), 0);
    ASSERT_EQ(atb_run_exec(run), 0);
    close(cmd_in[0]);
    ASSERT_EQ(pc.child_in, -1);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(waitpid(pc.pid, &st, 0), pc.pid);
    ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 9);
    atb_run_free(run);
}

/* catch_signals: a SIGTERM sent to the process while the run goes on (by
 * the command itself) cancels the run with it. The caller's own SIGTERM
 * handler is back afterwards and never saw the signal. */
BOTH(caught_sigterm_interrupts)
{
    struct rec r;
    struct atb_run *run = new_run(watch, &r);

    set_action(SIGTERM, my_handler);
    ASSERT_EQ(atb_run_set_catch_signals(run, 1), 0);
    add_sh(run, "self", "kill -TERM $PPID; exec sleep 100");
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_INTERRUPTED);
    ASSERT_EQ(atb_run_signal(run), SIGTERM);
    ASSERT_EQ(atb_run_killed_at_once(run), 0);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_result(run, 0)->sent_signal, SIGTERM);
    ASSERT_EQ(atb_run_result(run, 0)->killed, 0);
    ASSERT_EQ(r.signals, 1);
    ASSERT_EQ(r.last_signo, SIGTERM);
    ASSERT_EQ(r.last_count, 1);
    ASSERT(handler_of(SIGTERM) == my_handler);
    ASSERT_EQ(mine[SIGTERM], 0);
    atb_run_free(run);
}

/* A second signal at least 0.1 s after the first kills what is left at
 * once. The command ignores TERM (its trap) and sends the second signal
 * from that trap, 0.2 s after the first cancel reached it: the gap is a
 * lower bound the API asks for, not a wait for something to happen. The
 * shell takes the cancel inside the wait builtin, which the trapped signal
 * interrupts at once (a foreground child would hold the trap back until it
 * ended, and one caught between fork and exec survives the signal). */
BOTH(second_signal_kills_at_once)
{
    struct rec r;
    struct atb_run *run = new_run(watch, &r);
    const struct atb_result *res;

    ASSERT_EQ(atb_run_set_catch_signals(run, 1), 0);
    add_sh(run, "stubborn",
           "trap 'sleep 0.2; kill -TERM $PPID' TERM; sleep 100 & kill -TERM $PPID; "
           "wait; sleep 100 & wait");
    ASSERT_EQ(atb_run_exec(run), 0);
    res = atb_run_result(run, 0);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_INTERRUPTED);
    ASSERT_EQ(atb_run_signal(run), SIGTERM);
    ASSERT_EQ(atb_run_killed_at_once(run), SIGTERM);
    ASSERT_EQ(r.signals, 2);
    ASSERT_EQ(r.last_count, 2);
    ASSERT_EQ(res->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(res->killed, 1);
    ASSERT_EQ(res->term_signal, SIGKILL);
    atb_run_free(run);
}

/* SIGINT and SIGHUP ignored on entry stay ignored (nohup, a shell's
 * background job): the command's SIGINT to us neither cancels the run nor
 * reaches anybody, and both are still ignored afterwards. */
BOTH(ignored_sigint_stays_ignored)
{
    struct rec r;
    struct atb_run *run = new_run(watch, &r);

    set_action(SIGINT, SIG_IGN);
    set_action(SIGHUP, SIG_IGN);
    ASSERT_EQ(atb_run_set_catch_signals(run, 1), 0);
    add_sh(run, "self", "kill -INT $PPID; kill -HUP $PPID; echo sent");
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_STR_EQ(r.out, "sent\n");
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_SUCCEEDED);
    ASSERT_EQ(atb_run_signal(run), 0);
    ASSERT_EQ(r.signals, 0);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_SUCCEEDED);
    ASSERT(handler_of(SIGINT) == SIG_IGN);
    ASSERT(handler_of(SIGHUP) == SIG_IGN);
    atb_run_free(run);
}

/* SIGTERM has no such exemption: ignored on entry, it is caught all the
 * same, and ignored again afterwards. */
BOTH(ignored_sigterm_is_caught)
{
    struct rec r;
    struct atb_run *run = new_run(watch, &r);

    set_action(SIGTERM, SIG_IGN);
    ASSERT_EQ(atb_run_set_catch_signals(run, 1), 0);
    add_sh(run, "self", "kill -TERM $PPID; exec sleep 100");
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_INTERRUPTED);
    ASSERT_EQ(atb_run_signal(run), SIGTERM);
    ASSERT(handler_of(SIGTERM) == SIG_IGN);
    atb_run_free(run);
}

/* atb_run_start() refuses a run with catch_signals (an embedded run never
 * touches signal actions), starting nothing; the run is still new and can
 * be run the blocking way. */
TEST(start_refuses_catch_signals)
{
    struct rec r;
    struct atb_run *run = new_run(ATB_WATCH_AUTO, &r);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);

    ASSERT(loop != NULL);
    ASSERT_EQ(atb_run_set_catch_signals(run, 1), 0);
    add_sh(run, "a", "echo ran");
    ASSERT_EQ(atb_run_start(run, loop, NULL, NULL), -EINVAL);
    ASSERT_EQ(atb_run_result(run, 0)->pid, 0);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_QUEUED);
    ev_run(loop, EVRUN_NOWAIT);
    ASSERT_EQ(r.len, 0);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_STR_EQ(r.out, "ran\n");
    atb_run_free(run);
    ev_loop_destroy(loop);
}
