/* What atb pool and atb run share around a run: what the environment and
 * the terminal say (colours, group markers, the status line), the report
 * files, and the end: messages, reports, and the exit status (or death by
 * the signal that interrupted the run). */
#include "cmd.h"
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A command's output kept for JUnit's system-out: its last 64 KiB. */
#define JUNIT_OUTPUT_TAIL (64 * 1024)

/* The signals a run catches, as a set. */
static void stop_signals(sigset_t *set)
{
    int signals[64];
    size_t n = atb_run_signals(signals, sizeof(signals) / sizeof(signals[0]));

    sigemptyset(set);
    for (size_t i = 0; i < n && i < sizeof(signals) / sizeof(signals[0]); i++)
        sigaddset(set, signals[i]);
}

void cmd_block_signals(int block)
{
    sigset_t set;

    stop_signals(&set);
    sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/* A signal that came after the run had ended, while the reports were
 * written: still a request to stop, which the caller should see. */
static int pending_signal(void)
{
    sigset_t set, stop;

    if (sigpending(&set) < 0)
        return 0;
    stop_signals(&stop);
    for (int sig = 1; sig < 65; sig++) {
        struct sigaction sa;

        /* Queued while blocked, but ignored: not a request to stop. */
        if (sigismember(&stop, sig) != 1 || sigismember(&set, sig) != 1 ||
            sigaction(sig, NULL, &sa) < 0 || sa.sa_handler == SIG_IGN)
            continue;
        return sig;
    }
    return 0;
}

static int env_set(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0';
}

static int env_is(const char *name, const char *value)
{
    const char *v = getenv(name);
    return v != NULL && strcmp(v, value) == 0;
}

/* Colours for a stream the spec and the options left on auto: unless an
 * option chose auto, NO_COLOR turns them off, and FORCE_COLOR off when it
 * is "0" or "false" and on otherwise (the convention node and most CLIs
 * follow); else a terminal has them, unless TERM says it is dumb. */
static void resolve_color(struct atb_run *run, int stream, int chosen)
{
    const char *force = getenv("FORCE_COLOR"), *term = getenv("TERM");
    enum atb_color c = ATB_COLOR_NEVER;

    if (atb_run_get_color(run, stream) != ATB_COLOR_AUTO)
        return;
    if (!chosen && env_set("NO_COLOR"))
        c = ATB_COLOR_NEVER;
    else if (!chosen && force && *force)
        c = strcmp(force, "0") == 0 || strcmp(force, "false") == 0 ? ATB_COLOR_NEVER
                                                                  : ATB_COLOR_ALWAYS;
    else if (isatty(stream) && !(term && strcmp(term, "dumb") == 0))
        c = ATB_COLOR_ALWAYS;
    atb_run_set_color(run, stream, c);
}

int cmd_present(struct atb_run *run, struct cmd_view *view)
{
    int rc = 0;

    resolve_color(run, 1, view->color_chosen);
    resolve_color(run, 2, view->color_chosen);
    /* GitHub Actions folds group mode's blocks; GitLab CI makes them
     * collapsible sections (named by index: a section name allows only
     * letters, digits, '_', '.' and '-'), timed from the command's start. */
    if (env_is("GITHUB_ACTIONS", "true"))
        rc = atb_run_set_group_header(run, "::group::{name}\n", "::endgroup::\n");
    else if (env_is("GITLAB_CI", "true"))
        rc = atb_run_set_group_header(
            run, "\033[0Ksection_start:{started}:atb_{index}\r\033[0K==> {name} <==\n",
            "\033[0Ksection_end:{ended}:atb_{index}\r\033[0K\n");
    /* A failure is never silent in group mode, even without output. */
    if (rc == 0)
        rc = atb_run_set_group_empty(run, "(no output)\n");
    /* A run nested in another shares its latch scope on purpose. */
    if (rc == 0)
        rc = atb_run_set_latch_scope(run, !env_set("ATB_LATCH_DIR"));
    if (rc == 0)
        rc = atb_run_set_catch_signals(run, 1);
    /* Nothing outlives atb, even when atb is killed with SIGKILL. */
    if (rc == 0)
        rc = atb_run_set_guardian(run, 1);
    if (rc == 0 && cmd_no_pidfd())
        rc = atb_run_set_watch(run, ATB_WATCH_SIGCHLD);
    /* Only blocks can wait for those before them: -k means group output. */
    if (rc == 0 && view->keep_order && atb_run_get_output(run) == ATB_OUTPUT_AUTO)
        rc = atb_run_set_output(run, ATB_OUTPUT_GROUP);
    else if (view->keep_order && atb_run_get_output(run) != ATB_OUTPUT_GROUP) {
        cmd_err("%s: --keep-order orders the blocks of group output; it does not go with "
                "-o %s",
                view->who, atb_output_name(atb_run_get_output(run)));
        return -1;
    }
    /* A status line can be kept clear of output only if the output goes
     * through atb. */
    if (view->progress_asked && atb_run_get_output(run) == ATB_OUTPUT_INHERIT) {
        cmd_err("%s: --progress needs the output to go through atb (-o prefix or group)",
                view->who);
        return -1;
    }
    if (rc == 0 && view->progress) {
        if (atb_run_get_output(run) == ATB_OUTPUT_AUTO)
            rc = atb_run_set_output(run, ATB_OUTPUT_PREFIX);
        if (rc == 0)
            rc = atb_run_set_tick(run, 0.1);
    }
    view->run = run;
    view->t0 = cmd_now();
    if (rc == 0)
        rc = atb_run_on_event(run, cmd_progress_event, view);
    if (rc < 0) {
        cmd_err("%s: %s", view->who, atb_strerror(rc));
        return -1;
    }
    return 0;
}

int cmd_report_option(int opt, const char *arg, struct cmd_reports *r)
{
    switch (opt) {
    case 'v':
        r->verbose = 1;
        return 1;
    case CMD_OPT_REPORT:
        r->json.path = arg;
        return 1;
    case CMD_OPT_JUNIT:
        r->junit.path = arg;
        return 1;
    case CMD_OPT_EVENTS:
        r->events = arg;
        return 1;
    }
    return 0;
}

int cmd_reports_check(const struct cmd_reports *r, struct atb_run *run)
{
    if (r->json.path && r->junit.path && strcmp(r->json.path, "-") == 0 &&
        strcmp(r->junit.path, "-") == 0) {
        cmd_err("--report and --junit cannot both write to stdout");
        return -1;
    }
    if (cmd_events_check(r, run) < 0)
        return -1;
    if (r->junit.path && atb_run_set_keep_output(run, JUNIT_OUTPUT_TAIL) < 0)
        return -1;
    return 0;
}

int cmd_reports_open(struct cmd_reports *r)
{
    /* The JSON report is written once the run is over: its library must
     * be there before anything starts. */
    if ((r->json.path != NULL && cmd_json_ready() < 0) ||
        cmd_report_file_open("--report", &r->json) < 0 ||
        cmd_report_file_open("--junit", &r->junit) < 0 ||
        cmd_events_open(r->events, &r->stream) < 0) {
        cmd_reports_discard(r);
        return -1;
    }
    return 0;
}

void cmd_reports_discard(struct cmd_reports *r)
{
    cmd_report_file_discard(&r->json);
    cmd_report_file_discard(&r->junit);
    cmd_events_discard(r->stream);
    r->stream = NULL;
}

static void print_start_error(const struct atb_result *res, void *ctx)
{
    const char *what = res->start_error == -ENOENT ? "command not found"
                                                   : atb_strerror(res->start_error);

    (void)ctx;
    if (res->start_error == 0)
        return;
    if (strcmp(res->name, res->argv[0]) == 0)
        cmd_err("%s: %s", res->name, what);
    else
        cmd_err("%s: %s: %s", res->name, res->argv[0], what);
}

/* The run could not take place: why, as a person would want it said. */
static void start_failed(struct atb_run *run, const char *who, int rc)
{
    const struct atb_error *e = atb_run_error(run);

    if (cmd_probes_error(NULL, run, e, who))
        return; /* the option of the modes that gave the probe */
    if (rc == ATB_ENONAME && e->key && strcmp(e->key, "input") == 0)
        cmd_err("%s: input: no command is named '%s'", who, atb_run_get_input(run));
    else if (e->code == rc && e->key && strcmp(e->key, "guardian") == 0)
        cmd_err("%s: cannot start the guardian process, so nothing was started: %s", who,
                atb_strerror(rc));
    else if ((rc == ATB_EDEPS || rc == ATB_EREGEX || rc == ATB_ECLEANUP ||
              rc == ATB_ELATCHNAME || rc == ATB_ELATCHDIR || rc == ATB_ERETRY) &&
             e->code == rc)
        cmd_err("%s: %s", who, e->text); /* it names the folder and why */
    else
        cmd_err("%s: %s", who, atb_strerror(rc));
}

/* Whether a report is written to stdout ("-"). */
static int stdout_taken(const struct cmd_reports *r)
{
    return (r->json.path && strcmp(r->json.path, "-") == 0) ||
           (r->junit.path && strcmp(r->junit.path, "-") == 0) || cmd_events_stdout(r->events);
}

static int write_reports(struct atb_run *run, struct cmd_reports *r, int run_ok)
{
    int rc = 0;

    if (r->json.f &&
        cmd_report_file_commit(&r->json, cmd_report_json(run, r->json.f), run_ok) < 0)
        rc = -1;
    if (r->junit.f &&
        cmd_report_file_commit(&r->junit, cmd_report_junit(run, r->suite, r->junit.f),
                               run_ok) < 0)
        rc = -1;
    return rc;
}

int cmd_finish(struct atb_run *run, struct cmd_view *view, struct cmd_reports *r)
{
    int rc, status, sig;

    cmd_exit_preserve_status(view->preserve_status);
    view->events = r->stream; /* --events: cmd_progress_event() feeds it */
    rc = atb_run_exec(run);
    view->events = NULL;
    if (view->tty >= 0)
        close(view->tty);
    view->tty = -1;
    cmd_progress_clear(view);
    if (rc < 0) {
        start_failed(run, view->who, rc);
        cmd_reports_discard(r);
        return EXIT_ATB;
    }
    cmd_each_result(run, print_start_error, NULL);
    status = cmd_run_status(run);
    rc = write_reports(run, r, status == 0);
    if (r->verbose || atb_run_outcome(run) != ATB_OUTCOME_SUCCEEDED)
        cmd_report_text(run, r->label, stderr, r->verbose);
    /* The runner reads workflow commands from stdout, unless a report
     * holds it. */
    cmd_annotate(run, stdout_taken(r) ? stderr : stdout);
    if (rc < 0 && status == 0)
        status = EXIT_ATB;
    sig = atb_run_signal(run);
    if (sig == 0)
        sig = pending_signal();
    /* The event stream ends with run_ended once the reports are in place. */
    cmd_events_end(r->stream, run, status, sig);
    r->stream = NULL;
    if (sig) {
        /* Die of the same signal, so the shell that started us sees it
         * (and stops a script, as it would for any Ctrl-C). The library
         * has put the action we had back. */
        fflush(NULL);
        cmd_reraise(sig);
    }
    return status;
}
