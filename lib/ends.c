/* ends: what the launcher and the pipes report to a run, taken in: a
 * leader's end, a group gone, a line of output, a stream closed; and a
 * command's finish, once its group is gone and its output read to the end.
 * Each handler changes one command and leaves the rest to the scheduler.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>

/* A cancel held until a command's dependents had ended is due, unless the
 * command has ended on its own meanwhile (then nothing is sent). */
static void release(struct atb__cmd *dep, int signo)
{
    dep->held_signo = 0;
    atb__sched_cancel_cmd(dep, signo);
}

/* A fed run forgets what succeeded, so memory stays flat: once its block,
 * if it waits for one, is out. */
static void maybe_forget(struct atb__cmd *cmd)
{
    struct atb_run *run = cmd->run;

    if (run->set.feed_cb && cmd->res.state == ATB_STATE_SUCCEEDED && cmd->kind == ATB__WORK &&
        cmd != run->winner && !cmd->block_due && !cmd->forget) {
        cmd->forget = 1;
        run->forgettable++;
    }
}

void atb__group_in_order(struct atb_run *run, int all)
{
    for (; run->next_block < run->next_id; run->next_block++) {
        struct atb__cmd *c = atb__cmd_by_id(run, run->next_block);

        if (c == NULL || c->kind == ATB__CLEANUP)
            continue;
        if (!c->block_due) {
            if (c->phase < ATB__FINISHED && !all)
                return;
            continue; /* finished without a block, or never to start */
        }
        c->block_due = 0;
        atb__group_finish(run, c);
        atb__output_free_cmd(c);
        maybe_forget(c);
    }
}

static void finish(struct atb__cmd *cmd)
{
    struct atb_run *run = cmd->run;

    ev_timer_stop(run->loop, &cmd->drain_w);
    atb__slot_give_back(run, cmd);
    if (cmd->retrying) {
        if (atb__retry_arm(cmd))
            return;
        /* The run stopped meanwhile: this attempt's end is the command's. */
        atb__sched_ended(run, cmd);
    }
    atb__cmd_phase(cmd, ATB__FINISHED);
    if (run->out.mode == ATB_OUTPUT_GROUP && run->set.keep_order && cmd->kind != ATB__CLEANUP)
        cmd->block_due = 1;
    else if (run->out.mode == ATB_OUTPUT_GROUP)
        atb__group_finish(run, cmd);
    if (!cmd->block_due)
        atb__output_free_cmd(cmd);
    atb__deps_finished(cmd, release);
    maybe_forget(cmd);
    atb__emit(run, ATB_EVENT_FINISHED, cmd->res.id);
    if (cmd->block_due)
        atb__group_in_order(run, 0);
}

/* Output may outlive the group when a process that left the group holds
 * the pipe: it gets at most the grace period, then the pipe is closed, so
 * such a process cannot hold the run open. */
static void drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb__cmd *cmd = ATB__CONTAINER_OF(w, struct atb__cmd, drain_w);
    struct atb_run *run = cmd->run;

    (void)loop;
    (void)revents;
    atb__enter(run);
    atb__output_stop(run, cmd);
    atb__sched_maybe_finish(cmd);
    atb__leave(run);
}

void atb__sched_maybe_finish(struct atb__cmd *cmd)
{
    struct atb_run *run = cmd->run;

    if (cmd->phase != ATB__GROUP_DONE)
        return;
    if (atb__output_open_streams(cmd) > 0) {
        if (!ev_is_active(&cmd->drain_w)) {
            ev_timer_init(&cmd->drain_w, drain_cb, run->set.grace_s, 0);
            ev_timer_start(run->loop, &cmd->drain_w);
        }
        return;
    }
    finish(cmd);
}

static void take_proc(struct atb__cmd *cmd)
{
    if (cmd->proc.sent_signal)
        cmd->res.sent_signal = cmd->proc.sent_signal;
    cmd->res.killed = cmd->proc.killed;
}

/* What a launcher that learns of a start only later (Slurm's) said: the
 * program could not be run (as a local start failure would say), or what
 * kept it from running, and the ids it ran under. */
static void take_launch(struct atb__cmd *cmd)
{
    struct atb_result *res = &cmd->res;

    res->slurm_job = cmd->proc.remote_job;
    res->slurm_step = cmd->proc.remote_step;
    if (res->state != ATB_STATE_FAILED)
        return;
    if (cmd->proc.start_error != 0) {
        res->start_error = cmd->proc.start_error;
        res->exit_code = -1;
    } else if (cmd->proc.launch_error != NULL && res->error == NULL) {
        atb__cmd_error(cmd, cmd->proc.launch_error);
    }
}

/* What the leader used, as the launcher read it at its reaping. */
static void take_usage(struct atb__cmd *cmd)
{
    cmd->res.user_s = cmd->proc.user_s;
    cmd->res.system_s = cmd->proc.system_s;
    cmd->res.max_rss_kib = cmd->proc.max_rss_kib;
}

static void on_leader(struct atb__proc *p, int code, int status, void *data)
{
    struct atb_run *run = data;
    struct atb__cmd *cmd = ATB__CONTAINER_OF(p, struct atb__cmd, proc);

    atb__enter(run);
    if (p->probe) { /* not a command's: an exec probe's attempt */
        atb__probe_on_leader(p, code, status);
        atb__leave(run);
        return;
    }
    atb__output_leader_done(run, cmd);
    atb__probe_end(cmd);
    ev_timer_stop(run->loop, &cmd->limit_w);
    if (cmd->input && run->set.tty_fd >= 0)
        atb__tty_reclaim(run->set.tty_fd);
    atb__cmd_leader_result(cmd, code, status);
    take_proc(cmd);
    take_usage(cmd);
    take_launch(cmd);
    atb__cmd_phase(cmd, ATB__LEADER_DONE);
    /* An attempt to be tried again is no end: nothing in the run hears of
     * it (retry.c). */
    if (atb__retry_wanted(cmd)) {
        cmd->retrying = 1;
        run->retrying++;
        ev_timer_stop(run->loop, &cmd->ready_w);
    } else {
        atb__sched_ended(run, cmd);
    }
    atb__leave(run);
}

static void on_group(struct atb__proc *p, void *data)
{
    struct atb_run *run = data;
    struct atb__cmd *cmd = ATB__CONTAINER_OF(p, struct atb__cmd, proc);

    atb__enter(run);
    if (p->probe) {
        atb__probe_on_group(p);
        atb__leave(run);
        return;
    }
    take_proc(cmd);
    if (run->guard.pid > 0)
        atb__guard_tell(&run->guard, '-', p->pid);
    atb__cmd_phase(cmd, ATB__GROUP_DONE);
    atb__sched_maybe_finish(cmd);
    atb__leave(run);
}

static void on_killed(struct atb__proc *p, void *data)
{
    struct atb_run *run = data;
    struct atb__cmd *cmd = ATB__CONTAINER_OF(p, struct atb__cmd, proc);

    if (p->probe)
        return; /* a probe's attempt: its end says enough */
    atb__enter(run);
    atb__emit(run, ATB_EVENT_KILLED, cmd->res.id);
    atb__leave(run);
}

void atb__run_line(struct atb__cmd *cmd, int which, const char *line, size_t len)
{
    struct atb_run *run = cmd->run;

    atb__deps_line(cmd, line, len);
    if (run->out.mode == ATB_OUTPUT_EVENTS) {
        struct atb_event ev = {.kind = ATB_EVENT_OUTPUT, .id = cmd->res.id,
                               .stream = which + 1, .data = line, .len = len};
        atb__emit_event(run, &ev);
    }
}

void atb__run_stream_closed(struct atb__cmd *cmd)
{
    atb__sched_maybe_finish(cmd);
}

/* The launcher's own processes are done: the run may be over. */
static void on_idle(void *data)
{
    struct atb_run *run = data;

    atb__enter(run);
    atb__leave(run);
}

void atb__ends_attach(struct atb_run *run)
{
    run->launcher->on_idle = on_idle;
    run->launcher->on_leader = on_leader;
    run->launcher->on_group = on_group;
    run->launcher->on_killed = on_killed;
    run->launcher->data = run;
}

/* Between callbacks: frees the commands that succeeded in a fed run, so a
 * million of them cost what a few do. Order is kept; only commands before
 * the cursor can be forgettable, so the queue is untouched. */
static void tidy_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    struct atb_run *run = w->data;
    size_t kept = 0, next = run->next, nmain = run->nmain;

    (void)loop;
    (void)revents;
    if (run->forgettable < 64 || run->forgettable * 2 < run->next)
        return;
    for (size_t i = 0; i < run->n; i++) {
        struct atb__cmd *cmd = run->cmds[i];

        /* Short of memory to retire a given name, or a probe's process
         * still to be waited for: keep the command. */
        if (cmd->forget && !atb__probe_live(cmd) && atb__name_retire(run, cmd) == 0) {
            next -= i < run->next;
            nmain -= i < run->nmain;
            atb__cmd_phase(cmd, ATB__NPHASES);
            atb__cmd_free(cmd);
            run->forgotten++;
            continue;
        }
        run->cmds[kept++] = cmd;
    }
    run->n = kept;
    run->next = next;
    run->nmain = nmain;
    run->forgettable = 0;
}

void atb__tidy_start(struct atb_run *run)
{
    ev_prepare_init(&run->tidy_w, tidy_cb);
    run->tidy_w.data = run;
    ev_prepare_start(run->loop, &run->tidy_w);
}
