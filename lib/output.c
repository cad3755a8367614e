/* output: the commands' output, when it goes through atb.
 *
 * prefix  every complete line is written as PREFIX LINE, in one write() with
 *         the other complete lines of the same read, so no line is ever cut
 *         by another command's output. A line not yet ended waits in the
 *         stream's own small buffer; one that reaches ATB__LINE_MAX is
 *         written in pieces of that size, so memory stays bounded.
 * group   everything a command writes is held back and written in one
 *         block when the command has finished. The command writes straight
 *         into two unlinked temporary files (stdout, stderr), so holding
 *         costs no copy through atb; only a command whose lines atb must
 *         see (ready_when) goes through pipes, held in memory up to
 *         ATB__GROUP_MEM and then in such a file.
 *
 * Writes to atb's stdout and stderr block: a slow reader slows atb, which
 * then stops reading the pipes, which slows the commands. That is the
 * back-pressure, and no buffer grows to absorb it. After EPIPE (`atb | head`)
 * a destination is dropped, and the pipes are still read to the end so the
 * commands never block on them.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sendfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OBUF_SIZE (256 * 1024)
#define READS_PER_WAKEUP 4 /* then let other streams have a turn */

static const char *const palette[] = {"\033[36m", "\033[33m", "\033[32m",
                                      "\033[35m", "\033[34m", "\033[31m"};
static const char color_reset[] = "\033[0m";

/* Writes all of buf to a destination that may be non-blocking (a parent can
 * hand us such a stdout). EPIPE or any other error drops the destination. */
static void dest_write(struct atb__dest *d, const char *buf, size_t len)
{
    while (len > 0 && !d->broken) {
        ssize_t n = write(d->fd, buf, len);
        if (n >= 0) {
            buf += n;
            len -= (size_t)n;
        } else if (errno == EAGAIN) {
            struct pollfd pfd = {d->fd, POLLOUT, 0};
            poll(&pfd, 1, -1);
        } else if (errno != EINTR) {
            d->broken = 1;
        }
    }
}

/* Takes the status line off the screen before output; the progress timer
 * puts it back within 100 ms. */
static void progress_clear(struct atb__output *out)
{
    if (out->progress_shown) {
        dest_write(&out->dest[1], "\r\033[K", 4);
        out->progress_shown = 0;
    }
}

static void obuf_flush(struct atb__output *out, int which)
{
    if (out->olen > 0) {
        progress_clear(out);
        dest_write(&out->dest[which], out->obuf, out->olen);
    }
    out->olen = 0;
}

static void obuf_add(struct atb__output *out, int which, const char *p, size_t len)
{
    if (out->olen + len > out->ocap)
        obuf_flush(out, which);
    if (len > out->ocap) {
        dest_write(&out->dest[which], p, len);
        return;
    }
    memcpy(out->obuf + out->olen, p, len);
    out->olen += len;
}

/* Renders the prefix format for cmd. pid_width and the clock are used when
 * measuring the padding, before the pid is known. */
static size_t render_prefix(const char *fmt, const struct atb__cmd *cmd, int measuring,
                            char *buf, size_t size)
{
    size_t len = 0;

#define PUT(s, n)                                                              \
    do {                                                                       \
        size_t n_ = (n);                                                       \
        if (len + n_ < size)                                                   \
            memcpy(buf + len, (s), n_);                                        \
        len += n_;                                                             \
    } while (0)
    for (const char *p = fmt; *p;) {
        char tmp[32];
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        size_t key = close ? (size_t)(close - p - 1) : 0;

        if (close && key == 4 && strncmp(p + 1, "name", 4) == 0) {
            PUT(cmd->name, strlen(cmd->name));
        } else if (close && key == 5 && strncmp(p + 1, "index", 5) == 0) {
            PUT(tmp, (size_t)snprintf(tmp, sizeof(tmp), "%zu", cmd->index + 1));
        } else if (close && key == 3 && strncmp(p + 1, "pid", 3) == 0) {
            if (measuring)
                PUT("1234567", 7);
            else
                PUT(tmp, (size_t)snprintf(tmp, sizeof(tmp), "%d", (int)cmd->res.pid));
        } else if (close && key == 4 && strncmp(p + 1, "time", 4) == 0) {
            struct timespec ts;
            struct tm tm;

            clock_gettime(CLOCK_REALTIME, &ts);
            localtime_r(&ts.tv_sec, &tm);
            PUT(tmp, (size_t)snprintf(tmp, sizeof(tmp), "%02d:%02d:%02d.%03ld", tm.tm_hour,
                                      tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000));
        } else {
            PUT(p, 1);
            p++;
            continue;
        }
        p = close + 1;
    }
#undef PUT
    if (size > 0)
        buf[len < size ? len : size - 1] = '\0';
    return len;
}

int atb_prefix_check(const char *fmt)
{
    static const char *const keys[] = {"{name}", "{index}", "{pid}", "{time}"};

    for (const char *p = strchr(fmt, '{'); p; p = strchr(p + 1, '{')) {
        size_t i;
        for (i = 0; i < ATB__ARRAY_SIZE(keys); i++)
            if (strncmp(p, keys[i], strlen(keys[i])) == 0)
                break;
        if (i == ATB__ARRAY_SIZE(keys))
            return ATB_EPREFIX;
    }
    return 0;
}

static const char *prefix_format(const struct atb_run *run)
{
    return run->opts.prefix ? run->opts.prefix : "[{name}] ";
}

int atb__output_open(struct atb_run *run)
{
    struct atb__output *out = &run->out;

    out->mode = run->opts.output;
    /* A status line can be kept clear of output only if the output goes
     * through atb. */
    if (out->mode == ATB_OUTPUT_AUTO)
        out->mode = run->n == 1 && !run->opts.progress && !run->opts.feed_line
                        ? ATB_OUTPUT_INHERIT
                        : ATB_OUTPUT_PREFIX;
    if (out->mode == ATB_OUTPUT_INHERIT) {
        /* Commands with ready_when are read all the same, to see their
         * lines; they are passed on as they are. */
        int watched = 0;
        for (size_t i = 0; i < run->n; i++)
            watched |= run->cmds[i]->ready_when != NULL;
        if (run->opts.progress)
            return -EINVAL;
        if (!watched)
            return 0;
    }
    out->progress = run->opts.progress;
    if (atb_prefix_check(prefix_format(run)) < 0)
        return ATB_EPREFIX;
    for (int i = 0; i < 2; i++) {
        out->dest[i].fd = i + 1;
        out->dest[i].color = run->opts.color == ATB_COLOR_ALWAYS ||
                             (run->opts.color == ATB_COLOR_AUTO && isatty(i + 1));
    }
    out->github = run->opts.group_markers;
    out->per_line = strstr(prefix_format(run), "{time}") != NULL;
    out->scratch = malloc(ATB__LINE_MAX);
    out->obuf = malloc(OBUF_SIZE);
    out->ocap = OBUF_SIZE;
    if (out->scratch == NULL || out->obuf == NULL)
        return -ENOMEM;
    if (out->mode == ATB_OUTPUT_PREFIX && !run->opts.no_pad) {
        for (size_t i = 0; i < run->n; i++) {
            size_t len = render_prefix(prefix_format(run), run->cmds[i], 1, NULL, 0);
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

/* Opens an unlinked temporary file in $TMPDIR (or /tmp) for group output. */
static int spill_open(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    int fd;

    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    fd = atb__open(dir, O_TMPFILE | O_RDWR, 0600);
    if (fd >= 0)
        return fd;
    snprintf(path, sizeof(path), "%s/atb-group-XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    unlink(path);
    return fd;
}

/* Group mode: gives cmd an unlinked file per stream to write into. wfd gets
 * the child's ends (its own fds, for the caller to close; they share the
 * file offset with ours, which is why atb only ever reads with pread and
 * sendfile at explicit offsets). Returns 0, a negative errno when out of
 * fds (the caller queues the command again), or 1 when no file can be made
 * here and the pipes must do. */
static int group_files(struct atb__cmd *cmd, int wfd[2])
{
    for (int i = 0; i < 2; i++) {
        struct atb__stream *s = &cmd->out[i];
        int err;

        s->which = i;
        s->direct = 1;
        s->spill_fd = spill_open();
        err = s->spill_fd;
        if (s->spill_fd >= 0) {
            wfd[i] = fcntl(s->spill_fd, F_DUPFD_CLOEXEC, 0);
            err = wfd[i] < 0 ? -errno : 0;
        }
        if (err < 0) {
            atb__close(&wfd[0]);
            atb__close(&wfd[1]);
            atb__close(&cmd->out[0].spill_fd);
            atb__close(&cmd->out[1].spill_fd);
            cmd->out[0].direct = cmd->out[1].direct = 0;
            return err == -EMFILE || err == -ENFILE ? err : 1;
        }
    }
    return 0;
}

/* Makes the pipes for cmd's stdout and stderr; wfd gets the write ends for
 * the child (the caller closes them once it is started). In group mode they
 * are files rather than pipes (see group_files), in inherit mode wfd is
 * {-1, -1} and nothing is made. */
int atb__output_pipes(struct atb_run *run, struct atb__cmd *cmd, int wfd[2])
{
    wfd[0] = wfd[1] = -1;
    if (run->out.mode == ATB_OUTPUT_INHERIT && cmd->ready_when == NULL)
        return 0;
    if (run->out.mode == ATB_OUTPUT_GROUP && cmd->ready_when == NULL) {
        int rc = group_files(cmd, wfd);
        if (rc <= 0)
            return rc;
    }
    for (int i = 0; i < 2; i++) {
        int p[2];

        if (pipe2(p, O_CLOEXEC) < 0) {
            int err = -errno;
            atb__close(&wfd[0]);
            atb__close(&cmd->out[0].fd);
            return err;
        }
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        cmd->out[i].fd = p[0];
        cmd->out[i].which = i;
        cmd->out[i].spill_fd = -1;
        wfd[i] = p[1];
    }
    return 0;
}

/* Writes one line (without its newline) with cmd's prefix, and tells the
 * dependency tracking about it (ready_when). */
static void emit(struct atb_run *run, struct atb__cmd *cmd, int which, const char *line,
                 size_t len)
{
    struct atb__output *out = &run->out;
    struct atb__dest *d = &out->dest[which];
    char buf[512];
    const char *prefix = cmd->prefix;
    size_t plen = cmd->prefix_len;

    atb__deps_line(cmd, line, len);
    if (d->broken)
        return;
    if (out->per_line && out->mode == ATB_OUTPUT_PREFIX) {
        plen = render_prefix(prefix_format(run), cmd, 0, buf, sizeof(buf));
        if (plen >= sizeof(buf))
            plen = sizeof(buf) - 1;
        while (plen < out->pad && plen < sizeof(buf) - 1)
            buf[plen++] = ' ';
        prefix = buf;
    }
    if (plen > 0) {
        if (d->color)
            obuf_add(out, which, palette[cmd->index % ATB__ARRAY_SIZE(palette)], 5);
        obuf_add(out, which, prefix, plen);
        if (d->color)
            obuf_add(out, which, color_reset, sizeof(color_reset) - 1);
    }
    obuf_add(out, which, line, len);
    obuf_add(out, which, "\n", 1);
}

/* A whole line (or a 64 KiB piece of one): written in prefix mode, only
 * looked at for ready_when in group mode. */
static void line_out(struct atb_run *run, struct atb__cmd *cmd, struct atb__stream *s,
                     const char *line, size_t len)
{
    if (run->out.mode == ATB_OUTPUT_GROUP)
        atb__deps_line(cmd, line, len);
    else
        emit(run, cmd, s->which, line, len);
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
            if (part_add(run, cmd, s, p, n) < 0) /* no memory: write it as is */
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

static void capture(struct atb_run *run, struct atb__cmd *cmd, struct atb__stream *s,
                    const char *p, size_t n)
{
    size_t held = cmd->out[0].mem_len + cmd->out[1].mem_len;

    if (s->spill_fd < 0 && held + n <= ATB__GROUP_MEM) {
        if (s->mem_len + n > s->mem_cap) {
            size_t cap = s->mem_cap ? s->mem_cap : 4096;
            char *nm;
            while (cap < s->mem_len + n)
                cap *= 2;
            nm = realloc(s->mem, cap);
            if (nm != NULL) {
                s->mem = nm;
                s->mem_cap = cap;
            }
        }
        if (s->mem_len + n <= s->mem_cap) {
            memcpy(s->mem + s->mem_len, p, n);
            s->mem_len += n;
            return;
        }
    }
    if (s->spill_fd < 0)
        s->spill_fd = spill_open();
    if (s->spill_fd < 0 || atb__write_all(s->spill_fd, p, n) < 0) {
        /* Nowhere to hold it: better out of its group than lost. */
        dest_write(&run->out.dest[s->which], p, n);
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
        obuf_flush(&run->out, s->which);
    free(s->part);
    s->part = NULL;
    s->part_len = s->part_cap = 0;
}

/* Keeps the tail of a command's output: the newest keep_output bytes. */
static void keep(struct atb_run *run, struct atb__cmd *cmd, const char *p, size_t n)
{
    size_t max = run->opts.keep_output;

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

/* Reads what a stream has (a few reads at most, for fairness). Returns 1
 * at end of file or on an error, which end the stream alike. */
/* Group mode, once a stream spills: the pipe is spliced into the file by
 * the kernel, with no copy through atb. Returns 1 at end of file, 0 when
 * the pipe is empty for now, -1 when splice cannot be used here. */
static int spill_splice(struct atb__stream *s)
{
    for (int i = 0; i < READS_PER_WAKEUP; i++) {
        ssize_t n = splice(s->fd, NULL, s->spill_fd, NULL, 1 << 20,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0)
            continue;
        if (n == 0)
            return 1;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN ? 0 : -1;
    }
    return 0;
}

static int stream_read(struct atb_run *run, struct atb__cmd *cmd, struct atb__stream *s)
{
    struct atb__output *out = &run->out;

    if (out->mode == ATB_OUTPUT_GROUP && s->spill_fd >= 0 && !s->no_splice &&
        run->opts.keep_output == 0 && (cmd->ready_re == NULL || cmd->ready)) {
        int rc = spill_splice(s);
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
        keep(run, cmd, out->scratch, (size_t)n);
        if (out->mode != ATB_OUTPUT_GROUP) {
            frame(run, cmd, s, out->scratch, (size_t)n);
        } else {
            capture(run, cmd, s, out->scratch, (size_t)n);
            if (cmd->ready_re && !cmd->ready)
                frame(run, cmd, s, out->scratch, (size_t)n);
        }
        if (n < ATB__LINE_MAX)
            break;
    }
    if (out->mode != ATB_OUTPUT_GROUP)
        obuf_flush(out, s->which);
    return 0;
}

static void stream_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct atb__stream *s = w->data;
    struct atb__cmd *cmd = (struct atb__cmd *)((char *)(s - s->which) -
                                               offsetof(struct atb__cmd, out));
    (void)loop;
    (void)revents;
    if (stream_read(cmd->run, cmd, s)) {
        stream_close(cmd->run, cmd, s);
        atb__cmd_maybe_finish(cmd);
    }
}

void atb__output_start(struct atb_run *run, struct atb__cmd *cmd)
{
    if (cmd->out[0].fd < 0 && cmd->out[1].fd < 0)
        return;
    if (run->out.mode == ATB_OUTPUT_PREFIX && !run->out.per_line) {
        const char *fmt = prefix_format(run);
        size_t len = render_prefix(fmt, cmd, 0, NULL, 0);
        size_t size = (len > run->out.pad ? len : run->out.pad) + 1;

        cmd->prefix = malloc(size);
        if (cmd->prefix != NULL) {
            render_prefix(fmt, cmd, 0, cmd->prefix, size);
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

/* Stops waiting for a command's output: what is there now is read, then the
 * pipes are closed (a process outside the group may still hold them). */
void atb__output_stop(struct atb_run *run, struct atb__cmd *cmd)
{
    for (int i = 0; i < 2; i++) {
        struct atb__stream *s = &cmd->out[i];
        if (s->fd >= 0) {
            stream_read(run, cmd, s);
            stream_close(run, cmd, s);
        }
    }
}

/* How much of a stream's output is held in its file. */
static off_t spill_size(const struct atb__stream *s)
{
    struct stat st;

    if (s->spill_fd < 0 || fstat(s->spill_fd, &st) < 0)
        return 0;
    return st.st_size;
}

static void group_write(struct atb_run *run, struct atb__stream *s)
{
    struct atb__dest *d = &run->out.dest[s->which];
    char last = s->mem_len ? s->mem[s->mem_len - 1] : '\n';
    off_t size = spill_size(s), off = 0;
    ssize_t n;

    dest_write(d, s->mem, s->mem_len);
    /* The file's last byte tells whether a newline must be added. */
    if (size > 0 && pread(s->spill_fd, &last, 1, size - 1) != 1)
        last = '\n';
    /* sendfile copies in the kernel; where the destination does not take
     * it, or is full and non-blocking, read and write. */
    while (!d->broken && off < size &&
           (n = sendfile(d->fd, s->spill_fd, &off, (size_t)(size - off))) > 0)
        ;
    while (!d->broken && off < size &&
           (n = pread(s->spill_fd, run->out.scratch, ATB__LINE_MAX, off)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        dest_write(d, run->out.scratch, (size_t)n);
        off += n;
    }
    if (last != '\n')
        dest_write(d, "\n", 1);
}

/* Keeps the tail of output a command wrote straight into its file. */
static void keep_file(struct atb_run *run, struct atb__cmd *cmd, const struct atb__stream *s)
{
    off_t size = spill_size(s);
    off_t off = size > (off_t)run->opts.keep_output ? size - (off_t)run->opts.keep_output : 0;

    while (off < size) {
        ssize_t n = pread(s->spill_fd, run->out.scratch, ATB__LINE_MAX, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        keep(run, cmd, run->out.scratch, (size_t)n);
        off += n;
    }
}

/* Group mode: the command has finished; write its block. */
void atb__output_finish(struct atb_run *run, struct atb__cmd *cmd)
{
    struct atb__stream *o = &cmd->out[0], *e = &cmd->out[1];
    struct atb__dest *d = &run->out.dest[0];
    char head[512];
    int len;

    if (run->out.mode != ATB_OUTPUT_GROUP)
        return;
    if (o->direct && run->opts.keep_output > 0) {
        /* Never read through a pipe: the files hold it all. */
        keep_file(run, cmd, o);
        keep_file(run, cmd, e);
    }
    if (o->mem_len == 0 && e->mem_len == 0 && spill_size(o) == 0 && spill_size(e) == 0) {
        atb__output_free_cmd(cmd);
        return;
    }
    if (run->out.github)
        len = snprintf(head, sizeof(head), "::group::%s\n", cmd->name);
    else if (d->color)
        len = snprintf(head, sizeof(head), "%s==> %s <==%s\n",
                       palette[cmd->index % ATB__ARRAY_SIZE(palette)], cmd->name,
                       color_reset);
    else
        len = snprintf(head, sizeof(head), "==> %s <==\n", cmd->name);
    progress_clear(&run->out);
    dest_write(d, head, len < (int)sizeof(head) ? (size_t)len : sizeof(head) - 1);
    group_write(run, o);
    group_write(run, e);
    if (run->out.github)
        dest_write(d, "::endgroup::\n", 13);
    atb__output_free_cmd(cmd);
}

void atb__output_free_cmd(struct atb__cmd *cmd)
{
    for (int i = 0; i < 2; i++) {
        struct atb__stream *s = &cmd->out[i];
        atb__close(&s->fd);
        atb__close(&s->spill_fd);
        s->direct = 0;
        free(s->part);
        free(s->mem);
        s->part = s->mem = NULL;
        s->part_len = s->part_cap = s->mem_len = s->mem_cap = 0;
    }
    free(cmd->prefix);
    cmd->prefix = NULL;
}

static void progress_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb_run *run = w->data;
    size_t running = 0, done = 0, failed = 0, queued = 0, waiting = 0;
    double elapsed = atb__now() - run->t0;
    char line[256], eta[48] = "";
    int len;

    (void)loop;
    (void)revents;
    for (size_t i = 0; i < run->n; i++) {
        const struct atb__cmd *cmd = run->cmds[i];
        switch (cmd->res.state) {
        case ATB_STATE_QUEUED:
            if (cmd->waiting)
                waiting++;
            else
                queued++;
            break;
        case ATB_STATE_RUNNING:
            running++;
            break;
        case ATB_STATE_FAILED:
        case ATB_STATE_TIMED_OUT:
            failed++;
            done++;
            break;
        default:
            done++;
            break;
        }
    }
    /* The remaining work at the rate seen so far. */
    if (done > 0 && done < run->n && !run->stopping)
        snprintf(eta, sizeof(eta), ", ETA %.0fs", elapsed / (double)done * (double)(run->n - done));
    len = snprintf(line, sizeof(line),
                   "\r\033[Katb: %zu running, %zu done, %zu failed, %zu queued, %zu waiting, "
                   "%.1fs%s",
                   running, done, failed, queued, waiting, elapsed, eta);
    if (len > 0 && !run->out.dest[1].broken) {
        dest_write(&run->out.dest[1], line, (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1);
        run->out.progress_shown = 1;
    }
}

void atb__output_progress_start(struct atb_run *run)
{
    if (!run->out.progress)
        return;
    ev_timer_init(&run->out.progress_w, progress_cb, 0.1, 0.1);
    run->out.progress_w.data = run;
    ev_timer_start(run->loop, &run->out.progress_w);
}

void atb__output_progress_end(struct atb_run *run)
{
    if (!run->out.progress)
        return;
    ev_timer_stop(run->loop, &run->out.progress_w);
    progress_clear(&run->out);
}
