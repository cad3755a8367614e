/* report: the human report and the JSON report of a finished run. Both are
 * written to a stream the caller owns; nothing here decides where. */
#include "internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* "5s", "0.5s", "250ms": how a person would write the grace period. */
static void format_duration(char *buf, size_t size, double s)
{
    if (s > 0 && s < 1)
        snprintf(buf, size, "%gms", round(s * 1000));
    else
        snprintf(buf, size, "%gs", s);
}

/* What happened to one command, in a few words. */
static void describe(const struct atb_run *run, const struct atb_result *res, char *buf,
                     size_t size)
{
    const char *sig;
    char grace[32];

    switch (res->state) {
    case ATB_STATE_NOT_STARTED:
        if (res->error)
            snprintf(buf, size, "not started: %s", res->error);
        else
            snprintf(buf, size, "not started");
        return;
    case ATB_STATE_CANCELLED:
        if (res->killed && run->killed_at_once) {
            snprintf(buf, size, "cancelled, killed on a second %s",
                     atb_signal_name(run->killed_at_once));
        } else if (res->killed) {
            format_duration(grace, sizeof(grace), run->opts.grace_s);
            snprintf(buf, size, "cancelled, killed after %s grace", grace);
        } else {
            sig = atb_signal_name(res->sent_signal);
            snprintf(buf, size, "cancelled (%s)", sig ? sig : "?");
        }
        return;
    case ATB_STATE_TIMED_OUT:
        snprintf(buf, size, "timed out");
        return;
    default:
        break;
    }
    if (res->error != NULL && res->term_signal > 0)
        snprintf(buf, size, "%s (killed by %s)", res->error,
                 atb_signal_name(res->term_signal) ? atb_signal_name(res->term_signal) : "?");
    else if (res->error != NULL)
        snprintf(buf, size, "%s (exit %d)", res->error, res->exit_code);
    else if (res->start_error == -ENOENT)
        snprintf(buf, size, "not found");
    else if (res->start_error == ATB_ECWD)
        snprintf(buf, size, "cannot start: %s", atb_strerror(res->start_error));
    else if (res->start_error != 0)
        snprintf(buf, size, "cannot %s: %s", res->exit_code == 126 ? "execute" : "start",
                 atb_strerror(res->start_error));
    else if (res->term_signal > 0) {
        sig = atb_signal_name(res->term_signal);
        if (sig)
            snprintf(buf, size, "killed by %s", sig);
        else
            snprintf(buf, size, "killed by signal %d", res->term_signal);
    } else
        snprintf(buf, size, "exit %d", res->exit_code);
}

static void count_states(const struct atb_run *run, size_t counts[])
{
    for (size_t i = 0; i < run->n; i++)
        counts[run->cmds[i]->res.state]++;
    counts[ATB_STATE_SUCCEEDED] += run->forgotten;
}

static void headline(const struct atb_run *run, FILE *out)
{
    static const struct {
        enum atb_state state;
        const char *label;
    } order[] = {{ATB_STATE_FAILED, "failed"},
                 {ATB_STATE_TIMED_OUT, "timed out"},
                 {ATB_STATE_CANCELLED, "cancelled"},
                 {ATB_STATE_NOT_STARTED, "not started"},
                 {ATB_STATE_SUCCEEDED, "succeeded"}};
    size_t counts[ATB_STATE_TIMED_OUT + 1] = {0};
    const char *mode = atb_mode_name(run->opts.mode);
    const char *sep = "";
    char dur[32];

    count_states(run, counts);
    fprintf(out, "atb: %s ", run->opts.label ? run->opts.label : mode);
    switch (atb_run_outcome(run)) {
    case ATB_OUTCOME_INTERRUPTED:
        fprintf(out, "interrupted by %s", atb_signal_name(run->interrupted));
        break;
    case ATB_OUTCOME_TIMED_OUT:
        format_duration(dur, sizeof(dur), run->opts.timeout_s);
        fprintf(out, "timed out after %s", dur);
        break;
    default:
        if (run->winner)
            fprintf(out, "won by %s (exit %d)", run->winner->res.name,
                    atb_run_exit_status(run));
        else
            fprintf(out, "%s", atb_outcome_name(atb_run_outcome(run)));
        break;
    }
    fputs(": ", out);
    if (run->n + run->forgotten == 0)
        fputs("no commands", out);
    for (size_t i = 0; i < ATB__ARRAY_SIZE(order); i++) {
        if (counts[order[i].state] == 0)
            continue;
        fprintf(out, "%s%zu %s", sep, counts[order[i].state], order[i].label);
        sep = ", ";
    }
    fprintf(out, " (of %zu, %.2fs)\n", run->n + run->forgotten, run->duration);
}

int atb_report_text(const struct atb_run *run, FILE *out, int verbose)
{
    size_t width = 0, wwidth = 20;
    char what[160];

    /* Columns as wide as the widest name and description shown. */
    for (size_t i = 0; i < run->n; i++) {
        const struct atb_result *res = &run->cmds[i]->res;
        size_t len = strlen(res->name);

        if (!verbose && res->state == ATB_STATE_SUCCEEDED)
            continue;
        if (len > width)
            width = len;
        describe(run, res, what, sizeof(what));
        if (strlen(what) > wwidth)
            wwidth = strlen(what);
    }
    headline(run, out);
    for (size_t i = 0; i < run->n; i++) {
        const struct atb_result *res = &run->cmds[i]->res;

        if (!verbose && res->state == ATB_STATE_SUCCEEDED)
            continue;
        describe(run, res, what, sizeof(what));
        if (res->started_s < 0)
            fprintf(out, "  %-*s  %s\n", (int)width, res->name, what);
        else
            fprintf(out, "  %-*s  %-*s %7.2fs\n", (int)width, res->name, (int)wwidth, what,
                    res->duration_s);
    }
    return fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}

/* Seconds rounded to the millisecond: enough for people and CI, and short. */
static cJSON *seconds(double s)
{
    return cJSON_CreateNumber(round(s * 1000) / 1000);
}

static cJSON *command_json(const struct atb_run *run, const struct atb_result *res)
{
    cJSON *o = cJSON_CreateObject(), *argv = cJSON_CreateArray();
    const char *sig = res->term_signal ? atb_signal_name(res->term_signal) : NULL;
    char what[160], signame[16];

    if (o == NULL || argv == NULL) {
        cJSON_Delete(o);
        cJSON_Delete(argv);
        return NULL;
    }
    cJSON_AddStringToObject(o, "name", res->name);
    for (size_t i = 0; res->argv[i] != NULL; i++)
        cJSON_AddItemToArray(argv, cJSON_CreateString(res->argv[i]));
    cJSON_AddItemToObject(o, "argv", argv);
    if (res->pid > 0)
        cJSON_AddNumberToObject(o, "pid", res->pid);
    else
        cJSON_AddNullToObject(o, "pid");
    cJSON_AddStringToObject(o, "state", atb_state_name(res->state));
    if (res->exit_code >= 0)
        cJSON_AddNumberToObject(o, "exit_code", res->exit_code);
    else
        cJSON_AddNullToObject(o, "exit_code");
    if (sig == NULL && res->term_signal > 0) {
        snprintf(signame, sizeof(signame), "SIG%d", res->term_signal);
        sig = signame;
    }
    if (sig)
        cJSON_AddStringToObject(o, "signal", sig);
    else
        cJSON_AddNullToObject(o, "signal");
    cJSON_AddBoolToObject(o, "killed", res->killed);
    if (res->started_s >= 0)
        cJSON_AddItemToObject(o, "started_s", seconds(res->started_s));
    else
        cJSON_AddNullToObject(o, "started_s");
    if (res->started_s >= 0 && res->pid > 0)
        cJSON_AddItemToObject(o, "duration_s", seconds(res->duration_s));
    else
        cJSON_AddNullToObject(o, "duration_s");
    cJSON_AddBoolToObject(o, "service", res->service);
    cJSON_AddBoolToObject(o, "cleanup", res->cleanup);
    if (res->error != NULL) {
        cJSON_AddStringToObject(o, "error", res->error);
    } else if (res->start_error == -ENOENT) {
        cJSON_AddStringToObject(o, "error", "command not found");
    } else if (res->start_error != 0) {
        describe(run, res, what, sizeof(what));
        cJSON_AddStringToObject(o, "error", what);
    } else {
        cJSON_AddNullToObject(o, "error");
    }
    return o;
}

int atb_report_json(const struct atb_run *run, FILE *out)
{
    cJSON *root = cJSON_CreateObject(), *cmds = cJSON_CreateArray();
    char *text = NULL;
    int rc = -ENOMEM;

    if (root == NULL || cmds == NULL) {
        cJSON_Delete(cmds);
        goto out;
    }
    cJSON_AddNumberToObject(root, "atb", 1);
    cJSON_AddStringToObject(root, "mode", atb_mode_name(run->opts.mode));
    cJSON_AddNumberToObject(root, "exit_status", atb_run_exit_status(run));
    cJSON_AddStringToObject(root, "outcome", atb_outcome_name(atb_run_outcome(run)));
    cJSON_AddItemToObject(root, "duration_s", seconds(run->duration));
    if (run->forgotten > 0)
        cJSON_AddNumberToObject(root, "succeeded_unlisted", (double)run->forgotten);
    if (run->winner)
        cJSON_AddStringToObject(root, "winner", run->winner->res.name);
    else
        cJSON_AddNullToObject(root, "winner");
    cJSON_AddItemToObject(root, "commands", cmds);
    for (size_t i = 0; i < run->n; i++) {
        cJSON *c = command_json(run, &run->cmds[i]->res);
        if (c == NULL)
            goto out;
        cJSON_AddItemToArray(cmds, c);
    }
    text = cJSON_Print(root);
    if (text == NULL)
        goto out;
    rc = fputs(text, out) < 0 || fputc('\n', out) == EOF || fflush(out) != 0 ? -EIO : 0;
out:
    free(text);
    cJSON_Delete(root);
    return rc;
}
