/* atb/run.h: a run is a set of commands started and awaited as one unit
 * under one of the four modes. Included by atb.h; do not include directly.
 *
 * Life of a run: atb_run_new(), atb_run_add() once per command,
 * atb_run_exec() (blocks until every command and every process it started
 * has ended), then read the results and write reports, atb_run_free().
 */
#ifndef ATB_RUN_H
#define ATB_RUN_H

#include <stddef.h>
#include <sys/types.h>

struct atb_run;

enum atb_mode {
    ATB_MODE_POOL,     /* first failure cancels the rest */
    ATB_MODE_TRY_ALL,  /* the same as pool, named after try_all() */
    ATB_MODE_WAIT_ALL, /* run everything to the end */
    ATB_MODE_RACE      /* the first to end wins, the rest are cancelled */
};

/* How children are watched: pidfds with io watchers on a private loop, or
 * SIGCHLD with libev child watchers on the default loop. AUTO tries pidfds
 * and falls back when pidfd_open() fails with ENOSYS. */
enum atb_watch { ATB_WATCH_AUTO, ATB_WATCH_PIDFD, ATB_WATCH_SIGCHLD };

/* Where the commands' output goes. AUTO: inherit for one command, prefix
 * for two or more. */
enum atb_output { ATB_OUTPUT_AUTO, ATB_OUTPUT_INHERIT, ATB_OUTPUT_PREFIX, ATB_OUTPUT_GROUP };
enum atb_color { ATB_COLOR_AUTO, ATB_COLOR_ALWAYS, ATB_COLOR_NEVER };

struct atb_opts {
    enum atb_mode mode;
    unsigned jobs;      /* at most this many running at once; 0: no limit */
    int cancel_signal;  /* first signal of a cancel (default SIGTERM) */
    double grace_s;     /* then SIGKILL after this long (default 5) */
    double timeout_s;   /* deadline for the whole run; 0: none */
    int first_success;  /* race: only a success wins */
    /* Non-zero: while atb_run_exec() runs, SIGINT, SIGTERM and SIGHUP are
     * caught (process-wide handlers) and cancel the run with that signal; a
     * second one kills at once. SIGINT and SIGHUP that were ignored on entry
     * (nohup, background jobs) are left alone; a blocked mask is lifted for
     * the run. A signal counts as a second one only 0.1 s after the first
     * (one cancel can arrive twice at once). The handlers are reset to
     * SIG_DFL and the mask restored when atb_run_exec() returns. */
    int handle_signals;
    enum atb_watch watch;
    enum atb_output output;
    const char *prefix;   /* prefix format (borrowed); NULL: "[{name}] " */
    enum atb_color color;
    int no_pad;           /* do not pad prefixes to a common width */
    int group_markers;    /* group mode: GitHub Actions ::group:: blocks */
    const char *input;    /* the command (by name) that gets atb's stdin */
    /* Once the run is interrupted, shielded commands are cancelled after
     * this long, as a second interrupt would; 0: they are waited for. */
    double shield_wait_s;
    /* Non-zero: the run makes a private latch folder, exports it to every
     * command as ATB_LATCH_DIR, and removes it at the end (see atb-latch(1)).
     * The caller decides; atb leaves it off when ATB_LATCH_DIR is already
     * set, so nested runs share their parent's scope. */
    int latch_scope;
    /* Non-zero: a status line on stderr (running, done, failed, queued,
     * elapsed, ETA), redrawn at most 10 times a second and cleared around
     * the commands' output. Needs output through atb (not inherit); the
     * caller decides whether stderr is a terminal. */
    int progress;
    /* Keep the last keep_output bytes of each command's output (prefix and
     * group modes), for atb_run_output(): a JUnit report's system-out. */
    size_t keep_output;
    const char *label;    /* the report's name for the run; NULL: the mode */
    /* Commands that arrive while the run goes on (atb pool --stdin): when
     * feed_line is set, lines are read from feed_fd as they come and
     * feed_line is called with each (without its newline); it may call
     * atb_run_add() to start a command soon. A negative return stops the
     * run as atb's own error (status 125). The run ends at end of file once
     * every command has ended. Reading pauses while commands wait for a
     * slot, and commands that succeeded are counted, then freed (so
     * memory stays flat): they are not among the results. */
    /* Called (when set) each time handle_signals catches a signal, with the
     * number of such signals so far; for a person at a terminal to be told
     * what happens next. */
    void (*on_signal)(struct atb_run *run, int signo, int count, void *data);
    void *signal_data;
    int feed_fd;
    int (*feed_line)(struct atb_run *run, const char *line, size_t len, void *data);
    void *feed_data;
};

/* After atb_run_exec() failed with ATB_EDEPS or ATB_EREGEX: what is wrong,
 * naming the commands ("cycle: app -> db -> app"). Owned by the run. */
const char *atb_run_error(const struct atb_run *run);

/* Checks a prefix format: 0, or ATB_EPREFIX for an unknown placeholder. */
int atb_prefix_check(const char *format);

/* Fills opts with the defaults. */
void atb_opts_init(struct atb_opts *opts);

/* Returns "pool", "try-all", "wait-all" or "race". */
const char *atb_mode_name(enum atb_mode mode);

/* Parses a mode name. Returns 0, or ATB_EMODE. */
int atb_mode_parse(const char *text, enum atb_mode *mode);

/* A command to add to a run. atb_run_add() copies everything it points to.
 * Exactly one of argv and shell is set; every other field may be left 0. */
struct atb_cmd {
    const char *name;   /* unique within the run; NULL: a default name */
    char *const *argv;  /* NULL-terminated; argv[0] is searched in PATH */
    const char *shell;  /* a command line for /bin/sh -c */
    /* NULL-terminated changes to the environment: "NAME=VALUE" sets NAME,
     * a bare "NAME" unsets it. Applied to atb's environment, or to an
     * empty one when clear_env is set. */
    char *const *env;
    int clear_env;
    const char *cwd;    /* working directory (as given; NULL: atb's own) */
    double timeout_s;   /* this command's own time limit; 0: none */
    int service;        /* runs alongside; cancelled once the others end */
    int shield;         /* never cancelled by the run (only killed by a
                           second interrupt) */
    int cleanup;        /* runs after all other commands have ended */
    /* Readiness and dependencies (see atb-spec(5)). A command is ready when
     * a line of its output matches ready_when (a POSIX extended regex), or
     * without one when it exits successfully; ready_timeout_s bounds the
     * wait (0: none). sets names a latch set when it becomes ready. The
     * command starts only once every wait_for entry (a command name, or a
     * latch some command sets) is ready. */
    const char *ready_when;
    double ready_timeout_s;
    const char *sets;
    char *const *wait_for;  /* NULL-terminated, or NULL */
};

/* One command's words inside a larger argv (borrowed from it). */
struct atb_argv_group {
    char *const *argv;
    int argc;
};

/* Splits argv into groups at each argument equal to sep. groups must have
 * room for argc entries. Returns 0, or -EINVAL when argv is empty or a
 * group would be (a separator first, last or twice in a row). */
int atb_argv_split(int argc, char *const argv[], const char *sep,
                   struct atb_argv_group *groups, size_t *ngroups);

/* Writes into buf (truncated to size) the default name of a command: the
 * basename of its program, for a shell command of its first word. Returns
 * the full length of the name. */
size_t atb_name_default(const char *program, int shell, char *buf, size_t size);

enum atb_state {
    ATB_STATE_QUEUED,      /* not started yet (only during the run) */
    ATB_STATE_RUNNING,     /* started, not ended yet (only during the run) */
    ATB_STATE_SUCCEEDED,
    ATB_STATE_FAILED,
    ATB_STATE_CANCELLED,   /* atb signalled it, however it then ended */
    ATB_STATE_NOT_STARTED, /* the run was cancelled before its turn */
    ATB_STATE_TIMED_OUT    /* its own time limit ended it */
};

/* Returns "succeeded", "failed", ... as used in reports ("waiting" for a
 * queued command whose dependencies are not ready yet is only shown while
 * the run goes on). */
const char *atb_state_name(enum atb_state state);

enum atb_outcome {
    ATB_OUTCOME_SUCCEEDED,
    ATB_OUTCOME_FAILED,
    ATB_OUTCOME_TIMED_OUT,
    ATB_OUTCOME_INTERRUPTED /* a signal to atb cancelled the run */
};

/* Returns "succeeded", "failed", "timed_out" or "interrupted". */
const char *atb_outcome_name(enum atb_outcome outcome);

/* What happened to one command; owned by the run, valid until atb_run_free(). */
struct atb_result {
    const char *name;
    char *const *argv;
    enum atb_state state;
    pid_t pid;          /* 0 when no process was started */
    int exit_code;      /* -1 unless it exited */
    int term_signal;    /* the signal that ended it, or 0 */
    int sent_signal;    /* the graceful signal atb sent it, or 0 */
    int killed;         /* atb sent SIGKILL after the grace period */
    int start_error;    /* 0, or the negative errno of a failed start */
    const char *error;  /* static text such as "service exited early", or NULL */
    int service;        /* it was a service */
    int cleanup;        /* it was a cleanup command */
    double started_s;   /* since the run began; -1 when never started */
    double duration_s;  /* 0 when never started */
};

struct atb_run;

/* Creates an empty run with a copy of opts (NULL: defaults). The caller owns
 * *out and frees it with atb_run_free(). Returns 0 or -ENOMEM. */
int atb_run_new(struct atb_run **out, const struct atb_opts *opts);

/* Adds a command (copied); during a run, only from a feed_line callback.
 * A command without a name gets its default name
 * when the run starts, made unique with "#2", "#3"... Returns its index,
 * -EEXIST when the name is taken, -EINVAL for an empty command, or -ENOMEM. */
int atb_run_add(struct atb_run *run, const struct atb_cmd *cmd);

/* Runs every command to the end under the run's mode and waits for all of
 * them and their descendants: it marks the process a child subreaper and, at
 * the end, kills any descendant still alive. Returns 0 when the run took
 * place (whatever its commands did) or a negative errno when atb itself
 * could not (no event loop, for one). Can be called once per run. */
int atb_run_exec(struct atb_run *run);

/* Results, valid after atb_run_exec(). */
size_t atb_run_count(const struct atb_run *run);
const struct atb_result *atb_run_result(const struct atb_run *run, size_t i);
const struct atb_opts *atb_run_opts(const struct atb_run *run);
enum atb_outcome atb_run_outcome(const struct atb_run *run);
/* The status a shell would want: see the exit status table in atb(1). */
int atb_run_exit_status(const struct atb_run *run);
/* The signal that interrupted the run, or 0. */
int atb_run_signal(const struct atb_run *run);
/* The race winner's index, or -1. */
int atb_run_winner(const struct atb_run *run);
double atb_run_duration(const struct atb_run *run);

/* The last opts.keep_output bytes command i wrote (stdout and stderr in the
 * order they were read; in group mode, where a command writes into files,
 * its stdout followed by its stderr), with their length in *len; NULL when
 * none were kept. Owned by the run. */
const char *atb_run_output(const struct atb_run *run, size_t i, size_t *len);

/* Frees the run; safe on NULL. */
void atb_run_free(struct atb_run *run);

#endif
