/* latch-wait: waiting until latches are set or unset, as a waiter on the
 * caller's libev loop (for the run engine) and as a blocking call (for the
 * CLI).
 *
 * The race to avoid: the state is checked, then the latch changes, then the
 * watch is placed; that change is never reported and the wait hangs. So the
 * order is always watch first, then check. Events are only a hint to check
 * again: a name in an event can be a temporary file, a queue overflow has no
 * name, and the file may have changed again since. Every event therefore
 * re-checks every latch with lstat(2), which is cheap next to a wake-up.
 *
 * Without inotify (a user has 128 instances by default, one per waiting
 * process, so the 129th waiter of a big run has none), a latch is waited
 * on through a wake FIFO of the waiter's own (latch-wake.c): every
 * atb_latch_set() or atb_latch_unset() writes a byte to it, the waiter
 * reads it and checks. It is made before the first check, watch first,
 * then check, as with inotify. What changes a latch without atb (an rm)
 * does not wake anyone: a slow poll catches that.
 * Where not even a FIFO can be made (no such folder yet), the folder is
 * polled fast, as before.
 */
#include "internal.h"
#include "latch-int.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

/* How often a folder that neither inotify nor a wake FIFO can watch is
 * polled; and, with only wake FIFOs, how often for changes made without
 * atb. */
#define FALLBACK_POLL_S 0.01
#define FIFO_POLL_S 1.0
/* The shortest interval opts.poll_s can ask for. */
#define POLL_MIN_S 0.001
/* Reads of the inotify fd per wake-up: enough to drain a burst, bounded so
 * a flood of events cannot hold the loop; the rest wake it again. */
#define READS_MAX 16

/* What changes a folder's entries (a latch appearing or going, by create,
 * rename, link or unlink) or ends the watch on the folder itself. */
#define WATCH_MASK                                                                    \
    (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF | \
     IN_ONLYDIR)

struct latch {
    char *path;
    char *dir; /* the folder watched for it */
    int wd;    /* inotify watch on dir, -1 while it has none */
    int ffd;   /* its wake FIFO (this waiter's own), or -1 */
    dev_t fdev; /* ... and which FIFO that is, to remove only that one */
    ino_t fino;
    ev_io fio; /* on ffd */
    struct atb_latch_waiter *w;
};

struct atb_latch_waiter {
    struct ev_loop *loop;
    struct atb_latch_wait_opts opts;
    atb_latch_wait_cb cb;
    void *data;
    struct latch *latches;
    size_t n;
    int started;
    int ifd;          /* inotify fd, -1 when polling or stopped */
    int result;       /* what deliver hands to the callback */
    int result_index;
    ev_io io;         /* on ifd */
    ev_timer poll;    /* opts.poll_s, or FALLBACK_POLL_S while a folder is unwatched */
    ev_timer timeout; /* opts.timeout_s */
    ev_timer deliver; /* reports a result found inside start(), one iteration later */
    uint64_t id;      /* names its wake FIFOs: latch i's is id + i */
};

void atb_latch_wait_opts_init(struct atb_latch_wait_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->want = ATB_LATCH_SET;
    opts->timeout_s = -1;
}

/* Checks every latch once. Returns 1 when the wait is over (*index as in
 * atb_latch_wait_cb), 0 when not, or the negative errno of a failed check
 * with *index on that latch. */
static int check(struct atb_latch_waiter *w, int *index)
{
    size_t held = 0;

    for (size_t i = 0; i < w->n; i++) {
        int state = atb_latch_state(w->latches[i].path);

        if (state < 0) {
            *index = (int)i;
            return state;
        }
        if (state != (int)w->opts.want)
            continue;
        if (w->opts.any) {
            *index = (int)i;
            return 1;
        }
        held++;
    }
    *index = -1;
    return held == w->n && !w->opts.any;
}

static void fifo_cb(struct ev_loop *loop, ev_io *io, int revents);

static uint64_t fifo_id(const struct latch *l)
{
    return l->w->id + (uint64_t)(l - l->w->latches);
}

/* Stops reading the latch's wake FIFO and removes it: the FIFO is this
 * waiter's alone (latch-wake.c). */
static void fifo_close(struct latch *l)
{
    if (l->ffd < 0)
        return;
    ev_io_stop(l->w->loop, &l->fio);
    atb__latch_fifo_remove(l->path, fifo_id(l), l->fdev, l->fino);
    atb__close(&l->ffd);
}

/* Makes the latch's wake FIFO and watches it; leaves ffd at -1 when it
 * cannot (the folder is missing, something else has the name). */
static void fifo_open(struct latch *l)
{
    struct stat st;
    int fd = atb__latch_fifo_open(l->path, fifo_id(l), &st);

    if (fd < 0)
        return;
    l->ffd = fd;
    l->fdev = st.st_dev;
    l->fino = st.st_ino;
    ev_io_init(&l->fio, fifo_cb, l->ffd, EV_READ);
    l->fio.data = l;
    ev_io_start(l->w->loop, &l->fio);
}

/* Places the watches that are missing: inotify's, else a wake FIFO's.
 * Returns how many latches have neither (*fifos: how many have only a
 * FIFO). */
static size_t watch_missing(struct atb_latch_waiter *w, size_t *fifos)
{
    size_t missing = 0;

    *fifos = 0;
    for (size_t i = 0; i < w->n; i++) {
        struct latch *l = &w->latches[i];

        /* Latches in one folder share a watch: inotify returns the same wd
         * for the same folder. */
        if (l->wd < 0 && w->ifd >= 0)
            l->wd = inotify_add_watch(w->ifd, l->dir, WATCH_MASK);
        if (l->wd >= 0 && l->ffd >= 0)
            fifo_close(l); /* inotify again: the FIFO is not needed */
        if (l->wd < 0 && l->ffd < 0)
            fifo_open(l);
        missing += l->wd < 0 && l->ffd < 0;
        *fifos += l->wd < 0 && l->ffd >= 0;
    }
    return missing;
}

/* Polls while some folder is unwatched (it does not exist yet, neither
 * inotify nor a FIFO could be had), so that the wait still ends, and
 * slowly while some latch has only its FIFO; returns to no polling once
 * every folder is watched by inotify again. */
static void fallback_poll(struct atb_latch_waiter *w)
{
    size_t fifos, missing;
    double every;

    if (w->opts.poll_s > 0)
        return; /* the caller's polling, and nothing else */
    missing = watch_missing(w, &fifos);
    every = missing > 0 ? FALLBACK_POLL_S : fifos > 0 ? FIFO_POLL_S : 0;
    if (every == 0) {
        ev_timer_stop(w->loop, &w->poll);
    } else if (!ev_is_active(&w->poll) || w->poll.repeat != every) {
        ev_timer_stop(w->loop, &w->poll);
        ev_timer_set(&w->poll, every, every);
        ev_timer_start(w->loop, &w->poll);
    }
}

/* Stops every watcher and hands back the inotify fd, which the caller
 * closes: closing one waits for the kernel to retire its watches (an RCU
 * grace period, often several milliseconds), which is not worth making a
 * waiting caller sit through before it hears the news. */
static int stop_watchers(struct atb_latch_waiter *w)
{
    int ifd = w->ifd;

    ev_io_stop(w->loop, &w->io);
    ev_timer_stop(w->loop, &w->poll);
    ev_timer_stop(w->loop, &w->timeout);
    ev_timer_stop(w->loop, &w->deliver);
    w->ifd = -1;
    for (size_t i = 0; i < w->n; i++) {
        w->latches[i].wd = -1;
        fifo_close(&w->latches[i]);
    }
    w->started = 0;
    return ifd;
}

/* Ends the wait: the callback first, then the inotify fd (and all its
 * watches with it) goes. The callback may free or restart w, so w is not
 * touched after it. */
static void finish(struct atb_latch_waiter *w, int status, int index)
{
    int ifd = stop_watchers(w);

    w->cb(w, status, index, w->data);
    atb__close(&ifd);
}

/* Checks, and ends the wait if that settles it. */
static int check_and_finish(struct atb_latch_waiter *w)
{
    int index, rc = check(w, &index);

    if (rc != 0)
        finish(w, rc < 0 ? rc : 0, index);
    return rc != 0;
}

/* A watched folder that is deleted, moved away or unmounted takes its watch
 * with it: forget that watch so the folder at the latch's path (perhaps a
 * new one) is watched again, and polled until it can be. */
static void forget_watch(struct atb_latch_waiter *w, int wd, uint32_t mask)
{
    if (wd < 0)
        return;
    /* After IN_MOVE_SELF the watch lives on at the folder's new place;
     * drop it so its events do not count for the old path. */
    if (mask & IN_MOVE_SELF)
        inotify_rm_watch(w->ifd, wd);
    for (size_t i = 0; i < w->n; i++)
        if (w->latches[i].wd == wd)
            w->latches[i].wd = -1;
}

static void io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    struct atb_latch_waiter *w = io->data;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

    (void)loop;
    (void)revents;
    for (int reads = 0; reads < READS_MAX; reads++) {
        ssize_t len = atb__read(w->ifd, buf, sizeof(buf));
        const char *p = buf;

        if (len == -EAGAIN)
            break;
        if (len <= 0) {
            finish(w, len < 0 ? (int)len : -EIO, -1);
            return;
        }
        while (p < buf + len) {
            const struct inotify_event *ev = (const struct inotify_event *)(const void *)p;

            if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT))
                forget_watch(w, ev->wd, ev->mask);
            p += sizeof(*ev) + ev->len;
        }
    }
    /* Watch first, then check. */
    fallback_poll(w);
    check_and_finish(w);
}

/* A setter wrote to the latch's wake FIFO: what it wrote is read (the FIFO
 * is this waiter's alone), then everything checked. The FIFO stays: it
 * wakes this waiter again when it is written to again. */
static void fifo_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    struct latch *l = io->data;
    char buf[64];

    (void)loop;
    (void)revents;
    while (atb__read(l->ffd, buf, sizeof(buf)) > 0)
        ;
    check_and_finish(l->w);
}

static void poll_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct atb_latch_waiter *w = t->data;

    (void)loop;
    (void)revents;
    fallback_poll(w);
    check_and_finish(w);
}

static void timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct atb_latch_waiter *w = t->data;
    int index, rc;

    (void)loop;
    (void)revents;
    /* A last look, so a state that holds right at the limit (or, polling,
     * between two polls) counts rather than timing out. */
    rc = check(w, &index);
    if (rc != 0)
        finish(w, rc < 0 ? rc : 0, index);
    else
        finish(w, ATB_ETIMEDOUT, -1);
}

static void deliver_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct atb_latch_waiter *w = t->data;

    (void)loop;
    (void)revents;
    finish(w, w->result, w->result_index);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int atb_latch_waiter_new(struct atb_latch_waiter **out, struct ev_loop *loop,
                         char *const *paths, size_t n,
                         const struct atb_latch_wait_opts *opts, atb_latch_wait_cb cb,
                         void *data)
{
    struct atb_latch_waiter *w;

    *out = NULL;
    if (n == 0 || n > (size_t)INT32_MAX || cb == NULL || loop == NULL ||
        (opts->want != ATB_LATCH_SET && opts->want != ATB_LATCH_UNSET))
        return -EINVAL;
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return -ENOMEM;
    w->latches = calloc(n, sizeof(*w->latches));
    if (w->latches == NULL) {
        free(w);
        return -ENOMEM;
    }
    w->n = n;
    w->loop = loop;
    w->opts = *opts;
    /* A shorter interval would only burn the CPU. */
    if (w->opts.poll_s > 0 && w->opts.poll_s < POLL_MIN_S)
        w->opts.poll_s = POLL_MIN_S;
    w->cb = cb;
    w->data = data;
    w->ifd = -1;
    /* Random, with room for a latch index on top without wrapping. */
    w->id = atb__random64() >> 1;
    for (size_t i = 0; i < n; i++) {
        w->latches[i].wd = -1;
        w->latches[i].ffd = -1;
        w->latches[i].w = w;
        w->latches[i].path = strdup(paths[i]);
        w->latches[i].dir = w->latches[i].path ? dir_of(paths[i]) : NULL;
        if (w->latches[i].dir == NULL) {
            atb_latch_waiter_free(w);
            return -ENOMEM;
        }
    }
    ev_init(&w->io, io_cb);
    ev_init(&w->poll, poll_cb);
    ev_init(&w->timeout, timeout_cb);
    ev_init(&w->deliver, deliver_cb);
    w->io.data = w->poll.data = w->timeout.data = w->deliver.data = w;
    *out = w;
    return 0;
}

int atb_latch_waiter_start(struct atb_latch_waiter *w)
{
    int index, rc;

    if (w->started)
        return ATB_ESTATE;
    w->started = 1;
    /* The loop's idea of now may be stale after a long callback; the time
     * limit counts from this call. */
    ev_now_update(w->loop);
    if (w->opts.poll_s > 0) {
        ev_timer_set(&w->poll, w->opts.poll_s, w->opts.poll_s);
        ev_timer_start(w->loop, &w->poll);
    } else {
        /* Without inotify (too many instances, ENOSYS), the wake FIFOs
         * (see the top). ATB_LATCH_NO_INOTIFY: as if there were none. */
        const char *no = getenv("ATB_LATCH_NO_INOTIFY");

        if (no == NULL || no[0] == '\0')
            w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->ifd >= 0) {
            ev_io_set(&w->io, w->ifd, EV_READ);
            ev_io_start(w->loop, &w->io);
        }
        fallback_poll(w);
    }
    if (w->opts.timeout_s >= 0) {
        ev_timer_set(&w->timeout, w->opts.timeout_s, 0);
        ev_timer_start(w->loop, &w->timeout);
    }
    rc = check(w, &index);
    if (rc != 0) {
        /* Settled already; report it from the loop so the callback never
         * runs inside the caller's call to start. */
        ev_io_stop(w->loop, &w->io);
        ev_timer_stop(w->loop, &w->poll);
        ev_timer_stop(w->loop, &w->timeout);
        w->result = rc < 0 ? rc : 0;
        w->result_index = index;
        ev_timer_set(&w->deliver, 0, 0);
        ev_timer_start(w->loop, &w->deliver);
    }
    return 0;
}

void atb_latch_waiter_stop(struct atb_latch_waiter *w)
{
    int ifd;

    if (w == NULL)
        return;
    ifd = stop_watchers(w);
    atb__close(&ifd);
}

void atb_latch_waiter_free(struct atb_latch_waiter *w)
{
    if (w == NULL)
        return;
    atb_latch_waiter_stop(w);
    for (size_t i = 0; i < w->n; i++) {
        free(w->latches[i].path);
        free(w->latches[i].dir);
    }
    free(w->latches);
    free(w);
}

/* State of one blocking atb_latch_wait(). */
struct wait_call {
    struct ev_loop *loop;
    struct atb_latch_waiter *w;
    int done;
    int status;
    int index;
    int signo;
};

static void wait_done(struct atb_latch_waiter *w, int status, int index, void *data)
{
    struct wait_call *call = data;

    (void)w;
    call->done = 1;
    call->status = status;
    call->index = index;
    ev_break(call->loop, EVBREAK_ALL);
}

static void wait_signal(int signo, void *data)
{
    struct wait_call *call = data;

    /* A wait that ended in this same loop iteration stands. */
    if (call->done)
        return;
    atb_latch_waiter_stop(call->w);
    call->done = 1;
    call->status = -EINTR;
    call->index = -1;
    call->signo = signo;
    ev_break(call->loop, EVBREAK_ALL);
}

int atb_latch_wait(char *const *paths, size_t n, const struct atb_latch_wait_opts *opts,
                   int *index, int *signo)
{
    struct wait_call call = {.index = -1};
    struct atb__catch sig;
    sigset_t stop_signals;
    int rc, catching = 0;

    if (index != NULL)
        *index = -1;
    if (signo != NULL)
        *signo = 0;
    /* A private loop: nothing here may reap children or disturb the
     * caller's loops. ev_loop_new() never takes SIGCHLD. */
    rc = atb__fds_available(ATB__LOOP_FDS);
    if (rc < 0)
        return rc;
    call.loop = ev_loop_new(EVFLAG_AUTO);
    if (call.loop == NULL)
        return -ENOMEM;
    rc = atb_latch_waiter_new(&call.w, call.loop, paths, n, opts, wait_done, &call);
    if (rc < 0)
        goto out;
    /* A signal ignored on entry stays ignored, as a shell does for a
     * background job: whoever started us chose that. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    if (opts->handle_signals)
        catching = atb__catch_start(&sig, call.loop, &stop_signals, NULL, wait_signal,
                                    &call) == 0;
    rc = atb_latch_waiter_start(call.w);
    if (rc < 0)
        goto out;
    ev_run(call.loop, 0);
    /* The waiter keeps a watcher active until it reports, so the loop only
     * ends through wait_done() or wait_signal(). */
    rc = call.done ? call.status : ATB_ESTATE;
    if (index != NULL)
        *index = call.index;
    if (signo != NULL)
        *signo = call.signo;
out:
    if (catching)
        (void)atb__catch_stop(&sig, 0);
    atb_latch_waiter_free(call.w);
    ev_loop_destroy(call.loop);
    return rc;
}
