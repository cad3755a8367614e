/* retry: a command's failed attempt, kept, and the command started again.
 *
 * An attempt that failed on its own (atb__retry_wanted() says which) does
 * not end its command: ends.c leaves the scheduler's end out (policy,
 * dependents, a race's winner), so nothing in the run reacts to it, and
 * counts it in run->retrying, so the services it may need stay up. Once
 * the attempt has finished (its group gone and its output read: the next
 * one must not share a pipe with it, nor run beside what is left of it),
 * atb__retry_arm() writes its block, keeps the attempt (its result and
 * its output, in cmd->tries: always res.attempt - 1 of them) and starts
 * the delay, after which the command is queued again at its own place,
 * ahead of the commands added after it. Should the run stop at any point (a failure
 * elsewhere, the deadline, a cancel), the failed attempt's end becomes the
 * command's, as if it had no retries left.
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The longest delay between two attempts: a backoff cannot overflow. */
#define DELAY_MAX_S 86400.0

int atb__retry_max(const struct atb__cmd *cmd)
{
    const struct atb_run *run = cmd->run;

    if (cmd->kind == ATB__SERVICE)
        return 1;
    return 1 + (cmd->retries >= 0 ? cmd->retries : (int)run->set.retries);
}

/* Whether the run still goes on as before: nothing has stopped it, and
 * nothing that will is due at the next settle. */
static int run_going(const struct atb_run *run)
{
    return !run->stopping && !run->timed_out && !run->cancel_due && !run->drain_due &&
           run->acted == run->asked && run->winner == NULL;
}

int atb__retry_wanted(const struct atb__cmd *cmd)
{
    const struct atb_result *res = &cmd->res;

    if (res->attempt >= atb__retry_max(cmd) || !run_going(cmd->run))
        return 0;
    if (res->state != ATB_STATE_FAILED && res->state != ATB_STATE_TIMED_OUT)
        return 0;
    /* Cancelled by the run, or it became ready and others went on from
     * there; a status taken by another reaper may have been a success. */
    return !cmd->cancelled && !cmd->ready && res->start_error == 0 && res->error == NULL;
}

/* The delay before attempt res.attempt (from 2): the first retry waits
 * the delay, each next one backoff times longer. */
static double delay_of(const struct atb__cmd *cmd)
{
    const struct atb__settings *set = &cmd->run->set;
    double d = cmd->retry_delay_s >= 0 ? cmd->retry_delay_s : set->retry_delay_s;
    double b = cmd->retry_backoff > 0 ? cmd->retry_backoff : set->retry_backoff;

    for (int k = 2; k < cmd->res.attempt && b > 1 && d < DELAY_MAX_S; k++)
        d *= b;
    return d < DELAY_MAX_S ? d : DELAY_MAX_S;
}

/* Makes room in cmd->tries for the attempt. Returns 0 or -ENOMEM. */
static int grow(struct atb__cmd *cmd)
{
    struct atb__try *tries = realloc(cmd->tries, (size_t)cmd->res.attempt * sizeof(*tries));

    if (tries == NULL)
        return -ENOMEM;
    cmd->tries = tries;
    return 0;
}

/* Moves the attempt's result and kept output to cmd->tries (grown for
 * it), and makes the result the next attempt's, queued. */
static void keep(struct atb__cmd *cmd)
{
    struct atb_result *res = &cmd->res;
    struct atb__try *tries = cmd->tries;
    size_t k = (size_t)res->attempt - 1;

    tries[k].res = *res;
    /* cmd->error is the command's, rewritten by a later end. */
    if (tries[k].res.error == cmd->error)
        tries[k].res.error = NULL;
    tries[k].kept = cmd->kept;
    tries[k].kept_len = cmd->kept_len;
    cmd->kept = NULL;
    cmd->kept_len = 0;
    res->pid = 0;
    res->exit_code = -1;
    res->term_signal = res->sent_signal = res->killed = 0;
    res->duration_s = 0;
    res->user_s = res->system_s = -1;
    res->max_rss_kib = -1;
    res->state = ATB_STATE_QUEUED;
    res->attempt++;
    cmd->timed_out = cmd->cancelled = cmd->ready_by_output = 0;
}

/* Main commands are started from the run's cursor on: it goes back to
 * cmd's place. Cleanup commands are started by their phase alone. */
static void requeue(struct atb_run *run, struct atb__cmd *cmd)
{
    size_t lo = 0, hi = run->nmain;

    if (cmd->kind == ATB__CLEANUP)
        return;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (run->cmds[mid]->res.id < cmd->res.id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < run->next)
        run->next = lo;
}

/* The last attempt kept is the command's result again. */
static void unkeep(struct atb__cmd *cmd)
{
    struct atb__try *t = &cmd->tries[cmd->res.attempt - 2];

    cmd->res = t->res;
    cmd->kept = t->kept;
    cmd->kept_len = t->kept_len;
}

void atb__retry_give_up(struct atb__cmd *cmd)
{
    struct atb_run *run = cmd->run;

    ev_timer_stop(run->loop, &cmd->limit_w);
    unkeep(cmd);
    atb__cmd_phase(cmd, ATB__FINISHED);
    atb__sched_ended(run, cmd);
    atb__emit(run, ATB_EVENT_FINISHED, cmd->res.id);
}

static void delay_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb__cmd *cmd = ATB__CONTAINER_OF(w, struct atb__cmd, limit_w);
    struct atb_run *run = cmd->run;

    (void)loop;
    (void)revents;
    if (cmd->phase != ATB__DELAYED)
        return;
    atb__enter(run);
    /* What it waits for went down meanwhile (it would wait for ever): the
     * failure is its end. */
    if (!run_going(run) || (cmd->ndeps > 0 && !atb__deps_met(cmd))) {
        atb__retry_give_up(cmd);
    } else {
        atb__cmd_phase(cmd, ATB__QUEUED);
        requeue(run, cmd);
    }
    atb__leave(run);
}

int atb__retry_arm(struct atb__cmd *cmd)
{
    struct atb_run *run = cmd->run;
    struct atb_event ev = {.kind = ATB_EVENT_RETRY, .id = cmd->res.id};

    run->retrying--;
    if (!run_going(run) || grow(cmd) < 0) {
        cmd->retrying = 0; /* its end is the command's now */
        return 0;
    }
    /* Its block now, labelled with the attempt (even with keep_order: the
     * block of its last attempt is the one that keeps its place), from
     * what the attempt left, before that is kept. */
    if (run->out.mode == ATB_OUTPUT_GROUP)
        atb__group_finish(run, cmd);
    keep(cmd);
    cmd->retrying = 0;
    atb__output_free_cmd(cmd);
    /* The counts of dependents go down as they would at its end; they go
     * up again at the next start. A cancel held for them cannot be due:
     * that takes a stopping run, and then no attempt is armed. */
    atb__deps_finished(cmd, NULL);
    atb__cmd_phase(cmd, ATB__DELAYED);
    ev.delay_s = delay_of(cmd);
    ev.count = cmd->res.attempt;
    ev_timer_init(&cmd->limit_w, delay_cb, ev.delay_s, 0);
    ev_timer_start(run->loop, &cmd->limit_w);
    atb__emit_event(run, &ev);
    return 1;
}

void atb__retry_free(struct atb__cmd *cmd)
{
    for (int k = 0; cmd->tries && k < cmd->res.attempt - 1; k++)
        free(cmd->tries[k].kept);
    free(cmd->tries);
    cmd->tries = NULL;
}

const struct atb_result *atb_run_attempt(const struct atb_run *run, int id, int k)
{
    const struct atb__cmd *cmd = atb__cmd_by_id(run, id);

    if (cmd == NULL || k < 0 || k >= cmd->res.attempt - 1 || cmd->tries == NULL)
        return NULL;
    return &cmd->tries[k].res;
}

const char *atb_run_attempt_output(const struct atb_run *run, int id, int k, size_t *len)
{
    const struct atb__cmd *cmd = atb__cmd_by_id(run, id);

    *len = 0;
    if (atb_run_attempt(run, id, k) == NULL || cmd->tries[k].kept == NULL)
        return NULL;
    *len = cmd->tries[k].kept_len;
    return cmd->tries[k].kept;
}
