/* probe: --ready-probe NAME=KIND:VALUE and --health-probe NAME=KIND:VALUE,
 * for the modes and atb run. KIND is tcp (VALUE HOST:PORT), http (VALUE a
 * URL, http://HOST:PORT/PATH) or exec (VALUE a line for /bin/sh -c); the
 * timings are the defaults of atb-spec(5) (every 200ms, 1s an attempt, 3
 * failures in a row for a health probe).
 *
 * The form of a value is checked as it is parsed, so that a bad one is a
 * usage error naming it before anything else happens; the target itself
 * (a port out of range, a URL that is not http://) and the name are the
 * library's to check, when the run is checked, since only then does every
 * command have its name (default names are given there). */
#include "probe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *word;
    enum atb_probe_kind kind;
} kinds[] = {
    {"tcp", ATB_PROBE_TCP},
    {"http", ATB_PROBE_HTTP},
    {"exec", ATB_PROBE_EXEC},
};

static const char *option_name(int health)
{
    return health ? "--health-probe" : "--ready-probe";
}

/* The parts of arg: the name (name_len bytes, not NUL-terminated), the
 * kind, and the value (the rest of arg). Returns 0, or -1 after a message. */
static int split(const char *who, int health, const char *arg, size_t *name_len,
                 enum atb_probe_kind *kind, const char **value)
{
    const char *opt = option_name(health), *eq = strchr(arg, '='), *colon;
    size_t klen;

    colon = eq ? strchr(eq + 1, ':') : NULL;
    if (eq == NULL || eq == arg || colon == NULL) {
        cmd_err("%s: %s: expected NAME=KIND:VALUE (KIND tcp, http or exec), got '%s'", who,
                opt, arg);
        return -1;
    }
    *name_len = (size_t)(eq - arg);
    klen = (size_t)(colon - eq - 1);
    *kind = ATB_PROBE_NONE;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strlen(kinds[i].word) == klen && strncmp(kinds[i].word, eq + 1, klen) == 0)
            *kind = kinds[i].kind;
    if (*kind == ATB_PROBE_NONE) {
        cmd_err("%s: %s: unknown kind '%.*s' in '%s' (expected tcp, http or exec)", who, opt,
                (int)klen, eq + 1, arg);
        return -1;
    }
    *value = colon + 1;
    if ((*value)[strspn(*value, " \t\n")] == '\0') {
        cmd_err("%s: %s: '%s' has nothing after '%.*s:' (expected %s)", who, opt, arg,
                (int)klen, eq + 1,
                *kind == ATB_PROBE_TCP    ? "HOST:PORT"
                : *kind == ATB_PROBE_HTTP ? "a URL, http://HOST:PORT/PATH"
                                          : "a shell command");
        return -1;
    }
    return 0;
}

int cmd_probe_option(const char *who, int opt, const char *arg, struct cmd_probes *list)
{
    enum atb_probe_kind kind;
    const char *value;
    size_t len, olen;
    int health = opt == CMD_OPT_HEALTH_PROBE;

    if (opt != CMD_OPT_READY_PROBE && opt != CMD_OPT_HEALTH_PROBE)
        return 0;
    if (split(who, health, arg, &len, &kind, &value) < 0)
        return -1;
    for (size_t i = 0; i < list->n; i++) {
        olen = (size_t)(strchr(list->arg[i], '=') - list->arg[i]);
        if (list->health[i] == health && olen == len && strncmp(list->arg[i], arg, len) == 0) {
            cmd_err("%s: %s: '%.*s' has one already ('%s'), not also '%s'", who,
                    option_name(health), (int)len, arg, list->arg[i], arg);
            return -1;
        }
    }
    if (list->n == CMD_PROBES_MAX) {
        cmd_err("%s: %s: at most %d probes", who, option_name(health), CMD_PROBES_MAX);
        return -1;
    }
    list->arg[list->n] = arg;
    list->kind[list->n] = kind;
    list->health[list->n++] = (unsigned char)health;
    return 1;
}

/* Gives run the i-th probe of list (checked already). Returns 0 or a
 * negative code. */
static int set_one(struct atb_run *run, const struct cmd_probes *list, size_t i)
{
    struct atb_probe probe;
    const char *arg = list->arg[i], *eq = strchr(arg, '='), *value = strchr(eq + 1, ':') + 1;
    char *name = strndup(arg, (size_t)(eq - arg));
    int rc;

    if (name == NULL)
        return -ENOMEM;
    memset(&probe, 0, sizeof(probe));
    probe.kind = list->kind[i];
    if (probe.kind == ATB_PROBE_EXEC)
        probe.shell = value;
    else
        probe.target = value;
    rc = atb_run_set_probe(run, name, list->health[i], &probe);
    free(name);
    return rc;
}

int cmd_probes_apply(const struct cmd_probes *list, struct atb_run *run, const char *who,
                     int verbose, int fed)
{
    int rc;

    if (list->n > 0 && fed) {
        cmd_err("%s: --stdin: %s names a command given here; give a JSON command line "
                "its own \"%s\"",
                who, option_name(list->health[0]),
                list->health[0] ? "health_probe" : "ready_probe");
        return -1;
    }
    for (size_t i = 0; i < list->n; i++) {
        rc = set_one(run, list, i);
        if (rc < 0) {
            cmd_err("%s: %s %s: %s", who, option_name(list->health[i]), list->arg[i],
                    atb_strerror(rc));
            return -1;
        }
    }
    if (verbose && (rc = atb_run_set_probe_output(run, 1)) < 0) {
        cmd_err("%s: %s", who, atb_strerror(rc));
        return -1;
    }
    return 0;
}

/* Whether list gives a probe (health: a health probe) to the command
 * named name. */
static int given(const struct cmd_probes *list, const char *name, int health)
{
    size_t len = strlen(name);

    for (size_t i = 0; i < list->n; i++)
        if (list->health[i] == health && strncmp(list->arg[i], name, len) == 0 &&
            list->arg[i][len] == '=')
            return 1;
    return 0;
}

int cmd_probes_error(const struct cmd_probes *list, const struct atb_run *run,
                     const struct atb_error *e, const char *who)
{
    const struct atb_result *res;
    int health;

    /* ATB_ESPEC: atb_spec_check() placed the validator's error in the
     * spec, at the command, keeping its key. */
    if ((e->code != ATB_EPROBE && e->code != ATB_ENONAME && e->code != ATB_ESPEC) ||
        e->key == NULL)
        return 0;
    if (strcmp(e->key, "ready_probe") == 0)
        health = 0;
    else if (strcmp(e->key, "health_probe") == 0)
        health = 1;
    else
        return 0;
    res = e->id >= 0 ? atb_run_result(run, e->id) : NULL;
    if (res == NULL || res->name == NULL) {
        /* No command: a name that none has, which only a caller's
         * atb_run_set_probe() can give. */
        if (e->code != ATB_ENONAME)
            return 0;
        cmd_err("%s: %s: %s", who, option_name(health), e->text);
        return 1;
    }
    if (list != NULL && !given(list, res->name, health))
        return 0;
    cmd_err("%s: %s: '%s': %s", who, option_name(health), res->name, e->text);
    return 1;
}
