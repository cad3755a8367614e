/* The options that set a run's settings, shared by the modes (atb pool...)
 * and atb run, so that both spell and check them the same way. */
#include "cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static int duration(const char *who, const char *opt, const char *text, double *out)
{
    if (atb_duration_parse(text, out) == 0)
        return 0;
    cmd_err("%s: %s: invalid duration '%s' (use e.g. 10, 1.5s, 250ms, 2m, 1h)", who, opt,
            text);
    return -1;
}

/* One word from a list: its index, or -1 after saying what was allowed. */
static int choice(const char *who, const char *opt, const char *text,
                  const char *const *words, size_t n, const char *list)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(text, words[i]) == 0)
            return (int)i;
    cmd_err("%s: %s: expected %s, got '%s'", who, opt, list, text);
    return -1;
}

int cmd_setting(const char *who, int opt, const char *arg, struct atb_opts *opts)
{
    static const char *const outputs[] = {"prefix", "group", "inherit"};
    static const enum atb_output output_values[] = {ATB_OUTPUT_PREFIX, ATB_OUTPUT_GROUP,
                                                    ATB_OUTPUT_INHERIT};
    static const char *const colors[] = {"auto", "always", "never"};
    static const enum atb_color color_values[] = {ATB_COLOR_AUTO, ATB_COLOR_ALWAYS,
                                                  ATB_COLOR_NEVER};
    char *end;
    long v;
    int i;

    switch (opt) {
    case 'j':
        errno = 0;
        v = strtol(arg, &end, 10);
        if (errno || *end || end == arg || v < 0 || v > INT_MAX) {
            cmd_err("%s: --jobs: expected a whole number (0: no limit), got '%s'", who, arg);
            return -1;
        }
        opts->jobs = (unsigned)v;
        return 1;
    case 's':
        if (atb_signal_parse(arg, &opts->cancel_signal) < 0) {
            cmd_err("%s: --signal: unknown signal '%s'", who, arg);
            return -1;
        }
        return 1;
    case 'g':
        return duration(who, "--grace", arg, &opts->grace_s) < 0 ? -1 : 1;
    case 't':
        return duration(who, "--timeout", arg, &opts->timeout_s) < 0 ? -1 : 1;
    case 'o':
        i = choice(who, "--output", arg, outputs, 3, "prefix, group or inherit");
        if (i < 0)
            return -1;
        opts->output = output_values[i];
        return 1;
    case CMD_OPT_PREFIX:
        if (atb_prefix_check(arg) < 0) {
            cmd_err("%s: --prefix: unknown placeholder in '%s' (use {name}, {index}, "
                    "{pid}, {time})",
                    who, arg);
            return -1;
        }
        opts->prefix = arg;
        return 1;
    case CMD_OPT_COLOR:
        i = choice(who, "--color", arg, colors, 3, "auto, always or never");
        if (i < 0)
            return -1;
        opts->color = color_values[i];
        return 1;
    case CMD_OPT_NO_PAD:
        opts->no_pad = 1;
        return 1;
    case 'i':
        opts->input = arg;
        return 1;
    }
    return 0;
}
