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
 *     ignores SIGPIPE, and a parent shell may have ignored SIGINT);
 *   - stdin from /dev/null, stdout and stderr as given;
 *   - every other fd is close-on-exec already (see sys.c).
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

int atb__spawner_init(struct atb__spawner *sp)
{
    sigset_t set;
    int rc;

    sp->devnull = -1;
    sp->raised_nofile = 0;
    rc = posix_spawnattr_init(&sp->attr);
    if (rc != 0)
        return -rc;
    sigemptyset(&set);
    posix_spawnattr_setsigmask(&sp->attr, &set);
    sigfillset(&set);
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
     * raise our soft limit to the hard one, and lower it again around each
     * spawn so children get the limit atb itself was given. */
    if (getrlimit(RLIMIT_NOFILE, &sp->nofile) == 0 &&
        sp->nofile.rlim_cur < sp->nofile.rlim_max) {
        struct rlimit raised = {sp->nofile.rlim_max, sp->nofile.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            sp->raised_nofile = 1;
    }
    return 0;
}

void atb__spawner_close(struct atb__spawner *sp)
{
    if (sp->raised_nofile) {
        setrlimit(RLIMIT_NOFILE, &sp->nofile);
        sp->raised_nofile = 0;
    }
    if (sp->devnull >= 0) {
        atb__close(&sp->devnull);
        posix_spawnattr_destroy(&sp->attr);
    }
}

/* Starts argv with stdin from /dev/null and stdout, stderr on out_fd and
 * err_fd (-1: inherit atb's own). On success stores the pid; the child is
 * the leader of a new process group whose id is that pid. On failure
 * returns a negative errno: -ENOENT when the program was not found, other
 * exec errors as they came, and no process is left behind. */
int atb__spawn(struct atb__spawner *sp, char *const argv[], char *const envp[],
               int out_fd, int err_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    int rc;

    rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0)
        return -rc;
    /* dup2 rather than open: with a raised fd limit lowered again for the
     * child, an open() could land above the child's limit. */
    rc = posix_spawn_file_actions_adddup2(&fa, sp->devnull, 0);
    if (rc == 0 && out_fd >= 0)
        rc = posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    if (rc == 0 && err_fd >= 0)
        rc = posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -rc;
    }
    if (sp->raised_nofile)
        setrlimit(RLIMIT_NOFILE, &sp->nofile);
    rc = posix_spawnp(pid, argv[0], &fa, &sp->attr, argv, envp);
    if (sp->raised_nofile) {
        struct rlimit raised = {sp->nofile.rlim_max, sp->nofile.rlim_max};
        setrlimit(RLIMIT_NOFILE, &raised);
    }
    posix_spawn_file_actions_destroy(&fa);
    return -rc;
}
