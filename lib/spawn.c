/* spawn: start one child process in a clean state.
 *
 * posix_spawnp() is used rather than a hand-made fork/exec: glibc implements
 * it with clone(CLONE_VM | CLONE_VFORK), which is both the fastest way to
 * start a process and the one that reports exec failures synchronously (the
 * parent gets ENOENT or EACCES back, and glibc reaps the failed child by its
 * pid, so no reaper of ours ever sees it). Everything the child must not
 * inherit is handled by the attributes built once per run:
 *   - its own process group, so a cancel reaches its descendants;
 *   - an empty signal mask, since a blocked mask survives exec;
 *   - every signal reset to SIG_DFL, since SIG_IGN survives exec (atb
 *     ignores SIGPIPE, and a parent shell may have ignored SIGINT), the C
 *     library's own 32 and 33 included (see every_signal());
 *   - stdin from /dev/null, stdout and stderr as given;
 *   - no other fd: atb's own are close-on-exec (see sys.c), and what the
 *     process was given is closed too (closefrom).
 * In atb's own process (atb_run_exec()) spawn-fast.c does the same,
 * without posix_spawnp()'s copy of the fd table on Linux 5.9 and later,
 * and gives the child exactly fds 0, 1 and 2. ATB_NO_FAST_SPAWN (set, not
 * empty) keeps posix_spawnp() there too, to compare the two.
 */
#include "internal.h"

extern char **environ;

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Adds to set the signals sigfillset() leaves out: the C library keeps two
 * (32 and 33, for threads) to itself and refuses them to sigaddset(). Its
 * posix_spawn() sets those to SIG_IGN in the child unless they are in the
 * set of signals to reset, and SIG_IGN survives exec: every command would
 * start with them ignored. The set is the kernel's bit mask, one bit per
 * signal from 1, which is how glibc lays out sigset_t on Linux. */
static void every_signal(sigset_t *set)
{
    unsigned long *bits = (unsigned long *)(void *)set;
    size_t per = sizeof(unsigned long) * 8;

    for (int sig = 32; sig <= 33; sig++)
        bits[(size_t)(sig - 1) / per] |= 1UL << ((size_t)(sig - 1) % per);
}

int atb__spawner_init(struct atb__spawner *sp, int raise_nofile)
{
    sigset_t set;
    int rc;

    sp->devnull = -1;
    sp->raised_nofile = 0;
    sp->use_fast = 0;
    memset(&sp->paths, 0, sizeof(sp->paths));
    rc = posix_spawnattr_init(&sp->attr);
    if (rc != 0)
        return -rc;
    sigemptyset(&set);
    posix_spawnattr_setsigmask(&sp->attr, &set);
    sigfillset(&set);
    every_signal(&set);
    posix_spawnattr_setsigdefault(&sp->attr, &set);
    posix_spawnattr_setpgroup(&sp->attr, 0);
    posix_spawnattr_setflags(&sp->attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                            POSIX_SPAWN_SETSIGDEF);
    sp->devnull = atb__open("/dev/null", O_RDONLY, 0);
    if (sp->devnull < 0) {
        rc = sp->devnull;
        posix_spawnattr_destroy(&sp->attr);
        return rc;
    }
    /* Many concurrent children need many fds (a pidfd each, and pipes):
     * when the process is ours to change (atb_run_exec()), raise our soft
     * limit to the hard one, and lower it again around each spawn so
     * children get the limit the process was given. */
    if (raise_nofile && getrlimit(RLIMIT_NOFILE, &sp->nofile) == 0 &&
        sp->nofile.rlim_cur < sp->nofile.rlim_max) {
        struct rlimit raised = {sp->nofile.rlim_max, sp->nofile.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            sp->raised_nofile = 1;
    }
    if (raise_nofile) {
        const char *no = getenv("ATB_NO_FAST_SPAWN");

        sp->use_fast = (no == NULL || no[0] == '\0') && atb__fast_init(&sp->fast, sp->devnull) == 0;
    }
    return 0;
}

void atb__spawner_close(struct atb__spawner *sp)
{
    if (sp->use_fast)
        atb__fast_close(&sp->fast);
    sp->use_fast = 0;
    atb__pathcache_free(&sp->paths);
    if (sp->raised_nofile) {
        setrlimit(RLIMIT_NOFILE, &sp->nofile);
        sp->raised_nofile = 0;
    }
    if (sp->devnull >= 0) {
        atb__close(&sp->devnull);
        posix_spawnattr_destroy(&sp->attr);
    }
}

/* The value of PATH in envp, or NULL when envp has none. */
static const char *path_of(char *const *envp)
{
    for (; *envp; envp++)
        if (strncmp(*envp, "PATH=", 5) == 0)
            return *envp + 5;
    return NULL;
}

/* Finds name in path as execvp() would, for a command whose environment
 * sets its own PATH (posix_spawnp() searches atb's). Returns 0 with the
 * full path in buf, -EACCES when only non-executable files were found, or
 * -ENOENT. */
int atb__path_search(const char *name, const char *path, char *buf, size_t size)
{
    int err = -ENOENT;

    if (path == NULL)
        path = ATB__DEFAULT_PATH;
    while (*path) {
        const char *end = strchr(path, ':');
        size_t dirlen = end ? (size_t)(end - path) : strlen(path);
        struct stat st;

        if ((size_t)snprintf(buf, size, "%.*s%s%s", (int)dirlen, path, dirlen ? "/" : "",
                             name) < size &&
            stat(buf, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(buf, X_OK) == 0)
                return 0;
            err = -EACCES;
        }
        path += dirlen + (end != NULL);
    }
    return err;
}

/* The program to run for argv[0]: as given when it has a '/', else found
 * in the command's PATH (and remembered) where atb, not posix_spawnp(),
 * searches: on the fast path (execve() takes a path), and for a command
 * whose PATH is not atb's. Sets *path to the PATH searched (NULL when
 * none was). Returns 0 or a negative errno. */
static int resolve(struct atb__spawner *sp, const char *name, const struct atb__spawn_ctx *ctx,
                   const char **prog, const char **path, char *buf, size_t size)
{
    int rc;

    *prog = name;
    *path = NULL;
    if (strchr(name, '/') != NULL)
        return 0;
    if (sp->use_fast) {
        *path = ctx->envp != environ ? path_of(ctx->envp) : getenv("PATH");
    } else if (ctx->envp != environ) {
        const char *mine = getenv("PATH"), *theirs = path_of(ctx->envp);
        if (theirs != NULL && mine != NULL && strcmp(mine, theirs) == 0)
            return 0; /* posix_spawnp() searches the same PATH */
        *path = theirs;
    } else {
        return 0;
    }
    rc = atb__path_lookup(&sp->paths, name, *path, buf, size);
    if (rc == 0)
        *prog = buf;
    return rc;
}

static int start_posix(struct atb__spawner *sp, const char *prog, char *const argv[],
                       const struct atb__spawn_ctx *ctx, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    int rc;

    rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0)
        return -rc;
    /* First, while the fd is still the one we gave: glibc runs it in the
     * child after setpgid and with every signal blocked, so the SIGTTOU a
     * background group gets for it does not stop the child. */
    if (ctx->tty_fd >= 0)
        rc = posix_spawn_file_actions_addtcsetpgrp_np(&fa, ctx->tty_fd);
    /* dup2 rather than open: with a raised fd limit lowered again for the
     * child, an open() could land above the child's limit. */
    if (rc == 0 && ctx->in_fd != 0)
        rc = posix_spawn_file_actions_adddup2(&fa, ctx->in_fd < 0 ? sp->devnull : ctx->in_fd,
                                              0);
    if (rc == 0 && ctx->out_fd >= 0 && ctx->out_fd != 1)
        rc = posix_spawn_file_actions_adddup2(&fa, ctx->out_fd, 1);
    if (rc == 0 && ctx->err_fd >= 0 && ctx->err_fd != 2)
        rc = posix_spawn_file_actions_adddup2(&fa, ctx->err_fd, 2);
    if (rc == 0 && ctx->cwd != NULL)
        rc = posix_spawn_file_actions_addchdir_np(&fa, ctx->cwd);
    /* Exactly 0, 1 and 2, as on the fast path: what the process was given
     * without close-on-exec is not the command's. */
    if (rc == 0)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -rc;
    }
    if (sp->raised_nofile)
        setrlimit(RLIMIT_NOFILE, &sp->nofile);
    rc = posix_spawnp(pid, prog, &fa, &sp->attr, argv, ctx->envp);
    if (sp->raised_nofile) {
        struct rlimit raised = {sp->nofile.rlim_max, sp->nofile.rlim_max};
        setrlimit(RLIMIT_NOFILE, &raised);
    }
    posix_spawn_file_actions_destroy(&fa);
    return -rc;
}

static int start(struct atb__spawner *sp, const char *prog, char *const argv[],
                 const struct atb__spawn_ctx *ctx, pid_t *pid)
{
    if (sp->use_fast) {
        int rc = atb__fast_spawn(&sp->fast, prog, argv, ctx,
                                 sp->raised_nofile ? &sp->nofile : NULL, pid);
        if (rc != -ENOSYS && rc != -EINVAL)
            return rc;
        /* A kernel before 5.9 (no close_range() with CLOSE_RANGE_UNSHARE):
         * posix_spawnp() from now on. */
        atb__fast_close(&sp->fast);
        sp->use_fast = 0;
    }
    return start_posix(sp, prog, argv, ctx, pid);
}

/* Starts argv as ctx says: environment, working directory, stdin (-1:
 * /dev/null), stdout and stderr (an fd already in place is left alone). On success
 * stores the pid; the child leads a new process group whose id is that
 * pid. On failure returns a negative errno (-ENOENT: program not found;
 * ATB_ECWD: no such working directory) and no process is left behind. */
int atb__spawn(struct atb__spawner *sp, char *const argv[],
               const struct atb__spawn_ctx *ctx, pid_t *pid)
{
    const char *prog, *path;
    char found[4096], again[4096];
    int rc;

    if (ctx->cwd != NULL) {
        struct stat st;
        /* Checked here: a failed chdir in the child would come back as
         * ENOENT, which reads as "command not found". */
        if (stat(ctx->cwd, &st) < 0 || !S_ISDIR(st.st_mode))
            return ATB_ECWD;
    }
    rc = resolve(sp, argv[0], ctx, &prog, &path, found, sizeof(found));
    if (rc == 0)
        rc = start(sp, prog, argv, ctx, pid);
    if ((rc == -ENOENT || rc == -EACCES) && prog == found &&
        atb__path_forget(&sp->paths, found) > 0) {
        /* What was remembered is gone or no longer runs: searched for
         * again, as if never found; started again only if found elsewhere
         * (a script whose interpreter is missing fails with ENOENT too). */
        int first = rc;

        rc = atb__path_lookup(&sp->paths, argv[0], path, again, sizeof(again));
        if (rc == 0)
            rc = strcmp(again, found) == 0 ? first : start(sp, again, argv, ctx, pid);
    }
    return rc;
}
