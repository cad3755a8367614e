/* The run engine through its public API, in both child-watch modes. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atb.h"
#include "capture.h"
#include "runs.h"

static struct atb_run *run_of(enum atb_mode mode, enum atb_watch watch, double grace)
{
    struct atb_run *run;

    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_mode(run, mode), 0);
    ASSERT_EQ(atb_run_set_watch(run, watch), 0);
    ASSERT_EQ(atb_run_set_cancel(run, SIGTERM, grace), 0);
    return run;
}

static void add_sh(struct atb_run *run, const char *name, const char *line)
{
    struct atb_cmd c = CMD_SH(name, line);
    ASSERT(atb_run_add(run, &c) >= 0);
}

static void pool_failure_cancels(enum atb_watch watch)
{
    struct atb_run *run = run_of(ATB_MODE_POOL, watch, 5);

    add_sh(run, "slow", "exec sleep 100");
    add_sh(run, "tree", "sleep 100 & sleep 100");
    add_sh(run, "bad", "exit 3");
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(cmd_run_status(run), 3);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_FAILED);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_result(run, 0)->term_signal, SIGTERM);
    ASSERT_EQ(atb_run_result(run, 0)->sent_signal, SIGTERM);
    ASSERT_EQ(atb_run_result(run, 1)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_result(run, 2)->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, 2)->exit_code, 3);
    atb_run_free(run);
}

TEST(pool_failure_cancels_pidfd)
{
    pool_failure_cancels(ATB_WATCH_PIDFD);
}

TEST(pool_failure_cancels_sigchld)
{
    pool_failure_cancels(ATB_WATCH_SIGCHLD);
}

static void escalates_to_sigkill(enum atb_watch watch)
{
    struct atb_run *run = run_of(ATB_MODE_POOL, watch, 0.2);
    char dir[] = "/tmp/atb-unit-XXXXXX", line[512], fifo[64];

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(fifo, sizeof(fifo), "%s/ready", dir);
    ASSERT_EQ(mkfifo(fifo, 0600), 0);
    /* The leader exits on TERM, its child ignores TERM: the group is
     * killed after the grace all the same. "bad" fails only once the
     * child has its TERM ignored (it writes to the fifo after the trap). */
    snprintf(line, sizeof(line),
             "sh -c 'trap \"\" TERM; echo >%s; exec sleep 100' & exec sleep 100", fifo);
    add_sh(run, "stubborn", line);
    snprintf(line, sizeof(line), "read x <%s; exit 1", fifo);
    add_sh(run, "bad", line);
    ASSERT_EQ(atb_run_exec(run), 0);
    unlink(fifo);
    rmdir(dir);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_CANCELLED);
    ASSERT_EQ(atb_run_result(run, 0)->killed, 1);
    ASSERT_EQ(atb_run_result(run, 1)->state, ATB_STATE_FAILED);
    atb_run_free(run);
}

TEST(escalates_to_sigkill_pidfd)
{
    escalates_to_sigkill(ATB_WATCH_PIDFD);
}

TEST(escalates_to_sigkill_sigchld)
{
    escalates_to_sigkill(ATB_WATCH_SIGCHLD);
}

TEST(wait_all_runs_everything)
{
    struct atb_run *run = run_of(ATB_MODE_WAIT_ALL, ATB_WATCH_AUTO, 5);

    add_sh(run, "a", "exit 2");
    add_sh(run, "b", "exit 0");
    add_sh(run, "c", "kill -SEGV $$");
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, 1)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(atb_run_result(run, 2)->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, 2)->term_signal, SIGSEGV);
    ASSERT(cmd_run_status(run) == 2 || cmd_run_status(run) == 128 + SIGSEGV);
    atb_run_free(run);
}

TEST(race_winner_and_not_found)
{
    struct atb_run *run = run_of(ATB_MODE_RACE, ATB_WATCH_AUTO, 5);
    char *missing[] = {"atb-no-such-program", NULL};
    struct atb_cmd c = CMD_ARGV(NULL, missing);

    add_sh(run, "slow", "exec sleep 100");
    ASSERT(atb_run_add(run, &c) >= 0);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_winner(run), 1);
    ASSERT_EQ(cmd_run_status(run), 127);
    ASSERT_STR_EQ(atb_run_result(run, 1)->name, "atb-no-such-program");
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_CANCELLED);
    atb_run_free(run);
}

TEST(jobs_limit_and_default_names)
{
    struct atb_run *run;
    char *t[] = {"true", NULL};
    struct atb_cmd c = CMD_ARGV(NULL, t);
    struct atb_cmd named = CMD_ARGV("true#2", t);

    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_jobs(run, 1), 0);
    ASSERT(atb_run_add(run, &c) >= 0);
    ASSERT(atb_run_add(run, &named) >= 0);
    ASSERT(atb_run_add(run, &c) >= 0);
    ASSERT_EQ(atb_run_add(run, &named), ATB_EDUPNAME);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(cmd_run_status(run), 0);
    ASSERT_STR_EQ(atb_run_result(run, 0)->name, "true");
    ASSERT_STR_EQ(atb_run_result(run, 1)->name, "true#2");
    ASSERT_STR_EQ(atb_run_result(run, 2)->name, "true#3");
    /* One at a time: each starts after the previous one ended. */
    ASSERT(atb_run_result(run, 1)->started_s >=
           atb_run_result(run, 0)->started_s + atb_run_result(run, 0)->duration_s);
    atb_run_free(run);
}

TEST(timeout_cancels)
{
    struct atb_run *run;

    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_timeout(run, 0.1), 0);
    add_sh(run, "slow", "exec sleep 100");
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(cmd_run_status(run), 124);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_TIMED_OUT);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_CANCELLED);
    atb_run_free(run);
}

/* Group mode: commands write into files; what is kept for reports is the
 * tail of stdout followed by stderr, and a command's block is its own. */
TEST(group_keeps_stdout_then_stderr)
{
    struct atb_run *run;
    const char *kept;
    size_t len = 0;
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC), saved[2];

    ASSERT(null >= 0);
    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_output(run, ATB_OUTPUT_GROUP), 0);
    ASSERT_EQ(atb_run_set_keep_output(run, 8), 0);
    add_sh(run, "a", "printf 1234567890; printf abc >&2");
    add_sh(run, "b", "true");
    /* The blocks go to our stdout and stderr: not into the TAP stream. */
    saved[0] = dup(1);
    saved[1] = dup(2);
    ASSERT(saved[0] >= 0 && saved[1] >= 0);
    dup2(null, 1);
    dup2(null, 2);
    ASSERT_EQ(atb_run_exec(run), 0);
    dup2(saved[0], 1);
    dup2(saved[1], 2);
    close(saved[0]);
    close(saved[1]);
    close(null);
    kept = atb_run_output(run, 0, &len);
    ASSERT(kept != NULL);
    ASSERT_EQ(len, 8);
    ASSERT(memcmp(kept, "67890abc", 8) == 0);
    ASSERT(atb_run_output(run, 1, &len) == NULL);
    atb_run_free(run);
}

/* A gate opened when command `id` has finished. */
struct after {
    struct gate gate;
    int id;
};

static void open_after(struct atb_run *run, const struct atb_event *ev, void *data)
{
    struct after *a = data;

    (void)run;
    if (ev->kind == ATB_EVENT_FINISHED && ev->id == a->id)
        gate_release(&a->gate);
}

/* keep_order: "a" finishes only after "b" has, yet its block comes
 * first; the cleanup command's block is not held for anyone. */
TEST(keep_order_writes_blocks_in_the_order_added)
{
    struct atb_run *run;
    struct after a = {.id = 1};
    int out = mem_file(), err = mem_file();
    char line[128], *text;

    gate_open(&a.gate);
    snprintf(line, sizeof(line), "read x <%s; echo A", a.gate.path);
    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_output(run, ATB_OUTPUT_GROUP), 0);
    ASSERT_EQ(atb_run_set_output_fds(run, out, err), 0);
    ASSERT_EQ(atb_run_set_keep_order(run, 1), 0);
    ASSERT_EQ(atb_run_on_event(run, open_after, &a), 0);
    add_sh(run, "a", line);
    add_sh(run, "b", "echo B");
    {
        struct atb_cmd c = CMD_SH("c", "echo C");
        c.cleanup = 1;
        ASSERT(atb_run_add(run, &c) >= 0);
    }
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(cmd_run_status(run), 0);
    ASSERT(atb_run_result(run, 1)->started_s + atb_run_result(run, 1)->duration_s <=
           atb_run_result(run, 0)->started_s + atb_run_result(run, 0)->duration_s);
    text = file_text(out, NULL);
    ASSERT_STR_EQ(text, "==> a <==\nA\n==> b <==\nB\n==> c <==\nC\n");
    free(text);
    atb_run_free(run);
    gate_close(&a.gate);
    close(out), close(err);
}

/* halt soon: the failure of "bad" starts nothing more ("never") but
 * cancels nothing: "slow", let through once "bad" has finished, ends on
 * its own and succeeds; the run fails. */
TEST(halt_soon_starts_nothing_more_and_cancels_nothing)
{
    struct atb_run *run;
    struct after a = {.id = 1};
    char line[128];

    gate_open(&a.gate);
    snprintf(line, sizeof(line), "read x <%s", a.gate.path);
    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_jobs(run, 2), 0);
    ASSERT_EQ(atb_run_set_halt_soon(run, 1), 0);
    ASSERT_EQ(atb_run_on_event(run, open_after, &a), 0);
    add_sh(run, "slow", line);
    add_sh(run, "bad", "exit 3");
    add_sh(run, "never", "true");
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(cmd_run_status(run), 3);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_FAILED);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(atb_run_result(run, 0)->sent_signal, 0);
    ASSERT_EQ(atb_run_result(run, 1)->state, ATB_STATE_FAILED);
    ASSERT_EQ(atb_run_result(run, 2)->state, ATB_STATE_NOT_STARTED);
    atb_run_free(run);
    gate_close(&a.gate);
}

/* A label names a command that has no name, made unique as default names
 * are; the input goes to a command chosen by id. */
TEST(labels_and_input_by_id)
{
    struct atb_run *run;
    char *cat[] = {"cat", NULL};
    struct atb_cmd c = CMD_ARGV(NULL, cat);
    int in[2], out = mem_file(), err = mem_file(), id;
    char *text;

    ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
    ASSERT_EQ(write(in[1], "fed\n", 4), 4);
    close(in[1]);
    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_output(run, ATB_OUTPUT_INHERIT), 0);
    ASSERT_EQ(atb_run_set_output_fds(run, out, err), 0);
    c.label = "";
    ASSERT_EQ(atb_run_add(run, &c), -EINVAL);
    c.label = "x/y";
    ASSERT(atb_run_add(run, &c) >= 0);
    id = atb_run_add(run, &c);
    ASSERT(id >= 0);
    ASSERT_EQ(atb_run_set_input_id(run, 7, in[0]), ATB_ENONAME);
    ASSERT_EQ(atb_run_set_input_id(run, id, -1), -EINVAL);
    ASSERT_EQ(atb_run_set_input_id(run, id, in[0]), 0);
    ASSERT(atb_run_get_input(run) == NULL);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_STR_EQ(atb_run_result(run, 0)->name, "x/y");
    ASSERT_STR_EQ(atb_run_result(run, 1)->name, "x/y#2");
    /* Only the chosen one read it; the other read /dev/null. */
    text = file_text(out, NULL);
    ASSERT_STR_EQ(text, "fed\n");
    free(text);
    atb_run_free(run);
    close(in[0]), close(out), close(err);
}

/* slot_env: each command gets a slot no other running one holds, the
 * lowest free; given back when it finishes. Two held open at a gate get
 * 1 and 2; the third, started once one of them finished, reuses one. */
TEST(slots_are_unique_among_running_commands)
{
    struct atb_run *run;
    struct after a = {.id = 1};
    int out = mem_file(), err = mem_file();
    char line[160], *text;

    gate_open(&a.gate);
    snprintf(line, sizeof(line), "echo $S; read x <%s", a.gate.path);
    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_slot_env(run, ""), -EINVAL);
    ASSERT_EQ(atb_run_set_slot_env(run, "A=B"), -EINVAL);
    ASSERT_EQ(atb_run_set_slot_env(run, "S"), 0);
    ASSERT_EQ(atb_run_set_jobs(run, 2), 0);
    ASSERT_EQ(atb_run_set_output(run, ATB_OUTPUT_GROUP), 0);
    ASSERT_EQ(atb_run_set_keep_order(run, 1), 0);
    ASSERT_EQ(atb_run_set_output_fds(run, out, err), 0);
    ASSERT_EQ(atb_run_on_event(run, open_after, &a), 0);
    add_sh(run, "a", line);
    add_sh(run, "b", "echo $S");
    add_sh(run, "c", "echo $S");
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(cmd_run_status(run), 0);
    text = file_text(out, NULL);
    /* a holds 1 until b has finished; c gets b's 2 back. */
    ASSERT_STR_EQ(text, "==> a <==\n1\n==> b <==\n2\n==> c <==\n2\n");
    free(text);
    atb_run_free(run);
    gate_close(&a.gate);
    close(out), close(err);
}
