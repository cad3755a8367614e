/* atb run [OPTIONS] SPEC: a run described in a JSON spec file (atb-spec(5)).
 * The spec gives the commands and the run settings; an option given here
 * beats the spec's value for the same setting: the spec is applied to the
 * run first, the options after it. */
#include "cmd.h"
#include "probe.h"
#include "rerun.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

struct run_args {
    struct cmd_settings settings; /* -j -s -g -t -o -i --prefix --color --no-pad */
    const char *mode;       /* --mode, or NULL */
    int first_success;      /* --first-success */
    struct cmd_reports reports; /* --report, --junit, -v */
    const char *spec;       /* the SPEC operand */
    const char *rerun;      /* --rerun-failed REPORT, or NULL */
    struct cmd_probes probes; /* --ready-probe, --health-probe */
};

enum { OPT_FIRST_SUCCESS = 256 };

static const struct option long_options[] = {
    {"mode", required_argument, NULL, 'm'},
    CMD_SETTING_OPTIONS,
    CMD_REPORT_OPTIONS,
    CMD_RERUN_OPTION,
    CMD_PROBE_OPTIONS,
    {"first-success", no_argument, NULL, OPT_FIRST_SUCCESS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The options of atb run itself; 1 when opt is none of them. */
static int run_option(int opt, const char *arg, struct run_args *a)
{
    enum atb_mode mode;
    int rc = cmd_probe_option("run", opt, arg, &a->probes);

    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (cmd_report_option(opt, arg, &a->reports))
        return 0;
    switch (opt) {
    case 'm':
        if (atb_mode_parse(arg, &mode) < 0) {
            cmd_err("run: --mode: expected pool, try-all, wait-all or race, got '%s'", arg);
            return -1;
        }
        a->mode = arg;
        return 0;
    case OPT_FIRST_SUCCESS:
        a->first_success = 1;
        return 0;
    case CMD_OPT_RERUN_FAILED:
        a->rerun = arg;
        return 0;
    }
    return 1;
}

static int parse_options(int argc, char **argv, struct run_args *a)
{
    int opt;

    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":hvkm:j:s:g:t:o:i:", long_options, NULL)) != -1) {
        int rc;

        if (opt == 'h') {
            cmd_help("run", stdout);
            exit(0);
        }
        rc = run_option(opt, optarg, a);
        if (rc > 0) {
            rc = cmd_setting("run", opt, optarg, &a->settings);
            if (rc == 0) {
                cmd_bad_option("run", argv, optind, opt, long_options);
                return -1;
            }
        }
        if (rc < 0)
            return -1;
    }
    if (optind == argc) {
        cmd_err("run: no spec file given (try 'atb run --help')");
        return -1;
    }
    if (optind + 1 < argc) {
        cmd_err("run: one spec file expected, got '%s' after '%s'", argv[optind + 1],
                argv[optind]);
        return -1;
    }
    a->spec = argv[optind];
    return 0;
}

/* The options given beat the spec's settings; then the two must agree. */
static int apply_options(const struct run_args *a, struct atb_run *run, const char *origin)
{
    enum atb_mode mode;
    int rc = 0;

    if (a->mode && atb_mode_parse(a->mode, &mode) == 0)
        rc = atb_run_set_mode(run, mode);
    if (rc == 0 && a->first_success)
        rc = atb_run_set_first_success(run, 1);
    if (rc == 0)
        rc = cmd_settings_apply(&a->settings, run);
    if (rc < 0) {
        cmd_err("run: %s", atb_strerror(rc));
        return -1;
    }
    if (atb_run_get_first_success(run) && atb_run_get_mode(run) != ATB_MODE_RACE) {
        if (a->first_success)
            cmd_err("run: --first-success is an option of race only (the mode is %s)",
                    atb_mode_name(atb_run_get_mode(run)));
        else
            cmd_err("run: %s: first_success needs mode race (--mode %s)", origin,
                    atb_mode_name(atb_run_get_mode(run)));
        return -1;
    }
    if (atb_run_get_input(run) && strcmp(a->spec, "-") == 0) {
        cmd_err("run: input: standard input holds the spec, it cannot go to '%s'",
                atb_run_get_input(run));
        return -1;
    }
    return cmd_probes_apply(&a->probes, run, "run", a->reports.verbose, 0);
}

/* The spec, then the options, then the validator, whose errors the spec
 * places at their JSON path. Returns 0, or -1 after a message. */
static int describe_run(const struct run_args *a, const struct atb_spec *spec,
                        struct atb_run *run, const char *origin)
{
    struct atb_error err;
    char msg[1024];
    int rc = atb_spec_apply(spec, run, &err);

    if (rc == ATB_ESPEC) {
        cmd_err("%s", atb_spec_message(&err, origin, msg, sizeof(msg)));
        return -1;
    }
    if (rc < 0) {
        cmd_err("run: %s", atb_strerror(rc));
        return -1;
    }
    if (apply_options(a, run, origin) < 0)
        return -1;
    rc = atb_spec_check(spec, run, &err);
    if (rc < 0 && cmd_probes_error(&a->probes, run, &err, "run"))
        return -1; /* a probe of the options, not the spec's */
    if (rc == ATB_ESPEC)
        cmd_err("%s", atb_spec_message(&err, origin, msg, sizeof(msg)));
    else if (rc == ATB_ENONAME)
        cmd_err("%s: input: no command is named '%s'", origin, atb_run_get_input(run));
    else if (rc < 0)
        cmd_err("%s: %s", origin, err.text[0] ? err.text : atb_strerror(rc));
    return rc < 0 ? -1 : 0;
}

int cmd_run(int argc, char **argv)
{
    struct run_args a;
    struct cmd_view view;
    struct atb_error err;
    struct atb_spec *spec = NULL;
    struct atb_run *run = NULL;
    const char *origin;
    char msg[1024];
    int rc, rerun = 0, status = EXIT_ATB;

    memset(&a, 0, sizeof(a));
    memset(&view, 0, sizeof(view));
    if (parse_options(argc, argv, &a) < 0)
        return EXIT_ATB;
    origin = strcmp(a.spec, "-") == 0 ? "<stdin>" : a.spec;
    rc = atb_spec_load(strcmp(a.spec, "-") == 0 ? NULL : a.spec, &spec, &err);
    if (rc < 0) {
        cmd_err("%s", atb_spec_message(&err, origin, msg, sizeof(msg)));
        return EXIT_ATB;
    }
    a.reports.suite = origin;
    view.who = origin;
    view.tty = -1;
    cmd_view_settings(&a.settings, &view);
    rc = atb_run_new(&run);
    if (rc < 0) {
        cmd_err("run: %s", atb_strerror(rc));
        goto out;
    }
    /* A colour the spec chose beats NO_COLOR and FORCE_COLOR as an option
     * does. */
    if (describe_run(&a, spec, run, origin) == 0 && cmd_present(run, &view) == 0 &&
        cmd_reports_check(&a.reports, run) == 0 &&
        cmd_give_stdin(run, &view, strcmp(a.spec, "-") == 0) == 0 &&
        (rerun = cmd_rerun_failed(run, a.rerun, "run", 0)) == 0 &&
        cmd_reports_open(&a.reports) == 0)
        status = cmd_finish(run, &view, &a.reports);
    else if (rerun == 1)
        status = 0; /* nothing failed in that report: nothing to run */
out:
    atb_run_free(run);
    atb_spec_free(spec);
    return status;
}
