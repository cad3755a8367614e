/* sched: the scheduler of a run. It decides what starts, applies the
 * policy's and the caller's cancels, and sees the run to its end.
 *
 * Everything that can change what is due (a leader's end, a group gone, a
 * line that makes a command ready, a timer, a caller's request) first
 * changes one command's state and then calls atb__sched_settle() once, at
 * the end of its watcher callback. settle() is the only place that starts
 * commands, cancels the run and ends it; it loops until nothing more is
 * due, since a start can fail and cancel the run, and a caller's callback
 * can ask for more. Nothing it calls re-enters it: policy returns verdicts,
 * the launcher's operations report nothing from inside, and callers'
 * callbacks can only ask.
 */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAIN_KINDS (ATB__KIND_BIT(ATB__WORK) | ATB__KIND_BIT(ATB__SERVICE))
/* Starts in one settle before the loop gets a turn: thousands of commands
 * without -j must not keep ends, timers and signals waiting (a race's
 * winner, the deadline, a Ctrl-C), so the start loop yields after this
 * many spawns or this long, whichever comes first, and goes on from the
 * loop's idle turn, which comes only once every pending event is handled. */
#define START_BATCH 64
#define START_BATCH_S 0.004
#define SLOT_KINDS (ATB__KIND_BIT(ATB__WORK) | ATB__KIND_BIT(ATB__CLEANUP))

static size_t slots_used(const struct atb_run *run)
{
    return atb__tally_sum(&run->tally, SLOT_KINDS, ATB__RUNNING, ATB__GROUP_DONE);
}

static int slot_free(const struct atb_run *run)
{
    return run->set.jobs == 0 || slots_used(run) < run->set.jobs;
}

/* A command that will never start: the run was cancelled before its turn,
 * or what it waits for is down for good (why). */
static void not_started(struct atb_run *run, struct atb__cmd *cmd, const char *why)
{
    cmd->res.state = ATB_STATE_NOT_STARTED;
    if (why != NULL) {
        atb__cmd_error(cmd, why);
    }
    atb__cmd_phase(cmd, ATB__FINISHED);
    atb__emit(run, ATB_EVENT_ENDED, cmd->res.id);
    atb__emit(run, ATB_EVENT_FINISHED, cmd->res.id);
}

/* dep is down and will not come up: the commands waiting for it never
 * start, nor those waiting for them. A worklist, not recursion: chains of
 * waits can be as long as the run. */
static void abandon(struct atb_run *run, struct atb__cmd *first)
{
    struct atb__cmd **list = malloc(sizeof(*list) * (run->nmain + 1));
    size_t n = 0;
    char why[96];

    if (list == NULL)
        return; /* they wait on, until the run is cancelled or ends */
    list[n++] = first;
    while (n > 0) {
        struct atb__cmd *dep = list[--n];

        for (size_t i = 0; i < run->nmain && run->tally.n[ATB__WORK][ATB__WAITING] +
                                                     run->tally.n[ATB__SERVICE][ATB__WAITING] >
                                                 0;
             i++) {
            struct atb__cmd *cmd = run->cmds[i];

            if (cmd->phase != ATB__WAITING || !atb__deps_needs(cmd, dep))
                continue;
            snprintf(why, sizeof(why), "dependency %s %s", dep->name,
                     dep->res.state == ATB_STATE_SUCCEEDED ? "ended" : "failed");
            not_started(run, cmd, why);
            list[n++] = cmd;
        }
    }
    free(list);
}

void atb__sched_ended(struct atb_run *run, struct atb__cmd *cmd)
{
    int fails, wins, decided = run->winner != NULL || run->stopping;

    atb__emit(run, ATB_EVENT_ENDED, cmd->res.id);
    if (cmd->proc.started)
        atb__deps_ended(cmd);
    if (!atb__deps_up(cmd) &&
        atb__tally_sum(&run->tally, MAIN_KINDS, ATB__WAITING, ATB__WAITING) > 0)
        abandon(run, cmd);
    if (cmd->kind == ATB__CLEANUP) {
        /* Cleanup failures join the report; they cancel nothing. */
        if ((cmd->res.state == ATB_STATE_FAILED || cmd->res.state == ATB_STATE_TIMED_OUT) &&
            run->first_cleanup_failure == NULL)
            run->first_cleanup_failure = cmd;
        return;
    }
    switch (atb__policy_on_end(run->set.mode, run->set.first_success, run->set.halt_soon,
                               decided, &cmd->res, &fails, &wins)) {
    case ATB__CANCEL_ALL:
        run->cancel_due = run->set.cancel_signal;
        break;
    case ATB__DRAIN:
        run->drain_due = 1;
        break;
    case ATB__CARRY_ON:
        break;
    }
    if (fails && run->first_failure == NULL)
        run->first_failure = cmd;
    if (wins)
        run->winner = cmd;
}

void atb__sched_cancel_cmd(struct atb__cmd *cmd, int signo)
{
    struct atb_run *run = cmd->run;
    struct atb__launcher *l = run->launcher;

    if (cmd->phase != ATB__RUNNING || cmd->proc.signalled)
        return;
    /* A failure that came first stays the command's own. */
    if (l->ops->exited(l, &cmd->proc))
        return;
    /* Signalled once its dependents have ended (ends.c, release); should
     * it end on its own before, that end is its own. */
    if (atb__deps_hold(cmd, signo))
        return;
    cmd->cancelled = 1;
    l->ops->stop(l, &cmd->proc, signo);
    cmd->res.sent_signal = signo;
    {
        struct atb_event ev = {.kind = ATB_EVENT_CANCELLED, .id = cmd->res.id, .signo = signo};
        atb__emit_event(run, &ev);
    }
}

/* Cancels the run: queued commands never start, running ones get signo
 * once (then SIGKILL after the grace); shielded and cleanup ones go on. */
/* Nothing more starts: what waits is not started, and no more is fed. */
static void stop_starting(struct atb_run *run)
{
    run->stopping = 1;
    atb__feed_stop(run);
    for (size_t i = 0; i < run->nmain; i++)
        if (run->cmds[i]->phase <= ATB__WAITING)
            not_started(run, run->cmds[i], NULL);
        else if (run->cmds[i]->phase == ATB__DELAYED)
            atb__retry_give_up(run->cmds[i]);
}

static void cancel_all(struct atb_run *run, int signo)
{
    ev_timer_stop(run->loop, &run->timeout_w);
    stop_starting(run);
    for (size_t i = 0; i < run->nmain; i++)
        if (!run->cmds[i]->res.shield)
            atb__sched_cancel_cmd(run->cmds[i], signo);
}

/* A later cancel from outside: everything still there is killed now;
 * shielded work is cancelled now, as a first cancel does elsewhere. */
static void kill_now(struct atb_run *run, int signo, int cause)
{
    struct atb__launcher *l = run->launcher;

    run->killed_at_once = cause;
    for (size_t i = 0; i < run->n; i++) {
        struct atb__cmd *cmd = run->cmds[i];
        int was_killed = cmd->proc.killed;

        if (cmd->phase < ATB__RUNNING || cmd->phase > ATB__LEADER_DONE)
            continue;
        if (cmd->res.shield && !cmd->proc.signalled && !cmd->cancelled) {
            atb__sched_cancel_cmd(cmd, signo);
            continue;
        }
        if (cmd->phase == ATB__RUNNING && !cmd->proc.signalled)
            cmd->cancelled = 1;
        l->ops->kill(l, &cmd->proc);
        if (cmd->proc.killed && !was_killed)
            atb__emit(run, ATB_EVENT_KILLED, cmd->res.id);
    }
}

/* The wait granted to shielded work after a cancel from outside is over. */
static void shield_wait_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb_run *run = w->data;

    (void)loop;
    (void)revents;
    atb__enter(run);
    for (size_t i = 0; i < run->nmain; i++)
        if (run->cmds[i]->res.shield)
            atb__sched_cancel_cmd(run->cmds[i], run->ask_first);
    atb__leave(run);
}

/* The cancels callers asked for: the first interrupts the run, any later
 * one kills what is left at once. */
static void take_cancels(struct atb_run *run)
{
    if (run->acted == run->asked)
        return;
    if (run->acted == 0) {
        run->acted = 1;
        run->interrupted = run->cause_first;
        run->launcher->linger_signo = run->ask_first;
        if (run->set.shield_wait_s > 0) {
            ev_timer_init(&run->shield_w, shield_wait_cb, run->set.shield_wait_s, 0);
            run->shield_w.data = run;
            ev_timer_start(run->loop, &run->shield_w);
        }
        cancel_all(run, run->ask_first);
    }
    if (run->acted < run->asked) {
        run->acted = run->asked;
        kill_now(run, run->ask_last, run->cause_last);
    }
}

/* Commands added while the run goes on take their place before the
 * cleanup ones; once the run stops they never start. */
static void take_incoming(struct atb_run *run)
{
    for (size_t k = 0; k < run->nin; k++) {
        struct atb__cmd *cmd = run->incoming[k];

        memmove(run->cmds + run->nmain + 1, run->cmds + run->nmain,
                (run->n - run->nmain) * sizeof(*run->cmds));
        run->cmds[run->nmain++] = cmd;
        run->n++;
        atb__cmd_phase(cmd, ATB__QUEUED);
        if (run->stopping)
            not_started(run, cmd, NULL);
    }
    run->nin = 0;
}

/* Whether this settle has started enough: then the rest waits for the
 * loop's next idle turn (see START_BATCH). */
static int batch_spent(struct atb_run *run)
{
    if (run->batch == 0)
        run->batch_t0 = atb__now();
    else if (run->batch >= START_BATCH ||
             (run->batch % 8 == 0 && atb__now() - run->batch_t0 > START_BATCH_S))
        return run->yielded = 1;
    run->batch++;
    return 0;
}

/* Main commands in order, up to -j (services take no slot). */
static void start_main(struct atb_run *run)
{
    while (!run->stopping && !run->cancel_due && run->next < run->nmain) {
        struct atb__cmd *cmd = run->cmds[run->next];

        if (cmd->phase != ATB__QUEUED) {
            run->next++;
            continue;
        }
        if ((cmd->kind != ATB__SERVICE && !slot_free(run)) || batch_spent(run))
            break;
        if (atb__start_cmd(run, cmd) == ATB__START_LATER)
            break;
        run->next++;
    }
}

/* Commands whose dependencies are all up, in order, while slots last. */
static void start_waiting(struct atb_run *run)
{
    for (size_t i = 0; i < run->nmain && !run->stopping && !run->cancel_due; i++) {
        struct atb__cmd *cmd = run->cmds[i];

        if (atb__tally_sum(&run->tally, MAIN_KINDS, ATB__WAITING, ATB__WAITING) == 0)
            return;
        if (cmd->phase != ATB__WAITING || !atb__deps_met(cmd))
            continue;
        if (cmd->kind != ATB__SERVICE && !slot_free(run))
            continue;
        if (batch_spent(run) || atb__start_cmd(run, cmd) == ATB__START_LATER)
            return;
    }
}

/* Once every main command has finished (and no more can come), the cleanup
 * commands run one after another, whatever happened before; the deadline
 * was the main commands'. */
static void start_cleanup(struct atb_run *run)
{
    if (run->feed.active || run->nin > 0 || run->nmain == run->n ||
        atb__tally_sum(&run->tally, ATB__ALL_KINDS, ATB__QUEUED, ATB__GROUP_DONE) == 0)
        return;
    if (atb__tally_sum(&run->tally, MAIN_KINDS, ATB__QUEUED, ATB__GROUP_DONE) > 0 ||
        atb__tally_sum(&run->tally, ATB__KIND_BIT(ATB__CLEANUP), ATB__DELAYED,
                       ATB__GROUP_DONE) > 0)
        return;
    if (!run->cleanup_phase) {
        run->cleanup_phase = 1;
        ev_timer_stop(run->loop, &run->timeout_w);
    }
    for (size_t i = run->nmain; i < run->n; i++) {
        if (run->cmds[i]->phase != ATB__QUEUED)
            continue;
        /* One that could not start at all is over; the next one goes. */
        if (atb__start_cmd(run, run->cmds[i]) != ATB__START_FAILED)
            return;
    }
}

/* Services run alongside the work; once no work is left (and no more can
 * come, nor be tried again), they are cancelled, which is their normal
 * end. */
static void services_check(struct atb_run *run)
{
    if (run->services_done || run->feed.active || run->nin > 0 || run->retrying > 0 ||
        atb__tally_sum(&run->tally, ATB__KIND_BIT(ATB__WORK), ATB__QUEUED, ATB__RUNNING) > 0)
        return;
    run->services_done = 1;
    for (size_t i = 0; i < run->nmain; i++) {
        struct atb__cmd *cmd = run->cmds[i];

        if (cmd->kind != ATB__SERVICE)
            continue;
        if (cmd->phase <= ATB__WAITING)
            not_started(run, cmd, NULL);
        else
            atb__sched_cancel_cmd(cmd, run->set.cancel_signal);
    }
}

static int is_over(const struct atb_run *run)
{
    return !run->feed.active && run->nin == 0 && run->probes_live == 0 &&
           (run->launcher == NULL || run->launcher->busy == 0) &&
           atb__tally_sum(&run->tally, ATB__ALL_KINDS, ATB__QUEUED, ATB__GROUP_DONE) == 0;
}

/* Services first, and outside -j: the work may need them. One that waits
 * for others starts when they are up, like any command. */
static void begin(struct atb_run *run)
{
    run->begun = 1;
    for (size_t i = 0; i < run->nmain && !run->cancel_due; i++)
        if (run->cmds[i]->kind == ATB__SERVICE && run->cmds[i]->phase == ATB__QUEUED)
            atb__start_cmd(run, run->cmds[i]);
}

static void end_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    struct atb_run *run = w->data;
    atb_run_done_cb done = run->done;
    void *data = run->done_data;

    (void)loop;
    (void)revents;
    ev_idle_stop(run->loop, w);
    atb__run_teardown(run);
    /* Nothing touches the run after this: the caller may free it. */
    if (done)
        done(run, data);
}

void atb__sched_settle(struct atb_run *run)
{
    if (run->settling || run->stage != ATB__GOING)
        return;
    run->settling = 1;
    run->batch = 0;
    run->yielded = 0;
    if (run->out.shed)
        atb__output_shed(run);
    do {
        take_incoming(run);
        take_cancels(run);
        if (run->cancel_due) {
            int signo = run->cancel_due;
            run->cancel_due = 0;
            cancel_all(run, signo);
        }
        /* halt soon: what runs goes on to its end. */
        if (run->drain_due && !run->stopping)
            stop_starting(run);
        run->drain_due = 0;
        if (!run->begun)
            begin(run);
        start_main(run);
        start_waiting(run);
        start_cleanup(run);
        services_check(run);
        atb__feed_resume(run);
    } while (run->nin > 0 || run->acted < run->asked || run->cancel_due);
    run->settling = 0;
    if (run->yielded)
        ev_idle_start(run->loop, &run->kick_w);
    if (is_over(run)) {
        run->stage = ATB__ENDING;
        ev_idle_init(&run->end_w, end_cb);
        run->end_w.data = run;
        ev_idle_start(run->loop, &run->end_w);
    }
}

/* The run's deadline: cancelled, and it timed out. */
static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb_run *run = w->data;

    (void)loop;
    (void)revents;
    atb__enter(run);
    run->timed_out = 1;
    run->cancel_due = run->set.cancel_signal;
    atb__leave(run);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb_run *run = w->data;

    (void)loop;
    (void)revents;
    atb__enter(run);
    atb__emit(run, ATB_EVENT_TICK, -1);
    atb__leave(run);
}

void atb__sched_begin(struct atb_run *run)
{
    run->t0 = atb__now();
    ev_timer_init(&run->timeout_w, timeout_cb, run->set.timeout_s, 0);
    run->timeout_w.data = run;
    if (run->set.timeout_s > 0)
        ev_timer_start(run->loop, &run->timeout_w);
    ev_timer_init(&run->tick_w, tick_cb, run->set.tick_s, run->set.tick_s);
    run->tick_w.data = run;
    if (run->set.tick_s > 0)
        ev_timer_start(run->loop, &run->tick_w);
}

void atb__sched_end_watchers(struct atb_run *run)
{
    ev_timer_stop(run->loop, &run->timeout_w);
    ev_timer_stop(run->loop, &run->shield_w);
    ev_timer_stop(run->loop, &run->tick_w);
    ev_idle_stop(run->loop, &run->kick_w);
    ev_idle_stop(run->loop, &run->end_w);
    atb__feed_stop(run);
}
