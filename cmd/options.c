/* options: the options that set a run's settings, shared by the modes
 * (atb pool...) and atb run, so that both spell and check them the same
 * way. Values are checked as they are parsed (a bad one is a usage error
 * before anything else happens) and applied to the run later, after a
 * spec's settings, which they beat. */
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int duration(const char *who, const char *opt, const char *text, double *out)
{
    if (atb_duration_parse(text, out) == 0)
        return 0;
    cmd_err("%s: %s: invalid duration '%s' (use e.g. 10, 1.5s, 250ms, 2m, 1h)", who, opt,
            text);
    return -1;
}

static int jobs(const char *who, const char *text, unsigned *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || *end || end == text || v < 0 || v > INT_MAX) {
        cmd_err("%s: --jobs: expected a whole number (0: no limit), got '%s'", who, text);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

/* A number from lo to hi (whole: without a fraction) into out. */
static int number(const char *who, const char *opt, const char *text, int whole, double lo,
                  double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(text, &end);
    if (errno || *end || end == text || !(v >= lo && v <= hi) || (whole && v != (long)v)) {
        cmd_err("%s: %s: expected %s from %g to %g, got '%s'", who, opt,
                whole ? "a whole number" : "a number", lo, hi, text);
        return -1;
    }
    *out = v;
    return 0;
}

/* Retries and the launcher: how each command is run. As setting(). */
static int how_to_run(const char *who, int opt, const char *arg, struct atb_run *run)
{
    double s;

    switch (opt) {
    case CMD_OPT_RETRIES:
        if (number(who, "--retries", arg, 1, 0, 1000, &s) < 0)
            return -1;
        return run ? atb_run_set_retries(run, (unsigned)s) : 0;
    case CMD_OPT_RETRY_DELAY:
        if (duration(who, "--retry-delay", arg, &s) < 0)
            return -1;
        return run ? atb_run_set_retry_delay(run, s, atb_run_get_retry_backoff(run)) : 0;
    case CMD_OPT_RETRY_BACKOFF:
        if (number(who, "--retry-backoff", arg, 0, 1, 1000, &s) < 0)
            return -1;
        return run ? atb_run_set_retry_delay(run, atb_run_get_retry_delay(run), s) : 0;
    default: /* CMD_OPT_LAUNCHER */
        if (strcmp(arg, "local") != 0 && strcmp(arg, "slurm") != 0) {
            cmd_err("%s: --launcher: expected local or slurm, got '%s'", who, arg);
            return -1;
        }
        return run ? atb_run_set_launcher(run, arg[0] == 's' ? ATB_LAUNCHER_SLURM
                                                             : ATB_LAUNCHER_LOCAL)
                   : 0;
    }
}

/* Checks one setting's value; with run, applies it too. */
static int setting(const char *who, int opt, const char *arg, struct atb_run *run)
{
    enum atb_output output;
    enum atb_color color;
    unsigned n;
    double s;
    int signo;

    switch (opt) {
    case 'j':
        return jobs(who, arg, &n) < 0 ? -1 : run ? atb_run_set_jobs(run, n) : 0;
    case 's':
        if (atb_signal_parse(arg, &signo) < 0) {
            cmd_err("%s: --signal: unknown signal '%s'", who, arg);
            return -1;
        }
        return run ? atb_run_set_cancel(run, signo, atb_run_get_grace(run)) : 0;
    case 'g':
        if (duration(who, "--grace", arg, &s) < 0)
            return -1;
        return run ? atb_run_set_cancel(run, atb_run_get_cancel_signal(run), s) : 0;
    case 't':
        if (duration(who, "--timeout", arg, &s) < 0)
            return -1;
        return run ? atb_run_set_timeout(run, s) : 0;
    case 'o':
        if (atb_output_parse(arg, &output) < 0 || output == ATB_OUTPUT_EVENTS) {
            cmd_err("%s: --output: expected prefix, group or inherit, got '%s'", who, arg);
            return -1;
        }
        return run ? atb_run_set_output(run, output) : 0;
    case CMD_OPT_PREFIX:
        if (atb_prefix_check(arg) < 0) {
            cmd_err("%s: --prefix: unknown placeholder in '%s' (use {name}, {index}, "
                    "{pid}, {time})",
                    who, arg);
            return -1;
        }
        return run ? atb_run_set_prefix(run, arg) : 0;
    case CMD_OPT_COLOR:
        if (atb_color_parse(arg, &color) < 0) {
            cmd_err("%s: --color: expected auto, always or never, got '%s'", who, arg);
            return -1;
        }
        return run ? atb_run_set_color(run, 0, color) : 0;
    case CMD_OPT_NO_PAD:
        return run ? atb_run_set_pad(run, 0) : 0;
    case 'i':
        return run ? atb_run_set_input(run, arg, STDIN_FILENO) : 0;
    case 'k':
        return run ? atb_run_set_keep_order(run, 1) : 0;
    case CMD_OPT_HALT:
        /* GNU parallel's words; only the first failure is a trigger. */
        if (strcmp(arg, "now") == 0 || strcmp(arg, "now,fail=1") == 0)
            return run ? atb_run_set_halt_soon(run, 0) : 0;
        if (strcmp(arg, "soon") == 0 || strcmp(arg, "soon,fail=1") == 0)
            return run ? atb_run_set_halt_soon(run, 1) : 0;
        cmd_err("%s: --halt: expected now or soon (or now,fail=1, soon,fail=1), got '%s'", who,
                arg);
        return -1;
    case CMD_OPT_RETRIES:
    case CMD_OPT_RETRY_DELAY:
    case CMD_OPT_RETRY_BACKOFF:
    case CMD_OPT_LAUNCHER:
        return how_to_run(who, opt, arg, run);
    case CMD_OPT_NO_STDIN:
    case CMD_OPT_FOREGROUND:
    case CMD_OPT_PRESERVE_STATUS:
        return 0; /* the program's: see cmd_view_settings() */
    }
    return 1;
}

int cmd_setting(const char *who, int opt, const char *arg, struct cmd_settings *s)
{
    int rc = setting(who, opt, arg, NULL);

    if (rc != 0)
        return rc > 0 ? 0 : -1;
    if (s->n == CMD_SETTINGS_MAX) {
        cmd_err("%s: too many options (at most %d settings)", who, CMD_SETTINGS_MAX);
        return -1;
    }
    s->opt[s->n] = opt;
    s->arg[s->n++] = arg;
    return 1;
}

int cmd_settings_apply(const struct cmd_settings *s, struct atb_run *run)
{
    for (size_t i = 0; i < s->n; i++) {
        int rc = setting("", s->opt[i], s->arg[i], run);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int cmd_settings_has(const struct cmd_settings *s, int opt)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->opt[i] == opt)
            return 1;
    return 0;
}

void cmd_view_settings(const struct cmd_settings *s, struct cmd_view *view)
{
    view->color_chosen = cmd_settings_has(s, CMD_OPT_COLOR);
    view->no_stdin = cmd_settings_has(s, CMD_OPT_NO_STDIN);
    view->foreground = cmd_settings_has(s, CMD_OPT_FOREGROUND);
    view->preserve_status = cmd_settings_has(s, CMD_OPT_PRESERVE_STATUS);
    view->keep_order = cmd_settings_has(s, 'k');
}

const char *cmd_option_hint(const char *word, const struct option *longs,
                            const char *const *names, char *buf, size_t size)
{
    const char *all[128], *near;
    char typed[64];
    size_t n = 0, len;

    buf[0] = '\0';
    if (strncmp(word, "--", 2) != 0)
        return buf;
    len = strcspn(word + 2, "=");
    if (len >= sizeof(typed))
        return buf;
    memcpy(typed, word + 2, len);
    typed[len] = '\0';
    for (size_t i = 0; longs && longs[i].name && n < 128; i++)
        all[n++] = longs[i].name;
    for (size_t i = 0; names && names[i] && n < 128; i++)
        all[n++] = names[i] + 2; /* "--any": compared without the dashes */
    near = atb_nearest(typed, all, n);
    if (near)
        snprintf(buf, size, "; did you mean '--%s'?", near);
    return buf;
}

void cmd_bad_option(const char *who, char **argv, int at, int opt,
                    const struct option *longs)
{
    const char *word = argv[at - 1];
    char hint[96];

    if (opt == ':')
        cmd_err("%s: option '%s' needs a value", who, word);
    else if (strncmp(word, "--", 2) == 0)
        cmd_err("%s: unknown option '%s'%s", who, word,
                cmd_option_hint(word, longs, NULL, hint, sizeof(hint)));
    else
        cmd_err("%s: unknown option '-%c'", who, optopt);
}

int cmd_no_pidfd(void)
{
    const char *v = getenv("ATB_NO_PIDFD");

    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}
