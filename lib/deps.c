/* deps: readiness, the latches commands set when ready, and the reverse
 * order of cancellation, while a run goes on (validate.c resolved who waits
 * for whom before the start).
 *
 * A command is ready when a line of its output matches ready_when, or,
 * without one, when it exits successfully. It is "up" while ready, and for a
 * command that became ready through its output, until it ends (a service
 * going down). A command waiting for others starts once all of them are up.
 * Cancellation goes the other way: a command others wait for is signalled
 * only once every started command that waits for it has ended, so an app
 * stops before the database it uses; each step is still bounded by the
 * grace period, since the dependents get SIGKILL when it runs out.
 */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fills err for rc, met with the latch sets of command id. */
static int latch_error(struct atb_error *err, int rc, int id, const char *sets)
{
    struct atb__buf b;

    memset(err, 0, sizeof(*err));
    err->code = rc;
    err->id = id;
    err->key = "sets";
    err->index = -1;
    atb__buf_init(&b, err->text, sizeof(err->text));
    atb__buf_quote(&b, sets, '\'');
    atb__buf_add(&b, ": %s", atb_strerror(rc));
    return rc;
}

int atb__deps_paths(struct atb_run *run, struct atb_error *err)
{
    int made = 0;

    for (size_t i = 0; i < run->n; i++) {
        struct atb__cmd *cmd = run->cmds[i];
        int rc = 0;

        if (cmd->sets == NULL)
            continue;
        free(cmd->latch_path);
        cmd->latch_path = NULL;
        if (run->latch_dir != NULL && atb_latch_name_check(cmd->sets) == 0) {
            size_t size = strlen(run->latch_dir) + strlen(cmd->sets) + 2;

            /* The scope was only named (latch-scope.c): the run sets
             * latches in it, so it is made now. */
            if (!made && (rc = atb_latch_scope_make(run->latch_dir)) < 0)
                return latch_error(err, rc, cmd->res.id, cmd->sets);
            made = 1;
            cmd->latch_path = malloc(size);
            if (cmd->latch_path == NULL)
                return -ENOMEM;
            snprintf(cmd->latch_path, size, "%s/%s", run->latch_dir, cmd->sets);
            continue;
        }
        rc = atb_latch_path(cmd->sets, &cmd->latch_path, NULL);
        if (rc < 0)
            return latch_error(err, rc, cmd->res.id, cmd->sets);
    }
    return 0;
}

/* Ready, and not gone down since: a command that became ready through its
 * output goes down when it ends, unless it ended successfully (a migration
 * that printed "done" and exited 0 stays done). */
int atb__deps_up(const struct atb__cmd *cmd)
{
    return cmd->ready && !(cmd->ready_by_output && cmd->phase >= ATB__LEADER_DONE &&
                           cmd->res.state != ATB_STATE_SUCCEEDED);
}

int atb__deps_met(const struct atb__cmd *cmd)
{
    for (size_t i = 0; i < cmd->ndeps; i++)
        if (!atb__deps_up(cmd->deps[i]))
            return 0;
    return 1;
}

int atb__deps_needs(const struct atb__cmd *cmd, const struct atb__cmd *dep)
{
    for (size_t i = 0; i < cmd->ndeps; i++)
        if (cmd->deps[i] == dep)
            return 1;
    return 0;
}

/* Not ready in time: it is cancelled, and counts as timed out. */
static void ready_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb__cmd *cmd = ATB__CONTAINER_OF(w, struct atb__cmd, ready_w);
    struct atb_run *run = cmd->run;

    (void)loop;
    (void)revents;
    if (cmd->ready || cmd->phase != ATB__RUNNING)
        return;
    atb__enter(run);
    cmd->timed_out = 1;
    run->launcher->ops->stop(run->launcher, &cmd->proc, run->set.cancel_signal);
    atb__leave(run);
}

/* Adds delta to dependents_live of every command cmd depends on, directly
 * or through others (tests -> migrate -> db: db outlives tests too). Each is
 * counted once per walk, marked with the walk's number. The graph has no
 * cycles (the validator saw to it), and its depth is bounded by the number
 * of commands, so an explicit stack of that size replaces recursion. */
static void count_dependents(struct atb__cmd *cmd, long delta,
                             void (*release)(struct atb__cmd *dep, int signo))
{
    unsigned long walk = ++cmd->run->walks;
    struct atb__cmd *stack[64], **big = NULL, **top;
    size_t cap = ATB__ARRAY_SIZE(stack), n = 0;

    top = stack;
    top[n++] = cmd;
    while (n > 0) {
        struct atb__cmd *c = top[--n];

        for (size_t i = 0; i < c->ndeps; i++) {
            struct atb__cmd *dep = c->deps[i];

            if (dep->walk == walk)
                continue;
            dep->walk = walk;
            dep->dependents_live += (size_t)delta;
            if (delta < 0 && dep->dependents_live == 0 && dep->held_signo != 0 && release)
                release(dep, dep->held_signo);
            if (n == cap) {
                struct atb__cmd **nb = realloc(big, 2 * cap * sizeof(*nb));
                if (nb == NULL)
                    continue; /* no memory: this branch is not counted */
                if (big == NULL)
                    memcpy(nb, stack, sizeof(stack));
                big = top = nb;
                cap *= 2;
            }
            top[n++] = dep;
        }
    }
    free(big);
}

void atb__deps_started(struct atb__cmd *cmd)
{
    struct atb_run *run = cmd->run;

    count_dependents(cmd, 1, NULL);
    if (cmd->ready_timeout_s > 0) {
        ev_timer_init(&cmd->ready_w, ready_cb, cmd->ready_timeout_s, 0);
        ev_timer_start(run->loop, &cmd->ready_w);
    }
}

void atb__deps_ready(struct atb__cmd *cmd, int by_output)
{
    struct atb_run *run = cmd->run;

    if (cmd->ready)
        return;
    cmd->ready = 1;
    cmd->ready_by_output = by_output != 0;
    ev_timer_stop(run->loop, &cmd->ready_w);
    /* A latch that cannot be written: those that wait for it on disk wait
     * on; the run's own dependents go by the command, not the file. */
    if (cmd->latch_path)
        (void)atb_latch_set(cmd->latch_path);
    atb__probe_ready(cmd);
    atb__emit(run, ATB_EVENT_READY, cmd->res.id);
}

int atb__deps_line(struct atb__cmd *cmd, const char *line, size_t len)
{
    char *text;
    int match;

    if (cmd->ready_re == NULL || cmd->ready)
        return 0;
    /* regexec wants a string: copy the line (at most ATB__LINE_MAX, and
     * only until the command is ready). */
    text = malloc(len + 1);
    if (text == NULL)
        return 0;
    memcpy(text, line, len);
    text[len] = '\0';
    match = regexec(cmd->ready_re, text, 0, NULL, 0) == 0;
    free(text);
    if (match)
        atb__deps_ready(cmd, 1);
    return match;
}

/* The leader ended: a success makes it ready (if nothing else did); a
 * command that was up through its output goes down, and its latch with it. */
void atb__deps_ended(struct atb__cmd *cmd)
{
    ev_timer_stop(cmd->run->loop, &cmd->ready_w);
    if (!cmd->ready && cmd->res.state == ATB_STATE_SUCCEEDED)
        atb__deps_ready(cmd, 0);
    if (cmd->ready_by_output && cmd->latch_path)
        (void)atb_latch_unset(cmd->latch_path);
}

void atb__deps_finished(struct atb__cmd *cmd, void (*release)(struct atb__cmd *dep, int signo))
{
    if (cmd->ndeps > 0 && cmd->proc.started)
        count_dependents(cmd, -1, release);
}

int atb__deps_hold(struct atb__cmd *cmd, int signo)
{
    if (cmd->dependents_live == 0)
        return 0;
    cmd->held_signo = signo;
    return 1;
}

void atb__deps_free(struct atb__cmd *cmd)
{
    if (cmd->ready_re) {
        regfree(cmd->ready_re);
        free(cmd->ready_re);
        cmd->ready_re = NULL;
    }
    free(cmd->latch_path);
    free(cmd->deps);
    cmd->latch_path = NULL;
    cmd->deps = NULL;
    cmd->ndeps = 0;
}
