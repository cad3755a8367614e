/* atb shield: run one command that cancellation cannot cut short. */
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct option long_options[] = {
    {"grace", required_argument, NULL, 'g'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct shielded {
    const char *name;
    struct atb_run *run;
};

/* Tells the person at the terminal that the signal was heard. One that
 * comes before the command started is said at the end (nothing runs). */
static void on_signal(int signo, int count, void *data)
{
    const struct shielded *sh = data;
    const struct atb_result *res = atb_run_result(sh->run, 0);
    const char *name = sh->name;

    if (res == NULL || res->state == ATB_STATE_QUEUED)
        return;
    if (count == 1)
        cmd_err("shield: %s received; %s finishes first (send it again to cancel it)",
                atb_signal_name(signo), name);
    else if (count == 2)
        cmd_err("shield: %s received again; cancelling %s", atb_signal_name(signo), name);
}

/* Returns optind, or -1 (with *status set) to stop here. */
static int parse_options(int argc, char **argv, double *grace, int *verbose, int *status)
{
    int opt;

    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "+:g:vh", long_options, NULL)) != -1) {
        switch (opt) {
        case 'g':
            if (atb_duration_parse(optarg, grace) < 0) {
                cmd_err("shield: --grace: invalid duration '%s' (use e.g. 10, 1.5s, 250ms, "
                        "2m, 1h)",
                        optarg);
                return -1;
            }
            break;
        case 'v':
            *verbose = 1;
            break;
        case 'h':
            cmd_help("shield", stdout);
            *status = 0;
            return -1;
        default:
            cmd_bad_option("shield", argv, optind, opt, long_options);
            return -1;
        }
    }
    if (optind >= argc) {
        cmd_err("shield: no command given (try 'atb shield --help')");
        return -1;
    }
    return optind;
}

/* The run of one shielded command: the output straight to ours, SIGKILL 5 s
 * after a second signal. Like timeout(1), shield stands in for the
 * command: it gets our stdin, unless that is a terminal, which a process
 * outside the foreground group cannot read (it would stop on SIGTTIN). */
static int setup(struct atb_run *run, char **words, double grace, struct cmd_view *view)
{
    struct atb_cmd c = ATB_CMD_INIT;
    int rc = atb_run_set_output(run, ATB_OUTPUT_INHERIT);

    c.argv = words;
    c.name = words[0];
    c.shield = 1;
    if (rc == 0)
        rc = atb_run_set_shield_wait(run, grace);
    if (rc == 0)
        rc = atb_run_set_catch_signals(run, 1);
    if (rc == 0 && cmd_no_pidfd())
        rc = atb_run_set_watch(run, ATB_WATCH_SIGCHLD);
    if (rc == 0 && !isatty(0))
        rc = atb_run_set_input(run, words[0], STDIN_FILENO);
    if (rc == 0)
        rc = atb_run_on_event(run, cmd_progress_event, view);
    if (rc == 0)
        rc = atb_run_add(run, &c);
    return rc < 0 ? rc : 0;
}

int cmd_shield(int argc, char **argv)
{
    struct cmd_view view;
    struct shielded shielded;
    struct atb_run *run = NULL;
    const struct atb_result *res;
    double grace = 0;
    int first, rc, verbose = 0, status = EXIT_ATB, sig;

    first = parse_options(argc, argv, &grace, &verbose, &status);
    if (first < 0)
        return status;
    memset(&view, 0, sizeof(view));
    view.who = "shield";
    rc = atb_run_new(&run);
    shielded.name = argv[first];
    shielded.run = run;
    view.on_signal = on_signal;
    view.signal_data = &shielded;
    if (rc == 0)
        rc = setup(run, argv + first, grace, &view);
    if (rc == 0)
        rc = atb_run_exec(run);
    if (rc < 0) {
        cmd_err("shield: %s", atb_strerror(rc));
        atb_run_free(run);
        return EXIT_ATB;
    }
    res = atb_run_result(run, 0);
    if (res->start_error == -ENOENT)
        cmd_err("%s: command not found", res->argv[0]);
    else if (res->start_error)
        cmd_err("%s: %s", res->argv[0], atb_strerror(res->start_error));
    if (verbose)
        cmd_report_text(run, "shield", stderr, 1);
    sig = atb_run_signal(run);
    /* The command's own status: a shielded command that atb did not have to
     * cancel ended on its own. */
    status = cmd_status_of(res);
    if (sig) {
        if (res->state == ATB_STATE_CANCELLED)
            cmd_err("shield: %s was cancelled after all (a second signal, or --grace)",
                    res->name);
        else if (res->state == ATB_STATE_NOT_STARTED)
            cmd_err("shield: %s came before %s started; it was not run",
                    atb_signal_name(sig), res->name);
        else
            cmd_err("shield: %s was deferred until %s ended (status %d); exiting with it "
                    "now",
                    atb_signal_name(sig), res->name, status);
        atb_run_free(run);
        fflush(NULL);
        cmd_reraise(sig);
    }
    atb_run_free(run);
    return status;
}
