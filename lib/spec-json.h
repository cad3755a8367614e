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

/* Where a value of valid JSON text is: path[i] is the ordinal of a member
 * (objects) or an element (arrays) on the way down. Stores the line and
 * column (1-based, in characters) of the value, or with at_key of its
 * member's key. Returns 0, or -1 when the path is not in the text. */
int atb__json_locate(const char *text, size_t len, const size_t *path, int n, int at_key,
                     size_t *line, size_t *col);

/* The length of the valid UTF-8 sequence at p (shortest form, no surrogates,
 * at most U+10FFFF), storing its code point in *cp when cp is not NULL; 0
 * when the bytes at p are not one. */
size_t atb__utf8_len(const unsigned char *p, const unsigned char *end, uint32_t *cp);

#endif
