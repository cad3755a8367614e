/* jsonwalk: walking a cJSON tree against a schema, with errors that name
 * the JSON path and the place in the text. Private to lib/spec*.c. */
#ifndef ATB_JSONWALK_H
#define ATB_JSONWALK_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "internal.h"

#define ATB__JW_DEPTH 6 /* commands[1].env.NAME is 4 */

struct atb__jw_seg {
    const char *key;   /* NULL: an array index */
    size_t index;      /* the array index */
    size_t ordinal;    /* the member's or element's place in its parent */
};

struct atb__jwalk {
    struct atb_error *err;
    const char *text;  /* the JSON text, for positions */
    size_t len;
    struct atb__jw_seg path[ATB__JW_DEPTH];
    int depth;
};

/* The allowed keys of an object; a key's position in the list is its id. */
struct atb__jw_keys {
    const char *const *names;
    size_t n;
};

void atb__jw_push_key(struct atb__jwalk *w, const char *key, size_t ordinal);
void atb__jw_push_index(struct atb__jwalk *w, size_t index);
void atb__jw_pop(struct atb__jwalk *w);
/* Reports an error at the current path (at its key with at_key) and
 * returns ATB_ESPEC. */
int atb__jw_fail(struct atb__jwalk *w, int at_key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The place of name among obj's members, or -1. */
int atb__jw_ordinal(const cJSON *obj, const char *name);
const char *atb__jw_type(const cJSON *v);
/* The user's text s as 'text', for a message. */
const char *atb__jw_shown(char *buf, size_t size, const char *s);
#define ATB__JW_SHOW 168

/* Typed values: each returns 0 or ATB_ESPEC after reporting. */
int atb__jw_bool(struct atb__jwalk *w, const cJSON *v, int *out);
int atb__jw_choice(struct atb__jwalk *w, const cJSON *v, const char *const *names, size_t n,
                   const char *what, int *out);
int atb__jw_duration(struct atb__jwalk *w, const cJSON *v, double *out);
int atb__jw_signal(struct atb__jwalk *w, const cJSON *v, int *out);
int atb__jw_jobs(struct atb__jwalk *w, const cJSON *v, unsigned *out);
/* A number from lo to hi (whole: without a fraction). */
int atb__jw_range(struct atb__jwalk *w, const cJSON *v, double lo, double hi, int whole,
                  double *out);
/* A non-empty string without control characters: a name, a path. */
int atb__jw_text(struct atb__jwalk *w, const cJSON *v, const char *noun, const char **out);
/* Finds key's id in keys, or reports an unknown key (listing the keys of
 * allowed, with a "did you mean") or a repeated one: seen has one bit per
 * id, since cJSON keeps every member of an object, repeats included.
 * Returns the id or ATB_ESPEC. */
int atb__jw_key_id(struct atb__jwalk *w, const struct atb__jw_keys *keys,
                   const struct atb__jw_keys *allowed, const char *key, uint32_t *seen);

#endif
