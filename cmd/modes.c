/* atb pool | try-all | wait-all | race: options and argv groups in, a run
 * to the library, reports and an exit status out. */
#include "cmd.h"
#include "probe.h"
#include "rerun.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FINALLY 64

struct mode_args {
    enum atb_mode mode;
    struct cmd_settings settings; /* -j -s -g -t -o -i --prefix --color --no-pad */
    int shell;
    const char *sep;
    char *names;        /* -n, split in place */
    struct cmd_reports reports; /* --report, --junit, -v */
    const char *finally[MAX_FINALLY]; /* --finally cleanup commands */
    size_t nfinally;
    int first_success;
    int feed;           /* --stdin */
    const char *rerun;  /* --rerun-failed REPORT, or NULL */
    int null;           /* -0, --null: fed lines end with NUL */
    int progress;       /* --progress asks for the status line here */
    int progress_given; /* --progress other than =never */
    struct cmd_feed fed;
    struct cmd_probes probes; /* --ready-probe, --health-probe */
};

enum { OPT_SEP = 256, OPT_FIRST_SUCCESS, OPT_FINALLY, OPT_PROGRESS, OPT_STDIN };


static const struct option long_options[] = {
    {"shell", no_argument, NULL, 'c'},
    {"sep", required_argument, NULL, OPT_SEP},
    {"names", required_argument, NULL, 'n'},
    CMD_SETTING_OPTIONS,
    CMD_REPORT_OPTIONS,
    CMD_RERUN_OPTION,
    CMD_PROBE_OPTIONS,
    {"first-success", no_argument, NULL, OPT_FIRST_SUCCESS},
    {"finally", required_argument, NULL, OPT_FINALLY},
    {"progress", optional_argument, NULL, OPT_PROGRESS},
    {"stdin", no_argument, NULL, OPT_STDIN},
    {"null", no_argument, NULL, '0'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* --progress: when stderr is a terminal; =always, =never. */
static int progress_option(const char *mode, const char *arg, struct mode_args *a)
{
    a->progress_given = arg == NULL || strcmp(arg, "never") != 0;
    if (arg == NULL || strcmp(arg, "auto") == 0)
        a->progress = isatty(2);
    else if (strcmp(arg, "always") == 0)
        a->progress = 1;
    else if (strcmp(arg, "never") == 0)
        a->progress = 0;
    else {
        cmd_err("%s: --progress: expected auto, always or never, got '%s'", mode, arg);
        return -1;
    }
    return 0;
}

static int finally_option(const char *mode, const char *arg, struct mode_args *a)
{
    if (arg[strspn(arg, " \t\n")] == '\0') {
        cmd_err("%s: --finally: the command is empty", mode);
        return -1;
    }
    if (a->nfinally == MAX_FINALLY) {
        cmd_err("%s: --finally: at most %d cleanup commands", mode, MAX_FINALLY);
        return -1;
    }
    a->finally[a->nfinally++] = arg;
    return 0;
}

/* The options of the modes themselves; -1 after a message. */
static int mode_option(const char *mode, int opt, const char *arg, struct mode_args *a)
{
    int rc = cmd_probe_option(mode, opt, arg, &a->probes);

    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (cmd_report_option(opt, arg, &a->reports))
        return 0;
    switch (opt) {
    case 'c':
        a->shell = 1;
        return 0;
    case OPT_SEP:
        if (arg[0] == '\0') {
            cmd_err("%s: --sep: the separator cannot be empty", mode);
            return -1;
        }
        a->sep = arg;
        return 0;
    case 'n':
        a->names = (char *)arg;
        return 0;
    case OPT_PROGRESS:
        return progress_option(mode, arg, a);
    case OPT_STDIN:
        a->feed = 1;
        return 0;
    case '0':
        a->null = 1;
        return 0;
    case OPT_FINALLY:
        return finally_option(mode, arg, a);
    case CMD_OPT_RERUN_FAILED:
        a->rerun = arg;
        return 0;
    case OPT_FIRST_SUCCESS:
        if (a->mode != ATB_MODE_RACE) {
            cmd_err("%s: --first-success is an option of race only", mode);
            return -1;
        }
        a->first_success = 1;
        return 0;
    }
    return 1;
}

static int parse_options(int argc, char **argv, struct mode_args *a)
{
    const char *mode = argv[0];
    int opt;

    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "+:hvc0kn:j:s:g:t:o:i:", long_options, NULL)) != -1) {
        int rc;

        if (opt == 'h') {
            cmd_help(mode, stdout);
            exit(0);
        }
        rc = mode_option(mode, opt, optarg, a);
        if (rc > 0) {
            rc = cmd_setting(mode, opt, optarg, &a->settings);
            if (rc == 0) {
                cmd_bad_option(mode, argv, optind, opt, long_options);
                return -1;
            }
        }
        if (rc < 0)
            return -1;
    }
    return optind;
}

/* -n a,b,c: strsep keeps empty fields, which must be an error, not
 * skipped. */
static int split_names(struct mode_args *a, size_t ngroups, char **list, size_t *nnames)
{
    const char *mode = atb_mode_name(a->mode);
    char *rest = a->names, *tok;

    *nnames = 0;
    while (rest != NULL && (tok = strsep(&rest, ",")) != NULL) {
        if (*nnames >= ngroups) {
            cmd_err("%s: --names: more names than commands (%zu)", mode, ngroups);
            return -1;
        }
        list[(*nnames)++] = tok;
    }
    for (size_t i = 0; i < *nnames; i++) {
        if (list[i][0] == '\0') {
            cmd_err("%s: --names: name %zu is empty", mode, i + 1);
            return -1;
        }
    }
    return 0;
}

/* Adds one argv group (or shell line) as a command named name. */
static int add_group(struct atb_run *run, struct mode_args *a, size_t i,
                     const struct atb_argv_group *g, const char *name)
{
    const char *mode = atb_mode_name(a->mode);
    struct atb_cmd c = ATB_CMD_INIT;
    char *words[g->argc + 1];
    int err;

    c.name = name;
    if (a->shell) {
        c.shell = g->argv[0];
        if (c.shell[strspn(c.shell, " \t\n")] == '\0') {
            cmd_err("%s: command %zu is empty", mode, i + 1);
            return -1;
        }
    } else {
        memcpy(words, g->argv, (size_t)g->argc * sizeof(char *));
        words[g->argc] = NULL;
        c.argv = words;
    }
    err = atb_run_add(run, &c);
    if (err == ATB_EDUPNAME) {
        cmd_err("%s: --names: duplicate name '%s'", mode, c.name);
        return -1;
    }
    if (err < 0) {
        cmd_err("%s: %s", mode, atb_strerror(err));
        return -1;
    }
    return 0;
}

/* As GNU parallel: commands made from inputs (--stdin, ::: lists) run one
 * per CPU unless -j says otherwise; commands given one by one all run at
 * once. Returns 0, or -1 after a message. */
static int cpu_jobs(struct atb_run *run, const struct mode_args *a)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (cmd_settings_has(&a->settings, 'j') ||
        atb_run_set_jobs(run, cpus > 0 ? (unsigned)cpus : 1) == 0)
        return 0;
    cmd_err("%s: %s", atb_mode_name(a->mode), atb_strerror(-EINVAL));
    return -1;
}

/* Adds the commands that follow the options, then the cleanup ones.
 * Returns 0, or the exit status after a message. */
static int add_commands(struct atb_run *run, struct mode_args *a, int argc, char **argv)
{
    struct atb_argv_group *groups = NULL;
    size_t ngroups = 0, nnames = 0;
    char **name_list = NULL;
    int rc = EXIT_ATB, at;

    groups = calloc((size_t)argc + 1, sizeof(*groups));
    name_list = calloc((size_t)argc + 1, sizeof(*name_list));
    if (groups == NULL || name_list == NULL) {
        cmd_err("%s: %s", atb_mode_name(a->mode), strerror(ENOMEM));
        goto out;
    }
    /* ::: is an argument list, unless it was made the separator. */
    if (!a->feed && !a->shell && strncmp(a->sep, ":::", 3) != 0 &&
        (at = cmd_arglist_at(argc, argv)) >= 0) {
        if (a->names) {
            cmd_err("%s: --names: commands from argument lists are named after their inputs",
                    atb_mode_name(a->mode));
            goto out;
        }
        if (cpu_jobs(run, a) < 0 ||
            cmd_arglist_add(run, atb_mode_name(a->mode), a->sep, argc, argv, at) < 0)
            goto out;
    } else if (!a->feed) {
        rc = cmd_split(atb_mode_name(a->mode), a->shell, a->sep, argc, argv, groups, &ngroups);
        if (rc == 0 && split_names(a, ngroups, name_list, &nnames) < 0)
            rc = EXIT_ATB;
        if (rc != 0)
            goto out;
        rc = EXIT_ATB;
    }
    for (size_t i = 0; i < ngroups; i++)
        if (add_group(run, a, i, &groups[i], i < nnames ? name_list[i] : NULL) < 0)
            goto out;
    for (size_t i = 0; i < a->nfinally; i++) {
        struct atb_cmd c = ATB_CMD_INIT;
        int err;

        c.shell = a->finally[i];
        c.cleanup = 1;
        /* What it is, not its first word: "finally", "finally#2". */
        c.label = "finally";
        if ((err = atb_run_add(run, &c)) < 0) {
            cmd_err("%s: %s", atb_mode_name(a->mode), atb_strerror(err));
            goto out;
        }
    }
    rc = 0;
out:
    free(name_list);
    free(groups);
    return rc;
}

/* --stdin: commands come from stdin; what follows the options, if
 * anything, is the template. Returns 0, or -1 after a message. */
static int feed_setup(struct atb_run *run, struct mode_args *a, int *argc, char **argv)
{
    const char *mode = atb_mode_name(a->mode);

    if (!a->feed) {
        if (a->null) {
            cmd_err("%s: -0 (--null) is for --stdin", mode);
            return -1;
        }
        if (*argc > 0)
            return 0;
        cmd_err("%s: no command given (try 'atb %s --help')", mode, mode);
        return -1;
    }
    if (a->null && atb_run_set_feed_delim(run, '\0') < 0) {
        cmd_err("%s: %s", mode, atb_strerror(-EINVAL));
        return -1;
    }
    if (a->names || cmd_settings_has(&a->settings, 'i')) {
        cmd_err("%s: --stdin takes neither --names nor --input", mode);
        return -1;
    }
    if (*argc > 0 && a->shell) {
        cmd_err("%s: --stdin: a template is run directly; drop -c", mode);
        return -1;
    }
    a->fed.tmpl = *argc > 0 ? argv : NULL;
    a->fed.tmpl_argc = *argc;
    *argc = 0;
    if (a->fed.tmpl) {
        char why[160];

        if (cmd_tmpl_check(a->fed.tmpl, a->fed.tmpl_argc, 1, why, sizeof(why)) < 0) {
            cmd_err("%s: %s", mode, why);
            return -1;
        }
        /* Without a replacement string the line goes at the end, as with
         * GNU parallel and xargs. */
        if (!cmd_tmpl_has(a->fed.tmpl, a->fed.tmpl_argc, 0))
            a->fed.append = 1;
        if (cmd_tmpl_has(a->fed.tmpl, a->fed.tmpl_argc, 1) &&
            atb_run_set_slot_env(run, CMD_SLOT_VAR) < 0) {
            cmd_err("%s: %s", mode, atb_strerror(-ENOMEM));
            return -1;
        }
    }
    if (cpu_jobs(run, a) < 0)
        return -1;
    if (atb_run_set_feed(run, 0, cmd_feed_line, &a->fed) < 0) {
        cmd_err("%s: %s", mode, atb_strerror(-EINVAL));
        return -1;
    }
    return 0;
}

/* The run as the options describe it. Returns 0, or -1 after a message. */
static int configure(struct atb_run *run, struct mode_args *a, struct cmd_view *view)
{
    int rc = atb_run_set_mode(run, a->mode);

    if (rc == 0)
        rc = atb_run_set_first_success(run, a->first_success);
    if (rc == 0)
        rc = cmd_settings_apply(&a->settings, run);
    if (rc < 0) {
        cmd_err("%s: %s", view->who, atb_strerror(rc));
        return -1;
    }
    return cmd_present(run, view);
}

int cmd_modes(int argc, char **argv)
{
    struct mode_args a;
    struct cmd_view view;
    struct atb_run *run = NULL;
    int first, rc, rerun = 0, status = EXIT_ATB;

    memset(&a, 0, sizeof(a));
    memset(&view, 0, sizeof(view));
    atb_mode_parse(argv[0], &a.mode);
    a.sep = "--";
    first = parse_options(argc, argv, &a);
    if (first < 0)
        return EXIT_ATB;
    argc -= first;
    argv += first;
    view.who = argv[-first];
    view.progress = a.progress;
    view.progress_asked = a.progress_given;
    view.tty = -1;
    cmd_view_settings(&a.settings, &view);
    rc = atb_run_new(&run);
    if (rc < 0) {
        cmd_err("%s: %s", view.who, atb_strerror(rc));
        return EXIT_ATB;
    }
    /* Everything is checked before the report files are opened (and
     * truncated), and they before anything starts. */
    if (configure(run, &a, &view) == 0 && cmd_reports_check(&a.reports, run) == 0 &&
        feed_setup(run, &a, &argc, argv) == 0 &&
        (status = add_commands(run, &a, argc, argv)) == 0) {
        status = EXIT_ATB;
        if (cmd_probes_apply(&a.probes, run, view.who, a.reports.verbose, a.feed) == 0 &&
            cmd_give_stdin(run, &view, a.feed) == 0 &&
            (rerun = cmd_rerun_failed(run, a.rerun, view.who, a.feed)) == 0 &&
            cmd_reports_open(&a.reports) == 0)
            status = cmd_finish(run, &view, &a.reports);
        else if (rerun == 1)
            status = 0; /* nothing failed in that report: nothing to run */
        if (status == 0 && a.fed.skipped > 0) {
            cmd_err("%s: %lu line%s of stdin skipped (too long)", view.who, a.fed.skipped,
                    a.fed.skipped == 1 ? "" : "s");
            status = EXIT_ATB;
        }
    }
    atb_run_free(run);
    return status;
}
