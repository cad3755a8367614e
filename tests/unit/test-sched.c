/* Unit tests for lib/sched.c and lib/ends.c through the public API: runs
 * started with atb_run_start() on a loop of the test's own, with an event
 * callback that records every event in order. Each test checks the
 * sequence the scheduler promises (one ENDED and one FINISHED per command,
 * STARTED before them) and the decision under test: -j, services, cleanup,
 * the policies' cancels, a cancel from outside, shields, commands added on
 * the way, two runs on one loop, ticks and counts.
 *
 * Commands are released by the test through pipes (a command's stdin from
 * atb_run_set_input()) or by their own output lines, never by the clock.
 * The cancel grace is long (3 * WAIT_S), so a SIGKILL before a wait gives up
 * can only be one the test asked for. Each test process is a child
 * subreaper, so members orphaned by a killed leader come back to it and
 * their groups end at once instead of when init gets round to them. Every
 * command ends by itself within minutes (sleep 100 at most), so a test that
 * fails half-way leaves nothing running for long. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "atb.h"
#include "runs.h"
#include "waits.h"

#define MAXEV 256

struct evrec {
    enum atb_event_kind kind;
    int id, signo, count;
    double t;               /* mono_now() when it came */
    char line[32];          /* OUTPUT: the line's start */
};

struct rec;
typedef void (*hook_fn)(struct rec *r, struct atb_run *run, const struct atb_event *ev);

struct rec {
    struct evrec ev[MAXEV];
    int n;
    int done;               /* done callback calls */
    int done_order;         /* among the runs of the test, 1 for the first done */
    hook_fn hook;           /* the test's own reaction, after recording */
    int fd;                 /* a write end the hook closes, or -1 */
    int done_fd;            /* a write end the done callback closes, or -1 */
    int free_on_done;
    int step;
    double t_mark;
    int max_running;        /* most commands running at once, seen at STARTED */
    pid_t member;           /* a group member's pid, from its command's output */
    int member_left;        /* the member still existed at its FINISHED */
    struct atb_counts snap[8]; /* counts at each id's STARTED */
};

static int dones;           /* done callbacks so far, across runs */

static void record(struct atb_run *run, const struct atb_event *ev, void *data)
{
    struct rec *r = data;
    struct evrec *e;

    ASSERT(r->n < MAXEV);
    e = &r->ev[r->n++];
    memset(e, 0, sizeof(*e));
    e->kind = ev->kind;
    e->id = ev->id;
    e->signo = ev->signo;
    e->count = ev->count;
    e->t = mono_now();
    if (ev->kind == ATB_EVENT_OUTPUT)
        snprintf(e->line, sizeof(e->line), "%.*s", (int)ev->len, ev->data);
    if (ev->kind == ATB_EVENT_STARTED) {
        const struct atb_counts *c = atb_run_counts(run);
        if ((int)c->running > r->max_running)
            r->max_running = (int)c->running;
        if (ev->id >= 0 && ev->id < (int)(sizeof(r->snap) / sizeof(r->snap[0])))
            r->snap[ev->id] = *c;
    }
    if (r->hook)
        r->hook(r, run, ev);
}

static void on_done(struct atb_run *run, void *data)
{
    struct rec *r = data;

    r->done++;
    r->done_order = ++dones;
    if (r->done_fd >= 0) {
        close(r->done_fd);
        r->done_fd = -1;
    }
    if (r->free_on_done)
        atb_run_free(run);
}

static struct atb_run *new_run(struct rec *r, enum atb_mode mode)
{
    struct atb_run *run;

    memset(r, 0, sizeof(*r));
    r->fd = r->done_fd = -1;
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_mode(run, mode), 0);
    ASSERT_EQ(atb_run_set_output(run, ATB_OUTPUT_EVENTS), 0);
    ASSERT_EQ(atb_run_set_cancel(run, SIGTERM, 3 * WAIT_S), 0);
    ASSERT_EQ(atb_run_on_event(run, record, r), 0);
    return run;
}

static int add_cmd(struct atb_run *run, struct atb_cmd c)
{
    int id = atb_run_add(run, &c);

    ASSERT(id >= 0);
    return id;
}

static int add_sh(struct atb_run *run, const char *name, const char *line)
{
    return add_cmd(run, CMD_SH(name, line));
}

/* Starts run on loop and runs the loop until its done callback. */
static void go(struct atb_run *run, struct rec *r, struct ev_loop *loop)
{
    ASSERT_EQ(atb_run_start(run, loop, on_done, r), 0);
    RUN_UNTIL(loop, r->done > 0);
    ASSERT_EQ(r->done, 1);
}

/* Gives command name the read end of a pipe as its stdin; r->fd is the
 * write end, which the test closes to let the command go on. */
static int input_pipe(struct atb_run *run, struct rec *r, const char *name)
{
    int p[2];

    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    ASSERT_EQ(atb_run_set_input(run, name, p[0]), 0);
    r->fd = p[1];
    return p[0];
}

static void release(struct rec *r)
{
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
}

/* Where the first event of kind for id is in the sequence, or -1. */
static int at(const struct rec *r, enum atb_event_kind kind, int id)
{
    for (int i = 0; i < r->n; i++)
        if (r->ev[i].kind == kind && r->ev[i].id == id)
            return i;
    return -1;
}

static int count(const struct rec *r, enum atb_event_kind kind, int id)
{
    int n = 0;

    for (int i = 0; i < r->n; i++)
        n += r->ev[i].kind == kind && r->ev[i].id == id;
    return n;
}

/* What every run promises about every command, whatever it did: one ENDED
 * and one FINISHED, in that order, nothing about it after its FINISHED; at
 * most one STARTED, before them, exactly when the result has a pid;
 * started_s -1 unless a start was at least tried (libatb(3)); a CANCELLED
 * only for a started command, before its ENDED. */
#define CHECK_LIFECYCLE(r, run) check_lifecycle(r, run, __LINE__)
static void check_lifecycle(const struct rec *r, const struct atb_run *run, int line)
{
    for (int id = 0; id < (int)atb_run_count(run); id++) {
        const struct atb_result *res = atb_run_result(run, id);
        int started = at(r, ATB_EVENT_STARTED, id), ended = at(r, ATB_EVENT_ENDED, id);
        int finished = at(r, ATB_EVENT_FINISHED, id), cancelled = at(r, ATB_EVENT_CANCELLED, id);
        const char *bad = NULL;

        if (res == NULL)
            bad = "no result";
        else if (count(r, ATB_EVENT_ENDED, id) != 1)
            bad = "ENDED not once";
        else if (count(r, ATB_EVENT_FINISHED, id) != 1)
            bad = "FINISHED not once";
        else if (count(r, ATB_EVENT_STARTED, id) > 1)
            bad = "STARTED twice";
        else if (ended > finished)
            bad = "FINISHED before ENDED";
        else if (started >= 0 && started > ended)
            bad = "STARTED after ENDED";
        else if ((started >= 0) != (res->pid > 0))
            bad = "STARTED disagrees with the pid";
        else if (started < 0 && res->start_error == 0 && res->started_s != -1)
            bad = "started_s set but no start was tried";
        else if (cancelled >= 0 && (started < 0 || cancelled > ended))
            bad = "CANCELLED outside STARTED..ENDED";
        else if (res->state == ATB_STATE_QUEUED || res->state == ATB_STATE_RUNNING)
            bad = "not final";
        for (int i = finished + 1; bad == NULL && i < r->n; i++)
            if (r->ev[i].id == id)
                bad = "an event after FINISHED";
        if (bad != NULL)
            unit_fail(__FILE__, line, "command %d: %s", id, bad);
    }
}

/* ---- the life of each command ---------------------------------------- */

/* The "tree" command (id 4) names its member; at its FINISHED nothing of
 * its group may be left, the member included (not even a zombie). */
static void watch_member(struct rec *r, struct atb_run *run, const struct atb_event *ev)
{
    (void)run;
    if (ev->kind == ATB_EVENT_OUTPUT && ev->id == 4 && strncmp(ev->data, "member ", 7) == 0)
        r->member = (pid_t)strtol(ev->data + 7, NULL, 10);
    if (ev->kind == ATB_EVENT_FINISHED && ev->id == 4)
        r->member_left = r->member <= 0 || kill(r->member, 0) == 0 || errno != ESRCH;
}

/* Every way a command can end: success, failure, a signal, a program that
 * is not there (no STARTED, a start error), a member left behind by its
 * leader (it gets the linger signal, TERM, once the leader has ended; the
 * leader's output ends with the leader, so only the group's end can make
 * the command finish). */
TEST(each_command_ends_and_finishes_once)
{
    struct rec r;
    struct atb_run *run = new_run(&r, ATB_MODE_WAIT_ALL);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    char *missing[] = {"atb-no-such-program", NULL};
    int ok, bad, sig, gone, tree;

    ASSERT(loop != NULL);
    ok = add_sh(run, "ok", "echo hi");
    bad = add_sh(run, "bad", "exit 3");
    sig = add_sh(run, "sig", "kill -USR1 $$");
    gone = add_cmd(run, CMD_ARGV("gone", missing));
    tree = add_sh(run, "tree", "sleep 100 >/dev/null 2>&1 & echo \"member $!\"");
    r.hook = watch_member;
    go(run, &r, loop);
    CHECK_LIFECYCLE(&r, run);
    ASSERT_EQ(atb_run_result(run, ok)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(atb_run_result(run, bad)->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, bad)->exit_code, 3);
    ASSERT_EQ(atb_run_result(run, sig)->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, sig)->term_signal, SIGUSR1);
    ASSERT_EQ(atb_run_result(run, gone)->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, gone)->start_error, -ENOENT);
    ASSERT_EQ(at(&r, ATB_EVENT_STARTED, gone), -1);
    ASSERT_EQ(atb_run_result(run, tree)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(tree, 4);
    ASSERT(r.member > 0);
    ASSERT_EQ(r.member_left, 0);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_FAILED);
    /* A start failure is taken in the first settle, before any leader's
     * end can be: it is the first failure. */
    ASSERT_EQ(atb_run_first_failure(run, 0), gone);
    atb_run_free(run);
    ASSERT_LOOP_EMPTY(loop);
    ev_loop_destroy(loop);
}

/* ---- -j and services ---------------------------------------------------- */

/* -j 1: one command at a time, each started once the previous one is over
 * (its FINISHED came); a service runs beside them without taking the slot
 * (if it took it, nothing else would ever start). */
TEST(jobs_one_runs_one_at_a_time)
{
    struct rec r;
    struct atb_run *run = new_run(&r, ATB_MODE_POOL);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct atb_cmd svc = CMD_SH("svc", "exec sleep 100");
    int ids[4], s;

    ASSERT(loop != NULL);
    ASSERT_EQ(atb_run_set_jobs(run, 1), 0);
    svc.service = 1;
    for (int i = 0; i < 4; i++) {
        char name[8];
        snprintf(name, sizeof(name), "w%d", i);
        ids[i] = add_sh(run, name, "exit 0");
    }
    s = add_cmd(run, svc);
    go(run, &r, loop);
    CHECK_LIFECYCLE(&r, run);
    for (int i = 1; i < 4; i++) {
        const struct atb_result *prev = atb_run_result(run, ids[i - 1]);

        ASSERT(at(&r, ATB_EVENT_STARTED, ids[i]) > at(&r, ATB_EVENT_FINISHED, ids[i - 1]));
        ASSERT(atb_run_result(run, ids[i])->started_s >= prev->started_s + prev->duration_s);
    }
    /* The service and one command at most. */
    ASSERT_EQ(r.max_running, 2);
    ASSERT_EQ(atb_run_result(run, s)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_SUCCEEDED);
    atb_run_free(run);
    ev_loop_destroy(loop);
}

/* Services start first, wherever they were added, and are cancelled once
 * the work has ended: their normal end, neither a failure nor an
 * interruption. */
TEST(services_start_first_and_are_cancelled_after_the_work)
{
    struct rec r;
    struct atb_run *run = new_run(&r, ATB_MODE_POOL);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct atb_cmd svc = CMD_SH("svc", "exec sleep 100");
    int w1, w2, s;

    ASSERT(loop != NULL);
    svc.service = 1;
    w1 = add_sh(run, "w1", "exit 0");
    w2 = add_sh(run, "w2", "echo work");
    s = add_cmd(run, svc);
    go(run, &r, loop);
    CHECK_LIFECYCLE(&r, run);
    ASSERT_EQ(r.ev[0].kind, ATB_EVENT_STARTED);
    ASSERT_EQ(r.ev[0].id, s);
    ASSERT_EQ(count(&r, ATB_EVENT_CANCELLED, s), 1);
    ASSERT(at(&r, ATB_EVENT_CANCELLED, s) > at(&r, ATB_EVENT_ENDED, w1));
    ASSERT(at(&r, ATB_EVENT_CANCELLED, s) > at(&r, ATB_EVENT_ENDED, w2));
    ASSERT_EQ(r.ev[at(&r, ATB_EVENT_CANCELLED, s)].signo, SIGTERM);
    ASSERT_EQ(atb_run_result(run, s)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_result(run, s)->sent_signal, SIGTERM);
    ASSERT_EQ(atb_run_result(run, s)->term_signal, SIGTERM);
    ASSERT(atb_run_result(run, s)->error == NULL);
    ASSERT_EQ(atb_run_result(run, w1)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(atb_run_result(run, w2)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_SUCCEEDED);
    ASSERT_EQ(atb_run_first_failure(run, 0), -1);
    ASSERT_EQ(atb_run_signal(run), 0);
    atb_run_free(run);
    ev_loop_destroy(loop);
}

/* ---- cleanup -------------------------------------------------------------- */

/* Cleanup commands run after every main command is over, one after
 * another, whatever happened (here the main ones failed and were
 * cancelled); a cleanup failure cancels nothing and counts apart. */
TEST(cleanup_runs_after_in_sequence)
{
    struct rec r;
    struct atb_run *run = new_run(&r, ATB_MODE_POOL);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct atb_cmd c1 = CMD_SH("c1", "exit 4"), c2 = CMD_SH("c2", "echo c2"),
                   c3 = CMD_SH("c3", "exit 0");
    int m1, m2, ids[3];

    ASSERT(loop != NULL);
    c1.cleanup = c2.cleanup = c3.cleanup = 1;
    /* Added first, run last. */
    ids[0] = add_cmd(run, c1);
    m1 = add_sh(run, "m1", "exec sleep 100");
    ids[1] = add_cmd(run, c2);
    m2 = add_sh(run, "m2", "exit 1");
    ids[2] = add_cmd(run, c3);
    go(run, &r, loop);
    CHECK_LIFECYCLE(&r, run);
    for (int i = 0; i < 3; i++) {
        ASSERT(at(&r, ATB_EVENT_STARTED, ids[i]) > at(&r, ATB_EVENT_FINISHED, m1));
        ASSERT(at(&r, ATB_EVENT_STARTED, ids[i]) > at(&r, ATB_EVENT_FINISHED, m2));
        ASSERT_EQ(count(&r, ATB_EVENT_CANCELLED, ids[i]), 0);
        if (i > 0)
            ASSERT(at(&r, ATB_EVENT_STARTED, ids[i]) > at(&r, ATB_EVENT_FINISHED, ids[i - 1]));
    }
    ASSERT_EQ(atb_run_result(run, m1)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_result(run, m2)->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, ids[0])->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, ids[0])->exit_code, 4);
    ASSERT_EQ(atb_run_result(run, ids[1])->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(atb_run_result(run, ids[2])->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(atb_run_result(run, ids[1])->cleanup, 1);
    ASSERT_EQ(atb_run_first_failure(run, 0), m2);
    ASSERT_EQ(atb_run_first_failure(run, 1), ids[0]);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_FAILED);
    atb_run_free(run);
    ev_loop_destroy(loop);
}

/* ---- policies -------------------------------------------------------------- */

/* pool: the first failure cancels the rest: the running command gets the
 * cancel signal, the queued ones never start. */
TEST(pool_first_failure_cancels_the_rest)
{
    struct rec r;
    struct atb_run *run = new_run(&r, ATB_MODE_POOL);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    int slow, bad, q1, q2;
    const struct atb_counts *c;

    ASSERT(loop != NULL);
    ASSERT_EQ(atb_run_set_jobs(run, 2), 0);
    slow = add_sh(run, "slow", "exec sleep 100");
    bad = add_sh(run, "bad", "exit 1");
    q1 = add_sh(run, "q1", "exit 0");
    q2 = add_sh(run, "q2", "exit 0");
    go(run, &r, loop);
    CHECK_LIFECYCLE(&r, run);
    ASSERT_EQ(atb_run_result(run, bad)->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, slow)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_result(run, slow)->sent_signal, SIGTERM);
    ASSERT_EQ(atb_run_result(run, slow)->term_signal, SIGTERM);
    ASSERT_EQ(atb_run_result(run, slow)->killed, 0);
    ASSERT_EQ(r.ev[at(&r, ATB_EVENT_CANCELLED, slow)].signo, SIGTERM);
    ASSERT(at(&r, ATB_EVENT_CANCELLED, slow) > at(&r, ATB_EVENT_ENDED, bad));
    for (int id = q1; id <= q2; id++) {
        ASSERT_EQ(atb_run_result(run, id)->state, ATB_STATE_NOT_STARTED);
        ASSERT_EQ(at(&r, ATB_EVENT_STARTED, id), -1);
        ASSERT_EQ(atb_run_result(run, id)->pid, 0);
    }
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_FAILED);
    ASSERT_EQ(atb_run_first_failure(run, 0), bad);
    c = atb_run_counts(run);
    ASSERT_EQ(c->done, 4);
    ASSERT_EQ(c->failed, 1);
    ASSERT_EQ(c->cancelling, 1);
    atb_run_free(run);
    ev_loop_destroy(loop);
}

/* race: the first to end wins, failing or not, and the others are
 * cancelled; the run's outcome is the winner's. */
TEST(race_first_to_end_wins)
{
    struct rec r;
    struct atb_run *run = new_run(&r, ATB_MODE_RACE);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    int s1, fast, s2;

    ASSERT(loop != NULL);
    s1 = add_sh(run, "s1", "exec sleep 100");
    fast = add_sh(run, "fast", "exit 3");
    s2 = add_sh(run, "s2", "exec sleep 100");
    go(run, &r, loop);
    CHECK_LIFECYCLE(&r, run);
    ASSERT_EQ(atb_run_winner(run), fast);
    ASSERT_EQ(atb_run_result(run, s1)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_result(run, s2)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_FAILED);
    atb_run_free(run);
    ev_loop_destroy(loop);
}

/* With first_success only a success wins: the failure that ends first
 * does not; "ok" is let go only once that failure has ended. */
static void release_on_fail_end(struct rec *r, struct atb_run *run, const struct atb_event *ev)
{
    (void)run;
    if (ev->kind == ATB_EVENT_ENDED && ev->id == 0)
        release(r);
}

TEST(race_first_success_wins)
{
    struct rec r;
    struct atb_run *run = new_run(&r, ATB_MODE_RACE);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    int fail, ok, slow, in;

    ASSERT(loop != NULL);
    ASSERT_EQ(atb_run_set_first_success(run, 1), 0);
    fail = add_sh(run, "fail", "exit 3");
    ok = add_sh(run, "ok", "read x; exit 0");
    slow = add_sh(run, "slow", "exec sleep 100");
    in = input_pipe(run, &r, "ok");
    r.hook = release_on_fail_end;
    go(run, &r, loop);
    close(in);
    CHECK_LIFECYCLE(&r, run);
    ASSERT_EQ(fail, 0);
    ASSERT_EQ(atb_run_winner(run), ok);
    ASSERT_EQ(atb_run_result(run, fail)->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, ok)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(atb_run_result(run, slow)->state, ATB_STATE_CANCELLED);
    ASSERT(at(&r, ATB_EVENT_CANCELLED, slow) > at(&r, ATB_EVENT_ENDED, ok));
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_SUCCEEDED);
    atb_run_free(run);
    ev_loop_destroy(loop);
}

/* pool: a command that cannot start is a failure like any other: the queue
 * stops there (later commands never start), whether they would have
 * started in the same pass (no -j) or one at a time (-j 1). */
TEST(start_failure_stops_the_queue)
{
    char *missing[] = {"atb-no-such-program", NULL};

    for (unsigned jobs = 0; jobs <= 1; jobs++) {
        struct rec r;
        struct atb_run *run = new_run(&r, ATB_MODE_POOL);
        struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
        int first, gone, c, d;

        ASSERT(loop != NULL);
        ASSERT_EQ(atb_run_set_jobs(run, jobs), 0);
        /* Without -j the first one still runs when the failure comes. */
        first = add_sh(run, "first", jobs ? "exit 0" : "exec sleep 100");
        gone = add_cmd(run, CMD_ARGV("gone", missing));
        c = add_sh(run, "c", "exit 0");
        d = add_sh(run, "d", "exit 0");
        go(run, &r, loop);
        CHECK_LIFECYCLE(&r, run);
        ASSERT_EQ(atb_run_result(run, first)->state,
                  jobs ? ATB_STATE_SUCCEEDED : ATB_STATE_CANCELLED);
        ASSERT_EQ(atb_run_result(run, gone)->state, ATB_STATE_FAILED);
        ASSERT_EQ(atb_run_result(run, gone)->start_error, -ENOENT);
        ASSERT_EQ(atb_run_result(run, gone)->pid, 0);
        for (int id = c; id <= d; id++) {
            ASSERT_EQ(atb_run_result(run, id)->state, ATB_STATE_NOT_STARTED);
            ASSERT_EQ(at(&r, ATB_EVENT_STARTED, id), -1);
        }
        ASSERT_EQ(atb_run_first_failure(run, 0), gone);
        ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_FAILED);
        atb_run_free(run);
        ev_loop_destroy(loop);
    }
}

/* ---- cancels from outside --------------------------------------------------- */

/* The first cancel comes once "stubborn" has TERM ignored (its line), the
 * second once "plain" has ended of the first. */
static void cancel_twice(struct rec *r, struct atb_run *run, const struct atb_event *ev)
{
    if (ev->kind == ATB_EVENT_OUTPUT && ev->id == 1 && r->step == 0) {
        ASSERT_EQ(atb_run_cancel(run, 99), -EINVAL);
        ASSERT_EQ(atb_run_cancel(run, 0), 0);
        r->step = 1;
    } else if (ev->kind == ATB_EVENT_ENDED && ev->id == 0 && r->step == 1) {
        ASSERT_EQ(atb_run_counts(run)->cancelling, 1);
        ASSERT_EQ(atb_run_result(run, 1)->killed, 0);
        ASSERT_EQ(atb_run_cancel(run, SIGINT), 0);
        r->step = 2;
    }
}

/* atb_run_cancel(): the run is interrupted with the run's cancel signal,
 * queued commands never start, running ones get the signal; a second call
 * kills what is left at once, a command that ignores TERM included; the
 * cleanup still runs after. */
TEST(cancel_then_cancel_again_kills_at_once)
{
    struct rec r;
    struct atb_run *run = new_run(&r, ATB_MODE_POOL);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct atb_cmd cl = CMD_SH("cl", "echo cleaned");
    const struct atb_result *plain, *stubborn;
    int q, c;

    ASSERT(loop != NULL);
    ASSERT_EQ(atb_run_set_jobs(run, 2), 0);
    cl.cleanup = 1;
    add_sh(run, "plain", "exec sleep 100");
    add_sh(run, "stubborn", "trap '' TERM; echo ready; exec sleep 100");
    q = add_sh(run, "queued", "exit 0");
    c = add_cmd(run, cl);
    ASSERT_EQ(atb_run_cancel(run, 0), ATB_ESTATE); /* not started yet */
    r.hook = cancel_twice;
    go(run, &r, loop);
    CHECK_LIFECYCLE(&r, run);
    ASSERT_EQ(r.step, 2);
    plain = atb_run_result(run, 0);
    stubborn = atb_run_result(run, 1);
    ASSERT_EQ(plain->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(plain->term_signal, SIGTERM);
    ASSERT_EQ(plain->killed, 0);
    ASSERT_EQ(stubborn->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(stubborn->sent_signal, SIGTERM);
    ASSERT_EQ(stubborn->term_signal, SIGKILL);
    ASSERT_EQ(stubborn->killed, 1);
    ASSERT_EQ(atb_run_result(run, q)->state, ATB_STATE_NOT_STARTED);
    ASSERT_EQ(at(&r, ATB_EVENT_STARTED, q), -1);
    ASSERT_EQ(atb_run_result(run, c)->state, ATB_STATE_SUCCEEDED);
    ASSERT(at(&r, ATB_EVENT_STARTED, c) > at(&r, ATB_EVENT_FINISHED, 1));
    ASSERT_STR_EQ(r.ev[at(&r, ATB_EVENT_OUTPUT, c)].line, "cleaned");
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_INTERRUPTED);
    ASSERT_EQ(atb_run_signal(run), SIGTERM);
    ASSERT_EQ(atb_run_killed_at_once(run), SIGINT);
    ASSERT_EQ(atb_run_cancel(run, 0), ATB_ESTATE); /* over */
    atb_run_free(run);
    ev_loop_destroy(loop);
}

/* Cancels once both commands have started; "work" ending lets the
 * shielded one go (its stdin closes). */
static void cancel_when_both_started(struct rec *r, struct atb_run *run,
                                     const struct atb_event *ev)
{
    if (ev->kind == ATB_EVENT_STARTED && count(r, ATB_EVENT_STARTED, 0) +
                                                 count(r, ATB_EVENT_STARTED, 1) == 2 &&
        r->step == 0) {
        r->t_mark = mono_now();
        ASSERT_EQ(atb_run_cancel(run, 0), 0);
        r->step = 1;
    }
    if (ev->kind == ATB_EVENT_ENDED && ev->id == 0)
        release(r);
}

/* A shielded command is not cancelled by a cancel from outside: it ends on
 * its own, and the run is interrupted all the same. */
TEST(shield_outlives_the_first_cancel)
{
    struct rec r;
    struct atb_run *run = new_run(&r, ATB_MODE_POOL);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct atb_cmd s = CMD_SH("shielded", "read x; echo finished");
    int in;

    ASSERT(loop != NULL);
    s.shield = 1;
    add_sh(run, "work", "exec sleep 100");
    add_cmd(run, s);
    in = input_pipe(run, &r, "shielded");
    r.hook = cancel_when_both_started;
    go(run, &r, loop);
    close(in);
    CHECK_LIFECYCLE(&r, run);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_result(run, 1)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(atb_run_result(run, 1)->sent_signal, 0);
    ASSERT_EQ(atb_run_result(run, 1)->shield, 1);
    ASSERT_EQ(count(&r, ATB_EVENT_CANCELLED, 1), 0);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_INTERRUPTED);
    atb_run_free(run);
    ev_loop_destroy(loop);
}

/* With atb_run_set_shield_wait() the shielded command is cancelled once the
 * wait is over, as a second cancel would, and not before. The lower bound
 * is half the wait: libev's clock may lag a little behind ours. */
TEST(shield_wait_cancels_after_the_wait)
{
    struct rec r;
    struct atb_run *run = new_run(&r, ATB_MODE_POOL);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct atb_cmd s = CMD_SH("shielded", "exec sleep 100");
    const double wait_s = 1.0;
    int wc, sc;

    ASSERT(loop != NULL);
    s.shield = 1;
    ASSERT_EQ(atb_run_set_shield_wait(run, wait_s), 0);
    add_sh(run, "work", "exec sleep 100");
    add_cmd(run, s);
    r.hook = cancel_when_both_started;
    go(run, &r, loop);
    CHECK_LIFECYCLE(&r, run);
    wc = at(&r, ATB_EVENT_CANCELLED, 0);
    sc = at(&r, ATB_EVENT_CANCELLED, 1);
    ASSERT(wc >= 0 && sc > wc);
    ASSERT(r.ev[sc].t - r.t_mark >= wait_s / 2);
    ASSERT_EQ(r.ev[sc].signo, SIGTERM);
    ASSERT_EQ(atb_run_result(run, 1)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_result(run, 1)->term_signal, SIGTERM);
    ASSERT_EQ(atb_run_result(run, 1)->killed, 0);
    ASSERT_EQ(atb_run_killed_at_once(run), 0);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_INTERRUPTED);
    atb_run_free(run);
    ev_loop_destroy(loop);
}

/* ---- commands added on the way ---------------------------------------------- */

/* Adds "late1" when the first command starts (and checks what may not be
 * added while the run goes on), and "late2" when everything known so far
 * has finished, the moment the run would otherwise end. */
static void add_on_the_way(struct rec *r, struct atb_run *run, const struct atb_event *ev)
{
    if (ev->kind == ATB_EVENT_STARTED && ev->id == 0 && r->step == 0) {
        struct atb_cmd late = CMD_SH("late1", "echo late1");
        struct atb_cmd cl = CMD_SH("cl", "exit 0");
        struct atb_cmd waits = CMD_SH("waits", "exit 0");
        struct atb_cmd dup = CMD_SH("first", "exit 0");
        char *w[] = {"first", NULL};

        cl.cleanup = 1;
        waits.wait_for = w;
        ASSERT_EQ(atb_run_add(run, &cl), ATB_ESTATE);
        ASSERT_EQ(atb_run_add(run, &waits), -EINVAL);
        ASSERT_EQ(atb_run_add(run, &dup), ATB_EDUPNAME);
        ASSERT_EQ(atb_run_add(run, &late), 1);
        ASSERT_EQ(atb_run_count(run), 2);
        ASSERT_EQ(atb_run_counts(run)->total, 2);
        r->step = 1;
    } else if (ev->kind == ATB_EVENT_FINISHED && r->step == 1 &&
               count(r, ATB_EVENT_FINISHED, 0) + count(r, ATB_EVENT_FINISHED, 1) == 2) {
        struct atb_cmd late = CMD_SH("late2", "exit 0");

        ASSERT_EQ(atb_run_add(run, &late), 2);
        r->step = 2;
    }
}

TEST(add_from_an_event_callback)
{
    struct rec r;
    struct atb_run *run = new_run(&r, ATB_MODE_POOL);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct atb_cmd late = CMD_SH("after", "exit 0");

    ASSERT(loop != NULL);
    add_sh(run, "first", "exit 0");
    r.hook = add_on_the_way;
    go(run, &r, loop);
    CHECK_LIFECYCLE(&r, run);
    ASSERT_EQ(r.step, 2);
    ASSERT_EQ(atb_run_count(run), 3);
    ASSERT_EQ(atb_run_find(run, "late1"), 1);
    ASSERT_EQ(atb_run_find(run, "late2"), 2);
    ASSERT_STR_EQ(atb_run_result(run, 1)->name, "late1");
    ASSERT_EQ(atb_run_result(run, 1)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(atb_run_result(run, 2)->state, ATB_STATE_SUCCEEDED);
    ASSERT_STR_EQ(r.ev[at(&r, ATB_EVENT_OUTPUT, 1)].line, "late1");
    ASSERT(at(&r, ATB_EVENT_STARTED, 2) > at(&r, ATB_EVENT_FINISHED, 0));
    ASSERT_EQ(atb_run_counts(run)->total, 3);
    ASSERT_EQ(atb_run_counts(run)->done, 3);
    ASSERT_EQ(atb_run_add(run, &late), ATB_ESTATE); /* over */
    atb_run_free(run);
    ev_loop_destroy(loop);
}

/* ---- the end of a run ------------------------------------------------------ */

/* The done callback may free the run: nothing touches it afterwards (the
 * sanitizer build would see it), and nothing of it is left on the loop.
 * On a private loop and on the default one. */
static void free_in_done(int default_loop)
{
    struct rec r;
    struct atb_run *run = new_run(&r, ATB_MODE_POOL);
    struct ev_loop *loop = default_loop ? ev_default_loop(0) : ev_loop_new(EVFLAG_AUTO);
    struct atb_cmd svc = CMD_SH("svc", "echo up; exec sleep 100");

    ASSERT(loop != NULL);
    svc.service = 1;
    ASSERT_EQ(atb_run_set_tick(run, 0.05), 0);
    ASSERT_EQ(atb_run_set_timeout(run, 3 * WAIT_S), 0);
    add_cmd(run, svc);
    add_sh(run, "a", "echo a; echo b >&2");
    add_sh(run, "b", "sleep 0.01 & wait");
    r.free_on_done = 1;
    ASSERT_EQ(atb_run_start(run, loop, on_done, &r), 0);
    run = NULL;
    RUN_UNTIL(loop, r.done > 0);
    ASSERT_EQ(r.done, 1);
    ASSERT(r.n > 0);
    ASSERT_LOOP_EMPTY(loop);
    ev_loop_destroy(loop);
}

TEST(free_from_done_private_loop)
{
    free_in_done(0);
}

TEST(free_from_done_default_loop)
{
    free_in_done(1);
}

/* Two runs on one loop finish independently: B's failure cancels B's own
 * commands and nothing of A; A ends only after B's done callback lets it. */
static void two_runs(int default_loop)
{
    struct rec ra, rb;
    struct atb_run *a = new_run(&ra, ATB_MODE_POOL);
    struct atb_run *b = new_run(&rb, ATB_MODE_POOL);
    struct ev_loop *loop = default_loop ? ev_default_loop(0) : ev_loop_new(EVFLAG_AUTO);
    int in;

    ASSERT(loop != NULL);
    add_sh(a, "wait", "read x; exit 0");
    add_sh(a, "other", "exit 0");
    in = input_pipe(a, &ra, "wait");
    rb.done_fd = ra.fd; /* B's end closes A's stdin */
    ra.fd = -1;
    add_sh(b, "slow", "exec sleep 100");
    add_sh(b, "bad", "exit 1");
    ASSERT_EQ(atb_run_start(a, loop, on_done, &ra), 0);
    ASSERT_EQ(atb_run_start(b, loop, on_done, &rb), 0);
    RUN_UNTIL(loop, ra.done && rb.done);
    close(in);
    CHECK_LIFECYCLE(&ra, a);
    CHECK_LIFECYCLE(&rb, b);
    ASSERT_EQ(rb.done_order, 1);
    ASSERT_EQ(ra.done_order, 2);
    ASSERT_EQ(atb_run_outcome(b), ATB_OUTCOME_FAILED);
    ASSERT_EQ(atb_run_result(b, 0)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_outcome(a), ATB_OUTCOME_SUCCEEDED);
    ASSERT_EQ(atb_run_result(a, 0)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(atb_run_result(a, 1)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(count(&ra, ATB_EVENT_CANCELLED, 0), 0);
    /* Each run saw its own commands only. */
    for (int i = 0; i < ra.n; i++)
        ASSERT(ra.ev[i].id < 2);
    atb_run_free(a);
    atb_run_free(b);
    ASSERT_LOOP_EMPTY(loop);
    ev_loop_destroy(loop);
}

TEST(two_runs_on_one_private_loop)
{
    two_runs(0);
}

TEST(two_runs_on_the_default_loop)
{
    two_runs(1);
}

/* ---- ticks and counts ------------------------------------------------------- */

static void release_on_third_tick(struct rec *r, struct atb_run *run, const struct atb_event *ev)
{
    (void)run;
    if (ev->kind == ATB_EVENT_TICK && count(r, ATB_EVENT_TICK, -1) == 3)
        release(r);
}

/* ATB_EVENT_TICK comes every interval while the run goes on, with no
 * command; the tick timer goes with the run. */
TEST(ticks_while_the_run_goes_on)
{
    struct rec r;
    struct atb_run *run = new_run(&r, ATB_MODE_POOL);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    int in, ticks;

    ASSERT(loop != NULL);
    ASSERT_EQ(atb_run_set_tick(run, -1), -EINVAL);
    ASSERT_EQ(atb_run_set_tick(run, 0.02), 0);
    add_sh(run, "a", "read x; exit 0");
    in = input_pipe(run, &r, "a");
    r.hook = release_on_third_tick;
    go(run, &r, loop);
    close(in);
    CHECK_LIFECYCLE(&r, run);
    ticks = count(&r, ATB_EVENT_TICK, -1);
    ASSERT(ticks >= 3);
    for (int i = 0; i < r.n; i++)
        if (r.ev[i].kind == ATB_EVENT_TICK)
            ASSERT(i < at(&r, ATB_EVENT_FINISHED, 0));
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_SUCCEEDED);
    ASSERT_EQ(atb_run_set_tick(run, 1), ATB_ESTATE);
    ASSERT_LOOP_EMPTY(loop);
    ASSERT_EQ(count(&r, ATB_EVENT_TICK, -1), ticks);
    atb_run_free(run);
    ev_loop_destroy(loop);
}

static void release_first(struct rec *r, struct atb_run *run, const struct atb_event *ev)
{
    (void)run;
    if (ev->kind == ATB_EVENT_STARTED && ev->id == 0)
        release(r);
}

/* atb_run_counts() while the run goes on (taken at each STARTED, -j 1,
 * wait-all) and after it: queued, waiting (for a dependency), running,
 * done, failed, total. */
TEST(counts_during_and_after)
{
    struct rec r;
    struct atb_run *run = new_run(&r, ATB_MODE_WAIT_ALL);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct atb_cmd d = CMD_SH("d", "exit 0");
    char *w[] = {"a", NULL};
    const struct atb_counts *c;
    int in;

    ASSERT(loop != NULL);
    ASSERT_EQ(atb_run_set_jobs(run, 1), 0);
    d.wait_for = w;
    add_sh(run, "a", "read x; exit 0");
    add_sh(run, "b", "exit 0");
    add_sh(run, "c", "exit 5");
    add_cmd(run, d);
    in = input_pipe(run, &r, "a");
    r.hook = release_first;
    go(run, &r, loop);
    close(in);
    CHECK_LIFECYCLE(&r, run);
    /* a, b, c, d in that order; d once a was ready (it exited 0) */
    for (int id = 1; id < 4; id++)
        ASSERT(at(&r, ATB_EVENT_STARTED, id) > at(&r, ATB_EVENT_FINISHED, id - 1));
    ASSERT(at(&r, ATB_EVENT_READY, 0) >= 0);
    ASSERT(at(&r, ATB_EVENT_READY, 0) < at(&r, ATB_EVENT_STARTED, 3));
    c = &r.snap[0];
    ASSERT_EQ(c->running, 1);
    ASSERT_EQ(c->queued, 2);
    ASSERT_EQ(c->waiting, 1);
    ASSERT_EQ(c->done, 0);
    ASSERT_EQ(c->total, 4);
    c = &r.snap[1];
    ASSERT_EQ(c->running, 1);
    ASSERT_EQ(c->queued, 1);
    ASSERT_EQ(c->waiting, 1);
    ASSERT_EQ(c->done, 1);
    c = &r.snap[2];
    ASSERT_EQ(c->queued, 0);
    ASSERT_EQ(c->waiting, 1);
    ASSERT_EQ(c->done, 2);
    ASSERT_EQ(c->failed, 0);
    c = &r.snap[3];
    ASSERT_EQ(c->running, 1);
    ASSERT_EQ(c->waiting, 0);
    ASSERT_EQ(c->done, 3);
    ASSERT_EQ(c->failed, 1);
    ASSERT_EQ(c->cancelling, 0);
    c = atb_run_counts(run);
    ASSERT_EQ(c->queued, 0);
    ASSERT_EQ(c->waiting, 0);
    ASSERT_EQ(c->running, 0);
    ASSERT_EQ(c->done, 4);
    ASSERT_EQ(c->failed, 1);
    ASSERT_EQ(c->total, 4);
    ASSERT_EQ(c->cancelling, 0);
    ASSERT_EQ(atb_run_result(run, 3)->state, ATB_STATE_SUCCEEDED);
    atb_run_free(run);
    ev_loop_destroy(loop);
}
