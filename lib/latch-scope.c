/* latch-scope: the private latch folder each run gets, its removal, and the
 * sweep that removes those of runs that were killed.
 *
 * Most runs never use their folder, and on ext4 making and removing one costs
 * 0.3-0.5 ms (freeing the inode), 5-8% of a short run. So a scope in the base
 * folder is only named at the start: it is made by the run when a command
 * sets a latch (atb_latch_scope_make()), or by `atb latch` in a command,
 * which makes ATB_LATCH_DIR when it is missing. What marks it in use is not
 * a lock on the folder, which may not exist yet, but a one-byte OFD lock in
 * BASE/scopes.lock at the offset the folder's name spells in hex: taken
 * before the name is handed out, held until the run's process is gone, and
 * exclusive, so two live runs never get one name. The base is ours and
 * closed to others (atb__latch_make_dirs() checked), so no one else can make
 * the folder first.
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

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
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
/* The file in the base folder whose byte ranges mark named scopes in use. */
#define SCOPE_LOCKS "scopes.lock"
/* A named scope's hex digits: 62 random bits, so that offset + 1 fits off_t. */
#define SLOT_DIGITS 16
#define SLOT_MASK 0x3fffffffffffffffULL
/* Slots tried before giving up: only a broken random source needs a second. */
#define SLOT_TRIES 16

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

/* A fresh folder for the scope directly in tmp, when the base is unsafe:
 * TMP/atb-EUID-run-XXXXXX, made at once, since only mkdtemp(3) claims a name
 * there safely (it makes the folder with mode 0700 and fails rather than
 * reuse anything already at the name), and locked with flock(2). Returns 0,
 * or ATB_ELATCHDIR with err still naming the base passed over. */
static int open_fallback(const char *tmp, char **dir, int *lock)
{
    char *path;
    int rc;

    if (asprintf(&path, "%s/" FALLBACK_FMT "XXXXXX", tmp, (unsigned long)geteuid()) < 0)
        return -ENOMEM;
    if (mkdtemp(path) == NULL) {
        free(path);
        return ATB_ELATCHDIR;
    }
    /* The lock says the folder is in use, for atb_latch_scope_sweep() in
     * other runs; it goes when this process does, however it ends. */
    rc = lock_dir(path, lock);
    if (rc < 0) {
        rmdir(path);
        free(path);
        return rc;
    }
    *dir = path;
    return 0;
}

/* 62 random bits. A weak source only costs tries: the lock on the slot
 * is what keeps two runs apart. */
static uint64_t random_slot(void)
{
    return atb__random64() & SLOT_MASK;
}

/* Takes (type F_WRLCK) or drops (F_UNLCK) the byte at slot in the locks
 * file fd, without waiting. Returns 0, -EAGAIN when another holds it, or a
 * negative errno. */
static int slot_lock(int fd, uint64_t slot, short type)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = (off_t)slot, .l_len = 1};

    if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
        return 0;
    return errno == EACCES ? -EAGAIN : -errno;
}

/* Names a scope in base, BASE/run-SLOT, without making it: locks a free
 * slot in BASE/scopes.lock (*lock is that fd) whose name nothing is at (a
 * killed run's folder may still be). Returns 0 or a negative errno. */
static int name_scope(const char *base, char **dir, int *lock)
{
    char *path;
    struct stat st;
    int fd, rc = -EAGAIN;

    if (asprintf(&path, "%s/" SCOPE_LOCKS, base) < 0)
        return -ENOMEM;
    fd = atb__open(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
    free(path);
    if (fd < 0)
        return fd;
    for (int i = 0; i < SLOT_TRIES && rc == -EAGAIN; i++) {
        uint64_t slot = random_slot();

        rc = slot_lock(fd, slot, F_WRLCK);
        if (rc < 0)
            continue;
        if (asprintf(&path, "%s/" SCOPE_PREFIX "%0*llx", base, SLOT_DIGITS,
                     (unsigned long long)slot) < 0) {
            rc = -ENOMEM;
            break;
        }
        if (lstat(path, &st) < 0 && errno == ENOENT) {
            *dir = path;
            *lock = fd;
            return 0;
        }
        free(path);
        (void)slot_lock(fd, slot, F_UNLCK);
        rc = -EAGAIN;
    }
    atb__close(&fd);
    return rc;
}

int atb__latch_scope_open_in(const char *tmp, char **dir, int *lock,
                             struct atb_latch_error *err)
{
    char *base = NULL;
    size_t check_from;
    int rc, in_tmp;

    *dir = NULL;
    *lock = -1;
    atb__latch_clear(err);
    in_tmp = atb__latch_base(tmp, &base, &check_from);
    if (in_tmp < 0)
        return in_tmp;
    rc = atb__latch_make_dirs(base, check_from, err);
    if (rc == 0) {
        rc = name_scope(base, dir, lock);
        if (rc < 0)
            atb__latch_fail(err, base, NULL);
    } else if (rc == ATB_ELATCHDIR && in_tmp && tmp_usable(tmp)) {
        /* A fallback leaves err naming the folder passed over. */
        rc = open_fallback(tmp, dir, lock);
        if (rc < 0 && rc != ATB_ELATCHDIR)
            atb__latch_clear(err);
    }
    free(base);
    return rc;
}

int atb_latch_scope_make(const char *dir)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    /* Already there: made by a command through `atb latch`, so it must
     * still be a folder of ours closed to others. */
    return atb_latch_dir_check(dir, NULL);
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

        /* A scope no one needed was never made. */
        if (fd == -ENOENT)
            return 0;
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

/* 1 when name is a named scope's (run-SLOT) and its slot is locked in the
 * locks file open at locks (-ENOENT when there is none), or when that
 * cannot be told (another negative errno): its run may be alive. */
static int slot_held(int locks, const char *name)
{
    const char *hex = name + strlen(SCOPE_PREFIX);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1};
    unsigned long long slot;

    if (strlen(hex) != SLOT_DIGITS)
        return 0;
    for (const char *c = hex; *c; c++)
        if (!isxdigit((unsigned char)*c))
            return 0;
    slot = strtoull(hex, NULL, 16);
    if (slot > SLOT_MASK || locks == -ENOENT)
        return 0;
    if (locks < 0)
        return 1;
    fl.l_start = (off_t)slot;
    /* Our own run's slot shows as held too: this is another open file. */
    if (fcntl(locks, F_OFD_GETLK, &fl) < 0)
        return 1;
    return fl.l_type != F_UNLCK;
}

/* Looks at one run folder, by name in the folder open at `at`: one that is
 * ours, no longer locked (neither the folder, for a fallback, nor its slot
 * in the locks file open at locks, for a named scope) and has not changed
 * for SCOPE_STALE_S belonged to a run that was killed before it could
 * remove it. The name is opened with O_NOFOLLOW, so a symlink planted
 * under a run folder's name is never followed. Returns 1 when removed. */
static int sweep_one(int at, const char *name, int locks, time_t now)
{
    struct stat st;
    int fd, gone = 0;

    fd = open_dir_at(at, name);
    if (fd < 0)
        return 0;
    /* The age keeps a folder whose run has made it but not yet locked it
     * out of reach; the lock, one whose run is alive, however old. */
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || now - st.st_mtime < SCOPE_STALE_S ||
        slot_held(locks, name) || flock(fd, LOCK_EX | LOCK_NB) < 0) {
        atb__close(&fd);
        return 0;
    }
    /* empty_dir takes fd over, and the lock with it. */
    if (empty_dir(fd, st.st_dev, 0) == 0 && unlinkat(at, name, AT_REMOVEDIR) == 0)
        gone = 1;
    return gone;
}

/* The locks file of the base folder open at `at`, for reading, or a
 * negative errno: -ENOENT when no named scope was ever made there. */
static int open_locks(int at)
{
    int fd;

    do
        fd = openat(at, SCOPE_LOCKS, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
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
    int fd, rc, locks = -ENOENT;

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
    if (is_base)
        locks = open_locks(dirfd(d));
    while (*budget > 0 && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, len) == 0)
            *budget -= sweep_one(dirfd(d), e->d_name, locks, now);
    if (locks >= 0)
        atb__close(&locks);
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
