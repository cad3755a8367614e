/* atb/run.h: a run is a set of commands started and awaited as one unit
 * under one of the four modes. Included by atb.h; do not include directly.
 *
 * Life of a run: atb_run_new(), setters, atb_run_add() once per command,
 * then either atb_run_start() on the caller's libev loop (returns at once;
 * the done callback says when everything has ended) or atb_run_exec()
 * (a private loop, blocks until the end). Then read the results by id and
 * atb_run_free().
 *
 * Embedded on the caller's loop, a run installs no signal handler, changes
 * no signal mask, disposition, resource limit or subreaper flag, and never
 * waits for, signals or kills a process that is not its own: its commands'
 * leaders and their process groups. On libev's default loop its children's
 * statuses come from ev_child watchers (libev reaps every child there; the
 * caller's own ev_child watchers keep working); on any other loop from
 * pidfds (Linux 5.3 and later), so nothing else in the process can take
 * them — unless the process has a default loop, which reaps every child
 * whenever it runs: such a process runs its runs on that loop. Two runs
 * can share a loop. Neither way survives a host that reaps children it
 * does not own (wait(), waitpid(-1), SIGCHLD ignored or SA_NOCLDWAIT): a
 * command whose status was taken so ends FAILED with that said in its
 * error, and the run goes on.
 *
 * Threads: a run and its loop belong to one thread; the library keeps no
 * global state of its own, so runs on different loops in different threads
 * share only what the process shares (its children, its default loop).
 */
#ifndef ATB_RUN_H
#define ATB_RUN_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct atb_run;
struct ev_loop;
struct atb_error;
struct atb_probe;
struct atb_slurm;

enum atb_mode {
    ATB_MODE_POOL,     /* first failure cancels the rest */
    ATB_MODE_TRY_ALL,  /* the same as pool, named after try_all() */
    ATB_MODE_WAIT_ALL, /* run everything to the end */
    ATB_MODE_RACE      /* the first to end wins, the rest are cancelled */
};

/* How children are watched (see the top of this file). AUTO picks by loop:
 * child watchers on the default loop, pidfds elsewhere; atb_run_exec() uses
 * a private loop with pidfds, or the default loop where pidfd_open() fails
 * (ENOSYS, or EPERM under an old seccomp filter). */
enum atb_watch { ATB_WATCH_AUTO, ATB_WATCH_PIDFD, ATB_WATCH_SIGCHLD };

/* Where the commands' output goes.
 *   AUTO     inherit for a run of one command, else prefix;
 *   INHERIT  the commands write to the output fds themselves;
 *   PREFIX   every line is written with its command's prefix;
 *   GROUP    each command's output is written as one block once it ended;
 *   EVENTS   every line goes to the event callback (ATB_EVENT_OUTPUT) and
 *            nothing is written. */
enum atb_output { ATB_OUTPUT_AUTO, ATB_OUTPUT_INHERIT, ATB_OUTPUT_PREFIX, ATB_OUTPUT_GROUP,
                  ATB_OUTPUT_EVENTS };

/* Colours in prefixes and group headers. AUTO (the default) is the
 * caller's to resolve: the library colours a stream only when told ALWAYS,
 * and never looks at terminals itself. */
enum atb_color { ATB_COLOR_AUTO, ATB_COLOR_ALWAYS, ATB_COLOR_NEVER };

/* Returns "pool", "try-all", "wait-all" or "race" ("?" for a value out of
 * range); parses one (0, or ATB_EMODE). */
const char *atb_mode_name(enum atb_mode mode);
int atb_mode_parse(const char *text, enum atb_mode *mode);

/* The same for outputs ("auto", "inherit", "prefix", "group", "events"; the
 * parser takes every one but "auto") and colours ("auto", "always",
 * "never"). Parsers return 0 or -EINVAL. */
const char *atb_output_name(enum atb_output output);
int atb_output_parse(const char *text, enum atb_output *output);
const char *atb_color_name(enum atb_color color);
int atb_color_parse(const char *text, enum atb_color *color);

/* Checks a prefix format: 0, or ATB_EPREFIX for an unknown placeholder
 * (known: {name}, {index}, {pid}, {time}). */
int atb_prefix_check(const char *format);

/* Creates an empty run with the defaults: pool, no -j limit, SIGTERM then
 * SIGKILL after 5 s, no deadline, output AUTO to fds 1 and 2, no colour.
 * The caller owns *out and frees it with atb_run_free(). Returns 0 or
 * -ENOMEM. */
int atb_run_new(struct atb_run **out);

/* Frees the run and everything it owns; safe on NULL. Meant for a run that
 * has ended (its done callback called): one freed while it goes on has its
 * groups killed with SIGKILL and is not waited for. */
void atb_run_free(struct atb_run *run);

/* Settings. Each may be called only before the run starts (ATB_ESTATE
 * after) and returns 0, -EINVAL for a value out of range, or the code
 * named. Strings are copied. */
int atb_run_set_mode(struct atb_run *run, enum atb_mode mode);
/* race: only a success wins (default: whoever ends first). */
int atb_run_set_first_success(struct atb_run *run, int on);
/* At most jobs commands at once (services and the cleanup phase aside:
 * see atb-spec(5)); 0: no limit. */
int atb_run_set_jobs(struct atb_run *run, unsigned jobs);
/* A cancel sends signo (1..64) to each command's process group, then
 * SIGKILL after grace_s (>= 0). */
int atb_run_set_cancel(struct atb_run *run, int signo, double grace_s);
/* The deadline of the main commands, from the start; 0: none. When it
 * passes the run is cancelled and its outcome is ATB_OUTCOME_TIMED_OUT. */
int atb_run_set_timeout(struct atb_run *run, double seconds);
/* AUTO is resolved at the start: inherit for a run of exactly one command
 * (cleanup commands count) and no feed, else prefix. */
int atb_run_set_output(struct atb_run *run, enum atb_output output);
/* Where output goes (defaults 1 and 2); the fds stay the caller's and must
 * stay open until the run has ended. Writes to them block (that is the
 * back-pressure on the commands), also on a non-blocking fd, which is
 * polled until it takes them; a write to a pipe whose reader is gone
 * raises SIGPIPE unless the process ignores it (the atb program does), and
 * after EPIPE that fd gets nothing more. */
int atb_run_set_output_fds(struct atb_run *run, int out_fd, int err_fd);
/* The prefix format (NULL: "[{name}] "); ATB_EPREFIX for an unknown
 * placeholder. */
int atb_run_set_prefix(struct atb_run *run, const char *format);
/* Each command gets the variable name in its environment, set to its job
 * slot: a number from 1 that no other running command holds, the lowest
 * free one when it starts (so with -j N, 1 to N), given back when it
 * finishes; GNU parallel's {%}, for sharing N of something (GPUs, ports,
 * databases). NULL: none (the default). -EINVAL for "", a name with
 * '=' or one over 100 bytes. */
int atb_run_set_slot_env(struct atb_run *run, const char *name);
/* pool and try-all: with on not 0, a failure starts nothing more (queued
 * commands are not started, the feed stops) but cancels nothing: what
 * runs goes on to its end, and the run fails then (GNU parallel's --halt
 * soon,fail=1). A deadline and atb_run_cancel() still cancel. */
int atb_run_set_halt_soon(struct atb_run *run, int on);
/* Group mode: with on not 0, blocks come out in the order the commands
 * were added (a block waits for those before it), not as commands finish;
 * cleanup commands' blocks come when they finish. */
int atb_run_set_keep_order(struct atb_run *run, int on);
/* The retries of commands that leave theirs to the run (see struct
 * atb_cmd): up to retries more attempts (at most 1000; default 0), the
 * first delay_s (>= 0; default 0) after a failed attempt ended, each next
 * one backoff times the one before (1 to 1000; 0 means 1). Services are
 * never retried. */
int atb_run_set_retries(struct atb_run *run, unsigned retries);
int atb_run_set_retry_delay(struct atb_run *run, double delay_s, double backoff);
/* Prefixes are padded to a common width (the default) unless on is 0. */
int atb_run_set_pad(struct atb_run *run, int on);
/* stream: 1 (stdout), 2 (stderr), or 0 for both. */
int atb_run_set_color(struct atb_run *run, int stream, enum atb_color color);
/* Group mode: the lines around each block. In them "{name}" is the
 * command's name (with " k/N" on a retried attempt, as in prefixes),
 * "{index}" its id + 1, "{started}" and "{ended}" the Unix times (whole
 * seconds) it started and ended (a block comes once it has ended). NULL,
 * NULL: "==> {name} <==" before, nothing after. Each should end with a
 * newline. */
int atb_run_set_group_header(struct atb_run *run, const char *before, const char *after);
/* on: exec probes write their output to the run's stderr fd; 0 (the
 * default): it is discarded. */
int atb_run_set_probe_output(struct atb_run *run, int on);
/* Gives the command named name (looked up when the run is checked:
 * ATB_ENONAME from atb_run_check() when none has it) a copy of probe as
 * its ready_probe (health 0) or health_probe (health 1), as if its struct
 * atb_cmd had it; ATB_EPROBE from the check when it has one already. For
 * callers that name commands only after adding them (the atb program's
 * --ready-probe). NULL probe: none set here. */
int atb_run_set_probe(struct atb_run *run, const char *name, int health,
                      const struct atb_probe *probe);
/* Group mode: a command that failed (or timed out) without writing
 * anything still gets a block, holding text ("(no output)\n", say), so
 * that a failure is never silent; NULL (the default): no block. */
int atb_run_set_group_empty(struct atb_run *run, const char *text);
/* The command named name reads fd (the caller's) as its stdin; every other
 * command reads /dev/null. The name is looked up when the run is checked
 * (ATB_ENONAME from atb_run_check() when no command has it). name NULL:
 * none does. */
int atb_run_set_input(struct atb_run *run, const char *name, int fd);
/* The same, for the command with this id (from atb_run_add()); it replaces
 * a name given to atb_run_set_input(), and that replaces it. ATB_ENONAME
 * for an unknown id; id -1: none reads fd. */
int atb_run_set_input_id(struct atb_run *run, int id, int fd);
/* The input command runs in the foreground of the terminal at tty_fd (the
 * caller's, which stays open for the run): its process group becomes the
 * terminal's foreground group when it starts, so that it can read the
 * terminal and gets the signals typed there (^C, ^Z) instead of the
 * caller, and the caller's group takes the terminal back when the
 * command's process ends (blocking SIGTTOU for that call). The caller
 * should give one only when its own group is the terminal's foreground
 * group (tcgetpgrp()), or it takes the terminal from whoever has it.
 * tty_fd -1: none (the default). */
int atb_run_set_foreground(struct atb_run *run, int tty_fd);
/* Once the run is cancelled from outside (atb_run_cancel(), or a caught
 * signal), shielded commands are cancelled after this long, as a second
 * cancel would; 0 (the default): they are waited for. */
int atb_run_set_shield_wait(struct atb_run *run, double seconds);
/* on: the run names a private latch folder, exports it to every command as
 * ATB_LATCH_DIR, and removes it at the end (see atb-latch(1)); the folder
 * is made only when used: by the run for a command's sets, else by the
 * first process that makes ATB_LATCH_DIR its latch folder. */
int atb_run_set_latch_scope(struct atb_run *run, int on);
/* Keep the last bytes of each command's output (prefix, group and events
 * modes) for atb_run_output(); 0: none. */
int atb_run_set_keep_output(struct atb_run *run, size_t bytes);
/* ATB_EVENT_TICK every interval_s (at least 0.001) while the run goes on;
 * 0: never. */
int atb_run_set_tick(struct atb_run *run, double interval_s);
int atb_run_set_watch(struct atb_run *run, enum atb_watch watch);
/* atb_run_exec() only (atb_run_start() refuses a run with it set, -EINVAL):
 * while it runs, the signals of atb_run_signals() are caught and cancel the
 * run as atb_run_cancel() does; see atb_run_exec(). */
int atb_run_set_catch_signals(struct atb_run *run, int on);

/* Where commands run (see "Running on Slurm" in libatb(3)).
 *   LOCAL  process groups on this machine (the default);
 *   SLURM  each command through srun(1): a job of its own named
 *          atb-TOKEN-NAME, or a step of the allocation the process is in
 *          (SLURM_JOB_ID set). Cancels go through scancel(1), the task
 *          getting the cancel signal; escalation after the grace is
 *          scancel's. srun's own stderr lines are kept out of the
 *          command's output; a task that could not be executed ends with
 *          start_error -ENOENT or -EACCES as locally. Probes and the
 *          foreground terminal stay local. */
enum atb_launcher { ATB_LAUNCHER_LOCAL, ATB_LAUNCHER_SLURM };
int atb_run_set_launcher(struct atb_run *run, enum atb_launcher launcher);

/* atb_run_exec() only (atb_run_start() refuses it, -EINVAL): a guardian
 * process watches this one for the run's duration and, should it die
 * before the end without a word (SIGKILL, the OOM killer), cancels what it
 * left: every command's process group and every process whose ATB_RUN
 * carries the run's token (descendants that left their group), with the
 * cancel signal, then SIGKILL after the grace. Every command gets ATB_RUN
 * (a colon-separated list: nested runs add theirs). The guardian is forked
 * from the calling process, so that process must be single-threaded. When
 * it cannot be forked (-EAGAIN under ulimit -u), atb_run_exec() starts
 * nothing and returns why, with atb_run_error()'s key "guardian". */
int atb_run_set_guardian(struct atb_run *run, int on);

/* Stores in signals (room for size) the numbers of the signals
 * atb_run_exec() catches with catch_signals, and returns how many there
 * are (at most 64): every signal whose default action ends the process and
 * that someone sends to ask it to stop: HUP, INT, QUIT, TERM, USR1, USR2,
 * ALRM, XCPU, XFSZ, VTALRM, PROF, PWR, STKFLT, IO and the real-time ones;
 * not SIGPIPE (a reader that went away is EPIPE to atb), nor the faults
 * (SEGV, BUS...). A program that catches them this way blocks them from
 * its first instruction, so that one that comes before the run is not
 * lost. */
size_t atb_run_signals(int *signals, size_t size);

/* Getters of the settings above. */
enum atb_mode atb_run_get_mode(const struct atb_run *run);
int atb_run_get_first_success(const struct atb_run *run);
unsigned atb_run_get_jobs(const struct atb_run *run);
int atb_run_get_cancel_signal(const struct atb_run *run);
double atb_run_get_grace(const struct atb_run *run);
double atb_run_get_timeout(const struct atb_run *run);
enum atb_output atb_run_get_output(const struct atb_run *run);
enum atb_color atb_run_get_color(const struct atb_run *run, int stream);
const char *atb_run_get_input(const struct atb_run *run); /* owned by the run, or NULL */
unsigned atb_run_get_retries(const struct atb_run *run);
double atb_run_get_retry_delay(const struct atb_run *run);
double atb_run_get_retry_backoff(const struct atb_run *run); /* 0: 1 */
enum atb_launcher atb_run_get_launcher(const struct atb_run *run);

/* What happens during a run, as it happens. */
enum atb_event_kind {
    ATB_EVENT_STARTED = 1, /* id's process started (result: pid, started_s) */
    ATB_EVENT_READY,       /* id became ready (ready_when matched; or it
                              exited 0, and then READY follows its ENDED) */
    ATB_EVENT_CANCELLED,   /* id was sent signo to cancel it */
    ATB_EVENT_ENDED,       /* id has its result: its leader ended, it could not
                              start, or it will never start */
    ATB_EVENT_FINISHED,    /* nothing of id is left: its process group is gone
                              and its output read; once per id, after ENDED */
    ATB_EVENT_OUTPUT,      /* output EVENTS: a line of id's stream (1 or 2),
                              without its newline, in data and len (lines over
                              64 KiB come in pieces) */
    ATB_EVENT_WRITING,     /* the run is about to write commands' output to the
                              output fds: a caller drawing on the same terminal
                              clears its line now */
    ATB_EVENT_SIGNAL,      /* atb_run_exec() caught signo, the count-th so far */
    ATB_EVENT_TICK,        /* atb_run_set_tick()'s interval passed */
    ATB_EVENT_HELD,        /* group mode: id's output cannot go to a temporary
                              file (error: a negative errno; -ENOSPC when
                              $TMPDIR has less than 64 MiB free), so it is
                              held in memory, up to ATB_GROUP_HOLD_MAX
                              bytes; once per id */
    ATB_EVENT_LOOSE,       /* group mode: id's held output outgrew memory:
                              what it holds is written now, after its
                              header, and the rest as it comes; once per id */
    ATB_EVENT_KILLED,      /* id's process group got SIGKILL: the grace ran
                              out, or a second cancel */
    ATB_EVENT_PROBE_FAILED, /* an attempt of id's probe failed: count the
                              failures in a row so far, stream 1 for its
                              ready_probe, 2 for its health_probe, error a
                              negative errno (-ETIMEDOUT, -ECONNREFUSED) or
                              ATB_EPROBE (an exec probe's non-zero status, an
                              HTTP status not 2xx), data and len what it
                              got ("exit 1", "HTTP 503"), not NUL-terminated */
    ATB_EVENT_RETRY        /* id's attempt failed and another starts in
                              delay_s: the failed one is atb_run_attempt(run,
                              id, count - 2), count the next attempt's
                              number (2 for the first retry) */
};
#define ATB_GROUP_HOLD_MAX (16u * 1024 * 1024)

struct atb_event {
    enum atb_event_kind kind;
    int id;           /* the command, or -1 */
    int signo, count; /* CANCELLED, SIGNAL */
    int stream;       /* OUTPUT: 1 stdout, 2 stderr */
    const char *data; /* OUTPUT: the line (not NUL-terminated) */
    size_t len;
    int error;        /* HELD: why there is no file (negative errno) */
    double delay_s;   /* RETRY */
};

/* Called for every event; the event is valid during the call only. The
 * callback may read results and counts and call atb_run_add() and
 * atb_run_cancel(); it must not free the run. */
typedef void (*atb_event_cb)(struct atb_run *run, const struct atb_event *ev, void *data);
int atb_run_on_event(struct atb_run *run, atb_event_cb cb, void *data);

/* Commands that arrive while the run goes on: lines are read from fd (the
 * caller's; blocking or not) as they come and cb is called with each: len
 * bytes without the newline (a carriage return before it is kept), not
 * NUL-terminated; it may call atb_run_add(). A negative return stops the
 * run as atb's own failure (atb_run_failure()). The run ends at end of
 * file, or at a read error, which counts as the end, once every command has
 * ended; a last line without a newline still counts. Reading pauses while
 * commands wait for a slot, and commands that succeeded are counted, then
 * freed, so memory stays flat: their ids are then unknown to
 * atb_run_result() and atb_run_unlisted() counts them. A line longer than
 * the limit (atb_run_set_feed_max()) is dropped, and cb is called for it
 * with line NULL and len the longest line taken, so that the count of
 * lines stays right; the run goes on. */
typedef int (*atb_feed_cb)(struct atb_run *run, const char *line, size_t len, void *data);
int atb_run_set_feed(struct atb_run *run, int fd, atb_feed_cb cb, void *data);
/* What ends a fed line: '\n' (the default) or '\0' (find -print0). */
int atb_run_set_feed_delim(struct atb_run *run, int delim);
/* The most bytes a fed line takes with its end (default: the system's
 * ARG_MAX, the most one command's arguments can hold); the buffer grows to
 * it as needed. */
int atb_run_set_feed_max(struct atb_run *run, size_t max);

/* A probe: how the run asks a command whether it is ready (ready_probe)
 * or still healthy (health_probe), instead of reading its output. Exactly
 * one way:
 *   EXEC  argv (run directly) or shell (a line for /bin/sh -c): a success
 *         is exit status 0. It runs as the run's child in a process group
 *         of its own, with the command's environment and folder, stdin
 *         /dev/null and its output discarded (atb_run_set_probe_output());
 *         killed when its attempt times out or the command ends.
 *   TCP   target "HOST:PORT": a success is a connection accepted;
 *   HTTP  target "http://HOST:PORT/PATH" (no TLS): a success is a 2xx
 *         status line to "GET /PATH HTTP/1.0".
 * HOST is a name, an IPv4 address or a bracketed IPv6 one ("[::1]:80"),
 * resolved with getaddrinfo() at each attempt (so a blocking lookup for a
 * name that is not in /etc/hosts). The first attempt comes initial_delay_s
 * after the command started, the next ones interval_s after the previous
 * one ended; each may take timeout_s. */
enum atb_probe_kind { ATB_PROBE_NONE, ATB_PROBE_EXEC, ATB_PROBE_TCP, ATB_PROBE_HTTP };
struct atb_probe {
    enum atb_probe_kind kind;
    char *const *argv;        /* EXEC: NULL-terminated, or */
    const char *shell;        /* EXEC: a command line */
    const char *target;       /* TCP, HTTP */
    double interval_s;        /* 0: 0.2 s */
    double timeout_s;         /* 0: 1 s */
    double initial_delay_s;   /* 0: none */
    unsigned failures;        /* health_probe: failures in a row that fail
                                 the run; 0: 3 */
};

/* A command to add to a run. Fill it from ATB_CMD_INIT, then set what is
 * needed; atb_run_add() copies everything it points to. Exactly one of argv
 * and shell is set. */
struct atb_cmd {
    size_t size;        /* sizeof(struct atb_cmd), set by ATB_CMD_INIT */
    const char *name;   /* unique within the run; NULL: a default name */
    char *const *argv;  /* NULL-terminated; argv[0] is searched in PATH */
    const char *shell;  /* a command line for /bin/sh -c */
    /* NULL-terminated changes to the environment: "NAME=VALUE" sets NAME,
     * a bare "NAME" unsets it. Applied to the process's environment, or to
     * an empty one when clear_env is set. */
    char *const *env;
    int clear_env;
    const char *cwd;    /* working directory (as given; NULL: the process's) */
    double timeout_s;   /* this command's own time limit; 0: none */
    int service;        /* runs alongside; cancelled once the others end */
    int shield;         /* never cancelled by the run (only by a second
                           cancel, or atb_run_set_shield_wait()) */
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
    /* Without a name: what the default name is made from instead of the
     * program ("a.log" for `gzip a.log`), made unique the same way
     * ("a.log#2"); not empty. */
    const char *label;
    /* Retries: a failed attempt is started again, up to retries more
     * times, retry_delay_s after it ended, the delay multiplied by
     * retry_backoff (>= 1) after each retry. An attempt is retried when it
     * failed or ran past its own time limit, not when the run cancelled
     * it, it could not start, it had become ready, or the run is stopping
     * (a failure elsewhere, the deadline, a cancel). Only its last
     * attempt's end counts for the run (a pool cancels the rest then). A
     * service is never retried (ATB_ERETRY from atb_run_check()). Each
     * field at its ATB_CMD_INIT value takes the run's (see
     * atb_run_set_retries()): retries -1, retry_delay_s -1, retry_backoff
     * 0. */
    int retries;
    double retry_delay_s;
    double retry_backoff;
    /* ready_probe: the command is ready at the probe's first success (not
     * with ready_when; ready_timeout_s bounds the wait as for it), and
     * stays up until it ends. health_probe (a service only): once it is
     * ready, that many failures in a row end it as a failure of the run,
     * "service unhealthy". NULL: none. Copied. */
    const struct atb_probe *ready_probe;
    const struct atb_probe *health_probe;
    /* What srun gets for this command under ATB_LAUNCHER_SLURM (ignored
     * by the local launcher). NULL: srun's defaults. Copied. */
    const struct atb_slurm *slurm;
};

/* A command's Slurm resources: each field at 0 or NULL is left to srun's
 * defaults (the cluster's, or the allocation's). Strings are passed as
 * given once checked by atb_slurm_check(). */
struct atb_slurm {
    const char *partition;  /* --partition */
    unsigned cpus;          /* --cpus-per-task, 1 to 100000 */
    const char *mem;        /* --mem: a number with an optional K, M, G or T */
    const char *time;       /* --time: MIN, MIN:SEC, H:MIN:SEC, D-H, D-H:MIN
                               or D-H:MIN:SEC */
    unsigned nodes;         /* --nodes, 1 to 100000 */
    char *const *args;      /* NULL-terminated further srun options, or NULL */
};

/* 0 when s is valid, else -EINVAL with the offending field's name ("mem")
 * in *field (static). */
int atb_slurm_check(const struct atb_slurm *s, const char **field);

#define ATB_CMD_INIT {.size = sizeof(struct atb_cmd), .retries = -1, .retry_delay_s = -1}

/* Adds a command (copied). Before the start any number may be added; while
 * the run goes on, only main commands that neither wait for others nor set
 * latches (from an event or feed callback, or from the caller's own
 * watchers). A command without a name gets its default name (see
 * atb_name_default()) when the run starts, made unique with "#2", "#3"...
 * Returns the command's id: 0 for the first command added, then 1, 2...,
 * stable for the life of the run. Errors: -EINVAL for an empty or
 * malformed command (or cmd->size 0: not from ATB_CMD_INIT), ATB_EDUPNAME
 * when the name is taken, ATB_ESTATE after the run ended, -ENOMEM; while
 * the run goes on also -EINVAL for wait_for or sets, ATB_ESTATE for a
 * cleanup command and ATB_EREGEX for a bad ready_when (atb_run_error()
 * says what). A struct atb_cmd from a newer header than the library is
 * taken up to the fields this library knows; check atb_version() before
 * relying on a field added later. */
int atb_run_add(struct atb_run *run, const struct atb_cmd *cmd);

/* The one validator: names every unnamed command, then checks every rule
 * that involves the commands (the input command, what cleanup commands may
 * have, ready_when, sets, wait_for, cycles). Returns 0, or the first
 * problem's code with err (may be NULL) filled: which command, which key,
 * what: ATB_ENONAME (input), ATB_ECLEANUP, ATB_EREGEX, ATB_ELATCHNAME,
 * ATB_EDEPS (wait_for names nothing, waits for a service without
 * ready_when, a latch set by two commands, a cycle). atb_run_start() and
 * atb_run_exec() call it; call it yourself to learn of problems before
 * starting anything. Add every command first: until then an unnamed
 * command's result shows its default name without its "#N". */
int atb_run_check(struct atb_run *run, struct atb_error *err);

/* Called once, when every command and every process in their groups has
 * ended, from inside the loop. The run may be freed from here. */
typedef void (*atb_run_done_cb)(struct atb_run *run, void *data);

/* Starts the run on the caller's loop and returns at once; the run goes on
 * while the caller runs the loop, and done (may be NULL) is called at its
 * end. The loop must outlive the run. Returns 0, or a negative code with
 * nothing started: the atb_run_check() codes (see atb_run_error()),
 * -EINVAL (a watch mode the loop cannot have, or catch_signals set),
 * -ENOSYS (not the default loop, and no pidfds), -EBUSY (not the default
 * loop, but the process has one: it reaps every child, this run's too, so
 * the run must go on it), -EMFILE, -ENOMEM, ATB_ELATCHDIR, ATB_ESTATE
 * (started before). */
int atb_run_start(struct atb_run *run, struct ev_loop *loop, atb_run_done_cb done,
                  void *data);

/* Cancels a started run from outside: queued commands never start, running
 * ones get signo (0: the run's cancel signal; else 1..64, -EINVAL
 * otherwise) and SIGKILL after the grace,
 * shielded ones are left alone (see atb_run_set_shield_wait()). A second
 * call kills everything that is left at once, shielded commands included
 * (they get signo, then SIGKILL after the grace). The outcome becomes
 * ATB_OUTCOME_INTERRUPTED with signo. Returns at once: 0, or ATB_ESTATE
 * when the run is not going on. */
int atb_run_cancel(struct atb_run *run, int signo);

/* Runs every command to the end on a private loop and waits for all of
 * them and their descendants. Unlike an embedded run, this call takes the
 * process for its duration: it makes it a child subreaper (the flag's old
 * value is put back at the end), raises the soft limit on open files to the
 * hard one (children get the limit the process had; put back at the end),
 * reaps orphaned descendants, and at the end kills every child of the
 * process that was not there when it began (descendants that left their
 * command's process group). With atb_run_set_catch_signals(), the signals
 * of atb_run_signals() are blocked and read while it runs (from a
 * signalfd: no handler is installed; one ignored on entry stays ignored,
 * but SIGTERM): the first cancels the run (its outcome INTERRUPTED by that
 * signal), sending the commands HUP, INT, QUIT, TERM, USR1 or USR2 as it
 * is and SIGTERM for any other; another one at least 0.1 s later kills at
 * once; the mask is put back at the end, and one that arrived as the run
 * ended is taken as its interruption, never lost. Children the caller makes
 * during the call (from a callback) count as the run's for the sweep. In
 * SIGCHLD mode the call uses libev's default loop, which reaps every child
 * of the process, the caller's too (a child of the caller's that ends
 * during the call is reaped and its status lost to the caller); if the
 * caller has a default loop already, its watchers run during the call. Returns 0 when the run took place (whatever
 * its commands did) or a negative code as atb_run_start() (-ENOSYS for
 * ATB_WATCH_PIDFD where pidfds do not work). */
int atb_run_exec(struct atb_run *run);

/* After atb_run_start(), atb_run_exec() or atb_run_check() failed, or
 * atb_run_add() refused a command while the run goes on: what is wrong
 * (code 0 when nothing failed). Owned by the run. */
const struct atb_error *atb_run_error(const struct atb_run *run);

/* Returns "succeeded", "failed", ... as used in reports. */
enum atb_state {
    ATB_STATE_QUEUED,      /* not started yet (only during the run) */
    ATB_STATE_RUNNING,     /* started, not ended yet (only during the run) */
    ATB_STATE_SUCCEEDED,
    ATB_STATE_FAILED,
    ATB_STATE_CANCELLED,   /* atb signalled it, however it then ended */
    ATB_STATE_NOT_STARTED, /* the run was cancelled before its turn */
    ATB_STATE_TIMED_OUT    /* its own time limit ended it */
};
const char *atb_state_name(enum atb_state state);

enum atb_outcome {
    ATB_OUTCOME_SUCCEEDED,
    ATB_OUTCOME_FAILED,
    ATB_OUTCOME_TIMED_OUT,
    ATB_OUTCOME_INTERRUPTED /* atb_run_cancel() or a caught signal ended it */
};
/* Returns "succeeded", "failed", "timed_out" or "interrupted". */
const char *atb_outcome_name(enum atb_outcome outcome);

/* What happened to one command; owned by the run, valid until
 * atb_run_free(). Never a shell status: see atb(1) for the table the atb
 * program makes of these. */
struct atb_result {
    int id;
    const char *name;
    char *const *argv;  /* as started: a shell command is /bin/sh -c LINE */
    enum atb_state state;
    pid_t pid;          /* 0 when no process was started */
    int exit_code;      /* its exit status, or -1 unless it exited */
    int term_signal;    /* the signal that ended it, or 0 */
    int sent_signal;    /* the graceful signal the run sent it, or 0 */
    int killed;         /* the run sent its group SIGKILL */
    int start_error;    /* 0, or why it could not start: a negative errno
                           (-ENOENT: not found, -EACCES...) or ATB_ECWD */
    const char *error;  /* what else went wrong ("service exited early",
                           "dependency db failed"), or NULL */
    int service;
    int cleanup;
    int shield;
    double started_s;   /* since the run began (when it started, or was tried
                           and could not start); -1 when never tried */
    double duration_s;  /* 0 when never started */
    int attempt;        /* which attempt this is: 1, or more after retries
                           (see atb_run_attempt()); 0 before the first */
    int attempts_max;   /* 1 + the retries it may have */
    /* What its leader used, with the descendants it waited for, from the
     * kernel's accounting at its end (wait4()-style): CPU seconds in user
     * and system mode, and the largest resident set in KiB. -1 when not
     * known: not ended, never started, or watched through SIGCHLD (libev's
     * default loop reaps without asking). */
    double user_s, system_s;
    long max_rss_kib;
    /* Under ATB_LAUNCHER_SLURM: the job id and, inside an allocation, the
     * step id the command ran as, once srun said them; else -1. */
    long slurm_job, slurm_step;
};

/* How many ids have been given: results are atb_run_result(run, 0) up to
 * atb_run_result(run, atb_run_count(run) - 1). */
size_t atb_run_count(const struct atb_run *run);
/* The result of command id (at any time; final once its ENDED event
 * came), or NULL for an unknown id or one the feed freed. */
const struct atb_result *atb_run_result(const struct atb_run *run, int id);
/* The id of the command named name, or ATB_ENONAME. */
int atb_run_find(const struct atb_run *run, const char *name);

/* Counts while the run goes on (done: ended, not started included), owned
 * by the run and brought up to date by each call; like the results, it
 * only grows at its end. */
struct atb_counts {
    size_t queued, waiting, running, done, failed, total;
    int cancelling;     /* the run is cancelled: what is queued never starts */
};
const struct atb_counts *atb_run_counts(struct atb_run *run);

/* After the end. */
enum atb_outcome atb_run_outcome(const struct atb_run *run);
int atb_run_signal(const struct atb_run *run);      /* that interrupted it, or 0 */
int atb_run_failure(const struct atb_run *run);     /* atb's own failure that
                                                       stopped it (a negative code), or 0 */
int atb_run_winner(const struct atb_run *run);      /* race: the winner's id, or -1 */
/* The id of the first main command (cleanup: of the first cleanup
 * command) that failed or timed out, or -1. */
int atb_run_first_failure(const struct atb_run *run, int cleanup);
int atb_run_killed_at_once(const struct atb_run *run); /* the second cancel's signal, or 0 */
double atb_run_duration(const struct atb_run *run);
size_t atb_run_unlisted(const struct atb_run *run); /* succeeded, freed by the feed */

/* The last atb_run_set_keep_output() bytes command id wrote (stdout and
 * stderr in the order they were read; in group mode, where a command
 * writes into files, its stdout followed by its stderr), with their length
 * in *len; NULL when none were kept. Owned by the run. */
const char *atb_run_output(const struct atb_run *run, int id, size_t *len);

/* After atb_run_check() succeeded and before the start: takes command id
 * out of the run, as if it had never been added, except that its name
 * stays taken (so no other command's name changes). Its id becomes
 * unknown: atb_run_result() returns NULL for it, atb_run_count() does not
 * change. For a rerun of what failed (atb --rerun-failed). Returns 0,
 * ATB_ENONAME (no such id, or dropped already), ATB_ESTATE (not checked
 * yet, or started), or ATB_EDEPS when a command left in the run waits for
 * it (drop that one first). */
int atb_run_drop(struct atb_run *run, int id);
/* After atb_run_check() succeeded: the id of the k-th (from 0) command
 * that command id waits for, its wait_for entries in order, each resolved
 * to the command it names or the one that sets that latch. Returns the id,
 * ATB_ENONAME when id is unknown or waits for k or fewer, or ATB_ESTATE
 * before a check that succeeded. */
int atb_run_wait_for(const struct atb_run *run, int id, size_t k);

/* Attempt k (from 0) of command id among those retried: each is a result
 * of its own (state FAILED or TIMED_OUT, its pid, codes, times and use),
 * for k up to result->attempt - 2; the last attempt is atb_run_result()
 * itself. NULL for any other k, an unknown id, or one the feed freed. */
const struct atb_result *atb_run_attempt(const struct atb_run *run, int id, int k);
/* What attempt k kept of its output (see atb_run_output()), or NULL. */
const char *atb_run_attempt_output(const struct atb_run *run, int id, int k, size_t *len);

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

/* Writes into buf (truncated to size, NUL-terminated when size > 0; buf may
 * be NULL with size 0) the default name of a command: the basename of its
 * program; for a shell command (shell not 0, program its line) the first
 * two words of its first command, leading NAME=value assignments skipped,
 * quotes taken off, the first word (and a second not starting with '-')
 * cut to its basename, the whole cut to 24 characters ("./bin/test -v;
 * echo" gives "test -v"). Control characters become '?'; "cmd" when
 * nothing is left. Returns the full length of the name. */
size_t atb_name_default(const char *program, int shell, char *buf, size_t size);

/* "Did you mean": the one of the n names (NULL entries skipped) closest to
 * word, within two edits, or NULL. */
const char *atb_nearest(const char *word, const char *const *names, size_t n);

#ifdef __cplusplus
}
#endif

#endif
