/* Durations, signal names and argv splitting. */
#include "unit.h"

#include <errno.h>
#include <signal.h>

#include "atb.h"

static double dur(const char *text)
{
    double v = -1;
    ASSERT_EQ(atb_duration_parse(text, &v), 0);
    return v;
}

TEST(duration_units)
{
    ASSERT_NEAR(dur("10"), 10, 1e-9);
    ASSERT_NEAR(dur("1.5s"), 1.5, 1e-9);
    ASSERT_NEAR(dur("250ms"), 0.25, 1e-9);
    ASSERT_NEAR(dur("2m"), 120, 1e-9);
    ASSERT_NEAR(dur("1h"), 3600, 1e-9);
    ASSERT_NEAR(dur("0"), 0, 1e-9);
    ASSERT_NEAR(dur(".5"), 0.5, 1e-9);
    ASSERT_NEAR(dur("3."), 3, 1e-9);
}

TEST(duration_rejects)
{
    static const char *bad[] = {"", "s", "-1", "+1", "1e3", "inf", "nan", "1 s", " 1",
                                "1sec", "1.2.3", "1h30m", "10x", ".", "0x10", "1S"};
    double v = 42;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (atb_duration_parse(bad[i], &v) != ATB_EDURATION)
            unit_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
    }
    ASSERT_EQ(atb_duration_parse(NULL, &v), ATB_EDURATION);
    ASSERT_NEAR(v, 42, 0); /* untouched on error */
    ASSERT_EQ(atb_duration_parse("99999999999999h", &v), ATB_EDURATION);
}

TEST(signal_names)
{
    int s = 0;

    ASSERT_EQ(atb_signal_parse("TERM", &s), 0);
    ASSERT_EQ(s, SIGTERM);
    ASSERT_EQ(atb_signal_parse("SIGTERM", &s), 0);
    ASSERT_EQ(s, SIGTERM);
    ASSERT_EQ(atb_signal_parse("15", &s), 0);
    ASSERT_EQ(s, SIGTERM);
    ASSERT_EQ(atb_signal_parse("int", &s), 0);
    ASSERT_EQ(s, SIGINT);
    ASSERT_EQ(atb_signal_parse("sigusr1", &s), 0);
    ASSERT_EQ(s, SIGUSR1);
    ASSERT_EQ(atb_signal_parse("9", &s), 0);
    ASSERT_EQ(s, SIGKILL);
    ASSERT_STR_EQ(atb_signal_name(SIGSEGV), "SIGSEGV");
    ASSERT_STR_EQ(atb_signal_name(SIGHUP), "SIGHUP");
    ASSERT(atb_signal_name(0) == NULL);
    ASSERT(atb_signal_name(999) == NULL);
}

TEST(signal_rejects)
{
    static const char *bad[] = {"", "SIG", "TERMX", "0", "999", "-15", "15x", "SIGSIGTERM"};
    int s = -7;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (atb_signal_parse(bad[i], &s) != ATB_ESIGNAL)
            unit_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
    }
    ASSERT_EQ(s, -7);
}

TEST(argv_split_groups)
{
    char *argv[] = {"make", "lint", "--", "make", "test", "--", "true"};
    struct atb_argv_group g[7];
    size_t n = 0;

    ASSERT_EQ(atb_argv_split(7, argv, "--", g, &n), 0);
    ASSERT_EQ(n, 3);
    ASSERT_EQ(g[0].argc, 2);
    ASSERT_STR_EQ(g[0].argv[1], "lint");
    ASSERT_EQ(g[1].argc, 2);
    ASSERT_STR_EQ(g[1].argv[0], "make");
    ASSERT_EQ(g[2].argc, 1);
    ASSERT_STR_EQ(g[2].argv[0], "true");
}

TEST(argv_split_custom_sep_keeps_dashes)
{
    char *argv[] = {"git", "log", "--", "x", ":::", "echo", "--"};
    struct atb_argv_group g[7];
    size_t n = 0;

    ASSERT_EQ(atb_argv_split(7, argv, ":::", g, &n), 0);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(g[0].argc, 4);
    ASSERT_STR_EQ(g[0].argv[2], "--");
    ASSERT_EQ(g[1].argc, 2);
    ASSERT_STR_EQ(g[1].argv[1], "--");
}

TEST(argv_split_empty_groups)
{
    char *a[] = {"a", "--", "--", "b"};
    char *b[] = {"a", "--"};
    char *c[] = {"--", "a"};
    struct atb_argv_group g[4];
    size_t n = 9;

    ASSERT_EQ(atb_argv_split(4, a, "--", g, &n), -EINVAL);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(atb_argv_split(2, b, "--", g, &n), -EINVAL);
    ASSERT_EQ(atb_argv_split(2, c, "--", g, &n), -EINVAL);
    ASSERT_EQ(atb_argv_split(0, a, "--", g, &n), -EINVAL);
}

TEST(default_names)
{
    char buf[64];

    ASSERT_EQ(atb_name_default("/usr/bin/make", 0, buf, sizeof(buf)), 4);
    ASSERT_STR_EQ(buf, "make");
    atb_name_default("./run-tests", 0, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "run-tests");
    atb_name_default("  ./ci/lint.sh --fix  ", 1, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "lint.sh --fix");
    atb_name_default("dir/", 0, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "dir");
    atb_name_default("", 1, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "cmd");
    ASSERT_EQ(atb_name_default("abcdef", 0, buf, 4), 6);
    ASSERT_STR_EQ(buf, "abc");
}
