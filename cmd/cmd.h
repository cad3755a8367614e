/* The atb program's pieces: each subcommand turns its arguments into library
 * calls and the results into messages and an exit status. */
#ifndef ATB_CMD_H
#define ATB_CMD_H

#include "atb.h"

/* Exit statuses of atb itself (see atb(1), EXIT STATUS). */
#define EXIT_TIMEOUT 124
#define EXIT_ATB 125

/* Prints "atb: MESSAGE" to stderr, err(3)-style. */
void cmd_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Each returns the exit status; argv[0] is the subcommand's name. */
int cmd_modes(int argc, char **argv);  /* pool, try-all, wait-all, race */
int cmd_latch(int argc, char **argv);
void cmd_latch_usage(FILE *out);
int cmd_cancel(int argc, char **argv);
int cmd_shield(int argc, char **argv);
int cmd_run(int argc, char **argv);     /* run SPEC */

/* Long options without a short form that both the modes and atb run take
 * (their own options count up from 256). */
enum { CMD_OPT_PREFIX = 512, CMD_OPT_COLOR, CMD_OPT_NO_PAD };

/* Handles an option that sets a run setting (-j -s -g -t -o -i, --prefix,
 * --color, --no-pad) into opts. Returns 1 when it did, 0 when opt is not
 * one of them, -1 after a message naming the option and the bad value;
 * who starts the message ("pool", "run"). */
int cmd_setting(const char *who, int opt, const char *arg, struct atb_opts *opts);

/* The getopt_long entries of the options cmd_setting() handles, for the
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

/* The report files of a run, opened before it starts (a bad path is a
 * usage error) and written after it. */
struct cmd_reports {
    const char *json_path;  /* --report, or NULL */
    const char *junit_path; /* --junit, or NULL */
    const char *suite;      /* JUnit testsuite name, or NULL */
    int verbose;            /* the text report on success too */
    FILE *json, *junit;
    int json_created, junit_created; /* made by this run: removed if it fails */
};

/* Applies what the environment says (NO_COLOR, FORCE_COLOR unless
 * color_chosen, GITHUB_ACTIONS, ATB_LATCH_DIR, ATB_NO_PIDFD) and turns on
 * the run's signal handling. */
void cmd_env_opts(struct atb_opts *opts, int color_chosen);

/* Checks the report options, and asks the run (opts, before atb_run_new)
 * to keep output for JUnit. Returns 0, or -1 after a message. */
int cmd_reports_check(const struct cmd_reports *r, struct atb_opts *opts);

/* Opens the report files without truncating one that exists (that waits
 * for the report). Returns 0, or -1 after a message. */
int cmd_reports_open(struct cmd_reports *r);
/* Closes them unwritten when the run cannot take place: an existing file
 * keeps its contents, one that cmd_reports_open made is removed. */
void cmd_reports_discard(struct cmd_reports *r);

/* Runs run to its end, prints what went wrong, writes the reports, and
 * returns the exit status; if a signal interrupted the run, dies of it. */
int cmd_finish(struct atb_run *run, const char *who, struct cmd_reports *r);

/* Blocks SIGINT, SIGTERM and SIGHUP until a run has its handlers in place
 * (atb_run_exec() unblocks them): one that comes early is not lost, and
 * one that comes after the run is taken up once the reports are written. */
void cmd_block_signals(void);

/* Dies of sig with its default action, so our parent sees that signal.
 * Returns only if sig does not end the process. */
void cmd_reraise(int sig);

/* Prints the help of a subcommand (NULL: the overview) to out. Returns 0,
 * or -1 when there is no such subcommand. */
int cmd_help(const char *topic, FILE *out);

#endif
