/* report: the human report and the JSON report of a finished run, written
 * to a stream the caller owns, from the library's public results. */
#include "cmd.h"
#include "rerun.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct text_ctx {
    const struct atb_run *run;
    FILE *out;
    int verbose;
    int color;              /* the run colours stderr, and out is stderr */
    size_t width, wwidth;
    size_t counts[ATB_STATE_TIMED_OUT + 1];
};

/* What happened, and after how many attempts when there were several. */
static const char *what_of(const struct atb_run *run, const struct atb_result *res, char *buf,
                           size_t size)
{
    size_t len;

    cmd_describe(run, res, buf, size);
    len = strlen(buf);
    if (res->attempt > 1 && len < size)
        snprintf(buf + len, size - len, " (attempt %d of %d)", res->attempt, res->attempts_max);
    return buf;
}

static void measure(const struct atb_result *res, void *data)
{
    struct text_ctx *t = data;
    char what[160];

    t->counts[res->state]++;
    if (!t->verbose && res->state == ATB_STATE_SUCCEEDED)
        return;
    if (strlen(res->name) > t->width)
        t->width = strlen(res->name);
    what_of(t->run, res, what, sizeof(what));
    if (strlen(what) > t->wwidth)
        t->wwidth = strlen(what);
}

/* The colour of a state where colours are on: failures red, successes
 * green, what the run stopped yellow. */
static const char *color_of(const struct text_ctx *t, enum atb_state state)
{
    if (!t->color)
        return "";
    switch (state) {
    case ATB_STATE_FAILED:
    case ATB_STATE_TIMED_OUT:
        return "\033[31m";
    case ATB_STATE_SUCCEEDED:
        return "\033[32m";
    default:
        return "\033[33m";
    }
}

static void line(const struct atb_result *res, void *data)
{
    struct text_ctx *t = data;
    char what[160], cmd[CMD_LINE_SHOWN + 160];
    const char *on = color_of(t, res->state), *off = t->color ? "\033[0m" : "";

    if (!t->verbose && res->state == ATB_STATE_SUCCEEDED)
        return;
    what_of(t->run, res, what, sizeof(what));
    if (res->started_s < 0) {
        fprintf(t->out, "  %-*s  %s%s%s\n", (int)t->width, res->name, on, what, off);
        return;
    }
    fprintf(t->out, "  %-*s  %s%-*s%s %7.2fs", (int)t->width, res->name, on, (int)t->wwidth,
            what, off, res->duration_s);
    /* -v: what it used, the first question after "which step is slow". */
    if (t->verbose && res->user_s >= 0)
        fprintf(t->out, "  cpu %.2fs (%.2fs user, %.2fs sys), max rss %.1f MiB",
                res->user_s + res->system_s, res->user_s, res->system_s,
                (double)res->max_rss_kib / 1024);
    /* Where it ran, for squeue, sacct and scancel. */
    if (t->verbose && res->slurm_job >= 0 && res->slurm_step >= 0)
        fprintf(t->out, "  slurm %ld.%ld", res->slurm_job, res->slurm_step);
    else if (t->verbose && res->slurm_job >= 0)
        fprintf(t->out, "  slurm job %ld", res->slurm_job);
    if (res->state == ATB_STATE_FAILED || res->state == ATB_STATE_TIMED_OUT)
        fprintf(t->out, "  %s", cmd_line_shown(res->argv, cmd, sizeof(cmd)));
    fputc('\n', t->out);
}

static void headline(struct text_ctx *t, const char *label)
{
    static const struct {
        enum atb_state state;
        const char *label;
    } order[] = {{ATB_STATE_FAILED, "failed"},
                 {ATB_STATE_TIMED_OUT, "timed out"},
                 {ATB_STATE_CANCELLED, "cancelled"},
                 {ATB_STATE_NOT_STARTED, "not started"},
                 {ATB_STATE_SUCCEEDED, "succeeded"}};
    const struct atb_run *run = t->run;
    size_t total = cmd_listed(run) + atb_run_unlisted(run);
    const char *sep = "";
    int winner = atb_run_winner(run);
    char dur[32];

    t->counts[ATB_STATE_SUCCEEDED] += atb_run_unlisted(run);
    fprintf(t->out, "atb: %s ", label ? label : atb_mode_name(atb_run_get_mode(run)));
    switch (atb_run_outcome(run)) {
    case ATB_OUTCOME_INTERRUPTED:
        fprintf(t->out, "interrupted by %s", atb_signal_name(atb_run_signal(run)));
        break;
    case ATB_OUTCOME_TIMED_OUT:
        cmd_format_duration(dur, sizeof(dur), atb_run_get_timeout(run));
        fprintf(t->out, "timed out after %s", dur);
        break;
    default:
        if (winner >= 0)
            fprintf(t->out, "won by %s (exit %d)", atb_run_result(run, winner)->name,
                    cmd_run_status(run));
        else
            fprintf(t->out, "%s%s%s",
                    color_of(t, atb_run_outcome(run) == ATB_OUTCOME_SUCCEEDED
                                    ? ATB_STATE_SUCCEEDED
                                    : ATB_STATE_FAILED),
                    atb_outcome_name(atb_run_outcome(run)), t->color ? "\033[0m" : "");
        break;
    }
    fputs(": ", t->out);
    if (total == 0)
        fputs("no commands", t->out);
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if (t->counts[order[i].state] == 0)
            continue;
        fprintf(t->out, "%s%zu %s", sep, t->counts[order[i].state], order[i].label);
        sep = ", ";
    }
    fprintf(t->out, " (of %zu, %.2fs)\n", total, atb_run_duration(run));
}

int cmd_report_text(const struct atb_run *run, const char *label, FILE *out, int verbose)
{
    struct text_ctx t = {run, out, verbose, 0, 0, 20, {0}};

    /* Colours only where the run colours stderr (the program resolved
     * --color, NO_COLOR, FORCE_COLOR, TERM and the terminal for it). */
    t.color = out == stderr && atb_run_get_color(run, 2) == ATB_COLOR_ALWAYS;

    /* Columns as wide as the widest name and description shown. */
    cmd_each_result(run, measure, &t);
    headline(&t, label);
    cmd_each_result(run, line, &t);
    return cmd_stream_status(out);
}

/* Seconds rounded to the millisecond: enough for people and CI, and short. */
static cJSON *seconds(double s)
{
    return cJSON_CreateNumber(cmd_round(s * 1000) / 1000);
}

static void add_signal(cJSON *o, int signo)
{
    const char *sig = signo ? atb_signal_name(signo) : NULL;
    char signame[16];

    if (sig == NULL && signo > 0) {
        snprintf(signame, sizeof(signame), "SIG%d", signo);
        sig = signame;
    }
    if (sig)
        cJSON_AddStringToObject(o, "signal", sig);
    else
        cJSON_AddNullToObject(o, "signal");
}

static void add_error(cJSON *o, const struct atb_run *run, const struct atb_result *res)
{
    char what[160];

    if (res->error != NULL) {
        cJSON_AddStringToObject(o, "error", res->error);
    } else if (res->start_error == -ENOENT) {
        cJSON_AddStringToObject(o, "error", "command not found");
    } else if (res->start_error != 0) {
        cmd_describe(run, res, what, sizeof(what));
        cJSON_AddStringToObject(o, "error", what);
    } else {
        cJSON_AddNullToObject(o, "error");
    }
}

/* CPU seconds and peak memory, or null when the library could not know. */
static void add_usage(cJSON *o, const struct atb_result *res)
{
    cJSON *u;

    if (res->user_s < 0 || (u = cJSON_AddObjectToObject(o, "usage")) == NULL) {
        cJSON_AddNullToObject(o, "usage");
        return;
    }
    cJSON_AddItemToObject(u, "user_s", seconds(res->user_s));
    cJSON_AddItemToObject(u, "system_s", seconds(res->system_s));
    cJSON_AddNumberToObject(u, "max_rss_kib", (double)res->max_rss_kib);
}

/* Under the Slurm launcher: the job and step the command ran as (null
 * before srun said them; a step only inside an allocation). */
static void add_slurm(cJSON *o, const struct atb_run *run, const struct atb_result *res)
{
    cJSON *s;

    if (atb_run_get_launcher(run) != ATB_LAUNCHER_SLURM)
        return;
    if (res->slurm_job < 0 || (s = cJSON_AddObjectToObject(o, "slurm")) == NULL) {
        cJSON_AddNullToObject(o, "slurm");
        return;
    }
    cJSON_AddNumberToObject(s, "job_id", (double)res->slurm_job);
    if (res->slurm_step >= 0)
        cJSON_AddNumberToObject(s, "step_id", (double)res->slurm_step);
    else
        cJSON_AddNullToObject(s, "step_id");
}

/* How one attempt went: the command's own fields, and each attempt's. */
static void add_outcome(cJSON *o, const struct atb_run *run, const struct atb_result *res)
{
    if (res->pid > 0)
        cJSON_AddNumberToObject(o, "pid", res->pid);
    else
        cJSON_AddNullToObject(o, "pid");
    cJSON_AddStringToObject(o, "state", atb_state_name(res->state));
    /* A command that could not start has the status a shell gives it. */
    if (res->exit_code >= 0 || res->start_error != 0)
        cJSON_AddNumberToObject(o, "exit_code",
                                res->exit_code >= 0 ? res->exit_code
                                                    : cmd_status_of_start(res->start_error));
    else
        cJSON_AddNullToObject(o, "exit_code");
    add_signal(o, res->term_signal);
    cJSON_AddBoolToObject(o, "killed", res->killed);
    if (res->started_s >= 0)
        cJSON_AddItemToObject(o, "started_s", seconds(res->started_s));
    else
        cJSON_AddNullToObject(o, "started_s");
    if (res->started_s >= 0 && res->pid > 0)
        cJSON_AddItemToObject(o, "duration_s", seconds(res->duration_s));
    else
        cJSON_AddNullToObject(o, "duration_s");
    add_usage(o, res);
    add_slurm(o, run, res);
    add_error(o, run, res);
}

/* Every attempt it made, the last being the command's own result; none
 * when it never started. */
static cJSON *attempts_json(const struct atb_run *run, const struct atb_result *res)
{
    cJSON *list = cJSON_CreateArray();

    for (int k = 0; list != NULL && k < res->attempt; k++) {
        const struct atb_result *a = k < res->attempt - 1 ? atb_run_attempt(run, res->id, k) : res;
        cJSON *o = cJSON_CreateObject();

        if (o == NULL || a == NULL) {
            cJSON_Delete(o);
            cJSON_Delete(list);
            return NULL;
        }
        cJSON_AddNumberToObject(o, "attempt", k + 1);
        add_outcome(o, run, a);
        cJSON_AddItemToArray(list, o);
    }
    return list;
}

static cJSON *command_json(const struct atb_run *run, const struct atb_result *res)
{
    cJSON *o = cJSON_CreateObject(), *argv = cJSON_CreateArray();
    cJSON *attempts = attempts_json(run, res);

    if (o == NULL || argv == NULL || attempts == NULL) {
        cJSON_Delete(o);
        cJSON_Delete(argv);
        cJSON_Delete(attempts);
        return NULL;
    }
    cJSON_AddStringToObject(o, "name", res->name);
    for (size_t i = 0; res->argv[i] != NULL; i++)
        cJSON_AddItemToArray(argv, cJSON_CreateString(res->argv[i]));
    cJSON_AddItemToObject(o, "argv", argv);
    add_outcome(o, run, res);
    cJSON_AddBoolToObject(o, "service", res->service);
    cJSON_AddBoolToObject(o, "cleanup", res->cleanup);
    cJSON_AddItemToObject(o, "attempts", attempts);
    return o;
}

struct json_ctx {
    const struct atb_run *run;
    cJSON *cmds;
    int failed;
};

static void add_command(const struct atb_result *res, void *data)
{
    struct json_ctx *j = data;
    cJSON *c = j->failed ? NULL : command_json(j->run, res);

    if (c == NULL)
        j->failed = 1;
    else
        cJSON_AddItemToArray(j->cmds, c);
}

int cmd_report_json(const struct atb_run *run, FILE *out)
{
    cJSON *root = cJSON_CreateObject(), *cmds = cJSON_CreateArray();
    struct json_ctx j = {run, cmds, 0};
    int winner = atb_run_winner(run);
    char *text = NULL;
    int rc = -ENOMEM;

    if (root == NULL || cmds == NULL) {
        cJSON_Delete(cmds);
        goto out;
    }
    cJSON_AddNumberToObject(root, "atb", 1);
    cJSON_AddStringToObject(root, "mode", atb_mode_name(atb_run_get_mode(run)));
    cJSON_AddNumberToObject(root, "exit_status", cmd_run_status(run));
    cJSON_AddStringToObject(root, "outcome", atb_outcome_name(atb_run_outcome(run)));
    cJSON_AddItemToObject(root, "duration_s", seconds(atb_run_duration(run)));
    if (atb_run_unlisted(run) > 0)
        cJSON_AddNumberToObject(root, "succeeded_unlisted", (double)atb_run_unlisted(run));
    if (winner >= 0)
        cJSON_AddStringToObject(root, "winner", atb_run_result(run, winner)->name);
    else
        cJSON_AddNullToObject(root, "winner");
    cJSON_AddItemToObject(root, "commands", cmds);
    cmd_each_result(run, add_command, &j);
    /* After a rerun: the commands it left out (rerun.c). */
    if (j.failed || cmd_rerun_report(root) < 0)
        goto out;
    text = cJSON_Print(root);
    if (text == NULL)
        goto out;
    fputs(text, out);
    fputc('\n', out);
    rc = cmd_stream_status(out);
out:
    free(text);
    cJSON_Delete(root);
    return rc;
}
