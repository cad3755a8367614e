/* streams: the commands' pipes, read into lines, when their output goes
 * through the run (prefix, group and events modes, and any command whose
 * lines the run must see for ready_when).
 *
 * A line not yet ended waits in its stream's own small buffer; one that
 * reaches ATB__LINE_MAX goes on as a piece of its own, so memory stays
 * bounded whatever a command writes. Each whole line goes to the run
 * (readiness, events) and, in prefix mode, out with its prefix.
 *
 * The run keeps its copy of each pipe's write end until the command's
 * leader has ended (atb__output_keep()). A process closes its fds before it
 * is reaped, so with only the child holding them each pipe would hang up
 * on its own, and wake the loop on its own, before the leader's exit does:
 * three wake-ups per command where one serves. Kept, the pipes reach their
 * end when the run, woken by the exit, lets go of them (or later, when
 * descendants still hold them). That costs two fds per running command,
 * so only while they are plentiful: at most an eighth of the limit.
 */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define OBUF_SIZE (256 * 1024)
#define READS_PER_WAKEUP 4 /* then let other streams have a turn */

static const char *prefix_format(const struct atb_run *run)
{
    return run->set.prefix ? run->set.prefix : "[{name}] ";
}

/* Whether the run still needs cmd's lines: to see it become ready. */
static int watched(const struct atb__cmd *cmd)
{
    return cmd->ready_re != NULL && !cmd->ready;
}

/* Whether any command needs its lines seen by the run. */
static int any_watched(const struct atb_run *run)
{
    for (size_t i = 0; i < run->n; i++)
        if (run->cmds[i]->ready_when != NULL)
            return 1;
    return 0;
}

int atb__output_open(struct atb_run *run)
{
    struct atb__output *out = &run->out;

    out->mode = run->set.output;
    if (out->mode == ATB_OUTPUT_AUTO)
        out->mode = run->n == 1 && run->set.feed_cb == NULL ? ATB_OUTPUT_INHERIT
                                                            : ATB_OUTPUT_PREFIX;
    for (int i = 0; i < 2; i++) {
        out->dest[i].fd = i == 0 ? run->set.out_fd : run->set.err_fd;
        out->dest[i].color = run->set.color[i] == ATB_COLOR_ALWAYS;
        out->dest[i].broken = 0;
    }
    /* In inherit mode only commands with ready_when are read (and their
     * lines passed on as they are). */
    if (out->mode == ATB_OUTPUT_INHERIT && !any_watched(run))
        return 0;
    out->per_line = strstr(prefix_format(run), "{time}") != NULL;
    out->scratch = malloc(ATB__LINE_MAX);
    out->obuf = malloc(OBUF_SIZE);
    out->ocap = OBUF_SIZE;
    if (out->scratch == NULL || out->obuf == NULL)
        return -ENOMEM;
    if (out->mode == ATB_OUTPUT_PREFIX && run->set.pad) {
        for (size_t i = 0; i < run->n; i++) {
            size_t len = atb__prefix_render(prefix_format(run), run->cmds[i], 1, NULL, 0);
            if (len > out->pad)
                out->pad = len;
        }
    }
    return 0;
}

void atb__output_close(struct atb_run *run)
{
    free(run->out.scratch);
    free(run->out.obuf);
    run->out.scratch = run->out.obuf = NULL;
}

/* Lets go of the write end kept for s, if any. */
static void unkeep(struct atb_run *run, struct atb__stream *s)
{
    if (s->wfd < 0)
        return;
    atb__close(&s->wfd);
    run->out.kept--;
}

int atb__output_pipes(struct atb_run *run, struct atb__cmd *cmd, int wfd[2])
{
    enum atb_output mode = run->out.mode;

    wfd[0] = wfd[1] = -1;
    if (mode == ATB_OUTPUT_INHERIT && cmd->ready_when == NULL)
        return 0;
    if (mode == ATB_OUTPUT_GROUP && cmd->ready_when == NULL) {
        int rc = atb__group_files(run, cmd, wfd);
        if (rc <= 0)
            return rc;
    }
    for (int i = 0; i < 2; i++) {
        int p[2];

        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
            int err = -errno;
            atb__close(&wfd[0]);
            atb__close(&cmd->out[0].fd);
            return err;
        }
        /* The child's end blocks, as a pipe a program is handed should. */
        (void)fcntl(p[1], F_SETFL, 0);
        cmd->out[i].fd = p[0];
        cmd->out[i].which = i;
        cmd->out[i].spill_fd = -1;
        wfd[i] = p[1];
        /* Its destination is gone: the command writes into a pipe nobody
         * reads, and gets SIGPIPE as in a shell pipeline. */
        if (run->out.dest[i].broken && !watched(cmd))
            atb__close(&cmd->out[i].fd);
    }
    return 0;
}

/* A whole line (or a 64 KiB piece of one). */
static void line_out(struct atb_run *run, struct atb__cmd *cmd, struct atb__stream *s,
                     const char *line, size_t len)
{
    atb__run_line(cmd, s->which, line, len);
    if (run->out.mode == ATB_OUTPUT_PREFIX || run->out.mode == ATB_OUTPUT_INHERIT)
        atb__emit_line(run, cmd, s->which, line, len);
}

/* Keeps bytes of a line not yet ended; a full ATB__LINE_MAX goes out as a
 * piece of its own. */
static int part_add(struct atb_run *run, struct atb__cmd *cmd, struct atb__stream *s,
                    const char *p, size_t n)
{
    while (n > 0) {
        size_t room, take;

        if (s->part_len == ATB__LINE_MAX) {
            line_out(run, cmd, s, s->part, s->part_len);
            s->part_len = 0;
        }
        if (s->part_cap < ATB__LINE_MAX && s->part_len + n > s->part_cap) {
            size_t cap = s->part_cap ? s->part_cap : 256;
            char *np;
            while (cap < s->part_len + n && cap < ATB__LINE_MAX)
                cap *= 2;
            if (cap > ATB__LINE_MAX)
                cap = ATB__LINE_MAX;
            np = realloc(s->part, cap);
            if (np == NULL)
                return -ENOMEM;
            s->part = np;
            s->part_cap = cap;
        }
        room = s->part_cap - s->part_len;
        take = n < room ? n : room;
        memcpy(s->part + s->part_len, p, take);
        s->part_len += take;
        p += take;
        n -= take;
    }
    return 0;
}

static void frame(struct atb_run *run, struct atb__cmd *cmd, struct atb__stream *s,
                  const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t len;

        if (nl == NULL) {
            if (part_add(run, cmd, s, p, n) < 0) /* no memory: as it is */
                line_out(run, cmd, s, p, n);
            return;
        }
        len = (size_t)(nl - p);
        if (s->part_len > 0) {
            /* The line began in an earlier read: complete it in place, so
             * it is written (and matched) whole. */
            if (part_add(run, cmd, s, p, len) < 0) {
                line_out(run, cmd, s, s->part, s->part_len);
                line_out(run, cmd, s, p, len);
            } else {
                line_out(run, cmd, s, s->part, s->part_len);
            }
            s->part_len = 0;
        } else {
            line_out(run, cmd, s, p, len);
        }
        p = nl + 1;
        n -= len + 1;
    }
}

static void stream_close(struct atb_run *run, struct atb__cmd *cmd, struct atb__stream *s)
{
    if (s->fd < 0)
        return;
    ev_io_stop(run->loop, &s->w);
    atb__close(&s->fd);
    if (s->part_len > 0) /* a last line without its newline */
        line_out(run, cmd, s, s->part, s->part_len);
    if (run->out.mode != ATB_OUTPUT_GROUP)
        atb__obuf_flush(run, s->which);
    free(s->part);
    s->part = NULL;
    s->part_len = s->part_cap = 0;
}

/* Reads what a stream has (a few reads at most, for fairness). Returns 1
 * at end of file or on an error, which end the stream alike. */
static int stream_read(struct atb_run *run, struct atb__cmd *cmd, struct atb__stream *s)
{
    struct atb__output *out = &run->out;
    int group = out->mode == ATB_OUTPUT_GROUP;

    if (group && s->spill_fd >= 0 && !s->no_splice && run->set.keep_output == 0 &&
        (cmd->ready_re == NULL || cmd->ready)) {
        int rc = atb__group_splice(s);
        if (rc >= 0)
            return rc;
        s->no_splice = 1; /* not on this file system: copy from now on */
    }
    for (int i = 0; i < READS_PER_WAKEUP; i++) {
        ssize_t n = atb__read(s->fd, out->scratch, ATB__LINE_MAX);

        if (n == -EAGAIN)
            break;
        if (n <= 0)
            return 1;
        atb__keep(run, cmd, out->scratch, (size_t)n);
        if (!group) {
            frame(run, cmd, s, out->scratch, (size_t)n);
        } else {
            atb__group_capture(run, cmd, s, out->scratch, (size_t)n);
            if (cmd->ready_re && !cmd->ready)
                frame(run, cmd, s, out->scratch, (size_t)n);
        }
        if (n < ATB__LINE_MAX)
            break;
    }
    if (!group)
        atb__obuf_flush(run, s->which);
    return 0;
}

static void stream_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct atb__stream *s = w->data;
    struct atb__cmd *cmd = ATB__CONTAINER_OF(s - s->which, struct atb__cmd, out);
    struct atb_run *run = cmd->run;

    (void)loop;
    (void)revents;
    atb__enter(run);
    if (stream_read(run, cmd, s)) {
        stream_close(run, cmd, s);
        atb__run_stream_closed(cmd);
    }
    atb__leave(run);
}

/* How many write ends may be kept: an eighth of the fd limit, plus one so
 * that it is never 0 (the "not read yet" of keep_max). */
static size_t keep_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 65;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur / 8 > ((rlim_t)1 << 20))
        return ((size_t)1 << 20) + 1;
    return (size_t)(rl.rlim_cur / 8) + 1;
}

void atb__output_keep(struct atb_run *run, struct atb__cmd *cmd, int wfd[2])
{
    struct atb__output *out = &run->out;

    /* Read once, after the spawner has raised the limit to the hard one. */
    if (out->keep_max == 0)
        out->keep_max = keep_limit();
    for (int i = 0; i < 2; i++) {
        struct atb__stream *s = &cmd->out[i];

        /* Only a pipe the run reads: a group file has no read end. */
        if (wfd[i] >= 0 && s->fd >= 0 && !s->direct && s->wfd < 0 && out->kept < out->keep_max) {
            s->wfd = wfd[i];
            wfd[i] = -1;
            out->kept++;
        }
        atb__close(&wfd[i]);
    }
}

void atb__output_leader_done(struct atb_run *run, struct atb__cmd *cmd)
{
    for (int i = 0; i < 2; i++) {
        struct atb__stream *s = &cmd->out[i];

        if (s->wfd < 0)
            continue;
        unkeep(run, s);
        /* Most commands are done writing: the end of file is there now,
         * without waiting for the loop to report it. */
        if (s->fd >= 0 && stream_read(run, cmd, s)) {
            stream_close(run, cmd, s);
            atb__run_stream_closed(cmd);
        }
    }
}

void atb__output_start(struct atb_run *run, struct atb__cmd *cmd)
{
    if (cmd->out[0].fd < 0 && cmd->out[1].fd < 0)
        return;
    if (run->out.mode == ATB_OUTPUT_PREFIX && !run->out.per_line) {
        const char *fmt = prefix_format(run);
        size_t len = atb__prefix_render(fmt, cmd, 0, NULL, 0);
        size_t size = (len > run->out.pad ? len : run->out.pad) + 1;

        cmd->prefix = malloc(size);
        if (cmd->prefix != NULL) {
            atb__prefix_render(fmt, cmd, 0, cmd->prefix, size);
            while (len < run->out.pad)
                cmd->prefix[len++] = ' ';
            cmd->prefix[len] = '\0';
            cmd->prefix_len = len;
        }
    }
    for (int i = 0; i < 2; i++) {
        struct atb__stream *s = &cmd->out[i];
        if (s->fd < 0)
            continue;
        ev_io_init(&s->w, stream_cb, s->fd, EV_READ);
        s->w.data = s;
        ev_io_start(run->loop, &s->w);
    }
}

int atb__output_open_streams(const struct atb__cmd *cmd)
{
    return (cmd->out[0].fd >= 0) + (cmd->out[1].fd >= 0);
}

void atb__output_stop(struct atb_run *run, struct atb__cmd *cmd)
{
    for (int i = 0; i < 2; i++) {
        struct atb__stream *s = &cmd->out[i];

        unkeep(run, s);
        if (s->fd >= 0) {
            stream_read(run, cmd, s);
            stream_close(run, cmd, s);
        }
    }
}

void atb__output_shed(struct atb_run *run)
{
    unsigned shed = run->out.shed;

    run->out.shed = 0;
    for (size_t i = 0; i < run->n && shed; i++) {
        struct atb__cmd *cmd = run->cmds[i];
        int closed = 0;

        for (int k = 0; k < 2; k++) {
            struct atb__stream *s = &cmd->out[k];

            if (!(shed & (1u << k)) || s->fd < 0 || s->direct || watched(cmd))
                continue;
            ev_io_stop(run->loop, &s->w);
            atb__close(&s->fd);
            closed = 1;
        }
        if (closed)
            atb__sched_maybe_finish(cmd);
    }
}

void atb__output_free_cmd(struct atb__cmd *cmd)
{
    for (int i = 0; i < 2; i++) {
        struct atb__stream *s = &cmd->out[i];
        if (s->fd >= 0 && cmd->run->loop)
            ev_io_stop(cmd->run->loop, &s->w);
        unkeep(cmd->run, s);
        atb__close(&s->fd);
        atb__close(&s->spill_fd);
        s->direct = 0;
        cmd->run->out.held -= s->mem_len;
        free(s->part);
        free(s->mem);
        s->part = s->mem = NULL;
        s->part_len = s->part_cap = s->mem_len = s->mem_cap = 0;
    }
    free(cmd->prefix);
    cmd->prefix = NULL;
}
