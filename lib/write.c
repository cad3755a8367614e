/* write: the destinations of the commands' output (the caller's fds), and
 * prefix mode's lines.
 *
 * Every complete line is written as PREFIX LINE, in one write() with the
 * other complete lines of the same read, so no line is ever cut by another
 * command's output. Writes block: a slow reader slows atb, which then stops
 * reading the pipes, which slows the commands. That is the back-pressure,
 * and no buffer grows to absorb it. After EPIPE (`atb | head`) a
 * destination is dropped, and the commands' pipes to it are closed
 * (streams.c, atb__output_shed), so a command that goes on writing gets
 * SIGPIPE, as it would in a shell pipeline.
 */
#include "engine.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes all of buf to a destination that may be non-blocking (a parent can
 * hand us such a stdout). EPIPE or any other error drops the destination. */
void atb__dest_write(struct atb_run *run, struct atb__dest *d, const char *buf, size_t len)
{
    if (len > 0 && !d->broken)
        atb__emit(run, ATB_EVENT_WRITING, -1);
    while (len > 0 && !d->broken) {
        ssize_t n = write(d->fd, buf, len);
        if (n >= 0) {
            buf += n;
            len -= (size_t)n;
        } else if (errno == EAGAIN) {
            struct pollfd pfd = {d->fd, POLLOUT, 0};
            (void)poll(&pfd, 1, -1);
        } else if (errno != EINTR) {
            d->broken = 1;
            run->out.shed |= 1u << (d - run->out.dest);
        }
    }
}

void atb__obuf_flush(struct atb_run *run, int which)
{
    struct atb__output *out = &run->out;

    if (out->olen > 0)
        atb__dest_write(run, &out->dest[which], out->obuf, out->olen);
    out->olen = 0;
}

static void obuf_add(struct atb_run *run, int which, const char *p, size_t len)
{
    struct atb__output *out = &run->out;

    if (out->olen + len > out->ocap)
        atb__obuf_flush(run, which);
    if (len > out->ocap) {
        atb__dest_write(run, &out->dest[which], p, len);
        return;
    }
    memcpy(out->obuf + out->olen, p, len);
    out->olen += len;
}

void atb__emit_line(struct atb_run *run, struct atb__cmd *cmd, int which, const char *line,
                    size_t len)
{
    struct atb__output *out = &run->out;
    struct atb__dest *d = &out->dest[which];
    char buf[512];
    const char *prefix = cmd->prefix;
    size_t plen = cmd->prefix_len;

    if (d->broken)
        return;
    if (out->per_line && out->mode == ATB_OUTPUT_PREFIX) {
        plen = atb__prefix_render(run->set.prefix ? run->set.prefix : "[{name}] ", cmd, 0, buf,
                                  sizeof(buf));
        if (plen >= sizeof(buf))
            plen = sizeof(buf) - 1;
        while (plen < out->pad && plen < sizeof(buf) - 1)
            buf[plen++] = ' ';
        prefix = buf;
    }
    if (plen > 0) {
        if (d->color)
            obuf_add(run, which, atb__palette[cmd->res.id % 6], 5);
        obuf_add(run, which, prefix, plen);
        if (d->color)
            obuf_add(run, which, ATB__COLOR_RESET, sizeof(ATB__COLOR_RESET) - 1);
    }
    obuf_add(run, which, line, len);
    obuf_add(run, which, "\n", 1);
}

/* Keeps the tail of a command's output: the newest keep_output bytes. */
void atb__keep(struct atb_run *run, struct atb__cmd *cmd, const char *p, size_t n)
{
    size_t max = run->set.keep_output;

    if (max == 0)
        return;
    if (cmd->kept == NULL && (cmd->kept = malloc(max)) == NULL)
        return;
    if (n >= max) {
        memcpy(cmd->kept, p + n - max, max);
        cmd->kept_len = max;
        return;
    }
    if (cmd->kept_len + n > max) {
        size_t drop = cmd->kept_len + n - max;
        memmove(cmd->kept, cmd->kept + drop, cmd->kept_len - drop);
        cmd->kept_len -= drop;
    }
    memcpy(cmd->kept + cmd->kept_len, p, n);
    cmd->kept_len += n;
}
