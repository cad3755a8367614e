/* group-out: group mode, where everything a command writes is held back and
 * written in one block once the command has finished.
 *
 * The command writes straight into two unlinked temporary files (stdout,
 * stderr), so holding costs no copy through atb; only a command whose lines
 * the run must see (ready_when) goes through pipes, held in memory up to
 * ATB__GROUP_MEM and then spliced into such a file by the kernel.
 */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define READS_PER_WAKEUP 4 /* then let other streams have a turn */

static const char *spill_dir(void)
{
    const char *dir = getenv("TMPDIR");

    return dir == NULL || *dir == '\0' ? "/tmp" : dir;
}

/* Opens an unlinked temporary file in $TMPDIR (or /tmp). */
static int spill_open(void)
{
    const char *dir = spill_dir();
    char path[4096];
    int fd;

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

/* A command writing into its file itself would find a full folder only
 * by losing what it writes (its error messages first of all), so it does
 * that only where there is room; below that its output comes through atb,
 * which sees every write fail. Unknown room is room: the open tells. */
static int spill_room(void)
{
    struct statvfs st;

    if (statvfs(spill_dir(), &st) < 0)
        return 1;
    return (unsigned long long)st.f_bavail * st.f_frsize >= ATB__GROUP_ROOM;
}

/* From now on cmd's output is held in memory, up to the larger bound. */
static void held(struct atb_run *run, struct atb__cmd *cmd, int err)
{
    struct atb_event ev = {.kind = ATB_EVENT_HELD, .id = cmd->res.id, .error = err};

    if (cmd->held_told)
        return;
    cmd->held_told = 1;
    atb__emit_event(run, &ev);
}

/* Gives cmd an unlinked file per stream to write into. wfd gets the child's
 * ends (its own fds, for the caller to close; they share the file offset
 * with ours, which is why atb only ever reads with pread and sendfile at
 * explicit offsets). Returns 0, a negative errno when out of fds (the
 * command is queued again), or 1 when no file can be made here and pipes
 * must do. */
int atb__group_files(struct atb_run *run, struct atb__cmd *cmd, int wfd[2])
{
    if (!spill_room()) {
        held(run, cmd, -ENOSPC);
        return 1;
    }
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
            if (err == -EMFILE || err == -ENFILE)
                return err;
            held(run, cmd, err);
            return 1;
        }
    }
    return 0;
}

/* Holds p in memory when the bounds allow: the command's (1 MiB before its
 * first spill, ATB_GROUP_HOLD_MAX once files are out) and the run's. */
static int hold(struct atb_run *run, struct atb__cmd *cmd, struct atb__stream *s, const char *p,
                size_t n)
{
    size_t mine = cmd->out[0].mem_len + cmd->out[1].mem_len;
    size_t bound = cmd->held_told ? ATB_GROUP_HOLD_MAX : ATB__GROUP_MEM;

    if (mine + n > bound || run->out.held + n > ATB__GROUP_HOLD_RUN)
        return 0;
    if (s->mem_len + n > s->mem_cap) {
        size_t cap = s->mem_cap ? s->mem_cap : 4096;
        char *nm;

        while (cap < s->mem_len + n)
            cap *= 2;
        nm = realloc(s->mem, cap);
        if (nm == NULL)
            return 0;
        s->mem = nm;
        s->mem_cap = cap;
    }
    memcpy(s->mem + s->mem_len, p, n);
    s->mem_len += n;
    run->out.held += n;
    return 1;
}

static void hold_free(struct atb_run *run, struct atb__stream *s)
{
    run->out.held -= s->mem_len;
    free(s->mem);
    s->mem = NULL;
    s->mem_len = s->mem_cap = 0;
}

/* Writes p to the spill file; *done says how much went in before an
 * error (a full disk takes part of a write). */
static int spill_write(int fd, const char *p, size_t n, size_t *done)
{
    *done = 0;
    while (*done < n) {
        ssize_t w = write(fd, p + *done, n - *done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -ENOSPC;
        *done += (size_t)w;
    }
    return 0;
}

static void header_open(struct atb_run *run, struct atb__cmd *cmd);
static char block_write(struct atb_run *run, struct atb__stream *s, int ending);

/* Nowhere left to hold s: its header and what it holds go out now, in
 * order, and the rest as it comes; out of its group, never lost. */
static void loosen(struct atb_run *run, struct atb__cmd *cmd, struct atb__stream *s)
{
    if (!cmd->loose_told) {
        cmd->loose_told = 1;
        atb__emit(run, ATB_EVENT_LOOSE, cmd->res.id);
    }
    header_open(run, cmd);
    s->loose_last = block_write(run, s, 0);
    hold_free(run, s);
    atb__close(&s->spill_fd);
    s->loose = 1;
}

void atb__group_capture(struct atb_run *run, struct atb__cmd *cmd, struct atb__stream *s,
                        const char *p, size_t n)
{
    size_t done = 0;

    if (!s->loose && s->spill_fd < 0 && hold(run, cmd, s, p, n))
        return;
    if (!s->loose && s->spill_fd < 0 && !cmd->held_told) {
        s->spill_fd = spill_open();
        if (s->spill_fd < 0) {
            held(run, cmd, s->spill_fd);
            if (hold(run, cmd, s, p, n))
                return;
        }
    }
    if (!s->loose && s->spill_fd >= 0) {
        int err = spill_write(s->spill_fd, p, n, &done);

        if (err == 0)
            return;
        held(run, cmd, err);
    }
    if (!s->loose)
        loosen(run, cmd, s);
    if (n > done) {
        atb__dest_write(run, &run->out.dest[s->which], p + done, n - done);
        s->loose_last = p[n - 1];
    }
}

/* Once a stream spills, the pipe is spliced into the file by the kernel,
 * with no copy through atb. Returns 1 at end of file, 0 when the pipe is
 * empty for now, -1 when splice cannot be used here. */
int atb__group_splice(struct atb__stream *s)
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

/* How much of a stream's output is held in its file. */
static off_t spill_size(const struct atb__stream *s)
{
    struct stat st;

    if (s->spill_fd < 0 || fstat(s->spill_fd, &st) < 0)
        return 0;
    return st.st_size;
}

/* Writes what s holds, memory then file; ending: the block ends here, and
 * must end with a newline. Returns the last byte of the stream so far. */
static char block_write(struct atb_run *run, struct atb__stream *s, int ending)
{
    struct atb__dest *d = &run->out.dest[s->which];
    char last = s->mem_len ? s->mem[s->mem_len - 1] : s->loose ? s->loose_last : '\n';
    off_t size = spill_size(s), off = 0;
    ssize_t n;

    atb__dest_write(run, d, s->mem, s->mem_len);
    /* The file's last byte tells whether a newline must be added. */
    if (size > 0 && pread(s->spill_fd, &last, 1, size - 1) != 1)
        last = '\n';
    /* sendfile copies in the kernel; where the destination does not take
     * it, or is full and non-blocking, read and write. */
    if (size > 0 && !d->broken)
        atb__emit(run, ATB_EVENT_WRITING, -1);
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
        atb__dest_write(run, d, run->out.scratch, (size_t)n);
        off += n;
    }
    if (ending && last != '\n')
        atb__dest_write(run, d, "\n", 1);
    return last;
}

/* Keeps the tail of output a command wrote straight into its file. */
static void keep_file(struct atb_run *run, struct atb__cmd *cmd, const struct atb__stream *s)
{
    off_t size = spill_size(s);
    off_t off = size > (off_t)run->set.keep_output ? size - (off_t)run->set.keep_output : 0;

    while (off < size) {
        ssize_t n = pread(s->spill_fd, run->out.scratch, ATB__LINE_MAX, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        atb__keep(run, cmd, run->out.scratch, (size_t)n);
        off += n;
    }
}

/* Writes header (before or after a block) with its placeholders replaced:
 * {name} (and the attempt after it, see atb__cmd_attempt()), {index}, and
 * the Unix times {started} and {ended} (the block is written once it has
 * ended: now), which CI sections that time themselves need. */
static void header_write(struct atb_run *run, struct atb__cmd *cmd, const char *fmt)
{
    struct atb__dest *d = &run->out.dest[0];
    char head[512], attempt[ATB__ATTEMPT_MAX];
    double wall = atb__wall_now();
    double started = wall - (atb__now() - run->t0 - cmd->res.started_s);
    struct atb__buf b;

    atb__cmd_attempt(cmd, 0, attempt, sizeof(attempt));
    atb__buf_init(&b, head, sizeof(head));
    for (const char *p = fmt; *p; p++) {
        if (strncmp(p, "{name}", 6) == 0) {
            atb__buf_add(&b, "%s%s", cmd->name, attempt);
            p += 5;
        } else if (strncmp(p, "{index}", 7) == 0) {
            atb__buf_add(&b, "%d", cmd->res.id + 1);
            p += 6;
        } else if (strncmp(p, "{started}", 9) == 0) {
            atb__buf_add(&b, "%lld", (long long)(cmd->res.started_s >= 0 ? started : wall));
            p += 8;
        } else if (strncmp(p, "{ended}", 7) == 0) {
            atb__buf_add(&b, "%lld", (long long)wall);
            p += 6;
        } else {
            atb__buf_add(&b, "%c", *p);
        }
    }
    atb__dest_write(run, d, head, b.len);
}

/* The line that opens cmd's block. */
static void header_open(struct atb_run *run, struct atb__cmd *cmd)
{
    struct atb__dest *d = &run->out.dest[0];
    char head[512], attempt[ATB__ATTEMPT_MAX];
    int len;

    if (run->set.group_before) {
        header_write(run, cmd, run->set.group_before);
        return;
    }
    atb__cmd_attempt(cmd, 0, attempt, sizeof(attempt));
    if (d->color)
        len = snprintf(head, sizeof(head), "%s==> %s%s <==%s\n", atb__palette[cmd->res.id % 6],
                       cmd->name, attempt, ATB__COLOR_RESET);
    else
        len = snprintf(head, sizeof(head), "==> %s%s <==\n", cmd->name, attempt);
    atb__dest_write(run, d, head, len < (int)sizeof(head) ? (size_t)len : sizeof(head) - 1);
}

/* The command has finished: its block, between its header lines. A block
 * opened early (loosen) is only closed. */
void atb__group_finish(struct atb_run *run, struct atb__cmd *cmd)
{
    struct atb__stream *o = &cmd->out[0], *e = &cmd->out[1];
    int opened = o->loose || e->loose;

    if (o->direct && run->set.keep_output > 0) {
        /* Never read through a pipe: the files hold it all. */
        keep_file(run, cmd, o);
        keep_file(run, cmd, e);
    }
    if (o->mem_len == 0 && e->mem_len == 0 && spill_size(o) == 0 && spill_size(e) == 0 &&
        !opened) {
        if (run->set.group_empty == NULL || (cmd->res.state != ATB_STATE_FAILED &&
                                             cmd->res.state != ATB_STATE_TIMED_OUT))
            return;
        header_open(run, cmd);
        atb__dest_write(run, &run->out.dest[0], run->set.group_empty,
                        strlen(run->set.group_empty));
        if (run->set.group_after)
            header_write(run, cmd, run->set.group_after);
        return;
    }
    if (!opened)
        header_open(run, cmd);
    block_write(run, o, 1);
    block_write(run, e, 1);
    hold_free(run, o);
    hold_free(run, e);
    if (run->set.group_after)
        header_write(run, cmd, run->set.group_after);
}
