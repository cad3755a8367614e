/* options: the options that set a run's settings, shared by the modes
 * (atb pool...) and atb run, so that both spell and check them the same
 * way. Values are checked as they are parsed (a bad one is a usage error
 * before anything else happens) and applied to the run later, after a
 * spec's settings, which they beat. */
#include "cmd.h"

#include <errno.h>
#include <limits.h>
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

void cmd_bad_option(const char *who, char **argv, int at, int opt)
{
    const char *word = argv[at - 1];

    if (opt == ':')
        cmd_err("%s: option '%s' needs a value", who, word);
    else if (strncmp(word, "--", 2) == 0)
        cmd_err("%s: unknown option '%s'", who, word);
    else
        cmd_err("%s: unknown option '-%c'", who, optopt);
}

int cmd_no_pidfd(void)
{
    const char *v = getenv("ATB_NO_PIDFD");

    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}
