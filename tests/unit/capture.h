/* What the output and feed tests share: stand-ins for the caller's output
 * fds that the test reads back (never its own stdout, which is the TAP
 * stream), a gate a command waits at until the test opens it, and the
 * texts the tests compare output with. Everything here asserts through
 * unit.h, so a helper that fails fails the test that called it. */
#ifndef ATB_UNIT_CAPTURE_H
#define ATB_UNIT_CAPTURE_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

/* A file in memory: a destination that never fills, read back once the
 * run has ended. A test owns it and closes it.
 *
 * The run and the commands it starts write to one open file description,
 * sharing its offset, as they would share a stdout redirected to a file.
 * Linux serializes write()s that share an offset only on descriptions made
 * by open() (FMODE_ATOMIC_POS, fs/open.c), not on the one memfd_create()
 * returns: two processes writing at once could both write at the same
 * offset, the later write covering the earlier, and a test would see lines
 * go missing that atb wrote. Opening the memfd again through /proc gives a
 * description of an ordinary file, and the writes their own places. */
static inline int mem_file(void)
{
    char path[64];
    int mfd = memfd_create("atb-unit-out", MFD_CLOEXEC), fd;

    ASSERT(mfd >= 0);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
    fd = open(path, O_RDWR | O_CLOEXEC);
    close(mfd);
    ASSERT(fd >= 0);
    return fd;
}

/* All that fd holds, from offset 0 whatever its own offset is, as a
 * NUL-terminated malloc'd string the caller frees; its length in *len
 * (may be NULL). */
static inline char *file_text(int fd, size_t *len)
{
    struct stat st;
    char *text;
    size_t got = 0;

    ASSERT_EQ(fstat(fd, &st), 0);
    text = malloc((size_t)st.st_size + 1);
    ASSERT(text != NULL);
    while (got < (size_t)st.st_size) {
        ssize_t n = pread(fd, text + got, (size_t)st.st_size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        ASSERT(n > 0);
        got += (size_t)n;
    }
    text[got] = '\0';
    if (len != NULL)
        *len = got;
    return text;
}

/* A pipe whose read end a thread drains to end of file: a destination
 * that must be read while the run writes, or it would fill and block the
 * run's writes for good. */
struct drain {
    int rfd, wfd;       /* wfd is the run's destination */
    pthread_t th;
    char *buf;
    size_t len, cap;
};

static inline void *drain_main(void *arg)
{
    struct drain *d = arg;

    for (;;) {
        ssize_t n;

        if (d->cap - d->len < 65536) {
            d->cap = d->cap ? d->cap * 2 : 1 << 20;
            d->buf = realloc(d->buf, d->cap + 1);
            if (d->buf == NULL)
                abort();
        }
        n = read(d->rfd, d->buf + d->len, d->cap - d->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        d->len += (size_t)n;
    }
    return NULL;
}

static inline void drain_start(struct drain *d)
{
    int p[2];

    memset(d, 0, sizeof(*d));
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    d->rfd = p[0];
    d->wfd = p[1];
    ASSERT_EQ(pthread_create(&d->th, NULL, drain_main, d), 0);
}

/* Once the run has ended: closes the write end (the commands' copies are
 * gone with them), so the thread sees end of file; returns what it read,
 * NUL-terminated, for the caller to free. */
static inline char *drain_end(struct drain *d, size_t *len)
{
    close(d->wfd);
    ASSERT_EQ(pthread_join(d->th, NULL), 0);
    close(d->rfd);
    if (d->buf == NULL)
        d->buf = calloc(1, 1);
    ASSERT(d->buf != NULL);
    d->buf[d->len] = '\0';
    if (len != NULL)
        *len = d->len;
    return d->buf;
}

/* A fifo in a private folder that a command waits at ("read x <PATH")
 * until the test writes a line into it. The test holds it open for
 * reading and writing, so the command's open never blocks and what is
 * written waits there even before the command has opened it. */
struct gate {
    char dir[32];
    char path[64];
    int fd;
};

static inline void gate_open(struct gate *g)
{
    snprintf(g->dir, sizeof(g->dir), "/tmp/atb-unit-XXXXXX");
    ASSERT(mkdtemp(g->dir) != NULL);
    snprintf(g->path, sizeof(g->path), "%s/gate", g->dir);
    ASSERT_EQ(mkfifo(g->path, 0600), 0);
    g->fd = open(g->path, O_RDWR | O_CLOEXEC);
    ASSERT(g->fd >= 0);
}

static inline void gate_release(struct gate *g)
{
    ASSERT_EQ(write(g->fd, "\n", 1), 1);
}

static inline void gate_close(struct gate *g)
{
    close(g->fd);
    unlink(g->path);
    rmdir(g->dir);
}

/* The lines of text that begin with start, each with its newline, in
 * their order: one command's lines out of output where commands mix.
 * Malloc'd; the caller frees. */
static inline char *lines_with(const char *text, const char *start)
{
    size_t n = strlen(text), used = 0, slen = strlen(start);
    char *out = malloc(n + 1);

    ASSERT(out != NULL);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);

        if (strncmp(p, start, slen) == 0) {
            memcpy(out + used, p, len);
            used += len;
        }
        p += len;
    }
    out[used] = '\0';
    return out;
}

static inline size_t count_lines(const char *text)
{
    size_t n = 0;

    for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
        n++;
    return n;
}

/* What `seq FROM TO` prints, malloc'd; its length in *len. */
static inline char *seq_text(long from, long to, size_t *len)
{
    size_t cap = (size_t)(to - from + 1) * 12 + 1, used = 0;
    char *text = malloc(cap);

    ASSERT(text != NULL);
    for (long i = from; i <= to; i++)
        used += (size_t)snprintf(text + used, cap - used, "%ld\n", i);
    *len = used;
    return text;
}

#endif
