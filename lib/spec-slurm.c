/* spec-slurm: a spec command's "slurm" object (atb-spec(5)) -> struct
 * atb_slurm, each value checked where it stands, with its JSON path: the
 * same rules as atb_slurm_check(), which the run applies to callers. */
#include "jsonwalk.h"
#include "spec-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { S_PARTITION, S_CPUS, S_MEM, S_TIME, S_NODES, S_ARGS };
static const char *const key_names[] = {"partition", "cpus", "mem", "time", "nodes", "args"};

/* "args": srun options, each a string starting with '-'. */
static int get_args(struct atb__jwalk *w, const cJSON *v, struct atb_slurm *s)
{
    size_t n = 0, i = 0;
    const cJSON *item;
    char **args;

    if (!cJSON_IsArray(v))
        return atb__jw_fail(w, 0, "expected an array of srun options, got %s", atb__jw_type(v));
    cJSON_ArrayForEach(item, v) n++;
    args = calloc(n + 1, sizeof(*args));
    if (args == NULL)
        return -ENOMEM;
    s->args = args;
    cJSON_ArrayForEach(item, v) {
        char q[ATB__JW_SHOW];
        int rc = 0;

        atb__jw_push_index(w, i);
        if (!cJSON_IsString(item))
            rc = atb__jw_fail(w, 0, "expected a string, got %s", atb__jw_type(item));
        else if (item->valuestring[0] != '-')
            rc = atb__jw_fail(w, 0, "%s is not an option of srun (options start with '-'; "
                              "the command goes in argv or shell)",
                              atb__jw_shown(q, sizeof(q), item->valuestring));
        atb__jw_pop(w);
        if (rc < 0)
            return rc;
        args[i++] = item->valuestring;
    }
    return 0;
}

/* A string that atb_slurm_check() accepts in field. */
static int get_checked(struct atb__jwalk *w, const cJSON *v, int id, struct atb_slurm *s)
{
    static const char *const wants[] = {
        "a partition name",
        "",
        "a size: a number with an optional K, M, G or T (\"4G\")",
        "a time limit: MIN, MIN:SEC, H:MIN:SEC, D-H, D-H:MIN or D-H:MIN:SEC",
    };
    struct atb_slurm one = {0};
    const char **dst = id == S_PARTITION ? &one.partition : id == S_MEM ? &one.mem : &one.time;
    const char *field;
    char q[ATB__JW_SHOW];
    int rc = atb__jw_text(w, v, "string", dst);

    if (rc < 0)
        return rc;
    if (atb_slurm_check(&one, &field) < 0)
        return atb__jw_fail(w, 0, "%s is not %s", atb__jw_shown(q, sizeof(q), *dst), wants[id]);
    if (id == S_PARTITION)
        s->partition = one.partition;
    else if (id == S_MEM)
        s->mem = one.mem;
    else
        s->time = one.time;
    return 0;
}

static int walk_key(struct atb__jwalk *w, int id, const cJSON *v, struct atb_slurm *s)
{
    double d;
    int rc;

    switch (id) {
    case S_CPUS:
    case S_NODES:
        rc = atb__jw_range(w, v, 1, 100000, 1, &d);
        *(id == S_CPUS ? &s->cpus : &s->nodes) = (unsigned)d;
        return rc;
    case S_ARGS:
        return get_args(w, v, s);
    default:
        return get_checked(w, v, id, s);
    }
}

int atb__spec_slurm(struct atb__jwalk *w, const cJSON *obj, const struct atb_slurm **out)
{
    static const struct atb__jw_keys keys = {key_names, ATB__ARRAY_SIZE(key_names)};
    struct atb_slurm *s;
    const cJSON *v;
    uint32_t seen = 0;
    size_t ordinal = 0;

    if (!cJSON_IsObject(obj))
        return atb__jw_fail(w, 0, "expected an object of srun resources (partition, cpus, mem, "
                            "time, nodes, args), got %s", atb__jw_type(obj));
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    *out = s;
    cJSON_ArrayForEach(v, obj) {
        int id, rc;

        atb__jw_push_key(w, v->string, ordinal++);
        id = atb__jw_key_id(w, &keys, &keys, v->string, &seen);
        rc = id >= 0 ? walk_key(w, id, v, s) : id;
        atb__jw_pop(w);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void atb__spec_slurm_free(const struct atb_slurm *s)
{
    if (s == NULL)
        return;
    free((void *)s->args);
    free((void *)s);
}
