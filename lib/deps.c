/* deps: readiness, the latches commands set when ready, wait_for, and the
 * reverse order of cancellation.
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
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct atb__cmd *by_name(struct atb_run *run, const char *name)
{
    for (size_t i = 0; i < run->nmain; i++)
        if (strcmp(run->cmds[i]->name, name) == 0)
            return run->cmds[i];
    return NULL;
}

static struct atb__cmd *setter_of(struct atb_run *run, const char *latch)
{
    for (size_t i = 0; i < run->nmain; i++)
        if (run->cmds[i]->sets && strcmp(run->cmds[i]->sets, latch) == 0)
            return run->cmds[i];
    return NULL;
}

/* Depth-first search for a cycle; on finding one, writes it into
 * run->error as "a -> b -> a". color: 0 new, 1 on the path, 2 done. */
static int find_cycle(struct atb_run *run, struct atb__cmd *cmd, unsigned char *color,
                      struct atb__cmd **path, size_t depth)
{
    size_t me = cmd->index;

    color[me] = 1;
    path[depth] = cmd;
    for (size_t i = 0; i < cmd->ndeps; i++) {
        struct atb__cmd *dep = cmd->deps[i];
        if (color[dep->index] == 1) {
            size_t len = 0, start = 0;
            while (path[start] != dep)
                start++;
            len += (size_t)snprintf(run->error, sizeof(run->error), "dependency cycle: ");
            for (size_t k = start; k <= depth && len < sizeof(run->error); k++)
                len += (size_t)snprintf(run->error + len, sizeof(run->error) - len, "%s -> ",
                                        path[k]->name);
            if (len < sizeof(run->error))
                snprintf(run->error + len, sizeof(run->error) - len, "%s", dep->name);
            return ATB_EDEPS;
        }
        if (color[dep->index] == 0) {
            int rc = find_cycle(run, dep, color, path, depth + 1);
            if (rc < 0)
                return rc;
        }
    }
    color[me] = 2;
    return 0;
}

static int latch_path(struct atb_run *run, struct atb__cmd *cmd)
{
    int rc = atb_latch_name_check(cmd->sets);

    if (rc == 0 && run->latch_dir != NULL) {
        size_t size = strlen(run->latch_dir) + strlen(cmd->sets) + 2;
        cmd->latch_path = malloc(size);
        if (cmd->latch_path == NULL)
            return -ENOMEM;
        snprintf(cmd->latch_path, size, "%s/%s", run->latch_dir, cmd->sets);
        return 0;
    }
    if (rc == 0 || strchr(cmd->sets, '/') != NULL)
        rc = atb_latch_path(cmd->sets, &cmd->latch_path, NULL);
    if (rc < 0)
        snprintf(run->error, sizeof(run->error), "%s: sets '%s': %s", cmd->name, cmd->sets,
                 atb_strerror(rc));
    return rc < 0 ? ATB_EDEPS : 0;
}

/* Compiles every ready_when, finds where each latch lives, resolves every
 * wait_for entry to the command that meets it, and refuses cycles. Runs
 * before anything starts; on error run->error says what is wrong. */
int atb__deps_resolve(struct atb_run *run)
{
    unsigned char *color;
    struct atb__cmd **path;
    int rc = 0;

    for (size_t i = 0; i < run->n; i++) {
        struct atb__cmd *cmd = run->cmds[i];

        if (cmd->ready_when) {
            cmd->ready_re = malloc(sizeof(*cmd->ready_re));
            if (cmd->ready_re == NULL)
                return -ENOMEM;
            char why[128];
            if (atb__regex_compile(cmd->ready_re, cmd->ready_when, why, sizeof(why)) < 0) {
                free(cmd->ready_re);
                cmd->ready_re = NULL;
                snprintf(run->error, sizeof(run->error), "%s: ready_when: %s", cmd->name, why);
                return ATB_EREGEX;
            }
        }
        if (cmd->sets) {
            struct atb__cmd *other = setter_of(run, cmd->sets);
            if (other != cmd) {
                snprintf(run->error, sizeof(run->error), "latch '%s' is set by both %s and %s",
                         cmd->sets, other->name, cmd->name);
                return ATB_EDEPS;
            }
            if ((rc = latch_path(run, cmd)) < 0)
                return rc;
        }
    }
    for (size_t i = 0; i < run->n; i++) {
        struct atb__cmd *cmd = run->cmds[i];
        size_t n = 0;

        while (cmd->wait_for && cmd->wait_for[n])
            n++;
        if (n == 0)
            continue;
        cmd->deps = calloc(n, sizeof(*cmd->deps));
        if (cmd->deps == NULL)
            return -ENOMEM;
        for (size_t k = 0; k < n; k++) {
            const char *want = cmd->wait_for[k];
            struct atb__cmd *dep = by_name(run, want);

            if (dep == NULL)
                dep = setter_of(run, want);
            if (dep == NULL) {
                snprintf(run->error, sizeof(run->error),
                         "%s: wait_for '%s': no command has that name or sets that latch",
                         cmd->name, want);
                return ATB_EDEPS;
            }
            /* A service is up only once ready_when matched: without one
             * it would never be, and its dependents would wait forever. */
            if (dep->res.service && dep->ready_when == NULL) {
                snprintf(run->error, sizeof(run->error),
                         "%s: wait_for '%s': service %s has no ready_when, so it is never "
                         "ready",
                         cmd->name, want, dep->name);
                return ATB_EDEPS;
            }
            cmd->deps[cmd->ndeps++] = dep;
        }
        cmd->waiting = 1;
        run->nwaiting++;
    }
    color = calloc(run->seq + 1, 1);
    path = calloc(run->seq + 1, sizeof(*path));
    if (color == NULL || path == NULL) {
        free(color);
        free(path);
        return -ENOMEM;
    }
    for (size_t i = 0; i < run->n && rc == 0; i++)
        if (color[run->cmds[i]->index] == 0)
            rc = find_cycle(run, run->cmds[i], color, path, 0);
    free(color);
    free(path);
    return rc;
}

/* Ready, and not gone down since: a command that became ready through its
 * output goes down when it ends, unless it ended successfully (a migration
 * that printed "done" and exited 0 stays done). */
static int up(const struct atb__cmd *cmd)
{
    return cmd->ready && !(cmd->ready_by_output && cmd->leader_done &&
                           cmd->res.state != ATB_STATE_SUCCEEDED);
}

int atb__deps_met(const struct atb__cmd *cmd)
{
    for (size_t i = 0; i < cmd->ndeps; i++)
        if (!up(cmd->deps[i]))
            return 0;
    return 1;
}

static void ready_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb__cmd *cmd = (struct atb__cmd *)((char *)w - offsetof(struct atb__cmd, ready_w));

    (void)loop;
    (void)revents;
    if (cmd->ready || cmd->leader_done)
        return;
    cmd->timed_out = 1;
    atb__cmd_signal(cmd, cmd->run->opts.cancel_signal);
}

/* Adds delta to dependents_live of every command cmd depends on, directly
 * or through others (tests -> migrate -> db: db outlives tests too). Each is
 * counted once per walk, marked with the walk's number. */
static void count_dependents(struct atb__cmd *cmd, long delta, unsigned long walk)
{
    for (size_t i = 0; i < cmd->ndeps; i++) {
        struct atb__cmd *dep = cmd->deps[i];

        if (dep->walk == walk)
            continue;
        dep->walk = walk;
        dep->dependents_live += (size_t)delta;
        if (delta < 0 && dep->dependents_live == 0 && dep->cancel_signo != 0) {
            int signo = dep->cancel_signo;
            dep->cancel_signo = 0;
            atb__cmd_signal(dep, signo);
        }
        count_dependents(dep, delta, walk);
    }
}

void atb__deps_started(struct atb__cmd *cmd)
{
    struct atb_run *run = cmd->run;

    count_dependents(cmd, 1, ++run->walks);
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
    if (run->loop)
        ev_timer_stop(run->loop, &cmd->ready_w);
    if (cmd->latch_path)
        atb_latch_set(cmd->latch_path);
    if (run->nwaiting > 0 && run->loop)
        atb__run_start_queued(run);
}

void atb__deps_line(struct atb__cmd *cmd, const char *line, size_t len)
{
    char *text;
    int match;

    if (cmd->ready_re == NULL || cmd->ready)
        return;
    /* regexec wants a string: copy the line (at most ATB__LINE_MAX, and
     * only until the command is ready). */
    text = malloc(len + 1);
    if (text == NULL)
        return;
    memcpy(text, line, len);
    text[len] = '\0';
    match = regexec(cmd->ready_re, text, 0, NULL, 0) == 0;
    free(text);
    if (match)
        atb__deps_ready(cmd, 1);
}

/* Commands still waiting for dep will never start: they are not started,
 * and neither are the commands waiting for them. */
static void abandon_dependents(struct atb__cmd *dep)
{
    struct atb_run *run = dep->run;

    for (size_t i = 0; i < run->nmain; i++) {
        struct atb__cmd *cmd = run->cmds[i];
        int hit = 0;

        if (!cmd->waiting || cmd->res.state != ATB_STATE_QUEUED)
            continue;
        for (size_t k = 0; k < cmd->ndeps; k++)
            hit |= cmd->deps[k] == dep;
        if (!hit)
            continue;
        cmd->waiting = 0;
        run->nwaiting--;
        cmd->res.state = ATB_STATE_NOT_STARTED;
        snprintf(cmd->error, sizeof(cmd->error), "dependency %s %s", dep->name,
                 dep->res.state == ATB_STATE_SUCCEEDED ? "ended" : "failed");
        cmd->res.error = cmd->error;
        cmd->finished = 1;
        atb__mode_on_end(run, cmd);
        abandon_dependents(cmd);
    }
}

/* The leader ended: a success makes it ready (if nothing else did); a
 * command that was up through its output goes down, and its latch with it;
 * one that never became ready leaves its dependents without a chance. */
void atb__deps_ended(struct atb__cmd *cmd)
{
    if (cmd->run->loop)
        ev_timer_stop(cmd->run->loop, &cmd->ready_w);
    if (!cmd->ready && cmd->res.state == ATB_STATE_SUCCEEDED)
        atb__deps_ready(cmd, 0);
    if (cmd->ready_by_output && cmd->latch_path)
        atb_latch_unset(cmd->latch_path);
    if (!up(cmd) && cmd->run->nwaiting > 0)
        abandon_dependents(cmd);
}

void atb__deps_finished(struct atb__cmd *cmd)
{
    if (cmd->ndeps > 0)
        count_dependents(cmd, -1, ++cmd->run->walks);
}

/* Holds back a cancel of cmd while commands that wait for it still run. */
int atb__deps_hold_cancel(struct atb__cmd *cmd, int signo)
{
    if (cmd->dependents_live == 0)
        return 0;
    cmd->cancel_signo = signo;
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
}
