/* run: a set of commands started and awaited as one unit.
 *
 * A command goes QUEUED -> RUNNING -> ended. It has ended for the run's
 * policy (modes.c) when its leader, the process atb started, has been
 * reaped; its slot (-j) is given back only when its whole process group is
 * gone, because that group is what a cancel must reach. So a command has
 * two flags, leader_done and group_done, and the run is over when every
 * command that started has group_done.
 *
 * Watching children. In pidfd mode each leader has a pidfd watched by an
 * ev_io on a private loop and is reaped with waitid(P_PIDFD), so nothing
 * else in the process can steal its status; orphaned descendants (we are a
 * child subreaper) are reaped by group once their leader is reaped
 * (waitid(P_PGID)), and on SIGCHLD those in front of the first waiting
 * leader (a WNOWAIT peek tells them apart). A command is finished when its
 * group is gone and its output read to the end. In SIGCHLD mode libev's
 * default loop reaps every child with waitpid(-1) and hands leaders to
 * their ev_child watchers. The run's own bookkeeping: running counts
 * started, unfinished commands; slots those -j counts (not services);
 * next is the first command of the queue; nwaiting those that wait for
 * others (deps.c); cleanup commands come after cmds[0..nmain).
 *
 * Why a group check needs the orphans reaped: kill(-pgid, 0) succeeds while
 * any member exists, zombies included, and the members left when a leader
 * dies are reparented to us. Each SIGCHLD therefore re-checks the groups
 * whose leader is gone, and a 50 ms timer covers members whose death is
 * reported to some other parent.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define ATB__P_PIDFD ((idtype_t)3) /* not in glibc 2.36's idtype_t yet */
#define LINGER_TICK_S 0.05
/* After SIGKILL a group empties at once unless a member is a zombie whose
 * parent is neither dead nor us; don't wait on those forever. */
#define KILLED_GROUP_WAIT_S 2.0
/* A signal counts as a second one (kill now) only this long after the first:
 * timeout(1) and others signal both a process and its group, so one
 * cancellation can arrive twice at once, and that must not skip the grace. */
#define SECOND_SIGNAL_S 0.1

extern char **environ;

static void group_check(struct atb__cmd *cmd);
static int name_unique(struct atb_run *run, struct atb__cmd *c);
static void feed_resume(struct atb_run *run);
static void start_queued(struct atb_run *run);

void atb_opts_init(struct atb_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->mode = ATB_MODE_POOL;
    opts->cancel_signal = SIGTERM;
    opts->grace_s = 5;
    opts->watch = ATB_WATCH_AUTO;
}

static const char *const mode_names[] = {"pool", "try-all", "wait-all", "race"};

const char *atb_mode_name(enum atb_mode mode)
{
    return (unsigned)mode < ATB__ARRAY_SIZE(mode_names) ? mode_names[mode] : "?";
}

int atb_mode_parse(const char *text, enum atb_mode *mode)
{
    for (size_t i = 0; i < ATB__ARRAY_SIZE(mode_names); i++) {
        if (strcmp(text, mode_names[i]) == 0) {
            *mode = (enum atb_mode)i;
            return 0;
        }
    }
    return ATB_EMODE;
}

const char *atb_state_name(enum atb_state state)
{
    static const char *const names[] = {"queued",    "running",     "succeeded",
                                        "failed",    "cancelled",   "not_started",
                                        "timed_out"};
    return (unsigned)state < ATB__ARRAY_SIZE(names) ? names[state] : "?";
}

const char *atb_outcome_name(enum atb_outcome outcome)
{
    static const char *const names[] = {"succeeded", "failed", "timed_out",
                                        "interrupted"};
    return (unsigned)outcome < ATB__ARRAY_SIZE(names) ? names[outcome] : "?";
}

int atb_run_new(struct atb_run **out, const struct atb_opts *opts)
{
    struct atb_run *run = calloc(1, sizeof(*run));

    *out = NULL;
    if (run == NULL)
        return -ENOMEM;
    run->bases.owned = 1;
    run->latch_lock = -1;
    if (opts != NULL)
        run->opts = *opts;
    else
        atb_opts_init(&run->opts);
    *out = run;
    return 0;
}

static size_t strv_size(char *const *v, size_t *count)
{
    size_t size = 0, n = 0;

    for (; v && v[n]; n++)
        size += strlen(v[n]) + 1;
    *count = n;
    return size + (v ? (n + 1) * sizeof(char *) : 0);
}

/* Copies a NULL-terminated vector: pointers at *slots, strings at *text. */
static char **strv_pack(char *const *v, size_t n, char ***slots, char **text)
{
    char **out = *slots;

    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;
        memcpy(*text, v[i], len);
        out[i] = *text;
        *text += len;
    }
    out[n] = NULL;
    *slots += n + 1;
    return out;
}

static char *str_pack(const char *str, size_t size, char **text)
{
    char *out = *text;

    if (str == NULL)
        return NULL;
    memcpy(out, str, size);
    *text += size;
    return out;
}

/* Copies cmd into one allocation: the command, its argv and env vectors,
 * then the strings. One block per command keeps a 10,000-command run
 * cheap and its ownership obvious. */
int atb_run_add(struct atb_run *run, const struct atb_cmd *cmd)
{
    char *shell_argv[] = {"/bin/sh", "-c", (char *)cmd->shell, NULL};
    char *const *src = cmd->shell ? shell_argv : cmd->argv;
    size_t argc, envc, waitc, size, off, namelen, cwdlen = cmd->cwd ? strlen(cmd->cwd) + 1 : 0;
    size_t readylen = cmd->ready_when ? strlen(cmd->ready_when) + 1 : 0;
    size_t setslen = cmd->sets ? strlen(cmd->sets) + 1 : 0;
    struct atb__cmd *c;
    char **slots, *p;
    int rc;

    if (run->executed && (!run->feeding || cmd->cleanup))
        return ATB_ESTATE;
    if (src == NULL || src[0] == NULL || (cmd->shell && cmd->argv) ||
        (cmd->name && cmd->name[0] == '\0') || cmd->timeout_s < 0 ||
        (cmd->cleanup && (cmd->service || cmd->shield || cmd->wait_for || cmd->sets ||
                          cmd->ready_when)))
        return -EINVAL;
    /* Cleanup commands come last, so the main ones are cmds[0..nmain). */
    if (!cmd->cleanup && run->nmain < run->n && !run->executed)
        return ATB_ESTATE;
    if (cmd->name && atb__names_has(&run->names, cmd->name))
        return -EEXIST;
    /* Room for the default name and a "#N" suffix, decided at start. */
    namelen = cmd->name ? strlen(cmd->name)
                        : atb_name_default(cmd->shell ? cmd->shell : src[0],
                                           cmd->shell != NULL, NULL, 0) + 24;
    off = (sizeof(*c) + _Alignof(char *) - 1) & ~(_Alignof(char *) - 1);
    size = off + strv_size(src, &argc) + strv_size(cmd->env, &envc) +
           strv_size(cmd->wait_for, &waitc) + namelen + 1 + cwdlen + readylen + setslen;
    if (run->n == run->cap) {
        size_t ncap = run->cap ? run->cap * 2 : 8;
        struct atb__cmd **n = realloc(run->cmds, ncap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        run->cmds = n;
        run->cap = ncap;
    }
    c = calloc(1, size);
    if (c == NULL)
        return -ENOMEM;
    slots = (char **)((char *)c + off);
    p = (char *)(slots + argc + 1 + (cmd->env ? envc + 1 : 0) +
                 (cmd->wait_for ? waitc + 1 : 0));
    c->res.argv = strv_pack(src, argc, &slots, &p);
    c->env = strv_pack(cmd->env, envc, &slots, &p);
    c->wait_for = strv_pack(cmd->wait_for, waitc, &slots, &p);
    c->cwd = str_pack(cmd->cwd, cwdlen, &p);
    c->ready_when = str_pack(cmd->ready_when, readylen, &p);
    c->sets = str_pack(cmd->sets, setslen, &p);
    c->name = p;
    if (cmd->name) {
        memcpy(p, cmd->name, namelen + 1);
        c->named = 1;
        rc = atb__names_add(&run->names, c->name);
        if (rc < 0) {
            free(c);
            return rc;
        }
    } else {
        atb_name_default(cmd->shell ? cmd->shell : src[0], cmd->shell != NULL, p,
                         namelen + 1);
    }
    c->res.name = c->name;
    c->res.state = ATB_STATE_QUEUED;
    c->res.exit_code = -1;
    c->res.started_s = -1;
    c->res.service = cmd->service != 0;
    c->res.cleanup = cmd->cleanup != 0;
    c->clear_env = cmd->clear_env != 0;
    c->shield = cmd->shield != 0;
    c->timeout_s = cmd->timeout_s;
    c->ready_timeout_s = cmd->ready_timeout_s;
    c->run = run;
    c->pidfd = -1;
    c->out[0].fd = c->out[1].fd = -1;
    c->out[0].spill_fd = c->out[1].spill_fd = -1;
    if (run->executed) {
        /* Fed during the run: its default name now, and its place before
         * the cleanup commands. */
        if (!c->named && (rc = name_unique(run, c)) < 0) {
            free(c);
            return rc;
        }
        memmove(run->cmds + run->nmain + 1, run->cmds + run->nmain,
                (run->n - run->nmain) * sizeof(*run->cmds));
        run->cmds[run->nmain] = c;
        c->index = run->seq++;
        run->n++;
        run->nmain++;
        if (!cmd->service)
            run->nwork++;
        return (int)c->index;
    }
    c->index = run->seq++;
    run->cmds[run->n] = c;
    if (!cmd->cleanup) {
        run->nmain++;
        if (!cmd->service)
            run->nwork++;
    }
    return (int)run->n++;
}

/* Gives each unnamed command its default name, or "name#2", "name#3"...
 * when that is taken. Given names were reserved as they were added, so a
 * default never takes a name the user chose for a later command. */
/* Gives c its default name, or the first free "name#N": each default name
 * remembers the N it got to, so a thousand "sleep"s cost no more each than
 * the first. */
static int name_unique(struct atb_run *run, struct atb__cmd *c)
{
    size_t base = strlen(c->name);
    unsigned long *next = atb__names_value(&run->bases, c->name);
    unsigned long k;
    int rc;

    if (next == NULL) {
        rc = atb__names_add(&run->bases, c->name);
        if (rc < 0)
            return rc;
        next = atb__names_value(&run->bases, c->name);
        *next = 2;
        k = 2;
    } else {
        /* Seen before: never the bare name again, even if the command that
         * had it was freed (--stdin), so names stay unique over the run. */
        k = *next;
        sprintf(c->name + base, "#%lu", k++);
    }
    for (; atb__names_has(&run->names, c->name); k++)
        sprintf(c->name + base, "#%lu", k);
    *next = k;
    rc = atb__names_add(&run->names, c->name);
    if (rc == 0)
        c->named = 1;
    return rc;
}

static int assign_names(struct atb_run *run)
{
    for (size_t i = 0; i < run->n; i++) {
        int rc = run->cmds[i]->named ? 0 : name_unique(run, run->cmds[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void check_finished(struct atb_run *run)
{
    if (!run->feeding && run->next >= run->n && run->running == 0 && run->nwaiting == 0)
        ev_break(run->loop, EVBREAK_ALL);
}

static int group_alive(pid_t pgid)
{
    return kill(-pgid, 0) == 0 || errno == EPERM;
}

/* Sends signo to the command's whole process group. The pgid cannot have
 * been reused: we call this only while the leader is unreaped or the group
 * was non-empty a moment ago, and a pgid is never recycled while in use. */
static void group_kill(struct atb__cmd *cmd, int signo)
{
    kill(-cmd->res.pid, signo);
}

static void grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb__cmd *cmd = (struct atb__cmd *)((char *)w - offsetof(struct atb__cmd, grace_w));

    (void)loop;
    (void)revents;
    if (cmd->group_done)
        return;
    if (group_alive(cmd->res.pid)) {
        group_kill(cmd, SIGKILL);
        cmd->res.killed = 1;
        cmd->t_killed = atb__now();
    }
    if (cmd->leader_done)
        group_check(cmd);
}

static void group_signal(struct atb__cmd *cmd, int signo);

void atb__cmd_signal(struct atb__cmd *cmd, int signo)
{
    group_signal(cmd, signo);
}

/* The one graceful signal a group gets; SIGKILL follows after the grace. */
static void group_signal(struct atb__cmd *cmd, int signo)
{
    struct atb_run *run = cmd->run;

    if (cmd->signalled)
        return;
    cmd->signalled = 1;
    cmd->res.sent_signal = signo;
    group_kill(cmd, signo);
    /* A stopped process acts on the signal only once continued. */
    if (signo != SIGCONT && signo != SIGKILL)
        group_kill(cmd, SIGCONT);
    ev_timer_init(&cmd->grace_w, grace_cb, run->opts.grace_s, 0);
    ev_timer_start(run->loop, &cmd->grace_w);
}

static void linger_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb__cmd *cmd = (struct atb__cmd *)((char *)w - offsetof(struct atb__cmd, linger_w));

    (void)loop;
    (void)revents;
    group_check(cmd);
}

static void drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb__cmd *cmd = (struct atb__cmd *)((char *)w - offsetof(struct atb__cmd, drain_w));

    (void)loop;
    (void)revents;
    atb__output_stop(cmd->run, cmd);
    atb__cmd_maybe_finish(cmd);
}

/* A command is finished when its group is gone and its output read to the
 * end. Output may outlive the group when a process that left the group
 * holds the pipe: it gets at most the grace period, then the pipe is
 * closed, so such a process cannot hold the run open. */
void atb__cmd_maybe_finish(struct atb__cmd *cmd)
{
    struct atb_run *run = cmd->run;

    if (!cmd->group_done || cmd->finished)
        return;
    if (atb__output_open_streams(cmd) > 0) {
        if (!ev_is_active(&cmd->drain_w)) {
            ev_timer_init(&cmd->drain_w, drain_cb, run->opts.grace_s, 0);
            ev_timer_start(run->loop, &cmd->drain_w);
        }
        return;
    }
    ev_timer_stop(run->loop, &cmd->drain_w);
    cmd->finished = 1;
    atb__output_finish(run, cmd);
    atb__deps_finished(cmd);
    if (run->opts.feed_line && cmd->res.state == ATB_STATE_SUCCEEDED &&
        !cmd->res.cleanup && cmd != run->winner) {
        cmd->forget = 1;
        run->forgettable++;
    }
    run->running--;
    if (!cmd->res.service)
        run->slots--;
    start_queued(run);
}

static void group_done(struct atb__cmd *cmd)
{
    struct atb_run *run = cmd->run;

    cmd->group_done = 1;
    ev_timer_stop(run->loop, &cmd->grace_w);
    ev_timer_stop(run->loop, &cmd->linger_w);
    if (cmd->lingering) {
        cmd->lingering = 0;
        run->lingering--;
    }
    atb__cmd_maybe_finish(cmd);
}

/* Reaps the members of cmd's group that were reparented to us and have
 * ended: a zombie still counts as a member for kill(-pgid, 0). Only once
 * the leader is reaped, so its status is never taken from its watcher. */
static void group_reap(struct atb__cmd *cmd)
{
    for (;;) {
        siginfo_t si;

        si.si_pid = 0;
        if (waitid(P_PGID, (id_t)cmd->res.pid, &si, WEXITED | WNOHANG) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (si.si_pid == 0)
            return;
    }
}

/* The leader is gone: is the rest of its group? Members left behind get the
 * cancel signal (once) and SIGKILL after the grace, as in any cancel. */
static void group_check(struct atb__cmd *cmd)
{
    struct atb_run *run = cmd->run;

    if (cmd->group_done || !cmd->leader_done)
        return;
    group_reap(cmd);
    if (!group_alive(cmd->res.pid) ||
        (cmd->res.killed && atb__now() - cmd->t_killed > KILLED_GROUP_WAIT_S)) {
        group_done(cmd);
        return;
    }
    group_signal(cmd, run->interrupted ? run->interrupted : run->opts.cancel_signal);
    if (!cmd->lingering) {
        cmd->lingering = 1;
        run->lingering++;
        ev_timer_init(&cmd->linger_w, linger_cb, LINGER_TICK_S, LINGER_TICK_S);
        ev_timer_start(run->loop, &cmd->linger_w);
    }
}

/* The leader ended with a waitid()-style code and status. */
static void leader_ended(struct atb__cmd *cmd, int code, int status)
{
    struct atb_run *run = cmd->run;
    struct atb_result *res = &cmd->res;

    if (cmd->leader_done)
        return;
    cmd->leader_done = 1;
    res->duration_s = atb__now() - cmd->t_start;
    if (code == CLD_EXITED)
        res->exit_code = status;
    else
        res->term_signal = status;
    ev_timer_stop(run->loop, &cmd->limit_w);
    if (cmd->pidfd >= 0) {
        ev_io_stop(run->loop, &cmd->pidfd_w);
        atb__close(&cmd->pidfd);
        atb__pidmap_del(&run->leaders, res->pid);
    } else {
        ev_child_stop(run->loop, &cmd->child_w);
    }
    if (cmd->timed_out)
        res->state = ATB_STATE_TIMED_OUT;
    else if (cmd->cancelled)
        res->state = ATB_STATE_CANCELLED;
    else if (res->service) {
        /* A service ends when atb ends it; ending by itself is a failure,
         * even with status 0. */
        res->state = ATB_STATE_FAILED;
        res->error = "service exited early";
    } else if (code == CLD_EXITED && status == 0)
        res->state = ATB_STATE_SUCCEEDED;
    else
        res->state = ATB_STATE_FAILED;
    atb__deps_ended(cmd);
    atb__mode_on_end(run, cmd);
    group_check(cmd);
}

/* pidfd mode: reaps the leader if it has exited. Returns 1 if it had. */
static int leader_reap_pidfd(struct atb__cmd *cmd)
{
    siginfo_t si;

    si.si_pid = 0;
    for (;;) {
        if (waitid(ATB__P_PIDFD, (id_t)cmd->pidfd, &si, WEXITED | WNOHANG) == 0)
            break;
        if (errno != EINTR)
            return 0;
    }
    if (si.si_pid == 0)
        return 0;
    leader_ended(cmd, si.si_code, si.si_status);
    return 1;
}

static void pidfd_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    leader_reap_pidfd((struct atb__cmd *)((char *)w - offsetof(struct atb__cmd, pidfd_w)));
}

static void child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    struct atb__cmd *cmd = (struct atb__cmd *)((char *)w - offsetof(struct atb__cmd, child_w));
    int st = w->rstatus;

    (void)loop;
    (void)revents;
    if (WIFEXITED(st))
        leader_ended(cmd, CLD_EXITED, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        leader_ended(cmd, CLD_KILLED, WTERMSIG(st));
}

/* Has the leader already exited on its own? If so, take its status now so
 * a failure that happened before our signal counts as that command's own. */
static int leader_poll(struct atb__cmd *cmd)
{
    siginfo_t si;

    if (cmd->leader_done)
        return 1;
    if (cmd->pidfd >= 0)
        return leader_reap_pidfd(cmd);
    si.si_pid = 0;
    while (waitid(P_PID, (id_t)cmd->res.pid, &si, WEXITED | WNOHANG) < 0)
        if (errno != EINTR)
            return 0;
    if (si.si_pid == 0)
        return 0;
    leader_ended(cmd, si.si_code, si.si_status);
    return 1;
}

/* Some descendant was reaped: groups whose leader is gone may be empty now. */
static void recheck_lingering(struct atb_run *run)
{
    for (size_t i = 0; i < run->n && run->lingering > 0; i++)
        if (run->cmds[i]->lingering)
            group_check(run->cmds[i]);
}

/* pidfd mode: SIGCHLD means some child can be reaped. Leaders are left to
 * their pidfd (handled right here, so the peek loop moves on); any other pid
 * is an orphaned descendant, reaped by pid. waitpid(-1) is never used. */
static void sigchld_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct atb_run *run = w->data;

    (void)loop;
    (void)revents;
    /* Leaders are reaped through their pidfds, each in its own callback;
     * here only orphans in front of the first waiting leader. The rest are
     * reaped by group_check() (members of a command's group) or by the
     * sweep at the end (processes that left their group). */
    for (;;) {
        siginfo_t si;

        si.si_pid = 0;
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (si.si_pid == 0 || atb__pidmap_get(&run->leaders, si.si_pid) != NULL)
            break;
        while (waitid(P_PID, (id_t)si.si_pid, &si, WEXITED | WNOHANG) < 0 && errno == EINTR)
            ;
    }
    recheck_lingering(run);
}

/* SIGCHLD mode: libev reaped some child; lingering groups may be empty. */
static void orphan_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    struct atb_run *run = w->data;

    (void)loop;
    (void)revents;
    recheck_lingering(run);
}

static int status_of_start_error(int err)
{
    switch (err) {
    case -ENOENT:
        return 127;
    case -EAGAIN:
    case -ENOMEM:
    case -EMFILE:
    case -ENFILE:
        return 125;
    default:
        return 126;
    }
}

static void start_failed(struct atb__cmd *cmd, int err)
{
    cmd->res.start_error = err;
    cmd->res.exit_code = status_of_start_error(err);
    cmd->res.state = ATB_STATE_FAILED;
    cmd->leader_done = 1;
    cmd->group_done = 1;
    cmd->finished = 1;
    atb__output_free_cmd(cmd);
    atb__deps_ended(cmd);
    atb__mode_on_end(cmd->run, cmd);
}

/* The command's own time limit: it is cancelled, and counts as failed. */
static void limit_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb__cmd *cmd = (struct atb__cmd *)((char *)w - offsetof(struct atb__cmd, limit_w));

    (void)loop;
    (void)revents;
    if (cmd->leader_done)
        return;
    cmd->timed_out = 1;
    group_signal(cmd, cmd->run->opts.cancel_signal);
}

/* The environment for a command: atb's own (or none, with clear_env) with
 * the command's changes applied. Returns environ itself when nothing
 * changes, else a malloc'd vector of borrowed strings (NULL: no memory). */
static char **command_env(const struct atb_run *run, const struct atb__cmd *cmd)
{
    char **base = run->base_env ? run->base_env : environ;
    size_t n = 0, extra = 0;
    char **envp;

    if (cmd->env == NULL && !cmd->clear_env)
        return base;
    if (!cmd->clear_env)
        while (base[n])
            n++;
    else if (run->base_env)
        n = 1; /* base_env[0] is the latch scope, which stays */
    while (cmd->env && cmd->env[extra])
        extra++;
    envp = malloc((n + extra + 1) * sizeof(*envp));
    if (envp == NULL)
        return NULL;
    memcpy(envp, base, n * sizeof(*envp));
    for (size_t i = 0; i < extra; i++) {
        const char *change = cmd->env[i], *eq = strchr(change, '=');
        size_t keylen = eq ? (size_t)(eq - change) : strlen(change);
        size_t j;

        for (j = 0; j < n; j++)
            if (strncmp(envp[j], change, keylen) == 0 && envp[j][keylen] == '=')
                break;
        if (eq != NULL && j < n)
            envp[j] = (char *)change;
        else if (eq != NULL)
            envp[n++] = (char *)change;
        else if (j < n)
            envp[j] = envp[--n];
    }
    envp[n] = NULL;
    return envp;
}

/* Out of fds while others run: the command goes back to the queue and is
 * tried again when one of them finishes (whose fds are then free), rather
 * than failing the run. Returns 1 when it did. */
static int requeue_if_starved(struct atb_run *run, struct atb__cmd *cmd, int rc)
{
    if ((rc != -EMFILE && rc != -ENFILE) || run->running == 0)
        return 0;
    atb__output_free_cmd(cmd); /* the read ends of pipes made for it */
    cmd->res.state = ATB_STATE_QUEUED;
    cmd->res.started_s = -1;
    return 1;
}

static void start_cmd(struct atb_run *run, struct atb__cmd *cmd)
{
    pid_t pid;
    int rc, wfd[2], spare = -1;
    char **envp;

    cmd->t_start = atb__now();
    cmd->res.started_s = cmd->t_start - run->t0;
    cmd->res.state = ATB_STATE_RUNNING;
    envp = command_env(run, cmd);
    if (envp == NULL) {
        start_failed(cmd, -ENOMEM);
        return;
    }
    rc = atb__output_pipes(run, cmd, wfd);
    /* Hold the fd the pidfd will need, so that running out of fds shows
     * before the command starts, not after. */
    if (rc == 0 && run->use_pidfd) {
        spare = fcntl(run->sp.devnull, F_DUPFD_CLOEXEC, 0);
        if (spare < 0) {
            rc = -errno;
            atb__close(&wfd[0]);
            atb__close(&wfd[1]);
            atb__output_free_cmd(cmd);
        }
    }
    if (rc == 0) {
        struct atb__spawn_ctx ctx = {envp, cmd->cwd, cmd->input ? 0 : -1, wfd[0], wfd[1]};

        rc = atb__spawn(&run->sp, cmd->res.argv, &ctx, &pid);
        /* The child has its own copies now; ours must go, or the pipes
         * would never reach end of file. */
        atb__close(&wfd[0]);
        atb__close(&wfd[1]);
    }
    if (envp != environ && envp != run->base_env)
        free(envp);
    atb__close(&spare);
    if (rc < 0) {
        if (!requeue_if_starved(run, cmd, rc))
            start_failed(cmd, rc);
        return;
    }
    cmd->started = 1;
    cmd->res.pid = pid;
    if (run->use_pidfd) {
        cmd->pidfd = atb__pidfd_open(pid);
        if (cmd->pidfd < 0 ||
            (rc = atb__pidmap_put(&run->leaders, pid, cmd)) < 0) {
            /* Out of fds or memory: take the child down again, by pid since
             * nobody else reaps it, and report the command as not started
             * for lack of resources. */
            rc = cmd->pidfd < 0 ? cmd->pidfd : rc;
            atb__close(&cmd->pidfd);
            kill(-pid, SIGKILL);
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
            cmd->res.pid = 0;
            start_failed(cmd, rc);
            return;
        }
        ev_io_init(&cmd->pidfd_w, pidfd_cb, cmd->pidfd, EV_READ);
        ev_io_start(run->loop, &cmd->pidfd_w);
    } else {
        ev_child_init(&cmd->child_w, child_cb, pid, 0);
        ev_child_start(run->loop, &cmd->child_w);
    }
    atb__deps_started(cmd);
    if (cmd->timeout_s > 0) {
        ev_timer_init(&cmd->limit_w, limit_cb, cmd->timeout_s, 0);
        ev_timer_start(run->loop, &cmd->limit_w);
    }
    atb__output_start(run, cmd);
    run->running++;
    if (!cmd->res.service)
        run->slots++;
}

/* The feed pauses while this many commands wait for a slot. */
static size_t feed_backlog(const struct atb_run *run)
{
    return run->opts.jobs ? 2 * (size_t)run->opts.jobs + 16 : 256;
}

static void feed_stop(struct atb_run *run)
{
    if (!run->feeding)
        return;
    run->feeding = 0;
    ev_io_stop(run->loop, &run->feed_w);
    atb__mode_check_services(run);
}

/* Hands one line to the caller's feed_line, which may add a command. */
static int feed_one(struct atb_run *run, const char *line, size_t len)
{
    int rc = run->opts.feed_line(run, line, len, run->opts.feed_data);

    if (rc < 0) {
        run->own_error = rc;
        feed_stop(run);
        atb__run_cancel_all(run, run->opts.cancel_signal);
    }
    return rc;
}

/* Turns buffered lines into commands until enough of them wait for a slot;
 * the rest stay in the buffer. Reading resumes only once the buffer holds
 * no whole line, so memory is bounded by the backlog, not by the input. */
static void feed_process(struct atb_run *run)
{
    size_t start = 0;

    if (run->feed_busy)
        return;
    run->feed_busy = 1;
    while (run->feeding && run->nmain - run->next < feed_backlog(run)) {
        char *nl = memchr(run->feed_buf + start, '\n', run->feed_len - start);
        size_t len = nl ? (size_t)(nl - run->feed_buf) - start : run->feed_len - start;

        if (nl == NULL && !(run->feed_eof && len > 0))
            break;
        /* At end of input a last line without its newline still counts. */
        if (feed_one(run, run->feed_buf + start, len) < 0)
            break;
        start += len + (nl != NULL);
    }
    memmove(run->feed_buf, run->feed_buf + start, run->feed_len - start);
    run->feed_len -= start;
    run->feed_busy = 0;
    if (!run->feeding)
        return;
    if (run->feed_eof && run->feed_len == 0) {
        feed_stop(run);
    } else if (run->feed_len == ATB__LINE_MAX) {
        run->own_error = -E2BIG; /* one line fills the buffer */
        feed_stop(run);
        atb__run_cancel_all(run, run->opts.cancel_signal);
    } else if (run->feed_eof || memchr(run->feed_buf, '\n', run->feed_len) != NULL) {
        ev_io_stop(run->loop, &run->feed_w); /* lines wait for slots */
    } else if (!ev_is_active(&run->feed_w)) {
        ev_io_start(run->loop, &run->feed_w);
    }
}

static void feed_resume(struct atb_run *run)
{
    if (run->feeding && !ev_is_active(&run->feed_w) &&
        run->nmain - run->next < feed_backlog(run) / 2 + 1)
        feed_process(run);
}

static void feed_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct atb_run *run = w->data;
    ssize_t got;

    (void)loop;
    (void)revents;
    got = atb__read(run->feed_w.fd, run->feed_buf + run->feed_len,
                    ATB__LINE_MAX - run->feed_len);
    if (got == -EAGAIN)
        return;
    if (got <= 0)
        run->feed_eof = 1;
    else
        run->feed_len += (size_t)got;
    feed_process(run);
    start_queued(run);
}

/* Between callbacks: frees the commands that succeeded in a fed run, so a
 * million of them cost what a few do. Order is kept; only cmds[0..next)
 * can be forgettable, so the queue is untouched. */
static void tidy_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    struct atb_run *run = w->data;
    size_t kept = 0, next = run->next, nmain = run->nmain;

    (void)loop;
    (void)revents;
    if (run->forgettable < 64 || run->forgettable * 2 < run->next)
        return;
    for (size_t i = 0; i < run->n; i++) {
        struct atb__cmd *cmd = run->cmds[i];
        if (cmd->forget) {
            next -= i < run->next;
            nmain -= i < run->nmain;
            atb__names_del(&run->names, cmd->name);
            atb__output_free_cmd(cmd);
            atb__deps_free(cmd);
            free(cmd->kept);
            free(cmd);
            run->forgotten++;
            continue;
        }
        run->cmds[kept++] = cmd;
    }
    run->n = kept;
    run->next = next;
    run->nmain = nmain;
    run->forgettable = 0;
}

/* Starts what may start now: main commands up to -j (services were started
 * first and take no slot), then, once every main command has finished,
 * the cleanup commands, which run whatever happened before. */
static void start_queued(struct atb_run *run)
{
    feed_resume(run);
    while (run->next < run->n) {
        struct atb__cmd *cmd = run->cmds[run->next];

        /* Started already (a service), or waiting for others: see below. */
        if (cmd->res.state != ATB_STATE_QUEUED || cmd->waiting) {
            run->next++;
            continue;
        }
        if (run->next < run->nmain && run->stopping)
            break;
        if (run->next >= run->nmain &&
            (run->running > 0 || run->nwaiting > 0 || run->feeding))
            break;
        if (run->next == run->nmain && !run->cleanup_phase) {
            /* The main commands are over: the deadline was theirs, and
             * cleanup runs whatever happened. */
            run->cleanup_phase = 1;
            ev_timer_stop(run->loop, &run->timeout_w);
        }
        if (run->opts.jobs != 0 && run->slots >= run->opts.jobs)
            break;
        run->next++;
        start_cmd(run, cmd);
        if (cmd->res.state == ATB_STATE_QUEUED) { /* out of fds: later */
            run->next--;
            break;
        }
    }
    /* Commands whose dependencies are all up, in order, while slots last. */
    for (size_t i = 0; i < run->nmain && run->nwaiting > 0 && !run->stopping; i++) {
        struct atb__cmd *cmd = run->cmds[i];

        if (!cmd->waiting || cmd->res.state != ATB_STATE_QUEUED || !atb__deps_met(cmd))
            continue;
        if (!cmd->res.service && run->opts.jobs != 0 && run->slots >= run->opts.jobs)
            continue;
        cmd->waiting = 0;
        run->nwaiting--;
        start_cmd(run, cmd);
        if (cmd->res.state == ATB_STATE_QUEUED) { /* out of fds: later */
            cmd->waiting = 1;
            run->nwaiting++;
            break;
        }
    }
    check_finished(run);
}

void atb__run_start_queued(struct atb_run *run)
{
    start_queued(run);
}

/* Cancels one running command, unless it has just ended on its own. */
void atb__cmd_cancel(struct atb__cmd *cmd, int signo)
{
    if (cmd->leader_done || cmd->signalled || leader_poll(cmd))
        return;
    cmd->cancelled = 1;
    if (atb__deps_hold_cancel(cmd, signo))
        return; /* signalled once its dependents have ended */
    group_signal(cmd, signo);
}

/* Cancels the run: queued commands are never started, running ones get
 * signo once (then SIGKILL after the grace). Re-entry (a command found to
 * have failed on its own while we go) is a no-op. */
void atb__run_cancel_all(struct atb_run *run, int signo)
{
    if (run->cancelling)
        return;
    run->cancelling = 1;
    run->stopping = 1;
    ev_timer_stop(run->loop, &run->timeout_w);
    feed_stop(run);
    for (; run->next < run->nmain; run->next++)
        if (run->cmds[run->next]->res.state == ATB_STATE_QUEUED)
            run->cmds[run->next]->res.state = ATB_STATE_NOT_STARTED;
    for (size_t i = 0; i < run->nmain && run->nwaiting > 0; i++) {
        struct atb__cmd *cmd = run->cmds[i];
        if (cmd->waiting && cmd->res.state == ATB_STATE_QUEUED) {
            cmd->waiting = 0;
            run->nwaiting--;
            cmd->res.state = ATB_STATE_NOT_STARTED;
        }
    }
    ev_now_update(run->loop);
    for (size_t i = 0; i < run->n; i++) {
        struct atb__cmd *cmd = run->cmds[i];

        if (!cmd->started || cmd->leader_done || cmd->signalled || cmd->shield ||
            cmd->res.cleanup)
            continue;
        atb__cmd_cancel(cmd, signo);
    }
    run->cancelling = 0;
    check_finished(run);
}

/* A second interrupt: everything still there is killed now. */
static void kill_now(struct atb_run *run, int signo)
{
    double now = atb__now();

    run->killed_at_once = signo;
    for (size_t i = 0; i < run->n; i++) {
        struct atb__cmd *cmd = run->cmds[i];

        if (!cmd->started || cmd->group_done)
            continue;
        /* Shielded work is cancelled now, as a second cancel does: the
         * signal, then SIGKILL after the grace. */
        if (cmd->shield && !cmd->signalled) {
            atb__cmd_cancel(cmd, signo);
            continue;
        }
        if (!cmd->leader_done && !cmd->signalled)
            cmd->cancelled = 1;
        cmd->signalled = 1;
        ev_timer_stop(run->loop, &cmd->grace_w);
        if (group_alive(cmd->res.pid)) {
            group_kill(cmd, SIGKILL);
            cmd->res.killed = 1;
            cmd->t_killed = now;
        }
    }
}

/* The wait granted to shielded work after an interrupt is over. */
static void shield_wait_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb_run *run = w->data;

    (void)loop;
    (void)revents;
    for (size_t i = 0; i < run->nmain; i++)
        if (run->cmds[i]->shield && run->cmds[i]->started)
            atb__cmd_cancel(run->cmds[i], run->interrupted);
}

static void parent_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct atb_run *run = w->data;

    (void)loop;
    (void)revents;
    if (run->interrupted != 0 && atb__now() - run->interrupted_at < SECOND_SIGNAL_S)
        return; /* the same cancel, arriving twice */
    if (run->opts.on_signal)
        run->opts.on_signal(run, w->signum, ++run->signals_caught, run->opts.signal_data);
    if (run->interrupted == 0) {
        run->interrupted = w->signum;
        run->interrupted_at = atb__now();
        if (run->opts.shield_wait_s > 0) {
            ev_timer_init(&run->shield_w, shield_wait_cb, run->opts.shield_wait_s, 0);
            run->shield_w.data = run;
            ev_timer_start(run->loop, &run->shield_w);
        }
        atb__run_cancel_all(run, w->signum);
    } else {
        kill_now(run, w->signum);
    }
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb_run *run = w->data;

    (void)loop;
    (void)revents;
    run->timed_out = 1;
    atb__run_cancel_all(run, run->opts.cancel_signal);
}

/* After the loop: anything still a child of ours left its command's process
 * group (setsid, setpgid) and was reparented to us. It is killed, and reaped
 * with whatever it leaves behind, until we have no children. Bounded so a
 * process stuck in the kernel (D state) cannot hang us forever. */
static void sweep_descendants(void)
{
    for (int round = 0; round < 100; round++) {
        pid_t *pids;
        size_t n;
        siginfo_t si;

        if (atb__children(&pids, &n) < 0 || n == 0) {
            free(pids);
            break;
        }
        for (size_t i = 0; i < n; i++)
            kill(pids[i], SIGKILL);
        free(pids);
        /* Reap everything that is ready, then wait for one more. */
        for (;;) {
            si.si_pid = 0;
            if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0) {
                if (errno == EINTR)
                    continue;
                break;
            }
            if (si.si_pid == 0)
                break;
        }
        usleep(1000 * (round < 10 ? 1 : 10));
    }
}

/* Makes the run's private latch folder and the environment that names it. */
static int latch_scope_open(struct atb_run *run)
{
    size_t n = 0;
    int rc;

    if (!run->opts.latch_scope)
        return 0;
    rc = atb_latch_scope_open(&run->latch_dir, &run->latch_lock, NULL);
    if (rc < 0)
        return rc;
    run->base_env_latch = malloc(strlen(run->latch_dir) + sizeof("ATB_LATCH_DIR="));
    while (environ[n])
        n++;
    run->base_env = malloc((n + 2) * sizeof(char *));
    if (run->base_env == NULL || run->base_env_latch == NULL)
        return -ENOMEM;
    sprintf(run->base_env_latch, "ATB_LATCH_DIR=%s", run->latch_dir);
    /* Ours comes first and any inherited one is left out. */
    run->base_env[0] = run->base_env_latch;
    n = 1;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "ATB_LATCH_DIR=", 14) != 0)
            run->base_env[n++] = *e;
    run->base_env[n] = NULL;
    return 0;
}

static void latch_scope_close(struct atb_run *run)
{
    if (run->latch_dir) {
        atb_latch_scope_close(run->latch_dir);
        atb__close(&run->latch_lock);
        /* Runs that were killed left their folders; the next run to end
         * normally removes them. */
        atb_latch_scope_sweep();
    }
    free(run->latch_dir);
    free(run->base_env);
    free(run->base_env_latch);
    run->latch_dir = NULL;
    run->base_env = NULL;
    run->base_env_latch = NULL;
}

/* The command named by opts.input reads atb's stdin; all others /dev/null. */
static int mark_input(struct atb_run *run)
{
    if (run->opts.input == NULL)
        return 0;
    for (size_t i = 0; i < run->n; i++) {
        if (strcmp(run->cmds[i]->name, run->opts.input) == 0) {
            run->cmds[i]->input = 1;
            return 0;
        }
    }
    return ATB_ENONAME;
}

/* A signal can come just as the run ends: caught by libev's handler but
 * not yet handed to us, or not caught yet. Neither may be lost (the caller
 * must learn it was interrupted), so the signals are blocked, what libev
 * caught is taken in, the default actions are put back, and whatever is
 * still pending is taken as the run's interruption. */
static void parent_signals_end(struct atb_run *run, const int *signals, size_t n)
{
    struct timespec zero = {0, 0};
    sigset_t set;
    int sig;

    sigemptyset(&set);
    for (size_t i = 0; i < n; i++)
        if (ev_is_active(&run->parent_w[i]))
            sigaddset(&set, signals[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    ev_run(run->loop, EVRUN_NOWAIT);
    for (size_t i = 0; i < n; i++)
        if (ev_is_active(&run->parent_w[i]))
            ev_signal_stop(run->loop, &run->parent_w[i]);
    while ((sig = sigtimedwait(&set, NULL, &zero)) > 0)
        if (run->interrupted == 0)
            run->interrupted = sig;
}

/* Fds the run needs before it can say that fds ran out: the event loop's
 * (see atb__fds_available) and the spawner's /dev/null. */
#define RUN_FDS (ATB__LOOP_FDS + 1)

static int loop_open(struct atb_run *run)
{
    int fd;

    switch (run->opts.watch) {
    case ATB_WATCH_PIDFD:
        run->use_pidfd = 1;
        break;
    case ATB_WATCH_SIGCHLD:
        run->use_pidfd = 0;
        break;
    default:
        /* ENOSYS on old kernels; EPERM where a seccomp filter predates
         * pidfd_open. Either way, SIGCHLD it is. */
        fd = atb__pidfd_open(getpid());
        run->use_pidfd = fd >= 0;
        atb__close(&fd);
        break;
    }
    /* libev's default loop reaps every child with waitpid(-1) on SIGCHLD,
     * which would steal the statuses pidfds are for: pidfd mode must use a
     * loop of its own, and SIGCHLD mode must use the default loop, the only
     * one ev_child works on. */
    run->loop = run->use_pidfd ? ev_loop_new(EVFLAG_AUTO) : ev_default_loop(EVFLAG_AUTO);
    return run->loop ? 0 : -ENOMEM;
}

int atb_run_exec(struct atb_run *run)
{
    static const int parent_signals[] = {SIGINT, SIGTERM, SIGHUP};
    sigset_t unblock, old_mask;
    int rc;

    if (run->executed)
        return ATB_ESTATE;
    run->executed = 1;
    rc = assign_names(run);
    if (rc == 0)
        rc = mark_input(run);
    if (rc == 0)
        rc = atb__output_open(run);
    if (rc == 0)
        rc = latch_scope_open(run);
    if (rc == 0)
        rc = atb__deps_resolve(run);
    if (rc == 0)
        rc = atb__fds_available(RUN_FDS);
    if (rc == 0)
        rc = loop_open(run);
    if (rc < 0) {
        atb__output_close(run);
        latch_scope_close(run);
        return rc;
    }
    rc = atb__spawner_init(&run->sp);
    if (rc < 0)
        goto out_loop;
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (run->opts.handle_signals) {
        for (size_t i = 0; i < ATB__ARRAY_SIZE(parent_signals); i++) {
            struct sigaction old;

            /* SIGINT and SIGHUP ignored on entry stay ignored: that is how
             * nohup and a shell's background jobs ask not to be stopped by
             * a hangup or a Ctrl-C meant for the foreground. */
            ev_signal_init(&run->parent_w[i], parent_signal_cb, parent_signals[i]);
            run->parent_w[i].data = run;
            if (parent_signals[i] != SIGTERM &&
                sigaction(parent_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
                continue;
            ev_signal_start(run->loop, &run->parent_w[i]);
        }
    }
    if (run->use_pidfd) {
        ev_signal_init(&run->sigchld_w, sigchld_cb, SIGCHLD);
        run->sigchld_w.data = run;
        ev_signal_start(run->loop, &run->sigchld_w);
    } else {
        ev_child_init(&run->orphan_w, orphan_cb, 0, 0);
        run->orphan_w.data = run;
        ev_child_start(run->loop, &run->orphan_w);
    }
    /* Signals we watch must be deliverable: a blocked mask is inherited
     * across exec, so a parent could hand us SIGTERM or SIGCHLD blocked;
     * and a caller may block them until the handlers are in place, so that
     * none that comes early is lost. Only now are they unblocked. */
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGCHLD);
    if (run->opts.handle_signals)
        for (size_t i = 0; i < ATB__ARRAY_SIZE(parent_signals); i++)
            sigaddset(&unblock, parent_signals[i]);
    sigprocmask(SIG_UNBLOCK, &unblock, &old_mask);
    ev_timer_init(&run->timeout_w, timeout_cb, run->opts.timeout_s, 0);
    run->timeout_w.data = run;
    if (run->opts.timeout_s > 0)
        ev_timer_start(run->loop, &run->timeout_w);

    run->t0 = atb__now();
    run->feeding = run->opts.feed_line != NULL; /* more work may come */
    /* Services first, and outside -j: the work may need them. One that
     * waits for others starts when they are up, like any command. */
    for (size_t i = 0; i < run->nmain; i++)
        if (run->cmds[i]->res.service && !run->cmds[i]->waiting)
            start_cmd(run, run->cmds[i]);
    atb__mode_check_services(run);
    atb__output_progress_start(run);
    if (run->opts.feed_line) {
        run->feed_buf = malloc(ATB__LINE_MAX);
        if (run->feed_buf == NULL) {
            run->own_error = -ENOMEM;
            run->feeding = 0;
        } else {
            ev_io_init(&run->feed_w, feed_cb, run->opts.feed_fd, EV_READ);
            run->feed_w.data = run;
            ev_io_start(run->loop, &run->feed_w);
            ev_prepare_init(&run->tidy_w, tidy_cb);
            run->tidy_w.data = run;
            ev_prepare_start(run->loop, &run->tidy_w);
        }
    }
    start_queued(run);
    if (run->feeding || run->next < run->n || run->running > 0)
        ev_run(run->loop, 0);
    feed_stop(run);
    if (run->opts.feed_line)
        ev_prepare_stop(run->loop, &run->tidy_w);
    run->duration = atb__now() - run->t0;

    ev_timer_stop(run->loop, &run->timeout_w);
    ev_timer_stop(run->loop, &run->shield_w);
    atb__output_progress_end(run);
    if (run->use_pidfd)
        ev_signal_stop(run->loop, &run->sigchld_w);
    else
        ev_child_stop(run->loop, &run->orphan_w);
    sweep_descendants();
    if (run->opts.handle_signals)
        parent_signals_end(run, parent_signals, ATB__ARRAY_SIZE(parent_signals));
    atb__spawner_close(&run->sp);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    rc = 0;
out_loop:
    atb__output_close(run);
    latch_scope_close(run);
    /* For the default loop this also gives SIGCHLD its default action back. */
    ev_loop_destroy(run->loop);
    run->loop = NULL;
    return rc;
}

size_t atb_run_count(const struct atb_run *run)
{
    return run->n;
}

const struct atb_result *atb_run_result(const struct atb_run *run, size_t i)
{
    return i < run->n ? &run->cmds[i]->res : NULL;
}

const struct atb_opts *atb_run_opts(const struct atb_run *run)
{
    return &run->opts;
}

const char *atb_run_output(const struct atb_run *run, size_t i, size_t *len)
{
    if (i >= run->n || run->cmds[i]->kept == NULL) {
        *len = 0;
        return NULL;
    }
    *len = run->cmds[i]->kept_len;
    return run->cmds[i]->kept;
}

const char *atb_run_error(const struct atb_run *run)
{
    return run->error;
}

int atb_run_signal(const struct atb_run *run)
{
    return run->interrupted;
}

int atb_run_winner(const struct atb_run *run)
{
    return run->winner ? (int)run->winner->index : -1;
}

double atb_run_duration(const struct atb_run *run)
{
    return run->duration;
}

void atb_run_free(struct atb_run *run)
{
    if (run == NULL)
        return;
    for (size_t i = 0; i < run->n; i++) {
        atb__close(&run->cmds[i]->pidfd);
        atb__output_free_cmd(run->cmds[i]);
        atb__deps_free(run->cmds[i]);
        free(run->cmds[i]->kept);
        free(run->cmds[i]);
    }
    free(run->cmds);
    free(run->feed_buf);
    atb__names_free(&run->names);
    atb__names_free(&run->bases);
    atb__pidmap_free(&run->leaders);
    free(run);
}
