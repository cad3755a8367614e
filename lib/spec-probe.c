/* spec-probe: a spec command's "ready_probe" and "health_probe" objects
 * (atb-spec(5)) -> struct atb_probe. The shape is checked here, with the
 * JSON path of each problem; what involves the command (ready_when beside
 * a probe, a health probe on a non-service, a target that cannot be
 * parsed) is the run's validator's, placed in the spec by spec-apply.c.
 */
#include "jsonwalk.h"
#include "spec-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { P_EXEC, P_SHELL, P_TCP, P_HTTP, P_INTERVAL, P_TIMEOUT, P_INITIAL_DELAY, P_FAILURES };
static const char *const key_names[] = {"exec",    "shell",         "tcp",     "http",
                                        "interval", "timeout", "initial_delay", "failures"};

/* "exec": a non-empty array of strings, the first not empty, into a
 * calloc'd vector of borrowed strings. */
static int get_argv(struct atb__jwalk *w, const cJSON *v, struct atb_probe *p)
{
    size_t n = 0, i = 0;
    const cJSON *item;
    char **argv;

    if (!cJSON_IsArray(v) || v->child == NULL)
        return atb__jw_fail(w, 0, "expected a non-empty array of strings, got %s",
                            cJSON_IsArray(v) ? "an empty array" : atb__jw_type(v));
    cJSON_ArrayForEach(item, v) n++;
    argv = calloc(n + 1, sizeof(*argv));
    if (argv == NULL)
        return -ENOMEM;
    p->argv = argv;
    cJSON_ArrayForEach(item, v) {
        int rc = 0;

        atb__jw_push_index(w, i);
        if (!cJSON_IsString(item))
            rc = atb__jw_fail(w, 0, "expected a string, got %s", atb__jw_type(item));
        else if (i == 0 && item->valuestring[0] == '\0')
            rc = atb__jw_fail(w, 0, "the program cannot be empty");
        atb__jw_pop(w);
        if (rc < 0)
            return rc;
        argv[i++] = item->valuestring;
    }
    return 0;
}

static int walk_key(struct atb__jwalk *w, int id, const cJSON *v, struct atb_probe *p)
{
    double d;
    int rc;

    switch (id) {
    case P_EXEC:
        p->kind = ATB_PROBE_EXEC;
        return get_argv(w, v, p);
    case P_SHELL:
        p->kind = ATB_PROBE_EXEC;
        rc = atb__jw_text(w, v, "command line", &p->shell);
        if (rc == 0 && p->shell[strspn(p->shell, " ")] == '\0')
            rc = atb__jw_fail(w, 0, "a command line cannot be blank");
        return rc;
    case P_TCP:
        p->kind = ATB_PROBE_TCP;
        return atb__jw_text(w, v, "HOST:PORT", &p->target);
    case P_HTTP:
        p->kind = ATB_PROBE_HTTP;
        return atb__jw_text(w, v, "URL", &p->target);
    case P_INTERVAL:
        return atb__jw_duration(w, v, &p->interval_s);
    case P_TIMEOUT:
        return atb__jw_duration(w, v, &p->timeout_s);
    case P_INITIAL_DELAY:
        return atb__jw_duration(w, v, &p->initial_delay_s);
    default:
        rc = atb__jw_range(w, v, 1, 1000, 1, &d);
        p->failures = (unsigned)d;
        return rc;
    }
}

int atb__spec_probe(struct atb__jwalk *w, const cJSON *obj, int health,
                    const struct atb_probe **out)
{
    static const struct atb__jw_keys keys = {key_names, ATB__ARRAY_SIZE(key_names)};
    /* "failures" is the health probe's alone. */
    static const struct atb__jw_keys ready_keys = {key_names, ATB__ARRAY_SIZE(key_names) - 1};
    struct atb_probe *p;
    const cJSON *v;
    uint32_t seen = 0;
    size_t ordinal = 0, ways;

    if (!cJSON_IsObject(obj))
        return atb__jw_fail(w, 0, "expected a probe (an object with exec, shell, tcp or http), "
                            "got %s", atb__jw_type(obj));
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    *out = p;
    cJSON_ArrayForEach(v, obj) {
        int id, rc;

        atb__jw_push_key(w, v->string, ordinal++);
        id = atb__jw_key_id(w, health ? &keys : &ready_keys, health ? &keys : &ready_keys,
                            v->string, &seen);
        rc = id >= 0 ? walk_key(w, id, v, p) : id;
        atb__jw_pop(w);
        if (rc < 0)
            return rc;
    }
    ways = ((seen >> P_EXEC) & 1) + ((seen >> P_SHELL) & 1) + ((seen >> P_TCP) & 1) +
           ((seen >> P_HTTP) & 1);
    if (ways != 1)
        return atb__jw_fail(w, 0, "needs exactly one of exec, shell, tcp and http (%zu given)",
                            ways);
    return 0;
}

void atb__spec_probe_free(const struct atb_probe *p)
{
    if (p == NULL)
        return;
    free((void *)p->argv);
    free((void *)p);
}
