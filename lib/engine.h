/* engine: the types the run's modules share, and what each of them offers
 * the others. Never installed.
 *
 * Who does what:
 *   command.c   one command: its block, its phase (the only place the
 *               run's counts change), its result
 *   naming.c    default names and "#N"
 *   validate.c  the one validator (atb_run_check)
 *   deps.c      readiness, latches, dependents, held cancels
 *   policy.c    what a command's end means under the run's mode
 *   sched.c     the scheduler: settle() starts, cancels and ends the run
 *   ends.c      what the launcher and the pipes report: a leader's end, a
 *               group gone, a line, a stream closed; a command's finish
 *   start.c     starting one command through the launcher
 *   retry.c     a failed attempt kept, and its command started again
 *   feed.c      commands arriving on an fd while the run goes on
 *   streams.c   reading the commands' pipes into lines
 *   write.c     the destinations, and prefix mode's lines
 *   group-out.c group mode's blocks
 *   prefix.c    prefix formats
 *   scope.c     the run's private latch folder
 *   run.c       the public calls: new, add, start, cancel, free
 *   settings.c  setters and getters; results.c the results
 *   exec.c      atb_run_exec(): the process-wide duties of a blocking run
 *
 * Control flows one way. Watchers (the launcher's, the pipes', the
 * timers') change one command's state and then call atb__sched_settle(),
 * which applies what is due: cancels that policy or the caller asked for,
 * starts, the end of the run. Callers' callbacks may only ask (add a
 * command, cancel), never act, so nothing re-enters the scheduler.
 */
#ifndef ATB_ENGINE_H
#define ATB_ENGINE_H

#include "internal.h"
#include "launcher.h"

/* ---- command.c ---- */

/* A command's life. Every change goes through atb__cmd_phase(). */
enum atb__phase {
    ATB__QUEUED,      /* may start when a slot frees */
    ATB__WAITING,     /* may start once its dependencies are up */
    ATB__DELAYED,     /* an attempt failed: queued again after the delay */
    ATB__RUNNING,     /* started; its leader has not ended */
    ATB__LEADER_DONE, /* its leader ended; its group not yet */
    ATB__GROUP_DONE,  /* its group is gone; its output not yet read */
    ATB__FINISHED,    /* nothing of it is left (or it never started) */
    ATB__NPHASES
};

enum atb__kind { ATB__WORK, ATB__SERVICE, ATB__CLEANUP, ATB__NKINDS };

/* How many commands of each kind are in each phase: kept by
 * atb__cmd_phase() alone, so every count the run needs is derived. */
struct atb__tally {
    size_t n[ATB__NKINDS][ATB__NPHASES];
};

/* One of a command's output streams when its output goes through atb. */
struct atb__stream {
    int fd;                 /* owned read end; -1 once closed */
    int wfd;                /* owned: our copy of the command's end, kept
                               until its leader ends (streams.c), or -1 */
    ev_io w;
    int which;              /* 0: stdout, 1: stderr */
    char *part;             /* a line not yet ended (at most ATB__LINE_MAX) */
    size_t part_len, part_cap;
    char *mem;              /* group mode: output held back */
    size_t mem_len, mem_cap;
    int spill_fd;           /* group mode: unlinked file holding output, or -1 */
    int no_splice;          /* splice refused: copy through scratch */
    int direct;             /* group mode: the command writes into spill_fd */
    int loose;              /* group mode: nowhere left to hold it: written
                               as it comes */
    char loose_last;        /* the last byte written so, or '\n' */
};

struct atb__cmd {
    struct atb_result res;  /* what the caller reads; first member */
    struct atb_run *run;
    enum atb__phase phase;
    enum atb__kind kind;
    struct atb__proc proc;  /* the launcher's */
    char *name;             /* in the block, with room for "#N" */
    size_t base_len;        /* a default name: its base's length in name
                               (counted in run->bases), else 0 */
    char **env;             /* in the block: changes to the environment, or NULL */
    char *cwd;              /* in the block, or NULL */
    double timeout_s;       /* its own time limit, or 0 */
    ev_timer limit_w;       /* its time limit while it runs; between two
                               attempts, the retry delay (retry.c) */
    int retries;            /* as given: -1, -1 and 0 take the run's */
    double retry_delay_s, retry_backoff;
    struct atb__try *tries; /* owned: its earlier attempts (res.attempt - 1) */
    struct atb__probe *probe[2]; /* owned: ready_probe, health_probe, or NULL */
    struct atb_slurm *slurm;     /* owned (one block), or NULL */
    /* output (streams.c, group-out.c) */
    struct atb__stream out[2];
    ev_timer drain_w;       /* group gone, output still open: stop waiting */
    char *kept;             /* owned: the tail of its output */
    size_t kept_len;
    char *prefix;           /* owned: rendered prefix, padded */
    size_t prefix_len;
    /* readiness and dependencies (validate.c, deps.c) */
    char *ready_when;       /* in the block, or NULL */
    regex_t *ready_re;      /* owned, compiled by the validator */
    double ready_timeout_s;
    ev_timer ready_w;
    char *sets;             /* in the block, or NULL */
    char *latch_path;       /* owned: where sets lives */
    char **wait_for;        /* in the block, or NULL */
    struct atb__cmd **deps; /* owned: the command each wait_for entry is met by */
    size_t ndeps;
    size_t dependents_live; /* started, unfinished commands waiting for us,
                               directly or through others */
    unsigned long walk;     /* the last dependency walk that counted us */
    int held_signo;         /* a cancel held back until they have ended */
    char *error;            /* owned: res.error when made up ("dependency x
                               failed"), ATB__CMD_ERROR_MAX bytes, or NULL */
    unsigned named : 1, given : 1, input : 1, clear_env : 1, cancelled : 1, timed_out : 1,
        ready : 1, ready_by_output : 1, forget : 1, held_told : 1, loose_told : 1,
        block_due : 1, retrying : 1, unhealthy : 1;
    int slot;               /* slot_env: the slot it holds, from 1; 0: none */
};

/* Copies src into one allocation (the command, its vectors, its strings).
 * Returns 0 or -EINVAL/-ENOMEM. The command is in no phase yet. */
int atb__cmd_new(struct atb_run *run, const struct atb_cmd *src, int id, struct atb__cmd **out);

/* start.c, slot_env: gives cmd's slot back (none: nothing). The longest
 * "NAME=N" a slot makes: a longer name is cut. */
#define ATB__SLOT_VAR_MAX 128
void atb__slot_give_back(struct atb_run *run, struct atb__cmd *cmd);

/* ends.c, keep_order: writes the group blocks that are due, in the order
 * the commands were added, up to the first main command still going (all:
 * every one due, at the end). Cleanup commands are never waited for. */
void atb__group_in_order(struct atb_run *run, int all);
/* Makes why cmd's res.error, copied (cut to ATB__CMD_ERROR_MAX - 1 bytes)
 * into a buffer of its own, made on first use and kept until cmd is freed,
 * so that res.error stays valid that long; "out of memory" when it cannot
 * be made. Most commands never need one. */
#define ATB__CMD_ERROR_MAX 96
void atb__cmd_error(struct atb__cmd *cmd, const char *why);
/* Stops every watcher of cmd (its launcher's, its timers, its pipes). */
void atb__cmd_stop(struct atb__cmd *cmd);
/* Frees cmd and all it owns, stopping its watchers first. */
void atb__cmd_free(struct atb__cmd *cmd);
/* Counts cmd in phase to (and out of its old one); the first call places a
 * new command, ATB__NPHASES takes a freed one out. The only place the run's
 * tally changes. */
void atb__cmd_phase(struct atb__cmd *cmd, enum atb__phase to);
/* What follows cmd's name where it is shown (prefixes, group headers), in
 * buf: for a command that may be retried, " k/N" on its k-th attempt of N
 * from the second on, or once the attempt is to be tried again; else "".
 * measuring: the widest it can be. Returns its length. */
#define ATB__ATTEMPT_MAX 24
size_t atb__cmd_attempt(const struct atb__cmd *cmd, int measuring, char *buf, size_t size);
/* Takes the leader's end (waitid()-style code and status) into the result:
 * its exit code or signal, its duration, and the state it ended in. */
void atb__cmd_leader_result(struct atb__cmd *cmd, int code, int status);

size_t atb__tally_sum(const struct atb__tally *t, unsigned kinds, enum atb__phase from,
                      enum atb__phase to);
#define ATB__KIND_BIT(k) (1u << (k))
#define ATB__ALL_KINDS 7u

/* ---- retry.c ---- */
#define ATB__RETRIES_MAX 1000
/* An earlier attempt of a command: its result, and the output it kept. */
struct atb__try {
    struct atb_result res;
    char *kept;             /* owned, or NULL */
    size_t kept_len;
};
/* The attempts cmd may make in all: 1 + its retries (none for a service). */
int atb__retry_max(const struct atb__cmd *cmd);
/* cmd's leader ended: whether the attempt is to be tried again. Pure. */
int atb__retry_wanted(const struct atb__cmd *cmd);
/* cmd's attempt has finished (group gone, output read) and was to be tried
 * again: returns 1 when it will be, after the delay (phase DELAYED, its
 * slot and output given up), or 0 when the run has stopped meanwhile: then
 * the attempt's end is the command's, for the caller to finish. */
int atb__retry_arm(struct atb__cmd *cmd);
/* The run stops: a command waiting for its next attempt ends with the
 * attempt that failed. */
void atb__retry_give_up(struct atb__cmd *cmd);
void atb__retry_free(struct atb__cmd *cmd);

/* ---- naming.c ---- */
/* Gives every unnamed command its default name, or the first free
 * "name#N". Returns 0 or -ENOMEM. */
int atb__names_assign(struct atb_run *run);
int atb__name_unique(struct atb_run *run, struct atb__cmd *cmd);
/* Whether name is taken: by a command of the run, or by one the feed
 * freed (names stay unique over the whole run). */
int atb__name_taken(const struct atb_run *run, const char *name);
/* A command is being freed: its name leaves the table; a given one stays
 * retired, so no later command takes it. Returns 0 or -ENOMEM. */
int atb__name_retire(struct atb_run *run, struct atb__cmd *cmd);

/* ---- validate.c ---- */
/* Checks one command against the rules that need no other command. */
int atb__validate_cmd(struct atb_run *run, struct atb__cmd *cmd, struct atb_error *err);

/* ---- deps.c ---- */
/* Where each latch a command sets lives (after the scope is made). */
int atb__deps_paths(struct atb_run *run, struct atb_error *err);
int atb__deps_up(const struct atb__cmd *cmd);
int atb__deps_met(const struct atb__cmd *cmd);
int atb__deps_needs(const struct atb__cmd *cmd, const struct atb__cmd *dep);
void atb__deps_started(struct atb__cmd *cmd);
/* A line of cmd's output: returns 1 when it made cmd ready. */
int atb__deps_line(struct atb__cmd *cmd, const char *line, size_t len);
void atb__deps_ready(struct atb__cmd *cmd, int by_output);
void atb__deps_ended(struct atb__cmd *cmd);
/* cmd has finished: the commands it waited for count one dependent less;
 * a cancel held for them is due now and sent through release. */
void atb__deps_finished(struct atb__cmd *cmd, void (*release)(struct atb__cmd *dep, int signo));
/* Holds a cancel of cmd back while commands that wait for it still run.
 * Returns 1 when it did. */
int atb__deps_hold(struct atb__cmd *cmd, int signo);
void atb__deps_free(struct atb__cmd *cmd);

/* ---- policy.c ---- */
enum atb__verdict { ATB__CARRY_ON, ATB__CANCEL_ALL, ATB__DRAIN };
/* What the end of a main command (its result) means under mode: whether
 * it counts as a failure of the run, whether it wins a race, and whether
 * the rest must be cancelled, or (halt_soon: a pool's failure) only no
 * more started. decided: a winner exists or the run is stopping already.
 * Pure: no state is touched. */
enum atb__verdict atb__policy_on_end(enum atb_mode mode, int first_success, int halt_soon,
                                     int decided, const struct atb_result *res, int *fails,
                                     int *wins);

/* ---- prefix.c ---- */
/* Renders format for cmd into buf (truncated to size, NUL-terminated);
 * returns the full length. measuring: a stand-in for values not known
 * before the start (the pid). */
size_t atb__prefix_render(const char *format, const struct atb__cmd *cmd, int measuring,
                          char *buf, size_t size);
extern const char *const atb__palette[6];
#define ATB__COLOR_RESET "\033[0m"

/* ---- output (streams.c, write.c, group-out.c) ---- */
#define ATB__GROUP_MEM (1024 * 1024) /* group mode: held in memory, then spilled */
/* Group mode without a temporary file (the folder is full or refuses one):
 * what a command writes is held in memory up to ATB_GROUP_HOLD_MAX (atb.h),
 * and the run holds at most this much in all; beyond, it goes out as it
 * comes. A command writes into its file directly only while the folder has
 * ATB__GROUP_ROOM free. */
#define ATB__GROUP_HOLD_RUN (64u * 1024 * 1024)
#define ATB__GROUP_ROOM (64ull * 1024 * 1024)
struct atb__dest {
    int fd;                 /* the caller's */
    int color;
    int broken;             /* EPIPE or another error: dropped from now on */
};
struct atb__output {
    enum atb_output mode;   /* resolved: never AUTO */
    struct atb__dest dest[2];
    char *scratch;          /* ATB__LINE_MAX bytes: where reads land */
    char *obuf;             /* what goes out in one write() */
    size_t olen, ocap;
    size_t pad;             /* prefixes are padded to this width */
    int per_line;           /* the prefix has {time}: rendered per line */
    unsigned shed;          /* a bit per destination that broke since the
                               last settle: its pipes are to be closed */
    size_t held;            /* group mode: bytes held in memory in all */
    size_t kept, keep_max;  /* pipe write ends kept (atb__output_keep()) */
};
int atb__output_open(struct atb_run *run);
void atb__output_close(struct atb_run *run);
/* Makes cmd's pipes (or group files); wfd gets the child's ends, -1 where
 * the child writes to the destination itself. */
int atb__output_pipes(struct atb_run *run, struct atb__cmd *cmd, int wfd[2]);
void atb__output_start(struct atb_run *run, struct atb__cmd *cmd);
/* After the start: the child's ends of cmd's pipes, kept while fds are
 * plentiful, else closed. Takes both of wfd. */
void atb__output_keep(struct atb_run *run, struct atb__cmd *cmd, int wfd[2]);
/* The leader has ended: the kept ends go, and what the pipes hold is read;
 * those that reach their end are closed. */
void atb__output_leader_done(struct atb_run *run, struct atb__cmd *cmd);
int atb__output_open_streams(const struct atb__cmd *cmd);
/* Reads what is there and closes the pipes. */
void atb__output_stop(struct atb_run *run, struct atb__cmd *cmd);
/* A destination broke (its reader went away): closes the commands' pipes
 * to it, as a shell pipeline would, but those the run still reads for
 * readiness. From settle only: never inside a stream's own callback. */
void atb__output_shed(struct atb_run *run);
void atb__output_free_cmd(struct atb__cmd *cmd);
/* write.c */
void atb__dest_write(struct atb_run *run, struct atb__dest *d, const char *buf, size_t len);
void atb__obuf_flush(struct atb_run *run, int which);
void atb__emit_line(struct atb_run *run, struct atb__cmd *cmd, int which, const char *line,
                    size_t len);
void atb__keep(struct atb_run *run, struct atb__cmd *cmd, const char *p, size_t n);
/* group-out.c */
int atb__group_files(struct atb_run *run, struct atb__cmd *cmd, int wfd[2]);
void atb__group_capture(struct atb_run *run, struct atb__cmd *cmd, struct atb__stream *s,
                        const char *p, size_t n);
int atb__group_splice(struct atb__stream *s);
void atb__group_finish(struct atb_run *run, struct atb__cmd *cmd);

/* ---- feed.c ---- */
struct atb__feed {
    int active;             /* the fd is still being read */
    int eof;                /* nothing more to read; lines may remain */
    int skipping;           /* in a line over the limit, dropped to its end */
    char *buf;              /* owned, size bytes: grows up to the line limit */
    size_t len, size;
    ev_io w;
};
int atb__feed_start(struct atb_run *run);
void atb__feed_stop(struct atb_run *run);
/* Turns buffered lines into commands while few wait for a slot; reading
 * resumes only once no whole line is left. */
void atb__feed_resume(struct atb_run *run);
void atb__feed_free(struct atb_run *run);

/* ---- scope.c ---- */
/* The run's private latch folder (latch_scope), and the environment every
 * command starts from: the process's, with ATB_LATCH_DIR for the scope and
 * ATB_RUN for the guardian's mark first (kept under clear_env too). */
int atb__scope_open(struct atb_run *run, struct atb_error *err);
void atb__scope_close(struct atb_run *run);

/* ---- guard.c (atb_run_exec() only) ---- */
struct atb__guard {
    int fd;                 /* owned: atb's end of the socket, or -1 */
    pid_t pid;              /* the guardian, or 0 */
    void *stack;            /* owned (mapped): the first guardian's stack,
                             * state and list of groups, until it is reaped
                             * (or handed over); NULL after */
    char *pending;          /* owned: what is still to be said */
    size_t npending, cappending;
    const char *token;      /* the run's mark */
    int signo;
    double grace_s;
    char will[512];         /* what the guardian runs first, or "" */
    int settling;           /* started, its "R" not read yet */
};
/* Starts the first guardian, which shares atb's memory. Returns 0 or a
 * negative errno (nothing made). It may still be settling (out of atb's
 * session, its fds closed): atb__guard_ready() waits for that. */
/* will: a shell command the guardian runs first should atb die (the Slurm
 * launcher's scancel of the run's jobs), or NULL; copied. */
int atb__guard_start(struct atb__guard *gd, const char *token, int signo, double grace_s,
                     const char *will);
/* Waits until the guardian started is settled, once: before the run's
 * first process starts, so that none starts while it is still in atb's
 * process group. Returns 0, or a negative errno with the guardian gone. */
int atb__guard_ready(struct atb__guard *gd);
/* Hands over to a forked guardian with memory of its own. Returns 0 (also
 * when there is nothing to hand over) or a negative errno, the first
 * guardian then still on guard. */
int atb__guard_handover(struct atb__guard *gd);
/* '+' a group started, '-' a group is gone: written at once into the
 * first guardian's list (shared memory, no word said), or, once a forked
 * guardian has taken over, said at the next atb__guard_flush(). */
void atb__guard_tell(struct atb__guard *gd, char what, pid_t pgid);
/* Says what was told since the last flush, in one write: at most every
 * 20 ms (exec.c), so the guardian wakes once per batch, not twice per
 * command. A command started since is found by its mark meanwhile. */
void atb__guard_flush(struct atb__guard *gd);
/* The run is over: the guardian is told so and exits on its own. It is
 * not waited for here, so that its exit costs the run nothing. */
void atb__guard_end(struct atb__guard *gd);
/* Reaps the guardian told to end (atb_run_free()): it is gone by then, or
 * about to be. */
void atb__guard_reap(struct atb__guard *gd);

/* ---- probe.c ---- */
struct atb__probe;
/* A copy of src (its strings too, its target parsed) for cmd. Returns 0,
 * -EINVAL for a malformed probe or -ENOMEM. */
int atb__probe_new(struct atb__cmd *cmd, const struct atb_probe *src, int health,
                   struct atb__probe **out);
/* 0, or ATB_EPROBE with why when its target cannot be parsed. */
int atb__probe_check(const struct atb__probe *p, char *why, size_t size);
void atb__probe_free(struct atb__probe *p);
/* p (made with cmd NULL) is cmd's from now on. */
void atb__probe_attach(struct atb__probe *p, struct atb__cmd *cmd);
/* cmd started: its ready probe's first attempt is due after the delay. */
void atb__probe_begin(struct atb__cmd *cmd);
/* cmd became ready: its health probe starts, after its initial delay
 * (else its interval). */
void atb__probe_ready(struct atb__cmd *cmd);
/* cmd's leader ended: no more attempts; one in flight is put down. */
void atb__probe_end(struct atb__cmd *cmd);
/* Whether a probe process of cmd's is still there (its group not gone). */
int atb__probe_live(const struct atb__cmd *cmd);
/* cmd is freed: a probe process still there is killed, not waited for. */
void atb__probe_forget(struct atb__cmd *cmd);
/* An exec probe's process ended / its group is gone (ends.c). */
void atb__probe_on_leader(struct atb__proc *p, int code, int status);
void atb__probe_on_group(struct atb__proc *p);

/* ---- start.c ---- */
/* The environment for a command: the process's own (or none, with
 * clear_env) with the command's changes applied, then slot ("NAME=N", or
 * NULL). Returns the base itself when nothing changes, else a malloc'd
 * vector of borrowed strings (NULL: no memory), for atb__cmd_env_free(). */
char **atb__cmd_env(const struct atb_run *run, const struct atb__cmd *cmd, const char *slot);
void atb__cmd_env_free(const struct atb_run *run, char **envp);
enum atb__start_result { ATB__STARTED, ATB__START_FAILED, ATB__START_LATER };
enum atb__start_result atb__start_cmd(struct atb_run *run, struct atb__cmd *cmd);

/* ---- sched.c ---- */
void atb__sched_begin(struct atb_run *run);
/* Applies what is due. Called at the end of every watcher callback of the
 * run (through atb__leave) and by the kick watcher. */
void atb__sched_settle(struct atb_run *run);
/* A command ended (its leader, a failed start, or never to start): the
 * result is final; dependencies and policy take it in. */
void atb__sched_ended(struct atb_run *run, struct atb__cmd *cmd);
/* A command's group is gone, or its output closed: finished once both. */
void atb__sched_maybe_finish(struct atb__cmd *cmd);
/* cmd is cancelled with signo, unless its leader ended on its own first. */
void atb__sched_cancel_cmd(struct atb__cmd *cmd, int signo);
void atb__sched_end_watchers(struct atb_run *run);

/* ---- ends.c ---- */
void atb__ends_attach(struct atb_run *run);
void atb__tidy_start(struct atb_run *run);

/* ---- run.c ---- */
void atb__emit(struct atb_run *run, enum atb_event_kind kind, int id);
void atb__emit_event(struct atb_run *run, const struct atb_event *ev);
/* A watcher callback of the run begins / ends; the end settles. */
void atb__enter(struct atb_run *run);
void atb__leave(struct atb_run *run);
/* Asks for a settle soon (from outside the run's callbacks). */
void atb__poke(struct atb_run *run);
/* atb_run_cancel() for cause, sending sent to the commands. */
int atb__run_interrupt(struct atb_run *run, int cause, int sent);
/* The handlers the launcher and the output call. */
void atb__run_line(struct atb__cmd *cmd, int which, const char *line, size_t len);
void atb__run_stream_closed(struct atb__cmd *cmd);
int atb__run_prepare(struct atb_run *run, struct ev_loop *loop, int use_pidfd, int own_process);
void atb__run_teardown(struct atb_run *run);

/* A probe atb_run_set_probe() gave a command by name (settings.c),
 * handed to that command by the validator. */
struct atb__named_probe {
    char *name;             /* owned */
    int health;
    struct atb__probe *probe; /* owned until attached, then the command's */
    int attached;
};

/* The run's settings, as the setters leave them. */
struct atb__settings {
    enum atb_mode mode;
    int first_success;
    unsigned jobs;
    int cancel_signal;
    double grace_s;
    double timeout_s;
    enum atb_output output;
    int out_fd, err_fd;
    char *prefix;           /* owned, or NULL: "[{name}] " */
    int pad;
    int keep_order;         /* group blocks in the order commands were added */
    int halt_soon;          /* a pool's failure starts nothing more, cancels nothing */
    char *slot_env;         /* owned: the variable that gets a command's slot, or NULL */
    enum atb_color color[2];
    char *group_before, *group_after; /* owned, or NULL */
    char *group_empty;      /* owned: the block of a failure without output, or NULL */
    char *input;            /* owned, or NULL */
    int input_id;           /* or this command reads it; -1: none */
    int input_fd;
    int tty_fd;             /* the input command's terminal (foreground), or -1 */
    double shield_wait_s;
    int latch_scope;
    size_t keep_output;
    double tick_s;
    enum atb_watch watch;
    int catch_signals;
    int guardian;
    atb_event_cb event_cb;
    void *event_data;
    int feed_fd;
    atb_feed_cb feed_cb;
    void *feed_data;
    int feed_delim;         /* what ends a line: '\n', or '\0' */
    int probe_output;       /* exec probes write to err_fd, not /dev/null */
    struct atb__named_probe *probes; /* owned: atb_run_set_probe()'s, nprobes */
    size_t nprobes;
    unsigned retries;       /* for commands that leave theirs to the run */
    double retry_delay_s, retry_backoff;
    size_t feed_max;        /* the longest line, in bytes */
    enum atb_launcher launcher;
};

enum atb__stage { ATB__NEW, ATB__GOING, ATB__ENDING, ATB__OVER };

struct atb__exec;

struct atb_run {
    struct atb__settings set;
    /* The commands: main ones in cmds[0..nmain), cleanup ones after; each
     * part in id order (ids only grow), so an id is found by bisection. */
    struct atb__cmd **cmds;
    size_t n, cap, nmain;
    struct atb__cmd **incoming; /* added while the run goes on, not yet placed */
    size_t nin, capin;
    int next_id;
    struct atb__names names;     /* every name given or assigned so far */
    struct atb__names bases;     /* owned: default name -> next "#N" to try
                                    (value) and commands held with it (aux) */
    struct atb__bloom gone_bases; /* defaults whose every command was freed */
    struct atb__names retired;   /* owned: given names of freed commands, which
                                    no later command may take */
    int named;                   /* atb__names_assign() has run */
    struct atb__tally tally;
    size_t next;                 /* main commands before it are not queued */
    enum atb__stage stage;
    int depth;                   /* inside the run's watcher callbacks */
    int settling;
    int begun;                   /* the first settle has started the services */
    unsigned batch;              /* commands started in this settle */
    double batch_t0;             /* monotonic, when the first of them started */
    int yielded;                 /* this settle stopped starting early */
    struct ev_loop *loop;
    int use_pidfd;
    struct atb__launcher *launcher;
    struct atb__output out;
    struct atb__feed feed;
    /* the private latch scope (scope.c) */
    char *latch_dir;             /* owned, or NULL */
    int latch_lock;              /* owned flock fd, or -1 */
    char **base_env;             /* owned vector of borrowed strings, or NULL */
    char *base_own[2];           /* owned "ATB_LATCH_DIR=...", "ATB_RUN=..." */
    size_t base_keep;            /* base_env's first entries, kept under clear_env */
    char mark[24];               /* the guardian's token, or "" */
    struct atb__guard guard;     /* atb_run_exec() with a guardian */
    ev_timer timeout_w;
    ev_timer shield_w;
    ev_timer tick_w;
    ev_idle kick_w;              /* settle soon */
    ev_idle end_w;               /* the end: tear down, then done */
    ev_prepare tidy_w;           /* frees forgotten commands between callbacks */
    double t0, duration;
    /* what has happened (sched.c) */
    int stopping;                /* cancelled: no main command starts any more */
    int cancel_due;              /* policy or the deadline asked to cancel all */
    int drain_due;               /* policy asked to start no more (halt soon) */
    int timed_out;
    int cleanup_phase;
    int services_done;
    int asked, acted;            /* atb_run_cancel() calls asked for / acted on */
    int ask_first, ask_last;     /* the signals the first and the latest send */
    int cause_first, cause_last; /* and the signals they stand for (a caught
                                    SIGALRM cancels with SIGTERM) */
    int interrupted;             /* the first such signal, or 0 */
    int killed_at_once;          /* a later one, or 0 */
    int failure;                 /* atb's own failure, or 0 */
    struct atb__cmd *first_failure;
    struct atb__cmd *first_cleanup_failure;
    struct atb__cmd *winner;
    size_t forgettable;          /* finished and forgettable, not yet freed */
    int next_block;              /* keep_order: the id whose block is due */
    unsigned char *slots;        /* owned: slot_env, 1 for each slot held */
    size_t nslots;
    size_t forgotten;            /* freed: counted, no longer listed */
    size_t probes_live;          /* exec probes whose group is not gone yet */
    size_t retrying;             /* attempts ended, to be tried again, not yet
                                    DELAYED: work that keeps services up */
    unsigned long walks;         /* dependency walks so far (deps.c) */
    struct atb_error error;
    struct atb_counts counts;
    atb_run_done_cb done;
    void *done_data;
    struct atb__exec *exec;      /* atb_run_exec()'s state, or NULL */
};

/* Finds command id (NULL: unknown, or freed). */
struct atb__cmd *atb__cmd_by_id(const struct atb_run *run, int id);

#endif
