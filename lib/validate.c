/* validate: the one validator of a run's commands. Every rule that involves
 * the commands is checked here, once, before anything starts, and a problem
 * comes back as a struct atb_error that names the command, its key and the
 * element concerned; the spec adds its JSON path and position to that, and
 * never checks these rules itself.
 *
 * Rules: the input command exists; a cleanup command has no service,
 * shield, ready_when, sets or wait_for; a service has no retries; ready_when compiles (with a bound on
 * its cost, see regex.c); sets is a valid latch name (or a path) and no two
 * commands set one latch; every wait_for entry names a main command (its
 * given or assigned name, "#2" suffixes included) or a latch one sets, and
 * not a service that can never be ready; and waiting has no cycle.
 */
#include "engine.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(struct atb_error *err, int code, const struct atb__cmd *cmd, const char *key,
                int index, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Fills err (when not NULL) and returns code. */
static int fail(struct atb_error *err, int code, const struct atb__cmd *cmd, const char *key,
                int index, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    memset(err, 0, sizeof(*err));
    err->code = code;
    err->id = cmd ? cmd->res.id : -1;
    err->key = key;
    err->index = index;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
    return code;
}

static const char *quoted(char *buf, size_t size, const char *s)
{
    struct atb__buf b;

    atb__buf_init(&b, buf, size);
    atb__buf_quote(&b, s, '\'');
    return buf;
}

static int check_cleanup(const struct atb__cmd *cmd, struct atb_error *err)
{
    const char *key = cmd->res.service ? "service"
                      : cmd->res.shield ? "shield"
                      : cmd->ready_when ? "ready_when"
                      : cmd->probe[0]   ? "ready_probe"
                      : cmd->probe[1]   ? "health_probe"
                      : cmd->sets       ? "sets"
                      : cmd->wait_for   ? "wait_for"
                      : cmd->ready_timeout_s > 0 ? "ready_timeout"
                                        : NULL;

    if (key == NULL)
        return 0;
    return fail(err, ATB_ECLEANUP, cmd, key, -1, "not allowed in a cleanup command");
}

/* A command is made ready one way; only a service has a health probe,
 * which starts once it is ready; targets can be parsed. */
static int check_probes(const struct atb__cmd *cmd, struct atb_error *err)
{
    char why[128];

    if (cmd->probe[0] && cmd->ready_when)
        return fail(err, ATB_EPROBE, cmd, "ready_probe", -1,
                    "a command is made ready by ready_when or by ready_probe, not both");
    if (cmd->probe[1] && cmd->kind != ATB__SERVICE)
        return fail(err, ATB_EPROBE, cmd, "health_probe", -1, "only a service has a health probe");
    if (cmd->probe[1] && !cmd->probe[0] && !cmd->ready_when)
        return fail(err, ATB_EPROBE, cmd, "health_probe", -1,
                    "a health probe starts once the service is ready: it needs ready_when or "
                    "a ready_probe");
    for (int k = 0; k < 2; k++)
        if (cmd->probe[k] && atb__probe_check(cmd->probe[k], why, sizeof(why)) < 0)
            return fail(err, ATB_EPROBE, cmd, k ? "health_probe" : "ready_probe", -1, "%s",
                        why);
    return 0;
}

int atb__validate_cmd(struct atb_run *run, struct atb__cmd *cmd, struct atb_error *err)
{
    char why[128];
    int rc;

    (void)run;
    if (cmd->kind == ATB__CLEANUP && check_cleanup(cmd, err) < 0)
        return ATB_ECLEANUP;
    /* A service ends when the run ends it: ending sooner is the run's
     * failure, and starting it again would hide that. */
    if (cmd->kind == ATB__SERVICE && cmd->retries > 0)
        return fail(err, ATB_ERETRY, cmd, "retries", -1,
                    "a service is never retried (its early end fails the run)");
    cmd->res.attempts_max = atb__retry_max(cmd);
    rc = check_probes(cmd, err);
    if (rc < 0)
        return rc;
    if (cmd->ready_when && cmd->ready_re == NULL) {
        cmd->ready_re = malloc(sizeof(*cmd->ready_re));
        if (cmd->ready_re == NULL)
            return fail(err, -ENOMEM, cmd, NULL, -1, "out of memory");
        if (atb__regex_compile(cmd->ready_re, cmd->ready_when, why, sizeof(why)) < 0) {
            free(cmd->ready_re);
            cmd->ready_re = NULL;
            return fail(err, ATB_EREGEX, cmd, "ready_when", -1,
                        "not a usable extended regular expression: %s", why);
        }
    }
    if (cmd->sets && strchr(cmd->sets, '/') == NULL && atb_latch_name_check(cmd->sets) < 0)
        return fail(err, ATB_ELATCHNAME, cmd, "sets", -1,
                    "invalid latch name (letters, digits, '.', '_', '-'; at most 128; not "
                    "starting with '.')");
    return 0;
}

static struct atb__cmd *by_name(const struct atb_run *run, const char *name)
{
    int id = atb_run_find(run, name);
    struct atb__cmd *cmd = id >= 0 ? atb__cmd_by_id(run, id) : NULL;

    return cmd && cmd->kind != ATB__CLEANUP ? cmd : NULL;
}

/* A command's name as a message shows it: escaped, not quoted. */
static const char *shown(char *buf, size_t size, const char *name)
{
    struct atb__buf b;

    atb__buf_init(&b, buf, size);
    atb__buf_quote(&b, name, 0);
    return buf;
}

/* The main command that sets latch, through the table of setters (latch ->
 * position in cmds + 1) made by index_setters(). */
static struct atb__cmd *setter_of(const struct atb_run *run, struct atb__names *setters,
                                  const char *latch)
{
    unsigned long *at = atb__names_value(setters, latch);

    return at && *at > 0 ? run->cmds[*at - 1] : NULL;
}

/* One lookup table for every latch a main command sets: each wait_for
 * entry and each setter is found in it at once, so checking stays linear in
 * the number of commands. A latch set twice is refused here. */
static int index_setters(struct atb_run *run, struct atb__names *setters,
                         struct atb_error *err)
{
    char q[200], n[200];

    for (size_t i = 0; i < run->nmain; i++) {
        struct atb__cmd *cmd = run->cmds[i];
        int rc;

        if (cmd->sets == NULL)
            continue;
        rc = atb__names_add(setters, cmd->sets);
        if (rc == -EEXIST)
            return fail(err, ATB_EDEPS, cmd, "sets", -1, "latch %s is also set by %s",
                        quoted(q, sizeof(q), cmd->sets),
                        shown(n, sizeof(n), setter_of(run, setters, cmd->sets)->name));
        if (rc < 0)
            return fail(err, rc, cmd, NULL, -1, "out of memory");
        *atb__names_value(setters, cmd->sets) = i + 1;
    }
    return 0;
}

/* Resolves cmd's wait_for entries to the commands that meet them. */
static int resolve(struct atb_run *run, struct atb__names *setters, struct atb__cmd *cmd,
                   struct atb_error *err)
{
    size_t n = 0;
    char q[200];

    free(cmd->deps);
    cmd->deps = NULL;
    cmd->ndeps = 0;
    while (cmd->wait_for && cmd->wait_for[n])
        n++;
    if (n == 0)
        return 0;
    cmd->deps = calloc(n, sizeof(*cmd->deps));
    if (cmd->deps == NULL)
        return fail(err, -ENOMEM, cmd, NULL, -1, "out of memory");
    for (size_t k = 0; k < n; k++) {
        const char *want = cmd->wait_for[k];
        struct atb__cmd *dep = by_name(run, want);

        if (dep == NULL)
            dep = setter_of(run, setters, want);
        if (dep == NULL)
            return fail(err, ATB_EDEPS, cmd, "wait_for", (int)k,
                        "%s is neither a command's name nor a latch that a command sets",
                        quoted(q, sizeof(q), want));
        /* A service is up only once ready_when matched: without one it
         * would never be, and its dependents would wait forever. */
        if (dep->res.service && dep->ready_when == NULL && dep->probe[0] == NULL)
            return fail(err, ATB_EDEPS, cmd, "wait_for", (int)k,
                        "%s is a service without ready_when, so it is never ready",
                        quoted(q, sizeof(q), want));
        cmd->deps[cmd->ndeps++] = dep;
    }
    return 0;
}

/* Writes "dependency cycle: a -> b -> a" for the cycle closed by the last
 * step of path, which ends at dep. */
static int cycle_error(struct atb__cmd **path, size_t depth, struct atb__cmd *dep,
                       struct atb_error *err)
{
    struct atb__cmd *from = path[depth - 1];
    size_t start = 0;
    struct atb__buf b;
    int rc, k = 0;

    while (path[start] != dep)
        start++;
    while (from->deps[k] != dep)
        k++;
    rc = fail(err, ATB_EDEPS, from, "wait_for", k, "dependency cycle: ");
    if (err == NULL)
        return rc;
    atb__buf_init(&b, err->text, sizeof(err->text));
    atb__buf_add(&b, "dependency cycle: ");
    for (size_t i = start; i <= depth; i++) {
        atb__buf_quote(&b, i < depth ? path[i]->name : dep->name, 0);
        atb__buf_add(&b, "%s", i < depth ? " -> " : "");
    }
    return rc;
}

/* Depth-first search for a cycle, iterative: a chain of waits as long as
 * the number of commands must not take as many stack frames. color (by
 * position in cmds): 0 new, 1 on the path, 2 done; next[i]: the next
 * dependency of path[i] to look at. */
static int find_cycles(struct atb_run *run, struct atb_error *err)
{
    size_t n = run->nmain, *next = NULL;
    struct atb__cmd **path = NULL;
    unsigned char *color = NULL;
    int rc = -ENOMEM;

    color = calloc(n + 1, 1);
    path = calloc(n + 1, sizeof(*path));
    next = calloc(n + 1, sizeof(*next));
    if (color == NULL || path == NULL || next == NULL)
        goto out;
    /* Each command's place in cmds, through the walk field (free until the
     * run starts). */
    for (size_t i = 0; i < n; i++)
        run->cmds[i]->walk = i;
    rc = 0;
    for (size_t root = 0; root < n && rc == 0; root++) {
        size_t depth = 0;

        if (color[root] != 0)
            continue;
        path[depth] = run->cmds[root];
        next[depth++] = 0;
        color[root] = 1;
        while (depth > 0 && rc == 0) {
            struct atb__cmd *c = path[depth - 1];
            struct atb__cmd *dep;

            if (next[depth - 1] == c->ndeps) {
                color[c->walk] = 2;
                depth--;
                continue;
            }
            dep = c->deps[next[depth - 1]++];
            if (color[dep->walk] == 1)
                rc = cycle_error(path, depth, dep, err);
            else if (color[dep->walk] == 0) {
                color[dep->walk] = 1;
                path[depth] = dep;
                next[depth++] = 0;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        run->cmds[i]->walk = 0;
out:
    free(color);
    free(path);
    free(next);
    if (rc == -ENOMEM)
        fail(err, rc, NULL, NULL, -1, "out of memory");
    return rc;
}

static int check_input(struct atb_run *run, struct atb_error *err)
{
    char q[200];
    int id;

    for (size_t i = 0; i < run->n; i++)
        run->cmds[i]->input = 0;
    if (run->set.input_id >= 0 && atb__cmd_by_id(run, run->set.input_id) != NULL) {
        atb__cmd_by_id(run, run->set.input_id)->input = 1;
        return 0;
    }
    if (run->set.input == NULL)
        return 0;
    id = atb_run_find(run, run->set.input);
    if (id < 0 || atb__cmd_by_id(run, id) == NULL)
        return fail(err, ATB_ENONAME, NULL, "input", -1, "no command is named %s",
                    quoted(q, sizeof(q), run->set.input));
    atb__cmd_by_id(run, id)->input = 1;
    return 0;
}

/* The probes atb_run_set_probe() gave by name go to their commands, once. */
static int attach_probes(struct atb_run *run, struct atb_error *err)
{
    char q[160];

    for (size_t i = 0; i < run->set.nprobes; i++) {
        struct atb__named_probe *np = &run->set.probes[i];
        const char *key = np->health ? "health_probe" : "ready_probe";
        int id = np->attached ? -1 : atb_run_find(run, np->name);
        struct atb__cmd *cmd = id >= 0 ? atb__cmd_by_id(run, id) : NULL;

        if (np->attached)
            continue;
        if (cmd == NULL)
            return fail(err, ATB_ENONAME, NULL, key, -1, "no command is named %s",
                        quoted(q, sizeof(q), np->name));
        if (cmd->probe[np->health] != NULL)
            return fail(err, ATB_EPROBE, cmd, key, -1, "%s has a %s already",
                        quoted(q, sizeof(q), np->name), key);
        atb__probe_attach(np->probe, cmd);
        cmd->probe[np->health] = np->probe;
        np->attached = 1;
    }
    return 0;
}

/* The rules, in order: the first problem is the one reported. */
static int check(struct atb_run *run, struct atb_error *err)
{
    struct atb__names setters;
    int rc = atb__names_assign(run);

    if (rc < 0)
        return fail(err, rc, NULL, NULL, -1, "out of memory");
    rc = attach_probes(run, err);
    if (rc == 0)
        rc = check_input(run, err);
    for (size_t i = 0; i < run->n && rc == 0; i++)
        rc = atb__validate_cmd(run, run->cmds[i], err);
    memset(&setters, 0, sizeof(setters)); /* borrows the latch names */
    if (rc == 0)
        rc = index_setters(run, &setters, err);
    for (size_t i = 0; i < run->nmain && rc == 0; i++)
        rc = resolve(run, &setters, run->cmds[i], err);
    atb__names_free(&setters);
    if (rc == 0)
        rc = find_cycles(run, err);
    return rc;
}

int atb_run_check(struct atb_run *run, struct atb_error *err)
{
    int rc = check(run, &run->error);

    if (rc == 0) {
        memset(&run->error, 0, sizeof(run->error));
        run->error.id = run->error.index = -1;
    }
    if (err != NULL && err != &run->error)
        *err = run->error;
    return rc;
}
