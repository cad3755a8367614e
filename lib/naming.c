/* naming: the names of a run's commands. A command without one is named
 * after its program (its basename), or for a shell command after the start
 * of its line (see atb_name_default()), and made unique with "#2", "#3"...
 * Given names are reserved as they are added, so a default never takes a
 * name the caller chose for a later command.
 */
#include "engine.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The most characters a shell command's default name keeps, before any
 * "#N": enough for two words, short enough for a prefix. */
#define NAME_WIDTH 24

/* A default name as it is written: into buf while it has room (buf may be
 * NULL with size 0), len counting every byte all the same. Characters are
 * counted in UTF-8 (a lead byte and up to three continuation bytes), so
 * that the name is cut at max_chars on a character boundary; C0 control
 * characters and DEL are written as '?'. */
struct name_out {
    char *buf;
    size_t size, len;
    size_t chars, max_chars;
    unsigned cont;
    int full;
};

static void put(struct name_out *o, unsigned char c)
{
    if (o->full)
        return;
    if ((c & 0xC0) != 0x80 || o->cont == 3) {
        if (o->chars == o->max_chars) {
            o->full = 1;
            return;
        }
        o->chars++;
        o->cont = 0;
    } else {
        o->cont++;
    }
    if (c < 0x20 || c == 0x7F)
        c = '?';
    if (o->len + 1 < o->size)
        o->buf[o->len] = (char)c;
    o->len++;
}

static void put_end(struct name_out *o)
{
    if (o->size > 0)
        o->buf[o->len < o->size ? o->len : o->size - 1] = '\0';
}

/* ---- shell lines ----
 * Just enough of sh(1)'s syntax to find a line's first words and what they
 * stand for: quotes are taken off, a backslash keeps the byte after it (and
 * with a newline, is nothing), "$(...)" and "`...`" are kept whole. */

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int is_operator(unsigned char c)
{
    return c != '\0' && strchr(";&|<>()\n", c) != NULL;
}

/* Where a word is read: quote is 0, '\'', '"' or '`'; depth counts the
 * parentheses of a "$(" not closed yet; pending is a byte to give before
 * reading on (the '(' of "$("). */
struct word_lex {
    const char *p;
    char quote;
    unsigned char pending;
    unsigned depth;
};

enum { W_END = -1, W_NOTHING = -2 };

/* Reads one piece of the word at l->p and returns the byte it stands for,
 * W_NOTHING for a piece that stands for none (a quote character, a
 * backslash and newline), or W_END at the end of the word. */
static int word_step(struct word_lex *l)
{
    unsigned char c = (unsigned char)*l->p;

    if (l->pending) {
        c = l->pending;
        l->pending = 0;
        return c;
    }
    if (c == '\0' || (l->depth == 0 && l->quote == 0 && (is_blank(c) || is_operator(c))))
        return W_END;
    l->p++;
    if (l->depth > 0) {
        if (c == '(')
            l->depth++;
        else if (c == ')')
            l->depth--;
        return c;
    }
    if (l->quote == '`') {
        if (c == '`')
            l->quote = 0;
        return c;
    }
    if (l->quote == '\'') {
        if (c != '\'')
            return c;
        l->quote = 0;
        return W_NOTHING;
    }
    /* Between double quotes a backslash quotes only $ ` " \ and newline. */
    if (c == '\\' && (l->quote == 0 || (*l->p != '\0' && strchr("$`\"\\\n", *l->p)))) {
        c = (unsigned char)*l->p;
        if (c == '\0')
            return W_NOTHING;
        l->p++;
        return c == '\n' ? W_NOTHING : c;
    }
    if (c == '$' && *l->p == '(') {
        l->p++;
        l->pending = '(';
        l->depth = 1;
        return c;
    }
    if (c == '"' || (c == '\'' && l->quote == 0)) {
        l->quote = l->quote == (char)c ? 0 : (char)c;
        return W_NOTHING;
    }
    if (c == '`' && l->quote == 0)
        l->quote = '`';
    return c;
}

/* Skips blanks and line continuations. */
static const char *skip_blanks(const char *p)
{
    for (;;) {
        if (is_blank((unsigned char)*p))
            p++;
        else if (p[0] == '\\' && p[1] == '\n')
            p += 2;
        else
            return p;
    }
}

/* Finds the next word of the command at *p (its start in *start) and moves
 * *p past it. Returns 0 at the command's end: the line's, an operator's or
 * a comment's. */
static int next_word(const char **p, const char **start)
{
    const char *s = skip_blanks(*p);
    struct word_lex l = {.p = s};

    if (*s == '\0' || *s == '#' || is_operator((unsigned char)*s))
        return 0;
    while (word_step(&l) != W_END)
        ;
    *start = s;
    *p = l.p;
    return 1;
}

/* "NAME=value": a variable set for the command that follows. */
static int is_assignment(const char *w)
{
    const char *p = w;

    while (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
           (p > w && *p >= '0' && *p <= '9'))
        p++;
    return p > w && *p == '=';
}

/* A word of a line, and which of the bytes it stands for go into the name
 * (from up to to). */
struct word {
    const char *start;
    size_t from, to;
};

/* Sets the part of w a name keeps: all of it, or with basename set what
 * follows its last '/', trailing slashes dropped ("./bin/test" -> "test",
 * "dir/" -> "dir", "//" -> "/"). Slashes inside "$(...)" or "`...`" do not
 * count. */
static void word_range(struct word *w, int basename)
{
    struct word_lex l = {.p = w->start};
    size_t k = 0, after_slash = 0;
    int b, slash = 0;

    w->from = w->to = 0;
    while ((b = word_step(&l)) != W_END) {
        if (b == W_NOTHING)
            continue;
        if (basename && b == '/' && l.depth == 0 && l.quote != '`') {
            after_slash = k + 1;
            slash = 1;
        } else {
            if (slash)
                w->from = after_slash;
            slash = 0;
            w->to = k + 1;
        }
        k++;
    }
    /* Only slashes: as basename(1) has it, "/". */
    if (w->to == 0 && k > 0)
        w->to = 1;
}

static void put_word(struct name_out *o, const struct word *w)
{
    struct word_lex l = {.p = w->start};
    size_t k = 0;
    int b;

    while ((b = word_step(&l)) != W_END) {
        if (b == W_NOTHING)
            continue;
        if (k >= w->from && k < w->to)
            put(o, (unsigned char)b);
        k++;
    }
}

/* Writes the first two words of a shell line into o (see
 * atb_name_default()). */
static void shell_name(const char *line, struct name_out *o)
{
    struct word words[2];
    const char *p = line, *ahead, *unused;
    int n = 0;

    /* Blank lines, comments and an opening '(' come before the first word. */
    for (;;) {
        p = skip_blanks(p);
        if (*p == '\n' || *p == '(')
            p++;
        else if (*p == '#')
            p += strcspn(p, "\n");
        else
            break;
    }
    while (n < 2 && next_word(&p, &words[n].start)) {
        /* A word that stands for nothing ("") is left out, and so are
         * assignments before the first word. */
        word_range(&words[n], n == 0 || words[n].start[0] != '-');
        if (words[n].from == words[n].to)
            continue;
        ahead = p;
        if (n == 0 && is_assignment(words[0].start) && next_word(&ahead, &unused))
            continue;
        n++;
    }
    for (int i = 0; i < n; i++) {
        if (i > 0)
            put(o, ' ');
        put_word(o, &words[i]);
    }
}

/* A shell line's default name is the first two words of its first command.
 * Words end at blanks and at the operators ; & | < > ( ) and newline, so
 * "sleep 1; echo hi" gives "sleep 1" and "cd x && make" "cd x". Blank
 * lines, comments and a '(' before the first word are skipped, and so are
 * "NAME=value" assignments ("FOO=1 make test" gives "make test"). Quotes
 * are taken off; "$(...)" and "`...`" stay whole. The first word, and a
 * second that is not an option (starting with '-'), are cut to their
 * basename ("./bin/test -v" gives "test -v", "python3 ci/run.py" gives
 * "python3 run.py"). The whole is cut to 24 characters, on a UTF-8
 * character boundary, without a trailing blank. In any default name
 * control characters become '?', and an empty one is "cmd". */
size_t atb_name_default(const char *program, int shell, char *buf, size_t size)
{
    char line[NAME_WIDTH * 4 + 1];
    struct name_out o = {.buf = line, .size = sizeof(line), .max_chars = NAME_WIDTH, .cont = 3};
    const char *start = program, *end, *slash;

    if (shell) {
        /* At most NAME_WIDTH characters of 4 bytes: all of it is in line. */
        shell_name(program, &o);
        while (o.len > 0 && line[o.len - 1] == ' ')
            o.len--;
        line[o.len] = '\0';
        start = line + strspn(line, " ");
        end = line + o.len;
    } else {
        /* Its basename: "./bin/test" -> "test"; "dir/" keeps "dir". */
        end = start + strlen(start);
        while (end > start + 1 && end[-1] == '/')
            end--;
        for (slash = end; slash > start && slash[-1] != '/'; slash--)
            ;
        start = slash;
    }
    if (end == start) {
        start = "cmd";
        end = start + 3;
    }
    o = (struct name_out){.buf = buf, .size = size, .max_chars = SIZE_MAX, .cont = 3};
    while (start < end)
        put(&o, (unsigned char)*start++);
    put_end(&o);
    return o.len;
}

/* Gives cmd its default name, or the first free "name#N": each default name
 * (base) remembers the N it got to, so a thousand "sleep"s cost no more each
 * than the first.
 *
 * A fed run frees the commands that succeeded, and its defaults come from
 * its inputs, so a base is kept only while a command with it is held (aux
 * counts them): a million distinct lines cost what a few do. A base let go
 * goes into a Bloom filter; one that comes back (or seems to: the filter
 * can be wrong that way, never the other) cannot know the N it got to, so
 * its N starts past every id given so far, which no "#N" of it reached. */
int atb__name_unique(struct atb_run *run, struct atb__cmd *cmd)
{
    size_t base = strlen(cmd->name);
    struct atb__name_slot *b = atb__names_slot(&run->bases, cmd->name);
    unsigned long k;
    int rc;

    if (b == NULL) {
        int gone = atb__bloom_maybe(&run->gone_bases, cmd->name);

        rc = atb__names_add(&run->bases, cmd->name);
        if (rc < 0)
            return rc;
        b = atb__names_slot(&run->bases, cmd->name);
        k = 2;
        if (gone) {
            k = (unsigned long)run->next_id + 2;
            sprintf(cmd->name + base, "#%lu", k++);
        }
    } else {
        /* Seen before: never the bare name again, even if the command that
         * had it was freed (a feed), so names stay unique over the run. */
        k = b->value;
        sprintf(cmd->name + base, "#%lu", k++);
    }
    for (; atb__name_taken(run, cmd->name); k++)
        sprintf(cmd->name + base, "#%lu", k);
    b->value = k;
    rc = atb__names_add(&run->names, cmd->name);
    if (rc == 0) {
        cmd->named = 1;
        cmd->base_len = base;
        b->aux++;
        *atb__names_value(&run->names, cmd->name) = (unsigned long)cmd->res.id + 1;
    }
    return rc;
}

int atb__names_assign(struct atb_run *run)
{
    for (size_t i = 0; i < run->n; i++) {
        int rc = run->cmds[i]->named ? 0 : atb__name_unique(run, run->cmds[i]);
        if (rc < 0)
            return rc;
    }
    run->named = 1;
    return 0;
}

int atb__name_taken(const struct atb_run *run, const char *name)
{
    return atb__names_has(&run->names, name) || atb__names_has(&run->retired, name);
}

/* cmd, named after a base, is freed: the base goes once no command held
 * has it, into the filter of bases let go. Kept when the filter cannot be
 * made (no memory): a base is never forgotten without a trace. */
static void base_release(struct atb_run *run, struct atb__cmd *cmd)
{
    char cut = cmd->name[cmd->base_len];
    struct atb__name_slot *b;

    cmd->name[cmd->base_len] = '\0';
    b = atb__names_slot(&run->bases, cmd->name);
    if (b != NULL && b->aux > 0 && --b->aux == 0 &&
        atb__bloom_add(&run->gone_bases, cmd->name) == 0)
        atb__names_del(&run->bases, cmd->name);
    cmd->name[cmd->base_len] = cut;
    cmd->base_len = 0;
}

/* Default names need no keeping: each base's "#N" only grows, so a freed
 * "true#7" is never handed out again. */
int atb__name_retire(struct atb_run *run, struct atb__cmd *cmd)
{
    int rc = cmd->given ? atb__names_add(&run->retired, cmd->name) : 0;

    if (rc < 0 && rc != -EEXIST)
        return rc; /* the command is kept, and its name with it */
    atb__names_del(&run->names, cmd->name);
    if (!cmd->given && cmd->base_len > 0)
        base_release(run, cmd);
    return 0;
}
