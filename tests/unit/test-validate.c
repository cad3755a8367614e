/* validate.c: the one validator, through atb_run_check() on runs built
 * with atb_run_new()/atb_run_add(). No run is ever started: every rule is
 * checked before anything would start, so no process is needed here. Each
 * test checks the whole struct atb_error (code, id, key, index, text),
 * since the CLI and the spec turn exactly those fields into messages. */
#include "unit.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "runs.h"

/* Bytes the heap holds now: what a leak makes grow. The harness's
 * children leave through _exit(), so LeakSanitizer never runs in them;
 * a test that must not leak measures instead. */
#if defined(__SANITIZE_ADDRESS__)
/* From <sanitizer/allocator_interface.h>, which not every compiler
 * package installs; the ASan runtime always has it. */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void)
{
    return __sanitizer_get_current_allocated_bytes();
}
#else
#include <malloc.h>
static size_t heap_in_use(void)
{
    return mallinfo2().uordblks;
}
#endif

static struct atb_run *new_run(void)
{
    struct atb_run *run;

    ASSERT_EQ(atb_run_new(&run), 0);
    return run;
}

static int add(struct atb_run *run, const struct atb_cmd *c)
{
    int id = atb_run_add(run, c);

    if (id < 0)
        unit_fail(__FILE__, __LINE__, "atb_run_add: %s", atb_strerror(id));
    return id;
}

static int add_sh(struct atb_run *run, const char *name, const char *line)
{
    struct atb_cmd c = CMD_SH(name, line);

    return add(run, &c);
}

/* Checks run expecting code; the error struct is garbage beforehand, so
 * every field asserted is one the validator wrote. */
static struct atb_error refused(struct atb_run *run, int code)
{
    struct atb_error err;
    int rc;

    memset(&err, 0x5a, sizeof(err));
    rc = atb_run_check(run, &err);
    if (rc != code)
        unit_fail(__FILE__, __LINE__, "atb_run_check: %d (%s), expected %d; text: %.320s", rc,
                  atb_strerror(rc), code, rc < 0 ? err.text : "");
    ASSERT_EQ(err.code, code);
    /* Runs have no spec position or path: those stay empty. */
    ASSERT_EQ(err.line, 0);
    ASSERT_EQ(err.col, 0);
    ASSERT_STR_EQ(err.path, "");
    ASSERT(memchr(err.text, '\0', sizeof(err.text)) != NULL);
    return err;
}

static void accepted(struct atb_run *run)
{
    struct atb_error err;
    int rc = atb_run_check(run, &err);

    if (rc != 0)
        unit_fail(__FILE__, __LINE__, "refused: %d key %s index %d: %s", rc,
                  err.key ? err.key : "(null)", err.index, err.text);
}

static const struct atb__cmd *cmd_of(const struct atb_run *run, int id)
{
    const struct atb__cmd *cmd = atb__cmd_by_id(run, id);

    ASSERT(cmd != NULL);
    return cmd;
}

TEST(empty_run_is_valid)
{
    struct atb_run *run = new_run();

    accepted(run);
    atb_run_free(run);
}

/* The input command must exist by the time of the check; the error names
 * no command (id -1), only the key. */
TEST(input_command_missing)
{
    struct atb_run *run = new_run();
    struct atb_error err;

    add_sh(run, "a", "cat");
    ASSERT_EQ(atb_run_set_input(run, "nobody", 0), 0);
    err = refused(run, ATB_ENONAME);
    ASSERT_EQ(err.id, -1);
    ASSERT_STR_EQ(err.key, "input");
    ASSERT_EQ(err.index, -1);
    ASSERT_STR_EQ(err.text, "no command is named 'nobody'");
    /* Naming a command that exists (here by its default name, assigned by
     * the check) is fine, and marks that command alone. */
    ASSERT_EQ(atb_run_set_input(run, "cat -n", 0), 0);
    add_sh(run, NULL, "cat -n");
    accepted(run);
    ASSERT_EQ(cmd_of(run, 0)->input, 0);
    ASSERT_EQ(cmd_of(run, 1)->input, 1);
    /* Moving the input elsewhere clears the old mark. */
    ASSERT_EQ(atb_run_set_input(run, "a", 0), 0);
    accepted(run);
    ASSERT_EQ(cmd_of(run, 0)->input, 1);
    ASSERT_EQ(cmd_of(run, 1)->input, 0);
    atb_run_free(run);
}

/* Every key a cleanup command cannot have is refused, and the error names
 * that key. A cleanup command runs after everything else has ended: it
 * has nobody to serve, shield from or be waited for by. */
TEST(cleanup_refuses_its_forbidden_keys)
{
    static const char *const keys[] = {"service",  "shield",   "ready_when",
                                       "sets",     "wait_for", "ready_timeout"};
    char *waits[] = {"a", NULL};

    for (size_t i = 0; i < ATB__ARRAY_SIZE(keys); i++) {
        struct atb_run *run = new_run();
        struct atb_cmd c = CMD_SH("clean", "true");
        struct atb_error err;

        add_sh(run, "a", "true");
        c.cleanup = 1;
        switch (i) {
        case 0: c.service = 1; break;
        case 1: c.shield = 1; break;
        case 2: c.ready_when = "up"; break;
        case 3: c.sets = "done"; break;
        case 4: c.wait_for = waits; break;
        default: c.ready_timeout_s = 1; break;
        }
        ASSERT_EQ(add(run, &c), 1);
        err = refused(run, ATB_ECLEANUP);
        ASSERT_EQ(err.id, 1);
        ASSERT_STR_EQ(err.key, keys[i]);
        ASSERT_EQ(err.index, -1);
        ASSERT_STR_EQ(err.text, "not allowed in a cleanup command");
        atb_run_free(run);
    }
}

/* A plain cleanup command passes, and it is no command's dependency:
 * waiting for one would wait past the end of every main command. */
TEST(cleanup_is_valid_but_cannot_be_waited_for)
{
    struct atb_run *run = new_run();
    struct atb_cmd c = CMD_SH("clean", "rm -f x"), w = CMD_SH("w", "true");
    char *waits[] = {"clean", NULL};
    struct atb_error err;

    c.cleanup = 1;
    c.timeout_s = 5;
    add(run, &c);
    accepted(run);
    w.wait_for = waits;
    ASSERT_EQ(add(run, &w), 1);
    err = refused(run, ATB_EDEPS);
    ASSERT_EQ(err.id, 1);
    ASSERT_STR_EQ(err.key, "wait_for");
    ASSERT_EQ(err.index, 0);
    atb_run_free(run);
}

TEST(bad_ready_when)
{
    struct atb_run *run = new_run();
    struct atb_cmd good = CMD_SH("good", "true"), bad = CMD_SH("bad", "true");
    struct atb_error err;

    good.ready_when = "^listening on [0-9]+$";
    bad.ready_when = "([a-z]";
    add(run, &good);
    accepted(run);
    ASSERT(cmd_of(run, 0)->ready_re != NULL);
    ASSERT_EQ(add(run, &bad), 1);
    err = refused(run, ATB_EREGEX);
    ASSERT_EQ(err.id, 1);
    ASSERT_STR_EQ(err.key, "ready_when");
    ASSERT_EQ(err.index, -1);
    ASSERT(strncmp(err.text, "not a usable extended regular expression: ",
                   strlen("not a usable extended regular expression: ")) == 0);
    /* The reason follows the colon. */
    ASSERT(strlen(err.text) > strlen("not a usable extended regular expression: "));
    ASSERT(cmd_of(run, 1)->ready_re == NULL);
    atb_run_free(run);
}

/* sets: a bare name must be a valid latch name; anything with a '/' is a
 * path and taken as it is (the latch module checks its folder later). */
TEST(sets_latch_names_and_paths)
{
    static const char *const bad[] = {"", ".hidden", "a b", "semi;colon", "tab\there", "é"};
    static const char *const good[] = {"db-up", "a.b_c-1", "/tmp/atb-unit/flag", "../x",
                                       "dir/.hidden"};
    char longname[ATB_LATCH_NAME_MAX + 2];

    for (size_t i = 0; i < ATB__ARRAY_SIZE(bad) + 1; i++) {
        struct atb_run *run = new_run();
        struct atb_cmd c = CMD_SH("a", "true");
        struct atb_error err;

        if (i < ATB__ARRAY_SIZE(bad)) {
            c.sets = bad[i];
        } else {
            memset(longname, 'x', sizeof(longname) - 1);
            longname[sizeof(longname) - 1] = '\0'; /* one over the limit */
            c.sets = longname;
        }
        add_sh(run, "first", "true");
        add(run, &c);
        err = refused(run, ATB_ELATCHNAME);
        ASSERT_EQ(err.id, 1);
        ASSERT_STR_EQ(err.key, "sets");
        ASSERT_EQ(err.index, -1);
        ASSERT(strstr(err.text, "invalid latch name") == err.text);
        atb_run_free(run);
    }
    for (size_t i = 0; i < ATB__ARRAY_SIZE(good) + 1; i++) {
        struct atb_run *run = new_run();
        struct atb_cmd c = CMD_SH("a", "true");

        if (i < ATB__ARRAY_SIZE(good)) {
            c.sets = good[i];
        } else {
            memset(longname, 'x', ATB_LATCH_NAME_MAX);
            longname[ATB_LATCH_NAME_MAX] = '\0'; /* exactly the limit */
            c.sets = longname;
        }
        add(run, &c);
        accepted(run);
        atb_run_free(run);
    }
}

/* Two commands setting one latch: which one's readiness would it mean?
 * The second one is named, and the first in the text. */
TEST(two_commands_set_one_latch)
{
    struct atb_run *run = new_run();
    struct atb_cmd a = CMD_SH("a", "true"), b = CMD_SH("b", "true");
    struct atb_error err;

    a.sets = "up";
    b.sets = "up";
    add_sh(run, "x", "true");
    add(run, &a);
    add(run, &b);
    err = refused(run, ATB_EDEPS);
    ASSERT_EQ(err.id, 2);
    ASSERT_STR_EQ(err.key, "sets");
    ASSERT_EQ(err.index, -1);
    ASSERT_STR_EQ(err.text, "latch 'up' is also set by a");
    atb_run_free(run);
}

/* A wait_for entry that names no command and no latch: the index is the
 * entry's, so a spec can point at wait_for[1]. */
TEST(wait_for_naming_nothing)
{
    struct atb_run *run = new_run();
    struct atb_cmd w = CMD_SH("w", "true");
    char *waits[] = {"a", "nobody", NULL};
    struct atb_error err;

    add_sh(run, "a", "true");
    w.wait_for = waits;
    add(run, &w);
    err = refused(run, ATB_EDEPS);
    ASSERT_EQ(err.id, 1);
    ASSERT_STR_EQ(err.key, "wait_for");
    ASSERT_EQ(err.index, 1);
    ASSERT_STR_EQ(err.text, "'nobody' is neither a command's name nor a latch that a command sets");
    atb_run_free(run);
}

/* A service is ready only when ready_when matched; without one, whoever
 * waits for it would wait forever. Through its name or its latch alike. */
TEST(wait_for_service_without_ready_when)
{
    for (int via_latch = 0; via_latch < 2; via_latch++) {
        struct atb_run *run = new_run();
        struct atb_cmd db = CMD_SH("db", "exec sleep 100"), app = CMD_SH("app", "true");
        char *waits[] = {"x", via_latch ? "db-up" : "db", NULL};
        struct atb_error err;

        db.service = 1;
        db.sets = "db-up";
        app.wait_for = waits;
        add_sh(run, "x", "true");
        add(run, &db);
        add(run, &app);
        err = refused(run, ATB_EDEPS);
        ASSERT_EQ(err.id, 2);
        ASSERT_STR_EQ(err.key, "wait_for");
        ASSERT_EQ(err.index, 1);
        ASSERT(strstr(err.text, "is a service without ready_when, so it is never ready") !=
               NULL);
        ASSERT(strstr(err.text, via_latch ? "'db-up'" : "'db'") == err.text);
        atb_run_free(run);
    }
}

TEST(wait_for_service_with_ready_when)
{
    struct atb_run *run = new_run();
    struct atb_cmd db = CMD_SH("db", "exec sleep 100"), app = CMD_SH("app", "true");
    char *waits[] = {"db", NULL};

    db.service = 1;
    db.ready_when = "ready";
    app.wait_for = waits;
    add(run, &db);
    add(run, &app);
    accepted(run);
    ASSERT_EQ(cmd_of(run, 1)->ndeps, 1);
    ASSERT(cmd_of(run, 1)->deps[0] == cmd_of(run, 0));
    atb_run_free(run);
}

/* The default name "sleep 1#2" is assigned by the check itself, and a
 * wait_for may name it (the spec used to refuse names with '#'): it
 * resolves to the second unnamed "sleep 1", not the first. */
TEST(wait_for_default_name_with_suffix)
{
    struct atb_run *run = new_run();
    struct atb_cmd w = CMD_SH("w", "true");
    char *waits[] = {"sleep 1#2", "sleep 1", NULL};

    add_sh(run, NULL, "sleep 1");
    add_sh(run, NULL, "sleep 1");
    w.wait_for = waits;
    add(run, &w);
    accepted(run);
    ASSERT_STR_EQ(atb_run_result(run, 1)->name, "sleep 1#2");
    ASSERT_EQ(cmd_of(run, 2)->ndeps, 2);
    ASSERT_EQ(cmd_of(run, 2)->deps[0]->res.id, 1);
    ASSERT_EQ(cmd_of(run, 2)->deps[1]->res.id, 0);
    atb_run_free(run);
}

/* A wait_for entry naming a latch: met by the command that sets it. */
TEST(wait_for_latch_another_command_sets)
{
    struct atb_run *run = new_run();
    struct atb_cmd mig = CMD_SH("migrate", "true"), test = CMD_SH("test", "true");
    char *waits[] = {"migrated", NULL};

    mig.sets = "migrated";
    test.wait_for = waits;
    add_sh(run, "other", "true");
    add(run, &test);
    add(run, &mig); /* the setter may come after the waiter */
    accepted(run);
    ASSERT_EQ(cmd_of(run, 1)->ndeps, 1);
    ASSERT_EQ(cmd_of(run, 1)->deps[0]->res.id, 2);
    atb_run_free(run);
}

/* A cycle is reported on the command that closes it, at the wait_for entry
 * that closes it, with the loop spelled out from its first member. */
TEST(cycle_of_one)
{
    struct atb_run *run = new_run();
    struct atb_cmd a = CMD_SH("a", "true");
    char *waits[] = {"a", NULL};
    struct atb_error err;

    a.wait_for = waits;
    add(run, &a);
    err = refused(run, ATB_EDEPS);
    ASSERT_EQ(err.id, 0);
    ASSERT_STR_EQ(err.key, "wait_for");
    ASSERT_EQ(err.index, 0);
    ASSERT_STR_EQ(err.text, "dependency cycle: a -> a");
    atb_run_free(run);
}

TEST(cycle_of_one_through_its_own_latch)
{
    struct atb_run *run = new_run();
    struct atb_cmd a = CMD_SH("a", "true");
    char *waits[] = {"a-up", NULL};
    struct atb_error err;

    a.sets = "a-up";
    a.wait_for = waits;
    add(run, &a);
    err = refused(run, ATB_EDEPS);
    ASSERT_STR_EQ(err.text, "dependency cycle: a -> a");
    atb_run_free(run);
}

TEST(cycle_of_two)
{
    struct atb_run *run = new_run();
    struct atb_cmd a = CMD_SH("a", "true"), b = CMD_SH("b", "true");
    char *wa[] = {"b", NULL}, *wb[] = {"ok", "a", NULL};
    struct atb_error err;

    a.wait_for = wa;
    b.wait_for = wb;
    add(run, &a);
    add(run, &b);
    add_sh(run, "ok", "true");
    err = refused(run, ATB_EDEPS);
    ASSERT_EQ(err.id, 1);            /* b closes it */
    ASSERT_STR_EQ(err.key, "wait_for");
    ASSERT_EQ(err.index, 1);         /* at its entry "a" */
    ASSERT_STR_EQ(err.text, "dependency cycle: a -> b -> a");
    atb_run_free(run);
}

/* Three commands, one link through a latch; and a command leading into
 * the cycle ("r") is not part of it, so it is not in the text. */
TEST(cycle_of_three)
{
    struct atb_run *run = new_run();
    struct atb_cmd r = CMD_SH("r", "true"), a = CMD_SH("a", "true"), b = CMD_SH("b", "true"),
                   c = CMD_SH("c", "true");
    char *wr[] = {"a", NULL}, *wa[] = {"b", NULL}, *wb[] = {"c-up", NULL}, *wc[] = {"a", NULL};
    struct atb_error err;

    r.wait_for = wr;
    a.wait_for = wa;
    b.wait_for = wb;
    c.sets = "c-up";
    c.wait_for = wc;
    add(run, &r);
    add(run, &a);
    add(run, &b);
    add(run, &c);
    err = refused(run, ATB_EDEPS);
    ASSERT_EQ(err.id, 3);
    ASSERT_STR_EQ(err.key, "wait_for");
    ASSERT_EQ(err.index, 0);
    ASSERT_STR_EQ(err.text, "dependency cycle: a -> b -> c -> a");
    atb_run_free(run);
}

/* A diamond (two paths to one command) is no cycle: a DFS that marked
 * commands "on the path" but never "done" would call it one. */
TEST(diamond_is_not_a_cycle)
{
    struct atb_run *run = new_run();
    struct atb_cmd top = CMD_SH("top", "true"), l = CMD_SH("l", "true"), r = CMD_SH("r", "true");
    char *wt[] = {"l", "r", NULL}, *wl[] = {"base", NULL}, *wr[] = {"base", NULL};

    top.wait_for = wt;
    l.wait_for = wl;
    r.wait_for = wr;
    add(run, &top);
    add(run, &l);
    add(run, &r);
    add_sh(run, "base", "true");
    accepted(run);
    atb_run_free(run);
}

/* User text in error messages is quoted and escaped (struct atb_error):
 * a command's name with a terminal escape in it must not reach a terminal
 * raw through the cycle or the latch message. */
TEST(names_in_messages_are_escaped)
{
    struct atb_run *run = new_run();
    struct atb_cmd a = CMD_SH("a\033[2J", "true"), b = CMD_SH("b", "true");
    char *wa[] = {"b", NULL}, *wb[] = {"a\033[2J", NULL};
    struct atb_error err;

    a.wait_for = wa;
    b.wait_for = wb;
    add(run, &a);
    add(run, &b);
    err = refused(run, ATB_EDEPS);
    ASSERT(strstr(err.text, "dependency cycle: ") == err.text);
    if (strchr(err.text, '\033') != NULL)
        unit_fail(__FILE__, __LINE__, "raw ESC in the cycle message");
    atb_run_free(run);

    run = new_run();
    a.wait_for = NULL;
    a.sets = "up";
    b = (struct atb_cmd)CMD_SH("b", "true");
    b.sets = "up";
    add(run, &a);
    add(run, &b);
    err = refused(run, ATB_EDEPS);
    ASSERT_STR_EQ(err.key, "sets");
    if (strchr(err.text, '\033') != NULL)
        unit_fail(__FILE__, __LINE__, "raw ESC in the latch message");
    atb_run_free(run);
}

/* ---- long chains: the DFS is iterative ---- */

#define CHAIN 20000
/* The latch chain is checked in time that grows with the square of its
 * length (each latch is looked up among all the commands), so it is kept
 * shorter: a sanitizer build on a slow machine stays far inside the
 * harness's time limit. */
#define LATCH_CHAIN 10000

/* A run of CHAIN commands, c<i> waiting for c<i+1>: the search from c0
 * goes CHAIN deep. close_cycle: the last one waits for c0. */
static struct atb_run *chain(int close_cycle)
{
    struct atb_run *run = new_run();
    char name[32], next[32];
    char *waits[] = {next, NULL};

    for (int i = 0; i < CHAIN; i++) {
        struct atb_cmd c = CMD_SH(name, "true");

        snprintf(name, sizeof(name), "c%d", i);
        snprintf(next, sizeof(next), "c%d", i + 1 < CHAIN ? i + 1 : 0);
        c.wait_for = i + 1 < CHAIN || close_cycle ? waits : NULL;
        ASSERT_EQ(add(run, &c), i);
    }
    return run;
}

struct check_job {
    struct atb_run *run;
    struct atb_error err;
    int rc;
    double seconds;
};

static void *check_thread(void *arg)
{
    struct check_job *job = arg;
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    job->rc = atb_run_check(job->run, &job->err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    job->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    return NULL;
}

/* Runs the check on a thread with a small stack: a recursive search, one
 * frame per link, would overflow it (a crash the harness reports) where
 * the main thread's 8 MiB might have hidden it. */
static void check_on_small_stack(struct check_job *job, const char *what, int n)
{
    pthread_attr_t attr;
    pthread_t t;

    ASSERT_EQ(pthread_attr_init(&attr), 0);
    ASSERT_EQ(pthread_attr_setstacksize(&attr, 256 * 1024), 0);
    ASSERT_EQ(pthread_create(&t, &attr, check_thread, job), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    pthread_attr_destroy(&attr);
    /* stderr: the child leaves through _exit(), which flushes no stdio. */
    fprintf(stderr, "# %s: %d commands checked in %.3f s\n", what, n, job->seconds);
}

TEST(long_chain_without_stack_overflow)
{
    struct check_job job = {.run = chain(0)};

    check_on_small_stack(&job, "chain", CHAIN);
    if (job.rc != 0)
        unit_fail(__FILE__, __LINE__, "refused: %s", job.err.text);
    ASSERT_EQ(cmd_of(job.run, 0)->ndeps, 1);
    ASSERT_EQ(cmd_of(job.run, 0)->deps[0]->res.id, 1);
    ASSERT_EQ(cmd_of(job.run, CHAIN - 1)->ndeps, 0);
    atb_run_free(job.run);
}

/* The same chain closed into one cycle of CHAIN commands: the message is
 * cut to fit the text field, and starts where the loop starts. */
TEST(long_cycle_message_is_bounded)
{
    struct check_job job = {.run = chain(1)};

    check_on_small_stack(&job, "cycle", CHAIN);
    ASSERT_EQ(job.rc, ATB_EDEPS);
    ASSERT_EQ(job.err.id, CHAIN - 1);
    ASSERT_STR_EQ(job.err.key, "wait_for");
    ASSERT_EQ(job.err.index, 0);
    ASSERT(strncmp(job.err.text, "dependency cycle: c0 -> c1 -> c2 -> ", 36) == 0);
    ASSERT(memchr(job.err.text, '\0', sizeof(job.err.text)) != NULL);
    ASSERT_EQ(strlen(job.err.text), sizeof(job.err.text) - 1);
    atb_run_free(job.run);
}

/* A chain whose every link is a latch: each wait_for entry is found
 * through the commands' sets, and each sets is checked for a second
 * setter. Timed for the record, never asserted. */
TEST(long_chain_through_latches)
{
    struct atb_run *run = new_run();
    char name[32], mine[32], next[32];
    char *waits[] = {next, NULL};
    struct check_job job;

    for (int i = 0; i < LATCH_CHAIN; i++) {
        struct atb_cmd c = CMD_SH(name, "true");

        snprintf(name, sizeof(name), "c%d", i);
        snprintf(mine, sizeof(mine), "l%d", i);
        snprintf(next, sizeof(next), "l%d", i + 1);
        c.sets = mine;
        c.wait_for = i + 1 < LATCH_CHAIN ? waits : NULL;
        ASSERT_EQ(add(run, &c), i);
    }
    job.run = run;
    check_on_small_stack(&job, "latch chain", LATCH_CHAIN);
    if (job.rc != 0)
        unit_fail(__FILE__, __LINE__, "refused: %s", job.err.text);
    ASSERT_EQ(cmd_of(run, 0)->deps[0]->res.id, 1);
    atb_run_free(run);
}

/* ---- the check as an API ---- */

/* The check may be called again (atb_run_start() calls it after the
 * caller did): the same answer, the same names, and nothing lost on the
 * way (a regex compiled again, a deps array replaced without a free). */
TEST(check_twice)
{
    struct atb_run *run = new_run();
    struct atb_cmd a = CMD_SH(NULL, "sleep 1"), b = CMD_SH(NULL, "sleep 1"),
                   w = CMD_SH("w", "true");
    char *waits[] = {"sleep 1#2", NULL};
    struct atb_error err;
    size_t before;

    a.ready_when = "x+";
    a.sets = "s";
    w.wait_for = waits;
    add(run, &a);
    add(run, &b);
    add(run, &w);
    /* glibc counts chunks parked in its per-thread cache as in use, so
     * the count settles only after a few rounds of the same frees. */
    for (int i = 0; i < 20; i++)
        accepted(run);
    before = heap_in_use();
    /* Each check frees what the one before made: 200 of them leave the
     * heap as it was (a lost 8-byte array would be 1600 bytes). */
    for (int i = 0; i < 200; i++)
        accepted(run);
    if (heap_in_use() > before + 256)
        unit_fail(__FILE__, __LINE__, "200 more checks kept %zu bytes", heap_in_use() - before);
    ASSERT_STR_EQ(atb_run_result(run, 0)->name, "sleep 1");
    ASSERT_STR_EQ(atb_run_result(run, 1)->name, "sleep 1#2");
    ASSERT_EQ(cmd_of(run, 2)->ndeps, 1);
    ASSERT_EQ(cmd_of(run, 2)->deps[0]->res.id, 1);
    ASSERT_EQ(atb_run_find(run, "sleep 1#3"), ATB_ENONAME);
    atb_run_free(run);

    /* A refusal is the same refusal the second time. */
    run = new_run();
    a = (struct atb_cmd)CMD_SH("a", "true");
    waits[0] = "a";
    a.wait_for = waits;
    add(run, &a);
    err = refused(run, ATB_EDEPS);
    ASSERT_STR_EQ(err.text, "dependency cycle: a -> a");
    err = refused(run, ATB_EDEPS);
    ASSERT_STR_EQ(err.text, "dependency cycle: a -> a");
    atb_run_free(run);
}

/* err may be NULL; and atb_run_error() says what the last failed check
 * found, as its comment in run.h promises. */
TEST(check_without_err_and_run_error)
{
    struct atb_run *run = new_run();
    struct atb_cmd a = CMD_SH("a", "true");
    char *waits[] = {"nobody", NULL};

    a.wait_for = waits;
    add(run, &a);
    ASSERT_EQ(atb_run_check(run, NULL), ATB_EDEPS);
    ASSERT_EQ(atb_run_error(run)->code, ATB_EDEPS);
    ASSERT_EQ(atb_run_error(run)->id, 0);
    ASSERT_STR_EQ(atb_run_error(run)->key, "wait_for");
    atb_run_free(run);
}

/* atb_run_add() checks what needs no other command: a taken given name,
 * an empty or malformed command, a struct not from ATB_CMD_INIT. A refused
 * command takes no id and leaves the name it collided with in place. */
TEST(add_refuses_duplicates_and_empty_commands)
{
    struct atb_run *run = new_run();
    char *none[] = {NULL}, *empty[] = {"", NULL}, *t[] = {"true", NULL};
    struct atb_cmd c;

    ASSERT_EQ(add_sh(run, "a", "true"), 0);
    c = (struct atb_cmd)CMD_SH("a", "false");
    ASSERT_EQ(atb_run_add(run, &c), ATB_EDUPNAME);
    ASSERT_EQ(atb_run_find(run, "a"), 0);
    c = (struct atb_cmd)CMD_SH(NULL, NULL);
    ASSERT_EQ(atb_run_add(run, &c), -EINVAL);
    c = (struct atb_cmd)CMD_ARGV(NULL, none);
    ASSERT_EQ(atb_run_add(run, &c), -EINVAL);
    c = (struct atb_cmd)CMD_ARGV(NULL, empty);
    ASSERT_EQ(atb_run_add(run, &c), -EINVAL);
    c = (struct atb_cmd)CMD_ARGV("", t);
    ASSERT_EQ(atb_run_add(run, &c), -EINVAL);
    c = (struct atb_cmd)CMD_ARGV("b", t);
    c.size = 0;
    ASSERT_EQ(atb_run_add(run, &c), -EINVAL);
    /* Both argv and shell: which one was meant? */
    c = (struct atb_cmd)CMD_ARGV("b", t);
    c.shell = "true";
    ASSERT_EQ(atb_run_add(run, &c), -EINVAL);
    ASSERT_EQ(atb_run_count(run), 1);
    c = (struct atb_cmd)CMD_ARGV("b", t);
    ASSERT_EQ(atb_run_add(run, &c), 1);
    ASSERT_EQ(atb_run_find(run, "b"), 1);
    accepted(run);
    atb_run_free(run);
}
