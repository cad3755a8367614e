/* jsonwalk: the JSON path of a walk, its errors (path, position, what),
 * and the typed getters a schema is made of. */
#include "jsonwalk.h"
#include "spec-json.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void atb__jw_push_key(struct atb__jwalk *w, const char *key, size_t ordinal)
{
    if (w->depth < ATB__JW_DEPTH) {
        w->path[w->depth].key = key;
        w->path[w->depth].ordinal = ordinal;
    }
    w->depth++;
}

void atb__jw_push_index(struct atb__jwalk *w, size_t index)
{
    if (w->depth < ATB__JW_DEPTH) {
        w->path[w->depth].key = NULL;
        w->path[w->depth].index = index;
        w->path[w->depth].ordinal = index;
    }
    w->depth++;
}

void atb__jw_pop(struct atb__jwalk *w)
{
    w->depth--;
}

int atb__jw_ordinal(const cJSON *obj, const char *name)
{
    const cJSON *v;
    int i = 0;

    cJSON_ArrayForEach(v, obj) {
        if (v->string && strcmp(v->string, name) == 0)
            return i;
        i++;
    }
    return -1;
}

/* Keys written .key in a path; others are written ["key"]. */
static int is_ident(const char *key)
{
    if (*key == '\0' || (*key >= '0' && *key <= '9'))
        return 0;
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

/* Writes a JSON path: commands[2].env.CI, commands[0].env["A B"]. */
static void format_path(const struct atb__jwalk *w, char *buf, size_t size)
{
    struct atb__buf b;

    atb__buf_init(&b, buf, size);
    for (int i = 0; i < w->depth && i < ATB__JW_DEPTH; i++) {
        const char *key = w->path[i].key;

        if (key == NULL) {
            atb__buf_add(&b, "[%zu]", w->path[i].index);
        } else if (is_ident(key) && strlen(key) <= 40) {
            atb__buf_add(&b, "%s%s", i > 0 ? "." : "", key);
        } else {
            atb__buf_add(&b, "[");
            atb__buf_quote(&b, key, '"');
            atb__buf_add(&b, "]");
        }
    }
}

int atb__jw_fail(struct atb__jwalk *w, int at_key, const char *fmt, ...)
{
    struct atb_error *e = w->err;
    size_t ordinals[ATB__JW_DEPTH], line = 0, col = 0;
    int n = w->depth < ATB__JW_DEPTH ? w->depth : ATB__JW_DEPTH;
    va_list ap;

    for (int i = 0; i < n; i++)
        ordinals[i] = w->path[i].ordinal;
    memset(e, 0, sizeof(*e));
    e->code = ATB_ESPEC;
    e->id = -1;
    e->index = -1;
    if (w->text && atb__json_locate(w->text, w->len, ordinals, n, at_key, &line, &col) == 0) {
        e->line = (unsigned)(line > UINT_MAX ? UINT_MAX : line);
        e->col = (unsigned)(col > UINT_MAX ? UINT_MAX : col);
    }
    format_path(w, e->path, sizeof(e->path));
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof(e->text), fmt, ap);
    va_end(ap);
    return ATB_ESPEC;
}

const char *atb__jw_type(const cJSON *v)
{
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? "true" : "false";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsArray(v))
        return "an array";
    return "an object";
}

const char *atb__jw_shown(char *buf, size_t size, const char *s)
{
    struct atb__buf b;

    atb__buf_init(&b, buf, size);
    atb__buf_quote(&b, s, '\'');
    return buf;
}

int atb__jw_bool(struct atb__jwalk *w, const cJSON *v, int *out)
{
    if (!cJSON_IsBool(v))
        return atb__jw_fail(w, 0, "expected true or false, got %s", atb__jw_type(v));
    *out = cJSON_IsTrue(v);
    return 0;
}

int atb__jw_choice(struct atb__jwalk *w, const cJSON *v, const char *const *names, size_t n,
                   const char *what, int *out)
{
    char q[ATB__JW_SHOW], text[128];
    struct atb__buf list;

    atb__buf_init(&list, text, sizeof(text));
    for (size_t i = 0; i < n; i++)
        atb__buf_add(&list, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
    if (!cJSON_IsString(v))
        return atb__jw_fail(w, 0, "expected %s, got %s", text, atb__jw_type(v));
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v->valuestring, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    return atb__jw_fail(w, 0, "unknown %s %s (use %s)", what,
                        atb__jw_shown(q, sizeof(q), v->valuestring), text);
}

int atb__jw_duration(struct atb__jwalk *w, const cJSON *v, double *out)
{
    char q[ATB__JW_SHOW];

    if (cJSON_IsNumber(v)) {
        if (!isfinite(v->valuedouble) || v->valuedouble < 0 || v->valuedouble > 1e9)
            return atb__jw_fail(w, 0, "expected a duration of 0 seconds or more, got %g",
                                v->valuedouble);
        *out = v->valuedouble;
        return 0;
    }
    if (!cJSON_IsString(v))
        return atb__jw_fail(w, 0, "expected a duration such as \"5s\", got %s",
                            atb__jw_type(v));
    if (atb_duration_parse(v->valuestring, out) < 0)
        return atb__jw_fail(w, 0,
                            "invalid duration %s (use e.g. \"10\", \"1.5s\", \"250ms\", "
                            "\"2m\", \"1h\")",
                            atb__jw_shown(q, sizeof(q), v->valuestring));
    return 0;
}

int atb__jw_signal(struct atb__jwalk *w, const cJSON *v, int *out)
{
    char q[ATB__JW_SHOW], num[16];
    double d = v->valuedouble;

    if (cJSON_IsNumber(v)) {
        if (d == floor(d) && d >= 1 && d <= 64) {
            snprintf(num, sizeof(num), "%d", (int)d);
            if (atb_signal_parse(num, out) == 0)
                return 0;
        }
        return atb__jw_fail(w, 0, "unknown signal %g", d);
    }
    if (!cJSON_IsString(v))
        return atb__jw_fail(w, 0, "expected a signal name such as \"TERM\", got %s",
                            atb__jw_type(v));
    if (atb_signal_parse(v->valuestring, out) < 0)
        return atb__jw_fail(w, 0, "unknown signal %s",
                            atb__jw_shown(q, sizeof(q), v->valuestring));
    return 0;
}

int atb__jw_jobs(struct atb__jwalk *w, const cJSON *v, unsigned *out)
{
    if (!cJSON_IsNumber(v))
        return atb__jw_fail(w, 0, "expected a whole number (0: no limit), got %s",
                            atb__jw_type(v));
    if (!isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < 0 || v->valuedouble > INT_MAX)
        return atb__jw_fail(w, 0, "expected a whole number from 0 (no limit) to %d, got %g",
                            INT_MAX, v->valuedouble);
    *out = (unsigned)v->valuedouble;
    return 0;
}

int atb__jw_range(struct atb__jwalk *w, const cJSON *v, double lo, double hi, int whole,
                  double *out)
{
    const char *kind = whole ? "a whole number" : "a number";

    if (!cJSON_IsNumber(v))
        return atb__jw_fail(w, 0, "expected %s, got %s", kind, atb__jw_type(v));
    if (!isfinite(v->valuedouble) || (whole && v->valuedouble != floor(v->valuedouble)) ||
        v->valuedouble < lo || v->valuedouble > hi)
        return atb__jw_fail(w, 0, "expected %s from %g to %g, got %g", kind, lo, hi,
                            v->valuedouble);
    *out = v->valuedouble;
    return 0;
}

int atb__jw_text(struct atb__jwalk *w, const cJSON *v, const char *noun, const char **out)
{
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        return atb__jw_fail(w, 0, "expected a %s (a non-empty string), got %s", noun,
                            cJSON_IsString(v) ? "an empty string" : atb__jw_type(v));
    for (const char *p = v->valuestring; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7F)
            return atb__jw_fail(w, 0, "a %s cannot hold control characters", noun);
    *out = v->valuestring;
    return 0;
}

static int unknown_key(struct atb__jwalk *w, const struct atb__jw_keys *keys, const char *key)
{
    const char *near = atb_nearest(key, keys->names, keys->n);
    char list[400], hint[96];
    struct atb__buf b;

    atb__buf_init(&b, list, sizeof(list));
    for (size_t i = 0; i < keys->n; i++)
        atb__buf_add(&b, "%s%s", i ? ", " : "", keys->names[i]);
    hint[0] = '\0';
    if (near)
        snprintf(hint, sizeof(hint), "did you mean '%s'? ", near);
    return atb__jw_fail(w, 1, "unknown key; %sallowed keys: %s", hint, list);
}

int atb__jw_key_id(struct atb__jwalk *w, const struct atb__jw_keys *keys,
                   const struct atb__jw_keys *allowed, const char *key, uint32_t *seen)
{
    for (size_t i = 0; i < keys->n; i++) {
        if (strcmp(key, keys->names[i]) != 0)
            continue;
        if (*seen & (UINT32_C(1) << i))
            return atb__jw_fail(w, 1, "duplicate key (given twice in one object)");
        *seen |= UINT32_C(1) << i;
        return (int)i;
    }
    return unknown_key(w, allowed, key);
}
