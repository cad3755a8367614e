/* slurm-relay: srun's stderr, relayed line by line to where the command's
 * stderr goes, without srun's own lines (srun.c tells them apart and reads
 * the job's ids from them).
 *
 * Written on as lines, so a task line and one of srun's never share a
 * write. Where the destination is the run's own pipe (prefix and group
 * modes), the run reads it on this same loop: a write that would block
 * must not, so the relay stops reading srun until the run has caught up,
 * and srun, not memory, takes the back-pressure. Elsewhere (inherit mode:
 * atb's own stderr) it writes as atb writes its messages.
 */
#include "launcher.h"
#include "slurm-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void relay_out_flush(struct atb__relay *r);

static void out_append(struct atb__relay *r, const char *data, size_t len)
{
    if (r->wfd < 0)
        return;
    if (!r->nonblock) {
        (void)atb__write_all(r->wfd, data, len); /* our stderr: as atb's own */
        return;
    }
    if (r->outlen + len > r->outcap) {
        size_t cap = r->outcap ? r->outcap : ATB__RELAY_LINE;
        char *out;

        while (cap < r->outlen + len)
            cap *= 2;
        out = realloc(r->out, cap);
        if (out == NULL)
            return; /* the line is lost, not the run */
        r->out = out;
        r->outcap = cap;
    }
    memcpy(r->out + r->outlen, data, len);
    r->outlen += len;
}

static void take_line(struct atb__relay *r, const char *line, size_t len, int newline)
{
    if (atb__srun_line(line, len, &r->seen) == ATB__SRUN_TASK) {
        out_append(r, line, len);
        if (newline)
            out_append(r, "\n", 1);
    }
}

/* Splits what was read into lines; a line longer than the buffer goes on
 * as the task's, in pieces, as the run frames long lines. */
static void take_input(struct atb__relay *r, int at_end)
{
    size_t start = 0;

    for (size_t i = 0; i < r->inlen; i++)
        if (r->in[i] == '\n') {
            take_line(r, r->in + start, i - start, 1);
            start = i + 1;
        }
    if (start == 0 && r->inlen == sizeof(r->in)) {
        take_line(r, r->in, r->inlen, 0);
        start = r->inlen;
    }
    if (at_end && start < r->inlen) {
        take_line(r, r->in + start, r->inlen - start, 0);
        start = r->inlen;
    }
    memmove(r->in, r->in + start, r->inlen - start);
    r->inlen -= start;
}

static void relay_close_out(struct atb__relay *r)
{
    ev_io_stop(r->loop, &r->ww);
    atb__close(&r->wfd);
    free(r->out);
    r->out = NULL;
    r->outlen = r->outcap = 0;
}

/* Reads srun's stderr until it would block (or to its end). */
void atb__relay_read(struct atb__relay *r)
{
    while (r->rfd >= 0) {
        ssize_t n = atb__read(r->rfd, r->in + r->inlen, sizeof(r->in) - r->inlen);

        if (n == -EAGAIN)
            break;
        if (n <= 0) {
            ev_io_stop(r->loop, &r->rw);
            atb__close(&r->rfd);
            take_input(r, 1);
            break;
        }
        r->inlen += (size_t)n;
        take_input(r, 0);
    }
    relay_out_flush(r);
}

static void relay_out_flush(struct atb__relay *r)
{
    struct ev_loop *loop = r->loop;

    while (r->outlen > 0 && r->wfd >= 0) {
        ssize_t n = write(r->wfd, r->out, r->outlen);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            /* The run is behind: stop reading srun until it caught up, so
             * srun, not memory, takes the back-pressure. */
            ev_io_stop(loop, &r->rw);
            ev_io_start(loop, &r->ww);
            return;
        }
        if (n < 0) {
            r->outlen = 0; /* the reader is gone: nothing to keep */
            break;
        }
        memmove(r->out, r->out + n, r->outlen - (size_t)n);
        r->outlen -= (size_t)n;
    }
    ev_io_stop(loop, &r->ww);
    if (r->rfd >= 0)
        ev_io_start(loop, &r->rw);
    else
        relay_close_out(r); /* all said: the run's stream may end */
}

static void rw_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    atb__relay_read(w->data);
}

static void ww_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    relay_out_flush(w->data);
}

void atb__relay_close(struct atb__relay *r)
{
    ev_io_stop(r->loop, &r->rw);
    atb__close(&r->rfd);
    relay_close_out(r);
}

int atb__relay_open(struct atb__relay *r, struct ev_loop *loop, int err_fd, int nonblock,
                    int pfd[2])
{
    memset(r, 0, sizeof(*r));
    r->loop = loop;
    r->rfd = -1;
    r->nonblock = nonblock;
    atb__srun_seen_init(&r->seen);
    pfd[0] = pfd[1] = -1;
    r->wfd = fcntl(err_fd >= 0 ? err_fd : 2, F_DUPFD_CLOEXEC, 3);
    if (r->wfd < 0 || pipe2(pfd, O_CLOEXEC) < 0 || fcntl(pfd[0], F_SETFL, O_NONBLOCK) < 0 ||
        (nonblock && fcntl(r->wfd, F_SETFL, O_NONBLOCK | O_WRONLY) < 0)) {
        int err = -errno;

        atb__close(&pfd[0]);
        atb__close(&pfd[1]);
        atb__close(&r->wfd);
        return err;
    }
    r->rfd = pfd[0];
    ev_io_init(&r->rw, rw_cb, r->rfd, EV_READ);
    ev_io_init(&r->ww, ww_cb, r->wfd, EV_WRITE);
    r->rw.data = r->ww.data = r;
    return 0;
}

void atb__relay_start(struct atb__relay *r)
{
    ev_io_start(r->loop, &r->rw);
}
