/* atb/cancel.h: cancel processes atb did not start, and wait until they are
 * really gone. Included by atb.h; do not include directly.
 *
 * Life of a cancel: fill an array of struct atb_cancel_target with the pids,
 * atb_cancel_opts_init() and adjust, atb_cancel_run() (blocks until every
 * target is gone, refused, or judged stuck), then read each target's state.
 * For pids read from pid files, atb_cancel_pidfile_load() also says when
 * each file was written, and atb_cancel_run_pidfiles() refuses a process
 * that started after that: another process that took over the pid.
 */
#ifndef ATB_CANCEL_H
#define ATB_CANCEL_H

#include <sys/types.h>
#include <time.h>

/* POSIX's, from <time.h>; declared here too for a strict ISO C build,
 * whose <time.h> lacks it. */
struct timespec;

#ifdef __cplusplus
extern "C" {
#endif

enum atb_cancel_state {
    ATB_CANCEL_PENDING,     /* not decided: atb_cancel_run() stopped early */
    ATB_CANCEL_NOT_RUNNING, /* had exited (or never existed) before any signal */
    ATB_CANCEL_GONE,        /* exited within the grace period */
    ATB_CANCEL_KILLED,      /* exited after the SIGKILL that ended the grace */
    ATB_CANCEL_DENIED,      /* not allowed to signal it (error is -EPERM) */
    ATB_CANCEL_STUCK,       /* still there kill_wait_s after SIGKILL */
    ATB_CANCEL_FAILED,      /* could not be opened or signalled (error;
                             * -EINVAL: a thread's id, not a process's) */
    ATB_CANCEL_REFUSED      /* never to be signalled; error says why:
                             * 0: pid 1, atb itself, or with group: a group
                             *    atb is in, or pgid <= 1;
                             * -EPERM: a kernel thread;
                             * -EDEADLK: an ancestor of the caller (its
                             *    parent, grandparent... up to pid 1);
                             * -ESTALE: it started after its pid file was
                             *    written (atb_cancel_run_pidfiles()) */
};

/* One process to cancel. The caller sets pid; atb_cancel_run() sets the
 * rest. With opts.group the target stands for its whole process group, and
 * state says what became of the group. */
struct atb_cancel_target {
    pid_t pid;
    enum atb_cancel_state state;
    int error;       /* DENIED, FAILED: the negative errno; REFUSED: why;
                      * else 0 */
    pid_t pgid;      /* with opts.group: the group signalled; else 0 */
    int sent_signal; /* the first signal sent, or 0 */
    int killed;      /* 1 when SIGKILL ended the grace period */
    double gone_s;   /* from the first signal until it was seen gone */
};

enum atb_cancel_event_kind {
    ATB_CANCEL_EV_FALLBACK, /* pidfds are not used; target is NULL */
    ATB_CANCEL_EV_SIGNAL,   /* signo was sent to target (its group with
                             * opts.group); target->killed is set when this
                             * is the SIGKILL that ends the grace period */
    ATB_CANCEL_EV_DONE      /* target reached its final state */
};

struct atb_cancel_event {
    enum atb_cancel_event_kind kind;
    const struct atb_cancel_target *target;
    int signo; /* SIGNAL: the signal sent */
    int error; /* FALLBACK: why pidfds are unusable, 0 when opts asked */
};

struct atb_cancel_opts {
    int signo;          /* first signal (default SIGTERM) */
    double grace_s;     /* then SIGKILL to what is left (default 5) */
    double kill_wait_s; /* after SIGKILL, give up after this long (default 1) */
    int group;          /* signal each target's process group instead */
    int no_pidfd;       /* use kill() after /proc start-time checks even
                         * where pidfds work */
    /* Called as things happen, from inside atb_cancel_run(); may be NULL.
     * The event and its target are valid only during the call. */
    void (*event_cb)(const struct atb_cancel_event *ev, void *data);
    void *data;
};

/* Fills opts with the defaults: SIGTERM, 5 s grace, 1 s after SIGKILL,
 * single processes, pidfds where the kernel has them, no callback. */
void atb_cancel_opts_init(struct atb_cancel_opts *opts);

/* Parses a process id: decimal digits only, at least 1. Returns 0 and stores
 * it, -EINVAL for anything else, -ERANGE for a number too large for a pid. */
int atb_cancel_pid_parse(const char *text, pid_t *pid);

/* Reads a pid file strictly: exactly one process id as
 * atb_cancel_pid_parse() takes it, optionally followed by one newline
 * ("\n"; not "\r\n", blanks or anything else). Refuses a path that is not
 * a regular file without reading it, and never blocks on one (a FIFO, a
 * device). When written is not NULL, stores when the file was last
 * written (its mtime); when why is not NULL, points it at a static phrase
 * saying what is wrong ("empty", "not a regular file"...) for -EINVAL and
 * -ERANGE. Returns 0, a negative errno from stat, open or read, -EINVAL
 * for a file that is not a regular one or does not hold just a pid, or
 * -ERANGE for a number too large for a pid. */
int atb_cancel_pidfile_load(const char *path, pid_t *pid,
                            struct timespec *written, const char **why);

/* atb_cancel_pidfile_load() without the mtime and the reason. */
int atb_cancel_pidfile_read(const char *path, pid_t *pid);

/* Cancels n targets (opts NULL: defaults): opens every one first (a pidfd,
 * or a /proc start-time snapshot), then sends opts->signo, waits up to
 * grace_s, sends SIGKILL to what is left and waits up to kill_wait_s more.
 * An exited process that its parent has not yet reaped counts as gone.
 * Returns 0 when the cancel took place, whatever became of the targets;
 * -EINVAL, signalling nothing, when a target is refused (its state says
 * which) or opts are invalid; another negative errno when atb could not
 * work (no memory, no fds). Refused are pid 1, the caller itself, its
 * ancestors and kernel threads, and with opts->group the caller's own
 * process group. Blocks; calls opts->event_cb as it goes. */
int atb_cancel_run(struct atb_cancel_target *targets, size_t n,
                   const struct atb_cancel_opts *opts);

/* atb_cancel_run(), for targets read from pid files: written (NULL, or n
 * entries, the caller's) holds when the pid file that named targets[i] was
 * last written (atb_cancel_pidfile_load()), or a negative tv_nsec for a
 * target that no pid file named. A target whose process started after its
 * file was written (beyond 20 ms for the 10 ms clock ticks of /proc start
 * times and coarse file times; 2 s more for an mtime of whole seconds) is
 * another process that took over the pid: it is refused (REFUSED,
 * -ESTALE), and nothing is signalled. The start time is read once the
 * target is pinned, so it is the start of the process that would be
 * signalled; a target whose start time /proc hides fails with -EACCES. */
int atb_cancel_run_pidfiles(struct atb_cancel_target *targets, size_t n,
                            const struct atb_cancel_opts *opts,
                            const struct timespec *written);

#ifdef __cplusplus
}
#endif

#endif
