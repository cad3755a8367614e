/* Unit tests for lib/cancel.c: pid and pid-file parsing, and cancels of
 * real processes, each run with pidfds (_pidfd) and with the /proc fallback
 * (_proc). The targets are this test's own children, which the library
 * treats like any other process; the tests reap them afterwards. Refusals
 * are checked with targets that a wrong answer would not end: kernel
 * threads, and ancestors of a grandchild that runs the cancel. */
#include "atb.h"
#include "unit.h"

#include <dirent.h>
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

/* Loads path and checks the outcome: rc, and for -EINVAL/-ERANGE the
 * reason starting with why. */
static void expect_load(const char *path, int rc, const char *why)
{
    const char *got = "unset";
    pid_t pid = 0;

    ASSERT_EQ(atb_cancel_pidfile_load(path, &pid, NULL, &got), rc);
    if (why != NULL) {
        ASSERT(got != NULL);
        ASSERT(strncmp(got, why, strlen(why)) == 0);
    }
}

/* Strict contents: one pid, at most one newline after it. */
TEST(pidfile_contents)
{
    char dir[] = "/tmp/atb-test-cancel-XXXXXX", path[64];
    static char big[100];
    struct timespec written;
    struct stat st;
    pid_t pid = 0;

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/pid", dir);

    write_file(path, "4321\n", 5);
    ASSERT_EQ(atb_cancel_pidfile_read(path, &pid), 0);
    ASSERT_EQ(pid, 4321);
    write_file(path, "88", 2);
    ASSERT_EQ(atb_cancel_pidfile_load(path, &pid, &written, NULL), 0);
    ASSERT_EQ(pid, 88);
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(written.tv_sec, st.st_mtim.tv_sec);
    ASSERT_EQ(written.tv_nsec, st.st_mtim.tv_nsec);
    write_file(path, "0077\n", 5);
    ASSERT_EQ(atb_cancel_pidfile_read(path, &pid), 0);
    ASSERT_EQ(pid, 77);

    write_file(path, "", 0);
    expect_load(path, -EINVAL, "empty");
    write_file(path, " 12\n", 4);
    expect_load(path, -EINVAL, "starts with a blank");
    write_file(path, "\t12\n", 4);
    expect_load(path, -EINVAL, "starts with a blank");
    write_file(path, "\n12\n", 4);
    expect_load(path, -EINVAL, "starts with a blank");
    write_file(path, "pid=12\n", 7);
    expect_load(path, -EINVAL, "does not start with a process id");
    write_file(path, "-12\n", 4);
    expect_load(path, -EINVAL, "does not start with a process id");
    write_file(path, "+12\n", 4);
    expect_load(path, -EINVAL, "does not start with a process id");
    write_file(path, "123abc\n", 7);
    expect_load(path, -EINVAL, "text after the process id");
    write_file(path, "123 456\n", 8);
    expect_load(path, -EINVAL, "text after the process id");
    write_file(path, "123 \n", 5);
    expect_load(path, -EINVAL, "text after the process id");
    write_file(path, "123\r\n", 5);
    expect_load(path, -EINVAL, "text after the process id");
    write_file(path, "123\n\n", 5);
    expect_load(path, -EINVAL, "text after the process id");
    write_file(path, "123\nsomething else\n", 19);
    expect_load(path, -EINVAL, "text after the process id");
    write_file(path, "0\n", 2);
    expect_load(path, -EINVAL, "0 is not a process id");
    write_file(path, "99999999999\n", 12);
    expect_load(path, -ERANGE, "number too large");
    memset(big, '1', sizeof(big));
    write_file(path, big, sizeof(big));
    expect_load(path, -EINVAL, "too long");
    ASSERT_EQ(pid, 77);

    expect_load(dir, -EINVAL, "not a regular file");
    expect_load("/dev/null", -EINVAL, "not a regular file");
    ASSERT_EQ(unlink(path), 0);
    expect_load(path, -ENOENT, NULL);
    ASSERT_EQ(rmdir(dir), 0);
}

/* A FIFO is refused at once, with or without a writer: never read, never
 * waited on (a regression hangs until the runner's time limit). */
TEST(pidfile_fifo)
{
    char dir[] = "/tmp/atb-test-cancel-XXXXXX", path[64];
    int wfd;

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/fifo", dir);
    ASSERT_EQ(mkfifo(path, 0600), 0);
    expect_load(path, -EINVAL, "not a regular file");
    /* With a reader of our own open, a writer can be there too. */
    wfd = open(path, O_RDWR | O_CLOEXEC);
    ASSERT(wfd >= 0);
    ASSERT_EQ(write(wfd, "12\n", 3), 3);
    expect_load(path, -EINVAL, "not a regular file");
    close(wfd);
    ASSERT_EQ(unlink(path), 0);
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

/* Returns a child of kthreadd (a kworker, say) when pid 2 is kthreadd, or
 * 0 where it is not (in a pid namespace). */
static pid_t kthread_child(void)
{
    char buf[512], *p;
    struct dirent *e;
    pid_t found = 0;
    DIR *d;
    int fd;
    ssize_t n;

    fd = open("/proc/2/comm", O_RDONLY | O_CLOEXEC);
    n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
    if (fd >= 0)
        close(fd);
    if (n != 9 || memcmp(buf, "kthreadd\n", 9) != 0)
        return 0;
    d = opendir("/proc");
    ASSERT(d != NULL);
    while (found == 0 && (e = readdir(d)) != NULL) {
        char path[300];
        int ppid = 0;

        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        if (fd >= 0)
            close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (p != NULL && sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == 2)
            found = (pid_t)atoi(e->d_name);
    }
    closedir(d);
    return found;
}

/* Kernel threads are refused, kthreadd itself and its children: a refusal,
 * so nothing is signalled. */
BOTH(kthread_refused)
{
    struct atb_cancel_opts opts;
    struct atb_cancel_target t[2] = {{.pid = sleeper(TERM_DIES)}, {.pid = 2}};
    pid_t worker = kthread_child();
    int status;

    if (worker == 0) {
        fprintf(stderr, "# skipped: pid 2 is not kthreadd (a pid namespace?)\n");
        kill(t[0].pid, SIGKILL);
        reap(t[0].pid);
        return;
    }
    opts_for(&opts, no_pidfd, 0);
    ASSERT_EQ(atb_cancel_run(t, 2, &opts), -EINVAL);
    ASSERT_EQ(t[1].state, ATB_CANCEL_REFUSED);
    ASSERT_EQ(t[1].error, -EPERM);
    ASSERT_EQ(t[0].state, ATB_CANCEL_PENDING);
    t[1].pid = worker;
    ASSERT_EQ(atb_cancel_run(t, 2, &opts), -EINVAL);
    /* The worker may have ended meanwhile; if not, it is refused. */
    ASSERT(t[1].state == ATB_CANCEL_REFUSED ||
           t[1].state == ATB_CANCEL_NOT_RUNNING);
    if (t[1].state == ATB_CANCEL_REFUSED)
        ASSERT_EQ(t[1].error, -EPERM);
    opts.group = 1;
    t[1].pid = 2;
    ASSERT_EQ(atb_cancel_run(&t[1], 1, &opts), -EINVAL);
    ASSERT_EQ(t[1].error, -EPERM);
    ASSERT_EQ(seen.signals + seen.done, 0);
    ASSERT(still_running(t[0].pid));
    kill(t[0].pid, SIGKILL);
    status = reap(t[0].pid);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* The canceller's ancestors are refused: from a grandchild G of this test,
 * a cancel of its parent C and of this test's process is refused and
 * signals neither (were it not, SIGTERM would end C: the test fails). */
BOTH(ancestors_refused)
{
    pid_t test = getpid(), c = fork();
    int status;

    ASSERT(c >= 0);
    if (c == 0) {
        pid_t g = fork();

        if (g < 0)
            _exit(90);
        if (g == 0) {
            struct atb_cancel_target t[2] = {{.pid = getppid()}, {.pid = test}};
            struct atb_cancel_opts opts;

            opts_for(&opts, no_pidfd, 20);
            if (atb_cancel_run(t, 2, &opts) != -EINVAL)
                _exit(10);
            if (t[0].state != ATB_CANCEL_REFUSED || t[0].error != -EDEADLK ||
                t[1].state != ATB_CANCEL_REFUSED || t[1].error != -EDEADLK)
                _exit(11);
            _exit(seen.signals + seen.done == 0 ? 0 : 12);
        }
        while (waitpid(g, &status, 0) < 0)
            if (errno != EINTR)
                _exit(91);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 92);
    }
    status = reap(c);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
}

static struct timespec wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts;
}

/* A process that started after its pid file was written is refused, beyond
 * 20 ms (2 s more for an mtime of whole seconds); one that started before,
 * and a target with no pid file, are cancelled. */
BOTH(started_after_pidfile)
{
    struct atb_cancel_opts opts;
    struct timespec before = wall_now(), w[3];
    struct atb_cancel_target t[3] = {{.pid = sleeper(TERM_DIES)},
                                     {.pid = sleeper(TERM_DIES)},
                                     {.pid = sleeper(TERM_DIES)}};

    if (before.tv_nsec == 0)
        before.tv_nsec = 1;
    opts_for(&opts, no_pidfd, 20);
    w[0] = before;
    w[0].tv_sec -= 3600;
    ASSERT_EQ(atb_cancel_run_pidfiles(t, 1, &opts, w), -EINVAL);
    ASSERT_EQ(t[0].state, ATB_CANCEL_REFUSED);
    ASSERT_EQ(t[0].error, -ESTALE);
    w[0].tv_sec = before.tv_sec - 1;
    ASSERT_EQ(atb_cancel_run_pidfiles(t, 1, &opts, w), -EINVAL);
    ASSERT_EQ(t[0].error, -ESTALE);
    w[0] = (struct timespec){before.tv_sec - 3, 0};
    ASSERT_EQ(atb_cancel_run_pidfiles(t, 1, &opts, w), -EINVAL);
    ASSERT_EQ(t[0].error, -ESTALE);
    ASSERT_EQ(seen.signals + seen.done, 0);
    ASSERT(still_running(t[0].pid));

    w[0] = wall_now();
    w[1] = (struct timespec){before.tv_sec - 1, 0};
    w[2] = (struct timespec){0, -1};
    ASSERT_EQ(atb_cancel_run_pidfiles(t, 3, &opts, w), 0);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(t[i].state, ATB_CANCEL_GONE);
        reap(t[i].pid);
    }
}

/* Forks a child that writes its own pid to path, as a daemon does, and
 * returns its pid once it has. */
static pid_t self_writer(const char *path)
{
    int p[2];
    char c;
    pid_t pid;

    ASSERT(pipe2(p, O_CLOEXEC) == 0);
    pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        char text[16];
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int len = snprintf(text, sizeof(text), "%d\n", (int)getpid());

        if (fd < 0 || write(fd, text, (size_t)len) != len || close(fd) < 0 ||
            write(p[1], "r", 1) != 1)
            _exit(99);
        for (;;)
            pause();
    }
    close(p[1]);
    ASSERT(read(p[0], &c, 1) == 1);
    close(p[0]);
    return pid;
}

/* A pid file that its process wrote itself is accepted. */
BOTH(pidfile_by_itself)
{
    char dir[] = "/tmp/atb-test-cancel-XXXXXX", path[64];
    struct atb_cancel_opts opts;
    struct atb_cancel_target t = {0};
    struct timespec written;
    pid_t pid;

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/pid", dir);
    pid = self_writer(path);
    ASSERT_EQ(atb_cancel_pidfile_load(path, &t.pid, &written, NULL), 0);
    ASSERT_EQ(t.pid, pid);
    opts_for(&opts, no_pidfd, 20);
    ASSERT_EQ(atb_cancel_run_pidfiles(&t, 1, &opts, &written), 0);
    ASSERT_EQ(t.state, ATB_CANCEL_GONE);
    reap(pid);
    ASSERT_EQ(unlink(path), 0);
    ASSERT_EQ(rmdir(dir), 0);
}

/* Makes the next pid the kernel hands out pid, through ns_last_pid, and
 * starts a sleeper on it. Returns its pid, or 0 when ns_last_pid cannot be
 * written here; tries again when another process took the pid first. */
static pid_t sleeper_on(pid_t pid)
{
    for (int i = 0; i < 50; i++) {
        char text[16];
        int len = snprintf(text, sizeof(text), "%d", (int)pid - 1);
        int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
        pid_t got;

        if (fd < 0 || write(fd, text, (size_t)len) != len) {
            if (fd >= 0)
                close(fd);
            return 0;
        }
        close(fd);
        got = sleeper(TERM_DIES);
        if (got == pid)
            return got;
        kill(got, SIGKILL);
        reap(got);
    }
    ASSERT(!"another process took the pid 50 times");
    return 0;
}

/* The case: a pid file names a process that has ended, and a new
 * process got its pid. The new one started after the file was written: it
 * is refused and left alone. */
BOTH(pidfile_pid_reused)
{
    char dir[] = "/tmp/atb-test-cancel-XXXXXX", path[64];
    struct timespec old_times[2] = {wall_now(), wall_now()};
    struct atb_cancel_opts opts;
    struct atb_cancel_target t = {0};
    struct timespec written;
    pid_t old, reused;

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/pid", dir);
    old = self_writer(path);
    kill(old, SIGKILL);
    reap(old);
    /* However fast this test runs, the file is a second older than the
     * process that is about to get its pid. */
    old_times[0].tv_sec -= 1;
    old_times[1].tv_sec -= 1;
    ASSERT_EQ(utimensat(AT_FDCWD, path, old_times, 0), 0);
    ASSERT_EQ(atb_cancel_pidfile_load(path, &t.pid, &written, NULL), 0);
    ASSERT_EQ(t.pid, old);
    reused = sleeper_on(old);
    if (reused == 0) {
        fprintf(stderr, "# skipped: cannot write "
                        "/proc/sys/kernel/ns_last_pid to reuse a pid\n");
    } else {
        opts_for(&opts, no_pidfd, 20);
        ASSERT_EQ(atb_cancel_run_pidfiles(&t, 1, &opts, &written), -EINVAL);
        ASSERT_EQ(t.state, ATB_CANCEL_REFUSED);
        ASSERT_EQ(t.error, -ESTALE);
        ASSERT_EQ(seen.signals + seen.done, 0);
        ASSERT(still_running(reused));
        kill(reused, SIGKILL);
        reap(reused);
    }
    ASSERT_EQ(unlink(path), 0);
    ASSERT_EQ(rmdir(dir), 0);
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
