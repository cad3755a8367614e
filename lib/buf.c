/* buf: a bounded string builder on a caller's array, and the one way user
 * text is quoted into a message: bounded, escaped, cut between UTF-8
 * characters, so neither a huge key nor a terminal escape sequence in a
 * spec reaches a terminal. */
#include "internal.h"
#include "spec-json.h"

#include <stdarg.h>
#include <stdint.h>
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
    uint32_t c;

    if (quote)
        atb__buf_add(b, "%c", quote);
    while (p < end) {
        size_t n = atb__utf8_len(p, end, &c);

        /* The bound counts whole characters: one that would pass it is
         * not shown. */
        if (p - (const unsigned char *)s + (n ? n : 1) > SHOW_MAX) {
            atb__buf_add(b, "...");
            break;
        }
        /* Control characters (C0, DEL, C1: some terminals act on 8-bit
         * controls) and bytes that are not UTF-8 are shown as escapes. */
        if (n == 0 || c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F)) {
            for (size_t i = 0; i < (n ? n : 1); i++)
                atb__buf_add(b, "\\x%02x", p[i]);
        } else if (quote && (c == (unsigned char)quote || c == '\\')) {
            atb__buf_add(b, "\\%c", (int)c);
        } else {
            atb__buf_add(b, "%.*s", (int)n, (const char *)p);
        }
        p += n ? n : 1;
    }
    if (quote)
        atb__buf_add(b, "%c", quote);
}
