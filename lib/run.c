/* run: the public life of a run: new, add, start on a loop, cancel, free;
 * and how the run's watchers enter it and leave it (see engine.h).
 *
 * A run on the caller's loop watches its leaders with pidfds, or with
 * ev_child on libev's default loop (which reaps every child itself), and
 * touches nothing process-wide: no signal handler or mask, no subreaper
 * flag, no resource limit. What a blocking run does to the process it
 * takes is in exec.c.
 */
#include "engine.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int atb_run_new(struct atb_run **out)
{
    struct atb_run *run = calloc(1, sizeof(*run));

    *out = NULL;
    if (run == NULL)
        return -ENOMEM;
    run->bases.owned = 1;
    run->retired.owned = 1;
    run->latch_lock = -1;
    run->set.mode = ATB_MODE_POOL;
    run->set.cancel_signal = SIGTERM;
    run->set.grace_s = 5;
    run->set.out_fd = 1;
    run->set.err_fd = 2;
    run->set.pad = 1;
    run->set.input_fd = -1;
    run->set.input_id = -1;
    run->set.tty_fd = -1;
    run->set.feed_fd = -1;
    run->set.feed_delim = '\n';
    run->set.feed_max = atb__arg_max();
    run->guard.fd = -1;
    run->error.id = -1;
    run->error.index = -1;
    *out = run;
    return 0;
}

void atb__emit_event(struct atb_run *run, const struct atb_event *ev)
{
    if (run->set.event_cb)
        run->set.event_cb(run, ev, run->set.event_data);
}

void atb__emit(struct atb_run *run, enum atb_event_kind kind, int id)
{
    struct atb_event ev = {.kind = kind, .id = id};

    if (run->set.event_cb)
        run->set.event_cb(run, &ev, run->set.event_data);
}

void atb__enter(struct atb_run *run)
{
    run->depth++;
}

void atb__leave(struct atb_run *run)
{
    if (--run->depth == 0)
        atb__sched_settle(run);
}

static void kick_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    struct atb_run *run = w->data;

    (void)revents;
    ev_idle_stop(loop, w);
    atb__enter(run);
    atb__leave(run);
}

void atb__poke(struct atb_run *run)
{
    if (run->stage == ATB__GOING && run->depth == 0 && !run->settling)
        ev_idle_start(run->loop, &run->kick_w);
}

/* Makes room for need commands in *list (capacity *cap), doubling. */
static int room(struct atb__cmd ***list, size_t *cap, size_t need)
{
    size_t ncap = *cap ? *cap : 8;
    struct atb__cmd **n;

    if (need <= *cap)
        return 0;
    while (ncap < need)
        ncap *= 2;
    n = realloc(*list, ncap * sizeof(*n));
    if (n == NULL)
        return -ENOMEM;
    *list = n;
    *cap = ncap;
    return 0;
}

/* Places a command added before the start: a main one before the cleanup
 * ones, so that each part stays in id order. */
static int place(struct atb_run *run, struct atb__cmd *cmd)
{
    if (room(&run->cmds, &run->cap, run->n + 1) < 0)
        return -ENOMEM;
    if (cmd->kind == ATB__CLEANUP) {
        run->cmds[run->n++] = cmd;
        return 0;
    }
    memmove(run->cmds + run->nmain + 1, run->cmds + run->nmain,
            (run->n - run->nmain) * sizeof(*run->cmds));
    run->cmds[run->nmain++] = cmd;
    run->n++;
    return 0;
}

/* A command added while the run goes on waits in incoming until the
 * scheduler places it; room in cmds is made now, so placing cannot fail. */
static int arrive(struct atb_run *run, struct atb__cmd *cmd)
{
    if (room(&run->incoming, &run->capin, run->nin + 1) < 0 ||
        room(&run->cmds, &run->cap, run->n + run->nin + 1) < 0)
        return -ENOMEM;
    run->incoming[run->nin++] = cmd;
    atb__poke(run);
    return 0;
}

static int reserve_name(struct atb_run *run, struct atb__cmd *cmd)
{
    int rc;

    if (!cmd->named)
        return run->stage == ATB__NEW ? 0 : atb__name_unique(run, cmd);
    if (atb__names_has(&run->retired, cmd->name))
        return ATB_EDUPNAME;
    rc = atb__names_add(&run->names, cmd->name);
    if (rc == -EEXIST)
        return ATB_EDUPNAME;
    if (rc == 0)
        *atb__names_value(&run->names, cmd->name) = (unsigned long)cmd->res.id + 1;
    return rc;
}

int atb_run_add(struct atb_run *run, const struct atb_cmd *src)
{
    struct atb__cmd *cmd;
    int rc, going = run->stage == ATB__GOING;

    if (run->stage != ATB__NEW && !going)
        return ATB_ESTATE;
    if (run->next_id == INT32_MAX)
        return -ENOMEM;
    rc = atb__cmd_new(run, src, run->next_id, &cmd);
    if (rc < 0)
        return rc;
    /* Dependencies are worked out before the start. */
    if (going && (cmd->kind == ATB__CLEANUP || cmd->wait_for || cmd->sets)) {
        rc = cmd->kind == ATB__CLEANUP ? ATB_ESTATE : -EINVAL;
        free(cmd);
        return rc;
    }
    rc = going ? atb__validate_cmd(run, cmd, &run->error) : 0;
    if (rc == 0)
        rc = reserve_name(run, cmd);
    if (rc == 0)
        rc = going ? arrive(run, cmd) : place(run, cmd);
    if (rc < 0) {
        if (cmd->named && rc != ATB_EDUPNAME)
            atb__names_del(&run->names, cmd->name);
        atb__deps_free(cmd);
        free(cmd);
        return rc;
    }
    return run->next_id++;
}

struct atb__cmd *atb__cmd_by_id(const struct atb_run *run, int id)
{
    size_t parts[2][2] = {{0, run->nmain}, {run->nmain, run->n}};

    for (int k = 0; k < 2; k++) {
        size_t lo = parts[k][0], hi = parts[k][1];
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int mid_id = run->cmds[mid]->res.id;
            if (mid_id == id)
                return run->cmds[mid];
            if (mid_id < id)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    for (size_t i = 0; i < run->nin; i++)
        if (run->incoming[i]->res.id == id)
            return run->incoming[i];
    return NULL;
}

int atb_run_find(const struct atb_run *run, const char *name)
{
    unsigned long *v = atb__names_value((struct atb__names *)&run->names, name);

    return v && *v > 0 ? (int)(*v - 1) : ATB_ENONAME;
}

/* The launcher the settings ask for. Slurm's jobs are named after the
 * run's mark, or a token of their own where the run has none. */
static int open_launcher(struct atb_run *run, struct ev_loop *loop, int use_pidfd,
                         int own_process)
{
    char token[24];
    int rc;

    if (run->set.launcher != ATB_LAUNCHER_SLURM)
        return atb__local_open(&run->launcher, loop, use_pidfd, own_process);
    rc = run->mark[0] ? (snprintf(token, sizeof(token), "%s", run->mark), 0)
                      : atb__random_token(token, sizeof(token));
    if (rc == 0)
        rc = atb__slurm_open(&run->launcher, loop, use_pidfd, own_process, token);
    if (rc == ATB_ELAUNCHER) {
        memset(&run->error, 0, sizeof(run->error));
        run->error.code = rc;
        run->error.id = run->error.index = -1;
        run->error.key = "launcher";
        snprintf(run->error.text, sizeof(run->error.text), "%s", atb_strerror(rc));
    }
    return rc;
}

/* Everything a run needs before its first start: the validator, output,
 * the latch scope, the launcher. On failure, what was made is undone. */
int atb__run_prepare(struct atb_run *run, struct ev_loop *loop, int use_pidfd, int own_process)
{
    int rc = atb_run_check(run, &run->error);

    if (rc == 0)
        rc = atb__output_open(run);
    if (rc == 0)
        rc = atb__scope_open(run, &run->error);
    if (rc == 0)
        rc = atb__deps_paths(run, &run->error);
    if (rc == 0)
        rc = open_launcher(run, loop, use_pidfd, own_process);
    if (rc < 0) {
        atb__output_close(run);
        atb__scope_close(run);
        return rc;
    }
    run->loop = loop;
    run->use_pidfd = use_pidfd;
    run->launcher->grace_s = run->set.grace_s;
    run->launcher->linger_signo = run->set.cancel_signal;
    atb__ends_attach(run);
    for (size_t i = 0; i < run->n; i++)
        atb__cmd_phase(run->cmds[i], run->cmds[i]->ndeps ? ATB__WAITING : ATB__QUEUED);
    rc = atb__feed_start(run);
    if (rc < 0) {
        run->launcher->ops->close(run->launcher);
        run->launcher = NULL;
        atb__output_close(run);
        atb__scope_close(run);
        return rc;
    }
    run->stage = ATB__GOING;
    atb__sched_begin(run);
    if (run->set.feed_cb)
        atb__tidy_start(run);
    ev_idle_init(&run->kick_w, kick_cb);
    run->kick_w.data = run;
    atb__poke(run);
    return 0;
}

void atb__run_teardown(struct atb_run *run)
{
    run->duration = atb__now() - run->t0;
    atb__sched_end_watchers(run);
    if (run->set.feed_cb)
        ev_prepare_stop(run->loop, &run->tidy_w);
    if (run->set.keep_order)
        atb__group_in_order(run, 1);
    for (size_t i = 0; i < run->n; i++)
        atb__cmd_stop(run->cmds[i]);
    if (run->launcher) {
        run->launcher->ops->close(run->launcher);
        run->launcher = NULL;
    }
    atb__output_close(run);
    atb__scope_close(run);
    atb__feed_free(run);
    run->loop = NULL;
    run->stage = ATB__OVER;
}

/* pidfds work here: ENOSYS on kernels before 5.3, EPERM where a seccomp
 * filter predates pidfd_open. */
static int pidfd_works(void)
{
    int fd = atb__pidfd_open(getpid()), ok = fd >= 0;

    atb__close(&fd);
    return ok;
}

int atb_run_start(struct atb_run *run, struct ev_loop *loop, atb_run_done_cb done, void *data)
{
    int is_default = ev_is_default_loop(loop), use_pidfd;
    int rc;

    if (run->stage != ATB__NEW)
        return ATB_ESTATE;
    if (run->set.catch_signals || run->set.guardian)
        return -EINVAL;
    switch (run->set.watch) {
    case ATB_WATCH_PIDFD:
        use_pidfd = 1;
        break;
    case ATB_WATCH_SIGCHLD:
        use_pidfd = 0;
        break;
    default:
        use_pidfd = !is_default;
        break;
    }
    /* The default loop reaps every child (a pidfd would find nothing to
     * wait for), and ev_child works on no other loop. */
    if (use_pidfd == is_default)
        return -EINVAL;
    /* Once libev's default loop exists, it reaps every child of the
     * process whenever it runs, this run's too: their statuses would be
     * lost to it. Such a process runs its runs on the default loop. */
    if (use_pidfd && ev_default_loop_uc_() != NULL)
        return -EBUSY;
    if (use_pidfd && !pidfd_works())
        return -ENOSYS;
    run->done = done;
    run->done_data = data;
    rc = atb__run_prepare(run, loop, use_pidfd, 0);
    return rc;
}

int atb__run_interrupt(struct atb_run *run, int cause, int sent)
{
    if (run->stage != ATB__GOING)
        return ATB_ESTATE;
    if (run->asked == 0) {
        run->ask_first = sent;
        run->cause_first = cause;
    }
    run->ask_last = sent;
    run->cause_last = cause;
    run->asked++;
    atb__poke(run);
    return 0;
}

int atb_run_cancel(struct atb_run *run, int signo)
{
    if (signo == 0)
        signo = run->set.cancel_signal;
    if (signo < 1 || signo > 64)
        return -EINVAL;
    return atb__run_interrupt(run, signo, signo);
}

const struct atb_error *atb_run_error(const struct atb_run *run)
{
    return &run->error;
}

void atb_run_free(struct atb_run *run)
{
    if (run == NULL)
        return;
    /* Freed before its end (a caller's error): its groups are killed, not
     * waited for, and nothing of it stays on the loop. */
    if (run->stage == ATB__GOING || run->stage == ATB__ENDING) {
        for (size_t i = 0; i < run->n; i++)
            run->launcher->ops->kill(run->launcher, &run->cmds[i]->proc);
        atb__run_teardown(run);
    }
    for (size_t i = 0; i < run->n; i++)
        atb__cmd_free(run->cmds[i]);
    for (size_t i = 0; i < run->nin; i++)
        atb__cmd_free(run->incoming[i]);
    free(run->cmds);
    free(run->incoming);
    atb__feed_free(run);
    atb__names_free(&run->names);
    atb__names_free(&run->bases);
    atb__bloom_free(&run->gone_bases);
    atb__names_free(&run->retired);
    free(run->set.prefix);
    free(run->set.group_before);
    free(run->set.group_after);
    free(run->set.input);
    free(run->set.slot_env);
    free(run->set.group_empty);
    for (size_t i = 0; i < run->set.nprobes; i++) {
        free(run->set.probes[i].name);
        if (!run->set.probes[i].attached)
            atb__probe_free(run->set.probes[i].probe);
    }
    free(run->set.probes);
    free(run->slots);
    atb__guard_reap(&run->guard);
    free(run);
}
