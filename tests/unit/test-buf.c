/* buf.c: the bounded string builder (atb__buf_add) and the one way user
 * text is quoted into messages (atb__buf_quote). Every test writes into a
 * part of a larger array whose rest is a canary, so a byte written past
 * the size given is seen, with or without the sanitizers. */
#include "unit.h"

#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "jsonwalk.h"
#include "spec-json.h"

#define CANARY 'Z'

struct guarded {
    char mem[512];
};

/* A builder of size bytes at the start of g, the rest of g a canary. */
static void guard(struct guarded *g, struct atb__buf *b, size_t size)
{
    memset(g->mem, CANARY, sizeof(g->mem));
    atb__buf_init(b, g->mem, size);
}

static void canary_intact(const struct guarded *g, size_t size)
{
    for (size_t i = size; i < sizeof(g->mem); i++)
        if (g->mem[i] != CANARY)
            unit_fail(__FILE__, __LINE__, "byte %zu written past size %zu", i, size);
}

TEST(add_appends_and_counts)
{
    struct guarded g;
    struct atb__buf b;

    guard(&g, &b, 64);
    ASSERT_EQ(b.len, 0);
    ASSERT_STR_EQ(g.mem, "");
    atb__buf_add(&b, "%s", "hello");
    atb__buf_add(&b, " %d%c", 42, '!');
    ASSERT_STR_EQ(g.mem, "hello 42!");
    ASSERT_EQ(b.len, 9);
    atb__buf_add(&b, "%s", "");
    ASSERT_EQ(b.len, 9);
    canary_intact(&g, 64);
}

/* What does not fit is cut, the text stays NUL-terminated, len counts
 * what fit, and later adds change nothing. */
TEST(add_cuts_and_never_overflows)
{
    struct guarded g;
    struct atb__buf b;

    guard(&g, &b, 8);
    atb__buf_add(&b, "%s", "hello");
    atb__buf_add(&b, "%s", " world");
    ASSERT_STR_EQ(g.mem, "hello w");
    ASSERT_EQ(b.len, 7);
    atb__buf_add(&b, "%s", "more");
    atb__buf_add(&b, "%d", 1);
    ASSERT_STR_EQ(g.mem, "hello w");
    ASSERT_EQ(b.len, 7);
    canary_intact(&g, 8);

    /* Exactly full: 5 characters and the NUL in 6. */
    guard(&g, &b, 6);
    atb__buf_add(&b, "%s", "hello");
    ASSERT_STR_EQ(g.mem, "hello");
    ASSERT_EQ(b.len, 5);
    atb__buf_add(&b, "x");
    ASSERT_STR_EQ(g.mem, "hello");
    canary_intact(&g, 6);

    /* One long add into a small buffer. */
    guard(&g, &b, 4);
    atb__buf_add(&b, "%0300d", 7);
    ASSERT_STR_EQ(g.mem, "000");
    ASSERT_EQ(b.len, 3);
    canary_intact(&g, 4);
}

/* Room for the NUL only, or for nothing at all: nothing is written past
 * it, and a size-0 builder never writes. */
TEST(add_into_tiny_buffers)
{
    struct guarded g;
    struct atb__buf b;

    guard(&g, &b, 1);
    ASSERT_EQ(g.mem[0], '\0');
    atb__buf_add(&b, "%s", "abc");
    ASSERT_EQ(g.mem[0], '\0');
    ASSERT_EQ(b.len, 0);
    canary_intact(&g, 1);

    guard(&g, &b, 0);
    atb__buf_add(&b, "%s", "abc");
    atb__buf_quote(&b, "abc", '\'');
    ASSERT_EQ(b.len, 0);
    canary_intact(&g, 0);
}

/* Quotes s with quote into a large buffer. */
static const char *quote(const char *s, char quote_char)
{
    static struct guarded g;
    struct atb__buf b;

    guard(&g, &b, 400);
    atb__buf_quote(&b, s, quote_char);
    ASSERT_EQ(b.len, strlen(g.mem));
    canary_intact(&g, 400);
    return g.mem;
}

TEST(quote_plain_and_empty)
{
    ASSERT_STR_EQ(quote("db", '\''), "'db'");
    ASSERT_STR_EQ(quote("", '\''), "''");
    ASSERT_STR_EQ(quote("A B", '"'), "\"A B\"");
    /* Printable UTF-8 is kept as it is. */
    ASSERT_STR_EQ(quote("café ☕ 𝄞", '\''), "'café ☕ 𝄞'");
}

/* Control characters become \xNN; the quote in use and the backslash get
 * a backslash; the other quote is left alone. */
TEST(quote_escapes)
{
    ASSERT_STR_EQ(quote("a\nb", '\''), "'a\\x0ab'");
    ASSERT_STR_EQ(quote("\t\r\033[31m\x7f\x01", '\''), "'\\x09\\x0d\\x1b[31m\\x7f\\x01'");
    ASSERT_STR_EQ(quote("it's", '\''), "'it\\'s'");
    ASSERT_STR_EQ(quote("say \"hi\"", '\''), "'say \"hi\"'");
    ASSERT_STR_EQ(quote("say \"hi\"", '"'), "\"say \\\"hi\\\"\"");
    ASSERT_STR_EQ(quote("it's", '"'), "\"it's\"");
    ASSERT_STR_EQ(quote("a\\b", '\''), "'a\\\\b'");
    ASSERT_STR_EQ(quote("\\", '"'), "\"\\\\\"");
}

/* At most 40 bytes of the text are shown, then "...". Exactly 40 shows
 * all of it without the dots. */
TEST(quote_bounds_at_40_bytes)
{
    char s[100];

    memset(s, 'a', 40);
    s[40] = '\0';
    ASSERT_STR_EQ(quote(s, '\''), "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'");
    memset(s, 'a', 41);
    s[41] = '\0';
    ASSERT_STR_EQ(quote(s, '\''), "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
    memset(s, 'a', 99);
    s[99] = '\0';
    ASSERT_STR_EQ(quote(s, '\''), "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
    /* Escapes count as the one byte they stand for: 41 control characters
     * show 40 escapes, and that fits the buffers messages use for it. */
    memset(s, '\001', 41);
    s[41] = '\0';
    {
        char q[ATB__JW_SHOW];
        const char *shown = atb__jw_shown(q, sizeof(q), s);
        ASSERT_EQ(strlen(shown), 1 + 40 * 4 + 3 + 1);
        ASSERT(strcmp(shown + 1 + 40 * 4, "...'") == 0);
    }
}

/* The text between the quotes (up to "..." if any). */
static size_t shown_part(const char *quoted, const char **start)
{
    size_t n = strlen(quoted);

    *start = quoted + 1;
    if (n >= 5 && strcmp(quoted + n - 4, "...'") == 0)
        return n - 5;
    return n - 2;
}

/* Multibyte characters near the bound: whatever is shown is whole UTF-8
 * characters, the start of the text. For every width (2, 3, 4 bytes) and
 * every alignment of the characters against byte 40. */
TEST(quote_never_cuts_a_utf8_character)
{
    static const char *const chars[] = {"é", "☕", "𝄞"};

    for (size_t c = 0; c < ATB__ARRAY_SIZE(chars); c++)
        for (size_t lead = 0; lead < 4; lead++) {
            char s[200] = "";
            const char *start, *q;
            size_t n;

            memset(s, 'x', lead);
            s[lead] = '\0';
            while (strlen(s) < 60)
                strcat(s, chars[c]);
            q = quote(s, '\'');
            n = shown_part(q, &start);
            ASSERT(strncmp(start, s, n) == 0);
            /* It ends on a character boundary of s... */
            ASSERT(((unsigned char)s[n] & 0xC0) != 0x80);
            /* ...and what it shows is valid UTF-8 throughout. */
            for (size_t i = 0; i < n;) {
                size_t k = atb__utf8_len((const unsigned char *)start + i,
                                         (const unsigned char *)start + n, NULL);
                if (k == 0)
                    unit_fail(__FILE__, __LINE__, "char %zu lead %zu: broken at byte %zu", c,
                              lead, i);
                i += k;
            }
            ASSERT(strcmp(q + strlen(q) - 4, "...'") == 0);
        }
}

/* "At most 40 bytes of it" (internal.h): a character that would end past
 * byte 40 is left out rather than shown in full. */
TEST(quote_bound_counts_whole_characters)
{
    static const char *const chars[] = {"é", "☕", "𝄞"};

    for (size_t c = 0; c < ATB__ARRAY_SIZE(chars); c++)
        for (size_t lead = 0; lead < 4; lead++) {
            char s[200] = "";
            const char *start;
            size_t n, w = strlen(chars[c]);

            memset(s, 'x', lead);
            s[lead] = '\0';
            while (strlen(s) < 60)
                strcat(s, chars[c]);
            n = shown_part(quote(s, '\''), &start);
            if (n > 40)
                unit_fail(__FILE__, __LINE__, "%zu-byte characters after %zu 'x': %zu bytes "
                          "shown", w, lead, n);
            /* As much as fits: the next character would pass 40. */
            ASSERT(n + w > 40);
        }
}

/* C1 control characters (U+0080..U+009F; U+009B is a CSI to terminals
 * that honour 8-bit controls) and bytes that are not UTF-8 at all must
 * not reach a terminal raw either: both are escaped like other control
 * bytes, so the message stays valid, inert UTF-8. */
TEST(quote_escapes_c1_controls_and_invalid_bytes)
{
    static const char *const inputs[] = {"a\xc2\x9b" "31mb", "a\x9b" "31mb", "a\xff" "b",
                                         "a\xc3" "b", "a\xe2\x98" "b"};

    for (size_t i = 0; i < ATB__ARRAY_SIZE(inputs); i++) {
        const char *q = quote(inputs[i], '\'');
        const unsigned char *p = (const unsigned char *)q, *end = p + strlen(q);

        while (p < end) {
            uint32_t cp = 0;
            size_t k = atb__utf8_len(p, end, &cp);
            if (k == 0 || (cp >= 0x80 && cp <= 0x9F))
                unit_fail(__FILE__, __LINE__, "input %zu: raw byte 0x%02x at %zu", i, *p,
                          (size_t)(p - (const unsigned char *)q));
            p += k;
        }
    }
}

/* Quoting into a small buffer: cut, never past it. */
TEST(quote_into_a_small_buffer)
{
    struct guarded g;
    struct atb__buf b;

    for (size_t size = 1; size < 12; size++) {
        guard(&g, &b, size);
        atb__buf_quote(&b, "a\nlong name that goes on", '\'');
        ASSERT(b.len < size);
        ASSERT_EQ(strlen(g.mem), b.len);
        canary_intact(&g, size);
    }
    guard(&g, &b, 12);
    atb__buf_add(&b, "x=");
    atb__buf_quote(&b, "a\nb", '\'');
    ASSERT_STR_EQ(g.mem, "x='a\\x0ab'");
}
