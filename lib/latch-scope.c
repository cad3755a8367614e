/* latch-scope: the private latch folder each run gets, its removal, and the
 * sweep that removes those of runs that were killed.
 *
 * A scope lives next to the default latch folder, in $XDG_RUNTIME_DIR/atb or
 * /tmp/atb-EUID. On a shared /tmp anyone can make /tmp/atb-EUID before we
 * do, and atb refuses a folder it does not own; if that stopped every run,
 * anyone could stop every run of ours. So when /tmp/atb-EUID is unsafe, the
 * scope falls back to a fresh folder made directly in /tmp.
 *
 * What whoever owns /tmp/atb-EUID can do to that fallback: nothing to its
 * contents. mkdtemp(3) makes it with mkdir(2), which never reuses or follows
 * what is already at a name, so a name planted in advance (a folder, a
 * symlink) only makes mkdtemp try another; the random part comes from
 * getrandom(2) in glibc, and even a name guessed right gains nothing. The
 * folder is ours with mode 0700, so no one else can look inside or add to
 * it, and /tmp's sticky bit keeps anyone else from renaming or removing it
 * (atb checks that bit, or that /tmp is closed to others, before it falls
 * back). What is left is the name, which anyone listing /tmp sees, and
 * filling /tmp, which stops far more than atb. */
#include "internal.h"
#include "latch-int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How deep atb_latch_scope_close() goes into folders children left. */
#define SCOPE_DEPTH_MAX 32
/* A run folder unlocked and unchanged this long is a killed run's. */
#define SCOPE_STALE_S 60
/* Stale run folders removed at most by one sweep, to bound its time. */
#define SCOPE_SWEEP_MAX 64
/* A scope's name in its base folder, and a fallback's in tmp before the
 * random part ("atb-EUID-run-"). */
#define SCOPE_PREFIX "run-"
#define FALLBACK_FMT "atb-%lu-run-"

/* 1 when no one but its owner can add or remove names in the folder st
 * describes: closed to group and others. */
static int closed_to_others(const struct stat *st)
{
    return (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* 1 when tmp can hold a fallback scope: a folder that is sticky (only a
 * name's owner can remove or rename it) or closed to others. */
static int tmp_usable(const char *tmp)
{
    struct stat st;

    return stat(tmp, &st) == 0 && S_ISDIR(st.st_mode) &&
           ((st.st_mode & S_ISVTX) != 0 || closed_to_others(&st));
}

/* Opens the folder at path and takes its lock; *lock is the fd. */
static int lock_dir(const char *path, int *lock)
{
    int fd = atb__open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0), rc;

    if (fd < 0)
        return fd;
    while ((rc = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
        ;
    if (rc < 0) {
        rc = -errno;
        atb__close(&fd);
        return rc;
    }
    *lock = fd;
    return 0;
}

/* Makes the template *path for the scope: BASE/run-XXXXXX, or, when the
 * base in tmp is unsafe (rc, from making it, is ATB_ELATCHDIR),
 * TMP/atb-EUID-run-XXXXXX. Returns 1 for the fallback, 0 for the base,
 * or rc (err already filled) when neither will do. */
static int scope_template(const char *tmp, const char *base, int in_tmp, int rc,
                          char **path)
{
    int n, fallback = 0;

    *path = NULL;
    if (rc == ATB_ELATCHDIR && in_tmp && tmp_usable(tmp)) {
        n = asprintf(path, "%s/" FALLBACK_FMT "XXXXXX", tmp, (unsigned long)geteuid());
        fallback = 1;
    } else if (rc == 0) {
        n = asprintf(path, "%s/" SCOPE_PREFIX "XXXXXX", base);
    } else {
        return rc;
    }
    if (n < 0) {
        *path = NULL;
        return -ENOMEM;
    }
    return fallback;
}

int atb__latch_scope_open_in(const char *tmp, char **dir, int *lock,
                             struct atb_latch_error *err)
{
    char *base = NULL, *path = NULL;
    size_t check_from;
    int rc, in_tmp, fallback;

    *dir = NULL;
    *lock = -1;
    atb__latch_clear(err);
    in_tmp = atb__latch_base(tmp, &base, &check_from);
    if (in_tmp < 0)
        return in_tmp;
    rc = atb__latch_make_dirs(base, check_from, err);
    fallback = scope_template(tmp, base, in_tmp, rc, &path);
    if (fallback < 0) {
        rc = fallback;
        goto out;
    }
    /* mkdtemp() makes the folder with mode 0700 and fails rather than
     * reuse anything already at the name. */
    if (mkdtemp(path) == NULL) {
        /* For a fallback, the unsafe folder is the cause worth naming:
         * err still says which and why. */
        rc = fallback ? ATB_ELATCHDIR : -errno;
        if (!fallback)
            atb__latch_fail(err, base, NULL);
        goto out;
    }
    /* The lock says the folder is in use, for atb_latch_scope_sweep() in
     * other runs; it goes when this process does, however it ends. */
    rc = lock_dir(path, lock);
    if (rc < 0) {
        rmdir(path);
        atb__latch_clear(err);
        goto out;
    }
    /* A fallback leaves err naming the folder passed over. */
    *dir = path;
    path = NULL;
out:
    free(path);
    free(base);
    return rc;
}

int atb_latch_scope_open(char **dir, int *lock, struct atb_latch_error *err)
{
    return atb__latch_scope_open_in(ATB__LATCH_TMP, dir, lock, err);
}

static int open_dir_at(int at, const char *name)
{
    int fd;

    do
        fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

/* Removes everything inside the folder open at fd (taken over and closed).
 * Names are unlinked first, which removes files and symlinks without
 * following them; only what unlink refuses as a folder is entered, through
 * O_NOFOLLOW, and only on the scope's own file system (dev), so a symlink or
 * a mount a child left there never leads outside. Returns 0 or the first
 * error; it carries on past errors to remove what it can. */
static int empty_dir(int fd, dev_t dev, int depth)
{
    DIR *d = fdopendir(fd);
    struct dirent *e;
    int rc = 0;

    if (d == NULL) {
        rc = -errno;
        atb__close(&fd);
        return rc;
    }
    for (;;) {
        struct stat st;
        int sub, sub_rc;

        errno = 0;
        e = readdir(d);
        if (e == NULL) {
            if (errno != 0 && rc == 0)
                rc = -errno;
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0 || errno == ENOENT)
            continue;
        if (errno != EISDIR && errno != EPERM) {
            if (rc == 0)
                rc = -errno;
            continue;
        }
        if (depth >= SCOPE_DEPTH_MAX) {
            if (rc == 0)
                rc = -ELOOP;
            continue;
        }
        sub = open_dir_at(dirfd(d), e->d_name);
        if (sub < 0) {
            if (sub != -ENOENT && rc == 0)
                rc = sub;
            continue;
        }
        if (fstat(sub, &st) < 0 || st.st_dev != dev) {
            if (rc == 0)
                rc = -EXDEV;
            atb__close(&sub);
            continue;
        }
        sub_rc = empty_dir(sub, dev, depth + 1);
        if (unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT && sub_rc == 0)
            sub_rc = -errno;
        if (rc == 0)
            rc = sub_rc;
    }
    closedir(d);
    return rc;
}

int atb_latch_scope_close(const char *dir)
{
    int rc = 0;

    /* A child still running could add a name between the emptying and the
     * rmdir(); a few passes settle that without looping forever. */
    for (int pass = 0; pass < 3; pass++) {
        struct stat st;
        int fd = atb__open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);

        if (fd < 0)
            return fd;
        if (fstat(fd, &st) < 0) {
            rc = -errno;
            atb__close(&fd);
            return rc;
        }
        rc = empty_dir(fd, st.st_dev, 0);
        if (rmdir(dir) == 0)
            return 0;
        if (errno != ENOTEMPTY && errno != EEXIST)
            return rc < 0 ? rc : -errno;
        if (rc == 0)
            rc = -ENOTEMPTY;
    }
    return rc;
}

/* Looks at one run folder, by name in the folder open at `at`: one that is
 * ours, no longer locked and has not changed for SCOPE_STALE_S belonged to a
 * run that was killed before it could remove it. The name is opened with
 * O_NOFOLLOW, so a symlink planted under a run folder's name is never
 * followed. Returns 1 when removed. */
static int sweep_one(int at, const char *name, time_t now)
{
    struct stat st;
    int fd, gone = 0;

    fd = open_dir_at(at, name);
    if (fd < 0)
        return 0;
    /* The age keeps a folder whose run has made it but not yet locked it
     * out of reach; the lock, one whose run is alive, however old. */
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || now - st.st_mtime < SCOPE_STALE_S ||
        flock(fd, LOCK_EX | LOCK_NB) < 0) {
        atb__close(&fd);
        return 0;
    }
    /* empty_dir takes fd over, and the lock with it. */
    if (empty_dir(fd, st.st_dev, 0) == 0 && unlinkat(at, name, AT_REMOVEDIR) == 0)
        gone = 1;
    return gone;
}

/* Sweeps the entries of the folder at path whose names start with prefix,
 * removing at most *budget (lowered by what goes). A base folder (is_base)
 * is looked into only when it is ours and closed to others: one someone
 * else controls could swap names under us. tmp must be sticky or closed to
 * others, for the same reason: there, names we own stay ours. Returns 0, or
 * a negative errno when the folder cannot be read. */
static int sweep_dir(const char *path, const char *prefix, int is_base, int *budget, time_t now)
{
    size_t len = strlen(prefix);
    struct dirent *e;
    struct stat st;
    DIR *d;
    int fd, rc;

    fd = atb__open(path, O_RDONLY | O_DIRECTORY | (is_base ? O_NOFOLLOW : 0), 0);
    if (fd < 0)
        return fd == -ENOENT || fd == -ELOOP || fd == -ENOTDIR ? 0 : fd;
    if (fstat(fd, &st) < 0 || (is_base && st.st_uid != geteuid()) ||
        !(closed_to_others(&st) || (!is_base && (st.st_mode & S_ISVTX) != 0))) {
        atb__close(&fd);
        return 0;
    }
    d = fdopendir(fd);
    if (d == NULL) {
        rc = -errno;
        atb__close(&fd);
        return rc;
    }
    while (*budget > 0 && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, len) == 0)
            *budget -= sweep_one(dirfd(d), e->d_name, now);
    closedir(d);
    return 0;
}

int atb__latch_scope_sweep_in(const char *tmp)
{
    char *base = NULL, prefix[64];
    size_t check_from;
    int in_tmp, rc, rc_tmp = 0, budget = SCOPE_SWEEP_MAX;
    time_t now = time(NULL);

    in_tmp = atb__latch_base(tmp, &base, &check_from);
    if (in_tmp < 0)
        return in_tmp;
    rc = sweep_dir(base, SCOPE_PREFIX, 1, &budget, now);
    free(base);
    /* Fallback folders are looked for whenever the base is in tmp, not only
     * while it is unsafe: a killed run's fallback outlives the cause. */
    if (in_tmp) {
        snprintf(prefix, sizeof(prefix), FALLBACK_FMT, (unsigned long)geteuid());
        rc_tmp = sweep_dir(tmp, prefix, 0, &budget, now);
    }
    if (rc < 0 || rc_tmp < 0)
        return rc < 0 ? rc : rc_tmp;
    return SCOPE_SWEEP_MAX - budget;
}

int atb_latch_scope_sweep(void)
{
    return atb__latch_scope_sweep_in(ATB__LATCH_TMP);
}
