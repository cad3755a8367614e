/* latch-wake: the wake FIFOs of waiters that have no inotify.
 *
 * Each such waiter makes a FIFO of its own beside the latch,
 * ".NAME.wake.ID" (ID: 16 hex digits, random per waiter; a leading '.',
 * which no latch name has), holds it open for reading and writing, and
 * removes it when it stops waiting. atb_latch_set() and atb_latch_unset()
 * list the folder and write a byte to each one: that wakes its one reader,
 * which reads it and checks the latch.
 *
 * Why one FIFO per waiter, not one per latch that all waiters read: a
 * waiter watches its FIFO with epoll, whose entry stays on the pipe's wait
 * queue until the fd is closed, and every reader that closes a pipe with no
 * writer left wakes every entry still queued. A thousand waiters woken at
 * once then closed in turn, each walking what the others left, under the
 * pipe's lock: N * N / 2 wake-ups, 0.1 s at a thousand waiters and a second
 * at three thousand on two cores. With a FIFO each, the setter's walk is
 * the only one, and it is N opens. And since each waiter holds its FIFO
 * for writing too, a setter's open is never the first writer's, which
 * would wake the reader once more for nothing, and no close of either end
 * is a hang-up: the byte is the only wake-up.
 *
 * A waiter killed with SIGKILL leaves its FIFO behind: a setter that finds
 * one with no reader, older than STALE_S (a live waiter is without its
 * reader only for the moment between making the FIFO and opening it),
 * removes it.
 */
#include "internal.h"
#include "latch-int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STALE_S 10.0
#define ID_DIGITS 16

static double stale_s = STALE_S;

void atb__latch_wake_stale_after(double seconds)
{
    stale_s = seconds;
}

int atb__latch_wake_path(const char *path, uint64_t id, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    int dir_len = slash != NULL ? (int)(slash + 1 - path) : 0;
    int n = snprintf(buf, size, "%.*s.%s.wake.%016llx", dir_len, path, path + dir_len,
                     (unsigned long long)id);

    return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

/* Whether entry is ".NAME.wake." and ID_DIGITS lowercase hex digits. */
static int is_wake_of(const char *entry, const char *name)
{
    size_t len = strlen(name);

    if (entry[0] != '.' || strncmp(entry + 1, name, len) != 0 ||
        strncmp(entry + 1 + len, ".wake.", 6) != 0)
        return 0;
    entry += 1 + len + 6;
    for (int i = 0; i < ID_DIGITS; i++)
        if (!((entry[i] >= '0' && entry[i] <= '9') || (entry[i] >= 'a' && entry[i] <= 'f')))
            return 0;
    return entry[ID_DIGITS] == '\0';
}

/* A FIFO nobody reads: removed once it is older than stale_s. */
static void drop_if_stale(int dfd, const char *entry)
{
    struct stat st;
    struct timespec now;

    if (fstatat(dfd, entry, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISFIFO(st.st_mode) ||
        clock_gettime(CLOCK_REALTIME, &now) < 0)
        return;
    if ((double)(now.tv_sec - st.st_ctim.tv_sec) +
            (double)(now.tv_nsec - st.st_ctim.tv_nsec) / 1e9 >= stale_s)
        (void)unlinkat(dfd, entry, 0);
}

/* Whether the entry is a FIFO, asked of the file system where it does not
 * say (DT_UNKNOWN: older XFS, some FUSE and NFS mounts), so that nothing
 * else at a wake FIFO's name is ever opened for writing. */
static int fifo_entry(int dfd, const struct dirent *e)
{
    struct stat st;

    if (e->d_type != DT_UNKNOWN)
        return e->d_type == DT_FIFO;
    return fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISFIFO(st.st_mode);
}

void atb__latch_wake(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[ATB_LATCH_PATH_MAX];
    struct dirent *e;
    DIR *d;
    int dfd;

    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path) + 1, path) >= (int)sizeof(dir))
        return;
    dfd = atb__open(dir, O_RDONLY | O_DIRECTORY, 0);
    if (dfd < 0)
        return;
    d = fdopendir(dfd);
    if (d == NULL) {
        atb__close(&dfd);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        int fd;

        if (!is_wake_of(e->d_name, slash != NULL ? slash + 1 : path) || !fifo_entry(dfd, e))
            continue;
        /* Non-blocking: ENXIO when it has no reader, never a wait. A full
         * FIFO (EAGAIN) has a wake-up its reader has not read yet. */
        fd = openat(dfd, e->d_name, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            (void)!write(fd, "w", 1);
            close(fd);
        } else if (errno == ENXIO) {
            drop_if_stale(dfd, e->d_name);
        }
    }
    closedir(d);
}

int atb__latch_fifo_open(const char *path, uint64_t id, struct stat *st)
{
    char fifo[ATB_LATCH_PATH_MAX + 32];
    int fd, rc = atb__latch_wake_path(path, id, fifo, sizeof(fifo));

    if (rc < 0)
        return rc;
    if (mkfifo(fifo, 0600) < 0 && errno != EEXIST)
        return -errno;
    /* Read and write (Linux opens a FIFO so without waiting): see the top. */
    fd = atb__open(fifo, O_RDWR | O_NONBLOCK | O_NOFOLLOW, 0);
    if (fd < 0)
        return fd;
    /* Only a FIFO is read: whatever else is at the name is left alone. */
    if (fstat(fd, st) < 0 || !S_ISFIFO(st->st_mode)) {
        atb__close(&fd);
        return -EEXIST;
    }
    return fd;
}

void atb__latch_fifo_remove(const char *path, uint64_t id, dev_t dev, ino_t ino)
{
    char fifo[ATB_LATCH_PATH_MAX + 32];
    struct stat now;

    /* Only the FIFO it made: not whatever has taken its name since. */
    if (atb__latch_wake_path(path, id, fifo, sizeof(fifo)) == 0 &&
        lstat(fifo, &now) == 0 && now.st_dev == dev && now.st_ino == ino)
        (void)unlink(fifo);
}
