/* spec-json: the strict JSON syntax check in front of cJSON (see spec.c).
 * Private to lib/spec*.c; atb__ names as in internal.h. */
#ifndef ATB_SPEC_JSON_H
#define ATB_SPEC_JSON_H

#include <stddef.h>
#include <stdint.h>

#define ATB__JSON_MAX_DEPTH 64 /* a spec needs 4 levels; cJSON allows 1000 */

struct atb__json_error {
    size_t line, col; /* 1-based (col in characters); 0 when there is no place */
    char message[320];
};

/* Checks that len bytes at text are one JSON value (RFC 8259, after an
 * optional UTF-8 byte order mark) that cJSON reads exactly as written:
 * strings are valid UTF-8 without NULs, numbers at most 63 characters long,
 * nesting at most ATB__JSON_MAX_DEPTH deep. Returns 0, or -1 with *err
 * filled in: where, and what was expected there. */
int atb__json_check(const char *text, size_t len, struct atb__json_error *err);

/* The length of the valid UTF-8 sequence at p (shortest form, no surrogates,
 * at most U+10FFFF), storing its code point in *cp when cp is not NULL; 0
 * when the bytes at p are not one. */
size_t atb__utf8_len(const unsigned char *p, const unsigned char *end, uint32_t *cp);

#endif
