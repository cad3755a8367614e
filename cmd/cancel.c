/* atb cancel: cancel processes atb did not start and wait until they are
 * gone. Arguments -> targets (with their pid files' mtimes) and options ->
 * atb_cancel_run_pidfiles() -> messages as things happen (through its
 * event callback) and an exit status: 0 every target gone, 1 one could not
 * be signalled or would not go, 125 usage errors, refusals and atb's own
 * failures. */
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

/* The targets in the order given, one per process, with for each the pid
 * file that named it (NULL: a PID argument) and when that file was written
 * (tv_nsec -1: no pid file). Each argument names at most one target. */
struct cancel_list {
    struct atb_cancel_target *targets;
    struct timespec *written;
    const char **pidfile;
    size_t n;
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

/* Says why the refused target i was refused (see ATB_CANCEL_REFUSED). */
static void report_refused(const struct cancel_list *l, size_t i)
{
    const struct atb_cancel_target *t = &l->targets[i];

    if (t->error == -ESTALE)
        cmd_err("cancel: %d: refusing to signal it: it started after "
                "--pidfile %s was written, so it is not the process the "
                "file names", (int)t->pid, l->pidfile[i]);
    else if (t->error == -EPERM)
        cmd_err("cancel: %d: refusing to signal a kernel thread", (int)t->pid);
    else if (t->error == -EDEADLK)
        cmd_err("cancel: %d: refusing to signal an ancestor of atb",
                (int)t->pid);
    else if (t->pid == 1)
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

/* Adds pid unless it is there already: one target per process. Named by a
 * pid file more than once, it keeps the earliest file: the strictest
 * bound on when the process may have started. */
static void add_target(struct cancel_list *l, pid_t pid, const char *pidfile,
                       const struct timespec *written)
{
    size_t i = 0;

    while (i < l->n && l->targets[i].pid != pid)
        i++;
    if (i == l->n) {
        memset(&l->targets[i], 0, sizeof(l->targets[i]));
        l->targets[l->n++].pid = pid;
        l->written[i] = (struct timespec){0, -1};
        l->pidfile[i] = NULL;
    }
    if (pidfile != NULL &&
        (l->pidfile[i] == NULL || written->tv_sec < l->written[i].tv_sec ||
         (written->tv_sec == l->written[i].tv_sec &&
          written->tv_nsec < l->written[i].tv_nsec))) {
        l->written[i] = *written;
        l->pidfile[i] = pidfile;
    }
}

/* Reads --pidfile path into the targets. Returns 0, or -1 after saying
 * what is wrong with the file. */
static int add_pidfile(struct cancel_list *l, const char *path)
{
    struct timespec written;
    const char *why;
    pid_t pid;
    int rc;

    rc = atb_cancel_pidfile_load(path, &pid, &written, &why);
    if (rc < 0) {
        cmd_err("cancel: --pidfile %s: %s", path,
                why != NULL ? why : atb_strerror(rc));
        return -1;
    }
    add_target(l, pid, path, &written);
    return 0;
}

static const struct option longopts[] = {
    {"signal", required_argument, NULL, 's'},
    {"grace", required_argument, NULL, 'g'},
    {"group", no_argument, NULL, OPT_GROUP},
    {"pidfile", required_argument, NULL, OPT_PIDFILE},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Says what is wrong with the option getopt_long() stopped at: c is ':'
 * when it needs a value, else it is unknown. Returns -1. Separate so that
 * parse_option() reads as the options it knows. */
static int bad_option(int c, char **argv)
{
    char hint[96];

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
        cmd_err("cancel: unknown option '%s'%s (try 'atb help cancel')", argv[optind - 1],
                cmd_option_hint(argv[optind - 1], longopts, NULL, hint, sizeof(hint)));
    return -1;
}

/* Applies one option c from getopt_long() (its value in optarg) to opts,
 * *verbose or the targets. Returns 0, or -1 after printing a usage error,
 * or 1 when --help was printed. Separate from parse_args() so that the
 * loop over argv and the meaning of each option read apart. */
static int parse_option(int c, char **argv, struct atb_cancel_opts *opts,
                        int *verbose, struct cancel_list *l)
{
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
        return add_pidfile(l, optarg);
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
                      int *verbose, struct cancel_list *l)
{
    pid_t pid;
    int c, rc;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":s:g:vh", longopts, NULL)) != -1) {
        rc = parse_option(c, argv, opts, verbose, l);
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
        add_target(l, pid, NULL, NULL);
    }
    if (l->n == 0) {
        cmd_err("cancel: no process given (PID or --pidfile FILE)");
        return -1;
    }
    return 0;
}

/* Runs the cancel and turns its outcome into the exit status. */
static int cancel(struct cancel_list *l, const struct atb_cancel_opts *opts)
{
    int rc = atb_cancel_run_pidfiles(l->targets, l->n, opts, l->written);
    int refused = 0, status = 0;

    for (size_t i = 0; i < l->n; i++) {
        const struct atb_cancel_target *t = &l->targets[i];

        if (rc == -EINVAL && t->state == ATB_CANCEL_REFUSED) {
            report_refused(l, i);
            refused = 1;
        }
        if (t->state != ATB_CANCEL_NOT_RUNNING &&
            t->state != ATB_CANCEL_GONE && t->state != ATB_CANCEL_KILLED)
            status = 1;
    }
    if (rc < 0 && !refused)
        cmd_err("cancel: %s", atb_strerror(rc));
    return rc < 0 ? EXIT_ATB : status;
}

int cmd_cancel(int argc, char **argv)
{
    struct atb_cancel_opts opts;
    struct cancel_cli cli = {&opts, 0};
    struct cancel_list l = {0};
    int rc;

    atb_cancel_opts_init(&opts);
    l.targets = calloc((size_t)argc, sizeof(*l.targets));
    l.written = calloc((size_t)argc, sizeof(*l.written));
    l.pidfile = calloc((size_t)argc, sizeof(*l.pidfile));
    if (l.targets == NULL || l.written == NULL || l.pidfile == NULL) {
        cmd_err("cancel: %s", atb_strerror(-ENOMEM));
        rc = EXIT_ATB;
        goto out;
    }
    rc = parse_args(argc, argv, &opts, &cli.verbose, &l);
    if (rc != 0) {
        rc = rc > 0 ? 0 : EXIT_ATB;
        goto out;
    }
    opts.no_pidfd = cmd_no_pidfd();
    opts.event_cb = on_event;
    opts.data = &cli;
    rc = cancel(&l, &opts);
out:
    free(l.targets);
    free(l.written);
    free(l.pidfile);
    return rc;
}
