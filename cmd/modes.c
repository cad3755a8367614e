/* atb pool | try-all | wait-all | race: options and argv groups in, a run
 * description to the library, reports and an exit status out. */
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FINALLY 64

struct mode_args {
    struct atb_opts opts;
    int shell;
    const char *sep;
    char *names;        /* -n, split in place */
    struct cmd_reports reports; /* --report, --junit, -v */
    int color_given;    /* --color was given: it beats NO_COLOR, FORCE_COLOR */
    const char *finally[MAX_FINALLY]; /* --finally cleanup commands */
    size_t nfinally;
    int feed;           /* --stdin */
    int progress_given; /* --progress other than =never */
    char **tmpl;        /* --stdin with a template: the words after options */
    int tmpl_argc;
    unsigned long line_no;
};

enum { OPT_SEP = 256, OPT_REPORT, OPT_JUNIT, OPT_FIRST_SUCCESS, OPT_FINALLY, OPT_PROGRESS,
       OPT_STDIN };

static const struct option long_options[] = {
    {"shell", no_argument, NULL, 'c'},
    {"sep", required_argument, NULL, OPT_SEP},
    {"names", required_argument, NULL, 'n'},
    CMD_SETTING_OPTIONS,
    {"report", required_argument, NULL, OPT_REPORT},
    {"junit", required_argument, NULL, OPT_JUNIT},
    {"verbose", no_argument, NULL, 'v'},
    {"first-success", no_argument, NULL, OPT_FIRST_SUCCESS},
    {"finally", required_argument, NULL, OPT_FINALLY},
    {"progress", optional_argument, NULL, OPT_PROGRESS},
    {"stdin", no_argument, NULL, OPT_STDIN},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Names the option getopt just stumbled on, as the user wrote it. */
static void bad_option(const char *mode, char **argv, int at, int opt)
{
    const char *word = argv[at - 1];

    if (opt == ':')
        cmd_err("%s: option '%s' needs a value", mode, word);
    else if (strncmp(word, "--", 2) == 0)
        cmd_err("%s: unknown option '%s'", mode, word);
    else
        cmd_err("%s: unknown option '-%c'", mode, optopt);
}

static int parse_options(int argc, char **argv, struct mode_args *a)
{
    const char *mode = argv[0];
    int opt;

    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "+:hvcn:j:s:g:t:o:i:", long_options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            cmd_help(mode, stdout);
            exit(0);
        case 'v':
            a->reports.verbose = 1;
            break;
        case 'c':
            a->shell = 1;
            break;
        case OPT_SEP:
            if (optarg[0] == '\0') {
                cmd_err("%s: --sep: the separator cannot be empty", mode);
                return -1;
            }
            a->sep = optarg;
            break;
        case 'n':
            a->names = optarg;
            break;
        case OPT_REPORT:
            a->reports.json_path = optarg;
            break;
        case OPT_JUNIT:
            a->reports.junit_path = optarg;
            break;
        case OPT_PROGRESS:
            /* --progress: when stderr is a terminal; =always, =never. */
            a->progress_given = optarg == NULL || strcmp(optarg, "never") != 0;
            if (optarg == NULL || strcmp(optarg, "auto") == 0)
                a->opts.progress = isatty(2);
            else if (strcmp(optarg, "always") == 0)
                a->opts.progress = 1;
            else if (strcmp(optarg, "never") == 0)
                a->opts.progress = 0;
            else {
                cmd_err("%s: --progress: expected auto, always or never, got '%s'", mode,
                        optarg);
                return -1;
            }
            break;
        case OPT_STDIN:
            if (a->opts.mode == ATB_MODE_RACE) {
                cmd_err("%s: --stdin is for pool, try-all and wait-all", mode);
                return -1;
            }
            a->feed = 1;
            break;
        case OPT_FINALLY:
            if (optarg[strspn(optarg, " \t\n")] == '\0') {
                cmd_err("%s: --finally: the command is empty", mode);
                return -1;
            }
            if (a->nfinally == MAX_FINALLY) {
                cmd_err("%s: --finally: at most %d cleanup commands", mode, MAX_FINALLY);
                return -1;
            }
            a->finally[a->nfinally++] = optarg;
            break;
        case OPT_FIRST_SUCCESS:
            if (a->opts.mode != ATB_MODE_RACE) {
                cmd_err("%s: --first-success is an option of race only", mode);
                return -1;
            }
            a->opts.first_success = 1;
            break;
        default: {
            int rc = cmd_setting(mode, opt, optarg, &a->opts);
            if (rc < 0)
                return -1;
            if (rc == 0) {
                bad_option(mode, argv, optind, opt);
                return -1;
            }
            a->color_given |= opt == CMD_OPT_COLOR;
            break;
        }
        }
    }
    return optind;
}

/* Replaces every "{}" in word by line into a malloc'd string. */
static char *substitute(const char *word, const char *line, size_t len)
{
    size_t n = 0, size;
    char *out, *o;

    for (const char *p = strstr(word, "{}"); p; p = strstr(p + 2, "{}"))
        n++;
    size = strlen(word) - 2 * n + n * len + 1;
    out = o = malloc(size);
    if (out == NULL)
        return NULL;
    for (const char *p = word; *p;) {
        if (p[0] == '{' && p[1] == '}') {
            memcpy(o, line, len);
            o += len;
            p += 2;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* --stdin: one line, one command. With a template the line is an argument
 * for each {}; otherwise a line starting with '{' is a JSON command object
 * (as in a spec) and any other line a shell command. */
static int feed_line(struct atb_run *run, const char *line, size_t len, void *data)
{
    struct mode_args *a = data;
    struct atb_cmd c = {NULL, NULL, NULL};
    char *text = NULL, **words = NULL;
    int rc = 0;

    a->line_no++;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (memchr(line, '\0', len) != NULL) {
        cmd_err("stdin:%lu: a command line cannot hold a NUL byte", a->line_no);
        return -EINVAL;
    }
    if (a->tmpl) {
        words = calloc((size_t)a->tmpl_argc + 1, sizeof(*words));
        if (words == NULL)
            return -ENOMEM;
        for (int i = 0; i < a->tmpl_argc && rc == 0; i++)
            if ((words[i] = substitute(a->tmpl[i], line, len)) == NULL)
                rc = -ENOMEM;
        c.argv = words;
        if (rc == 0)
            rc = atb_run_add(run, &c);
        for (int i = 0; i < a->tmpl_argc; i++)
            free(words[i]);
        free(words);
        return rc < 0 ? rc : 0;
    }
    while (len > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        len--;
    }
    if (len == 0)
        return 0;
    if (*line == '{') {
        /* A JSON command object, as in a spec's "commands". */
        struct atb_spec *spec = NULL;
        struct atb_spec_error err;
        char origin[48];

        snprintf(origin, sizeof(origin), "stdin:%lu", a->line_no);
        rc = atb_spec_parse_cmd(line, len, origin, NULL, &spec, &err);
        if (rc < 0) {
            cmd_err("%s", err.text);
            return rc;
        }
        if (atb_spec_cmd(spec, 0)->ready_when || atb_spec_cmd(spec, 0)->sets ||
            atb_spec_cmd(spec, 0)->wait_for) {
            /* Dependencies are worked out before a run starts. */
            cmd_err("%s: ready_when, sets and wait_for belong in a spec (atb run), not in "
                    "--stdin",
                    origin);
            atb_spec_free(spec);
            return -EINVAL;
        }
        if (atb_spec_count(spec) != 1) {
            cmd_err("%s: expected one command object", origin);
            atb_spec_free(spec);
            return -EINVAL;
        }
        rc = atb_run_add(run, atb_spec_cmd(spec, 0));
        if (rc == -EEXIST)
            cmd_err("%s: duplicate name '%s'", origin, atb_spec_cmd(spec, 0)->name);
        atb_spec_free(spec);
        return rc < 0 ? rc : 0;
    }
    text = strndup(line, len);
    if (text == NULL)
        return -ENOMEM;
    c.shell = text;
    rc = atb_run_add(run, &c);
    free(text);
    return rc < 0 ? rc : 0;
}

/* Adds the commands that follow the options to the run. */
static int add_commands(struct atb_run *run, struct mode_args *a, int argc, char **argv)
{
    const char *mode = atb_mode_name(atb_run_opts(run)->mode);
    struct atb_argv_group *groups = NULL;
    size_t ngroups = 0, nnames = 0;
    char **name_list = NULL;
    int rc = -1;

    if (a->feed) {
        /* Commands come from stdin; what follows the options, if anything,
         * is the template. */
        if (a->names || a->opts.input) {
            cmd_err("%s: --stdin takes neither --names nor --input", mode);
            return -1;
        }
        if (argc > 0 && a->shell) {
            cmd_err("%s: --stdin: a template is run directly; drop -c", mode);
            return -1;
        }
        a->tmpl = argc > 0 ? argv : NULL;
        a->tmpl_argc = argc;
        argc = 0;
    } else if (argc == 0) {
        cmd_err("%s: no command given (try 'atb %s --help')", mode, mode);
        return -1;
    }
    groups = calloc((size_t)argc + 1, sizeof(*groups));
    name_list = calloc((size_t)argc + 1, sizeof(*name_list));
    if (groups == NULL || name_list == NULL) {
        cmd_err("%s: %s", mode, strerror(ENOMEM));
        goto out;
    }
    if (a->feed) {
        ngroups = 0;
    } else if (a->shell) {
        /* Each argument is one whole command; separators between them are
         * allowed and skipped. */
        for (int i = 0; i < argc; i++) {
            if (strcmp(argv[i], a->sep) == 0)
                continue;
            groups[ngroups].argv = argv + i;
            groups[ngroups].argc = 1;
            ngroups++;
        }
        if (ngroups == 0) {
            cmd_err("%s: no command given", mode);
            goto out;
        }
    } else if (atb_argv_split(argc, argv, a->sep, groups, &ngroups) < 0) {
        cmd_err("%s: empty command: '%s' must separate non-empty commands", mode, a->sep);
        goto out;
    }
    if (a->names) {
        /* strsep keeps empty fields, which must be an error, not skipped. */
        char *rest = a->names, *tok;

        while ((tok = strsep(&rest, ",")) != NULL) {
            if (nnames >= ngroups) {
                cmd_err("%s: --names: more names than commands (%zu)", mode, ngroups);
                goto out;
            }
            name_list[nnames++] = tok;
        }
    }
    for (size_t i = 0; i < ngroups; i++) {
        struct atb_cmd c = {NULL, NULL, NULL};
        char *words[groups[i].argc + 1];

        c.name = i < nnames ? name_list[i] : NULL;
        if (c.name && c.name[0] == '\0') {
            cmd_err("%s: --names: name %zu is empty", mode, i + 1);
            goto out;
        }
        if (a->shell) {
            c.shell = groups[i].argv[0];
            if (c.shell[strspn(c.shell, " \t\n")] == '\0') {
                cmd_err("%s: command %zu is empty", mode, i + 1);
                goto out;
            }
        } else {
            memcpy(words, groups[i].argv, (size_t)groups[i].argc * sizeof(char *));
            words[groups[i].argc] = NULL;
            c.argv = words;
        }
        int err = atb_run_add(run, &c);
        if (err == -EEXIST) {
            cmd_err("%s: --names: duplicate name '%s'", mode, c.name);
            goto out;
        }
        if (err < 0) {
            cmd_err("%s: %s", mode, atb_strerror(err));
            goto out;
        }
    }
    for (size_t i = 0; i < a->nfinally; i++) {
        struct atb_cmd c = {NULL, NULL, a->finally[i]};
        c.cleanup = 1;
        int err = atb_run_add(run, &c);
        if (err < 0) {
            cmd_err("%s: %s", mode, atb_strerror(err));
            goto out;
        }
    }
    rc = 0;
out:
    free(name_list);
    free(groups);
    return rc;
}

int cmd_modes(int argc, char **argv)
{
    struct mode_args a;
    struct atb_run *run = NULL;
    int first, rc, status = EXIT_ATB;

    cmd_block_signals();
    memset(&a, 0, sizeof(a));
    atb_opts_init(&a.opts);
    atb_mode_parse(argv[0], &a.opts.mode);
    a.sep = "--";
    first = parse_options(argc, argv, &a);
    if (first < 0)
        return EXIT_ATB;
    cmd_env_opts(&a.opts, a.color_given);
    if (a.progress_given && a.opts.output == ATB_OUTPUT_INHERIT) {
        cmd_err("%s: --progress needs the output to go through atb (-o prefix or group)",
                argv[0]);
        return EXIT_ATB;
    }
    if (a.feed) {
        a.opts.feed_fd = 0;
        a.opts.feed_line = feed_line;
        a.opts.feed_data = &a;
    }
    if (cmd_reports_check(&a.reports, &a.opts) < 0)
        return EXIT_ATB;
    rc = atb_run_new(&run, &a.opts);
    if (rc < 0) {
        cmd_err("%s: %s", argv[0], atb_strerror(rc));
        return EXIT_ATB;
    }
    /* Everything is checked before the report files are opened (and
     * truncated), and they before anything starts. */
    if (add_commands(run, &a, argc - first, argv + first) == 0 &&
        cmd_reports_open(&a.reports) == 0)
        status = cmd_finish(run, argv[0], &a.reports);
    atb_run_free(run);
    return status;
}
