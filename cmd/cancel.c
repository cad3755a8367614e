/* atb cancel: cancel processes atb did not start and wait until they are
 * gone. Arguments -> targets and options -> atb_cancel_run() -> messages as
 * things happen (through its event callback) and an exit status:
 * 0 every target gone, 1 one could not be signalled or would not go, 125
 * usage errors and atb's own failures. */
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Long options without a short form get values outside the char range. */
enum { OPT_GROUP = 256, OPT_PIDFILE };

struct cancel_cli {
    const struct atb_cancel_opts *opts;
    int verbose;
};

/* Names a target in messages: "1234", or with --group
 * "1234 (process group 1200)". */
static const char *target_label(const struct atb_cancel_target *t, int group,
                                char *buf, size_t size)
{
    if (group && t->pgid > 0)
        snprintf(buf, size, "%d (process group %d)", (int)t->pid, (int)t->pgid);
    else
        snprintf(buf, size, "%d", (int)t->pid);
    return buf;
}

static void report_done(const struct cancel_cli *cli,
                        const struct atb_cancel_target *t, const char *who)
{
    switch (t->state) {
    case ATB_CANCEL_NOT_RUNNING:
        cmd_err("cancel: %d: not running", (int)t->pid);
        break;
    case ATB_CANCEL_GONE:
        if (cli->verbose)
            cmd_err("cancel: %s: gone after %.2fs", who, t->gone_s);
        break;
    case ATB_CANCEL_KILLED:
        if (cli->verbose)
            cmd_err("cancel: %s: gone after SIGKILL (%.2fs)", who, t->gone_s);
        break;
    case ATB_CANCEL_DENIED:
        cmd_err("cancel: %s: cannot signal: %s", who, atb_strerror(t->error));
        break;
    case ATB_CANCEL_STUCK:
        cmd_err("cancel: %s: still there %gs after SIGKILL", who,
                cli->opts->kill_wait_s);
        break;
    case ATB_CANCEL_FAILED:
        if (t->error == -EINVAL)
            cmd_err("cancel: %d: not a process (a thread id?)", (int)t->pid);
        else if (t->error == -EACCES)
            cmd_err("cancel: %d: cannot read /proc/%d/stat to check its "
                    "start time", (int)t->pid, (int)t->pid);
        else
            cmd_err("cancel: %s: %s", who, atb_strerror(t->error));
        break;
    case ATB_CANCEL_PENDING:
    case ATB_CANCEL_REFUSED:
        break;
    }
}

/* The library's event callback: notes always, progress with -v. */
static void on_event(const struct atb_cancel_event *ev, void *data)
{
    const struct cancel_cli *cli = data;
    char who[64];

    switch (ev->kind) {
    case ATB_CANCEL_EV_FALLBACK:
        if (!cli->verbose)
            break;
        if (ev->error == 0)
            cmd_err("cancel: ATB_NO_PIDFD is set: using kill() after a "
                    "/proc/PID/stat start-time check");
        else
            cmd_err("cancel: pidfds unavailable (%s): using kill() after a "
                    "/proc/PID/stat start-time check", atb_strerror(ev->error));
        break;
    case ATB_CANCEL_EV_SIGNAL:
        if (!cli->verbose)
            break;
        target_label(ev->target, cli->opts->group, who, sizeof(who));
        if (ev->target->killed)
            cmd_err("cancel: %s: still there after %gs grace: sent SIGKILL",
                    who, cli->opts->grace_s);
        else
            cmd_err("cancel: %s: sent %s", who, atb_signal_name(ev->signo));
        break;
    case ATB_CANCEL_EV_DONE:
        target_label(ev->target, cli->opts->group, who, sizeof(who));
        report_done(cli, ev->target, who);
        break;
    }
}

/* Says why each refused target was refused. */
static void report_refused(const struct atb_cancel_target *targets, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct atb_cancel_target *t = &targets[i];

        if (t->state != ATB_CANCEL_REFUSED)
            continue;
        if (t->pid == 1)
            cmd_err("cancel: 1: refusing to signal init");
        else if (t->pid == getpid())
            cmd_err("cancel: %d: refusing to signal atb itself", (int)t->pid);
        else if (t->pgid == getpgrp())
            cmd_err("cancel: %d: refusing to signal process group %d: atb "
                    "is in it", (int)t->pid, (int)t->pgid);
        else
            cmd_err("cancel: %d: refusing to signal process group %d",
                    (int)t->pid, (int)t->pgid);
    }
}

/* Adds pid unless it is there already: one target per process. */
static void add_target(struct atb_cancel_target *targets, size_t *n, pid_t pid)
{
    for (size_t i = 0; i < *n; i++)
        if (targets[i].pid == pid)
            return;
    memset(&targets[*n], 0, sizeof(targets[*n]));
    targets[(*n)++].pid = pid;
}

/* Says what is wrong with the option getopt_long() stopped at: c is ':'
 * when it needs a value, else it is unknown. Returns -1. Separate so that
 * parse_option() reads as the options it knows. */
static int bad_option(int c, char **argv)
{
    if (c == ':') {
        if (optopt > 0 && optopt < OPT_GROUP)
            cmd_err("cancel: option '-%c' needs a value", optopt);
        else
            cmd_err("cancel: option '%s' needs a value", argv[optind - 1]);
        return -1;
    }
    if (optopt > 0 && optopt < OPT_GROUP)
        cmd_err("cancel: unknown option '-%c' (try 'atb help cancel')",
                optopt);
    else
        cmd_err("cancel: unknown option '%s' (try 'atb help cancel')",
                argv[optind - 1]);
    return -1;
}

/* Applies one option c from getopt_long() (its value in optarg) to opts,
 * *verbose or the targets. Returns 0, or -1 after printing a usage error,
 * or 1 when --help was printed. Separate from parse_args() so that the
 * loop over argv and the meaning of each option read apart. */
static int parse_option(int c, char **argv, struct atb_cancel_opts *opts,
                        int *verbose, struct atb_cancel_target *targets,
                        size_t *n)
{
    pid_t pid;
    int rc;

    switch (c) {
    case 's':
        if (atb_signal_parse(optarg, &opts->signo) < 0) {
            cmd_err("cancel: --signal: unknown signal '%s'", optarg);
            return -1;
        }
        break;
    case 'g':
        if (atb_duration_parse(optarg, &opts->grace_s) < 0) {
            cmd_err("cancel: --grace: invalid duration '%s' (use e.g. "
                    "10, 1.5s, 250ms, 2m, 1h)", optarg);
            return -1;
        }
        break;
    case OPT_GROUP:
        opts->group = 1;
        break;
    case OPT_PIDFILE:
        rc = atb_cancel_pidfile_read(optarg, &pid);
        if (rc == -EINVAL || rc == -ERANGE) {
            cmd_err("cancel: --pidfile %s: does not start with a process id",
                    optarg);
            return -1;
        }
        if (rc < 0) {
            cmd_err("cancel: --pidfile %s: %s", optarg, atb_strerror(rc));
            return -1;
        }
        add_target(targets, n, pid);
        break;
    case 'v':
        *verbose = 1;
        break;
    case 'h':
        if (cmd_help("cancel", stdout) < 0) {
            cmd_err("cancel: no help here; see atb-cancel(1)");
            return -1;
        }
        return 1;
    default:
        return bad_option(c, argv);
    }
    return 0;
}

/* Parses the options into opts and the targets. Returns 0, or -1 after
 * printing a usage error, or 1 when --help was printed. */
static int parse_args(int argc, char **argv, struct atb_cancel_opts *opts,
                      int *verbose, struct atb_cancel_target *targets,
                      size_t *n)
{
    static const struct option longopts[] = {
        {"signal", required_argument, NULL, 's'},
        {"grace", required_argument, NULL, 'g'},
        {"group", no_argument, NULL, OPT_GROUP},
        {"pidfile", required_argument, NULL, OPT_PIDFILE},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    pid_t pid;
    int c, rc;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":s:g:vh", longopts, NULL)) != -1) {
        rc = parse_option(c, argv, opts, verbose, targets, n);
        if (rc != 0)
            return rc;
    }
    for (int i = optind; i < argc; i++) {
        rc = atb_cancel_pid_parse(argv[i], &pid);
        if (rc < 0) {
            cmd_err("cancel: '%s' is not a process id%s", argv[i],
                    rc == -ERANGE ? " (too large)" : "");
            return -1;
        }
        add_target(targets, n, pid);
    }
    if (*n == 0) {
        cmd_err("cancel: no process given (PID or --pidfile FILE)");
        return -1;
    }
    return 0;
}

int cmd_cancel(int argc, char **argv)
{
    struct atb_cancel_opts opts;
    struct atb_cancel_target *targets;
    struct cancel_cli cli = {&opts, 0};
    size_t n = 0;
    int rc, status = 0;

    atb_cancel_opts_init(&opts);
    /* Each argument names at most one target. */
    targets = calloc((size_t)argc, sizeof(*targets));
    if (targets == NULL) {
        cmd_err("cancel: %s", atb_strerror(-ENOMEM));
        return EXIT_ATB;
    }
    rc = parse_args(argc, argv, &opts, &cli.verbose, targets, &n);
    if (rc != 0) {
        free(targets);
        return rc > 0 ? 0 : EXIT_ATB;
    }
    opts.no_pidfd = cmd_no_pidfd();
    opts.event_cb = on_event;
    opts.data = &cli;

    rc = atb_cancel_run(targets, n, &opts);
    if (rc < 0) {
        size_t refused = 0;

        for (size_t i = 0; i < n; i++)
            refused += targets[i].state == ATB_CANCEL_REFUSED;
        if (rc == -EINVAL && refused > 0)
            report_refused(targets, n);
        else
            cmd_err("cancel: %s", atb_strerror(rc));
        status = EXIT_ATB;
    } else {
        for (size_t i = 0; i < n; i++)
            if (targets[i].state != ATB_CANCEL_NOT_RUNNING &&
                targets[i].state != ATB_CANCEL_GONE &&
                targets[i].state != ATB_CANCEL_KILLED)
                status = 1;
    }
    free(targets);
    return status;
}
