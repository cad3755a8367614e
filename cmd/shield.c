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

/* Tells the person at the terminal that the signal was heard. */
static void on_signal(struct atb_run *run, int signo, int count, void *data)
{
    const char *name = data;

    (void)run;
    if (count == 1)
        cmd_err("shield: %s received; %s finishes first (send it again to cancel it)",
                atb_signal_name(signo), name);
    else if (count == 2)
        cmd_err("shield: %s received again; cancelling %s", atb_signal_name(signo), name);
}

int cmd_shield(int argc, char **argv)
{
    struct atb_opts opts;
    struct atb_run *run = NULL;
    struct atb_cmd c = {NULL, NULL, NULL};
    int opt, rc, verbose = 0, status, sig;
    char **words;

    cmd_block_signals();
    atb_opts_init(&opts);
    opts.output = ATB_OUTPUT_INHERIT;
    opts.handle_signals = 1;
    opts.grace_s = 5; /* after the second signal, SIGKILL in 5 s */
    if (getenv("ATB_NO_PIDFD") && *getenv("ATB_NO_PIDFD") && strcmp(getenv("ATB_NO_PIDFD"), "0"))
        opts.watch = ATB_WATCH_SIGCHLD;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "+:g:vh", long_options, NULL)) != -1) {
        switch (opt) {
        case 'g':
            if (atb_duration_parse(optarg, &opts.shield_wait_s) < 0) {
                cmd_err("shield: --grace: invalid duration '%s' (use e.g. 10, 1.5s, 250ms, "
                        "2m, 1h)",
                        optarg);
                return EXIT_ATB;
            }
            break;
        case 'v':
            verbose = 1;
            break;
        case 'h':
            cmd_help("shield", stdout);
            return 0;
        case ':':
            cmd_err("shield: option '%s' needs a value", argv[optind - 1]);
            return EXIT_ATB;
        default:
            cmd_err("shield: unknown option '%s'", argv[optind - 1]);
            return EXIT_ATB;
        }
    }
    if (optind >= argc) {
        cmd_err("shield: no command given (try 'atb shield --help')");
        return EXIT_ATB;
    }
    words = argv + optind;
    c.argv = words;
    opts.on_signal = on_signal;
    opts.signal_data = words[0];
    opts.label = "shield";
    /* Like timeout(1), shield stands in for the command: it gets our stdin,
     * unless that is a terminal, which a process outside the foreground
     * group cannot read (it would stop on SIGTTIN). */
    opts.input = isatty(0) ? NULL : words[0];
    c.name = words[0];
    c.shield = 1;
    rc = atb_run_new(&run, &opts);
    if (rc == 0)
        rc = atb_run_add(run, &c);
    if (rc >= 0)
        rc = atb_run_exec(run);
    if (rc < 0) {
        cmd_err("shield: %s", atb_strerror(rc));
        atb_run_free(run);
        return EXIT_ATB;
    }
    const struct atb_result *res = atb_run_result(run, 0);
    if (res->start_error == -ENOENT)
        cmd_err("%s: command not found", res->argv[0]);
    else if (res->start_error)
        cmd_err("%s: %s", res->argv[0], atb_strerror(res->start_error));
    if (verbose)
        atb_report_text(run, stderr, 1);
    sig = atb_run_signal(run);
    /* The command's own status: a shielded command that atb did not have to
     * cancel ended on its own. */
    status = res->start_error ? res->exit_code
             : res->term_signal ? 128 + res->term_signal
                                : res->exit_code;
    if (sig) {
        if (res->state == ATB_STATE_CANCELLED)
            cmd_err("shield: %s was cancelled after all (a second signal, or --grace)",
                    res->name);
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
