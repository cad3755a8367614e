/* prefix.c: checking prefix formats (atb_prefix_check) and rendering them
 * for one command (atb__prefix_render), on a command made by
 * atb__cmd_new() whose pid and id the test sets itself: nothing starts. */
#include "unit.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "runs.h"

TEST(check_known_placeholders)
{
    static const char *const ok[] = {
        "", "[{name}] ", "{name}", "{index}", "{pid}", "{time}",
        "{time} {name}#{index} ({pid}): ", "{name}{name}", "no placeholder",
        /* A closing brace alone is text. */
        "}", "a}b", "}{name}",
    };

    for (size_t i = 0; i < ATB__ARRAY_SIZE(ok); i++)
        if (atb_prefix_check(ok[i]) != 0)
            unit_fail(__FILE__, __LINE__, "refused \"%s\"", ok[i]);
}

/* Any '{' that does not open a known placeholder is refused: a typo would
 * otherwise be printed on every line of the output. */
TEST(check_unknown_placeholders)
{
    static const char *const bad[] = {
        "{", "x{", "{name", "{}", "{NAME}", "{ name}", "{name }", "{host}",
        "{{name}}", "[{name}] {", "{index}{pid}{times}", "{nam}e}",
    };

    for (size_t i = 0; i < ATB__ARRAY_SIZE(bad); i++)
        if (atb_prefix_check(bad[i]) != ATB_EPREFIX)
            unit_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
}

/* The setter goes through the same check and keeps the old format when
 * it refuses. */
TEST(set_prefix_checks)
{
    struct atb_run *run;

    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_prefix(run, "{"), ATB_EPREFIX);
    ASSERT_EQ(atb_run_set_prefix(run, "{pid} "), 0);
    ASSERT_EQ(atb_run_set_prefix(run, "{bad}"), ATB_EPREFIX);
    ASSERT_STR_EQ(run->set.prefix, "{pid} ");
    atb_run_free(run);
}

/* A command for rendering: named name, with id and pid as given. The
 * caller frees both. */
static struct atb__cmd *make_cmd(struct atb_run **run, const char *name, int id, pid_t pid)
{
    struct atb_cmd c = CMD_SH(name, "true");
    struct atb__cmd *cmd;

    ASSERT_EQ(atb_run_new(run), 0);
    ASSERT_EQ(atb__cmd_new(*run, &c, id, &cmd), 0);
    cmd->res.id = id;
    cmd->res.pid = pid;
    return cmd;
}

/* Renders format into a buffer large enough; asserts that the returned
 * length is that of the text. */
static const char *render(const char *format, const struct atb__cmd *cmd, int measuring)
{
    static char buf[256];
    size_t n;

    memset(buf, 'Z', sizeof(buf));
    n = atb__prefix_render(format, cmd, measuring, buf, sizeof(buf));
    ASSERT(n < sizeof(buf));
    ASSERT_EQ(strlen(buf), n);
    return buf;
}

TEST(render_name_index_pid)
{
    struct atb_run *run;
    struct atb__cmd *cmd = make_cmd(&run, "build", 6, 4242);

    ASSERT_STR_EQ(render("[{name}] ", cmd, 0), "[build] ");
    /* {index} counts from 1: the seventh command is 7. */
    ASSERT_STR_EQ(render("{index}", cmd, 0), "7");
    ASSERT_STR_EQ(render("{pid}", cmd, 0), "4242");
    ASSERT_STR_EQ(render("{name}/{index}/{pid}:{name}", cmd, 0), "build/7/4242:build");
    ASSERT_STR_EQ(render("", cmd, 0), "");
    ASSERT_STR_EQ(render("plain } text", cmd, 0), "plain } text");
    /* Unknown placeholders (refused by the check) are rendered as text,
     * never as garbage. */
    ASSERT_STR_EQ(render("{x}{", cmd, 0), "{x}{");
    cmd->res.id = 0;
    ASSERT_STR_EQ(render("{index}", cmd, 0), "1");
    atb__cmd_free(cmd);
    atb_run_free(run);
}

/* Measuring (before the start, to pad prefixes to one width): the pid is
 * not known yet, so it stands in as seven digits, the widest a pid gets;
 * the rest is what it will be. */
TEST(render_measuring)
{
    struct atb_run *run;
    struct atb__cmd *cmd = make_cmd(&run, "db", 0, 0);

    ASSERT_STR_EQ(render("{pid}", cmd, 1), "1234567");
    ASSERT_STR_EQ(render("[{name} {pid}] ", cmd, 1), "[db 1234567] ");
    ASSERT_STR_EQ(render("{index}", cmd, 1), "1");
    cmd->res.pid = 99;
    ASSERT_STR_EQ(render("{pid}", cmd, 1), "1234567");
    ASSERT_STR_EQ(render("{pid}", cmd, 0), "99");
    atb__cmd_free(cmd);
    atb_run_free(run);
}

static int seconds_of_day(const struct tm *tm)
{
    return tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
}

/* {time} is the local wall clock as HH:MM:SS.mmm, now. */
TEST(render_time)
{
    struct atb_run *run;
    struct atb__cmd *cmd = make_cmd(&run, "t", 0, 1);
    struct tm before, after;
    time_t t0, t1;
    char text[32];
    int h, m, s, ms, at;

    t0 = time(NULL);
    snprintf(text, sizeof(text), "%s", render("{time}", cmd, 0));
    t1 = time(NULL);
    ASSERT_EQ(strlen(text), 12);
    for (int i = 0; i < 12; i++) {
        if (i == 2 || i == 5)
            ASSERT_EQ(text[i], ':');
        else if (i == 8)
            ASSERT_EQ(text[i], '.');
        else
            ASSERT(text[i] >= '0' && text[i] <= '9');
    }
    ASSERT_EQ(sscanf(text, "%2d:%2d:%2d.%3d", &h, &m, &s, &ms), 4);
    ASSERT(h < 24 && m < 60 && s < 61 && ms < 1000);
    localtime_r(&t0, &before);
    localtime_r(&t1, &after);
    at = h * 3600 + m * 60 + s;
    /* Across midnight the comparison means nothing: skip it then. */
    if (seconds_of_day(&before) <= seconds_of_day(&after))
        ASSERT(at >= seconds_of_day(&before) && at <= seconds_of_day(&after));
    /* Measuring changes nothing about the time's width. */
    ASSERT_EQ(strlen(render("[{time}] ", cmd, 1)), 15);
    atb__cmd_free(cmd);
    atb_run_free(run);
}

/* Into a small buffer: NUL-terminated, never past size, holding the start
 * of the full text, and the full length returned (so the caller can grow
 * its buffer and render again). */
TEST(render_truncates)
{
    struct atb_run *run;
    struct atb__cmd *cmd = make_cmd(&run, "build", 0, 4242);
    const char *format = "[{name}] {pid} ";
    const char *full = "[build] 4242 ";
    char buf[32];

    for (size_t size = 1; size <= strlen(full) + 1; size++) {
        memset(buf, 'Z', sizeof(buf));
        ASSERT_EQ(atb__prefix_render(format, cmd, 0, buf, size), strlen(full));
        if (strlen(buf) != size - 1 || strncmp(buf, full, size - 1) != 0)
            unit_fail(__FILE__, __LINE__, "size %zu: \"%s\", expected the first %zu bytes of "
                      "\"%s\"", size, buf, size - 1, full);
        ASSERT_EQ(buf[size], 'Z');
    }
    /* size 0: nothing is written at all. */
    memset(buf, 'Z', sizeof(buf));
    ASSERT_EQ(atb__prefix_render(format, cmd, 0, buf, 0), strlen(full));
    ASSERT_EQ(buf[0], 'Z');
    atb__cmd_free(cmd);
    atb_run_free(run);
}
