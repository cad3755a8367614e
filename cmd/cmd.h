/* The atb program's pieces: each subcommand turns its arguments into library
 * calls and the results into messages and an exit status. Only this side
 * knows about terminals, the environment, words for people and exit
 * statuses; the library reports what happened. */
#ifndef ATB_CMD_H
#define ATB_CMD_H

#include <stdio.h>

#include "atb.h"
#include "events.h"
#include "exit.h"

/* Prints "atb: MESSAGE" to stderr, err(3)-style. */
void cmd_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Each returns the exit status; argv[0] is the subcommand's name. */
int cmd_modes(int argc, char **argv);  /* pool, try-all, wait-all, race */
int cmd_latch(int argc, char **argv);
void cmd_latch_usage(FILE *out);
int cmd_cancel(int argc, char **argv);
int cmd_shield(int argc, char **argv);
int cmd_run(int argc, char **argv);     /* run SPEC */

/* ATB_NO_PIDFD set (and not "0"): watch children by SIGCHLD, not pidfds. */
int cmd_no_pidfd(void);

struct option;
/* Names the option getopt just stumbled on, as the user wrote it, with the
 * nearest of longs (the getopt_long table, or NULL) for a mistyped one. */
void cmd_bad_option(const char *who, char **argv, int at, int opt,
                    const struct option *longs);

/* "; did you mean '--jobs'?" when word ("--jbos", "--jbos=3") is close to
 * one of the options longs or names (either may be NULL; names ends with
 * NULL, and holds whole words such as "--any"), else "". */
const char *cmd_option_hint(const char *word, const struct option *longs,
                            const char *const *names, char *buf, size_t size);

/* --- options.c: the run settings both the modes and atb run take. --- */

/* Long options without a short form (their own options count up from 256;
 * the settings' from 512, the reports' from 560, --rerun-failed is 530,
 * --events 570). */
enum {
    CMD_OPT_PREFIX = 512,
    CMD_OPT_COLOR,
    CMD_OPT_NO_PAD,
    CMD_OPT_NO_STDIN,
    CMD_OPT_FOREGROUND,
    CMD_OPT_PRESERVE_STATUS,
    CMD_OPT_HALT,
    CMD_OPT_RETRIES,
    CMD_OPT_RETRY_DELAY,
    CMD_OPT_RETRY_BACKOFF,
    CMD_OPT_LAUNCHER /* below 530 */
};

/* The settings given as options, checked as they are parsed and applied to
 * a run later (after a spec's, which they beat), in the order given. */
#define CMD_SETTINGS_MAX 64
struct cmd_settings {
    size_t n;
    int opt[CMD_SETTINGS_MAX];
    const char *arg[CMD_SETTINGS_MAX];
};

/* Takes an option that sets a run setting (-j -s -g -t -o -i, --prefix,
 * --color, --no-pad, --halt, --retries, --retry-delay, --retry-backoff,
 * --launcher; --no-stdin, --foreground and --preserve-status, which
 * cmd_view_settings() reads) into s after checking its value. Returns 1 when it
 * did, 0 when opt is not one of them, -1 after a message naming the option
 * and the bad value; who starts the message ("pool", "run"). */
int cmd_setting(const char *who, int opt, const char *arg, struct cmd_settings *s);

/* Applies the settings to run, in the order given. Returns 0 or a negative
 * code (only for memory: the values were checked). */
int cmd_settings_apply(const struct cmd_settings *s, struct atb_run *run);

/* Whether opt is among the settings given. */
int cmd_settings_has(const struct cmd_settings *s, int opt);

struct cmd_view;
/* Copies the settings that are the program's, not the run's (--color
 * given, --no-stdin, --foreground, --preserve-status), into view. */
void cmd_view_settings(const struct cmd_settings *s, struct cmd_view *view);

/* The getopt_long entries of the options cmd_setting() takes, for the
 * option tables of the modes and of atb run. */
#define CMD_SETTING_OPTIONS                                                  \
    {"jobs", required_argument, NULL, 'j'},                                  \
        {"signal", required_argument, NULL, 's'},                            \
        {"grace", required_argument, NULL, 'g'},                             \
        {"timeout", required_argument, NULL, 't'},                           \
        {"output", required_argument, NULL, 'o'},                            \
        {"prefix", required_argument, NULL, CMD_OPT_PREFIX},                \
        {"color", required_argument, NULL, CMD_OPT_COLOR},                   \
        {"colour", required_argument, NULL, CMD_OPT_COLOR},                  \
        {"no-pad", no_argument, NULL, CMD_OPT_NO_PAD},                       \
        {"input", required_argument, NULL, 'i'},                             \
        {"keep-order", no_argument, NULL, 'k'},                              \
        {"halt", required_argument, NULL, CMD_OPT_HALT},                     \
        {"retries", required_argument, NULL, CMD_OPT_RETRIES},               \
        {"retry-delay", required_argument, NULL, CMD_OPT_RETRY_DELAY},       \
        {"retry-backoff", required_argument, NULL, CMD_OPT_RETRY_BACKOFF},   \
        {"launcher", required_argument, NULL, CMD_OPT_LAUNCHER},             \
        {"no-stdin", no_argument, NULL, CMD_OPT_NO_STDIN},                   \
        {"foreground", no_argument, NULL, CMD_OPT_FOREGROUND},               \
        {"preserve-status", no_argument, NULL, CMD_OPT_PRESERVE_STATUS}

/* --- finish.c: what atb pool and atb run share around a run. --- */

/* The report options both take (--report, --junit, --events, -v), for
 * their option tables; cmd_report_option() takes them. */
enum { CMD_OPT_REPORT = 560, CMD_OPT_JUNIT }; /* after the settings (512 on) */
#define CMD_REPORT_OPTIONS                                                   \
    {"report", required_argument, NULL, CMD_OPT_REPORT},                     \
        {"junit", required_argument, NULL, CMD_OPT_JUNIT},                   \
        {"events", required_argument, NULL, CMD_OPT_EVENTS},                 \
        {"verbose", no_argument, NULL, 'v'}

/* reportfile.c: a report file, written whole or not at all (a temporary
 * file beside it, renamed over it once complete). */
struct cmd_report_file {
    const char *path;       /* as given ("-": stdout), or NULL: none */
    char *tmp;              /* owned: the temporary file, or NULL */
    FILE *f;                /* where the report is written */
};
/* Opens where the report will be written (before the run: a path that
 * cannot be written is a usage error). Returns 0, or -1 after a message. */
int cmd_report_file_open(const char *opt, struct cmd_report_file *rf);
/* The run could not take place: nothing is written, nothing left behind. */
void cmd_report_file_discard(struct cmd_report_file *rf);
/* The report is written (write_rc: the writer's result): puts it in place.
 * Returns 0, or -1 after a message naming the real error (and, with
 * run_ok, that the run itself succeeded). */
int cmd_report_file_commit(struct cmd_report_file *rf, int write_rc, int run_ok);

/* 0, or the negative errno of the write that failed on f (flushed). */
int cmd_stream_status(FILE *f);

/* The report files of a run, opened before it starts and written after. */
struct cmd_reports {
    struct cmd_report_file json;  /* --report */
    struct cmd_report_file junit; /* --junit */
    const char *suite;      /* JUnit testsuite name, or NULL */
    const char *label;      /* the text report's name for the run, or NULL */
    int verbose;            /* the text report on success too */
    const char *events;     /* --events: FILE, "-" or "fd:N", or NULL */
    struct cmd_events *stream; /* owned: --events opened (events.c), or NULL */
};

/* The presentation of a run for a person: whether a status line is drawn
 * (--progress), and what a caught signal is worth saying. */
struct cmd_view {
    int progress;           /* draw the status line */
    int progress_asked;     /* --progress was given (not =never) */
    int color_chosen;       /* --color was given: it beats NO_COLOR, FORCE_COLOR */
    int no_stdin;           /* --no-stdin */
    int foreground;         /* --foreground */
    int preserve_status;    /* --preserve-status */
    int keep_order;         /* -k: group blocks in input order */
    int tty;                /* the terminal given to a command, or -1 */
    const char *who;        /* names the run in messages ("pool", a spec) */
    void (*on_signal)(int signo, int count, void *data);
    void *signal_data;
    int shown;              /* the status line is on the screen now */
    int broken;             /* stderr refused a write: no more lines */
    int held_said;          /* group output went to memory: said so */
    double t0;              /* monotonic, when the run was set up */
    struct atb_run *run;
    struct cmd_events *events; /* --events: the live stream during the run, or NULL */
};

/* Applies what the environment and the terminal say to run, for what the
 * spec and the options left to them: colours per stream (NO_COLOR,
 * FORCE_COLOR, isatty), GitHub Actions' group markers, a private latch
 * scope unless ATB_LATCH_DIR is set, ATB_NO_PIDFD, catching signals, and
 * the status line with its event callback. Returns 0 or -1 after a
 * message. */
int cmd_present(struct atb_run *run, struct cmd_view *view);

/* split.c: cuts what follows a mode's options into commands (with shell,
 * one argument each), refusing a cut that would be a guess and a program
 * not in PATH (see split.c). groups has room for argc entries. Returns 0,
 * or the exit status (125, 127) after a message; mode starts it. */
int cmd_split(const char *mode, int shell, const char *sep, int argc, char **argv,
              struct atb_argv_group *groups, size_t *ngroups);

/* stdin.c: gives atb's stdin to the command -i names, or to a lone main
 * command unless --no-stdin or stdin_taken (a spec or --stdin read it),
 * and with --foreground the terminal too (view->tty). Call it once every
 * command is added. Returns 0, or -1 after a message. */
int cmd_give_stdin(struct atb_run *run, struct cmd_view *view, int stdin_taken);

/* progress.c: the event callback of a run cmd_present() set up (the status
 * line, caught signals), and taking the status line off the screen. */
void cmd_progress_event(struct atb_run *run, const struct atb_event *ev, void *data);
void cmd_progress_clear(struct cmd_view *view);
/* Monotonic seconds. */
double cmd_now(void);

/* Takes a report option into r. Returns 1 when opt is one, else 0. */
int cmd_report_option(int opt, const char *arg, struct cmd_reports *r);

/* Checks the report options, and asks the run to keep output for JUnit.
 * Returns 0, or -1 after a message. */
int cmd_reports_check(const struct cmd_reports *r, struct atb_run *run);

/* Opens the report files (see reportfile.c). Returns 0, or -1 after a
 * message. */
int cmd_reports_open(struct cmd_reports *r);
/* Drops them unwritten when the run cannot take place: an existing file
 * keeps its contents. */
void cmd_reports_discard(struct cmd_reports *r);

/* Runs run to its end, prints what went wrong, writes the reports, and
 * returns the exit status; if a signal interrupted the run, dies of it. */
int cmd_finish(struct atb_run *run, struct cmd_view *view, struct cmd_reports *r);

/* Blocks (or unblocks) the signals a run catches (atb_run_signals()):
 * main() blocks them first thing, so one that comes before the run is read
 * by it, and one that comes after the run is taken up once the reports are
 * written; subcommands that run nothing unblock them again. */
void cmd_block_signals(int block);

/* Dies of sig with its default action, so our parent sees that signal.
 * Returns only if sig does not end the process. */
void cmd_reraise(int sig);

/* --- feed.c: atb pool --stdin. --- */
struct cmd_feed {
    char **tmpl;        /* a template: the words after the options, or NULL */
    int tmpl_argc;
    unsigned long line_no;
    unsigned long skipped; /* lines over the limit, dropped */
    int append;         /* no replacement string: the line is one more word */
};
/* template.c: GNU parallel's replacement strings (see template.c). One job's
 * inputs: n of them (1 for a line of --stdin), and its number from 1. */
struct cmd_tmpl_job {
    const char *const *inputs;
    const size_t *lens;
    int n;
    unsigned long seq;
};
/* Checks every replacement string in the n words for a job of ninputs
 * inputs. Returns 0, or -1 with the problem in err. */
int cmd_tmpl_check(char *const *words, int n, int ninputs, char *err, size_t size);
/* Whether any of the n words holds a replacement string (slot: the job
 * slot {%}). */
int cmd_tmpl_has(char *const *words, int n, int slot);
/* word with its replacement strings expanded, malloc'd, or NULL. */
char *cmd_tmpl_expand(const char *word, const struct cmd_tmpl_job *job);
/* The n words expanded into one line for /bin/sh ("exec 'w1' 'w2'..."),
 * where {%} reads CMD_SLOT_VAR; malloc'd, or NULL. */
#define CMD_SLOT_VAR "ATB_SLOT"
char *cmd_tmpl_shell(char *const *words, int n, const struct cmd_tmpl_job *job);
/* The job's inputs, space-separated, cut to size and with control
 * characters as '?', in buf: what names its command (as GNU parallel's
 * --tag shows); NULL when they are empty. */
const char *cmd_tmpl_label(const struct cmd_tmpl_job *job, char *buf, size_t size);

/* The most bytes of a job's inputs its command's name holds. */
#define CMD_LABEL_MAX 48
/* Adds the command the template's argc words make for job, named after
 * its inputs. Returns 0 or a negative code. */
int cmd_add_job(struct atb_run *run, char *const *tmpl, int argc,
                const struct cmd_tmpl_job *job);

/* arglist.c: GNU parallel's ::: and :::: lists (see arglist.c). The index
 * of the first in argv, or -1. */
int cmd_arglist_at(int argc, char **argv);
/* Adds a command for every combination of the lists that start at
 * argv[at], from the template before it. Returns 0, or -1 after a
 * message. */
int cmd_arglist_add(struct atb_run *run, const char *mode, const char *sep, int argc,
                    char **argv, int at);

/* An atb_feed_cb: one line, one command (see atb(1), --stdin). */
int cmd_feed_line(struct atb_run *run, const char *line, size_t len, void *data);

/* --- describe.c, report.c, junit.c: the run in words and files. --- */

/* What happened to one command, in a few words ("exit 3", "not found",
 * "cancelled (SIGTERM)"). */
void cmd_describe(const struct atb_run *run, const struct atb_result *res, char *buf,
                  size_t size);
/* What argv ran, as a person wrote it: a shell command's line (/bin/sh -c
 * LINE), else its words; tabs and newlines as blanks, other control
 * characters as '?', cut to CMD_LINE_SHOWN characters ("..." at the end).
 * buf has room for CMD_LINE_SHOWN + 1. Returns buf. */
#define CMD_LINE_SHOWN 60
const char *cmd_line_shown(char *const *argv, char *buf, size_t size);
/* "5s", "0.5s", "250ms": how a person would write a duration. */
void cmd_format_duration(char *buf, size_t size, double s);
/* x rounded to a whole number, halves away from zero, as round(3) does for
 * the sizes of durations (|x| < 2^63); the program does not load libm. */
double cmd_round(double x);
/* Loads the JSON library (cmd/cjson-lazy.c) now, when a run will need it:
 * 0, or -1 with a message said. */
int cmd_json_ready(void);
/* Calls fn with every result the run lists, main commands first, then the
 * cleanup ones, each in the order they were added. */
void cmd_each_result(const struct atb_run *run,
                     void (*fn)(const struct atb_result *res, void *ctx), void *ctx);
/* How many results the run lists. */
size_t cmd_listed(const struct atb_run *run);

/* annotate.c: under GitHub Actions, an ::error workflow command on out
 * for every command that failed or timed out; nothing elsewhere. */
void cmd_annotate(const struct atb_run *run, FILE *out);

/* The human report: a headline, then a line per command that did not
 * succeed (every command when verbose). Returns 0 or -EIO. */
int cmd_report_text(const struct atb_run *run, const char *label, FILE *out, int verbose);
/* The JSON report (see atb(1), REPORT). Returns 0, -ENOMEM or -EIO. */
int cmd_report_json(const struct atb_run *run, FILE *out);
/* The JUnit XML report, suite named suite ("atb" when NULL). */
int cmd_report_junit(const struct atb_run *run, const char *suite, FILE *out);

/* Prints the help of a subcommand (NULL: the overview) to out. Returns 0,
 * or -1 when there is no such subcommand. */
int cmd_help(const char *topic, FILE *out);

#endif
