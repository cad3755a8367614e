/* The program's reports of a run (cmd/report.c, cmd/junit.c) and its exit
 * status table (cmd/exit.c), from real runs. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "atb.h"
#include "cmd.h"
#include "runs.h"

/* A run whose commands' output goes nowhere (not into the TAP stream). */
static struct atb_run *quiet_run(int *null)
{
    struct atb_run *run;

    *null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    ASSERT(*null >= 0);
    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_output_fds(run, *null, *null), 0);
    return run;
}

/* Writes a report of run to memory. */
static char *report(const struct atb_run *run, int kind, const char *suite)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);

    ASSERT(f != NULL);
    if (kind == 'j')
        ASSERT_EQ(cmd_report_junit(run, suite, f), 0);
    else if (kind == 'J')
        ASSERT_EQ(cmd_report_json(run, f), 0);
    else
        ASSERT_EQ(cmd_report_text(run, suite, f, 1), 0);
    fclose(f);
    return buf;
}

TEST(junit_states_and_escaping)
{
    char *argv_bad[] = {"sh", "-c", "printf 'a\\033[1m\\377\\000<&\\r\\n\\303\\251'; exit 3",
                        "x\x01y\xfe", NULL};
    char *argv_sleep[] = {"sleep", "100", NULL};
    char *argv_true[] = {"true", NULL};
    struct atb_cmd bad = CMD_ARGV("b<a>d&\"q'", argv_bad);
    struct atb_cmd slow = CMD_ARGV("slow", argv_sleep);
    struct atb_cmd later = CMD_ARGV("later", argv_true);
    int null;
    struct atb_run *run = quiet_run(&null);
    char *xml;

    ASSERT_EQ(atb_run_set_jobs(run, 2), 0);
    ASSERT_EQ(atb_run_set_output(run, ATB_OUTPUT_GROUP), 0);
    ASSERT_EQ(atb_run_set_keep_output(run, 64 * 1024), 0);
    ASSERT(atb_run_add(run, &bad) >= 0);
    ASSERT(atb_run_add(run, &slow) >= 0);
    ASSERT(atb_run_add(run, &later) >= 0);
    ASSERT_EQ(atb_run_exec(run), 0);
    close(null);
    xml = report(run, 'j', "suite \"1\"");
    ASSERT(strncmp(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites", 50) == 0);
    ASSERT(strstr(xml, "<testsuite name=\"suite &quot;1&quot;\" tests=\"3\" failures=\"1\" "
                       "errors=\"0\" skipped=\"2\"") != NULL);
    ASSERT(strstr(xml, "<testcase name=\"b&lt;a&gt;d&amp;&quot;q'\" classname=\"atb.pool\"") !=
           NULL);
    ASSERT(strstr(xml, "<failure message=\"exit 3\" type=\"exit\">") != NULL);
    ASSERT(strstr(xml, "; exit 3 x\xEF\xBF\xBDy\xEF\xBF\xBD</failure>") != NULL);
    ASSERT(strstr(xml, "<skipped message=\"cancelled (SIGTERM)\"/>") != NULL);
    ASSERT(strstr(xml, "<skipped message=\"not started\"/>") != NULL);
    ASSERT(strstr(xml, "<system-out>a\xEF\xBF\xBD[1m\xEF\xBF\xBD\xEF\xBF\xBD&lt;&amp;&#13;\n"
                       "\xC3\xA9</system-out>") != NULL);
    ASSERT(strstr(xml, "<property name=\"exit_status\" value=\"3\"/>") != NULL);
    /* Nothing but tab, newline and printable characters is left. */
    for (const unsigned char *p = (const unsigned char *)xml; *p; p++)
        ASSERT(*p >= 0x20 || *p == '\n' || *p == '\t');
    free(xml);
    xml = report(run, 'j', NULL);
    ASSERT(strstr(xml, "<testsuite name=\"atb\"") != NULL);
    free(xml);
    atb_run_free(run);
}

TEST(junit_write_error_and_no_output_kept)
{
    char *argv_echo[] = {"echo", "hi", NULL};
    struct atb_cmd c = CMD_ARGV(NULL, argv_echo);
    FILE *f = fopen("/dev/full", "we");
    int null;
    struct atb_run *run = quiet_run(&null);
    char *xml;

    ASSERT(f != NULL);
    ASSERT(atb_run_add(run, &c) >= 0);
    ASSERT_EQ(atb_run_exec(run), 0);
    close(null);
    /* The write's own error, not a made-up one. */
    ASSERT_EQ(cmd_report_junit(run, NULL, f), -ENOSPC);
    fclose(f);
    /* Output is kept only when asked for: no system-out then. */
    xml = report(run, 'j', NULL);
    ASSERT(strstr(xml, "system-out") == NULL);
    free(xml);
    atb_run_free(run);
}

/* The exit table: a command's own status, 124 for its time limit, 126 and
 * 127 when it could not start, 128+N for a signal; the first failure
 * decides, cleanup failures only after success. */
TEST(exit_table)
{
    struct atb_result r;

    memset(&r, 0, sizeof(r));
    r.state = ATB_STATE_FAILED;
    r.exit_code = 3;
    ASSERT_EQ(cmd_status_of(&r), 3);
    r.exit_code = -1;
    r.term_signal = SIGKILL;
    ASSERT_EQ(cmd_status_of(&r), 128 + SIGKILL);
    r.term_signal = 0;
    r.start_error = -ENOENT;
    ASSERT_EQ(cmd_status_of(&r), 127);
    r.start_error = -EACCES;
    ASSERT_EQ(cmd_status_of(&r), 126);
    r.start_error = ATB_ECWD;
    ASSERT_EQ(cmd_status_of(&r), 126);
    r.start_error = -EMFILE;
    ASSERT_EQ(cmd_status_of(&r), 125);
    r.start_error = 0;
    r.state = ATB_STATE_TIMED_OUT;
    ASSERT_EQ(cmd_status_of(&r), 124);
    r.state = ATB_STATE_FAILED;
    r.service = 1;
    r.exit_code = 0;
    r.error = "service exited early";
    ASSERT_EQ(cmd_status_of(&r), 1);
}

TEST(exit_status_of_runs)
{
    struct atb_cmd ok = CMD_SH("ok", "exit 0"), bad = CMD_SH("bad", "exit 4");
    struct atb_cmd late = CMD_SH("late", "exit 6");
    int null;
    struct atb_run *run = quiet_run(&null);
    char *text;

    late.cleanup = 1;
    ASSERT(atb_run_add(run, &ok) >= 0);
    ASSERT(atb_run_add(run, &late) >= 0);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(cmd_run_status(run), 6); /* only the cleanup failed */
    atb_run_free(run);
    close(null);

    run = quiet_run(&null);
    ASSERT_EQ(atb_run_set_mode(run, ATB_MODE_WAIT_ALL), 0);
    ASSERT(atb_run_add(run, &bad) >= 0);
    ASSERT(atb_run_add(run, &late) >= 0);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(cmd_run_status(run), 4); /* the main failure first */
    text = report(run, 't', NULL);
    ASSERT(strstr(text, "atb: wait-all failed: 2 failed (of 2, ") != NULL);
    ASSERT(strstr(text, "  bad   exit 4") != NULL);
    free(text);
    text = report(run, 'J', NULL);
    ASSERT(strstr(text, "\"exit_status\":\t4") != NULL);
    ASSERT(strstr(text, "\"cleanup\":\ttrue") != NULL);
    free(text);
    atb_run_free(run);
    close(null);
}
