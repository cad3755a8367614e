/* policy.c: what the end of one command means under each mode
 * (atb__policy_on_end), and the name tables of modes, outputs, colours,
 * states and outcomes. Pure functions: no run, no process. */
#include "unit.h"

#include <errno.h>
#include <string.h>

#include "engine.h"

/* The states a command can end in; QUEUED and RUNNING are not ends. */
static const enum atb_state ends[] = {ATB_STATE_SUCCEEDED, ATB_STATE_FAILED,
                                      ATB_STATE_CANCELLED, ATB_STATE_NOT_STARTED,
                                      ATB_STATE_TIMED_OUT};

struct verdict {
    enum atb__verdict v;
    int fails, wins;
};

/* Asks the policy, with both outputs set to garbage first: the policy must
 * write each of them on every path, or the scheduler would read a previous
 * command's answer. */
static struct verdict ask_halt(enum atb_mode mode, int first_success, int halt_soon, int decided,
                               enum atb_state state, int service)
{
    struct atb_result res;
    struct verdict out = {.fails = 7, .wins = 7};

    memset(&res, 0, sizeof(res));
    res.state = state;
    res.service = service;
    out.v = atb__policy_on_end(mode, first_success, halt_soon, decided, &res, &out.fails,
                               &out.wins);
    return out;
}

/* The same, halting now (the default). */
static struct verdict ask(enum atb_mode mode, int first_success, int decided, enum atb_state state,
                          int service)
{
    return ask_halt(mode, first_success, 0, decided, state, service);
}

static int is_failure(enum atb_state s)
{
    return s == ATB_STATE_FAILED || s == ATB_STATE_TIMED_OUT;
}

/* "fails" says whether the end counts as a failure of the run, in every
 * mode and whatever else is true: the report and the exit status rely on
 * it even where the mode cancels nothing. */
TEST(fails_is_the_state_in_every_mode)
{
    for (int mode = ATB_MODE_POOL; mode <= ATB_MODE_RACE; mode++)
        for (size_t i = 0; i < ATB__ARRAY_SIZE(ends); i++)
            for (int bits = 0; bits < 8; bits++) {
                struct verdict r = ask((enum atb_mode)mode, bits & 1, (bits >> 1) & 1, ends[i],
                                       (bits >> 2) & 1);
                if (r.fails != is_failure(ends[i]))
                    unit_fail(__FILE__, __LINE__, "%s %s fs=%d decided=%d service=%d: fails %d",
                              atb_mode_name((enum atb_mode)mode), atb_state_name(ends[i]),
                              bits & 1, (bits >> 1) & 1, (bits >> 2) & 1, r.fails);
            }
}

/* pool and try-all: a failure or a command's own timeout cancels the
 * rest; success, a cancel and "never started" do not. Nothing ever wins,
 * and decided (already stopping) changes nothing: a cancel asked twice is
 * harmless, and the first failure is recorded by the scheduler. */
TEST(pool_and_try_all_cancel_on_failure_or_timeout)
{
    enum atb_mode modes[] = {ATB_MODE_POOL, ATB_MODE_TRY_ALL};

    for (size_t m = 0; m < ATB__ARRAY_SIZE(modes); m++)
        for (size_t i = 0; i < ATB__ARRAY_SIZE(ends); i++)
            for (int bits = 0; bits < 8; bits++) {
                struct verdict r = ask(modes[m], bits & 1, (bits >> 1) & 1, ends[i],
                                       (bits >> 2) & 1);
                enum atb__verdict want = is_failure(ends[i]) ? ATB__CANCEL_ALL : ATB__CARRY_ON;
                if (r.v != want || r.wins != 0)
                    unit_fail(__FILE__, __LINE__, "%s %s bits=%d: verdict %d wins %d",
                              atb_mode_name(modes[m]), atb_state_name(ends[i]), bits, (int)r.v,
                              r.wins);
            }
    /* The two cases spelled out, so a reader sees them. */
    ASSERT_EQ(ask(ATB_MODE_POOL, 0, 0, ATB_STATE_FAILED, 0).v, ATB__CANCEL_ALL);
    ASSERT_EQ(ask(ATB_MODE_TRY_ALL, 0, 0, ATB_STATE_TIMED_OUT, 0).v, ATB__CANCEL_ALL);
    ASSERT_EQ(ask(ATB_MODE_POOL, 0, 0, ATB_STATE_SUCCEEDED, 0).v, ATB__CARRY_ON);
    /* A failed service fails a pool too (it "exited early"). */
    ASSERT_EQ(ask(ATB_MODE_POOL, 0, 0, ATB_STATE_FAILED, 1).v, ATB__CANCEL_ALL);
}

/* Halting soon, a pool's failure only stops the starting; nothing else
 * changes: a success carries on, a race still cancels all for its winner,
 * and wait-all still cancels nothing. */
TEST(halt_soon_drains_pools_only)
{
    for (size_t i = 0; i < ATB__ARRAY_SIZE(ends); i++) {
        struct verdict r = ask_halt(ATB_MODE_POOL, 0, 1, 0, ends[i], 0);
        struct verdict now = ask(ATB_MODE_POOL, 0, 0, ends[i], 0);

        ASSERT_EQ(r.v, is_failure(ends[i]) ? ATB__DRAIN : ATB__CARRY_ON);
        ASSERT_EQ(r.fails, now.fails);
        ASSERT_EQ(ask_halt(ATB_MODE_TRY_ALL, 0, 1, 0, ends[i], 0).v, r.v);
        ASSERT_EQ(ask_halt(ATB_MODE_WAIT_ALL, 0, 1, 0, ends[i], 0).v, ATB__CARRY_ON);
        ASSERT_EQ(ask_halt(ATB_MODE_RACE, 0, 1, 0, ends[i], 0).v,
                  ask(ATB_MODE_RACE, 0, 0, ends[i], 0).v);
    }
}

/* wait-all cancels nothing and has no winner, whatever happened. */
TEST(wait_all_never_cancels)
{
    for (size_t i = 0; i < ATB__ARRAY_SIZE(ends); i++)
        for (int bits = 0; bits < 8; bits++) {
            struct verdict r = ask(ATB_MODE_WAIT_ALL, bits & 1, (bits >> 1) & 1, ends[i],
                                   (bits >> 2) & 1);
            ASSERT_EQ(r.v, ATB__CARRY_ON);
            ASSERT_EQ(r.wins, 0);
        }
}

/* race: the first command to end wins, however it ended, and the rest are
 * cancelled: a failure that ends first is the run's result. */
TEST(race_first_to_end_wins)
{
    struct verdict r;

    r = ask(ATB_MODE_RACE, 0, 0, ATB_STATE_SUCCEEDED, 0);
    ASSERT_EQ(r.v, ATB__CANCEL_ALL);
    ASSERT_EQ(r.wins, 1);
    ASSERT_EQ(r.fails, 0);
    r = ask(ATB_MODE_RACE, 0, 0, ATB_STATE_FAILED, 0);
    ASSERT_EQ(r.v, ATB__CANCEL_ALL);
    ASSERT_EQ(r.wins, 1);
    ASSERT_EQ(r.fails, 1);
    r = ask(ATB_MODE_RACE, 0, 0, ATB_STATE_TIMED_OUT, 0);
    ASSERT_EQ(r.v, ATB__CANCEL_ALL);
    ASSERT_EQ(r.wins, 1);
    ASSERT_EQ(r.fails, 1);
}

/* Who never ran the race cannot win it: one the run cancelled (it lost),
 * one that never started, and a service (it runs alongside, not in the
 * race), even one that succeeded. */
TEST(race_cancelled_not_started_and_services_never_win)
{
    static const enum atb_state out[] = {ATB_STATE_CANCELLED, ATB_STATE_NOT_STARTED};

    for (size_t i = 0; i < ATB__ARRAY_SIZE(out); i++)
        for (int fs = 0; fs < 2; fs++) {
            struct verdict r = ask(ATB_MODE_RACE, fs, 0, out[i], 0);
            ASSERT_EQ(r.v, ATB__CARRY_ON);
            ASSERT_EQ(r.wins, 0);
        }
    for (size_t i = 0; i < ATB__ARRAY_SIZE(ends); i++)
        for (int fs = 0; fs < 2; fs++) {
            struct verdict r = ask(ATB_MODE_RACE, fs, 0, ends[i], 1);
            ASSERT_EQ(r.v, ATB__CARRY_ON);
            ASSERT_EQ(r.wins, 0);
        }
}

/* first_success: only a success wins; failures and timeouts are counted
 * as failures but the race goes on. */
TEST(race_first_success_only_successes_win)
{
    struct verdict r;

    r = ask(ATB_MODE_RACE, 1, 0, ATB_STATE_SUCCEEDED, 0);
    ASSERT_EQ(r.v, ATB__CANCEL_ALL);
    ASSERT_EQ(r.wins, 1);
    r = ask(ATB_MODE_RACE, 1, 0, ATB_STATE_FAILED, 0);
    ASSERT_EQ(r.v, ATB__CARRY_ON);
    ASSERT_EQ(r.wins, 0);
    ASSERT_EQ(r.fails, 1);
    r = ask(ATB_MODE_RACE, 1, 0, ATB_STATE_TIMED_OUT, 0);
    ASSERT_EQ(r.v, ATB__CARRY_ON);
    ASSERT_EQ(r.wins, 0);
    ASSERT_EQ(r.fails, 1);
}

/* Once decided (a winner exists, or the run is stopping), nobody else
 * wins and nothing more is asked: a second winner would replace the
 * first in the report. */
TEST(race_decided_carries_on)
{
    for (size_t i = 0; i < ATB__ARRAY_SIZE(ends); i++)
        for (int fs = 0; fs < 2; fs++) {
            struct verdict r = ask(ATB_MODE_RACE, fs, 1, ends[i], 0);
            ASSERT_EQ(r.v, ATB__CARRY_ON);
            ASSERT_EQ(r.wins, 0);
        }
}

/* A mode the library does not know (a caller's cast) cancels nothing. */
TEST(unknown_mode_carries_on)
{
    struct verdict r = ask((enum atb_mode)42, 0, 0, ATB_STATE_FAILED, 0);

    ASSERT_EQ(r.v, ATB__CARRY_ON);
    ASSERT_EQ(r.wins, 0);
    ASSERT_EQ(r.fails, 1);
}

TEST(mode_names_and_parse)
{
    static const char *const names[] = {"pool", "try-all", "wait-all", "race"};
    static const char *const bad[] = {"", "Pool", "POOL", "try_all", "tryall", "pool ",
                                      " pool", "wait", "race!", "?"};
    enum atb_mode m;

    for (int i = 0; i < 4; i++) {
        ASSERT_STR_EQ(atb_mode_name((enum atb_mode)i), names[i]);
        m = (enum atb_mode)-1;
        ASSERT_EQ(atb_mode_parse(names[i], &m), 0);
        ASSERT_EQ(m, i);
    }
    ASSERT_EQ(ATB_MODE_POOL, 0);
    ASSERT_EQ(ATB_MODE_RACE, 3);
    ASSERT_STR_EQ(atb_mode_name((enum atb_mode)4), "?");
    ASSERT_STR_EQ(atb_mode_name((enum atb_mode)-1), "?");
    /* A refused text leaves *mode as it was. */
    for (size_t i = 0; i < ATB__ARRAY_SIZE(bad); i++) {
        m = ATB_MODE_WAIT_ALL;
        if (atb_mode_parse(bad[i], &m) != ATB_EMODE)
            unit_fail(__FILE__, __LINE__, "'%s' was taken as a mode", bad[i]);
        ASSERT_EQ(m, ATB_MODE_WAIT_ALL);
    }
}

/* Outputs: four names, "events" among them; AUTO has none a caller can
 * parse (it is the absence of a choice), and neither has an unknown
 * value. */
TEST(output_names_and_parse)
{
    static const struct {
        enum atb_output o;
        const char *name;
    } known[] = {{ATB_OUTPUT_INHERIT, "inherit"},
                 {ATB_OUTPUT_PREFIX, "prefix"},
                 {ATB_OUTPUT_GROUP, "group"},
                 {ATB_OUTPUT_EVENTS, "events"}};
    static const char *const bad[] = {"auto", "", "Group", "event", "none", "(null)"};
    enum atb_output o;
    const char *name;

    for (size_t i = 0; i < ATB__ARRAY_SIZE(known); i++) {
        ASSERT_STR_EQ(atb_output_name(known[i].o), known[i].name);
        o = ATB_OUTPUT_AUTO;
        ASSERT_EQ(atb_output_parse(known[i].name, &o), 0);
        ASSERT_EQ(o, known[i].o);
    }
    for (size_t i = 0; i < ATB__ARRAY_SIZE(bad); i++) {
        o = ATB_OUTPUT_GROUP;
        if (atb_output_parse(bad[i], &o) != -EINVAL)
            unit_fail(__FILE__, __LINE__, "'%s' was taken as an output", bad[i]);
        ASSERT_EQ(o, ATB_OUTPUT_GROUP);
    }
    /* AUTO and unknown values still name something printable, which no
     * parser takes back as a choice. */
    name = atb_output_name(ATB_OUTPUT_AUTO);
    ASSERT(name != NULL);
    ASSERT_EQ(atb_output_parse(name, &o), -EINVAL);
    name = atb_output_name((enum atb_output)99);
    ASSERT(name != NULL);
    ASSERT_EQ(atb_output_parse(name, &o), -EINVAL);
    name = atb_output_name((enum atb_output)-1);
    ASSERT(name != NULL);
    ASSERT_EQ(atb_output_parse(name, &o), -EINVAL);
}

TEST(color_names_and_parse)
{
    static const char *const names[] = {"auto", "always", "never"};
    static const char *const bad[] = {"", "Always", "yes", "no", "on", "?"};
    enum atb_color c;

    for (int i = 0; i < 3; i++) {
        ASSERT_STR_EQ(atb_color_name((enum atb_color)i), names[i]);
        c = (enum atb_color)-1;
        ASSERT_EQ(atb_color_parse(names[i], &c), 0);
        ASSERT_EQ(c, i);
    }
    ASSERT_EQ(ATB_COLOR_ALWAYS, 1);
    ASSERT_STR_EQ(atb_color_name((enum atb_color)3), "?");
    ASSERT_STR_EQ(atb_color_name((enum atb_color)-1), "?");
    for (size_t i = 0; i < ATB__ARRAY_SIZE(bad); i++) {
        c = ATB_COLOR_NEVER;
        if (atb_color_parse(bad[i], &c) != -EINVAL)
            unit_fail(__FILE__, __LINE__, "'%s' was taken as a colour", bad[i]);
        ASSERT_EQ(c, ATB_COLOR_NEVER);
    }
}

/* The names reports and the JSON report use: part of the output format. */
TEST(state_and_outcome_names)
{
    ASSERT_STR_EQ(atb_state_name(ATB_STATE_QUEUED), "queued");
    ASSERT_STR_EQ(atb_state_name(ATB_STATE_RUNNING), "running");
    ASSERT_STR_EQ(atb_state_name(ATB_STATE_SUCCEEDED), "succeeded");
    ASSERT_STR_EQ(atb_state_name(ATB_STATE_FAILED), "failed");
    ASSERT_STR_EQ(atb_state_name(ATB_STATE_CANCELLED), "cancelled");
    ASSERT_STR_EQ(atb_state_name(ATB_STATE_NOT_STARTED), "not_started");
    ASSERT_STR_EQ(atb_state_name(ATB_STATE_TIMED_OUT), "timed_out");
    ASSERT_STR_EQ(atb_state_name((enum atb_state)7), "?");
    ASSERT_STR_EQ(atb_state_name((enum atb_state)-1), "?");
    ASSERT_STR_EQ(atb_outcome_name(ATB_OUTCOME_SUCCEEDED), "succeeded");
    ASSERT_STR_EQ(atb_outcome_name(ATB_OUTCOME_FAILED), "failed");
    ASSERT_STR_EQ(atb_outcome_name(ATB_OUTCOME_TIMED_OUT), "timed_out");
    ASSERT_STR_EQ(atb_outcome_name(ATB_OUTCOME_INTERRUPTED), "interrupted");
    ASSERT_STR_EQ(atb_outcome_name((enum atb_outcome)4), "?");
    ASSERT_STR_EQ(atb_outcome_name((enum atb_outcome)-1), "?");
}
