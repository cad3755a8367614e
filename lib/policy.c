/* policy: what the end of one command means for its run, under the run's
 * mode. The policies are the task-group rules:
 *   pool, try-all  the first failure cancels everything else;
 *   wait-all       failures are collected, nothing is cancelled;
 *   race           the first to end (or, with first_success, to succeed)
 *                  wins and everything else is cancelled.
 * Pure functions: the scheduler asks, then acts on the answer. The names
 * of modes, states, outcomes, outputs and colours live here too, one table
 * each, for the program and the spec alike.
 */
#include "engine.h"

#include <errno.h>
#include <string.h>

enum atb__verdict atb__policy_on_end(enum atb_mode mode, int first_success, int halt_soon,
                                     int decided, const struct atb_result *res, int *fails,
                                     int *wins)
{
    enum atb_state state = res->state;

    *fails = state == ATB_STATE_FAILED || state == ATB_STATE_TIMED_OUT;
    *wins = 0;
    switch (mode) {
    case ATB_MODE_POOL:
    case ATB_MODE_TRY_ALL:
        if (!*fails)
            return ATB__CARRY_ON;
        return halt_soon ? ATB__DRAIN : ATB__CANCEL_ALL;
    case ATB_MODE_WAIT_ALL:
        return ATB__CARRY_ON;
    case ATB_MODE_RACE:
        /* A service is no contestant, and one that never started never
         * ran the race. */
        if (decided || res->service || state == ATB_STATE_CANCELLED ||
            state == ATB_STATE_NOT_STARTED)
            return ATB__CARRY_ON;
        if (first_success && state != ATB_STATE_SUCCEEDED)
            return ATB__CARRY_ON;
        *wins = 1;
        return ATB__CANCEL_ALL;
    }
    return ATB__CARRY_ON;
}

/* Looks text up in a table of names. */
static int lookup(const char *const *names, size_t n, const char *text)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] != NULL && strcmp(text, names[i]) == 0)
            return (int)i;
    return -1;
}

static const char *const mode_names[] = {"pool", "try-all", "wait-all", "race"};

const char *atb_mode_name(enum atb_mode mode)
{
    return (unsigned)mode < ATB__ARRAY_SIZE(mode_names) ? mode_names[mode] : "?";
}

int atb_mode_parse(const char *text, enum atb_mode *mode)
{
    int i = lookup(mode_names, ATB__ARRAY_SIZE(mode_names), text);

    if (i < 0)
        return ATB_EMODE;
    *mode = (enum atb_mode)i;
    return 0;
}

static const char *const output_names[] = {NULL, "inherit", "prefix", "group", "events"};

const char *atb_output_name(enum atb_output output)
{
    if (output == ATB_OUTPUT_AUTO)
        return "auto"; /* not in the table: the parser does not take it */
    return (unsigned)output < ATB__ARRAY_SIZE(output_names) ? output_names[output] : "?";
}

int atb_output_parse(const char *text, enum atb_output *output)
{
    int i = lookup(output_names, ATB__ARRAY_SIZE(output_names), text);

    if (i < 0)
        return -EINVAL;
    *output = (enum atb_output)i;
    return 0;
}

static const char *const color_names[] = {"auto", "always", "never"};

const char *atb_color_name(enum atb_color color)
{
    return (unsigned)color < ATB__ARRAY_SIZE(color_names) ? color_names[color] : "?";
}

int atb_color_parse(const char *text, enum atb_color *color)
{
    int i = lookup(color_names, ATB__ARRAY_SIZE(color_names), text);

    if (i < 0)
        return -EINVAL;
    *color = (enum atb_color)i;
    return 0;
}

const char *atb_state_name(enum atb_state state)
{
    static const char *const names[] = {"queued",    "running",     "succeeded",
                                        "failed",    "cancelled",   "not_started",
                                        "timed_out"};
    return (unsigned)state < ATB__ARRAY_SIZE(names) ? names[state] : "?";
}

const char *atb_outcome_name(enum atb_outcome outcome)
{
    static const char *const names[] = {"succeeded", "failed", "timed_out",
                                        "interrupted"};
    return (unsigned)outcome < ATB__ARRAY_SIZE(names) ? names[outcome] : "?";
}
