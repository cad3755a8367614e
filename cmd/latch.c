/* latch: `atb latch`, set, unset, wait for and show latches. The library
 * (lib/latch.c, lib/latch-wait.c) does the work; this file turns arguments
 * into calls and results into messages and exit statuses (see atb-latch(1)). */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The usage `atb latch --help` prints; atb-latch(1) SYNOPSIS says the same. */
static const char usage_text[] =
    "usage: atb latch set NAME...\n"
    "       atb latch unset NAME...\n"
    "       atb latch wait-set [--any] [-t DUR] [--poll DUR] NAME...\n"
    "       atb latch wait-unset [--any] [-t DUR] [--poll DUR] NAME...\n"
    "       atb latch status NAME...\n"
    "\n"
    "Latches are files that processes can wait on in both directions.\n"
    "\n"
    "  set NAME...           set each latch (atomic; setting a set latch is fine)\n"
    "  unset NAME...         unset each latch (unsetting an unset latch is fine)\n"
    "  wait-set NAME...      block until every latch is set\n"
    "  wait-unset NAME...    block until every latch is unset\n"
    "  status NAME...        print set or unset for each; exit 0 if all are set,\n"
    "                        1 if not\n"
    "\n"
    "  --any                 wait until one latch holds, and print its NAME\n"
    "  -t, --timeout DUR     give up after DUR (10, 1.5s, 250ms, 2m, 1h): exit 124\n"
    "  --poll DUR            check every DUR instead of using inotify (NFS)\n"
    "  -h, --help            print this help\n"
    "\n"
    "A NAME containing '/' is a path. A bare NAME (letters, digits, '.', '_', '-';\n"
    "at most 128; not starting with '.') lives in $ATB_LATCH_DIR, else\n"
    "$XDG_RUNTIME_DIR/atb/latch, else /tmp/atb-$UID/latch.\n"
    "\n"
    "Exit status: 0 done; 1 status found a latch unset; 124 timed out; 125 usage\n"
    "error, unsafe latch folder, invalid name or other error. SIGINT or SIGTERM\n"
    "ends a wait as killed by that signal (a shell shows 130 or 143).\n";

void cmd_latch_usage(FILE *out)
{
    fputs(usage_text, out);
}

enum sub { SUB_SET, SUB_UNSET, SUB_WAIT_SET, SUB_WAIT_UNSET, SUB_STATUS };

static const struct {
    const char *name;
    enum sub sub;
} subs[] = {
    {"set", SUB_SET},           {"unset", SUB_UNSET},   {"wait-set", SUB_WAIT_SET},
    {"wait-unset", SUB_WAIT_UNSET}, {"status", SUB_STATUS},
};

/* What the command line asked for. names point into argv; paths are owned. */
struct latch_args {
    enum sub sub;
    const char *subname;
    struct atb_latch_wait_opts opts;
    char **names;
    char **paths;
    size_t n;
};

static int is_wait(enum sub sub)
{
    return sub == SUB_WAIT_SET || sub == SUB_WAIT_UNSET;
}

/* Matches "--long", "--long=VALUE" or, when short is given, "-s" and
 * "-sVALUE". Returns 1 when arg is that option (*inline_value set to the
 * attached value or NULL), else 0. */
static int match_opt(const char *arg, const char *lng, const char *shrt,
                     const char **inline_value)
{
    size_t len = strlen(lng);

    *inline_value = NULL;
    if (strncmp(arg, lng, len) == 0 && (arg[len] == '\0' || arg[len] == '=')) {
        if (arg[len] == '=')
            *inline_value = arg + len + 1;
        return 1;
    }
    if (shrt != NULL && strncmp(arg, shrt, 2) == 0) {
        if (arg[2] != '\0')
            *inline_value = arg + 2;
        return 1;
    }
    return 0;
}

/* Parses the duration of option opt, from an attached value or the next
 * argument. Returns 0, or -1 after saying what is wrong. */
static int duration_arg(const struct latch_args *a, const char *opt, const char *value,
                        int argc, char **argv, int *i, double *seconds)
{
    if (value == NULL) {
        if (*i + 1 >= argc) {
            cmd_err("latch %s: option '%s' needs a duration", a->subname, opt);
            return -1;
        }
        value = argv[++*i];
    }
    if (atb_duration_parse(value, seconds) < 0) {
        cmd_err("latch %s: invalid duration '%s' for %s (use e.g. 10, 1.5s, 250ms, 2m, 1h)",
                a->subname, value, opt);
        return -1;
    }
    return 0;
}

/* Parses what follows the subcommand. Options may come anywhere before
 * "--"; everything else is a NAME. Returns 0, 1 when help was printed, or -1
 * after a usage error was reported. */
static int parse_args(struct latch_args *a, int argc, char **argv)
{
    int names_only = 0;

    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i], *value = NULL, *opt = NULL;

        /* "-" alone is a valid bare name, not an option. */
        if (names_only || arg[0] != '-' || arg[1] == '\0') {
            a->names[a->n++] = argv[i];
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            names_only = 1;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(usage_text, stdout);
            return 1;
        }
        if (strcmp(arg, "--any") == 0)
            opt = "--any";
        else if (match_opt(arg, "--timeout", "-t", &value))
            opt = arg[1] == '-' ? "--timeout" : "-t";
        else if (match_opt(arg, "--poll", NULL, &value))
            opt = "--poll";
        if (opt == NULL) {
            static const char *const known[] = {"--any", "--timeout", "--poll", "--help", NULL};
            char hint[96];

            cmd_err("latch %s: unknown option '%s'%s (try 'atb latch --help')", a->subname, arg,
                    cmd_option_hint(arg, NULL, known, hint, sizeof(hint)));
            return -1;
        }
        if (!is_wait(a->sub)) {
            cmd_err("latch %s: option '%s' is only for wait-set and wait-unset", a->subname,
                    opt);
            return -1;
        }
        if (strcmp(opt, "--any") == 0) {
            a->opts.any = 1;
        } else if (strcmp(opt, "--poll") == 0) {
            if (duration_arg(a, opt, value, argc, argv, &i, &a->opts.poll_s) < 0)
                return -1;
            if (a->opts.poll_s <= 0) {
                cmd_err("latch %s: --poll needs a duration above 0", a->subname);
                return -1;
            }
        } else if (duration_arg(a, opt, value, argc, argv, &i, &a->opts.timeout_s) < 0) {
            return -1;
        }
    }
    if (a->n == 0) {
        cmd_err("latch %s: missing NAME (try 'atb latch --help')", a->subname);
        return -1;
    }
    return 0;
}

/* Reports a failed operation on one latch in words that fit latches. */
static void latch_fail(const char *name, const char *doing, int rc)
{
    const char *what;

    switch (rc) {
    case -ELOOP:
        what = "a symlink is in its place (atb never follows one)";
        break;
    case -EISDIR:
        what = "a folder is in its place";
        break;
    case -EINVAL:
        what = "something other than a regular file is in its place";
        break;
    default:
        what = atb_strerror(rc);
        break;
    }
    cmd_err("latch %s: %s%s%s", name, doing, *doing ? ": " : "", what);
}

/* Reports an unsafe latch folder. The default folder is refused rather
 * than replaced, since every process must find the same latches there; the
 * way out is to choose another one, for all of them. */
static void dir_refused(const struct atb_latch_error *err)
{
    const char *env = getenv("ATB_LATCH_DIR");

    cmd_err("latch folder %s %s; refusing to use it%s", err->path,
            err->why ? err->why : "is unsafe",
            env == NULL || env[0] == '\0' ? " (set ATB_LATCH_DIR to use another folder)" : "");
}

/* Turns every NAME into a path before anything is done, so a bad NAME
 * leaves no latch half-handled. Returns 0, or -1 after reporting. */
static int resolve(struct latch_args *a)
{
    for (size_t i = 0; i < a->n; i++) {
        struct atb_latch_error err;
        int rc = atb_latch_path(a->names[i], &a->paths[i], &err);

        if (rc == 0)
            continue;
        if (rc == ATB_ELATCHNAME && strchr(a->names[i], '/') != NULL)
            cmd_err("latch '%s': invalid latch path (it must end in a file name)",
                    a->names[i]);
        else if (rc == ATB_ELATCHNAME)
            cmd_err("latch '%s': invalid latch name (use letters, digits, '.', '_', '-'; "
                    "at most %d; not starting with '.')",
                    a->names[i], ATB_LATCH_NAME_MAX);
        else if (rc == ATB_ELATCHDIR)
            dir_refused(&err);
        else if (err.path[0] != '\0')
            cmd_err("latch folder %s: %s", err.path, atb_strerror(rc));
        else
            cmd_err("latch '%s': %s", a->names[i], atb_strerror(rc));
        return -1;
    }
    return 0;
}

static int do_set_unset(const struct latch_args *a)
{
    int status = 0;

    /* Every latch is tried, so one failure does not hide the rest. */
    for (size_t i = 0; i < a->n; i++) {
        int rc = a->sub == SUB_SET ? atb_latch_set(a->paths[i]) : atb_latch_unset(a->paths[i]);

        if (rc < 0) {
            latch_fail(a->names[i], a->sub == SUB_SET ? "cannot set" : "cannot unset", rc);
            status = EXIT_ATB;
        }
    }
    return status;
}

static int do_status(const struct latch_args *a)
{
    int *states = calloc(a->n, sizeof(*states));
    int status = 0;

    if (states == NULL) {
        cmd_err("latch status: %s", atb_strerror(-ENOMEM));
        return EXIT_ATB;
    }
    /* All are looked at before anything is printed: on an error, print no
     * partial answer a script could mistake for a whole one. */
    for (size_t i = 0; i < a->n; i++) {
        states[i] = atb_latch_state(a->paths[i]);
        if (states[i] < 0) {
            latch_fail(a->names[i], "", states[i]);
            status = EXIT_ATB;
        }
    }
    for (size_t i = 0; status == 0 && i < a->n; i++)
        puts(states[i] == ATB_LATCH_SET ? "set" : "unset");
    for (size_t i = 0; status == 0 && i < a->n; i++)
        if (states[i] != ATB_LATCH_SET)
            status = 1;
    free(states);
    return status;
}

static int do_wait(struct latch_args *a)
{
    int index = -1, signo = 0, rc;

    a->opts.want = a->sub == SUB_WAIT_SET ? ATB_LATCH_SET : ATB_LATCH_UNSET;
    a->opts.handle_signals = 1;
    rc = atb_latch_wait(a->paths, a->n, &a->opts, &index, &signo);
    if (rc == -EINTR && signo != 0) {
        /* End as killed by the signal, as a shell expects of an interrupted
         * command. */
        fflush(stdout);
        cmd_reraise(signo);
        return 128 + signo;
    }
    if (rc == ATB_ETIMEDOUT) {
        cmd_err("latch %s: timed out", a->subname);
        return EXIT_TIMEOUT;
    }
    if (rc < 0) {
        if (index >= 0)
            latch_fail(a->names[index], "", rc);
        else
            cmd_err("latch %s: %s", a->subname, atb_strerror(rc));
        return EXIT_ATB;
    }
    if (a->opts.any && index >= 0)
        puts(a->names[index]);
    return 0;
}

int cmd_latch(int argc, char **argv)
{
    struct latch_args a = {.subname = NULL};
    int status, rc;

    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_ATB;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (strcmp(argv[1], subs[i].name) == 0) {
            a.sub = subs[i].sub;
            a.subname = subs[i].name;
        }
    }
    if (a.subname == NULL) {
        const char *names[sizeof(subs) / sizeof(subs[0])], *near;

        for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
            names[i] = subs[i].name;
        near = atb_nearest(argv[1], names, sizeof(subs) / sizeof(subs[0]));
        if (near)
            cmd_err("latch: unknown subcommand '%s'; did you mean '%s'? (try 'atb latch "
                    "--help')",
                    argv[1], near);
        else
            cmd_err("latch: unknown subcommand '%s' (try 'atb latch --help')", argv[1]);
        return EXIT_ATB;
    }
    atb_latch_wait_opts_init(&a.opts);
    a.names = calloc((size_t)argc, sizeof(*a.names));
    a.paths = calloc((size_t)argc, sizeof(*a.paths));
    if (a.names == NULL || a.paths == NULL) {
        cmd_err("latch: %s", atb_strerror(-ENOMEM));
        status = EXIT_ATB;
        goto out;
    }
    rc = parse_args(&a, argc - 2, argv + 2);
    if (rc != 0) {
        status = rc > 0 ? 0 : EXIT_ATB;
        goto out;
    }
    if (resolve(&a) < 0) {
        status = EXIT_ATB;
        goto out;
    }
    if (a.sub == SUB_SET || a.sub == SUB_UNSET)
        status = do_set_unset(&a);
    else if (a.sub == SUB_STATUS)
        status = do_status(&a);
    else
        status = do_wait(&a);
    if (fflush(stdout) == EOF && status != EXIT_ATB) {
        cmd_err("latch %s: writing the output: %s", a.subname, atb_strerror(-errno));
        status = EXIT_ATB;
    }
out:
    for (size_t i = 0; a.paths != NULL && i < a.n; i++)
        free(a.paths[i]);
    free(a.paths);
    free(a.names);
    return status;
}
