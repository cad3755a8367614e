/* slurm: the launcher that runs each command on a Slurm cluster through
 * srun, with the local launcher underneath for the srun processes.
 *
 * A command is one srun process here (a job of its own named
 * atb-TOKEN-NAME, or a step of the allocation atb runs in) and whatever it
 * started there. Its end is srun's: srun exits with its task's status
 * (128+N for a task killed by signal N), which is why the local launcher's
 * reports pass through, mapped (srun.c). Three things differ from a local
 * process group, each measured on Slurm 22.05:
 *
 *   stopping   a signal to srun is no way to stop a task gracefully: srun
 *              answers SIGTERM by killing the task at once, and a SIGKILL
 *              to srun's group takes the helper that cancels its job, which
 *              then lingers until slurmctld's inactivity sweep. So a
 *              graceful stop is "scancel --signal=SIG J[.S]", whose task
 *              gets SIG and whose srun exits with the task's status, and
 *              the escalation after the grace is "scancel --signal=KILL"
 *              plus SIGTERM to srun alone (then SIGKILL to it alone, and a
 *              plain scancel, should srun not go). Before srun has said
 *              the job id, srun alone gets SIGTERM: nothing ran yet.
 *   scancel    runs as a process of ours, batched: a fail-fast cancelling
 *              a hundred commands runs one scancel per signal, not a
 *              hundred. busy counts them, so the run ends only once they
 *              are done.
 *   stderr     srun writes its own lines and its task's stderr to one
 *              stream: srun's stderr is a pipe of ours, relayed line by
 *              line to where the command's stderr goes, without srun's
 *              lines, from which the ids and a failed exec are read
 *              (slurm-relay.c).
 *
 * Exec probes (started without a command's info) and everything else the
 * run starts that is not a command stay local.
 */
#include "launcher.h"
#include "slurm-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#define TARGETS_MAX 64          /* ids in one scancel */
#define BATCHES 4               /* signals pending at once */
#define SRUN_KILL_WAIT_S 10.0   /* srun told to go: SIGKILL to it after this */

struct slurm;

/* One command's srun: its stderr relay and its stop's state. */
struct relay {
    struct slurm *sl;
    struct atb__proc *p;
    struct atb__relay io;
    char job_name[200];
    ev_timer grace_w, kill_w;
    unsigned stopping : 1, killing : 1;
};

struct batch {
    int signo;              /* 0: a plain scancel */
    size_t n;
    char *targets[TARGETS_MAX];
};

/* A scancel of ours: a proc the run never sees. */
struct helper {
    struct atb__proc proc;
    struct helper *next, *prev;
};
static char helper_mark;

struct slurm {
    struct atb__launcher l;     /* first: the run sees only this */
    struct atb__launcher *lo;   /* the local launcher, for the processes */
    char token[40];
    int in_alloc;
    int devnull;
    char srun[1024], scancel[1024];
    struct batch batches[BATCHES];
    ev_timer batch_w;
    struct helper *helpers;     /* running */
};

static int is_helper(const struct atb__proc *p)
{
    return p->ext == &helper_mark;
}

/* --- scancel ------------------------------------------------------------ */

static const char *sig_option(int signo, char *buf, size_t size)
{
    const char *name = atb_signal_name(signo);

    if (name != NULL && strncmp(name, "SIG", 3) == 0)
        name += 3;
    if (name != NULL)
        snprintf(buf, size, "--signal=%s", name);
    else
        snprintf(buf, size, "--signal=%d", signo);
    return buf;
}

/* Starts "scancel [--signal=SIG] targets..." as a helper. Fails quietly:
 * the caller's next step (escalation, srun's own end) still comes. */
static void scancel_now(struct slurm *sl, int signo, char *const targets[], size_t n)
{
    char *argv[TARGETS_MAX + 4], sig[32];
    struct atb__spawn_ctx ctx = {environ, NULL, -1, sl->devnull, sl->devnull, -1};
    struct helper *h = calloc(1, sizeof(*h));
    size_t k = 0;

    if (h == NULL || n == 0) {
        free(h);
        return;
    }
    argv[k++] = sl->scancel;
    if (signo != 0)
        argv[k++] = (char *)sig_option(signo, sig, sizeof(sig));
    for (size_t i = 0; i < n; i++)
        argv[k++] = targets[i];
    argv[k] = NULL;
    if (sl->lo->ops->start(sl->lo, &h->proc, argv, &ctx) < 0) {
        free(h);
        return;
    }
    h->proc.ext = &helper_mark;
    h->next = sl->helpers;
    if (sl->helpers)
        sl->helpers->prev = h;
    sl->helpers = h;
    sl->l.busy++;
}

static void helper_free(struct slurm *sl, struct helper *h)
{
    if (h->prev)
        h->prev->next = h->next;
    else
        sl->helpers = h->next;
    if (h->next)
        h->next->prev = h->prev;
    sl->lo->ops->forget(sl->lo, &h->proc);
    free(h);
    sl->l.busy--;
}

static void flush_batches(struct slurm *sl)
{
    for (size_t b = 0; b < BATCHES; b++) {
        struct batch *bt = &sl->batches[b];

        scancel_now(sl, bt->signo, bt->targets, bt->n);
        for (size_t i = 0; i < bt->n; i++)
            free(bt->targets[i]);
        bt->n = 0;
    }
}

static void batch_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct slurm *sl = w->data;

    (void)loop;
    (void)revents;
    flush_batches(sl);
    /* The batch held the run (see scancel_later()); its scancels do now. */
    if (--sl->l.busy == 0 && sl->l.on_idle)
        sl->l.on_idle(sl->l.data);
}

/* Queues target for "scancel [--signal=signo]" on the next loop turn. */
static void scancel_later(struct slurm *sl, int signo, const char *target)
{
    struct batch *bt = NULL;
    char *copy;

    for (size_t b = 0; b < BATCHES && bt == NULL; b++)
        if (sl->batches[b].n > 0 && sl->batches[b].signo == signo &&
            sl->batches[b].n < TARGETS_MAX)
            bt = &sl->batches[b];
    for (size_t b = 0; b < BATCHES && bt == NULL; b++)
        if (sl->batches[b].n == 0)
            bt = &sl->batches[b];
    if (bt == NULL) {
        flush_batches(sl);
        bt = &sl->batches[0];
    }
    copy = strdup(target);
    if (copy == NULL)
        return; /* srun's own end, or the kill after it, still comes */
    bt->signo = signo;
    bt->targets[bt->n++] = copy;
    if (!ev_is_active(&sl->batch_w)) {
        /* Pending scancels keep the run from ending, as running ones do. */
        sl->l.busy++;
        ev_timer_set(&sl->batch_w, 0, 0);
        ev_timer_start(sl->l.loop, &sl->batch_w);
    }
}

/* The job (or step) of r by id, or by its unique name while the id is
 * unknown (outside an allocation only: steps have no such name). */
static void scancel_cmd(struct relay *r, int signo)
{
    char target[64], byname[sizeof(r->job_name) + 8];

    if (atb__srun_target(&r->io.seen, target, sizeof(target)) > 0) {
        scancel_later(r->sl, signo, target);
    } else if (!r->io.seen.in_alloc) {
        char *argv[] = {byname, NULL};

        snprintf(byname, sizeof(byname), "--name=%s", r->job_name);
        scancel_now(r->sl, signo, argv, 1);
    }
}

static void relay_free(struct relay *r)
{
    ev_timer_stop(r->sl->l.loop, &r->grace_w);
    ev_timer_stop(r->sl->l.loop, &r->kill_w);
    atb__relay_close(&r->io);
    free(r);
}

/* --- stopping ----------------------------------------------------------- */

static void kill_wait_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct relay *r = w->data;

    (void)loop;
    (void)revents;
    if (r->p->leader_done)
        return;
    (void)kill(r->p->pid, SIGKILL); /* srun alone: never its group */
    scancel_cmd(r, 0);
}

static void slurm_kill(struct atb__launcher *l, struct atb__proc *p)
{
    struct slurm *sl = (struct slurm *)l;
    struct relay *r = p->ext;

    if (r == NULL) {
        sl->lo->ops->kill(sl->lo, p);
        return;
    }
    if (r->killing || p->group_done || !p->started || p->leader_done)
        return;
    r->killing = 1;
    ev_timer_stop(l->loop, &r->grace_w);
    p->killed = 1;
    p->t_killed = atb__now();
    atb__relay_read(&r->io); /* the ids, if srun said them meanwhile */
    if (r->io.seen.job >= 0)
        scancel_cmd(r, r->io.seen.launched ? SIGKILL : 0);
    /* srun kills its task at once on SIGTERM, and cancels what it asked
     * for when nothing runs yet. */
    (void)kill(p->pid, SIGTERM);
    ev_timer_set(&r->kill_w, SRUN_KILL_WAIT_S, 0);
    ev_timer_start(l->loop, &r->kill_w);
}

static void grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct relay *r = w->data;

    (void)loop;
    (void)revents;
    if (r->p->leader_done)
        return;
    slurm_kill(&r->sl->l, r->p);
    if (r->sl->l.on_killed)
        r->sl->l.on_killed(r->p, r->sl->l.data);
}

static void slurm_stop(struct atb__launcher *l, struct atb__proc *p, int signo)
{
    struct slurm *sl = (struct slurm *)l;
    struct relay *r = p->ext;

    if (r == NULL) {
        sl->lo->ops->stop(sl->lo, p, signo);
        return;
    }
    if (r->stopping || r->killing || p->group_done || !p->started || p->leader_done)
        return;
    if (signo == SIGKILL) {
        slurm_kill(l, p);
        return;
    }
    r->stopping = 1;
    p->sent_signal = signo;
    atb__relay_read(&r->io);
    if (r->io.seen.launched)
        scancel_cmd(r, signo);
    else if (r->io.seen.job >= 0)
        scancel_cmd(r, 0); /* still pending: there is no task to signal */
    else
        (void)kill(p->pid, SIGTERM); /* srun alone, before any job */
    ev_timer_set(&r->grace_w, l->grace_s, 0);
    ev_timer_start(l->loop, &r->grace_w);
}

/* --- what the local launcher reports ------------------------------------ */

static void on_leader(struct atb__proc *p, int code, int status, void *data)
{
    struct slurm *sl = data;
    struct relay *r = p->ext;

    if (is_helper(p))
        return; /* a scancel's status says nothing the run needs */
    if (r != NULL) {
        atb__relay_read(&r->io);
        ev_timer_stop(sl->l.loop, &r->grace_w);
        ev_timer_stop(sl->l.loop, &r->kill_w);
        p->remote_job = r->io.seen.job;
        p->remote_step = r->io.seen.in_alloc ? r->io.seen.step : -1;
        if (code == CLD_EXITED && status != 0 && r->io.seen.exec_error != 0)
            p->start_error = r->io.seen.exec_error;
        else if (code == CLD_EXITED && status != 0 && !r->io.seen.launched && r->io.seen.error[0])
            p->launch_error = r->io.seen.error;
        if (code == CLD_EXITED)
            status = atb__srun_status(status, p->sent_signal, p->killed, &code);
        else if (r->io.seen.job >= 0)
            scancel_cmd(r, 0); /* srun died of a signal: its job may not have */
    }
    sl->l.on_leader(p, code, status, sl->l.data);
}

static void on_group(struct atb__proc *p, void *data)
{
    struct slurm *sl = data;
    struct relay *r = p->ext;

    if (is_helper(p)) {
        helper_free(sl, (struct helper *)(void *)p);
        if (sl->l.busy == 0 && sl->l.on_idle)
            sl->l.on_idle(sl->l.data);
        return;
    }
    /* The writers of srun's stderr went with the group: what they wrote
     * is read now, and its end of file comes next (a writer that left the
     * group is bounded by the run's drain of the command's streams). */
    if (r != NULL)
        atb__relay_read(&r->io);
    sl->l.on_group(p, sl->l.data);
}

static void on_killed(struct atb__proc *p, void *data)
{
    struct slurm *sl = data;

    if (!is_helper(p) && sl->l.on_killed)
        sl->l.on_killed(p, sl->l.data);
}

/* --- operations --------------------------------------------------------- */

static void sync_local(struct slurm *sl)
{
    sl->lo->grace_s = sl->l.grace_s;
    sl->lo->linger_signo = sl->l.linger_signo;
}

static int relay_new(struct slurm *sl, const struct atb__launch_info *info,
                     const struct atb__spawn_ctx *ctx, int pfd[2], struct relay **out)
{
    struct relay *r = calloc(1, sizeof(*r));
    int rc;

    *out = NULL;
    pfd[0] = pfd[1] = -1;
    if (r == NULL)
        return -ENOMEM;
    rc = atb__relay_open(&r->io, sl->l.loop, ctx->err_fd, info->err_pipe, pfd);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->sl = sl;
    r->io.seen.in_alloc = sl->in_alloc;
    atb__srun_job_name(sl->token, info->name, r->job_name, sizeof(r->job_name));
    ev_timer_init(&r->grace_w, grace_cb, 0, 0);
    ev_timer_init(&r->kill_w, kill_wait_cb, 0, 0);
    r->grace_w.data = r->kill_w.data = r;
    *out = r;
    return 0;
}

static int slurm_start(struct atb__launcher *l, struct atb__proc *p, char *const argv[],
                       const struct atb__spawn_ctx *ctx)
{
    struct slurm *sl = (struct slurm *)l;
    const struct atb__launch_info *info = l->info;
    struct atb__spawn_ctx c = *ctx;
    struct atb__srun_req req;
    struct atb__strv v;
    struct relay *r;
    int pfd[2], rc;

    sync_local(sl);
    if (p->ext != NULL && !is_helper(p)) /* an earlier attempt's */
        relay_free(p->ext);
    p->ext = NULL;
    if (info == NULL) /* not a command (an exec probe): here */
        return sl->lo->ops->start(sl->lo, p, argv, ctx);
    rc = relay_new(sl, info, ctx, pfd, &r);
    if (rc < 0)
        return rc;
    req = (struct atb__srun_req){r->job_name, sl->in_alloc, info->slurm};
    rc = atb__srun_argv(&req, argv, &v);
    if (rc == 0) {
        v.argv[0] = sl->srun;
        c.err_fd = pfd[1];
        /* srun's own lines and the tty: the foreground is this machine's. */
        c.tty_fd = -1;
        rc = sl->lo->ops->start(sl->lo, p, v.argv, &c);
        atb__strv_free(&v);
    }
    atb__close(&pfd[1]);
    if (rc < 0) {
        relay_free(r);
        return rc == -ENOENT ? ATB_ELAUNCHER : rc;
    }
    r->p = p;
    p->ext = r;
    p->remote_job = p->remote_step = -1;
    atb__relay_start(&r->io);
    return 0;
}

static int slurm_exited(struct atb__launcher *l, struct atb__proc *p)
{
    struct slurm *sl = (struct slurm *)l;

    return sl->lo->ops->exited(sl->lo, p);
}

static void slurm_forget(struct atb__launcher *l, struct atb__proc *p)
{
    struct slurm *sl = (struct slurm *)l;

    if (p->ext != NULL && !is_helper(p))
        relay_free(p->ext);
    p->ext = NULL;
    sl->lo->ops->forget(sl->lo, p);
}

static void slurm_close(struct atb__launcher *l)
{
    struct slurm *sl = (struct slurm *)l;

    if (sl == NULL)
        return;
    ev_timer_stop(l->loop, &sl->batch_w);
    for (size_t b = 0; b < BATCHES; b++)
        for (size_t i = 0; i < sl->batches[b].n; i++)
            free(sl->batches[b].targets[i]);
    /* Helpers still running (a run torn down early) are left to finish
     * on their own: a scancel is short, and is what must happen. */
    while (sl->helpers)
        helper_free(sl, sl->helpers);
    sl->lo->ops->close(sl->lo);
    atb__close(&sl->devnull);
    free(sl);
}

static const struct atb__launcher_ops slurm_ops = {
    slurm_start, slurm_exited, slurm_stop, slurm_kill, slurm_forget, slurm_close,
};

int atb__slurm_open(struct atb__launcher **out, struct ev_loop *loop, int use_pidfd,
                    int own_process, const char *token)
{
    struct slurm *sl = calloc(1, sizeof(*sl));
    const char *path = getenv("PATH");
    int rc;

    *out = NULL;
    if (sl == NULL)
        return -ENOMEM;
    sl->devnull = atb__open("/dev/null", O_RDWR, 0);
    if (sl->devnull < 0) {
        rc = sl->devnull;
        free(sl);
        return rc;
    }
    if (atb__path_search("srun", path, sl->srun, sizeof(sl->srun)) < 0 ||
        atb__path_search("scancel", path, sl->scancel, sizeof(sl->scancel)) < 0) {
        atb__close(&sl->devnull);
        free(sl);
        return ATB_ELAUNCHER;
    }
    rc = atb__local_open(&sl->lo, loop, use_pidfd, own_process);
    if (rc < 0) {
        atb__close(&sl->devnull);
        free(sl);
        return rc;
    }
    snprintf(sl->token, sizeof(sl->token), "%s", token);
    sl->in_alloc = getenv("SLURM_JOB_ID") != NULL;
    sl->l.ops = &slurm_ops;
    sl->l.loop = loop;
    sl->l.local = sl->lo;
    sl->lo->on_leader = on_leader;
    sl->lo->on_group = on_group;
    sl->lo->on_killed = on_killed;
    sl->lo->data = sl;
    ev_timer_init(&sl->batch_w, batch_cb, 0, 0);
    sl->batch_w.data = sl;
    *out = &sl->l;
    return 0;
}

int atb__slurm_will(const char *token, char *buf, size_t size)
{
    /* Jobs and steps both: squeue -s lists steps as J.S. */
    int n = snprintf(buf, size,
                     "ids=$({ squeue -h -o '%%i %%j' -u %u; squeue -s -h -o '%%i %%j' -u %u; } "
                     "2>/dev/null | while read -r i n; do case $n in atb-%s-*) "
                     "printf '%%s\\n' \"$i\";; esac; done); "
                     "[ -z \"$ids\" ] || scancel $ids",
                     (unsigned)getuid(), (unsigned)getuid(), token);

    return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}
