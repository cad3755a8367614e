/* Unit tests for lib/local.c, the process-group launcher, driven through
 * its struct atb__launcher operations on a loop of the test's own. Every
 * test runs twice: _pidfd on a private loop (leaders watched by pidfds) and
 * _sigchld on libev's default loop (leaders watched by ev_child; the default
 * loop is process-wide, which is fine here since each test is its own
 * forked process).
 *
 * Each test process makes itself a child subreaper first. A group member
 * orphaned by its leader goes to its nearest subreaper, or init, and stays
 * a zombie in its group until that one reaps it; the init of the machines
 * these tests run on may take a second or more, and until then the group
 * looks alive to kill(-pgid, 0). As a subreaper the orphans come back to
 * us, and the launcher reaps them by group (the path atb_run_exec() takes),
 * so when a group ends does not depend on somebody else.
 *
 * Commands lead groups of their own, out of reach of the harness's kill of
 * the test's group, so each script here ends by itself within minutes (no
 * endless loops): a test that fails half-way leaves nothing for long. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher.h"
#include "waits.h"

extern char **environ;

/* Defines NAME_pidfd and NAME_sigchld, both running the body that follows
 * with sigchld set accordingly. */
#define BOTH(name)                                                     \
    static void name(int sigchld);                                     \
    TEST(name##_pidfd) { name(0); }                                    \
    TEST(name##_sigchld) { name(1); }                                  \
    static void name(int sigchld)

struct fx {
    struct ev_loop *loop;
    struct atb__launcher *l;
    int sigchld;
    char seen[8];           /* 'L' (on_leader), 'G' (on_group), in order */
    int nseen;
    int code, status;       /* what on_leader was given */
    int sent_at_leader;     /* p->sent_signal when on_leader ran */
    int devnull;            /* owned: where unused output goes */
};

static void on_leader(struct atb__proc *p, int code, int status, void *data)
{
    struct fx *f = data;

    /* The launcher marks the leader done before it reports, and the group
     * is never reported before its leader. */
    ASSERT(p->leader_done);
    ASSERT(!p->group_done);
    ASSERT(f->nseen < (int)sizeof(f->seen) - 1);
    f->seen[f->nseen++] = 'L';
    f->code = code;
    f->status = status;
    f->sent_at_leader = p->sent_signal;
}

static void on_group(struct atb__proc *p, void *data)
{
    struct fx *f = data;

    ASSERT(p->group_done);
    ASSERT(f->nseen < (int)sizeof(f->seen) - 1);
    f->seen[f->nseen++] = 'G';
}

static void fx_open(struct fx *f, int sigchld, double grace_s, int linger_signo)
{
    memset(f, 0, sizeof(*f));
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    f->sigchld = sigchld;
    f->loop = sigchld ? ev_default_loop(0) : ev_loop_new(EVFLAG_AUTO);
    ASSERT(f->loop != NULL);
    ASSERT_EQ(atb__local_open(&f->l, f->loop, !sigchld, 0), 0);
    f->l->grace_s = grace_s;
    f->l->linger_signo = linger_signo;
    f->l->on_leader = on_leader;
    f->l->on_group = on_group;
    f->l->data = f;
    f->devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    ASSERT(f->devnull >= 0);
}

static void fx_close(struct fx *f)
{
    f->l->ops->close(f->l);
    ev_loop_destroy(f->loop);
    close(f->devnull);
}

static struct atb__spawn_ctx ctx_of(char **envp, int in_fd, int out_fd, int err_fd)
{
    struct atb__spawn_ctx ctx = {.envp = envp, .cwd = NULL, .in_fd = in_fd, .out_fd = out_fd,
                                 .err_fd = err_fd, .tty_fd = -1};
    return ctx;
}

static void start(struct fx *f, struct atb__proc *p, char *const argv[], int in_fd, int out_fd)
{
    struct atb__spawn_ctx ctx = ctx_of(environ, in_fd, out_fd, f->devnull);

    ASSERT_EQ(f->l->ops->start(f->l, p, argv, &ctx), 0);
    ASSERT(p->started);
    ASSERT(p->pid > 0);
    ASSERT_EQ(p->pidfd >= 0, !f->sigchld);
}

static void pipe_of(int p[2])
{
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
}

/* A watcher of the caller's own: libev stores what it reaped in it. */
static void child_seen(struct ev_loop *loop, ev_child *w, int revents)
{
    (void)loop;
    (void)revents;
    (void)w;
}

/* No child of ours is left, live or zombie. */
static void assert_no_child(void)
{
    siginfo_t si;

    si.si_pid = 0;
    ASSERT_EQ(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT), -1);
    ASSERT_EQ(errno, ECHILD);
}

/* argv, envp and the three fds reach the child, which leads a group of its
 * own; its exit status comes through on_leader, then on_group. */
BOTH(start_reports_exit)
{
    struct fx f;
    struct atb__proc p;
    char *argv[] = {"/bin/sh", "-c",
                    "read line; echo \"$0 $1 $ATB_T ${HOME-nohome} $line\"; echo oops >&2; "
                    "exit 7",
                    "zero", "one", NULL};
    char *envp[] = {"ATB_T=from-envp", NULL};
    int in[2], out[2], err[2];
    struct atb__spawn_ctx ctx;
    char buf[256];

    fx_open(&f, sigchld, 5, SIGTERM);
    pipe_of(in);
    pipe_of(out);
    pipe_of(err);
    ctx = ctx_of(envp, in[0], out[1], err[1]);
    ASSERT_EQ(f.l->ops->start(f.l, &p, argv, &ctx), 0);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    ASSERT(p.started && p.pid > 0);
    /* It is blocked reading its stdin, so it is certainly still there. */
    ASSERT_EQ(getpgid(p.pid), p.pid);
    ASSERT_EQ(f.l->ops->exited(f.l, &p), 0);
    ASSERT_EQ(write(in[1], "hello\n", 6), 6);
    close(in[1]);
    RUN_UNTIL(f.loop, f.nseen == 2);
    ASSERT_STR_EQ(f.seen, "LG");
    ASSERT_EQ(f.code, CLD_EXITED);
    ASSERT_EQ(f.status, 7);
    ASSERT(p.leader_done && p.group_done);
    ASSERT_EQ(p.signalled, 0);
    ASSERT_EQ(p.sent_signal, 0);
    ASSERT_EQ(p.killed, 0);
    ASSERT_EQ(p.pidfd, -1); /* closed once the leader was reaped */
    read_to_eof(out[0], buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "zero one from-envp nohome hello\n");
    read_to_eof(err[0], buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "oops\n");
    close(out[0]);
    close(err[0]);
    assert_no_child();
    fx_close(&f);
}

/* A leader killed by a signal nobody in atb sent: CLD_KILLED with that
 * signal, and nothing marked as signalled or killed by the launcher. */
BOTH(reports_death_by_signal)
{
    struct fx f;
    struct atb__proc p;
    char *argv[] = {"/bin/sh", "-c", "kill -USR1 $$", NULL};

    fx_open(&f, sigchld, 5, SIGTERM);
    start(&f, &p, argv, -1, f.devnull);
    RUN_UNTIL(f.loop, f.nseen == 2);
    ASSERT_STR_EQ(f.seen, "LG");
    ASSERT_EQ(f.code, CLD_KILLED);
    ASSERT_EQ(f.status, SIGUSR1);
    ASSERT_EQ(p.signalled, 0);
    ASSERT_EQ(p.killed, 0);
    assert_no_child();
    fx_close(&f);
}

/* A program that cannot be started is an error from start(), with no
 * process, no watcher and no callback left behind. */
BOTH(start_failure_leaves_nothing)
{
    struct fx f;
    struct atb__proc p;
    char *missing[] = {"atb-no-such-program", NULL};
    char *missing_abs[] = {"/nonexistent/atb-no-such-program", NULL};
    char *sh[] = {"sh", "-c", "exit 0", NULL};
    char *not_exec[] = {"/etc/passwd", NULL};
    char *bare_path[] = {"PATH=/nonexistent", NULL};
    struct atb__spawn_ctx ctx;

    fx_open(&f, sigchld, 5, SIGTERM);
    ctx = ctx_of(environ, -1, f.devnull, f.devnull);
    ASSERT_EQ(f.l->ops->start(f.l, &p, missing, &ctx), -ENOENT);
    ASSERT_EQ(p.started, 0);
    ASSERT_EQ(p.pid, 0);
    ASSERT_EQ(p.pidfd, -1);
    ASSERT_EQ(f.l->ops->start(f.l, &p, missing_abs, &ctx), -ENOENT);
    ASSERT_EQ(f.l->ops->start(f.l, &p, not_exec, &ctx), -EACCES);
    ASSERT_EQ(p.pid, 0);
    /* The command's own PATH is searched, not ours. */
    ctx.envp = bare_path;
    ASSERT_EQ(f.l->ops->start(f.l, &p, sh, &ctx), -ENOENT);
    ctx.envp = environ;
    ctx.cwd = "/nonexistent";
    ASSERT_EQ(f.l->ops->start(f.l, &p, sh, &ctx), ATB_ECWD);
    ASSERT_EQ(p.started, 0);
    assert_no_child();
    /* The operations that follow a failed start in a run are no-ops. */
    ASSERT_EQ(f.l->ops->exited(f.l, &p), 0);
    f.l->ops->stop(f.l, &p, SIGTERM);
    f.l->ops->kill(f.l, &p);
    ASSERT_EQ(p.signalled, 0);
    ASSERT_EQ(p.killed, 0);
    ev_run(f.loop, EVRUN_NOWAIT);
    ASSERT_EQ(f.nseen, 0);
    f.l->ops->forget(f.l, &p);
    fx_close(&f);
}

/* exited(): 0 while the leader runs, 1 once it has exited but before its
 * end is reported (the loop has not run), and 0 again once reported. */
BOTH(exited_until_reported)
{
    struct fx f;
    struct atb__proc p;
    char *argv[] = {"/bin/sh", "-c", "read x; exit 3", NULL};
    int in[2];

    fx_open(&f, sigchld, 5, SIGTERM);
    pipe_of(in);
    start(&f, &p, argv, in[0], f.devnull);
    close(in[0]);
    /* Blocked in read: running. */
    ASSERT_EQ(f.l->ops->exited(f.l, &p), 0);
    /* End of file on its stdin makes it exit; a WNOWAIT wait says when it
     * has, without reaping it and without running the loop. */
    close(in[1]);
    wait_exited_nowait(p.pid);
    ASSERT_EQ(f.l->ops->exited(f.l, &p), 1);
    ASSERT_EQ(f.l->ops->exited(f.l, &p), 1); /* asking takes nothing */
    ASSERT_EQ(f.nseen, 0);
    RUN_UNTIL(f.loop, f.nseen >= 1);
    ASSERT_EQ(f.code, CLD_EXITED);
    ASSERT_EQ(f.status, 3);
    ASSERT_EQ(f.l->ops->exited(f.l, &p), 0);
    RUN_UNTIL(f.loop, f.nseen == 2);
    ASSERT_STR_EQ(f.seen, "LG");
    assert_no_child();
    fx_close(&f);
}

/* stop(): the signal goes to every process of the group, once however
 * often stop() is called, and SIGKILL follows after the grace. The leader
 * and a member both trap TERM and say so on the pipe, then wait on for the
 * SIGKILL; the loop does not run until both have said so, so the grace
 * cannot end before they had their chance.
 *
 * The shells take the signal inside the wait builtin, which a trapped
 * signal interrupts at once. Waiting for a foreground child instead, a
 * shell runs its trap only once that child ends, and a child caught
 * between fork and exec when the signal comes does not die of it. */
BOTH(stop_signals_group_once_then_kills)
{
    struct fx f;
    struct atb__proc p;
    char *argv[] = {"/bin/sh", "-c",
                    "trap 'echo leader-term' TERM; "
                    "sh -c 'trap \"echo member-term\" TERM; sleep 100 & echo ready; "
                    "wait; sleep 100 & wait' & "
                    "wait; wait",
                    NULL};
    int out[2];
    char line[64], rest[512], both[128] = "";

    fx_open(&f, sigchld, 0.2, SIGTERM);
    pipe_of(out);
    start(&f, &p, argv, -1, out[1]);
    close(out[1]);
    read_line(out[0], line, sizeof(line));
    ASSERT_STR_EQ(line, "ready\n");
    f.l->ops->stop(f.l, &p, SIGTERM);
    ASSERT_EQ(p.signalled, 1);
    ASSERT_EQ(p.sent_signal, SIGTERM);
    ASSERT(ev_is_active(&p.grace_w));
    /* Once: neither a second stop() nor another signal goes out. */
    f.l->ops->stop(f.l, &p, SIGINT);
    ASSERT_EQ(p.sent_signal, SIGTERM);
    read_line(out[0], line, sizeof(line));
    strcat(both, line);
    read_line(out[0], line, sizeof(line));
    strcat(both, line);
    ASSERT_EQ(count_of(both, "leader-term\n"), 1);
    ASSERT_EQ(count_of(both, "member-term\n"), 1);
    ASSERT_EQ(f.nseen, 0);
    ASSERT_EQ(p.killed, 0);
    /* Both ignore TERM by trapping it: only the grace's SIGKILL ends them. */
    RUN_UNTIL(f.loop, f.nseen == 2);
    ASSERT_STR_EQ(f.seen, "LG");
    ASSERT_EQ(f.code, CLD_KILLED);
    ASSERT_EQ(f.status, SIGKILL);
    ASSERT_EQ(p.killed, 1);
    ASSERT(p.t_killed > 0);
    ASSERT_EQ(p.sent_signal, SIGTERM);
    ASSERT(!ev_is_active(&p.grace_w));
    read_to_eof(out[0], rest, sizeof(rest));
    ASSERT_EQ(count_of(rest, "term"), 0);
    close(out[0]);
    /* After the end every operation is a no-op. */
    f.l->ops->stop(f.l, &p, SIGTERM);
    f.l->ops->kill(f.l, &p);
    ASSERT_EQ(f.l->ops->exited(f.l, &p), 0);
    ev_run(f.loop, EVRUN_NOWAIT);
    ASSERT_EQ(f.nseen, 2);
    assert_no_child();
    fx_close(&f);
}

/* A stopped leader acts on the graceful signal: stop() continues it. The
 * grace is longer than the wait, so a SIGKILL cannot be what ends it. */
BOTH(stop_reaches_stopped_leader)
{
    struct fx f;
    struct atb__proc p;
    char *argv[] = {"sleep", "100", NULL};
    siginfo_t si;

    fx_open(&f, sigchld, 3 * WAIT_S, SIGTERM);
    start(&f, &p, argv, -1, f.devnull);
    ASSERT_EQ(kill(p.pid, SIGSTOP), 0);
    si.si_pid = 0;
    while (waitid(P_PID, (id_t)p.pid, &si, WSTOPPED | WNOWAIT) < 0)
        ASSERT_EQ(errno, EINTR);
    ASSERT_EQ(si.si_code, CLD_STOPPED);
    f.l->ops->stop(f.l, &p, SIGTERM);
    RUN_UNTIL(f.loop, f.nseen == 2);
    ASSERT_STR_EQ(f.seen, "LG");
    ASSERT_EQ(f.code, CLD_KILLED);
    ASSERT_EQ(f.status, SIGTERM);
    ASSERT_EQ(p.killed, 0);
    ASSERT_EQ(p.sent_signal, SIGTERM);
    assert_no_child();
    fx_close(&f);
}

/* kill(): SIGKILL to the group now, with no graceful signal and no grace. */
BOTH(kill_now)
{
    struct fx f;
    struct atb__proc p;
    char *argv[] = {"/bin/sh", "-c", "trap '' TERM; sleep 100 & wait", NULL};

    fx_open(&f, sigchld, 3 * WAIT_S, SIGTERM);
    start(&f, &p, argv, -1, f.devnull);
    f.l->ops->kill(f.l, &p);
    ASSERT_EQ(p.killed, 1);
    ASSERT_EQ(p.signalled, 1);
    ASSERT_EQ(p.sent_signal, 0);
    ASSERT(p.t_killed > 0);
    /* Signalled already: a later stop() sends nothing. */
    f.l->ops->stop(f.l, &p, SIGTERM);
    ASSERT_EQ(p.sent_signal, 0);
    ASSERT(!ev_is_active(&p.grace_w));
    RUN_UNTIL(f.loop, f.nseen == 2);
    ASSERT_STR_EQ(f.seen, "LG");
    ASSERT_EQ(f.code, CLD_KILLED);
    ASSERT_EQ(f.status, SIGKILL);
    assert_no_child();
    fx_close(&f);
}

/* A leader that exits and leaves a member behind: on_leader comes first
 * (with nothing sent yet), then the member gets linger_signo, and on_group
 * once it is gone. The member (a sleep) dies of SIGUSR1, and the grace is
 * longer than the wait, so nothing but the linger signal can end it in
 * time. */
BOTH(leader_gone_member_lingers)
{
    struct fx f;
    struct atb__proc p;
    char *argv[] = {"/bin/sh", "-c", "sh -c 'echo ready; exec sleep 100' & read x; exit 0",
                    NULL};
    int in[2], out[2];
    char line[64];

    fx_open(&f, sigchld, 3 * WAIT_S, SIGUSR1);
    pipe_of(in);
    pipe_of(out);
    start(&f, &p, argv, in[0], out[1]);
    close(in[0]);
    close(out[1]);
    read_line(out[0], line, sizeof(line));
    ASSERT_STR_EQ(line, "ready\n");
    close(in[1]); /* the leader exits 0 */
    RUN_UNTIL(f.loop, f.nseen >= 1);
    ASSERT_EQ(f.code, CLD_EXITED);
    ASSERT_EQ(f.status, 0);
    ASSERT_EQ(f.sent_at_leader, 0);
    RUN_UNTIL(f.loop, f.nseen == 2);
    ASSERT_STR_EQ(f.seen, "LG");
    ASSERT_EQ(p.sent_signal, SIGUSR1);
    ASSERT_EQ(p.killed, 0); /* it went on the signal, not after the grace */
    ASSERT_EQ(p.lingering, 0);
    ASSERT(!ev_is_active(&p.linger_w));
    close(out[0]);
    assert_no_child();
    fx_close(&f);
}

/* forget(): every watcher of a running, signalled proc stops, and nothing
 * is reported when its processes then die. */
BOTH(forget_stops_watchers)
{
    struct fx f;
    struct atb__proc p;
    char *argv[] = {"/bin/sh", "-c", "trap '' TERM; echo ready; exec sleep 100", NULL};
    int out[2];
    char line[64];
    pid_t pid;

    fx_open(&f, sigchld, 0.05, SIGTERM);
    pipe_of(out);
    start(&f, &p, argv, -1, out[1]);
    close(out[1]);
    read_line(out[0], line, sizeof(line));
    ASSERT_STR_EQ(line, "ready\n");
    close(out[0]);
    f.l->ops->stop(f.l, &p, SIGTERM); /* ignored: the grace timer runs */
    ASSERT(ev_is_active(&p.grace_w));
    pid = p.pid;
    f.l->ops->forget(f.l, &p);
    ASSERT(!ev_is_active(&p.grace_w));
    ASSERT(!ev_is_active(&p.pidfd_w));
    ASSERT(!ev_is_active(&p.child_w));
    ASSERT(!ev_is_active(&p.linger_w));
    ASSERT_EQ(p.pidfd, -1);
    /* Its end, once it comes, reaches no callback. */
    ASSERT_EQ(kill(-pid, SIGKILL), 0);
    wait_exited_nowait(pid);
    if (sigchld) {
        /* libev reaps it on the default loop: a watcher of our own says
         * when that happened. */
        ev_child mine;
        ev_child_init(&mine, child_seen, pid, 0);
        ev_child_start(f.loop, &mine);
        RUN_UNTIL(f.loop, mine.rpid == pid);
        ev_child_stop(f.loop, &mine);
    } else {
        /* The pidfd would be readable now: one pass of the loop would
         * report it, had forget() left its watcher. */
        ev_run(f.loop, EVRUN_NOWAIT);
        ASSERT_EQ(waitpid(pid, NULL, 0), pid);
    }
    ASSERT_EQ(f.nseen, 0);
    ASSERT_EQ(p.killed, 0); /* the grace never ended */
    assert_no_child();
    fx_close(&f);
}

/* forget() of a proc whose leader is gone and whose member lingers takes it
 * off the lingering list; nothing more is reported. */
BOTH(forget_lingering)
{
    struct fx f;
    struct atb__proc p;
    char *argv[] = {"/bin/sh", "-c",
                    "sh -c \"trap '' USR1; echo ready; exec sleep 100\" & read x; exit 0", NULL};
    int in[2], out[2];
    char line[64];
    siginfo_t si;

    fx_open(&f, sigchld, 3 * WAIT_S, SIGUSR1);
    pipe_of(in);
    pipe_of(out);
    start(&f, &p, argv, in[0], out[1]);
    close(in[0]);
    close(out[1]);
    read_line(out[0], line, sizeof(line));
    ASSERT_STR_EQ(line, "ready\n");
    close(out[0]);
    close(in[1]);
    RUN_UNTIL(f.loop, f.nseen >= 1);
    ASSERT_STR_EQ(f.seen, "L");
    ASSERT_EQ(p.lingering, 1);
    ASSERT(ev_is_active(&p.linger_w));
    ASSERT(ev_is_active(&p.grace_w));
    f.l->ops->forget(f.l, &p);
    ASSERT_EQ(p.lingering, 0);
    ASSERT(!ev_is_active(&p.linger_w));
    ASSERT(!ev_is_active(&p.grace_w));
    /* The member is our child now (we are a subreaper): kill and reap it
     * by group, then let the loop see SIGCHLD. */
    ASSERT_EQ(kill(-p.pid, SIGKILL), 0);
    si.si_pid = 0;
    while (waitid(P_PGID, (id_t)p.pid, &si, WEXITED) < 0)
        ASSERT_EQ(errno, EINTR);
    ASSERT(si.si_pid > 0);
    ev_run(f.loop, EVRUN_NOWAIT);
    ASSERT_EQ(f.nseen, 1);
    assert_no_child();
    fx_close(&f);
}

/* close() frees everything (the sanitizer build checks for leaks, the
 * harness for fds). On the default loop it also stops the launcher's own
 * ev_child watcher, so a child of the caller reaped afterwards reaches only
 * the caller's watcher, never the freed launcher. */
BOTH(close_frees)
{
    struct fx f;
    struct atb__proc p;
    char *argv[] = {"true", NULL};
    ev_child mine;
    pid_t pid;

    fx_open(&f, sigchld, 5, SIGTERM);
    start(&f, &p, argv, -1, f.devnull);
    RUN_UNTIL(f.loop, f.nseen == 2);
    f.l->ops->close(f.l);
    f.l = NULL;
    pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0)
        _exit(5);
    if (sigchld) {
        ev_child_init(&mine, child_seen, pid, 0);
        ev_child_start(f.loop, &mine);
        RUN_UNTIL(f.loop, mine.rpid == pid);
        ev_child_stop(f.loop, &mine);
        ASSERT(WIFEXITED(mine.rstatus));
        ASSERT_EQ(WEXITSTATUS(mine.rstatus), 5);
    } else {
        int st;
        ASSERT_EQ(waitpid(pid, &st, 0), pid);
        ASSERT_EQ(WEXITSTATUS(st), 5);
    }
    ASSERT_EQ(f.nseen, 2);
    ev_loop_destroy(f.loop);
    close(f.devnull);
    assert_no_child();
}
