/* buf: a bounded string builder on a caller's array, and the one way user
 * text is quoted into a message: bounded, escaped, cut between UTF-8
 * characters, so neither a huge key nor a terminal escape sequence in a
 * spec reaches a terminal. */
#include "internal.h"
#include "spec-json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SHOW_MAX 40 /* bytes of the user's text quoted in a message */

void atb__buf_init(struct atb__buf *b, char *buf, size_t size)
{
    b->buf = buf;
    b->size = size;
    b->len = 0;
    if (size > 0)
        buf[0] = '\0';
}

void atb__buf_add(struct atb__buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->len + 1 >= b->size)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->buf + b->len, b->size - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    b->len += (size_t)n < b->size - b->len ? (size_t)n : b->size - b->len - 1;
}

void atb__buf_quote(struct atb__buf *b, const char *s, char quote)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);

    atb__buf_add(b, "%c", quote);
    while (p < end) {
        size_t n = atb__utf8_len(p, end, NULL);

        if (p - (const unsigned char *)s >= SHOW_MAX) {
            atb__buf_add(b, "...");
            break;
        }
        if (n == 0)
            n = 1;
        if (*p < 0x20 || *p == 0x7F)
            atb__buf_add(b, "\\x%02x", *p);
        else if (*p == (unsigned char)quote || *p == '\\')
            atb__buf_add(b, "\\%c", *p);
        else
            atb__buf_add(b, "%.*s", (int)n, (const char *)p);
        p += n;
    }
    atb__buf_add(b, "%c", quote);
}
