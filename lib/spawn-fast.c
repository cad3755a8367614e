/* spawn-fast: a spawn whose cost does not grow with the fds atb holds.
 *
 * posix_spawn() clones with CLONE_VM | CLONE_VFORK, which shares memory
 * but copies the fd table, and the exec then walks the copy to close what
 * is close-on-exec: two passes over every fd atb holds, which grow with
 * the run (a pidfd and two pipe ends per running command). At 10,000
 * running commands that copy is most of a spawn.
 *
 * Here the child shares the table too (CLONE_FILES) and then takes a
 * private copy of only its lowest fds with close_range(FIRST, ~0,
 * CLOSE_RANGE_UNSHARE) (Linux 5.9), which copies fds 0 to FIRST - 1 and
 * nothing above. What the child needs must therefore be low: three
 * placeholder fds taken at init (the lowest free ones, while the table is
 * small) are pointed at the command's stdin, stdout and stderr just
 * before the clone (dup3), and back at /dev/null once the child has
 * exec'd, so no pipe end stays open here. In the child they become 0, 1
 * and 2, and everything from 3 up is closed: a command gets exactly fds
 * 0, 1 and 2.
 *
 * Without close_range() (Linux < 5.9, or a container's seccomp filter
 * older than it, which says EPERM) the child gets a copy of the table
 * instead, as with vfork(): what atb opened is close-on-exec, and what the
 * process was given (read once, at init: it was all there by then) is
 * closed one by one. That is posix_spawn()'s cost, without glibc's
 * posix_spawn(), which fails where such a filter refuses clone3 with EPERM
 * (glibc falls back to clone only on ENOSYS).
 *
 * Only for atb_run_exec(), whose process is atb's: placeholders are fds
 * the library would otherwise never pick. Elsewhere spawn.c uses
 * posix_spawn().
 *
 * The child runs on a stack of its own in atb's memory, with every signal
 * blocked (the parent blocks them around the clone, so no handler of
 * atb's can run in it): it leaves atb's process group for its own,
 * takes the terminal when asked, sets every signal that is not at its
 * default (ignored, or caught: a copy of atb's handler table) to the
 * default, signals 32 and 33 included (the raw system call: the C library
 * refuses them), unblocks them all and execs. A failure is written to
 * memory atb shares, and the child exits 127; vfork semantics make the
 * parent wait until the exec or the exit, then reap such a child at once.
 *
 * Which signals those are is read once, at the first spawn, by the
 * parent: reading all 64 in every child was 17 us of every start, on the
 * path of a command's start, to find the two or three that atb moved. By
 * the first spawn atb_run_exec() has set up all it handles and ignores,
 * and while its run goes nothing in atb's process changes a disposition;
 * code that comes to do so must set moved_known back to 0.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

/* The child's stack: an array in atb__fast_spawn()'s frame, which stays
 * put while the child runs on it (CLONE_VFORK holds the parent until the
 * exec or the exit). A mapping made and unmapped for it cost a TLB
 * shootdown on the first guardian's core, which shares atb's memory (about
 * 0.06 ms of a one-command run on a VM). What the child calls needs a few
 * KiB. */
#define STACK_SIZE (32 * 1024)
#define NSIGNALS 64

/* The child runs on a stack of its own in atb's memory, with atb's thread
 * state: a sanitizer's bookkeeping of stacks would take it for atb's. It
 * calls nothing of ours but these two functions. */
#define CHILD_CODE __attribute__((no_sanitize_address, noinline))

/* The kernel's struct sigaction (x86-64 and arm64 lay it out so). */
struct ksigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

struct child {
    uint64_t moved;         /* the signals to set to their default */
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *cwd;
    int tty_fd;
    const int *slot;        /* the three placeholders */
    unsigned first;         /* the lowest fd the child does not copy */
    unsigned top;           /* 0, or a copy of the table: close 3 to top - 1 */
    const struct rlimit *nofile; /* the limit the child gets, or NULL */
    volatile int err;       /* written by the child on failure */
};

/* The signals whose disposition is not the default, as a mask. */
static uint64_t moved_signals(void)
{
    uint64_t moved = 0;

    for (int sig = 1; sig <= NSIGNALS; sig++) {
        struct ksigaction old;

        if (sig != SIGKILL && sig != SIGSTOP &&
            syscall(SYS_rt_sigaction, sig, NULL, &old, sizeof(old.mask)) == 0 &&
            old.handler != SIG_DFL)
            moved |= (uint64_t)1 << (sig - 1);
    }
    return moved;
}

CHILD_CODE static void defaults(uint64_t moved)
{
    struct ksigaction dfl = {SIG_DFL, 0, NULL, 0};

    for (int sig = 1; sig <= NSIGNALS; sig++)
        if (moved & ((uint64_t)1 << (sig - 1)))
            (void)syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
}

CHILD_CODE static int child_main(void *arg)
{
    struct child *c = arg;
    unsigned long none = 0;

    defaults(c->moved);
    if (setpgid(0, 0) < 0 || (c->tty_fd >= 0 && tcsetpgrp(c->tty_fd, getpid()) < 0) ||
        (c->top == 0 && syscall(SYS_close_range, c->first, ~0U, CLOSE_RANGE_UNSHARE) < 0))
        goto fail;
    for (int fd = 0; fd < 3; fd++)
        if (dup2(c->slot[fd], fd) < 0)
            goto fail;
    if (c->top == 0 && syscall(SYS_close_range, 3, ~0U, 0) < 0)
        goto fail;
    for (unsigned fd = 3; fd < c->top; fd++)
        (void)syscall(SYS_close, fd);
    if (c->cwd != NULL && chdir(c->cwd) < 0)
        goto fail;
    if (c->nofile != NULL)
        (void)setrlimit(RLIMIT_NOFILE, c->nofile);
    (void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none));
    execve(c->path, c->argv, c->envp);
fail:
    c->err = errno ? errno : EINVAL;
    _exit(127);
}

int atb__fast_init(struct atb__fast *f, int devnull)
{
    unsigned first = 0;

    for (int i = 0; i < 3; i++)
        f->slot[i] = -1;
    /* Whether close_range() works is asked with no flags, which unshares
     * nothing. Whether it has CLOSE_RANGE_UNSHARE is learnt from the first
     * spawn (spawn.c), not asked here: asked in this process, it would
     * unshare the calling thread's fd table from the process's other
     * threads (a host's, or a test's), so that a close in one no longer
     * reaches the other. */
    for (int i = 0; i < 3; i++) {
        f->slot[i] = fcntl(devnull, F_DUPFD_CLOEXEC, 3);
        if (f->slot[i] < 0) {
            int err = -errno;

            atb__fast_close(f);
            return err;
        }
        if ((unsigned)f->slot[i] + 1 > first)
            first = (unsigned)f->slot[i] + 1;
    }
    f->first = first;
    /* Without close_range() the child gets a copy of the table, as with
     * vfork(): what atb opened is close-on-exec, what the process was
     * given may not be, and it was all there by now. */
    f->top = atb__close_range_works() ? 0 : (unsigned)atb__fd_top();
    f->devnull = devnull;
    f->moved_known = 0;
    return 0;
}

void atb__fast_close(struct atb__fast *f)
{
    for (int i = 0; i < 3; i++)
        atb__close(&f->slot[i]);
}

/* Points the placeholders at src[] (or back at /dev/null). */
static int point(const struct atb__fast *f, const int src[3])
{
    for (int i = 0; i < 3; i++)
        while (dup3(src[i], f->slot[i], O_CLOEXEC) < 0)
            if (errno != EINTR)
                return -errno;
    return 0;
}

int atb__fast_spawn(struct atb__fast *f, const char *path, char *const argv[],
                    const struct atb__spawn_ctx *ctx, const struct rlimit *nofile, pid_t *pid)
{
    int src[3] = {ctx->in_fd < 0 ? f->devnull : ctx->in_fd,
                  ctx->out_fd >= 0 ? ctx->out_fd : 1, ctx->err_fd >= 0 ? ctx->err_fd : 2};
    int back[3] = {f->devnull, f->devnull, f->devnull};
    _Alignas(16) char stack[STACK_SIZE];
    struct child c;
    sigset_t all, old;
    int rc;
    pid_t p;

    if (!f->moved_known) {
        f->moved = moved_signals();
        f->moved_known = 1;
    }
    c = (struct child){f->moved, path, argv, ctx->envp, ctx->cwd, ctx->tty_fd, f->slot,
                       f->first, f->top, nofile, 0};
    rc = point(f, src);
    if (rc < 0) {
        (void)point(f, back);
        return rc;
    }
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    p = clone(child_main, stack + sizeof(stack),
              CLONE_VM | CLONE_VFORK | (f->top ? 0 : CLONE_FILES) | SIGCHLD, &c);
    rc = p < 0 ? -errno : 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    /* The child has exec'd or exited: its table is its own by now, and
     * the command's fds must not stay open here. */
    (void)point(f, back);
    if (rc == 0 && c.err != 0) {
        rc = -c.err;
        while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (rc == 0)
        *pid = p;
    return rc;
}
