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
#include <unistd.h>

#define READS_PER_WAKEUP 4 /* then let other streams have a turn */

/* Opens an unlinked temporary file in $TMPDIR (or /tmp). */
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

/* Gives cmd an unlinked file per stream to write into. wfd gets the child's
 * ends (its own fds, for the caller to close; they share the file offset
 * with ours, which is why atb only ever reads with pread and sendfile at
 * explicit offsets). Returns 0, a negative errno when out of fds (the
 * command is queued again), or 1 when no file can be made here and pipes
 * must do. */
int atb__group_files(struct atb__cmd *cmd, int wfd[2])
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

void atb__group_capture(struct atb_run *run, struct atb__cmd *cmd, struct atb__stream *s,
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
        atb__dest_write(run, &run->out.dest[s->which], p, n);
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

static void block_write(struct atb_run *run, struct atb__stream *s)
{
    struct atb__dest *d = &run->out.dest[s->which];
    char last = s->mem_len ? s->mem[s->mem_len - 1] : '\n';
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
    if (last != '\n')
        atb__dest_write(run, d, "\n", 1);
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

/* Writes header (before or after a block) with {name} replaced. */
static void header_write(struct atb_run *run, struct atb__cmd *cmd, const char *fmt)
{
    struct atb__dest *d = &run->out.dest[0];
    char head[512];
    struct atb__buf b;

    atb__buf_init(&b, head, sizeof(head));
    for (const char *p = fmt; *p; p++) {
        if (strncmp(p, "{name}", 6) == 0) {
            atb__buf_add(&b, "%s", cmd->name);
            p += 5;
        } else {
            atb__buf_add(&b, "%c", *p);
        }
    }
    atb__dest_write(run, d, head, b.len);
}

/* The command has finished: its block, between its header lines. */
void atb__group_finish(struct atb_run *run, struct atb__cmd *cmd)
{
    struct atb__stream *o = &cmd->out[0], *e = &cmd->out[1];
    struct atb__dest *d = &run->out.dest[0];
    char head[512];
    int len;

    if (o->direct && run->set.keep_output > 0) {
        /* Never read through a pipe: the files hold it all. */
        keep_file(run, cmd, o);
        keep_file(run, cmd, e);
    }
    if (o->mem_len == 0 && e->mem_len == 0 && spill_size(o) == 0 && spill_size(e) == 0)
        return;
    if (run->set.group_before) {
        header_write(run, cmd, run->set.group_before);
    } else {
        if (d->color)
            len = snprintf(head, sizeof(head), "%s==> %s <==%s\n", atb__palette[cmd->res.id % 6],
                           cmd->name, ATB__COLOR_RESET);
        else
            len = snprintf(head, sizeof(head), "==> %s <==\n", cmd->name);
        atb__dest_write(run, d, head, len < (int)sizeof(head) ? (size_t)len : sizeof(head) - 1);
    }
    block_write(run, o);
    block_write(run, e);
    if (run->set.group_after)
        header_write(run, cmd, run->set.group_after);
}
