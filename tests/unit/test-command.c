/* command.c: one command's block (atb__cmd_new), its phases and the run's
 * tally (atb__cmd_phase, atb__tally_sum), and the state its leader's end
 * gives it (atb__cmd_leader_result). The owner is a struct atb_run from
 * atb_run_new(); commands are made and freed here without ever being
 * placed in the run or started. */
#include "unit.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "runs.h"

static struct atb_run *new_run(void)
{
    struct atb_run *run;

    ASSERT_EQ(atb_run_new(&run), 0);
    return run;
}

/* p lies inside cmd's one allocation. */
static int in_block(const struct atb__cmd *cmd, const void *p)
{
    const char *start = (const char *)cmd, *end = start + malloc_usable_size((void *)cmd);

    return (const char *)p >= start && (const char *)p < end;
}

#define ASSERT_IN_BLOCK(cmd, p)                                                          \
    do {                                                                                 \
        if (!in_block((cmd), (p)))                                                       \
            unit_fail(__FILE__, __LINE__, "%s is not in the command's block", #p);       \
    } while (0)

/* Everything the caller passed is copied into the command's one block,
 * so the caller may reuse or free its strings and vectors at once. */
TEST(new_copies_everything_into_one_block)
{
    struct atb_run *run = new_run();
    char name[] = "web", a0[] = "/usr/bin/server", a1[] = "--port=80", e0[] = "A=1",
         e1[] = "UNSET", w0[] = "db", w1[] = "migrated", cwd[] = "/srv", rw[] = "^up$",
         sets[] = "web-up";
    char *argv[] = {a0, a1, NULL}, *env[] = {e0, e1, NULL}, *waits[] = {w0, w1, NULL};
    struct atb_cmd c = CMD_ARGV(name, argv);
    struct atb__cmd *cmd = (struct atb__cmd *)&c;

    c.env = env;
    c.clear_env = 1;
    c.cwd = cwd;
    c.timeout_s = 30;
    c.service = 1;
    c.shield = 1;
    c.ready_when = rw;
    c.ready_timeout_s = 2.5;
    c.sets = sets;
    c.wait_for = waits;
    ASSERT_EQ(atb__cmd_new(run, &c, 41, &cmd), 0);
    ASSERT(cmd != NULL);

    /* The caller scribbles over everything it passed. */
    memset(name, 'X', sizeof(name) - 1);
    memset(a0, 'X', sizeof(a0) - 1);
    memset(a1, 'X', sizeof(a1) - 1);
    memset(e0, 'X', sizeof(e0) - 1);
    memset(w1, 'X', sizeof(w1) - 1);
    memset(cwd, 'X', sizeof(cwd) - 1);
    memset(rw, 'X', sizeof(rw) - 1);
    memset(sets, 'X', sizeof(sets) - 1);
    argv[1] = NULL;
    env[0] = waits[0] = "changed";
    c.cwd = "/elsewhere";

    ASSERT_STR_EQ(cmd->name, "web");
    ASSERT(cmd->res.name == cmd->name);
    ASSERT_STR_EQ(cmd->res.argv[0], "/usr/bin/server");
    ASSERT_STR_EQ(cmd->res.argv[1], "--port=80");
    ASSERT(cmd->res.argv[2] == NULL);
    ASSERT_STR_EQ(cmd->env[0], "A=1");
    ASSERT_STR_EQ(cmd->env[1], "UNSET");
    ASSERT(cmd->env[2] == NULL);
    ASSERT_STR_EQ(cmd->wait_for[0], "db");
    ASSERT_STR_EQ(cmd->wait_for[1], "migrated");
    ASSERT(cmd->wait_for[2] == NULL);
    ASSERT_STR_EQ(cmd->cwd, "/srv");
    ASSERT_STR_EQ(cmd->ready_when, "^up$");
    ASSERT_STR_EQ(cmd->sets, "web-up");

    /* One block: freeing the command frees them all, and nothing points
     * back into the caller's memory. */
    ASSERT_IN_BLOCK(cmd, cmd->name);
    ASSERT_IN_BLOCK(cmd, cmd->res.argv);
    ASSERT_IN_BLOCK(cmd, cmd->env);
    ASSERT_IN_BLOCK(cmd, cmd->wait_for);
    for (int i = 0; i < 2; i++) {
        ASSERT_IN_BLOCK(cmd, cmd->res.argv[i]);
        ASSERT_IN_BLOCK(cmd, cmd->env[i]);
        ASSERT_IN_BLOCK(cmd, cmd->wait_for[i]);
    }
    ASSERT_IN_BLOCK(cmd, cmd->cwd);
    ASSERT_IN_BLOCK(cmd, cmd->ready_when);
    ASSERT_IN_BLOCK(cmd, cmd->sets);

    /* The rest of what it was given, and the starting values. */
    ASSERT(cmd->run == run);
    ASSERT_EQ(cmd->res.id, 41);
    ASSERT_EQ(cmd->named, 1);
    ASSERT_EQ(cmd->clear_env, 1);
    ASSERT_EQ(cmd->res.service, 1);
    ASSERT_EQ(cmd->res.shield, 1);
    ASSERT_EQ(cmd->res.cleanup, 0);
    ASSERT_EQ(cmd->kind, ATB__SERVICE);
    ASSERT_NEAR(cmd->timeout_s, 30, 0);
    ASSERT_NEAR(cmd->ready_timeout_s, 2.5, 0);
    ASSERT_EQ(cmd->phase, ATB__NPHASES);
    ASSERT_EQ(cmd->res.state, ATB_STATE_QUEUED);
    ASSERT_EQ(cmd->res.exit_code, -1);
    ASSERT_EQ(cmd->res.pid, 0);
    ASSERT_NEAR(cmd->res.started_s, -1, 0);
    ASSERT_EQ(cmd->proc.pidfd, -1);
    ASSERT_EQ(cmd->out[0].fd, -1);
    ASSERT_EQ(cmd->out[1].spill_fd, -1);
    atb__cmd_free(cmd);
    atb_run_free(run);
}

/* A shell command runs as /bin/sh -c LINE (copied), and without a name
 * gets its default now, with room left for the "#N" naming.c may add
 * (the widest: an unsigned long's 20 digits). */
TEST(new_shell_command_and_default_name)
{
    struct atb_run *run = new_run();
    char line[] = "  ./build.sh --all";
    struct atb_cmd c = CMD_SH(NULL, line);
    struct atb__cmd *cmd;
    size_t len;

    ASSERT_EQ(atb__cmd_new(run, &c, 0, &cmd), 0);
    memset(line, 'X', sizeof(line) - 1);
    ASSERT_STR_EQ(cmd->res.argv[0], "/bin/sh");
    ASSERT_STR_EQ(cmd->res.argv[1], "-c");
    ASSERT_STR_EQ(cmd->res.argv[2], "  ./build.sh --all");
    ASSERT(cmd->res.argv[3] == NULL);
    ASSERT_IN_BLOCK(cmd, cmd->res.argv[2]);
    ASSERT_STR_EQ(cmd->name, "build.sh --all");
    ASSERT_EQ(cmd->named, 0);
    ASSERT(cmd->env == NULL && cmd->wait_for == NULL && cmd->cwd == NULL);
    ASSERT(cmd->ready_when == NULL && cmd->sets == NULL);
    ASSERT_EQ(cmd->kind, ATB__WORK);
    /* The sanitizer build sees a write past the block here. */
    len = strlen(cmd->name);
    strcpy(cmd->name + len, "#18446744073709551615");
    ASSERT_IN_BLOCK(cmd, cmd->name + len + 21);
    atb__cmd_free(cmd);

    c = (struct atb_cmd)CMD_SH(NULL, "true");
    c.cleanup = 1;
    ASSERT_EQ(atb__cmd_new(run, &c, 1, &cmd), 0);
    ASSERT_EQ(cmd->kind, ATB__CLEANUP);
    ASSERT_EQ(cmd->res.cleanup, 1);
    atb__cmd_free(cmd);
    atb_run_free(run);
}

static void refused(struct atb_run *run, const struct atb_cmd *c, int line)
{
    struct atb__cmd *cmd = (struct atb__cmd *)c;
    int rc = atb__cmd_new(run, c, 0, &cmd);

    if (rc != -EINVAL)
        unit_fail(__FILE__, line, "atb__cmd_new: %d, expected -EINVAL", rc);
    if (cmd != NULL)
        unit_fail(__FILE__, line, "*out not NULL after a refusal");
}

#define REFUSED(run, c) refused((run), (c), __LINE__)

TEST(new_refuses_malformed_commands)
{
    struct atb_run *run = new_run();
    char *t[] = {"true", NULL}, *none[] = {NULL}, *empty[] = {"", "x", NULL};
    struct atb_cmd c;

    c = (struct atb_cmd)CMD_ARGV(NULL, t);
    c.shell = "true";
    REFUSED(run, &c);                       /* shell and argv */
    c = (struct atb_cmd)CMD_ARGV(NULL, NULL);
    REFUSED(run, &c);                       /* neither */
    c = (struct atb_cmd)CMD_ARGV(NULL, none);
    REFUSED(run, &c);                       /* empty argv */
    c = (struct atb_cmd)CMD_ARGV(NULL, empty);
    REFUSED(run, &c);                       /* empty argv[0] */
    c = (struct atb_cmd)CMD_ARGV("", t);
    REFUSED(run, &c);                       /* empty name */
    c = (struct atb_cmd)CMD_ARGV(NULL, t);
    c.timeout_s = -1;
    REFUSED(run, &c);
    c.timeout_s = -0.001;
    REFUSED(run, &c);
    c.timeout_s = NAN;
    REFUSED(run, &c);
    c = (struct atb_cmd)CMD_ARGV(NULL, t);
    c.ready_timeout_s = -0.001;
    REFUSED(run, &c);
    c.ready_timeout_s = NAN;
    REFUSED(run, &c);
    /* Not from ATB_CMD_INIT, or smaller than any header ever had. */
    c = (struct atb_cmd)CMD_ARGV(NULL, t);
    c.size = 0;
    REFUSED(run, &c);
    c.size = 1;
    REFUSED(run, &c);
    c.size = offsetof(struct atb_cmd, wait_for);
    REFUSED(run, &c);
    REFUSED(run, NULL);
    /* The boundaries themselves are fine. */
    c = (struct atb_cmd)CMD_ARGV(NULL, t);
    c.timeout_s = 0;
    c.ready_timeout_s = 0;
    {
        struct atb__cmd *cmd;
        ASSERT_EQ(atb__cmd_new(run, &c, 0, &cmd), 0);
        atb__cmd_free(cmd);
    }
    atb_run_free(run);
}

/* A caller built against an older header passes a struct that ends after
 * wait_for. It sits here right before an unmapped page, so reading one
 * byte past its size crashes the test: the page proves the library takes
 * the fields added since (label, the retries) at their ATB_CMD_INIT values
 * instead of reading them. */
TEST(new_accepts_an_older_smaller_struct)
{
    const size_t old = offsetof(struct atb_cmd, wait_for) + sizeof(char *const *);
    long page = sysconf(_SC_PAGESIZE);
    struct atb_run *run = new_run();
    char *mem, *t[] = {"true", NULL}, *waits[] = {"db", NULL};
    struct atb_cmd *c;
    struct atb__cmd *cmd;

    ASSERT(page > 0 && old <= (size_t)page);
    ASSERT(old <= sizeof(struct atb_cmd));
    mem = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
               0);
    ASSERT(mem != MAP_FAILED);
    ASSERT_EQ(mprotect(mem + page, (size_t)page, PROT_NONE), 0);
    c = (struct atb_cmd *)(void *)(mem + page - old);
    memset(c, 0, old);
    c->size = old;
    c->name = "old";
    c->argv = t;
    c->timeout_s = 3;
    c->service = 1;
    c->ready_when = "up";
    c->wait_for = waits;
    ASSERT_EQ(atb__cmd_new(run, c, 0, &cmd), 0);
    ASSERT_STR_EQ(cmd->name, "old");
    ASSERT_STR_EQ(cmd->res.argv[0], "true");
    ASSERT_STR_EQ(cmd->wait_for[0], "db");
    ASSERT_STR_EQ(cmd->ready_when, "up");
    ASSERT_NEAR(cmd->timeout_s, 3, 0);
    ASSERT_EQ(cmd->res.service, 1);
    ASSERT_EQ(cmd->res.cleanup, 0);
    ASSERT(cmd->sets == NULL && cmd->env == NULL && cmd->cwd == NULL);
    /* Fields it does not know take their ATB_CMD_INIT values: retries
     * left to the run, not "none". */
    ASSERT_EQ(cmd->retries, -1);
    ASSERT_NEAR(cmd->retry_delay_s, -1, 0);
    ASSERT_NEAR(cmd->retry_backoff, 0, 0);
    atb__cmd_free(cmd);
    ASSERT_EQ(munmap(mem, 2 * (size_t)page), 0);
    atb_run_free(run);
}

/* ---- phases and the tally ---- */

static struct atb__cmd *make(struct atb_run *run, int id, enum atb__kind kind)
{
    struct atb_cmd c = CMD_SH(NULL, "true");
    struct atb__cmd *cmd;

    c.service = kind == ATB__SERVICE;
    c.cleanup = kind == ATB__CLEANUP;
    ASSERT_EQ(atb__cmd_new(run, &c, id, &cmd), 0);
    ASSERT_EQ(cmd->kind, kind);
    return cmd;
}

static size_t sum(const struct atb_run *run, unsigned kinds, enum atb__phase from,
                  enum atb__phase to)
{
    return atb__tally_sum(&run->tally, kinds, from, to);
}

/* One command through its whole life: each step moves its count from one
 * phase to the next, the states callers see follow the phases up to the
 * start, and retiring it (ATB__NPHASES) takes it out of every count. */
TEST(phase_walks_the_life_cycle)
{
    struct atb_run *run = new_run();
    struct atb__cmd *cmd = make(run, 0, ATB__WORK);
    static const enum atb__phase life[] = {ATB__QUEUED, ATB__RUNNING, ATB__LEADER_DONE,
                                           ATB__GROUP_DONE, ATB__FINISHED};

    ASSERT_EQ(sum(run, ATB__ALL_KINDS, ATB__QUEUED, ATB__FINISHED), 0);
    for (size_t i = 0; i < ATB__ARRAY_SIZE(life); i++) {
        atb__cmd_phase(cmd, life[i]);
        ASSERT_EQ(cmd->phase, life[i]);
        for (int p = ATB__QUEUED; p <= ATB__FINISHED; p++)
            for (int k = 0; k < ATB__NKINDS; k++)
                ASSERT_EQ(run->tally.n[k][p], k == ATB__WORK && p == (int)life[i]);
        ASSERT_EQ(sum(run, ATB__ALL_KINDS, ATB__QUEUED, ATB__FINISHED), 1);
        ASSERT_EQ(sum(run, ATB__KIND_BIT(ATB__WORK), life[i], life[i]), 1);
        ASSERT_EQ(sum(run, ATB__KIND_BIT(ATB__SERVICE) | ATB__KIND_BIT(ATB__CLEANUP),
                      ATB__QUEUED, ATB__FINISHED), 0);
        if (i == 0)
            ASSERT_EQ(cmd->res.state, ATB_STATE_QUEUED);
        if (i == 1) {
            ASSERT_EQ(cmd->res.state, ATB_STATE_RUNNING);
            /* The end's state comes from atb__cmd_leader_result(); the
             * later phases must leave it alone. */
            cmd->res.state = ATB_STATE_SUCCEEDED;
        }
        if (i > 1)
            ASSERT_EQ(cmd->res.state, ATB_STATE_SUCCEEDED);
    }
    atb__cmd_phase(cmd, ATB__NPHASES);
    ASSERT_EQ(cmd->phase, ATB__NPHASES);
    ASSERT_EQ(sum(run, ATB__ALL_KINDS, ATB__QUEUED, ATB__FINISHED), 0);
    ASSERT_EQ(cmd->res.state, ATB_STATE_SUCCEEDED);
    atb__cmd_free(cmd);
    atb_run_free(run);
}

/* WAITING is "not started yet" to callers, like QUEUED. */
TEST(phase_waiting_reads_as_queued)
{
    struct atb_run *run = new_run();
    struct atb__cmd *cmd = make(run, 0, ATB__SERVICE);

    cmd->res.state = ATB_STATE_FAILED;
    atb__cmd_phase(cmd, ATB__WAITING);
    ASSERT_EQ(cmd->res.state, ATB_STATE_QUEUED);
    ASSERT_EQ(run->tally.n[ATB__SERVICE][ATB__WAITING], 1);
    atb__cmd_phase(cmd, ATB__RUNNING);
    ASSERT_EQ(run->tally.n[ATB__SERVICE][ATB__WAITING], 0);
    ASSERT_EQ(run->tally.n[ATB__SERVICE][ATB__RUNNING], 1);
    atb__cmd_phase(cmd, ATB__NPHASES);
    atb__cmd_free(cmd);
    atb_run_free(run);
}

/* Many commands of every kind moved at random (a fixed seed): after every
 * step the tally equals a count kept here, and sums over kinds and phase
 * ranges add up. Any path through the phases, not only the usual one. */
TEST(phase_tally_matches_a_model)
{
    enum { N = 30, STEPS = 20000 };
    struct atb_run *run = new_run();
    struct atb__cmd *cmds[N];
    size_t model[ATB__NKINDS][ATB__NPHASES + 1];
    unsigned long seed = 12345;

    memset(model, 0, sizeof(model));
    for (int i = 0; i < N; i++) {
        cmds[i] = make(run, i, (enum atb__kind)(i % ATB__NKINDS));
        model[i % ATB__NKINDS][ATB__NPHASES]++;
    }
    for (int step = 0; step < STEPS; step++) {
        struct atb__cmd *c;
        enum atb__phase to;

        seed = seed * 6364136223846793005UL + 1442695040888963407UL;
        c = cmds[(seed >> 33) % N];
        to = (enum atb__phase)((seed >> 20) % (ATB__NPHASES + 1));
        model[c->kind][c->phase]--;
        model[c->kind][to]++;
        atb__cmd_phase(c, to);
        for (int k = 0; k < ATB__NKINDS; k++)
            for (int p = 0; p < ATB__NPHASES; p++)
                if (run->tally.n[k][p] != model[k][p])
                    unit_fail(__FILE__, __LINE__, "step %d: kind %d phase %d: %zu, model %zu",
                              step, k, p, run->tally.n[k][p], model[k][p]);
        if (step % 97 == 0) {
            size_t want = 0;
            enum atb__phase from = (enum atb__phase)(step % ATB__NPHASES);
            unsigned kinds = (unsigned)(step % 8);
            for (int k = 0; k < ATB__NKINDS; k++)
                for (int p = from; p < ATB__NPHASES; p++)
                    if (kinds & ATB__KIND_BIT(k))
                        want += model[k][p];
            ASSERT_EQ(sum(run, kinds, from, ATB__FINISHED), want);
        }
    }
    for (int i = 0; i < N; i++) {
        atb__cmd_phase(cmds[i], ATB__NPHASES);
        atb__cmd_free(cmds[i]);
    }
    ASSERT_EQ(sum(run, ATB__ALL_KINDS, ATB__QUEUED, ATB__FINISHED), 0);
    atb_run_free(run);
}

/* ---- the leader's end ---- */

/* A command started half a second into a run that began two seconds ago. */
static struct atb__cmd *started(struct atb_run *run, int service)
{
    struct atb__cmd *cmd = make(run, 0, service ? ATB__SERVICE : ATB__WORK);

    run->t0 = atb__now() - 2;
    cmd->res.started_s = 0.5;
    atb__cmd_phase(cmd, ATB__RUNNING);
    return cmd;
}

static void done(struct atb__cmd *cmd)
{
    atb__cmd_phase(cmd, ATB__NPHASES);
    atb__cmd_free(cmd);
}

TEST(leader_result_exit_codes)
{
    struct atb_run *run = new_run();
    struct atb__cmd *cmd;

    cmd = started(run, 0);
    atb__cmd_leader_result(cmd, CLD_EXITED, 0);
    ASSERT_EQ(cmd->res.state, ATB_STATE_SUCCEEDED);
    ASSERT_EQ(cmd->res.exit_code, 0);
    ASSERT_EQ(cmd->res.term_signal, 0);
    ASSERT(cmd->res.error == NULL);
    /* duration: from its start (0.5 s in) until now (2 s in). */
    ASSERT_NEAR(cmd->res.duration_s, 1.5, 0.5);
    done(cmd);

    cmd = started(run, 0);
    atb__cmd_leader_result(cmd, CLD_EXITED, 3);
    ASSERT_EQ(cmd->res.state, ATB_STATE_FAILED);
    ASSERT_EQ(cmd->res.exit_code, 3);
    ASSERT_EQ(cmd->res.term_signal, 0);
    done(cmd);

    cmd = started(run, 0);
    atb__cmd_leader_result(cmd, CLD_EXITED, 255);
    ASSERT_EQ(cmd->res.state, ATB_STATE_FAILED);
    ASSERT_EQ(cmd->res.exit_code, 255);
    done(cmd);
    atb_run_free(run);
}

/* Killed by a signal nobody in the run sent: a failure, with the signal
 * and no exit code. */
TEST(leader_result_killed_by_a_signal)
{
    struct atb_run *run = new_run();
    struct atb__cmd *cmd;

    cmd = started(run, 0);
    atb__cmd_leader_result(cmd, CLD_KILLED, SIGKILL);
    ASSERT_EQ(cmd->res.state, ATB_STATE_FAILED);
    ASSERT_EQ(cmd->res.term_signal, SIGKILL);
    ASSERT_EQ(cmd->res.exit_code, -1);
    done(cmd);

    cmd = started(run, 0);
    atb__cmd_leader_result(cmd, CLD_DUMPED, SIGSEGV);
    ASSERT_EQ(cmd->res.state, ATB_STATE_FAILED);
    ASSERT_EQ(cmd->res.term_signal, SIGSEGV);
    ASSERT_EQ(cmd->res.exit_code, -1);
    done(cmd);
    atb_run_free(run);
}

/* Its own time limit, then a cancel by the run: they say why it ended,
 * whatever its status (a command that exits 0 on TERM was still
 * cancelled), and a timeout outranks a cancel that came with it. */
TEST(leader_result_timed_out_and_cancelled)
{
    struct atb_run *run = new_run();
    struct atb__cmd *cmd;

    cmd = started(run, 0);
    cmd->timed_out = 1;
    atb__cmd_leader_result(cmd, CLD_EXITED, 0);
    ASSERT_EQ(cmd->res.state, ATB_STATE_TIMED_OUT);
    ASSERT_EQ(cmd->res.exit_code, 0);
    done(cmd);

    cmd = started(run, 0);
    cmd->timed_out = 1;
    cmd->cancelled = 1;
    atb__cmd_leader_result(cmd, CLD_KILLED, SIGTERM);
    ASSERT_EQ(cmd->res.state, ATB_STATE_TIMED_OUT);
    ASSERT_EQ(cmd->res.term_signal, SIGTERM);
    done(cmd);

    cmd = started(run, 0);
    cmd->cancelled = 1;
    atb__cmd_leader_result(cmd, CLD_KILLED, SIGTERM);
    ASSERT_EQ(cmd->res.state, ATB_STATE_CANCELLED);
    ASSERT_EQ(cmd->res.term_signal, SIGTERM);
    done(cmd);

    cmd = started(run, 0);
    cmd->cancelled = 1;
    atb__cmd_leader_result(cmd, CLD_EXITED, 0);
    ASSERT_EQ(cmd->res.state, ATB_STATE_CANCELLED);
    ASSERT_EQ(cmd->res.exit_code, 0);
    done(cmd);
    atb_run_free(run);
}

/* A service ends when the run ends it: ending on its own is a failure,
 * even with status 0, and says so. Ended by the run, it is cancelled,
 * with no such error. */
TEST(leader_result_service)
{
    struct atb_run *run = new_run();
    struct atb__cmd *cmd;

    cmd = started(run, 1);
    atb__cmd_leader_result(cmd, CLD_EXITED, 0);
    ASSERT_EQ(cmd->res.state, ATB_STATE_FAILED);
    ASSERT_EQ(cmd->res.exit_code, 0);
    ASSERT_STR_EQ(cmd->res.error, "service exited early");
    done(cmd);

    cmd = started(run, 1);
    atb__cmd_leader_result(cmd, CLD_EXITED, 2);
    ASSERT_EQ(cmd->res.state, ATB_STATE_FAILED);
    ASSERT_STR_EQ(cmd->res.error, "service exited early");
    done(cmd);

    cmd = started(run, 1);
    atb__cmd_leader_result(cmd, CLD_KILLED, SIGKILL);
    ASSERT_EQ(cmd->res.state, ATB_STATE_FAILED);
    ASSERT_STR_EQ(cmd->res.error, "service exited early");
    done(cmd);

    cmd = started(run, 1);
    cmd->cancelled = 1;
    atb__cmd_leader_result(cmd, CLD_KILLED, SIGTERM);
    ASSERT_EQ(cmd->res.state, ATB_STATE_CANCELLED);
    ASSERT(cmd->res.error == NULL);
    done(cmd);

    cmd = started(run, 1);
    cmd->timed_out = 1;
    atb__cmd_leader_result(cmd, CLD_EXITED, 0);
    ASSERT_EQ(cmd->res.state, ATB_STATE_TIMED_OUT);
    ASSERT(cmd->res.error == NULL);
    done(cmd);
    atb_run_free(run);
}
