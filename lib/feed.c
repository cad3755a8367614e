/* feed: commands that arrive on an fd while the run goes on, one line each
 * (atb pool --stdin). The caller's callback turns a line into a command.
 *
 * Memory is bounded by the backlog, not by the input: lines are turned into
 * commands only while few wait for a slot, the rest stay in the buffer, and
 * reading resumes only once the buffer holds no whole line. The buffer
 * starts at 64 KiB and grows only for a line that does not fit, up to the
 * line limit; a longer line is dropped, not the run.
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Commands queued (placed or not yet) that have not started. */
static size_t backlog(const struct atb_run *run)
{
    return atb__tally_sum(&run->tally, ATB__KIND_BIT(ATB__WORK) | ATB__KIND_BIT(ATB__SERVICE),
                          ATB__QUEUED, ATB__QUEUED) +
           run->nin;
}

/* The feed pauses while this many commands wait for a slot. */
static size_t backlog_max(const struct atb_run *run)
{
    return run->set.jobs ? 2 * (size_t)run->set.jobs + 16 : 256;
}

static void fail(struct atb_run *run, int err)
{
    if (run->failure == 0)
        run->failure = err;
    run->cancel_due = run->set.cancel_signal;
    atb__feed_stop(run);
}

/* Hands one line to the caller, which may add a command. */
static int feed_one(struct atb_run *run, const char *line, size_t len)
{
    int rc = run->set.feed_cb(run, line, len, run->set.feed_data);

    if (rc < 0)
        fail(run, rc);
    return rc;
}

/* A line over the limit fills the buffer: the buffer grows, up to the
 * limit; past it the line is dropped up to its end. Returns 0, or -ENOMEM. */
static int make_room(struct atb_run *run)
{
    struct atb__feed *f = &run->feed;
    size_t size = f->size * 2 < run->set.feed_max ? f->size * 2 : run->set.feed_max;
    char *buf;

    if (f->size >= run->set.feed_max) {
        f->skipping = 1;
        f->len = 0;
        return 0;
    }
    buf = realloc(f->buf, size);
    if (buf == NULL)
        return -ENOMEM;
    f->buf = buf;
    f->size = size;
    return 0;
}

/* Drops what is left of a line over the limit; at its end (or at the end
 * of input) tells the caller, with line NULL. Returns what follows it in
 * the buffer, from start. */
static size_t skip(struct atb_run *run, size_t start)
{
    struct atb__feed *f = &run->feed;
    char *end = memchr(f->buf + start, run->set.feed_delim, f->len - start);

    if (end == NULL && !f->eof)
        return f->len;
    f->skipping = 0;
    (void)feed_one(run, NULL, run->set.feed_max - 1);
    return end ? (size_t)(end - f->buf) + 1 : f->len;
}

static void process(struct atb_run *run)
{
    struct atb__feed *f = &run->feed;
    size_t start = 0;

    while (f->active && backlog(run) < backlog_max(run)) {
        char *nl;
        size_t len;

        if (f->skipping) {
            start = skip(run, start);
            if (f->skipping)
                break;
            continue;
        }
        nl = memchr(f->buf + start, run->set.feed_delim, f->len - start);
        len = nl ? (size_t)(nl - f->buf) - start : f->len - start;
        if (nl == NULL && !(f->eof && len > 0))
            break;
        /* At end of input a last line without its newline still counts. */
        if (feed_one(run, f->buf + start, len) < 0)
            break;
        start += len + (nl != NULL);
    }
    memmove(f->buf, f->buf + start, f->len - start);
    f->len -= start;
    if (!f->active)
        return;
    if (f->eof && f->len == 0 && !f->skipping)
        atb__feed_stop(run);
    else if (f->len == f->size && memchr(f->buf, run->set.feed_delim, f->len) == NULL &&
             make_room(run) < 0)
        fail(run, -ENOMEM); /* a long line needed more room than memory gives */
    else if (f->eof || memchr(f->buf, run->set.feed_delim, f->len) != NULL ||
             backlog(run) >= backlog_max(run))
        ev_io_stop(run->loop, &f->w); /* lines wait for slots */
    else if (!ev_is_active(&f->w))
        ev_io_start(run->loop, &f->w);
}

void atb__feed_resume(struct atb_run *run)
{
    if (run->feed.active && !ev_is_active(&run->feed.w) &&
        backlog(run) < backlog_max(run) / 2 + 1)
        process(run);
}

static void feed_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct atb_run *run = w->data;
    struct atb__feed *f = &run->feed;
    ssize_t got;

    (void)loop;
    (void)revents;
    atb__enter(run);
    got = atb__read(w->fd, f->buf + f->len, f->size - f->len);
    if (got != -EAGAIN) {
        if (got <= 0)
            f->eof = 1;
        else
            f->len += (size_t)got;
        process(run);
    }
    atb__leave(run);
}

int atb__feed_start(struct atb_run *run)
{
    struct atb__feed *f = &run->feed;

    if (run->set.feed_cb == NULL)
        return 0;
    f->size = ATB__LINE_MAX < run->set.feed_max ? ATB__LINE_MAX : run->set.feed_max;
    f->buf = malloc(f->size);
    if (f->buf == NULL)
        return -ENOMEM;
    f->active = 1;
    ev_io_init(&f->w, feed_cb, run->set.feed_fd, EV_READ);
    f->w.data = run;
    ev_io_start(run->loop, &f->w);
    return 0;
}

void atb__feed_stop(struct atb_run *run)
{
    if (!run->feed.active)
        return;
    run->feed.active = 0;
    ev_io_stop(run->loop, &run->feed.w);
}

void atb__feed_free(struct atb_run *run)
{
    free(run->feed.buf);
    run->feed.buf = NULL;
}
