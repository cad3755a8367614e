/* command: one command of a run, and its life cycle.
 *
 * A command is one allocation: the struct, then its argv, env and wait_for
 * vectors, then their strings and its own (name, cwd, ready_when, sets).
 * One block per command keeps a 10,000-command run cheap and its ownership
 * obvious.
 *
 * Its life is a phase (engine.h), and atb__cmd_phase() is the one place a
 * phase changes and the one place the run's tally changes; every count the
 * scheduler needs (running, slots, waiting, work left) is a sum over that
 * tally, so a new way through the life cycle cannot leave a count behind.
 */
#include "engine.h"
#include "srun.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static size_t strv_size(char *const *v, size_t *count)
{
    size_t size = 0, n = 0;

    for (; v && v[n]; n++)
        size += strlen(v[n]) + 1;
    *count = n;
    return size + (v ? (n + 1) * sizeof(char *) : 0);
}

/* Copies a NULL-terminated vector: pointers at *slots, strings at *text. */
static char **strv_pack(char *const *v, size_t n, char ***slots, char **text)
{
    char **out = *slots;

    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;
        memcpy(*text, v[i], len);
        out[i] = *text;
        *text += len;
    }
    out[n] = NULL;
    *slots += n + 1;
    return out;
}

static char *str_pack(const char *str, size_t size, char **text)
{
    char *out = *text;

    if (str == NULL)
        return NULL;
    memcpy(out, str, size);
    *text += size;
    return out;
}

static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* A copy of the caller's command as this library knows it: a caller built
 * against an older header passes a smaller struct, whose missing fields
 * stay 0. */
static int cmd_copy(const struct atb_cmd *src, struct atb_cmd *c)
{
    if (src == NULL || src->size < offsetof(struct atb_cmd, wait_for) + sizeof(src->wait_for))
        return -EINVAL;
    memset(c, 0, sizeof(*c));
    c->retries = -1; /* a caller that knows nothing of retries leaves them to the run */
    c->retry_delay_s = -1;
    memcpy(c, src, src->size < sizeof(*c) ? src->size : sizeof(*c));
    return 0;
}

static void init_fields(struct atb__cmd *c, struct atb_run *run, const struct atb_cmd *cmd,
                        int id)
{
    c->run = run;
    c->res.id = id;
    c->res.name = c->name;
    c->res.state = ATB_STATE_QUEUED;
    c->res.exit_code = -1;
    c->res.started_s = -1;
    c->res.service = cmd->service != 0;
    c->res.cleanup = cmd->cleanup != 0;
    c->res.shield = cmd->shield != 0;
    c->kind = cmd->cleanup ? ATB__CLEANUP : cmd->service ? ATB__SERVICE : ATB__WORK;
    c->phase = ATB__NPHASES; /* in none until placed */
    c->clear_env = cmd->clear_env != 0;
    c->timeout_s = cmd->timeout_s;
    c->ready_timeout_s = cmd->ready_timeout_s;
    c->retries = cmd->retries;
    c->retry_delay_s = cmd->retry_delay_s;
    c->retry_backoff = cmd->retry_backoff;
    c->res.user_s = c->res.system_s = -1;
    c->res.max_rss_kib = -1;
    c->res.slurm_job = c->res.slurm_step = -1;
    c->proc.pidfd = -1;
    c->out[0].fd = c->out[1].fd = -1;
    c->out[0].spill_fd = c->out[1].spill_fd = -1;
    c->out[0].wfd = c->out[1].wfd = -1;
}

int atb__cmd_new(struct atb_run *run, const struct atb_cmd *src, int id, struct atb__cmd **out)
{
    struct atb_cmd cmd;
    char *shell_argv[] = {"/bin/sh", "-c", NULL, NULL};
    char *const *argv;
    size_t argc, envc, waitc, size, off, namelen;
    struct atb__cmd *c;
    char **slots, *p;
    const char *field;

    *out = NULL;
    if (cmd_copy(src, &cmd) < 0)
        return -EINVAL;
    shell_argv[2] = (char *)cmd.shell;
    argv = cmd.shell ? shell_argv : cmd.argv;
    /* A shell line of blanks is no command either. */
    if (cmd.shell && cmd.shell[strspn(cmd.shell, " \t\n\r")] == '\0')
        return -EINVAL;
    if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0' || (cmd.shell && cmd.argv) ||
        (cmd.name && cmd.name[0] == '\0') || (cmd.label && cmd.label[0] == '\0') ||
        !(cmd.timeout_s >= 0) || !(cmd.ready_timeout_s >= 0) || cmd.retries < -1 ||
        cmd.retries > ATB__RETRIES_MAX || !(cmd.retry_delay_s >= 0 || cmd.retry_delay_s == -1) ||
        !(cmd.retry_backoff == 0 || (cmd.retry_backoff >= 1 && cmd.retry_backoff <= 1000)) ||
        atb_slurm_check(cmd.slurm, &field) < 0)
        return -EINVAL;
    /* Room for the default name and a "#N" suffix, decided at start. */
    if (cmd.name)
        namelen = strlen(cmd.name);
    else if (cmd.label)
        namelen = strlen(cmd.label) + 24;
    else
        namelen = atb_name_default(cmd.shell ? cmd.shell : argv[0], cmd.shell != NULL, NULL, 0) +
                  24;
    off = (sizeof(*c) + _Alignof(char *) - 1) & ~(_Alignof(char *) - 1);
    size = off + strv_size(argv, &argc) + strv_size(cmd.env, &envc) +
           strv_size(cmd.wait_for, &waitc) + namelen + 1 + str_size(cmd.cwd) +
           str_size(cmd.ready_when) + str_size(cmd.sets);
    c = calloc(1, size);
    if (c == NULL)
        return -ENOMEM;
    slots = (char **)(void *)((char *)c + off);
    p = (char *)(slots + argc + 1 + (cmd.env ? envc + 1 : 0) + (cmd.wait_for ? waitc + 1 : 0));
    c->res.argv = strv_pack(argv, argc, &slots, &p);
    c->env = strv_pack(cmd.env, envc, &slots, &p);
    c->wait_for = strv_pack(cmd.wait_for, waitc, &slots, &p);
    c->cwd = str_pack(cmd.cwd, str_size(cmd.cwd), &p);
    c->ready_when = str_pack(cmd.ready_when, str_size(cmd.ready_when), &p);
    c->sets = str_pack(cmd.sets, str_size(cmd.sets), &p);
    c->name = p;
    if (cmd.name) {
        memcpy(p, cmd.name, namelen + 1);
        c->named = c->given = 1;
    } else if (cmd.label) {
        memcpy(p, cmd.label, namelen - 24 + 1);
    } else {
        atb_name_default(cmd.shell ? cmd.shell : argv[0], cmd.shell != NULL, p, namelen + 1);
    }
    init_fields(c, run, &cmd, id);
    if (cmd.slurm && atb__slurm_copy(cmd.slurm, &c->slurm) < 0) {
        atb__cmd_free(c);
        return -ENOMEM;
    }
    for (int k = 0; k < 2; k++) {
        const struct atb_probe *probe = k ? cmd.health_probe : cmd.ready_probe;
        int rc = probe ? atb__probe_new(c, probe, k, &c->probe[k]) : 0;

        if (rc < 0) {
            atb__cmd_free(c);
            return rc;
        }
    }
    *out = c;
    return 0;
}

void atb__cmd_stop(struct atb__cmd *cmd)
{
    struct atb_run *run = cmd->run;

    atb__probe_forget(cmd);
    if (run->launcher)
        run->launcher->ops->forget(run->launcher, &cmd->proc);
    if (run->loop) {
        ev_timer_stop(run->loop, &cmd->limit_w);
        ev_timer_stop(run->loop, &cmd->drain_w);
        ev_timer_stop(run->loop, &cmd->ready_w);
    }
    atb__output_free_cmd(cmd);
}

void atb__cmd_error(struct atb__cmd *cmd, const char *why)
{
    if (cmd->error == NULL)
        cmd->error = malloc(ATB__CMD_ERROR_MAX);
    if (cmd->error == NULL) {
        cmd->res.error = "out of memory";
        return;
    }
    snprintf(cmd->error, ATB__CMD_ERROR_MAX, "%s", why);
    cmd->res.error = cmd->error;
}

void atb__cmd_free(struct atb__cmd *cmd)
{
    if (cmd == NULL)
        return;
    atb__cmd_stop(cmd);
    atb__deps_free(cmd);
    atb__retry_free(cmd);
    atb__probe_free(cmd->probe[0]);
    atb__probe_free(cmd->probe[1]);
    free(cmd->slurm);
    free(cmd->kept);
    free(cmd->error);
    free(cmd);
}

void atb__cmd_phase(struct atb__cmd *cmd, enum atb__phase to)
{
    struct atb__tally *t = &cmd->run->tally;

    if (cmd->phase < ATB__NPHASES)
        t->n[cmd->kind][cmd->phase]--;
    if (to < ATB__NPHASES)
        t->n[cmd->kind][to]++;
    cmd->phase = to;
    if (to <= ATB__WAITING)
        cmd->res.state = ATB_STATE_QUEUED;
    else if (to == ATB__RUNNING)
        cmd->res.state = ATB_STATE_RUNNING;
}

size_t atb__tally_sum(const struct atb__tally *t, unsigned kinds, enum atb__phase from,
                      enum atb__phase to)
{
    size_t sum = 0;

    for (int k = 0; k < ATB__NKINDS; k++)
        if (kinds & ATB__KIND_BIT(k))
            for (int p = from; p <= (int)to; p++)
                sum += t->n[k][p];
    return sum;
}

size_t atb__cmd_attempt(const struct atb__cmd *cmd, int measuring, char *buf, size_t size)
{
    int max = cmd->res.attempts_max, k = measuring ? max : cmd->res.attempt;
    int n = 0;

    if (max > 1 && (measuring || k > 1 || cmd->retrying))
        n = snprintf(buf, size, " %d/%d", k, max);
    else if (size > 0)
        buf[0] = '\0';
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

void atb__cmd_leader_result(struct atb__cmd *cmd, int code, int status)
{
    struct atb_result *res = &cmd->res;

    res->duration_s = atb__now() - cmd->run->t0 - res->started_s;
    if (code == CLD_EXITED)
        res->exit_code = status;
    else if (code != 0)
        res->term_signal = status;
    if (code == 0 && !cmd->timed_out && !cmd->cancelled) {
        res->state = ATB_STATE_FAILED;
        res->error = "its status was taken by another reaper in the process";
    } else if (cmd->timed_out) {
        res->state = ATB_STATE_TIMED_OUT;
    } else if (cmd->unhealthy) {
        /* Its health probe failed: stopped, and a failure of the run. */
        res->state = ATB_STATE_FAILED;
        res->error = "service unhealthy";
    } else if (cmd->cancelled)
        res->state = ATB_STATE_CANCELLED;
    else if (res->service) {
        /* A service ends when the run ends it; ending by itself is a
         * failure, even with status 0. */
        res->state = ATB_STATE_FAILED;
        res->error = "service exited early";
    } else if (code == CLD_EXITED && status == 0)
        res->state = ATB_STATE_SUCCEEDED;
    else
        res->state = ATB_STATE_FAILED;
}
