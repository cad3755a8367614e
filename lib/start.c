/* start: starting one command through the run's launcher: its environment,
 * its output pipes, its stdin, and what to do when fds run out. */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

char **atb__cmd_env(const struct atb_run *run, const struct atb__cmd *cmd, const char *slot)
{
    char **base = run->base_env ? run->base_env : environ;
    size_t n = 0, extra = 0, changes;
    char **envp;

    if (cmd->env == NULL && !cmd->clear_env && slot == NULL)
        return base;
    if (!cmd->clear_env)
        while (base[n])
            n++;
    else
        n = run->base_keep; /* the run's own variables stay */
    while (cmd->env && cmd->env[extra])
        extra++;
    changes = extra + (slot != NULL);
    envp = malloc((n + changes + 1) * sizeof(*envp));
    if (envp == NULL)
        return NULL;
    memcpy(envp, base, n * sizeof(*envp));
    for (size_t i = 0; i < changes; i++) {
        const char *change = i < extra ? cmd->env[i] : slot, *eq = strchr(change, '=');
        size_t keylen = eq ? (size_t)(eq - change) : strlen(change);
        size_t j;

        for (j = 0; j < n; j++)
            if (strncmp(envp[j], change, keylen) == 0 && envp[j][keylen] == '=')
                break;
        if (eq != NULL && j < n)
            envp[j] = (char *)change;
        else if (eq != NULL)
            envp[n++] = (char *)change;
        else if (j < n)
            envp[j] = envp[--n];
    }
    envp[n] = NULL;
    return envp;
}

/* The command's own time limit: it is cancelled, and counts as timed out. */
static void limit_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb__cmd *cmd = ATB__CONTAINER_OF(w, struct atb__cmd, limit_w);
    struct atb_run *run = cmd->run;

    (void)loop;
    (void)revents;
    if (cmd->phase != ATB__RUNNING)
        return;
    atb__enter(run);
    cmd->timed_out = 1;
    run->launcher->ops->stop(run->launcher, &cmd->proc, run->set.cancel_signal);
    atb__leave(run);
}

/* Out of fds, or of processes (EAGAIN: RLIMIT_NPROC), while others run:
 * the command stays queued and is tried again when one of them finishes
 * (whose fds and process are then free), rather than failing the run. */
static int starved(const struct atb_run *run, int rc)
{
    return (rc == -EMFILE || rc == -ENFILE || rc == -EAGAIN) &&
           atb__tally_sum(&run->tally, ATB__ALL_KINDS, ATB__RUNNING, ATB__GROUP_DONE) > 0;
}

static void not_started(struct atb_run *run, struct atb__cmd *cmd, int err)
{
    /* A child that could not exec may have taken the terminal first. */
    if (cmd->input && run->set.tty_fd >= 0)
        atb__tty_reclaim(run->set.tty_fd);
    cmd->res.start_error = err;
    cmd->res.state = ATB_STATE_FAILED;
    if (cmd->res.attempt == 0)
        cmd->res.attempt = 1;
    cmd->res.started_s = atb__now() - run->t0;
    atb__output_free_cmd(cmd);
    atb__cmd_phase(cmd, ATB__FINISHED);
    atb__sched_ended(run, cmd);
    atb__emit(run, ATB_EVENT_FINISHED, cmd->res.id);
}

/* slot_env: the lowest slot no running command holds, taken for cmd, as
 * "NAME=N" in var. Returns 0 or -ENOMEM. */
static int take_slot(struct atb_run *run, struct atb__cmd *cmd, char *var, size_t size)
{
    size_t i = 0;

    while (i < run->nslots && run->slots[i])
        i++;
    if (i == run->nslots) {
        size_t n = run->nslots ? 2 * run->nslots : 16;
        unsigned char *slots = realloc(run->slots, n);

        if (slots == NULL)
            return -ENOMEM;
        memset(slots + run->nslots, 0, n - run->nslots);
        run->slots = slots;
        run->nslots = n;
    }
    run->slots[i] = 1;
    cmd->slot = (int)i + 1;
    snprintf(var, size, "%s=%d", run->set.slot_env, cmd->slot);
    return 0;
}

void atb__slot_give_back(struct atb_run *run, struct atb__cmd *cmd)
{
    if (cmd->slot > 0 && (size_t)cmd->slot <= run->nslots)
        run->slots[cmd->slot - 1] = 0;
    cmd->slot = 0;
}

void atb__cmd_env_free(const struct atb_run *run, char **envp)
{
    if (envp != NULL && envp != environ && envp != run->base_env)
        free(envp);
}

enum atb__start_result atb__start_cmd(struct atb_run *run, struct atb__cmd *cmd)
{
    int rc, wfd[2] = {-1, -1};
    char slot[ATB__SLOT_VAR_MAX], **envp = NULL;
    struct atb__spawn_ctx ctx;

    if (run->set.slot_env == NULL || take_slot(run, cmd, slot, sizeof(slot)) == 0)
        envp = atb__cmd_env(run, cmd, run->set.slot_env ? slot : NULL);
    rc = envp ? atb__output_pipes(run, cmd, wfd) : -ENOMEM;
    if (rc == 0) {
        ctx.envp = envp;
        ctx.cwd = cmd->cwd;
        ctx.in_fd = cmd->input ? run->set.input_fd : -1;
        ctx.tty_fd = cmd->input ? run->set.tty_fd : -1;
        ctx.out_fd = wfd[0] >= 0 ? wfd[0] : run->out.dest[0].fd;
        ctx.err_fd = wfd[1] >= 0 ? wfd[1] : run->out.dest[1].fd;
        struct atb__launch_info info = {cmd->name, cmd->slurm, wfd[1] >= 0};

        run->launcher->info = &info;
        rc = run->launcher->ops->start(run->launcher, &cmd->proc, cmd->res.argv, &ctx);
        run->launcher->info = NULL;
        /* The child has its own copies now. Ours go, or the pipes would
         * never reach end of file; but those kept go when the leader ends. */
        if (rc == 0)
            atb__output_keep(run, cmd, wfd);
        atb__close(&wfd[0]);
        atb__close(&wfd[1]);
    }
    atb__cmd_env_free(run, envp);
    if (rc < 0)
        atb__slot_give_back(run, cmd);
    if (rc < 0 && starved(run, rc)) {
        atb__output_free_cmd(cmd); /* the read ends of pipes made for it */
        return ATB__START_LATER;
    }
    if (rc < 0) {
        not_started(run, cmd, rc);
        return ATB__START_FAILED;
    }
    cmd->res.pid = cmd->proc.pid;
    if (cmd->res.attempt == 0)
        cmd->res.attempt = 1; /* later ones count in retry.c */
    cmd->res.started_s = atb__now() - run->t0;
    if (run->guard.pid > 0)
        atb__guard_tell(&run->guard, '+', cmd->proc.pid);
    atb__cmd_phase(cmd, ATB__RUNNING);
    atb__deps_started(cmd);
    if (cmd->timeout_s > 0) {
        ev_timer_init(&cmd->limit_w, limit_cb, cmd->timeout_s, 0);
        ev_timer_start(run->loop, &cmd->limit_w);
    }
    atb__output_start(run, cmd);
    atb__probe_begin(cmd);
    atb__emit(run, ATB_EVENT_STARTED, cmd->res.id);
    return ATB__STARTED;
}
