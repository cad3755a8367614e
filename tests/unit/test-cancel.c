/* Unit tests for lib/cancel.c: pid and pid-file parsing, and cancels of
 * real processes, each run with pidfds (_pidfd) and with the /proc fallback
 * (_proc). The targets are this test's own children, which the library
 * treats like any other process; the tests reap them afterwards. */
#include "atb.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Defines NAME_pidfd and NAME_proc, both running the body that follows
 * with no_pidfd set accordingly. */
#define BOTH(name)                                                     \
    static void name(int no_pidfd);                                    \
    TEST(name##_pidfd) { name(0); }                                    \
    TEST(name##_proc) { name(1); }                                     \
    static void name(int no_pidfd)

static struct {
    int fallback, signals, kills, done;
    int fallback_error;
} seen;

static void count_event(const struct atb_cancel_event *ev, void *data)
{
    (void)data;
    if (ev->kind == ATB_CANCEL_EV_FALLBACK) {
        seen.fallback++;
        seen.fallback_error = ev->error;
    } else if (ev->kind == ATB_CANCEL_EV_SIGNAL) {
        if (ev->signo == SIGKILL)
            seen.kills++;
        else
            seen.signals++;
    } else {
        seen.done++;
    }
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void opts_for(struct atb_cancel_opts *opts, int no_pidfd, double grace_s)
{
    atb_cancel_opts_init(opts);
    opts->no_pidfd = no_pidfd;
    opts->grace_s = grace_s;
    opts->event_cb = count_event;
    memset(&seen, 0, sizeof(seen));
}

static void on_term_exit3(int signo)
{
    (void)signo;
    _exit(3);
}

/* How a sleeper takes SIGTERM. */
enum term { TERM_DIES, TERM_IGNORED, TERM_EXITS_3 };

/* Forks a child that sleeps until a signal ends it, and returns its pid
 * once it has set up its SIGTERM disposition. */
static pid_t sleeper(enum term term)
{
    int p[2];
    char c;
    pid_t pid;

    ASSERT(pipe2(p, O_CLOEXEC) == 0);
    pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        if (term == TERM_IGNORED)
            signal(SIGTERM, SIG_IGN);
        else if (term == TERM_EXITS_3)
            signal(SIGTERM, on_term_exit3);
        if (write(p[1], "r", 1) != 1)
            _exit(99);
        for (;;)
            pause();
    }
    close(p[1]);
    ASSERT(read(p[0], &c, 1) == 1);
    close(p[0]);
    return pid;
}

/* Reaps pid and returns its wait status. */
static int reap(pid_t pid)
{
    int status;

    while (waitpid(pid, &status, 0) < 0)
        ASSERT(errno == EINTR);
    return status;
}

/* True while pid is our child and has not ended. */
static int still_running(pid_t pid)
{
    siginfo_t si = {0};

    ASSERT(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0);
    return si.si_pid == 0;
}

TEST(pid_parse)
{
    pid_t pid = 0;

    ASSERT_EQ(atb_cancel_pid_parse("1234", &pid), 0);
    ASSERT_EQ(pid, 1234);
    ASSERT_EQ(atb_cancel_pid_parse("007", &pid), 0);
    ASSERT_EQ(pid, 7);
    ASSERT_EQ(atb_cancel_pid_parse("2147483647", &pid), 0);
    ASSERT_EQ(pid, 2147483647);
    ASSERT_EQ(atb_cancel_pid_parse("2147483648", &pid), -ERANGE);
    ASSERT_EQ(atb_cancel_pid_parse("99999999999999999999999", &pid), -ERANGE);
    ASSERT_EQ(atb_cancel_pid_parse("0", &pid), -EINVAL);
    ASSERT_EQ(atb_cancel_pid_parse("", &pid), -EINVAL);
    ASSERT_EQ(atb_cancel_pid_parse(NULL, &pid), -EINVAL);
    ASSERT_EQ(atb_cancel_pid_parse("-5", &pid), -EINVAL);
    ASSERT_EQ(atb_cancel_pid_parse("+5", &pid), -EINVAL);
    ASSERT_EQ(atb_cancel_pid_parse(" 5", &pid), -EINVAL);
    ASSERT_EQ(atb_cancel_pid_parse("5x", &pid), -EINVAL);
    ASSERT_EQ(pid, 2147483647);
}

static void write_file(const char *path, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, text, len), (long long)len);
    close(fd);
}

TEST(pidfile_read)
{
    char dir[] = "/tmp/atb-test-cancel-XXXXXX", path[64];
    static char big[5000];
    pid_t pid = 0;

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/pid", dir);

    write_file(path, "4321\n", 5);
    ASSERT_EQ(atb_cancel_pidfile_read(path, &pid), 0);
    ASSERT_EQ(pid, 4321);
    write_file(path, " \t\n 77 extra words\n", 19);
    ASSERT_EQ(atb_cancel_pidfile_read(path, &pid), 0);
    ASSERT_EQ(pid, 77);
    write_file(path, "88", 2);
    ASSERT_EQ(atb_cancel_pidfile_read(path, &pid), 0);
    ASSERT_EQ(pid, 88);
    write_file(path, "", 0);
    ASSERT_EQ(atb_cancel_pidfile_read(path, &pid), -EINVAL);
    write_file(path, "  \n", 3);
    ASSERT_EQ(atb_cancel_pidfile_read(path, &pid), -EINVAL);
    write_file(path, "pid=12\n", 7);
    ASSERT_EQ(atb_cancel_pidfile_read(path, &pid), -EINVAL);
    write_file(path, "12abc\n", 6);
    ASSERT_EQ(atb_cancel_pidfile_read(path, &pid), -EINVAL);
    write_file(path, "0\n", 2);
    ASSERT_EQ(atb_cancel_pidfile_read(path, &pid), -EINVAL);
    write_file(path, "-12\n", 4);
    ASSERT_EQ(atb_cancel_pidfile_read(path, &pid), -EINVAL);
    write_file(path, "99999999999\n", 12);
    ASSERT_EQ(atb_cancel_pidfile_read(path, &pid), -ERANGE);
    /* A token cut by the 4 KiB read limit is not trusted. */
    memset(big, ' ', sizeof(big));
    memcpy(big + 4094, "12345", 5);
    write_file(path, big, sizeof(big));
    ASSERT_EQ(atb_cancel_pidfile_read(path, &pid), -EINVAL);
    ASSERT_EQ(pid, 88);

    ASSERT_EQ(atb_cancel_pidfile_read(dir, &pid), -EISDIR);
    ASSERT_EQ(unlink(path), 0);
    ASSERT_EQ(atb_cancel_pidfile_read(path, &pid), -ENOENT);
    ASSERT_EQ(rmdir(dir), 0);
}

TEST(opts_defaults)
{
    struct atb_cancel_opts opts;

    memset(&opts, 0xff, sizeof(opts));
    atb_cancel_opts_init(&opts);
    ASSERT_EQ(opts.signo, SIGTERM);
    ASSERT_NEAR(opts.grace_s, 5, 1e-9);
    ASSERT_NEAR(opts.kill_wait_s, 1, 1e-9);
    ASSERT_EQ(opts.group, 0);
    ASSERT_EQ(opts.no_pidfd, 0);
    ASSERT(opts.event_cb == NULL);
}

TEST(bad_opts)
{
    struct atb_cancel_target t = {.pid = 2};
    struct atb_cancel_opts opts;

    atb_cancel_opts_init(&opts);
    opts.signo = 0;
    ASSERT_EQ(atb_cancel_run(&t, 1, &opts), -EINVAL);
    atb_cancel_opts_init(&opts);
    opts.grace_s = -1;
    ASSERT_EQ(atb_cancel_run(&t, 1, &opts), -EINVAL);
    ASSERT_EQ(atb_cancel_run(NULL, 0, NULL), 0);
}

/* A process that exits on SIGTERM is gone as soon as it has exited. */
BOTH(exits_on_term)
{
    struct atb_cancel_opts opts;
    struct atb_cancel_target t = {.pid = sleeper(TERM_DIES)};
    double t0 = now_s();
    int status;

    opts_for(&opts, no_pidfd, 20);
    ASSERT_EQ(atb_cancel_run(&t, 1, &opts), 0);
    ASSERT_EQ(t.state, ATB_CANCEL_GONE);
    ASSERT_EQ(t.sent_signal, SIGTERM);
    ASSERT_EQ(t.killed, 0);
    ASSERT_EQ(t.error, 0);
    ASSERT_EQ(t.pgid, 0);
    ASSERT(now_s() - t0 < 10);
    ASSERT(t.gone_s < 10);
    ASSERT_EQ(seen.fallback, no_pidfd);
    ASSERT_EQ(seen.fallback_error, 0);
    ASSERT_EQ(seen.signals, 1);
    ASSERT_EQ(seen.kills, 0);
    ASSERT_EQ(seen.done, 1);
    status = reap(t.pid);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

/* One that ignores SIGTERM gets SIGKILL when the grace period ends. */
BOTH(escalates)
{
    struct atb_cancel_opts opts;
    struct atb_cancel_target t = {.pid = sleeper(TERM_IGNORED)};
    int status;

    opts_for(&opts, no_pidfd, 0.3);
    ASSERT_EQ(atb_cancel_run(&t, 1, &opts), 0);
    ASSERT_EQ(t.state, ATB_CANCEL_KILLED);
    ASSERT_EQ(t.sent_signal, SIGTERM);
    ASSERT_EQ(t.killed, 1);
    ASSERT(t.gone_s >= 0.3);
    ASSERT_EQ(seen.signals, 1);
    ASSERT_EQ(seen.kills, 1);
    status = reap(t.pid);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* -s KILL: no grace period, no second SIGKILL. */
BOTH(kill_first)
{
    struct atb_cancel_opts opts;
    struct atb_cancel_target t = {.pid = sleeper(TERM_IGNORED)};
    int status;

    opts_for(&opts, no_pidfd, 20);
    opts.signo = SIGKILL;
    ASSERT_EQ(atb_cancel_run(&t, 1, &opts), 0);
    ASSERT_EQ(t.state, ATB_CANCEL_GONE);
    ASSERT_EQ(t.sent_signal, SIGKILL);
    ASSERT_EQ(t.killed, 0);
    ASSERT(t.gone_s < 10);
    ASSERT_EQ(seen.kills, 1);
    status = reap(t.pid);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* A stopped process is continued after the signal, so its handler runs
 * now rather than SIGKILL ending it after the grace period. */
BOTH(stopped_is_continued)
{
    struct atb_cancel_opts opts;
    struct atb_cancel_target t = {.pid = sleeper(TERM_EXITS_3)};
    int status;

    ASSERT_EQ(kill(t.pid, SIGSTOP), 0);
    ASSERT(waitpid(t.pid, &status, WUNTRACED) == t.pid && WIFSTOPPED(status));
    opts_for(&opts, no_pidfd, 20);
    ASSERT_EQ(atb_cancel_run(&t, 1, &opts), 0);
    ASSERT_EQ(t.state, ATB_CANCEL_GONE);
    ASSERT(t.gone_s < 10);
    status = reap(t.pid);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 3);
}

/* An exited process its parent has not reaped counts as not running, and
 * so does a pid with no process. */
BOTH(not_running)
{
    struct atb_cancel_opts opts;
    struct atb_cancel_target t[2] = {{.pid = fork()}, {.pid = fork()}};
    siginfo_t si = {0};

    ASSERT(t[0].pid >= 0 && t[1].pid >= 0);
    if (t[0].pid == 0 || t[1].pid == 0)
        _exit(0);
    ASSERT(waitid(P_PID, (id_t)t[0].pid, &si, WEXITED | WNOWAIT) == 0);
    reap(t[1].pid);
    opts_for(&opts, no_pidfd, 20);
    ASSERT_EQ(atb_cancel_run(t, 2, &opts), 0);
    ASSERT_EQ(t[0].state, ATB_CANCEL_NOT_RUNNING);
    ASSERT_EQ(t[1].state, ATB_CANCEL_NOT_RUNNING);
    ASSERT_EQ(t[0].sent_signal, 0);
    ASSERT_EQ(seen.signals, 0);
    ASSERT_EQ(seen.done, 2);
    reap(t[0].pid);
}

static void *thread_ready(void *arg)
{
    int fd = *(int *)arg;

    if (write(fd, "r", 1) != 1)
        _exit(99);
    for (;;)
        pause();
    return NULL;
}

/* A process whose main thread has ended shows state Z in /proc while its
 * other threads go on: it is running, not gone. */
BOTH(leader_thread_exited)
{
    struct atb_cancel_opts opts;
    struct atb_cancel_target t;
    char path[64], buf[512], *p;
    int pfd[2], status, i;
    pthread_t th;

    ASSERT(pipe2(pfd, O_CLOEXEC) == 0);
    t.pid = fork();
    ASSERT(t.pid >= 0);
    if (t.pid == 0) {
        if (pthread_create(&th, NULL, thread_ready, &pfd[1]) != 0)
            _exit(98);
        pthread_exit(NULL);
    }
    close(pfd[1]);
    ASSERT(read(pfd[0], buf, 1) == 1);
    close(pfd[0]);
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)t.pid);
    for (i = 0; i < 500; i++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        ASSERT(fd >= 0);
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        ASSERT(n > 0);
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (p != NULL && p[2] == 'Z')
            break;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    ASSERT(i < 500);
    opts_for(&opts, no_pidfd, 20);
    ASSERT_EQ(atb_cancel_run(&t, 1, &opts), 0);
    ASSERT_EQ(t.state, ATB_CANCEL_GONE);
    ASSERT_EQ(t.sent_signal, SIGTERM);
    status = reap(t.pid);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

static void *thread_tid(void *arg)
{
    int fd = *(int *)arg;
    pid_t tid = gettid();

    if (write(fd, &tid, sizeof(tid)) != sizeof(tid))
        _exit(99);
    for (;;)
        pause();
    return NULL;
}

/* The id of a thread other than the main one is not a process id: it
 * fails, and its process is left alone (kill() would have signalled it). */
BOTH(thread_id)
{
    struct atb_cancel_opts opts;
    struct atb_cancel_target t = {0};
    pid_t pid;
    pthread_t th;
    int pfd[2], status;

    ASSERT(pipe2(pfd, O_CLOEXEC) == 0);
    pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        if (pthread_create(&th, NULL, thread_tid, &pfd[1]) != 0)
            _exit(98);
        for (;;)
            pause();
    }
    close(pfd[1]);
    ASSERT_EQ(read(pfd[0], &t.pid, sizeof(t.pid)), (long long)sizeof(t.pid));
    close(pfd[0]);
    ASSERT(t.pid != pid);
    opts_for(&opts, no_pidfd, 20);
    ASSERT_EQ(atb_cancel_run(&t, 1, &opts), 0);
    ASSERT_EQ(t.state, ATB_CANCEL_FAILED);
    ASSERT_EQ(t.error, -EINVAL);
    ASSERT_EQ(seen.signals, 0);
    ASSERT(still_running(pid));
    kill(pid, SIGKILL);
    status = reap(pid);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* Init, atb itself and (with a group) atb's own group are refused, and
 * then nothing at all is signalled. */
BOTH(refused)
{
    struct atb_cancel_opts opts;
    struct atb_cancel_target t[2] = {{.pid = sleeper(TERM_DIES)}, {.pid = 1}};
    int status;

    opts_for(&opts, no_pidfd, 20);
    ASSERT_EQ(atb_cancel_run(t, 2, &opts), -EINVAL);
    ASSERT_EQ(t[1].state, ATB_CANCEL_REFUSED);
    ASSERT_EQ(t[0].state, ATB_CANCEL_PENDING);
    t[1].pid = getpid();
    ASSERT_EQ(atb_cancel_run(t, 2, &opts), -EINVAL);
    ASSERT_EQ(t[1].state, ATB_CANCEL_REFUSED);
    /* The sleeper shares this test's process group. */
    opts.group = 1;
    ASSERT_EQ(atb_cancel_run(t, 1, &opts), -EINVAL);
    ASSERT_EQ(t[0].state, ATB_CANCEL_REFUSED);
    ASSERT_EQ(t[0].pgid, getpgrp());
    ASSERT_EQ(seen.signals + seen.done, 0);
    ASSERT(still_running(t[0].pid));
    kill(t[0].pid, SIGKILL);
    status = reap(t[0].pid);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* The same process named twice is signalled once and settled twice. */
BOTH(duplicates)
{
    struct atb_cancel_opts opts;
    struct atb_cancel_target t[2];

    t[0].pid = t[1].pid = sleeper(TERM_DIES);
    opts_for(&opts, no_pidfd, 20);
    ASSERT_EQ(atb_cancel_run(t, 2, &opts), 0);
    ASSERT_EQ(t[0].state, ATB_CANCEL_GONE);
    ASSERT_EQ(t[1].state, ATB_CANCEL_GONE);
    ASSERT_EQ(t[1].sent_signal, SIGTERM);
    ASSERT_EQ(seen.signals, 1);
    ASSERT_EQ(seen.done, 2);
    reap(t[0].pid);
}

/* A user may not signal another user's process: denied, and left alone.
 * Runs the cancel in a child that has dropped to nobody. */
BOTH(denied)
{
    struct atb_cancel_opts opts;
    pid_t target, canceller;
    int status;

    if (getuid() != 0) {
        fprintf(stderr, "# skipped: needs root to drop to another user\n");
        return;
    }
    target = sleeper(TERM_DIES);
    canceller = fork();
    ASSERT(canceller >= 0);
    if (canceller == 0) {
        struct atb_cancel_target t = {.pid = target};

        if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
            _exit(10);
        opts_for(&opts, no_pidfd, 20);
        if (atb_cancel_run(&t, 1, &opts) != 0)
            _exit(11);
        _exit(t.state == ATB_CANCEL_DENIED && t.error == -EPERM &&
                      t.sent_signal == 0 && seen.done == 1
                  ? 0
                  : 12);
    }
    status = reap(canceller);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    ASSERT(still_running(target));
    kill(target, SIGKILL);
    reap(target);
}

/* Builds a process group to cancel: this test forks P (outside the group),
 * P forks leader L in a new group, L forks member M. L ignores SIGTERM and
 * exits 7 once it has reaped M; M ignores SIGTERM too when member_ignores.
 * P reaps L and exits with its exit status, or 128 + its signal. Returns P;
 * *leader gets L. L and M die with their parents, so a failed test, whose
 * process group (P included) the runner kills, leaves neither behind. */
static pid_t group_tree(int member_ignores, pid_t *leader)
{
    pid_t pids[2], p;
    int fd[2];

    ASSERT(pipe2(fd, O_CLOEXEC) == 0);
    p = fork();
    ASSERT(p >= 0);
    if (p == 0) {
        pid_t parent = getpid(), l = fork();
        int status;

        if (l < 0)
            _exit(90);
        if (l == 0) {
            pid_t m, self = getpid();

            if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(96);
            setpgid(0, 0);
            signal(SIGTERM, SIG_IGN);
            m = fork();
            if (m < 0)
                _exit(91);
            if (m == 0) {
                pid_t me = getpid();

                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != self)
                    _exit(97);

                if (!member_ignores)
                    signal(SIGTERM, SIG_DFL);
                if (write(fd[1], &me, sizeof(me)) != sizeof(me))
                    _exit(92);
                for (;;)
                    pause();
            }
            if (write(fd[1], &self, sizeof(self)) != sizeof(self))
                _exit(93);
            while (waitpid(m, &status, 0) < 0)
                if (errno != EINTR)
                    _exit(94);
            _exit(7);
        }
        while (waitpid(l, &status, 0) < 0)
            if (errno != EINTR)
                _exit(95);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    close(fd[1]);
    for (size_t got = 0; got < sizeof(pids);) {
        ssize_t n = read(fd[0], (char *)pids + got, sizeof(pids) - got);
        ASSERT(n > 0);
        got += (size_t)n;
    }
    close(fd[0]);
    /* Both wrote their own pid, in either order; both are in group L. */
    *leader = getpgid(pids[0]);
    ASSERT(*leader == pids[0] || *leader == pids[1]);
    ASSERT_EQ(getpgid(pids[1]), *leader);
    return p;
}

/* With a group, a member dying on SIGTERM lets the leader finish. */
BOTH(group_gone)
{
    struct atb_cancel_opts opts;
    struct atb_cancel_target t;
    pid_t p = group_tree(0, &t.pid);
    int status;

    opts_for(&opts, no_pidfd, 20);
    opts.group = 1;
    ASSERT_EQ(atb_cancel_run(&t, 1, &opts), 0);
    ASSERT_EQ(t.state, ATB_CANCEL_GONE);
    ASSERT_EQ(t.pgid, t.pid);
    ASSERT_EQ(t.sent_signal, SIGTERM);
    ASSERT_EQ(t.killed, 0);
    ASSERT(t.gone_s < 10);
    ASSERT(kill(-t.pgid, 0) < 0 && errno == ESRCH);
    status = reap(p);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 7);
}

/* A group that ignores SIGTERM is killed whole. The member, orphaned, may
 * linger as a zombie until init reaps it: that counts as gone. */
BOTH(group_escalates)
{
    struct atb_cancel_opts opts;
    struct atb_cancel_target t;
    pid_t p = group_tree(1, &t.pid);
    int status;

    opts_for(&opts, no_pidfd, 0.3);
    opts.group = 1;
    ASSERT_EQ(atb_cancel_run(&t, 1, &opts), 0);
    ASSERT_EQ(t.state, ATB_CANCEL_KILLED);
    ASSERT_EQ(t.killed, 1);
    ASSERT(t.gone_s >= 0.3);
    ASSERT_EQ(seen.signals, 1);
    ASSERT_EQ(seen.kills, 1);
    status = reap(p);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 128 + SIGKILL);
}
