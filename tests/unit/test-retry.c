/* Retries (lib/retry.c) through the public API, in both child-watch
 * modes: which attempts are tried again, what the run keeps of each, and
 * that only the last attempt's end counts. Also what a command used. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atb.h"
#include "runs.h"

/* A counter file: attempt k of a command "flaky N" prints "try k" and
 * fails until k reaches N. */
struct counter {
    char dir[32];
    char line[256];
};

static const char *flaky(struct counter *c, int n)
{
    if (c->dir[0] == '\0') {
        strcpy(c->dir, "/tmp/atb-unit-XXXXXX");
        ASSERT(mkdtemp(c->dir) != NULL);
    }
    snprintf(c->line, sizeof(c->line),
             "k=$(( $(cat %s/n 2>/dev/null || echo 0) + 1 )); echo $k >%s/n; echo try $k; "
             "[ $k -ge %d ]",
             c->dir, c->dir, n);
    return c->line;
}

static void counter_done(struct counter *c)
{
    char path[64];

    snprintf(path, sizeof(path), "%s/n", c->dir);
    unlink(path);
    ASSERT_EQ(rmdir(c->dir), 0);
}

struct seen {
    int retries, last_count;
    double last_delay;
};

static void on_event(struct atb_run *run, const struct atb_event *ev, void *data)
{
    struct seen *s = data;

    (void)run;
    if (ev->kind != ATB_EVENT_RETRY)
        return;
    s->retries++;
    s->last_count = ev->count;
    s->last_delay = ev->delay_s;
    /* The attempt that failed is kept by the time it is told. */
    ASSERT(atb_run_attempt(run, ev->id, ev->count - 2) != NULL);
}

static struct atb_run *new_run(enum atb_mode mode, enum atb_watch watch, struct seen *s)
{
    struct atb_run *run;

    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_mode(run, mode), 0);
    ASSERT_EQ(atb_run_set_watch(run, watch), 0);
    ASSERT_EQ(atb_run_set_output(run, ATB_OUTPUT_PREFIX), 0);
    ASSERT_EQ(atb_run_set_keep_output(run, 4096), 0);
    ASSERT_EQ(atb_run_on_event(run, on_event, s), 0);
    return run;
}

static void passes_on_the_third(enum atb_watch watch)
{
    struct seen s = {0};
    struct atb_run *run = new_run(ATB_MODE_POOL, watch, &s);
    struct counter c = {{0}};
    struct atb_cmd cmd = CMD_SH("unit", flaky(&c, 3));
    const struct atb_result *res, *a;
    const char *out;
    size_t len;
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

    ASSERT(fd >= 0);
    ASSERT_EQ(atb_run_set_output_fds(run, fd, fd), 0);
    ASSERT_EQ(atb_run_set_retries(run, 2), 0);
    ASSERT(atb_run_add(run, &cmd) >= 0);
    ASSERT_EQ(atb_run_exec(run), 0);
    res = atb_run_result(run, 0);
    ASSERT_EQ(res->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(res->attempt, 3);
    ASSERT_EQ(res->attempts_max, 3);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_SUCCEEDED);
    ASSERT_EQ(s.retries, 2);
    ASSERT_EQ(s.last_count, 3);
    for (int k = 0; k < 2; k++) {
        char want[16];

        a = atb_run_attempt(run, 0, k);
        ASSERT(a != NULL);
        ASSERT_EQ(a->state, ATB_STATE_FAILED);
        ASSERT_EQ(a->exit_code, 1);
        ASSERT_EQ(a->attempt, k + 1);
        ASSERT(a->pid > 0 && a->pid != res->pid);
        out = atb_run_attempt_output(run, 0, k, &len);
        snprintf(want, sizeof(want), "try %d\n", k + 1);
        ASSERT(out != NULL);
        ASSERT_EQ(len, strlen(want));
        ASSERT(memcmp(out, want, len) == 0);
    }
    ASSERT(atb_run_attempt(run, 0, 2) == NULL);
    ASSERT(atb_run_attempt(run, 0, -1) == NULL);
    out = atb_run_output(run, 0, &len);
    ASSERT(out != NULL && len == 6 && memcmp(out, "try 3\n", 6) == 0);
    /* Pidfds give what the leader used; SIGCHLD mode cannot know. */
    if (watch == ATB_WATCH_PIDFD)
        ASSERT(res->user_s >= 0 && res->system_s >= 0 && res->max_rss_kib > 0);
    else
        ASSERT(res->user_s == -1 && res->max_rss_kib == -1);
    atb_run_free(run);
    close(fd);
    counter_done(&c);
}

TEST(passes_on_the_third_pidfd)
{
    passes_on_the_third(ATB_WATCH_PIDFD);
}

TEST(passes_on_the_third_sigchld)
{
    passes_on_the_third(ATB_WATCH_SIGCHLD);
}

/* The pool fails only when the last attempt does, and cancels then. */
TEST(last_attempt_fails_the_pool)
{
    struct seen s = {0};
    struct atb_run *run = new_run(ATB_MODE_POOL, ATB_WATCH_AUTO, &s);
    struct counter c = {{0}};
    struct atb_cmd bad = CMD_SH("bad", flaky(&c, 100));
    struct atb_cmd slow = CMD_SH("slow", "exec sleep 100");
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

    ASSERT_EQ(atb_run_set_output_fds(run, fd, fd), 0);
    ASSERT_EQ(atb_run_set_cancel(run, SIGTERM, 5), 0);
    bad.retries = 2;
    bad.retry_delay_s = 0.05;
    bad.retry_backoff = 2;
    ASSERT(atb_run_add(run, &bad) >= 0);
    ASSERT(atb_run_add(run, &slow) >= 0);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, 0)->attempt, 3);
    ASSERT_EQ(atb_run_result(run, 1)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_first_failure(run, 0), 0);
    ASSERT_EQ(s.retries, 2);
    ASSERT_NEAR(s.last_delay, 0.1, 1e-9); /* 0.05, then 0.05 * 2 */
    /* Started again no sooner than the delay. */
    ASSERT(atb_run_attempt(run, 0, 1)->started_s - atb_run_attempt(run, 0, 0)->started_s >=
           0.05);
    atb_run_free(run);
    close(fd);
    counter_done(&c);
}

/* Cancelled by the run: its end is its own, never tried again. */
TEST(a_cancelled_attempt_is_not_retried)
{
    struct seen s = {0};
    struct atb_run *run = new_run(ATB_MODE_RACE, ATB_WATCH_AUTO, &s);
    struct atb_cmd slow = CMD_SH("slow", "exec sleep 100");
    struct atb_cmd quick = CMD_SH("quick", "exit 0");
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

    ASSERT_EQ(atb_run_set_output_fds(run, fd, fd), 0);
    slow.retries = 3;
    ASSERT(atb_run_add(run, &slow) >= 0);
    ASSERT(atb_run_add(run, &quick) >= 0);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_result(run, 0)->attempt, 1);
    ASSERT_EQ(s.retries, 0);
    atb_run_free(run);
    close(fd);
}

/* Not found: trying again cannot help. */
TEST(a_start_failure_is_not_retried)
{
    struct seen s = {0};
    struct atb_run *run = new_run(ATB_MODE_WAIT_ALL, ATB_WATCH_AUTO, &s);
    char *argv[] = {"/nonexistent/atb-unit", NULL};
    struct atb_cmd ghost = CMD_ARGV("ghost", argv);
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

    ASSERT_EQ(atb_run_set_output_fds(run, fd, fd), 0);
    ASSERT_EQ(atb_run_set_retries(run, 3), 0);
    ASSERT(atb_run_add(run, &ghost) >= 0);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_result(run, 0)->start_error, -ENOENT);
    ASSERT_EQ(atb_run_result(run, 0)->attempt, 1);
    ASSERT_EQ(s.retries, 0);
    atb_run_free(run);
    close(fd);
}

/* A service is never retried: refused by the validator, named. */
TEST(a_service_with_retries_is_refused)
{
    struct atb_run *run;
    struct atb_cmd db = CMD_SH("db", "exec sleep 100");
    struct atb_cmd t = CMD_SH("t", "true");
    struct atb_error err;

    ASSERT_EQ(atb_run_new(&run), 0);
    db.service = 1;
    db.retries = 1;
    ASSERT(atb_run_add(run, &db) >= 0);
    ASSERT(atb_run_add(run, &t) >= 0);
    ASSERT_EQ(atb_run_check(run, &err), ATB_ERETRY);
    ASSERT_EQ(err.id, 0);
    ASSERT_STR_EQ(err.key, "retries");
    atb_run_free(run);
    /* The run's retries leave services alone. */
    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_retries(run, 2), 0);
    db.retries = -1;
    ASSERT(atb_run_add(run, &db) >= 0);
    ASSERT(atb_run_add(run, &t) >= 0);
    ASSERT_EQ(atb_run_check(run, &err), 0);
    ASSERT_EQ(atb_run_result(run, 0)->attempts_max, 1);
    ASSERT_EQ(atb_run_result(run, 1)->attempts_max, 3);
    atb_run_free(run);
}

TEST(settings_are_checked)
{
    struct atb_run *run;
    struct atb_cmd c = CMD_SH(NULL, "true");

    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_retries(run, 1001), -EINVAL);
    ASSERT_EQ(atb_run_set_retry_delay(run, -1, 0), -EINVAL);
    ASSERT_EQ(atb_run_set_retry_delay(run, 1, 0.5), -EINVAL);
    ASSERT_EQ(atb_run_set_retry_delay(run, 1, 1001), -EINVAL);
    ASSERT_EQ(atb_run_set_retry_delay(run, 0.5, 3), 0);
    ASSERT_NEAR(atb_run_get_retry_delay(run), 0.5, 0);
    ASSERT_NEAR(atb_run_get_retry_backoff(run), 3, 0);
    c.retries = -2;
    ASSERT_EQ(atb_run_add(run, &c), -EINVAL);
    c.retries = 1001;
    ASSERT_EQ(atb_run_add(run, &c), -EINVAL);
    c.retries = 1;
    c.retry_delay_s = -0.5;
    ASSERT_EQ(atb_run_add(run, &c), -EINVAL);
    c.retry_delay_s = 0;
    c.retry_backoff = 0.5;
    ASSERT_EQ(atb_run_add(run, &c), -EINVAL);
    c.retry_backoff = 1;
    ASSERT(atb_run_add(run, &c) >= 0);
    atb_run_free(run);
}
