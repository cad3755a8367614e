/* template: GNU parallel's replacement strings in the words of a command
 * template (`atb pool --stdin -- gzip {}`, `atb pool -- convert {} {.}.png
 * ::: a.jpg b.jpg`), with GNU parallel's meanings:
 *
 *   {}    the input              {.}   without its extension
 *   {/}   its basename           {//}  its dirname
 *   {/.}  basename without extension
 *   {#}   the job's number (1, 2, ... in input order)
 *   {%}   its slot: from 1 to -j, the lowest no running job holds (known
 *         only as it starts: the command then runs through /bin/sh,
 *         which reads it from $ATB_SLOT, every word quoted)
 *   {N}   the N-th input of a job made of several (::: A ::: B), with the
 *         same modifiers: {2.} {1/} ...
 *
 * {} of a job with several inputs is all of them, space-separated. What
 * looks like a replacement string ('{', then only digits and ". / # %",
 * then '}') and is not one is refused, rather than passed on literally.
 * Other braces ({print $1},
 * and after a '$': ${HOME}, ${#1}) are left alone. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a replacement string takes of its input. */
enum part { WHOLE, NO_EXT, BASE, DIR, BASE_NO_EXT };

/* What kind of replacement string: an input's part, the job's number, or
 * its slot. */
enum { INPUT, SEQ, SLOT };

/* One replacement string at word[0] == '{': its length in *len, its kind,
 * and for an input the one it names in *pos (0: all) and the part; 0 when
 * it is one, 1 when it is not one at all (literal text), -1 when it looks
 * like one but is not (why in why). */
static int parse(const char *word, size_t *len, int *pos, enum part *part, int *kind,
                 const char **why)
{
    static const struct {
        const char *text;
        enum part part;
    } parts[] = {{"", WHOLE}, {".", NO_EXT}, {"/", BASE}, {"//", DIR}, {"/.", BASE_NO_EXT}};
    size_t n = strspn(word + 1, "0123456789./#%"), digits;

    if (word[1 + n] != '}')
        return 1;
    *len = n + 2;
    *kind = n == 1 && word[1] == '#' ? SEQ : n == 1 && word[1] == '%' ? SLOT : INPUT;
    if (*kind != INPUT)
        return 0;
    digits = strspn(word + 1, "0123456789");
    *pos = digits ? atoi(word + 1) : 0;
    if (digits && (*pos < 1 || digits > 6)) {
        *why = "inputs are numbered from 1";
        return -1;
    }
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (n - digits == strlen(parts[i].text) &&
            strncmp(word + 1 + digits, parts[i].text, n - digits) == 0) {
            *part = parts[i].part;
            return 0;
        }
    }
    *why = "use {} {.} {/} {//} {/.} {#} {%} or {N}";
    return -1;
}

/* The next '{' in word from p on that may start a replacement string: one
 * right after '$' opens a shell parameter (${#1}, ${HOME}) instead. */
static const char *next_brace(const char *word, const char *p)
{
    for (p = strchr(p, '{'); p && p > word && p[-1] == '$'; p = strchr(p + 1, '{'))
        ;
    return p;
}

int cmd_tmpl_check(char *const *words, int n, int ninputs, char *err, size_t size)
{
    for (int i = 0; i < n; i++) {
        for (const char *p = next_brace(words[i], words[i]); p; p = next_brace(words[i], p + 1)) {
            const char *why = NULL;
            enum part part;
            size_t len;
            int pos, kind, rc = parse(p, &len, &pos, &part, &kind, &why);

            if (rc == 0 && kind == INPUT && pos > ninputs) {
                snprintf(err, size, "'%.*s': there %s only %d input%s", (int)len, p,
                         ninputs == 1 ? "is" : "are", ninputs, ninputs == 1 ? "" : "s");
                return -1;
            }
            if (rc < 0) {
                snprintf(err, size, "unknown replacement string '%.*s' (%s)", (int)len, p, why);
                return -1;
            }
        }
    }
    return 0;
}

/* dirname(1) of in: a part of it, or "." or "/". */
static const char *dir_of(const char *in, size_t *len)
{
    const char *slash;

    while (*len > 1 && in[*len - 1] == '/')
        (*len)--;
    slash = memrchr(in, '/', *len);
    if (slash == NULL) {
        *len = 1;
        return ".";
    }
    *len = (size_t)(slash - in);
    while (*len > 1 && in[*len - 1] == '/')
        (*len)--;
    if (*len == 0) {
        *len = 1;
        return "/";
    }
    return in;
}

/* The part of one input: its start, and its length in *len. */
static const char *part_of(const char *in, size_t *len, enum part part)
{
    const char *slash = memrchr(in, '/', *len), *dot, *start = in;
    size_t end = *len;

    if (part == DIR)
        return dir_of(in, len);
    if (part == BASE || part == BASE_NO_EXT)
        start = slash ? slash + 1 : in;
    if (part == NO_EXT || part == BASE_NO_EXT) {
        dot = memrchr(in, '.', *len);
        if (dot && (!slash || dot > slash))
            end = (size_t)(dot - in);
    }
    *len = end - (size_t)(start - in);
    return start;
}

/* Where an expansion goes: out (NULL: only counted), and whether it is
 * shell text inside single quotes. */
struct sink {
    char *out;
    size_t used;
    int shell;
};

static void raw(struct sink *s, const char *p, size_t n)
{
    if (s->out)
        memcpy(s->out + s->used, p, n);
    s->used += n;
}

/* Text as it is, or for the shell, with each quote closed, escaped and
 * reopened. */
static void text(struct sink *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s->shell && p[i] == '\'')
            raw(s, "'\\''", 4);
        else
            raw(s, p + i, 1);
    }
}

static void expand(const char *word, const struct cmd_tmpl_job *job, struct sink *s)
{
    for (const char *p = word; *p;) {
        const char *why;
        enum part part;
        size_t len;
        int pos, kind;

        if (*p != '{' || (p > word && p[-1] == '$') ||
            parse(p, &len, &pos, &part, &kind, &why) != 0) {
            text(s, p++, 1);
            continue;
        }
        p += len;
        if (kind == SEQ) {
            char num[24];
            int n = snprintf(num, sizeof(num), "%lu", job->seq);
            raw(s, num, (size_t)n);
            continue;
        }
        if (kind == SLOT) {
            /* Known only when the command starts: the shell reads it. */
            raw(s, "'\"$" CMD_SLOT_VAR "\"'", sizeof(CMD_SLOT_VAR) + 4);
            continue;
        }
        for (int i = pos ? pos - 1 : 0; i < (pos ? pos : job->n); i++) {
            size_t n = job->lens[i];
            const char *start = part_of(job->inputs[i], &n, part);

            if (i > (pos ? pos - 1 : 0))
                raw(s, " ", 1);
            text(s, start, n);
        }
    }
}

char *cmd_tmpl_expand(const char *word, const struct cmd_tmpl_job *job)
{
    struct sink s = {NULL, 0, 0};

    expand(word, job, &s);
    s.out = malloc(s.used + 1);
    if (s.out == NULL)
        return NULL;
    s.used = 0;
    expand(word, job, &s);
    s.out[s.used] = '\0';
    return s.out;
}

char *cmd_tmpl_shell(char *const *words, int n, const struct cmd_tmpl_job *job)
{
    struct sink s = {NULL, 0, 1};

    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && (s.out = malloc(s.used + 1)) == NULL)
            return NULL;
        s.used = 0;
        raw(&s, "exec", 4);
        for (int i = 0; i < n; i++) {
            raw(&s, " '", 2);
            expand(words[i], job, &s);
            raw(&s, "'", 1);
        }
    }
    s.out[s.used] = '\0';
    return s.out;
}

const char *cmd_tmpl_label(const struct cmd_tmpl_job *job, char *buf, size_t size)
{
    size_t used = 0;

    for (int i = 0; i < job->n && used + 1 < size; i++) {
        if (i > 0)
            buf[used++] = ' ';
        for (size_t k = 0; k < job->lens[i] && used + 1 < size; k++) {
            unsigned char c = (unsigned char)job->inputs[i][k];
            buf[used++] = c < 0x20 || c == 0x7F ? '?' : (char)c;
        }
    }
    buf[used] = '\0';
    return used > 0 ? buf : NULL;
}

int cmd_tmpl_has(char *const *words, int n, int slot)
{
    for (int i = 0; i < n; i++) {
        for (const char *p = next_brace(words[i], words[i]); p; p = next_brace(words[i], p + 1)) {
            const char *why;
            enum part part;
            size_t len;
            int pos, kind;

            if (parse(p, &len, &pos, &part, &kind, &why) == 0 && (!slot || kind == SLOT))
                return 1;
        }
    }
    return 0;
}
