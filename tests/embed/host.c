/* tests/embed/host.c: a third-party program that embeds libatb.
 *
 * It is built against the installed tree through pkg-config (see embed.sh)
 * and lives on libev's default loop, where it keeps watchers of its own: a
 * child it forked and watches with ev_child, an ev_timer, an ev_signal for
 * SIGUSR1. On that same loop it runs three atb runs at once:
 *   A  pool: "fail" exits 3 and the run cancels "sleeper" (sleep 100);
 *   B  wait-all: two commands that succeed, their lines checked as events;
 *   C  two sleepers, one a shell with a background sleep, cancelled from
 *      an ev_timer with atb_run_cancel().
 * It checks each run's results, that its own child's status reached its own
 * watcher, that nothing process-wide changed (signal mask, dispositions,
 * subreaper flag, RLIMIT_NOFILE, open fds), and that no child is left.
 *
 * Output: one line per check, "PASS what" or "FAIL what (details)", which
 * embed.sh numbers into TAP. Exit status 0 when every check passed. Every
 * wait is bounded: alarm(60) for the whole program, and a guard timer on
 * the loop; nothing sleeps to synchronise, everything follows callbacks.
 */
#define _GNU_SOURCE
#include <atb.h>
#include <ev.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define GUARD_S 30.0    /* the loop's own bound, well inside alarm(60) */
#define DRAIN_S 5.0     /* how long the loop may go on after everything ended */
#define MAX_CMDS 4
#define MAX_FD 1024

static int failures;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...)
{
    va_list ap;

    fputs(ok ? "PASS " : "FAIL ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    /* Flushed per line: a crash later must not eat the lines before it. */
    fflush(stdout);
    if (!ok)
        failures++;
}

/* ---- process-wide state the runs must leave alone ----------------------- */

static const int watched_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE, SIGQUIT};
#define NSIGS (sizeof watched_signals / sizeof watched_signals[0])

struct proc_state {
    sigset_t mask;
    struct sigaction act[NSIGS];
    int subreaper;
    struct rlimit nofile;
};

static int state_read(struct proc_state *s)
{
    size_t i;

    memset(s, 0, sizeof *s);
    sigemptyset(&s->mask);
    if (sigprocmask(SIG_BLOCK, NULL, &s->mask) < 0)
        return -errno;
    for (i = 0; i < NSIGS; i++)
        if (sigaction(watched_signals[i], NULL, &s->act[i]) < 0)
            return -errno;
    if (prctl(PR_GET_CHILD_SUBREAPER, &s->subreaper, 0, 0, 0) < 0)
        return -errno;
    if (getrlimit(RLIMIT_NOFILE, &s->nofile) < 0)
        return -errno;
    return 0;
}

/* Compares two signal sets member by member: sigset_t has room for more
 * signals than the kernel fills in, so memcmp() could see noise. */
static int sigset_same(const sigset_t *a, const sigset_t *b)
{
    int sig;

    for (sig = 1; sig <= SIGRTMAX; sig++)
        if (sigismember(a, sig) != sigismember(b, sig))
            return 0;
    return 1;
}

typedef void (*any_handler)(void);

static any_handler handler_of(const struct sigaction *act)
{
    /* One union in glibc, read through the member its flags say is live. */
    if (act->sa_flags & SA_SIGINFO)
        return (any_handler)act->sa_sigaction;
    return (any_handler)act->sa_handler;
}

/* SA_RESTORER is glibc's own bit, added to every action it installs; the
 * program neither sets nor sees it, so it is left out of the comparison. */
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

static void state_compare(const struct proc_state *before, const struct proc_state *now,
                          const char *when)
{
    size_t i;

    check(sigset_same(&before->mask, &now->mask), "%s: signal mask unchanged", when);
    for (i = 0; i < NSIGS; i++) {
        const struct sigaction *a = &before->act[i], *b = &now->act[i];
        int sig = watched_signals[i];

        check(handler_of(a) == handler_of(b) &&
                  (a->sa_flags & ~SA_RESTORER) == (b->sa_flags & ~SA_RESTORER) &&
                  sigset_same(&a->sa_mask, &b->sa_mask),
              "%s: %s disposition unchanged (handler %p -> %p, flags %#x -> %#x)", when,
              atb_signal_name(sig), (void *)handler_of(a), (void *)handler_of(b),
              (unsigned)a->sa_flags, (unsigned)b->sa_flags);
    }
    check(before->subreaper == now->subreaper, "%s: subreaper flag unchanged (%d -> %d)", when,
          before->subreaper, now->subreaper);
    check(before->nofile.rlim_cur == now->nofile.rlim_cur &&
              before->nofile.rlim_max == now->nofile.rlim_max,
          "%s: RLIMIT_NOFILE unchanged (%llu/%llu -> %llu/%llu)", when,
          (unsigned long long)before->nofile.rlim_cur, (unsigned long long)before->nofile.rlim_max,
          (unsigned long long)now->nofile.rlim_cur, (unsigned long long)now->nofile.rlim_max);
}

/* Marks in open[] the fds below MAX_FD that are open. Returns 0 or -errno. */
static int fds_read(unsigned char open_fds[MAX_FD])
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    if (!d)
        return -errno;
    memset(open_fds, 0, MAX_FD);
    while ((e = readdir(d)) != NULL) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);

        if (*end || end == e->d_name || fd == dirfd(d))
            continue;
        if (fd >= 0 && fd < MAX_FD)
            open_fds[fd] = 1;
    }
    closedir(d);
    return 0;
}

static void fds_compare(const unsigned char *before, const unsigned char *now)
{
    char diff[256] = "";
    size_t used = 0;
    int fd, same = 1;

    for (fd = 0; fd < MAX_FD; fd++) {
        if (before[fd] == now[fd])
            continue;
        same = 0;
        if (used < sizeof diff - 16)
            used += (size_t)snprintf(diff + used, sizeof diff - used, " %s%d",
                                     now[fd] ? "+" : "-", fd);
    }
    check(same, "no fd opened or closed by the runs%s%s", same ? "" : ":", diff);
}

/* Lists the processes whose parent is this one, alive or zombie, by
 * scanning /proc (children files need CONFIG_PROC_CHILDREN). Returns how
 * many, with "pid(state)" of each in buf. */
static int children_list(char *buf, size_t size)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t self = getpid();
    size_t used = 0;
    int n = 0;

    buf[0] = '\0';
    if (!d)
        return -errno;
    while ((e = readdir(d)) != NULL) {
        char path[sizeof e->d_name + 16], stat[512], *p;
        char state;
        int ppid;
        ssize_t len;
        int fd;

        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue; /* gone meanwhile */
        do
            len = read(fd, stat, sizeof stat - 1);
        while (len < 0 && errno == EINTR);
        close(fd);
        if (len <= 0)
            continue;
        stat[len] = '\0';
        /* The command name may hold spaces and parentheses: the fields
         * after it start after the last ')'. */
        p = strrchr(stat, ')');
        if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2 || ppid != self)
            continue;
        n++;
        if (used < size)
            used += (size_t)snprintf(buf + used, size - used, " %s(%c)", e->d_name, state);
    }
    closedir(d);
    return n;
}

/* ---- runs ---------------------------------------------------------------- */

struct expect_line {
    int id, stream;
    const char *text;
    int seen;
};

struct host;

struct host_run {
    const char *label;
    struct host *host;
    struct atb_run *run;
    int started_ok;    /* atb_run_start() returned 0 */
    int done_calls;
    int ncmds;
    int started[MAX_CMDS], ended[MAX_CMDS], finished[MAX_CMDS];
    int finished_early; /* FINISHED before ENDED */
    int bad_id;         /* an event for an id the run never gave */
    struct expect_line *lines;
    size_t nlines;
    /* Called on each STARTED event, after it is counted. */
    void (*on_started)(struct host_run *hr, int id);
};

struct host {
    struct ev_loop *loop;
    struct host_run a, b, c;
    int runs_live;

    /* Its own child, told to exit 7 through a pipe (the host keeps the
     * read end open too, so a write can never raise SIGPIPE). */
    pid_t child;
    int child_pipe[2];
    int child_status;
    int child_reaped;
    ev_child child_w;

    ev_signal usr1_w;
    int usr1_seen;
    ev_timer usr1_timer;

    /* Run A's "fail" reads one line from this pipe before it exits 3, sent
     * once "sleeper" has started, so the failure always finds the sleeper
     * running and has something to cancel. */
    int a_input[2];
    int a_sleeper, a_fail, a_go_sent;

    int c_sleep, c_tree;
    ev_timer cancel_timer;
    int cancel_rc;
    int cancel_called;

    struct proc_state before;
    int during_checked;

    ev_timer guard;
    int guard_fired;
    ev_timer drain;
    int drain_fired;
};

static void host_maybe_finish(struct host *h);

static void on_event(struct atb_run *run, const struct atb_event *ev, void *data)
{
    struct host_run *hr = data;
    size_t i;

    (void)run;
    switch (ev->kind) {
    case ATB_EVENT_STARTED:
    case ATB_EVENT_ENDED:
    case ATB_EVENT_FINISHED:
    case ATB_EVENT_OUTPUT:
        if (ev->id < 0 || ev->id >= hr->ncmds) {
            hr->bad_id++;
            return;
        }
        break;
    default:
        return;
    }
    switch (ev->kind) {
    case ATB_EVENT_STARTED:
        hr->started[ev->id]++;
        if (hr->on_started)
            hr->on_started(hr, ev->id);
        break;
    case ATB_EVENT_ENDED:
        hr->ended[ev->id]++;
        break;
    case ATB_EVENT_FINISHED:
        if (!hr->ended[ev->id])
            hr->finished_early++;
        hr->finished[ev->id]++;
        break;
    case ATB_EVENT_OUTPUT:
        for (i = 0; i < hr->nlines; i++) {
            struct expect_line *l = &hr->lines[i];

            if (l->id == ev->id && l->stream == ev->stream && strlen(l->text) == ev->len &&
                memcmp(l->text, ev->data, ev->len) == 0)
                l->seen++;
        }
        break;
    default:
        break;
    }
}

static void on_done(struct atb_run *run, void *data)
{
    struct host_run *hr = data;

    (void)run;
    /* Counted, not asserted here: a second call is reported at the end. */
    if (++hr->done_calls == 1) {
        hr->host->runs_live--;
        host_maybe_finish(hr->host);
    }
}

static ssize_t write_all(int fd, const char *buf, size_t len)
{
    ssize_t n;

    do
        n = write(fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
}

static void a_started(struct host_run *hr, int id)
{
    struct host *h = hr->host;

    if (id != h->a_sleeper || h->a_go_sent)
        return;
    h->a_go_sent = 1;
    if (write_all(h->a_input[1], "go\n", 3) != 3)
        check(0, "A: tell fail to go: %s", strerror(errno));
}

static void c_started(struct host_run *hr, int id)
{
    struct host *h = hr->host;
    struct proc_state during;

    (void)id;
    if (hr->started[h->c_sleep] != 1 || hr->started[h->c_tree] != 1 || h->during_checked)
        return;
    h->during_checked = 1;
    /* While runs go on, the process is still as it was. */
    if (state_read(&during) < 0)
        check(0, "during: read process state: %s", strerror(errno));
    else
        state_compare(&h->before, &during, "during the runs");
    ev_timer_start(h->loop, &h->cancel_timer);
}

static void cancel_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct host *h = w->data;

    (void)loop;
    (void)revents;
    h->cancel_called = 1;
    h->cancel_rc = atb_run_cancel(h->c.run, SIGTERM);
}

/* ---- the host's own watchers --------------------------------------------- */

static void child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    struct host *h = w->data;

    (void)revents;
    if (w->rpid != h->child)
        return;
    h->child_status = w->rstatus;
    h->child_reaped = 1;
    ev_child_stop(loop, w);
    host_maybe_finish(h);
}

static void usr1_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct host *h = w->data;

    (void)revents;
    h->usr1_seen++;
    ev_signal_stop(loop, w);
    /* Now the host's own child may end, while the runs' children are still
     * being reaped on the same loop. */
    if (write_all(h->child_pipe[1], "x", 1) != 1)
        check(0, "tell own child to exit: %s", strerror(errno));
    host_maybe_finish(h);
}

static void usr1_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    raise(SIGUSR1);
}

static void drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct host *h = w->data;

    (void)revents;
    /* The timer was unref'd when started and libev has stopped it by now:
     * take the reference back so the loop's count stays balanced. */
    ev_ref(loop);
    h->drain_fired = 1;
    ev_break(loop, EVBREAK_ALL);
}

/* Once the runs are done, the host's own child reaped and SIGUSR1 seen,
 * the guard goes. Everything else should be stopped by then, so ev_run()
 * returns by itself; the drain timer is unref'd so as not to hold the loop,
 * and bounds the wait when something still does. */
static void host_maybe_finish(struct host *h)
{
    if (h->runs_live > 0 || !h->child_reaped || !h->usr1_seen || h->guard_fired)
        return;
    ev_timer_stop(h->loop, &h->guard);
    if (!ev_is_active(&h->drain)) {
        ev_timer_start(h->loop, &h->drain);
        ev_unref(h->loop);
    }
}

static void guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct host *h = w->data;
    struct host_run *runs[] = {&h->a, &h->b, &h->c};
    size_t i;

    (void)revents;
    if (h->guard_fired) {
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    h->guard_fired = 1;
    check(0, "everything ended within %.0f s (runs still going %d, own child reaped %d, "
             "SIGUSR1 seen %d)",
          GUARD_S, h->runs_live, h->child_reaped, h->usr1_seen);
    /* Clean up what can be: a second cancel kills at once. */
    for (i = 0; i < 3; i++)
        if (runs[i]->started_ok && runs[i]->done_calls == 0) {
            atb_run_cancel(runs[i]->run, SIGKILL);
            atb_run_cancel(runs[i]->run, SIGKILL);
        }
    if (!h->child_reaped)
        kill(h->child, SIGKILL);
    ev_timer_set(w, DRAIN_S, 0.);
    ev_timer_start(loop, w);
}

/* Forks the host's own child: it waits for one byte on the pipe and exits
 * 7 when it is 'x' (9 when the host went away first). It never execs, so it
 * closes the write end itself; close-on-exec would not do it. */
static int own_child_start(struct host *h)
{
    char c = 0;
    ssize_t n;

    if (pipe2(h->child_pipe, O_CLOEXEC) < 0)
        return -errno;
    fflush(NULL);
    h->child = fork();
    if (h->child < 0)
        return -errno;
    if (h->child == 0) {
        close(h->child_pipe[1]);
        do
            n = read(h->child_pipe[0], &c, 1);
        while (n < 0 && errno == EINTR);
        _exit(n == 1 && c == 'x' ? 7 : 9);
    }
    ev_child_init(&h->child_w, child_cb, h->child, 0);
    h->child_w.data = h;
    ev_child_start(h->loop, &h->child_w);
    return 0;
}

/* ---- building the runs --------------------------------------------------- */

static int setup_failed(const char *what, int rc)
{
    check(0, "%s: %s", what, atb_strerror(rc));
    return rc;
}

#define TRY(what, call)                                                        \
    do {                                                                       \
        int rc_ = (call);                                                      \
        if (rc_ < 0)                                                           \
            return setup_failed(what, rc_);                                    \
    } while (0)

static int add_cmd(struct host_run *hr, const char *name, char *const *argv, const char *shell,
                   int *id)
{
    struct atb_cmd cmd = ATB_CMD_INIT;
    int rc;

    cmd.name = name;
    cmd.argv = argv;
    cmd.shell = shell;
    rc = atb_run_add(hr->run, &cmd);
    if (rc < 0)
        return setup_failed(name, rc);
    if (rc >= MAX_CMDS)
        return setup_failed(name, -ERANGE);
    *id = rc;
    hr->ncmds = rc + 1 > hr->ncmds ? rc + 1 : hr->ncmds;
    return 0;
}

static int run_new(struct host_run *hr, struct host *h, const char *label, enum atb_mode mode)
{
    hr->label = label;
    hr->host = h;
    TRY(label, atb_run_new(&hr->run));
    TRY(label, atb_run_set_mode(hr->run, mode));
    TRY(label, atb_run_set_output(hr->run, ATB_OUTPUT_EVENTS));
    TRY(label, atb_run_on_event(hr->run, on_event, hr));
    return 0;
}

static int run_start(struct host_run *hr, struct host *h)
{
    int rc;

    /* Counted first, in case the done callback came from inside the call. */
    h->runs_live++;
    rc = atb_run_start(hr->run, h->loop, on_done, hr);
    if (rc < 0) {
        h->runs_live--;
        const struct atb_error *err = atb_run_error(hr->run);

        check(0, "%s: atb_run_start: %s%s%s", hr->label, atb_strerror(rc),
              err && err->code ? ": " : "", err && err->code ? err->text : "");
        return rc;
    }
    hr->started_ok = 1;
    return 0;
}

static struct expect_line b_lines[] = {
    {0, 1, "hello-b", 0},
    {1, 1, "out-b2", 0},
    {1, 2, "err-b2", 0},
};

static int runs_build(struct host *h)
{
    static char *const sleep_argv[] = {"sleep", "100", NULL};
    static char *const echo_argv[] = {"echo", "hello-b", NULL};
    int b1, b2;

    if (pipe2(h->a_input, O_CLOEXEC) < 0)
        return setup_failed("A: input pipe", -errno);

    if (run_new(&h->a, h, "A", ATB_MODE_POOL) < 0 ||
        add_cmd(&h->a, "sleeper", sleep_argv, NULL, &h->a_sleeper) < 0 ||
        add_cmd(&h->a, "fail", NULL, "read line; exit 3", &h->a_fail) < 0)
        return -1;
    TRY("A: set_input", atb_run_set_input(h->a.run, "fail", h->a_input[0]));
    h->a.on_started = a_started;

    if (run_new(&h->b, h, "B", ATB_MODE_WAIT_ALL) < 0 ||
        add_cmd(&h->b, "b1", echo_argv, NULL, &b1) < 0 ||
        add_cmd(&h->b, "b2", NULL, "echo out-b2; echo err-b2 >&2", &b2) < 0)
        return -1;
    b_lines[0].id = b1;
    b_lines[1].id = b2;
    b_lines[2].id = b2;
    h->b.lines = b_lines;
    h->b.nlines = sizeof b_lines / sizeof b_lines[0];

    if (run_new(&h->c, h, "C", ATB_MODE_WAIT_ALL) < 0 ||
        add_cmd(&h->c, "c-sleep", sleep_argv, NULL, &h->c_sleep) < 0 ||
        add_cmd(&h->c, "c-tree", NULL, "sleep 100 & sleep 100", &h->c_tree) < 0)
        return -1;
    h->c.on_started = c_started;
    return 0;
}

/* ---- checks after the end ------------------------------------------------ */

/* The names, never NULL, for messages about values that may be wrong. */
static const char *state_name(enum atb_state state)
{
    const char *name = atb_state_name(state);

    return name ? name : "?";
}

static const char *outcome_name(enum atb_outcome outcome)
{
    const char *name = atb_outcome_name(outcome);

    return name ? name : "?";
}

/* The result of id, or a stand-in that fails every check on it. */
static const struct atb_result *result(struct host_run *hr, int id)
{
    static const struct atb_result none = {
        .id = -1, .name = "(none)", .state = (enum atb_state)-1, .exit_code = -1};
    const struct atb_result *r = atb_run_result(hr->run, id);

    if (!r)
        check(0, "%s: atb_run_result(%d) is NULL", hr->label, id);
    return r ? r : &none;
}

static void check_events(struct host_run *hr)
{
    int id;

    check(hr->done_calls == 1, "%s: done callback called once (%d)", hr->label, hr->done_calls);
    for (id = 0; id < hr->ncmds; id++)
        check(hr->started[id] == 1 && hr->ended[id] == 1 && hr->finished[id] == 1,
              "%s: id %d: STARTED, ENDED, FINISHED once each (%d, %d, %d)", hr->label, id,
              hr->started[id], hr->ended[id], hr->finished[id]);
    check(hr->finished_early == 0 && hr->bad_id == 0,
          "%s: FINISHED always after ENDED, no event for an unknown id (%d, %d)", hr->label,
          hr->finished_early, hr->bad_id);
}

static void check_a(struct host *h)
{
    const struct atb_result *s = result(&h->a, h->a_sleeper), *f = result(&h->a, h->a_fail);

    check_events(&h->a);
    check(f->state == ATB_STATE_FAILED && f->exit_code == 3 && f->term_signal == 0,
          "A: fail failed with exit 3 (state %s, exit %d, signal %d)", state_name(f->state),
          f->exit_code, f->term_signal);
    check(s->state == ATB_STATE_CANCELLED && s->term_signal == SIGTERM &&
              s->sent_signal == SIGTERM && !s->killed,
          "A: sleeper cancelled by SIGTERM (state %s, signal %d, sent %d, killed %d)",
          state_name(s->state), s->term_signal, s->sent_signal, s->killed);
    check(atb_run_outcome(h->a.run) == ATB_OUTCOME_FAILED, "A: outcome failed (%s)",
          outcome_name(atb_run_outcome(h->a.run)));
    check(atb_run_first_failure(h->a.run, 0) == h->a_fail, "A: first failure is fail (%d)",
          atb_run_first_failure(h->a.run, 0));
    check(atb_run_signal(h->a.run) == 0, "A: not interrupted (%d)", atb_run_signal(h->a.run));
}

static void check_b(struct host *h)
{
    size_t i;
    int id;

    check_events(&h->b);
    for (id = 0; id < h->b.ncmds; id++) {
        const struct atb_result *r = result(&h->b, id);

        check(r->state == ATB_STATE_SUCCEEDED && r->exit_code == 0 && r->term_signal == 0 &&
                  r->pid > 0,
              "B: %s succeeded (state %s, exit %d, signal %d)", r->name,
              state_name(r->state), r->exit_code, r->term_signal);
    }
    for (i = 0; i < h->b.nlines; i++)
        check(h->b.lines[i].seen == 1, "B: OUTPUT event '%s' on stream %d of id %d, once (%d)",
              h->b.lines[i].text, h->b.lines[i].stream, h->b.lines[i].id, h->b.lines[i].seen);
    check(atb_run_outcome(h->b.run) == ATB_OUTCOME_SUCCEEDED, "B: outcome succeeded (%s)",
          outcome_name(atb_run_outcome(h->b.run)));
    check(atb_run_find(h->b.run, "b2") == b_lines[1].id, "B: atb_run_find(b2) is its id");
}

static void check_c(struct host *h)
{
    const struct atb_result *s = result(&h->c, h->c_sleep), *t = result(&h->c, h->c_tree);

    check_events(&h->c);
    check(h->cancel_called && h->cancel_rc == 0, "C: atb_run_cancel from a timer returned 0 (%s)",
          h->cancel_called ? atb_strerror(h->cancel_rc) : "never called");
    check(s->state == ATB_STATE_CANCELLED && s->term_signal == SIGTERM,
          "C: c-sleep cancelled by SIGTERM (state %s, signal %d)", state_name(s->state),
          s->term_signal);
    check(t->state == ATB_STATE_CANCELLED, "C: c-tree cancelled (state %s, exit %d, signal %d)",
          state_name(t->state), t->exit_code, t->term_signal);
    check(atb_run_outcome(h->c.run) == ATB_OUTCOME_INTERRUPTED, "C: outcome interrupted (%s)",
          outcome_name(atb_run_outcome(h->c.run)));
    check(atb_run_signal(h->c.run) == SIGTERM, "C: interrupted by SIGTERM (%d)",
          atb_run_signal(h->c.run));
}

static void fd_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int main(void)
{
    static struct host host = {
        .child = -1,
        .child_pipe = {-1, -1},
        .a_input = {-1, -1},
        .a_sleeper = -1, .a_fail = -1, .c_sleep = -1, .c_tree = -1,
    };
    struct host *h = &host;
    struct host_run *runs[] = {&h->a, &h->b, &h->c};
    unsigned char fds_before[MAX_FD], fds_after[MAX_FD];
    struct proc_state after;
    char kids[512];
    int nkids;
    size_t i;

    /* The last resort bound: SIGALRM's default action ends the host. */
    alarm(60);

    check(atb_version() == ATB_VERSION_HEX, "atb_version() %#x is ATB_VERSION_HEX %#x",
          atb_version(), ATB_VERSION_HEX);
    check(strcmp(atb_version_string(), ATB_VERSION) == 0, "atb_version_string() %s is %s",
          atb_version_string(), ATB_VERSION);

    h->loop = ev_default_loop(0);
    if (!h->loop) {
        check(0, "ev_default_loop");
        return 1;
    }

    /* The host's own watchers first: libev installs its handlers for
     * SIGCHLD (the default loop's) and SIGUSR1 (ev_signal) now, and that is
     * the state the runs must leave as they found it. */
    ev_signal_init(&h->usr1_w, usr1_cb, SIGUSR1);
    h->usr1_w.data = h;
    ev_signal_start(h->loop, &h->usr1_w);
    ev_timer_init(&h->usr1_timer, usr1_timer_cb, 0.01, 0.);
    ev_timer_init(&h->cancel_timer, cancel_cb, 0.02, 0.);
    h->cancel_timer.data = h;
    ev_timer_init(&h->guard, guard_cb, GUARD_S, 0.);
    h->guard.data = h;
    ev_timer_init(&h->drain, drain_cb, DRAIN_S, 0.);
    h->drain.data = h;
    if (own_child_start(h) < 0) {
        check(0, "fork own child: %s", strerror(errno));
        return 1;
    }

    if (state_read(&h->before) < 0 || fds_read(fds_before) < 0) {
        check(0, "read process state: %s", strerror(errno));
        kill(h->child, SIGKILL);
        return 1;
    }

    if (runs_build(h) < 0 || run_start(&h->a, h) < 0 || run_start(&h->b, h) < 0 ||
        run_start(&h->c, h) < 0) {
        /* Whatever started is cancelled by the guard, which fires at once. */
        ev_timer_set(&h->guard, 0., 0.);
    }
    ev_timer_start(h->loop, &h->guard);
    ev_timer_start(h->loop, &h->usr1_timer);

    ev_run(h->loop, 0);

    if (ev_is_active(&h->drain)) {
        ev_ref(h->loop);
        ev_timer_stop(h->loop, &h->drain);
    }
    if (h->guard_fired) {
        /* Runs that did not end must not be freed; the process ends here. */
        check(0, "the guard timer fired or a setup step failed; no further checks");
        return 1;
    }
    check(!h->drain_fired, "ev_run() returned by itself once the runs ended (no watcher left "
                           "active on the loop)");

    check(h->usr1_seen == 1, "own ev_signal got SIGUSR1 raised from own ev_timer (%d)",
          h->usr1_seen);
    check(h->child_reaped && WIFEXITED(h->child_status) && WEXITSTATUS(h->child_status) == 7,
          "own ev_child got own child's status: exit 7 (reaped %d, status %#x)", h->child_reaped,
          h->child_status);

    check_a(h);
    check_b(h);
    check_c(h);

    if (state_read(&after) < 0)
        check(0, "read process state after: %s", strerror(errno));
    else
        state_compare(&h->before, &after, "after the runs");
    check(h->during_checked, "process state was checked while the runs went on");

    for (i = 0; i < 3; i++)
        atb_run_free(runs[i]->run);
    fd_close(&h->a_input[0]);
    fd_close(&h->a_input[1]);
    if (fds_read(fds_after) < 0)
        check(0, "read open fds after: %s", strerror(errno));
    else
        fds_compare(fds_before, fds_after);
    fd_close(&h->child_pipe[0]);
    fd_close(&h->child_pipe[1]);

    nkids = children_list(kids, sizeof kids);
    check(nkids == 0, "no child of the host left, alive or zombie (%d:%s)", nkids, kids);

    return failures ? 1 : 0;
}
