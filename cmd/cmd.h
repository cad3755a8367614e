/* The atb program's pieces: each subcommand turns its arguments into library
 * calls and the results into messages and an exit status. Only this side
 * knows about terminals, the environment, words for people and exit
 * statuses; the library reports what happened. */
#ifndef ATB_CMD_H
#define ATB_CMD_H

#include <stdio.h>

#include "atb.h"
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

/* Names the option getopt just stumbled on, as the user wrote it. */
void cmd_bad_option(const char *who, char **argv, int at, int opt);

/* --- options.c: the run settings both the modes and atb run take. --- */

/* Long options without a short form (their own options count up from 256). */
enum { CMD_OPT_PREFIX = 512, CMD_OPT_COLOR, CMD_OPT_NO_PAD };

/* The settings given as options, checked as they are parsed and applied to
 * a run later (after a spec's, which they beat), in the order given. */
#define CMD_SETTINGS_MAX 64
struct cmd_settings {
    size_t n;
    int opt[CMD_SETTINGS_MAX];
    const char *arg[CMD_SETTINGS_MAX];
};

/* Takes an option that sets a run setting (-j -s -g -t -o -i, --prefix,
 * --color, --no-pad) into s after checking its value. Returns 1 when it
 * did, 0 when opt is not one of them, -1 after a message naming the option
 * and the bad value; who starts the message ("pool", "run"). */
int cmd_setting(const char *who, int opt, const char *arg, struct cmd_settings *s);

/* Applies the settings to run, in the order given. Returns 0 or a negative
 * code (only for memory: the values were checked). */
int cmd_settings_apply(const struct cmd_settings *s, struct atb_run *run);

/* Whether opt is among the settings given. */
int cmd_settings_has(const struct cmd_settings *s, int opt);

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
        {"input", required_argument, NULL, 'i'}

/* --- finish.c: what atb pool and atb run share around a run. --- */

/* The report options both take (--report, --junit, -v), for their option
 * tables; cmd_report_option() takes them. */
enum { CMD_OPT_REPORT = 520, CMD_OPT_JUNIT };
#define CMD_REPORT_OPTIONS                                                   \
    {"report", required_argument, NULL, CMD_OPT_REPORT},                     \
        {"junit", required_argument, NULL, CMD_OPT_JUNIT},                   \
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
};

/* The presentation of a run for a person: whether a status line is drawn
 * (--progress), and what a caught signal is worth saying. */
struct cmd_view {
    int progress;           /* draw the status line */
    int progress_asked;     /* --progress was given (not =never) */
    int color_chosen;       /* --color was given: it beats NO_COLOR, FORCE_COLOR */
    const char *who;        /* names the run in messages ("pool", a spec) */
    void (*on_signal)(int signo, int count, void *data);
    void *signal_data;
    int shown;              /* the status line is on the screen now */
    int broken;             /* stderr refused a write: no more lines */
    int held_said;          /* group output went to memory: said so */
    double t0;              /* monotonic, when the run was set up */
    struct atb_run *run;
};

/* Applies what the environment and the terminal say to run, for what the
 * spec and the options left to them: colours per stream (NO_COLOR,
 * FORCE_COLOR, isatty), GitHub Actions' group markers, a private latch
 * scope unless ATB_LATCH_DIR is set, ATB_NO_PIDFD, catching signals, and
 * the status line with its event callback. Returns 0 or -1 after a
 * message. */
int cmd_present(struct atb_run *run, struct cmd_view *view);

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
};
/* An atb_feed_cb: one line, one command (see atb(1), --stdin). */
int cmd_feed_line(struct atb_run *run, const char *line, size_t len, void *data);

/* --- describe.c, report.c, junit.c: the run in words and files. --- */

/* What happened to one command, in a few words ("exit 3", "not found",
 * "cancelled (SIGTERM)"). */
void cmd_describe(const struct atb_run *run, const struct atb_result *res, char *buf,
                  size_t size);
/* "5s", "0.5s", "250ms": how a person would write a duration. */
void cmd_format_duration(char *buf, size_t size, double s);
/* Calls fn with every result the run lists, main commands first, then the
 * cleanup ones, each in the order they were added. */
void cmd_each_result(const struct atb_run *run,
                     void (*fn)(const struct atb_result *res, void *ctx), void *ctx);
/* How many results the run lists. */
size_t cmd_listed(const struct atb_run *run);

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
