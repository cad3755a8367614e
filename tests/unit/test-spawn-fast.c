/* spawn-fast.c through atb__spawn() with a spawner of atb's own process
 * (raise_nofile), and posix_spawnp() beside it (ATB_NO_FAST_SPAWN): the
 * child's fds (exactly 0, 1, 2), its signal state and process group,
 * failed execs, no fd of the command left open here, and spawning with
 * no fd to spare. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

/* Runs sh -c script with stdout to a pipe; returns what it wrote (static)
 * and its exit status in *status. */
static const char *run_sh(struct atb__spawner *sp, const char *script, int *status)
{
    static char out[4096];
    char *argv[] = {"sh", "-c", (char *)script, NULL};
    struct atb__spawn_ctx ctx = {environ, NULL, -1, -1, -1, -1};
    int p[2], st = 0;
    size_t len = 0;
    ssize_t n;
    pid_t pid;

    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    ctx.out_fd = p[1];
    ASSERT_EQ(atb__spawn(sp, argv, &ctx, &pid), 0);
    close(p[1]);
    /* End of file comes once the child is done: no copy of the write end
     * is left open here (the placeholders point back at /dev/null). */
    while ((n = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(p[0]);
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return out;
}

static void with_spawner(int fast, void (*body)(struct atb__spawner *sp))
{
    struct atb__spawner sp;

    if (!fast)
        setenv("ATB_NO_FAST_SPAWN", "1", 1);
    ASSERT_EQ(atb__spawner_init(&sp, 1), 0);
    unsetenv("ATB_NO_FAST_SPAWN");
    ASSERT_EQ(sp.use_fast, fast);
    body(&sp);
    atb__spawner_close(&sp);
}

static void only_three_fds(struct atb__spawner *sp)
{
    int status, extra = open("/dev/null", O_RDONLY); /* not close-on-exec */

    ASSERT(extra >= 3);
    ASSERT_STR_EQ(run_sh(sp, "ls /proc/$$/fd", &status), "0\n1\n2\n");
    ASSERT_EQ(status, 0);
    close(extra);
}

TEST(the_child_has_exactly_fds_0_1_2)
{
    with_spawner(1, only_three_fds);
}

static void clean_signals(struct atb__spawner *sp)
{
    sigset_t block, old;
    int status;

    /* Ignored and blocked here: neither reaches the child. */
    signal(SIGINT, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, &old);
    ASSERT_STR_EQ(run_sh(sp, "grep -E '^Sig(Blk|Ign)' /proc/self/status; "
                             "[ $(ps -o pgid= -p $$) -eq $$ ] && echo leader",
                         &status),
                  "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nleader\n");
    ASSERT_EQ(status, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGINT, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
}

TEST(empty_mask_default_dispositions_own_group)
{
    with_spawner(1, clean_signals);
    with_spawner(0, clean_signals);
}

static void failed_execs(struct atb__spawner *sp)
{
    char *missing[] = {"atb-no-such-program-xyz", NULL}, *not_exec[] = {"/etc/passwd", NULL};
    char *abs_missing[] = {"/nonexistent/x", NULL};
    struct atb__spawn_ctx ctx = {environ, NULL, -1, -1, -1, -1};
    pid_t pid = 0;

    ASSERT_EQ(atb__spawn(sp, missing, &ctx, &pid), -ENOENT);
    ASSERT_EQ(atb__spawn(sp, abs_missing, &ctx, &pid), -ENOENT);
    ASSERT_EQ(atb__spawn(sp, not_exec, &ctx, &pid), -EACCES);
    ctx.cwd = "/nonexistent-dir";
    ASSERT_EQ(atb__spawn(sp, not_exec, &ctx, &pid), ATB_ECWD);
    /* The children that could not exec were reaped: none is left. */
    ASSERT_EQ(waitpid(-1, NULL, WNOHANG), -1);
    ASSERT_EQ(errno, ECHILD);
}

TEST(failed_execs_say_why_and_leave_nothing)
{
    with_spawner(1, failed_execs);
    with_spawner(0, failed_execs);
}

static void no_fd_to_spare(struct atb__spawner *sp)
{
    struct rlimit rl, tight;
    int fds[64], n = 0, status;
    int p[2];

    /* The pipe first, then every fd up to a tight limit taken. */
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    tight = rl;
    tight.rlim_cur = (rlim_t)(p[1] + 8);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
    while (n < 64 && (fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        n++;
    ASSERT_EQ(errno, EMFILE);
    {
        char *argv[] = {"sh", "-c", "echo ok", NULL};
        struct atb__spawn_ctx ctx = {environ, NULL, -1, p[1], -1, -1};
        char buf[8] = {0};
        pid_t pid;

        ASSERT_EQ(atb__spawn(sp, argv, &ctx, &pid), 0);
        close(p[1]);
        ASSERT_EQ(read(p[0], buf, sizeof(buf) - 1), 3);
        ASSERT_STR_EQ(buf, "ok\n");
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_EQ(status, 0);
    }
    while (n > 0)
        close(fds[--n]);
    close(p[0]);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/* The fast path needs no new fd to spawn (its placeholders are taken at
 * init), so a run out of fds still starts what it already has pipes for. */
TEST(spawns_with_no_fd_to_spare)
{
    with_spawner(1, no_fd_to_spare);
}

static void many_open(struct atb__spawner *sp)
{
    int fds[2000], status;

    for (int i = 0; i < 2000; i++)
        fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_STR_EQ(run_sh(sp, "ls /proc/$$/fd", &status), "0\n1\n2\n");
    for (int i = 0; i < 2000; i++)
        close(fds[i]);
}

/* With 2,000 fds open here the child still gets its three. */
TEST(many_fds_here_three_there)
{
    with_spawner(1, many_open);
}
