/* launcher: the one seam through which a run starts a command, stops it
 * (a graceful signal, then a kill after the grace) and learns that it and
 * everything it started have ended. The local process-group launcher
 * (local.c) is the first implementation; another (a cluster's) plugs in
 * behind the same operations.
 *
 * Events go one way: a launcher reports on_leader (the process it started
 * ended: a waitid()-style code and status) and then on_group (nothing of
 * the command is left) from its own watchers, never from inside one of its
 * operations, so the run can call any operation from anywhere.
 */
#ifndef ATB_LAUNCHER_H
#define ATB_LAUNCHER_H

#include "internal.h"

struct atb__launcher;

/* One launched command: embedded in the run's command, owned by it, and
 * written only by its launcher. */
struct atb__proc {
    pid_t pid;              /* the leader, whose pid is its group's id; 0 before start */
    int pidfd;              /* owned; -1 unless watched by pidfd */
    union {                 /* one, as the launcher watches leaders: */
        ev_io pidfd_w;      /* by pidfd */
        ev_child child_w;   /* by SIGCHLD, on libev's default loop */
    };
    ev_timer grace_w;       /* graceful signal sent: SIGKILL at expiry */
    ev_timer linger_w;      /* leader gone, group not yet: check again */
    struct atb__proc *lnext, *lprev; /* on the launcher's lingering list */
    double t_killed;        /* monotonic, when SIGKILL went to the group */
    int sent_signal;        /* the graceful signal sent, or 0 */
    /* What the leader used, from its reaping (waitid()'s rusage): -1 when
     * not known (ev_child reaps without asking). */
    double user_s, system_s;
    long max_rss_kib;
    /* Set by a launcher whose start is only known later (Slurm's), before
     * on_leader: why the program could not be run (-ENOENT...), else 0;
     * what went wrong before it ran (borrowed until forget), else NULL;
     * the remote ids it ran under, else -1. */
    int start_error;
    const char *launch_error;
    long remote_job, remote_step;
    void *ext;              /* the launcher's own, per proc */
    unsigned started : 1, leader_done : 1, group_done : 1, signalled : 1, killed : 1,
        lingering : 1, probe : 1; /* probe: an exec probe's (set by the run) */
};

struct atb__launcher_ops {
    /* Starts argv as ctx says (envp, cwd, fds for the child's 0, 1, 2) in a
     * process group of its own and watches it. Returns 0, or a negative
     * errno with nothing left behind (-ENOENT: not found). */
    int (*start)(struct atb__launcher *l, struct atb__proc *p, char *const argv[],
                 const struct atb__spawn_ctx *ctx);
    /* 1 when the leader has ended and its end is yet to be reported (so a
     * failure that came first stays the command's own), else 0. */
    int (*exited)(struct atb__launcher *l, struct atb__proc *p);
    /* Sends signo to the group once (and SIGCONT, so a stopped process
     * acts on it), then SIGKILL after the grace. No-op once signalled or
     * gone. */
    void (*stop)(struct atb__launcher *l, struct atb__proc *p, int signo);
    /* SIGKILL to the group now, unless it is gone. */
    void (*kill)(struct atb__launcher *l, struct atb__proc *p);
    /* Stops every watcher of p without reporting (the run is freeing it). */
    void (*forget)(struct atb__launcher *l, struct atb__proc *p);
    /* Frees the launcher (every proc forgotten first). */
    void (*close)(struct atb__launcher *l);
};

/* What the run tells a launcher of a command beside its spawn context. */
struct atb__launch_info {
    const char *name;                   /* the command's */
    const struct atb_slurm *slurm;      /* or NULL */
    int err_pipe;   /* the child's fd 2 is a pipe the run reads: a launcher
                       that writes to it must never block on it */
};

struct atb__launcher {
    const struct atb__launcher_ops *ops;
    struct ev_loop *loop;
    double grace_s;
    /* What members left behind by a leader that ended get (once), then
     * SIGKILL after the grace: the run keeps it up to date. */
    int linger_signo;
    /* code: CLD_EXITED (status: the exit status) or CLD_KILLED/CLD_DUMPED
     * (status: the signal); 0 when the status was lost to another reaper. */
    void (*on_leader)(struct atb__proc *p, int code, int status, void *data);
    void (*on_group)(struct atb__proc *p, void *data);
    /* The grace ran out: the group got SIGKILL (not said for kill(), an
     * operation, whose caller knows). */
    void (*on_killed)(struct atb__proc *p, void *data);
    /* busy went back to 0 (see below). */
    void (*on_idle)(void *data);
    void *data;
    /* Processes of the launcher's own (scancel) still running: the run is
     * not over until they are done. */
    size_t busy;
    /* The local launcher underneath (itself when local). */
    struct atb__launcher *local;
    /* The next start's command (the run sets it just before start). */
    const struct atb__launch_info *info;
};

/* local.c: the process-group launcher on this machine.
 *   use_pidfd      leaders are watched by pidfds (any loop but the default
 *                  one, which reaps every child) or by ev_child (only the
 *                  default loop);
 *   own_process    atb_run_exec(): raise the open-files limit while it
 *                  lives, and keep a pid -> proc table for the orphan
 *                  reaper (atb__local_is_leader()).
 * Returns 0 or a negative errno. */
int atb__local_open(struct atb__launcher **out, struct ev_loop *loop, int use_pidfd,
                    int own_process);
/* slurm.c: commands through srun, with the local launcher underneath for
 * the srun processes. token names the run's jobs (atb-TOKEN-NAME). Returns
 * 0, ATB_ELAUNCHER (srun or scancel is not in PATH) or a negative errno. */
int atb__slurm_open(struct atb__launcher **out, struct ev_loop *loop, int use_pidfd,
                    int own_process, const char *token);
/* The shell command that cancels what is left of a run whose jobs are
 * named atb-TOKEN-*, for its guardian, into buf. Returns 0 or -ENAMETOOLONG. */
int atb__slurm_will(const char *token, char *buf, size_t size);

/* Is pid a leader this launcher watches and has not reaped yet? */
int atb__local_is_leader(struct atb__launcher *l, pid_t pid);
/* Some child was reaped elsewhere: groups whose leader is gone may be
 * empty now. */
void atb__local_recheck(struct atb__launcher *l);

#endif
