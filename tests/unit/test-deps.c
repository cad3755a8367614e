/* Readiness, wait_for, latches set on readiness, reverse-order cancel. */
#include "unit.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atb.h"
#include "internal.h"
#include "runs.h"

static struct atb_run *new_run(enum atb_mode mode)
{
    struct atb_run *run;

    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_mode(run, mode), 0);
    ASSERT_EQ(atb_run_set_cancel(run, SIGTERM, 5), 0);
    /* each command's output in one block */
    ASSERT_EQ(atb_run_set_output(run, ATB_OUTPUT_GROUP), 0);
    ASSERT_EQ(atb_run_set_latch_scope(run, 1), 0);
    return run;
}

static int add(struct atb_run *run, struct atb_cmd *c)
{
    int rc = atb_run_add(run, c);
    ASSERT(rc >= 0);
    return rc;
}

static double end_of(const struct atb_result *r)
{
    return r->started_s + r->duration_s;
}

TEST(ready_when_starts_dependents_and_service_is_cancelled_after)
{
    struct atb_run *run = new_run(ATB_MODE_POOL);
    char *waits[] = {"db", NULL};
    struct atb_cmd db = CMD_SH("db", "printf 'start'; sleep 0.1; echo 'ing up'; "
                                     "echo 'ready to accept connections'; exec sleep 100");
    struct atb_cmd app = CMD_SH("app", "test -f \"$ATB_LATCH_DIR/db-up\"");

    db.service = 1;
    db.ready_when = "ready to accept";
    db.sets = "db-up";
    app.wait_for = waits;
    add(run, &db);
    add(run, &app);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(cmd_run_status(run), 0);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_result(run, 1)->state, ATB_STATE_SUCCEEDED);
    atb_run_free(run);
}

TEST(latch_set_by_ready_command_is_visible_to_dependents)
{
    struct atb_run *run;
    char *waits[] = {"migrated", NULL};
    struct atb_cmd mig = CMD_SH("migrate", "exit 0");
    struct atb_cmd test = CMD_SH("test", "test -f \"$ATB_LATCH_DIR/migrated\"");

    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_latch_scope(run, 1), 0);
    ASSERT_EQ(atb_run_set_output(run, ATB_OUTPUT_GROUP), 0);
    mig.sets = "migrated";
    test.wait_for = waits;
    add(run, &mig);
    add(run, &test);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_result(run, 1)->state, ATB_STATE_SUCCEEDED);
    ASSERT(atb_run_result(run, 1)->started_s >= end_of(atb_run_result(run, 0)) - 0.001);
    atb_run_free(run);
}

TEST(cycle_is_refused_before_anything_starts)
{
    struct atb_run *run = new_run(ATB_MODE_POOL);
    char *wa[] = {"b", NULL}, *wb[] = {"c", NULL}, *wc[] = {"a", NULL};
    struct atb_cmd a = CMD_SH("a", "exit 0"), b = CMD_SH("b", "exit 0"), c = CMD_SH("c", "exit 0");

    a.wait_for = wa;
    b.wait_for = wb;
    c.wait_for = wc;
    add(run, &a);
    add(run, &b);
    add(run, &c);
    ASSERT_EQ(atb_run_exec(run), ATB_EDEPS);
    ASSERT(strstr(atb_run_error(run)->text, "cycle: a -> b -> c -> a") != NULL);
    ASSERT_EQ(atb_run_result(run, 0)->pid, 0);
    atb_run_free(run);
}

TEST(unknown_dependency_and_bad_regex_are_refused)
{
    struct atb_run *run = new_run(ATB_MODE_POOL);
    char *w[] = {"nobody", NULL};
    struct atb_cmd a = CMD_SH("a", "exit 0");

    a.wait_for = w;
    add(run, &a);
    ASSERT_EQ(atb_run_exec(run), ATB_EDEPS);
    ASSERT_STR_EQ(atb_run_error(run)->key, "wait_for");
    ASSERT_EQ(atb_run_error(run)->index, 0);
    ASSERT(strstr(atb_run_error(run)->text, "'nobody'") != NULL);
    atb_run_free(run);

    run = new_run(ATB_MODE_POOL);
    a.wait_for = NULL;
    a.ready_when = "(unclosed";
    add(run, &a);
    ASSERT_EQ(atb_run_exec(run), ATB_EREGEX);
    atb_run_free(run);

    /* Too large once compiled: refused before regcomp sees it. */
    run = new_run(ATB_MODE_POOL);
    a.ready_when = "(x{100}){100}";
    add(run, &a);
    ASSERT_EQ(atb_run_exec(run), ATB_EREGEX);
    ASSERT_EQ(atb_run_error(run)->id, 0);
    ASSERT_STR_EQ(atb_run_error(run)->key, "ready_when");
    ASSERT(strstr(atb_run_error(run)->text, "too large once compiled") != NULL);
    atb_run_free(run);
}

/* What the size bound lets through and what it stops, without ever
 * compiling a pattern that would take more than a few MiB. */
TEST(regex_size_bound)
{
    static const char *const fine[] = {
        "^listening on [0-9]+$",
        "ready to accept connections",
        "[0-9]{1,3}(\\.[0-9]{1,3}){3}",
        "(a|b|c)+[[:alpha:]]*\\)?",
        "[]a-z]{2,5}x{100}",
        "(((a*)*)*){100}",
        "(ab*)+(cd+)*",
    };
    static const char *const huge[] = {
        "(a{100}){100}",
        "(((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+",
        "(x|y{5000}){3}",
        "a{32767}",
        "((a*)*){1000}",
        "(a{999}[",                             /* then an error: too late */
    };
    static const char *const stacked[] = {
        "a++", "a**", "a+?", "x{2}{3}", "(a)*+",
        "`+++++++++++++++++++++/+++++++++++++[+", /* the fuzzer's */
    };
    char why[128], big[1300];
    regex_t re;

    for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
        if (atb__regex_compile(&re, fine[i], why, sizeof(why)) != 0)
            unit_fail(__FILE__, __LINE__, "refused '%s': %s", fine[i], why);
        regfree(&re);
    }
    for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
        ASSERT_EQ(atb__regex_compile(&re, huge[i], why, sizeof(why)), -1);
        if (strstr(why, "too large") == NULL)
            unit_fail(__FILE__, __LINE__, "'%s': %s", huge[i], why);
    }
    for (size_t i = 0; i < sizeof(stacked) / sizeof(stacked[0]); i++) {
        ASSERT_EQ(atb__regex_compile(&re, stacked[i], why, sizeof(why)), -1);
        if (strstr(why, "in a row") == NULL)
            unit_fail(__FILE__, __LINE__, "'%s': %s", stacked[i], why);
    }
    ASSERT_EQ(atb__regex_compile(&re, "(a+)\\1", why, sizeof(why)), -1);
    ASSERT(strstr(why, "back-references") != NULL);
    /* A long pattern is many nodes too. */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ASSERT_EQ(atb__regex_compile(&re, big, why, sizeof(why)), -1);
}

TEST(wait_all_dependency_failure_leaves_dependents_not_started)
{
    struct atb_run *run = new_run(ATB_MODE_WAIT_ALL);
    char *wb[] = {"a", NULL}, *wc[] = {"b", NULL};
    struct atb_cmd a = CMD_SH("a", "exit 3"), b = CMD_SH("b", "exit 0"),
                   c = CMD_SH("c", "exit 0"), d = CMD_SH("d", "exit 0");

    b.wait_for = wb;
    c.wait_for = wc;
    add(run, &a);
    add(run, &b);
    add(run, &c);
    add(run, &d);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(cmd_run_status(run), 3);
    ASSERT_EQ(atb_run_result(run, 1)->state, ATB_STATE_NOT_STARTED);
    ASSERT_STR_EQ(atb_run_result(run, 1)->error, "dependency a failed");
    ASSERT_EQ(atb_run_result(run, 2)->state, ATB_STATE_NOT_STARTED);
    ASSERT_STR_EQ(atb_run_result(run, 2)->error, "dependency b failed");
    ASSERT_EQ(atb_run_result(run, 3)->state, ATB_STATE_SUCCEEDED);
    atb_run_free(run);
}

TEST(cancel_runs_in_reverse_dependency_order)
{
    struct atb_run *run = new_run(ATB_MODE_POOL);
    char *w[] = {"db", NULL};
    /* The app takes a while to stop on TERM; the db must not be signalled
     * before it has, and says so if it was. */
    struct atb_cmd db = CMD_SH("db", "echo ready; exec sleep 100");
    struct atb_cmd app = CMD_SH("app", "trap 'sleep 0.3; exit 0' TERM; echo up; "
                                       "while :; do sleep 0.05; done");
    struct atb_cmd bad = CMD_SH("bad", NULL);
    char *w2[] = {"app", NULL};

    db.service = 1;
    db.ready_when = "^ready$";
    app.wait_for = w;
    app.ready_when = "^up$";
    bad.shell = "exit 7";
    bad.wait_for = w2;
    add(run, &db);
    add(run, &app);
    add(run, &bad);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(cmd_run_status(run), 7);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_result(run, 1)->state, ATB_STATE_CANCELLED);
    /* db ended after app had ended (app took ~0.3 s to stop). */
    ASSERT(end_of(atb_run_result(run, 0)) >= end_of(atb_run_result(run, 1)));
    atb_run_free(run);
}

TEST(ready_timeout_fails_the_command)
{
    struct atb_run *run = new_run(ATB_MODE_POOL);
    struct atb_cmd slow = CMD_SH("slow", "echo starting; exec sleep 100");

    slow.ready_when = "never printed";
    slow.ready_timeout_s = 0.2;
    add(run, &slow);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_TIMED_OUT);
    ASSERT_EQ(cmd_run_status(run), 124);
    atb_run_free(run);
}

static void count_cancels(struct atb_run *run, const struct atb_event *ev, void *data)
{
    (void)run;
    if (ev->kind == ATB_EVENT_CANCELLED)
        ((int *)data)[ev->id]++;
}

/* A cancel held for a command's dependents is not sent when the command
 * ends on its own meanwhile: that end is its own, not a cancel. Here the
 * app, on its TERM, tells db to exit 0 and ends only once db has: db holds
 * the second fifo open, so the app's read of it ends at db's exit. */
TEST(held_cancel_of_a_command_that_ended_on_its_own_is_not_sent)
{
    struct atb_run *run = new_run(ATB_MODE_POOL);
    char dir[] = "/tmp/atb-unit-XXXXXX", fifo[64], gone[64], dbline[200], appline[240];
    char *w_db[] = {"db", NULL}, *w_app[] = {"app", NULL};
    int cancels[3] = {0, 0, 0};
    struct atb_cmd db, app, bad = CMD_SH("bad", "exit 1");

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(fifo, sizeof(fifo), "%s/stop-db", dir);
    snprintf(gone, sizeof(gone), "%s/db-gone", dir);
    ASSERT_EQ(mkfifo(fifo, 0600), 0);
    ASSERT_EQ(mkfifo(gone, 0600), 0);
    snprintf(dbline, sizeof(dbline), "exec 3<>%s; echo ready; read x <%s; exit 0", gone, fifo);
    snprintf(appline, sizeof(appline),
             "trap 'echo >%s; cat <%s >/dev/null; exit 0' TERM; echo up; "
             "while :; do sleep 0.05; done",
             fifo, gone);
    db = CMD_SH("db", dbline);
    app = CMD_SH("app", appline);
    db.ready_when = "^ready$";
    app.ready_when = "^up$";
    app.wait_for = w_db;
    bad.wait_for = w_app;
    add(run, &db);
    add(run, &app);
    add(run, &bad);
    ASSERT_EQ(atb_run_on_event(run, count_cancels, cancels), 0);
    ASSERT_EQ(atb_run_exec(run), 0);
    unlink(fifo);
    unlink(gone);
    rmdir(dir);
    ASSERT_EQ(atb_run_result(run, 2)->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, 1)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(cancels[1], 1);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(atb_run_result(run, 0)->sent_signal, 0);
    ASSERT_EQ(cancels[0], 0);
    atb_run_free(run);
}
