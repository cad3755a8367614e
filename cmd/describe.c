/* describe: a run's results in words, one wording for the text report,
 * the JSON report, JUnit and atb shield; and the order reports list them
 * in. */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *cmd_line_shown(char *const *argv, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    if (argv == NULL || argv[0] == NULL)
        return buf;
    if (strcmp(argv[0], "/bin/sh") == 0 && argv[1] && strcmp(argv[1], "-c") == 0 && argv[2] &&
        argv[3] == NULL)
        argv += 2;
    for (size_t k = 0; argv[k] && used + 1 < size; k++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", k ? " " : "", argv[k]);
    for (unsigned char *p = (unsigned char *)buf; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
        else if (*p < 0x20 || *p == 0x7f)
            *p = '?';
    if (strlen(buf) > CMD_LINE_SHOWN)
        strcpy(buf + CMD_LINE_SHOWN - 3, "...");
    return buf;
}

double cmd_round(double x)
{
    return (double)(long long)(x < 0 ? x - 0.5 : x + 0.5);
}

void cmd_format_duration(char *buf, size_t size, double s)
{
    if (s > 0 && s < 1)
        snprintf(buf, size, "%gms", cmd_round(s * 1000));
    else
        snprintf(buf, size, "%gs", s);
}

static const char *signal_text(int signo, char *buf, size_t size)
{
    const char *name = atb_signal_name(signo);

    if (name)
        return name;
    snprintf(buf, size, "signal %d", signo);
    return buf;
}

/* Cancelled or never started: who did it, and how it ended. */
static int describe_stopped(const struct atb_run *run, const struct atb_result *res, char *buf,
                            size_t size)
{
    char grace[32], sig[24];

    switch (res->state) {
    case ATB_STATE_NOT_STARTED:
        if (res->error)
            snprintf(buf, size, "not started: %s", res->error);
        else
            snprintf(buf, size, "not started");
        return 1;
    case ATB_STATE_CANCELLED:
        if (res->killed && atb_run_killed_at_once(run)) {
            snprintf(buf, size, "cancelled, killed on a second %s",
                     signal_text(atb_run_killed_at_once(run), sig, sizeof(sig)));
        } else if (res->killed) {
            cmd_format_duration(grace, sizeof(grace), atb_run_get_grace(run));
            snprintf(buf, size, "cancelled, killed after %s grace", grace);
        } else {
            const char *name = atb_signal_name(res->sent_signal);
            snprintf(buf, size, "cancelled (%s)", name ? name : "?");
        }
        return 1;
    case ATB_STATE_TIMED_OUT:
        snprintf(buf, size, "timed out");
        return 1;
    default:
        return 0;
    }
}

void cmd_describe(const struct atb_run *run, const struct atb_result *res, char *buf,
                  size_t size)
{
    char sig[24];

    if (describe_stopped(run, res, buf, size))
        return;
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
        snprintf(buf, size, "cannot %s: %s",
                 cmd_status_of_start(res->start_error) == EXIT_CANNOT_EXEC ? "execute"
                                                                            : "start",
                 atb_strerror(res->start_error));
    else if (res->term_signal > 0)
        snprintf(buf, size, "killed by %s", signal_text(res->term_signal, sig, sizeof(sig)));
    else
        snprintf(buf, size, "exit %d", res->exit_code);
}

void cmd_each_result(const struct atb_run *run,
                     void (*fn)(const struct atb_result *res, void *ctx), void *ctx)
{
    int n = (int)atb_run_count(run);

    for (int pass = 0; pass < 2; pass++) {
        for (int id = 0; id < n; id++) {
            const struct atb_result *res = atb_run_result(run, id);
            if (res != NULL && res->cleanup == pass)
                fn(res, ctx);
        }
    }
}

static void count_one(const struct atb_result *res, void *ctx)
{
    (void)res;
    ++*(size_t *)ctx;
}

size_t cmd_listed(const struct atb_run *run)
{
    size_t n = 0;

    cmd_each_result(run, count_one, &n);
    return n;
}
