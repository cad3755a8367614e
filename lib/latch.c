/* latch: latch files and the folders they live in: names, safe folders, set,
 * unset, state, and the private folder each run gets. Waiting on latches is
 * in latch-wait.c. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How deep atb_latch_scope_close() goes into folders children left. */
#define SCOPE_DEPTH_MAX 32
/* A run folder unlocked and unchanged this long is a killed run's. */
#define SCOPE_STALE_S 60
/* Stale run folders removed at most by one sweep, to bound its time. */
#define SCOPE_SWEEP_MAX 64
/* Tries at a fresh temporary name before giving up on setting a latch. */
#define TMP_TRIES 8

static void fail_on(struct atb_latch_error *err, const char *path, const char *why)
{
    size_t len;

    if (err == NULL)
        return;
    /* Cut to fit: the path is only for a message. */
    len = strnlen(path, sizeof(err->path) - 1);
    memcpy(err->path, path, len);
    err->path[len] = '\0';
    err->why = why;
}

static void clear_error(struct atb_latch_error *err)
{
    if (err != NULL) {
        err->path[0] = '\0';
        err->why = NULL;
    }
}

int atb_latch_name_check(const char *name)
{
    size_t len = 0;

    /* A leading '.' is kept for atb's temporary files and would also allow
     * "." and "..". */
    if (name == NULL || name[0] == '\0' || name[0] == '.')
        return ATB_ELATCHNAME;
    for (const char *p = name; *p != '\0'; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok || ++len > ATB_LATCH_NAME_MAX)
            return ATB_ELATCHNAME;
    }
    return 0;
}

int atb_latch_dir_check(const char *dir, struct atb_latch_error *err)
{
    struct stat st;
    const char *why = NULL;

    /* lstat, not stat: a symlink is refused rather than followed, since on
     * a shared /tmp it is how someone else would redirect our latches. */
    if (lstat(dir, &st) < 0) {
        int rc = -errno;
        fail_on(err, dir, NULL);
        return rc;
    }
    if (S_ISLNK(st.st_mode))
        why = "is a symlink";
    else if (!S_ISDIR(st.st_mode))
        why = "is not a folder";
    else if (st.st_uid != geteuid())
        why = "is not owned by you";
    else if (st.st_mode & (S_IWGRP | S_IWOTH))
        why = "is writable by group or others";
    if (why != NULL) {
        fail_on(err, dir, why);
        return ATB_ELATCHDIR;
    }
    return 0;
}

/* Returns a malloc'd copy of path without trailing slashes ("/" stays), or
 * NULL. The slashes matter: lstat("link/") follows the link. */
static char *dup_trimmed(const char *path)
{
    char *copy = strdup(path);
    size_t len;

    if (copy == NULL)
        return NULL;
    len = strlen(copy);
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    return copy;
}

/* Creates each missing folder of path with mode 0700, parents first. Every
 * component that starts at or after offset check_from is checked as soon as
 * it exists, before anything is made inside it: those are the folders atb
 * answers for, while those before (/tmp, $XDG_RUNTIME_DIR) belong to the
 * system or the user. */
static int make_dirs(char *path, size_t check_from, struct atb_latch_error *err)
{
    size_t len = strlen(path);

    for (size_t i = 1; i <= len; i++) {
        char saved = path[i];
        int rc = 0;

        if ((saved != '/' && saved != '\0') || path[i - 1] == '/')
            continue;
        path[i] = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST) {
            struct stat st;
            /* EACCES or EROFS on a folder that is already there is no
             * reason to stop. */
            rc = -errno;
            if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
                rc = 0;
            else
                fail_on(err, path, NULL);
        }
        if (rc == 0 && i > check_from)
            rc = atb_latch_dir_check(path, err);
        path[i] = saved;
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The folder atb keeps its own latch folders in: $XDG_RUNTIME_DIR/atb, or
 * /tmp/atb-EUID when XDG_RUNTIME_DIR is unset, empty or relative (the XDG
 * spec says to ignore a relative one). *check_from is where the part atb
 * answers for begins. */
static int base_dir(char **out, size_t *check_from)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    char *top;
    int n;

    if (xdg != NULL && xdg[0] == '/') {
        top = dup_trimmed(xdg);
        if (top == NULL)
            return -ENOMEM;
        /* "/" trimmed stays "/": do not make "//atb". */
        n = asprintf(out, "%s/atb", strcmp(top, "/") == 0 ? "" : top);
        *check_from = strlen(*out) - strlen("atb");
        free(top);
    } else {
        n = asprintf(out, "/tmp/atb-%lu", (unsigned long)geteuid());
        *check_from = strlen("/tmp/");
    }
    if (n < 0) {
        *out = NULL;
        return -ENOMEM;
    }
    return 0;
}

int atb_latch_dir(char **dir, struct atb_latch_error *err)
{
    const char *env = getenv("ATB_LATCH_DIR");
    char *path = NULL;
    size_t check_from;
    int rc;

    *dir = NULL;
    clear_error(err);
    if (env != NULL && env[0] != '\0') {
        const char *slash;

        path = dup_trimmed(env);
        if (path == NULL)
            return -ENOMEM;
        /* The user chose this folder: check only it, and make its missing
         * parents plainly. */
        slash = strrchr(path, '/');
        check_from = slash != NULL && slash[1] != '\0' ? (size_t)(slash + 1 - path) : 0;
    } else {
        char *base;

        rc = base_dir(&base, &check_from);
        if (rc < 0)
            return rc;
        rc = asprintf(&path, "%s/latch", base);
        free(base);
        if (rc < 0)
            return -ENOMEM;
    }
    if (strlen(path) >= ATB_LATCH_PATH_MAX) {
        fail_on(err, path, NULL);
        rc = -ENAMETOOLONG;
        goto out;
    }
    rc = make_dirs(path, check_from, err);
    if (rc == 0)
        rc = atb_latch_dir_check(path, err);
out:
    if (rc < 0)
        free(path);
    else
        *dir = path;
    return rc;
}

int atb_latch_path(const char *name, char **path, struct atb_latch_error *err)
{
    const char *slash = strchr(name, '/');
    char *dir;
    int rc;

    *path = NULL;
    clear_error(err);
    if (slash != NULL) {
        const char *last = strrchr(name, '/') + 1;

        if (last[0] == '\0' || strcmp(last, ".") == 0 || strcmp(last, "..") == 0)
            return ATB_ELATCHNAME;
        if (strlen(name) >= ATB_LATCH_PATH_MAX)
            return -ENAMETOOLONG;
        *path = strdup(name);
        return *path != NULL ? 0 : -ENOMEM;
    }
    rc = atb_latch_name_check(name);
    if (rc < 0)
        return rc;
    rc = atb_latch_dir(&dir, err);
    if (rc < 0)
        return rc;
    rc = asprintf(path, "%s/%s", dir, name);
    free(dir);
    if (rc < 0) {
        *path = NULL;
        return -ENOMEM;
    }
    return 0;
}

/* Formats the line a set latch holds: who set it and when (UTC). */
static int latch_line(char *buf, size_t size)
{
    struct timespec now;
    struct tm tm;
    char stamp[32];
    int n;

    clock_gettime(CLOCK_REALTIME, &now);
    if (gmtime_r(&now.tv_sec, &tm) == NULL ||
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return -EOVERFLOW;
    n = snprintf(buf, size, "{\"pid\":%ld,\"time\":\"%s.%03ldZ\"}\n", (long)getpid(), stamp,
                 now.tv_nsec / 1000000);
    return n > 0 && (size_t)n < size ? n : -EOVERFLOW;
}

/* Fills name with a fresh random temporary name in path's folder. The name
 * starts with '.', which no bare latch name can, so it never looks like a
 * latch to anyone listing the folder. */
static int tmp_name(char *name, size_t size, const char *path)
{
    const char *slash = strrchr(path, '/');
    int dir_len = slash != NULL ? (int)(slash + 1 - path) : 0;
    unsigned long long r;
    int n;

    /* Without getrandom's entropy, the time and pid still vary between
     * tries; O_EXCL is what makes a clash harmless either way. */
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        r = ((unsigned long long)now.tv_nsec << 20) ^ (unsigned long long)getpid();
    }
    n = snprintf(name, size, "%.*s.atb-latch-%016llx", dir_len, path, r);
    return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

int atb_latch_set(const char *path)
{
    char tmp[ATB_LATCH_PATH_MAX + 32], line[128];
    int fd = -1, rc, len, tries;

    len = latch_line(line, sizeof(line));
    if (len < 0)
        return len;
    /* O_EXCL and O_NOFOLLOW: whatever is planted at the temporary name is
     * never opened, let alone followed. */
    for (tries = 0; tries < TMP_TRIES; tries++) {
        rc = tmp_name(tmp, sizeof(tmp), path);
        if (rc < 0)
            return rc;
        fd = atb__open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
        if (fd != -EEXIST)
            break;
    }
    if (fd < 0)
        return fd;
    rc = atb__write_all(fd, line, (size_t)len);
    /* A failing close can be a lost write on a network file system. */
    if (close(fd) < 0 && errno != EINTR && rc == 0)
        rc = -errno;
    /* rename() replaces whatever is at path, a symlink included, without
     * following it, and readers see either the old state or the new file. */
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int atb_latch_unset(const char *path)
{
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int atb_latch_state(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? ATB_LATCH_UNSET : -errno;
    if (S_ISREG(st.st_mode))
        return ATB_LATCH_SET;
    if (S_ISLNK(st.st_mode))
        return -ELOOP;
    return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
}

int atb_latch_scope_open(char **dir, int *lock, struct atb_latch_error *err)
{
    char *base = NULL, *path = NULL;
    size_t check_from;
    int rc, fd = -1;

    *dir = NULL;
    *lock = -1;
    clear_error(err);
    rc = base_dir(&base, &check_from);
    if (rc < 0)
        return rc;
    rc = make_dirs(base, check_from, err);
    if (rc < 0)
        goto out;
    if (asprintf(&path, "%s/run-XXXXXX", base) < 0) {
        path = NULL;
        rc = -ENOMEM;
        goto out;
    }
    /* mkdtemp() makes the folder with mode 0700 and fails rather than
     * reuse anything already at the name. */
    if (mkdtemp(path) == NULL) {
        rc = -errno;
        fail_on(err, base, NULL);
        goto out;
    }
    /* The lock says the folder is in use, for atb_latch_scope_sweep() in
     * other runs; it goes when this process does, however it ends. */
    fd = atb__open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
    if (fd >= 0) {
        while ((rc = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
            ;
        rc = rc < 0 ? -errno : 0;
    } else {
        rc = fd;
    }
    if (rc < 0) {
        atb__close(&fd);
        rmdir(path);
        goto out;
    }
    *dir = path;
    *lock = fd;
    path = NULL;
out:
    free(path);
    free(base);
    return rc;
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

/* Looks at one entry of the scope folders' parent: a run folder that is no
 * longer locked and has not changed for SCOPE_STALE_S belonged to a run
 * that was killed before it could remove it. Returns 1 when removed. */
static int sweep_one(int base, const char *name, time_t now)
{
    struct stat st;
    int fd, gone = 0;

    if (strncmp(name, "run-", 4) != 0)
        return 0;
    fd = open_dir_at(base, name);
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
    if (empty_dir(fd, st.st_dev, 0) == 0 && unlinkat(base, name, AT_REMOVEDIR) == 0)
        gone = 1;
    return gone;
}

int atb_latch_scope_sweep(void)
{
    char *path = NULL;
    size_t check_from;
    struct dirent *e;
    DIR *d;
    int fd, rc, removed = 0;
    time_t now = time(NULL);

    rc = base_dir(&path, &check_from);
    if (rc < 0)
        return rc;
    fd = atb__open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
    free(path);
    if (fd < 0)
        return fd == -ENOENT ? 0 : fd;
    d = fdopendir(fd);
    if (d == NULL) {
        rc = -errno;
        atb__close(&fd);
        return rc;
    }
    while (removed < SCOPE_SWEEP_MAX && (e = readdir(d)) != NULL)
        removed += sweep_one(dirfd(d), e->d_name, now);
    closedir(d);
    return removed;
}
