/* atb run [OPTIONS] SPEC: a run described in a JSON spec file (atb-spec(5)).
 * The spec gives the commands and the run settings; an option given here
 * beats the spec's value for the same setting. */
#include "cmd.h"
#include "atb/junit.h"
#include "atb/spec.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The settings given as options, and which ones were given. */
enum {
    GIVEN_MODE = 1 << 0,
    GIVEN_JOBS = 1 << 1,
    GIVEN_SIGNAL = 1 << 2,
    GIVEN_GRACE = 1 << 3,
    GIVEN_TIMEOUT = 1 << 4,
    GIVEN_OUTPUT = 1 << 5,
    GIVEN_PREFIX = 1 << 6,
    GIVEN_COLOR = 1 << 7,
    GIVEN_NO_PAD = 1 << 8,
    GIVEN_INPUT = 1 << 9,
    GIVEN_FIRST_SUCCESS = 1 << 10,
};

struct run_args {
    struct atb_opts opts; /* only the fields named in given count */
    unsigned given;
    struct cmd_reports reports; /* --report, --junit, -v */
    const char *spec;     /* the SPEC operand */
};

enum { OPT_REPORT = 256, OPT_JUNIT, OPT_FIRST_SUCCESS };

static const struct option long_options[] = {
    {"mode", required_argument, NULL, 'm'},
    CMD_SETTING_OPTIONS,
    {"report", required_argument, NULL, OPT_REPORT},
    {"junit", required_argument, NULL, OPT_JUNIT},
    {"verbose", no_argument, NULL, 'v'},
    {"first-success", no_argument, NULL, OPT_FIRST_SUCCESS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Names the option getopt just stumbled on, as the user wrote it. */
static void bad_option(char **argv, int at, int opt)
{
    const char *word = argv[at - 1];

    if (opt == ':')
        cmd_err("run: option '%s' needs a value", word);
    else if (strncmp(word, "--", 2) == 0)
        cmd_err("run: unknown option '%s'", word);
    else
        cmd_err("run: unknown option '-%c'", optopt);
}

/* Handles one option that sets a run setting. Returns 0 or -1. */
static int parse_setting(int opt, const char *arg, struct run_args *a)
{
    static const struct {
        int opt;
        unsigned given;
    } given[] = {{'j', GIVEN_JOBS},          {'s', GIVEN_SIGNAL},
                 {'g', GIVEN_GRACE},         {'t', GIVEN_TIMEOUT},
                 {'o', GIVEN_OUTPUT},        {CMD_OPT_PREFIX, GIVEN_PREFIX},
                 {CMD_OPT_COLOR, GIVEN_COLOR}, {CMD_OPT_NO_PAD, GIVEN_NO_PAD},
                 {'i', GIVEN_INPUT}};

    if (opt == 'm') {
        if (atb_mode_parse(arg, &a->opts.mode) < 0) {
            cmd_err("run: --mode: expected pool, try-all, wait-all or race, got '%s'", arg);
            return -1;
        }
        a->given |= GIVEN_MODE;
        return 0;
    }
    if (opt == OPT_FIRST_SUCCESS) {
        a->opts.first_success = 1;
        a->given |= GIVEN_FIRST_SUCCESS;
        return 0;
    }
    if (cmd_setting("run", opt, arg, &a->opts) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++)
        if (given[i].opt == opt)
            a->given |= given[i].given;
    return 0;
}

static int parse_options(int argc, char **argv, struct run_args *a)
{
    int opt;

    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":hvm:j:s:g:t:o:i:", long_options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            cmd_help("run", stdout);
            exit(0);
        case 'v':
            a->reports.verbose = 1;
            break;
        case OPT_REPORT:
            a->reports.json_path = optarg;
            break;
        case OPT_JUNIT:
            a->reports.junit_path = optarg;
            break;
        case 'm': case 'j': case 's': case 'g': case 't': case 'o': case 'i':
        case CMD_OPT_PREFIX: case CMD_OPT_COLOR: case CMD_OPT_NO_PAD: case OPT_FIRST_SUCCESS:
            if (parse_setting(opt, optarg, a) < 0)
                return -1;
            break;
        default:
            bad_option(argv, optind, opt);
            return -1;
        }
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

/* The run's settings: the spec's, then the options given, then what the
 * environment says where neither did (as atb pool does). */
static int merge_opts(const struct run_args *a, const struct atb_spec *spec,
                      struct atb_opts *opts)
{
    const struct atb_opts *o = &a->opts;

    *opts = *atb_spec_opts(spec);
    if (a->given & GIVEN_MODE)
        opts->mode = o->mode;
    if (a->given & GIVEN_JOBS)
        opts->jobs = o->jobs;
    if (a->given & GIVEN_SIGNAL)
        opts->cancel_signal = o->cancel_signal;
    if (a->given & GIVEN_GRACE)
        opts->grace_s = o->grace_s;
    if (a->given & GIVEN_TIMEOUT)
        opts->timeout_s = o->timeout_s;
    if (a->given & GIVEN_OUTPUT)
        opts->output = o->output;
    if (a->given & GIVEN_PREFIX)
        opts->prefix = o->prefix;
    if (a->given & GIVEN_COLOR)
        opts->color = o->color;
    if (a->given & GIVEN_NO_PAD)
        opts->no_pad = 1;
    if (a->given & GIVEN_INPUT)
        opts->input = o->input;
    if (a->given & GIVEN_FIRST_SUCCESS)
        opts->first_success = 1;
    if (opts->first_success && opts->mode != ATB_MODE_RACE) {
        if (a->given & GIVEN_FIRST_SUCCESS)
            cmd_err("run: --first-success is an option of race only (the mode is %s)",
                    atb_mode_name(opts->mode));
        else
            cmd_err("run: %s: first_success needs mode race (--mode %s)", a->spec,
                    atb_mode_name(opts->mode));
        return -1;
    }
    if (opts->input && strcmp(a->spec, "-") == 0) {
        cmd_err("run: input: standard input holds the spec, it cannot go to '%s'",
                opts->input);
        return -1;
    }
    /* A color the spec or an option chose beats NO_COLOR and FORCE_COLOR. */
    cmd_env_opts(opts, (a->given & GIVEN_COLOR) || opts->color != ATB_COLOR_AUTO);
    return 0;
}

int cmd_run(int argc, char **argv)
{
    struct run_args a;
    struct atb_spec_error err;
    struct atb_spec *spec = NULL;
    struct atb_run *run = NULL;
    struct atb_opts opts;
    int rc, status = EXIT_ATB;

    cmd_block_signals();
    memset(&a, 0, sizeof(a));
    atb_opts_init(&a.opts);
    if (parse_options(argc, argv, &a) < 0)
        return EXIT_ATB;
    rc = atb_spec_load(strcmp(a.spec, "-") == 0 ? NULL : a.spec, &spec, &err);
    if (rc < 0) {
        cmd_err("%s", err.text);
        return EXIT_ATB;
    }
    a.reports.suite = strcmp(a.spec, "-") == 0 ? "<stdin>" : a.spec;
    if (merge_opts(&a, spec, &opts) < 0 || cmd_reports_check(&a.reports, &opts) < 0)
        goto out;
    rc = atb_run_new(&run, &opts);
    if (rc == 0)
        rc = atb_spec_add_to_run(spec, run);
    if (rc < 0) {
        cmd_err("run: %s", atb_strerror(rc));
        goto out;
    }
    if (cmd_reports_open(&a.reports) == 0)
        status = cmd_finish(run, a.reports.suite, &a.reports);
out:
    atb_run_free(run);
    atb_spec_free(spec);
    return status;
}
