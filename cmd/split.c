/* split: what follows a mode's options, cut into commands, and refused
 * wherever the cut would be a guess.
 *
 * The separator ('--' unless --sep names another) ends one command and
 * begins the next, which silently splits a command that has a '--' of its
 * own: `cargo test -- --nocapture` would become `cargo test` and a command
 * `--nocapture`; `git log -- path` would run `path`; `atb race -- atb race
 * -t 5 -- true` would hand the inner atb no command. Each of those is
 * refused before anything starts, with the way out (--sep):
 *   - a command after a separator that begins with '-' (an option, not a
 *     program);
 *   - an atb that runs commands of its own (pool, race, shield...) which a
 *     separator after it would take away;
 *   - with -c, an argument that begins with '-' (an option given after the
 *     commands: `atb pool -c true --report x.json`);
 *   - a program that is not in PATH (exit 127), with the hint when it
 *     follows a separator.
 * Every program is looked up before anything starts, as a missing one
 * would otherwise start the others only to cancel them. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The hint every refusal ends with. */
#define SEP_HINT "separate the commands with --sep, e.g. --sep ++"

/* The atb subcommands that take commands of their own. */
static int runs_commands(char *const *argv, int argc)
{
    static const char *const taking[] = {"pool", "try-all", "wait-all", "race", "shield"};
    const char *base = strrchr(argv[0], '/');

    base = base ? base + 1 : argv[0];
    if (strcmp(base, "atb") != 0 || argc < 2)
        return 0;
    for (size_t i = 0; i < sizeof(taking) / sizeof(taking[0]); i++)
        if (strcmp(argv[1], taking[i]) == 0)
            return 1;
    return 0;
}

/* 1 when path names a regular file. */
static int regular(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Whether prog would be found as execvp(3) finds it: as given when it has
 * a '/', else in each folder of PATH (an empty entry is the current
 * folder; no PATH: /bin:/usr/bin). A program found but not executable
 * counts as found: running it says why it cannot run. */
static int found(const char *prog)
{
    const char *path = getenv("PATH"), *p;
    char buf[4096];
    struct stat st;

    if (strchr(prog, '/') != NULL)
        return stat(prog, &st) == 0;
    if (prog[0] == '\0')
        return 0;
    if (path == NULL)
        path = "/bin:/usr/bin";
    for (p = path;; p++) {
        const char *end = strchrnul(p, ':');
        int n = (int)(end - p);

        if (snprintf(buf, sizeof(buf), "%.*s%s%s", n, p, n ? "/" : "", prog) <
                (int)sizeof(buf) &&
            regular(buf))
            return 1;
        if (*end == '\0')
            return 0;
        p = end;
    }
}

/* The words of a group, cut for a message. */
static const char *words(const struct atb_argv_group *g, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; i < g->argc && used + 1 < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? " " : "", g->argv[i]);
    if (used >= size && size > 4)
        strcpy(buf + size - 4, "...");
    return buf;
}

/* The checks of the argv form, in order. Returns 0, or the exit status
 * after a message. */
static int check_groups(const char *mode, const char *sep, const struct atb_argv_group *groups,
                        size_t n)
{
    char prev[160];

    for (size_t i = 0; i < n; i++) {
        const struct atb_argv_group *g = &groups[i];

        if (i > 0 && g->argv[0][0] == '-') {
            cmd_err("%s: '%s' after '%s' is not a command; if it belongs to the command "
                    "before it (%s), " SEP_HINT,
                    mode, g->argv[0], sep, words(&groups[i - 1], prev, sizeof(prev)));
            return EXIT_ATB;
        }
        if (i + 1 < n && runs_commands(g->argv, g->argc)) {
            cmd_err("%s: '%s' would be split at the '%s' after it, leaving it none of its "
                    "commands; " SEP_HINT,
                    mode, words(g, prev, sizeof(prev)), sep);
            return EXIT_ATB;
        }
    }
    for (size_t i = 0; i < n; i++) {
        /* A thousand "true"s are looked up once. */
        if ((i > 0 && strcmp(groups[i].argv[0], groups[i - 1].argv[0]) == 0) ||
            found(groups[i].argv[0]))
            continue;
        if (i > 0)
            cmd_err("%s: '%s' is not a command (not found); if '%s' belongs to the command "
                    "before it (%s), " SEP_HINT,
                    mode, groups[i].argv[0], sep, words(&groups[i - 1], prev, sizeof(prev)));
        else
            cmd_err("%s: %s: command not found", mode, groups[i].argv[0]);
        return EXIT_NOT_FOUND;
    }
    return 0;
}

int cmd_split(const char *mode, int shell, const char *sep, int argc, char **argv,
              struct atb_argv_group *groups, size_t *ngroups)
{
    *ngroups = 0;
    if (!shell) {
        if (atb_argv_split(argc, argv, sep, groups, ngroups) < 0) {
            cmd_err("%s: empty command: '%s' must separate non-empty commands", mode, sep);
            return EXIT_ATB;
        }
        return check_groups(mode, sep, groups, *ngroups);
    }
    /* Each argument is one whole command; separators between them are
     * allowed and skipped. */
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], sep) == 0)
            continue;
        if (argv[i][0] == '-') {
            cmd_err("%s: '%s' comes after the commands: options go before them", mode,
                    argv[i]);
            return EXIT_ATB;
        }
        groups[*ngroups].argv = argv + i;
        groups[*ngroups].argc = 1;
        (*ngroups)++;
    }
    if (*ngroups == 0) {
        cmd_err("%s: no command given", mode);
        return EXIT_ATB;
    }
    return 0;
}
