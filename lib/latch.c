/* latch: latch files and the folders they live in: names, safe folders, set,
 * unset and state. The private folder each run gets is in latch-scope.c,
 * waiting on latches in latch-wait.c. */
#include "internal.h"
#include "latch-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Tries at a fresh temporary name before giving up on setting a latch. */
#define TMP_TRIES 8

void atb__latch_fail(struct atb_latch_error *err, const char *path, const char *why)
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

void atb__latch_clear(struct atb_latch_error *err)
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

/* Fills err for a folder someone else owns, saying who: the text goes in
 * err->path's unused tail, after the path's terminating NUL, since the
 * struct's layout is fixed for soname 0 (see atb.h) and err->why points to
 * it. Without room there, err->why is the plain "is not owned by you". */
static void fail_owner(struct atb_latch_error *err, const char *dir, uid_t owner)
{
    size_t used, room;
    char *text;
    int n;

    atb__latch_fail(err, dir, "is not owned by you");
    if (err == NULL)
        return;
    used = strlen(err->path) + 1;
    if (used >= sizeof(err->path))
        return;
    text = err->path + used;
    room = sizeof(err->path) - used;
    n = snprintf(text, room, "is owned by uid %lu, not by you (uid %lu)", (unsigned long)owner,
                 (unsigned long)geteuid());
    if (n > 0 && (size_t)n < room)
        err->why = text;
}

int atb_latch_dir_check(const char *dir, struct atb_latch_error *err)
{
    struct stat st;
    const char *why = NULL;

    /* lstat, not stat: a symlink is refused rather than followed, since on
     * a shared /tmp it is how someone else would redirect our latches. */
    if (lstat(dir, &st) < 0) {
        int rc = -errno;
        atb__latch_fail(err, dir, NULL);
        return rc;
    }
    if (S_ISLNK(st.st_mode))
        why = "is a symlink";
    else if (!S_ISDIR(st.st_mode))
        why = "is not a folder";
    else if (st.st_uid != geteuid()) {
        fail_owner(err, dir, st.st_uid);
        return ATB_ELATCHDIR;
    } else if (st.st_mode & (S_IWGRP | S_IWOTH))
        why = "is writable by group or others";
    if (why != NULL) {
        atb__latch_fail(err, dir, why);
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

/* Every component of path that starts at or after offset check_from is
 * checked as soon as it exists, before anything is made inside it: those are
 * the folders atb answers for, while those before (/tmp, $XDG_RUNTIME_DIR)
 * belong to the system or the user. */
int atb__latch_make_dirs(char *path, size_t check_from, struct atb_latch_error *err)
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
                atb__latch_fail(err, path, NULL);
        }
        if (rc == 0 && i > check_from)
            rc = atb_latch_dir_check(path, err);
        path[i] = saved;
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* $XDG_RUNTIME_DIR counts only when absolute: the XDG spec says to ignore a
 * relative one. Unset, empty or relative, the base is TMP/atb-EUID. */
int atb__latch_base(const char *tmp, char **out, size_t *check_from)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    char *top;
    int n, in_tmp = 0;

    if (xdg != NULL && xdg[0] == '/') {
        top = dup_trimmed(xdg);
        if (top == NULL)
            return -ENOMEM;
        /* "/" trimmed stays "/": do not make "//atb". */
        n = asprintf(out, "%s/atb", strcmp(top, "/") == 0 ? "" : top);
        free(top);
    } else {
        n = asprintf(out, "%s/atb-%lu", tmp, (unsigned long)geteuid());
        in_tmp = 1;
    }
    if (n < 0) {
        *out = NULL;
        return -ENOMEM;
    }
    /* Both end in one component atb makes: "atb" or "atb-EUID". */
    *check_from = (size_t)(strrchr(*out, '/') + 1 - *out);
    return in_tmp;
}

int atb_latch_dir(char **dir, struct atb_latch_error *err)
{
    const char *env = getenv("ATB_LATCH_DIR");
    char *path = NULL;
    size_t check_from;
    int rc;

    *dir = NULL;
    atb__latch_clear(err);
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

        rc = atb__latch_base(ATB__LATCH_TMP, &base, &check_from);
        if (rc < 0)
            return rc;
        rc = asprintf(&path, "%s/latch", base);
        free(base);
        if (rc < 0)
            return -ENOMEM;
    }
    if (strlen(path) >= ATB_LATCH_PATH_MAX) {
        atb__latch_fail(err, path, NULL);
        rc = -ENAMETOOLONG;
        goto out;
    }
    rc = atb__latch_make_dirs(path, check_from, err);
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
    atb__latch_clear(err);
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
    /* O_EXCL is what makes a clash harmless. */
    int n = snprintf(name, size, "%.*s.atb-latch-%016llx", dir_len, path,
                     (unsigned long long)atb__random64());

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
    else
        atb__latch_wake(path);
    return rc;
}

int atb_latch_unset(const char *path)
{
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    atb__latch_wake(path);
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
