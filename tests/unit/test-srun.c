/* srun.c: the Slurm launcher's policy: srun's command line, job names,
 * what each line of srun's stderr is, the exit status mapping, and
 * atb_slurm_check(). Lines are those Slurm 22.05 writes (tests/slurm.bats
 * runs the real thing). No process is started. */
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "srun.h"

static enum atb__srun_kind line(const char *text, struct atb__srun_seen *seen)
{
    return atb__srun_line(text, strlen(text), seen);
}

/* argv as one string, words joined by '|'. */
static void joined(char *const *argv, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; argv[i]; i++) {
        strncat(buf, argv[i], size - strlen(buf) - 1);
        if (argv[i + 1])
            strncat(buf, "|", size - strlen(buf) - 1);
    }
}

TEST(a_job_of_its_own_outside_an_allocation)
{
    char *argv[] = {"make", "-j4", "test", NULL};
    struct atb__srun_req r = {"atb-tok-unit", 0, NULL};
    struct atb__strv v;
    char buf[512];

    ASSERT_EQ(atb__srun_argv(&r, argv, &v), 0);
    joined(v.argv, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "srun|--verbose|--job-name=atb-tok-unit|--|make|-j4|test");
    atb__strv_free(&v);
}

TEST(a_step_with_resources_inside_an_allocation)
{
    char *args[] = {"--gres=gpu:1", "-Q", NULL};
    struct atb_slurm s = {"debug", 2, "4G", "1:30", 1, args};
    char *argv[] = {"sh", "-c", "echo hi", NULL};
    struct atb__srun_req r = {"atb-tok-x", 1, &s};
    struct atb__strv v;
    char buf[512];

    ASSERT_EQ(atb__srun_argv(&r, argv, &v), 0);
    joined(v.argv, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "srun|--verbose|--job-name=atb-tok-x|--exact|--ntasks=1|"
                       "--partition=debug|--cpus-per-task=2|--mem=4G|--time=1:30|--nodes=1|"
                       "--gres=gpu:1|-Q|--|sh|-c|echo hi");
    atb__strv_free(&v);
}

TEST(job_names_are_one_plain_word)
{
    char buf[64];

    ASSERT_EQ(atb__srun_job_name("ab12", "unit", buf, sizeof(buf)), 13u);
    ASSERT_STR_EQ(buf, "atb-ab12-unit");
    atb__srun_job_name("ab12", "make test/x#2", buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "atb-ab12-make_test_x_2");
    /* Cut, not overrun. */
    ASSERT_EQ(atb__srun_job_name("ab12", "a-very-long-name", buf, 12), 11u);
    ASSERT_STR_EQ(buf, "atb-ab12-a-");
}

TEST(ids_come_from_the_verbose_lines)
{
    struct atb__srun_seen seen;
    char target[32];

    atb__srun_seen_init(&seen);
    ASSERT_EQ(atb__srun_target(&seen, target, sizeof(target)), 0u);
    ASSERT_EQ(line("srun: defined options", &seen), ATB__SRUN_OWN);
    ASSERT_EQ(line("srun: job 17 queued and waiting for resources", &seen), ATB__SRUN_IDS);
    ASSERT_EQ(seen.job, 17);
    ASSERT_EQ(seen.launched, 0);
    ASSERT_EQ(line("srun: jobid 17: nodes(1):`vm', cpu counts: 1(x1)", &seen), ATB__SRUN_OWN);
    ASSERT_EQ(line("srun: launching StepId=17.0 on host vm, 1 tasks: 0", &seen), ATB__SRUN_IDS);
    ASSERT_EQ(seen.job, 17);
    ASSERT_EQ(seen.step, 0);
    ASSERT_EQ(seen.launched, 1);
    /* A job of its own is cancelled as J; a step of an allocation as J.S. */
    ASSERT_EQ(atb__srun_target(&seen, target, sizeof(target)), 2u);
    ASSERT_STR_EQ(target, "17");
    seen.in_alloc = 1;
    seen.step = 3;
    atb__srun_target(&seen, target, sizeof(target));
    ASSERT_STR_EQ(target, "17.3");
}

TEST(task_lines_pass_and_srun_lines_do_not)
{
    struct atb__srun_seen seen;

    atb__srun_seen_init(&seen);
    ASSERT_EQ(line("compiling foo.c", &seen), ATB__SRUN_TASK);
    ASSERT_EQ(line("error: srun: not at the start", &seen), ATB__SRUN_TASK);
    ASSERT_EQ(line("srunner: mine", &seen), ATB__SRUN_TASK);
    ASSERT_EQ(line("", &seen), ATB__SRUN_TASK);
    ASSERT_EQ(line("srun: Received task exit notification for 1 task of StepId=5.0", &seen),
              ATB__SRUN_OWN);
    ASSERT_EQ(line("slurmstepd: error: *** STEP 5.0 ON vm CANCELLED AT 2026-12-07 ***", &seen),
              ATB__SRUN_OWN);
    ASSERT_EQ(line("slurmstepd-vm: error: *** JOB 5 ON vm CANCELLED ***", &seen),
              ATB__SRUN_OWN);
    ASSERT_EQ(line("slurmstepd-a b: no", &seen), ATB__SRUN_TASK);
}

TEST(a_failed_exec_is_not_found_or_cannot_execute)
{
    struct atb__srun_seen seen;

    atb__srun_seen_init(&seen);
    ASSERT_EQ(line("slurmstepd: error: execve(): /nonexistent: No such file or directory",
                   &seen),
              ATB__SRUN_EXEC);
    ASSERT_EQ(seen.exec_error, -ENOENT);
    atb__srun_seen_init(&seen);
    line("slurmstepd-vm: error: execve(): ./x.sh: Permission denied", &seen);
    ASSERT_EQ(seen.exec_error, -EACCES);
}

TEST(an_error_before_launching_is_kept)
{
    struct atb__srun_seen seen;

    atb__srun_seen_init(&seen);
    ASSERT_EQ(line("srun: error: Unable to allocate resources: Invalid partition name specified",
                   &seen),
              ATB__SRUN_ERROR);
    ASSERT_STR_EQ(seen.error, "Unable to allocate resources: Invalid partition name specified");
    /* After the launch, srun's errors are about the task, which says its
     * own: not kept. */
    atb__srun_seen_init(&seen);
    line("srun: launching StepId=9.0 on host vm, 1 tasks: 0", &seen);
    ASSERT_EQ(line("srun: error: vm: task 0: Exited with exit code 3", &seen), ATB__SRUN_OWN);
    ASSERT_STR_EQ(seen.error, "");
}

TEST(a_status_of_128_plus_the_sent_signal_is_a_death_by_it)
{
    int code;

    ASSERT_EQ(atb__srun_status(7, 0, 0, &code), 7);
    ASSERT_EQ(code, CLD_EXITED);
    /* Not sent: a task may exit 143 itself. */
    ASSERT_EQ(atb__srun_status(143, 0, 0, &code), 143);
    ASSERT_EQ(code, CLD_EXITED);
    ASSERT_EQ(atb__srun_status(143, 15, 0, &code), 15);
    ASSERT_EQ(code, CLD_KILLED);
    ASSERT_EQ(atb__srun_status(137, 15, 1, &code), 9);
    ASSERT_EQ(code, CLD_KILLED);
    /* A trap that exits 3 on the signal keeps its status. */
    ASSERT_EQ(atb__srun_status(3, 15, 0, &code), 3);
    ASSERT_EQ(code, CLD_EXITED);
}

TEST(slurm_resources_are_checked)
{
    char *good_args[] = {"--gres=gpu:1", NULL}, *bad_args[] = {"--x", "oops", NULL};
    const char *field;
    struct atb_slurm s;

    ASSERT_EQ(atb_slurm_check(NULL, &field), 0);
    s = (struct atb_slurm){"debug", 4, "512M", "2-12:00:00", 2, good_args};
    ASSERT_EQ(atb_slurm_check(&s, &field), 0);
    const char *times[] = {"10", "10:30", "1:02:03", "2-3", "2-3:04", "2-3:04:05", "UNLIMITED"};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        s = (struct atb_slurm){.time = times[i]};
        ASSERT_EQ(atb_slurm_check(&s, &field), 0);
    }
    const char *bad_times[] = {"", "1:2:3:4", "1h", "-3", "2-", "1::2"};
    for (size_t i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++) {
        s = (struct atb_slurm){.time = bad_times[i]};
        ASSERT_EQ(atb_slurm_check(&s, &field), -EINVAL);
        ASSERT_STR_EQ(field, "time");
    }
    s = (struct atb_slurm){.mem = "4GB"};
    ASSERT_EQ(atb_slurm_check(&s, &field), -EINVAL);
    ASSERT_STR_EQ(field, "mem");
    s = (struct atb_slurm){.partition = "a b"};
    ASSERT_EQ(atb_slurm_check(&s, &field), -EINVAL);
    ASSERT_STR_EQ(field, "partition");
    s = (struct atb_slurm){.cpus = 100001};
    ASSERT_EQ(atb_slurm_check(&s, &field), -EINVAL);
    ASSERT_STR_EQ(field, "cpus");
    s = (struct atb_slurm){.args = bad_args};
    ASSERT_EQ(atb_slurm_check(&s, &field), -EINVAL);
    ASSERT_STR_EQ(field, "args");
}

TEST(a_copy_is_one_block)
{
    char *args[] = {"--gres=gpu:1", "-Q", NULL};
    struct atb_slurm s = {"debug", 4, "1G", "10", 0, args}, *c;

    ASSERT_EQ(atb__slurm_copy(&s, &c), 0);
    ASSERT_STR_EQ(c->partition, "debug");
    ASSERT_STR_EQ(c->mem, "1G");
    ASSERT_STR_EQ(c->time, "10");
    ASSERT_EQ(c->cpus, 4u);
    ASSERT_STR_EQ(c->args[0], "--gres=gpu:1");
    ASSERT_STR_EQ(c->args[1], "-Q");
    ASSERT(c->args[2] == NULL);
    ASSERT(c->partition != s.partition && c->args != s.args);
    free(c);
    s = (struct atb_slurm){0};
    ASSERT_EQ(atb__slurm_copy(&s, &c), 0);
    ASSERT(c->args == NULL && c->partition == NULL);
    free(c);
}
