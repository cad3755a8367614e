/* spec-json: a strict JSON syntax check with errors people can act on.
 *
 * cJSON builds the tree of a spec, but it is lenient where a spec should not
 * be (raw control characters and invalid UTF-8 inside strings, "\u0000"
 * that silently cuts a string short) and when it does fail it says only
 * where it stopped. This recursive descent over RFC 8259 runs first and
 * names the line, the column and what was expected there, with a guess at
 * the usual slips: single quotes, bare words, trailing commas, comments,
 * True/None. Whatever it accepts, cJSON parses as written.
 */
#include "internal.h"
#include "spec-json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_NUMBER_LEN 63 /* cJSON reads at most 63 characters of a number */

size_t atb__utf8_len(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
    size_t n, avail = (size_t)(end - p);
    uint32_t c, min;

    if (avail == 0)
        return 0;
    c = p[0];
    if (c < 0x80) {
        n = 1, min = 0;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2, min = 0x80, c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, min = 0x800, c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (n > avail)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    if (cp)
        *cp = c;
    return n;
}

struct scan {
    const unsigned char *start, *p, *end;
    const unsigned char *err_at; /* NULL: the error has no position */
    char msg[sizeof(((struct atb__json_error *)0)->message)];
};

static int scan_value(struct scan *s, int depth);

static int scan_fail(struct scan *s, const unsigned char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int scan_fail(struct scan *s, const unsigned char *at, const char *fmt, ...)
{
    va_list ap;

    s->err_at = at;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
    va_end(ap);
    return -1;
}

static int peek(const struct scan *s)
{
    return s->p < s->end ? *s->p : -1;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_word(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || is_digit(c);
}

static void skip_ws(struct scan *s)
{
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Names the character at p: 'x', "a newline", "U+00A0", "byte 0xff". */
static const char *describe_at(const struct scan *s, const unsigned char *p, char *buf,
                               size_t size)
{
    uint32_t cp;

    if (p >= s->end)
        snprintf(buf, size, "the end of the input");
    else if (*p == '\n')
        snprintf(buf, size, "a newline");
    else if (*p == '\t')
        snprintf(buf, size, "a tab");
    else if (*p == '\r')
        snprintf(buf, size, "a carriage return");
    else if (*p == ' ')
        snprintf(buf, size, "a space");
    else if (*p == '\'')
        snprintf(buf, size, "\"'\"");
    else if (*p > 0x20 && *p < 0x7F)
        snprintf(buf, size, "'%c'", *p);
    else if (*p >= 0x80 && atb__utf8_len(p, s->end, &cp) > 0)
        snprintf(buf, size, "U+%04X", (unsigned)cp);
    else
        snprintf(buf, size, "byte 0x%02x", *p);
    return buf;
}

/* Reports that what was expected is not at s->p. */
static int expected(struct scan *s, const char *what)
{
    char got[32];

    if (s->p >= s->end)
        return scan_fail(s, s->p, "unexpected end of input, expected %s", what);
    if (*s->p == '/' && s->p + 1 < s->end && (s->p[1] == '/' || s->p[1] == '*'))
        return scan_fail(s, s->p, "comments are not allowed in JSON");
    return scan_fail(s, s->p, "expected %s, got %s", what,
                     describe_at(s, s->p, got, sizeof(got)));
}

/* Where a value or a key should start, a guess at what was meant. */
static int bad_token(struct scan *s, const char *what)
{
    static const char *const literals[] = {"true", "false", "null"};
    const unsigned char *p = s->p;
    char word[8];
    size_t n = 0;

    if (p < s->end && *p == '\'')
        return scan_fail(s, p, "expected %s, got \"'\" (JSON strings take double quotes)",
                         what);
    if (p < s->end && is_word(*p) && !is_digit(*p)) {
        while (p + n < s->end && is_word(p[n]) && n < sizeof(word) - 1) {
            word[n] = (char)p[n];
            n++;
        }
        word[n] = '\0';
        for (size_t i = 0; i < ATB__ARRAY_SIZE(literals); i++)
            if (strcasecmp(word, literals[i]) == 0 ||
                (i == 2 && strcmp(word, "None") == 0))
                return scan_fail(s, p, "expected %s, got '%s' (JSON spells it %s)", what,
                                 word, literals[i]);
        return scan_fail(s, p, "expected %s, got '%c' (strings take double quotes)", what,
                         *p);
    }
    return expected(s, what);
}

static int hex4(const unsigned char *p, const unsigned char *end, uint32_t *v)
{
    *v = 0;
    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d;
        if (is_digit(c))
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        *v = (*v << 4) | (uint32_t)d;
    }
    return 0;
}

/* s->p is at a backslash inside a string. An escape cut short by the end of
 * the input is left to the caller, which reports the unterminated string. */
static int scan_escape(struct scan *s)
{
    const unsigned char *at = s->p++;
    uint32_t cp, lo;
    char got[32];

    if (s->p >= s->end)
        return 0;
    switch (*s->p) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        s->p++;
        return 0;
    case 'u':
        break;
    default:
        return scan_fail(s, at,
                         "invalid escape: backslash then %s (use \\\", \\\\, \\/, \\b, "
                         "\\f, \\n, \\r, \\t or \\uXXXX)",
                         describe_at(s, s->p, got, sizeof(got)));
    }
    if (hex4(s->p + 1, s->end, &cp) < 0)
        return scan_fail(s, at, "expected 4 hex digits after \\u");
    s->p += 5;
    if (cp == 0)
        return scan_fail(s, at, "\\u0000 is not allowed: a string cannot hold a NUL");
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return scan_fail(s, at, "unpaired UTF-16 surrogate \\u%04X", (unsigned)cp);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' ||
            hex4(s->p + 2, s->end, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
            return scan_fail(s, at, "unpaired UTF-16 surrogate \\u%04X", (unsigned)cp);
        s->p += 6;
    }
    return 0;
}

static int scan_string(struct scan *s)
{
    const unsigned char *open = s->p++;

    while (s->p < s->end) {
        unsigned c = *s->p;
        size_t n;

        if (c == '"') {
            s->p++;
            return 0;
        }
        if (c == '\\') {
            if (scan_escape(s) < 0)
                return -1;
            continue;
        }
        if (c == '\n')
            return scan_fail(s, s->p,
                             "newline inside a string (a missing '\"'? write a newline "
                             "as \\n)");
        if (c < 0x20)
            return scan_fail(s, s->p,
                             "control character 0x%02x inside a string (write it as "
                             "\\u%04x)",
                             c, c);
        n = c < 0x80 ? 1 : atb__utf8_len(s->p, s->end, NULL);
        if (n == 0)
            return scan_fail(s, s->p, "invalid UTF-8 inside a string");
        s->p += n;
    }
    return scan_fail(s, open, "unterminated string (no closing '\"')");
}

static int scan_number(struct scan *s)
{
    const unsigned char *start = s->p;

    if (peek(s) == '-')
        s->p++;
    if (!is_digit(peek(s)))
        return expected(s, "a digit after '-'");
    if (peek(s) == '0') {
        s->p++;
        if (is_digit(peek(s)))
            return scan_fail(s, start, "numbers cannot have leading zeros");
    } else {
        while (is_digit(peek(s)))
            s->p++;
    }
    if (peek(s) == '.') {
        s->p++;
        if (!is_digit(peek(s)))
            return expected(s, "a digit after '.'");
        while (is_digit(peek(s)))
            s->p++;
    }
    if (peek(s) == 'e' || peek(s) == 'E') {
        s->p++;
        if (peek(s) == '+' || peek(s) == '-')
            s->p++;
        if (!is_digit(peek(s)))
            return expected(s, "a digit in the exponent");
        while (is_digit(peek(s)))
            s->p++;
    }
    if (s->p - start > MAX_NUMBER_LEN)
        return scan_fail(s, start, "number too long (more than %d characters)",
                         MAX_NUMBER_LEN);
    return 0;
}

/* Objects and arrays: open, members separated by ',', close. */
static int scan_container(struct scan *s, int depth)
{
    int object = *s->p == '{', close = object ? '}' : ']';
    const char *after = object ? "',' or '}'" : "',' or ']'";

    s->p++;
    skip_ws(s);
    if (peek(s) == close) {
        s->p++;
        return 0;
    }
    for (int first = 1;; first = 0) {
        if (!first && peek(s) == close)
            return scan_fail(s, s->p, "expected %s after ',', got '%c' (JSON allows no "
                             "trailing comma)",
                             object ? "a key" : "a value", close);
        if (object) {
            if (peek(s) != '"')
                return bad_token(s, first ? "a key in double quotes or '}'"
                                          : "a key in double quotes");
            if (scan_string(s) < 0)
                return -1;
            skip_ws(s);
            if (peek(s) != ':')
                return expected(s, "':' after the key");
            s->p++;
            skip_ws(s);
        }
        if (scan_value(s, depth + 1) < 0)
            return -1;
        skip_ws(s);
        if (peek(s) == close) {
            s->p++;
            return 0;
        }
        if (peek(s) != ',')
            return expected(s, after);
        s->p++;
        skip_ws(s);
    }
}

static int scan_value(struct scan *s, int depth)
{
    static const char *const literals[] = {"true", "false", "null"};
    int c = peek(s);

    if (depth > ATB__JSON_MAX_DEPTH)
        return scan_fail(s, s->p, "nested too deeply (more than %d levels)", ATB__JSON_MAX_DEPTH);
    if (c == '{' || c == '[')
        return scan_container(s, depth);
    if (c == '"')
        return scan_string(s);
    if (c == '-' || is_digit(c))
        return scan_number(s);
    for (size_t i = 0; i < ATB__ARRAY_SIZE(literals); i++) {
        size_t n = strlen(literals[i]);
        if ((size_t)(s->end - s->p) >= n && memcmp(s->p, literals[i], n) == 0 &&
            (s->p + n == s->end || !is_word(s->p[n]))) {
            s->p += n;
            return 0;
        }
    }
    return bad_token(s, "a value");
}

static int has_bom(const unsigned char *p, const unsigned char *end)
{
    return end - p >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF;
}

static int scan_text(struct scan *s)
{
    char got[32];

    if (has_bom(s->p, s->end))
        s->p += 3;
    skip_ws(s);
    if (s->p == s->end)
        return scan_fail(s, NULL, "the spec is empty (expected a JSON object)");
    if (scan_value(s, 1) < 0)
        return -1;
    skip_ws(s);
    if (s->p < s->end)
        return scan_fail(s, s->p, "unexpected %s after the end of the JSON value",
                         describe_at(s, s->p, got, sizeof(got)));
    return 0;
}

/* Line and column (in characters, both from 1) of at. */
static void position(const unsigned char *start, const unsigned char *at, size_t *line,
                     size_t *col)
{
    const unsigned char *bol = start;

    *line = 1;
    if (has_bom(start, at))
        bol = start + 3;
    for (const unsigned char *p = start; p < at; p++) {
        if (*p == '\n') {
            (*line)++;
            bol = p + 1;
        }
    }
    *col = 1;
    for (const unsigned char *p = bol; p < at; p++)
        if ((*p & 0xC0) != 0x80)
            (*col)++;
}

int atb__json_check(const char *text, size_t len, struct atb__json_error *err)
{
    struct scan s;

    s.start = s.p = (const unsigned char *)text;
    s.end = s.start + (text ? len : 0);
    s.err_at = NULL;
    s.msg[0] = '\0';
    if (scan_text(&s) == 0)
        return 0;
    err->line = err->col = 0;
    if (s.err_at != NULL)
        position(s.start, s.err_at, &err->line, &err->col);
    memcpy(err->message, s.msg, sizeof(err->message));
    return -1;
}

static const unsigned char *skip_space(const unsigned char *p, const unsigned char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const unsigned char *skip_string(const unsigned char *p, const unsigned char *end)
{
    for (p++; p < end && *p != '"'; p++)
        if (*p == '\\')
            p++;
    return p < end ? p + 1 : end;
}

/* Skips one value of valid JSON text, nested ones and all. */
static const unsigned char *skip_one(const unsigned char *p, const unsigned char *end)
{
    int depth = 0;

    for (;;) {
        p = skip_space(p, end);
        if (p >= end)
            return end;
        if (*p == '"') {
            p = skip_string(p, end);
        } else if (*p == '{' || *p == '[') {
            depth++;
            p++;
            continue;
        } else if (*p == '}' || *p == ']') {
            depth--;
            p++;
        } else if (*p == ',' || *p == ':') {
            p++;
            continue;
        } else {
            while (p < end && strchr(",]} \t\r\n", *p) == NULL)
                p++;
        }
        if (depth <= 0)
            return p;
    }
}

int atb__json_locate(const char *text, size_t len, const size_t *path, int n, int at_key,
                     size_t *line, size_t *col)
{
    const unsigned char *start = (const unsigned char *)text, *end = start + len;
    const unsigned char *p = start, *key = NULL;

    if (has_bom(p, end))
        p += 3;
    for (int i = 0; i < n; i++) {
        int object;

        p = skip_space(p, end);
        if (p >= end || (*p != '{' && *p != '['))
            return -1;
        object = *p++ == '{';
        for (size_t k = 0;; k++) {
            p = skip_space(p, end);
            if (p >= end || *p == '}' || *p == ']')
                return -1;
            key = NULL;
            if (object) {
                key = p;
                p = skip_space(skip_string(p, end), end);
                p = skip_space(p + 1, end); /* past the ':' */
            }
            if (k == path[i])
                break;
            p = skip_space(skip_one(p, end), end);
            if (p < end && *p == ',')
                p++;
        }
    }
    p = skip_space(p, end);
    position(start, at_key && key ? key : p, line, col);
    return 0;
}
