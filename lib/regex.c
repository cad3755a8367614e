/* regex: ready_when's expressions, compiled with a bound on their cost.
 *
 * glibc's regcomp() builds a tree in which every repetition is copied out
 * (x+ becomes xx*, x{3,5} five copies of x), and then works out which nodes
 * each node can reach without consuming input, which grows faster than the
 * tree where repetitions of things that may match nothing follow one
 * another. Nested or stacked repetitions multiply: a++++++++++++++++++++
 * takes 700 MiB to compile, ((a*)*){1000} over a second, and a 100-byte
 * pattern found by the fuzzer more memory than the machine has. A spec is
 * input, and bad input gets a message: so before regcomp() sees a pattern,
 * its tree is sized from the pattern alone (each atom once per copy, one
 * node per repetition, erring high) and refused past REGEX_NODES_MAX, which
 * keeps the worst case to some MiB and some tens of milliseconds; and
 * repetition operators in a row (a**, a+?), which POSIX leaves undefined and
 * which are what makes the tree deep, are refused too. A pattern regcomp()
 * rejects is still sized whole: it builds what comes before the error.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

/* Nodes the compiled tree may have. A readiness pattern has tens. */
#define REGEX_NODES_MAX 1000ULL
/* Groups nested deeper than this are refused too. */
#define REGEX_DEPTH_MAX 64

struct frame {
    unsigned long long total; /* atoms of the group before the last one */
    unsigned long long last;  /* the last atom, with its repetitions */
};

static unsigned long long cap(unsigned long long v)
{
    return v > REGEX_NODES_MAX ? REGEX_NODES_MAX + 1 : v;
}

/* Length of a bracket expression starting at p ('['), or 0 if it does not
 * end (regcomp says so). */
static size_t bracket_len(const char *p)
{
    size_t i = 1;

    if (p[i] == '^')
        i++;
    if (p[i] == ']')
        i++;
    while (p[i] != '\0' && p[i] != ']') {
        if (p[i] == '[' && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
            const char *end = strchr(p + i + 2, p[i + 1]);
            while (end != NULL && end[1] != ']')
                end = strchr(end + 1, p[i + 1]);
            if (end == NULL)
                return 0;
            i = (size_t)(end - p) + 2;
        } else {
            i++;
        }
    }
    return p[i] == ']' ? i + 1 : 0;
}

/* The copies an interval {m}, {m,}, {m,n} or {,n} at p makes, with its
 * length in *len; 0 when p is not an interval. */
static unsigned long long interval(const char *p, size_t *len)
{
    unsigned long long m = 0, n = 0;
    int comma = 0, have_n = 0;
    size_t i = 1;

    for (; p[i] >= '0' && p[i] <= '9'; i++)
        m = cap(m * 10 + (unsigned)(p[i] - '0'));
    if (p[i] == ',') {
        comma = 1;
        for (i++; p[i] >= '0' && p[i] <= '9'; i++, have_n = 1)
            n = cap(n * 10 + (unsigned)(p[i] - '0'));
    }
    if (p[i] != '}' || (i == 1))
        return 0;
    *len = i + 1;
    if (have_n)
        return n > m ? n : m;
    return comma ? m + 1 : m;
}

/* The copies the repetition operator at p makes (*, ?, +, or an interval;
 * {0} counts as one), with its length in *len; 0, with *len 1, when p does
 * not start one. Separate so that regex_size() reads as its walk. */
static unsigned long long repetition(const char *p, size_t *len)
{
    unsigned long long times = 0;

    *len = 1;
    switch (*p) {
    case '*':
    case '?':
        times = 1;
        break;
    case '+':
        times = 2;
        break;
    case '{':
        times = interval(p, len);
        if (times == 0 && *len > 1) /* {0}: no copy, one node all the same */
            times = 1;
        break;
    default:
        break;
    }
    if (times == 0)
        *len = 1;
    return times;
}

/* Length of the bracket expression or escape at p, which counts as one
 * atom; 0 with *why set when the escape is a back-reference. Separate so
 * that regex_size() reads as its walk. */
static size_t atom_len(const char *p, const char **why)
{
    size_t len;

    if (*p == '[') {
        /* Unterminated, regcomp reports it, but only after it has built
         * what comes before: that is still counted. */
        len = bracket_len(p);
        return len == 0 ? 1 : len;
    }
    /* glibc takes \1 to \9 as back-references even here, and
     * matching with them can take exponential time on a long line. */
    if (p[1] >= '1' && p[1] <= '9') {
        *why = "back-references (\\1 to \\9) are not part of POSIX extended "
               "expressions";
        return 0;
    }
    return p[1] != '\0' ? 2 : 1;
}

/* Folds the groups left open at the end of the pattern into their
 * parents, down to stack[0]: regcomp() rejects such a pattern, but it is
 * sized whole all the same (see the top of the file). Separate so that
 * regex_size() reads as its walk. */
static void close_open_groups(struct frame *stack, int depth)
{
    while (depth > 0) {
        unsigned long long group = cap(stack[depth].total + stack[depth].last);
        depth--;
        stack[depth].total = cap(stack[depth].total + stack[depth].last + group);
        stack[depth].last = 0;
    }
}

/* Sizes the tree regcomp() would build for p. Returns its node count
 * (more than REGEX_NODES_MAX if past it), or 0 with *why set when p has
 * repetition operators in a row. */
static unsigned long long regex_size(const char *p, const char **why)
{
    struct frame stack[REGEX_DEPTH_MAX + 1] = {{0, 0}};
    int depth = 0, repeated = 0;

    for (size_t i = 0; p[i] != '\0';) {
        struct frame *f = &stack[depth];
        size_t len;
        unsigned long long times = repetition(p + i, &len);

        if (times > 0 && f->last > 0) {
            if (repeated) {
                *why = "repetition operators in a row (such as a** or a+?) are undefined in "
                       "POSIX; use one";
                return 0;
            }
            /* The copies, and the node that repeats them. */
            f->last = cap(f->last * times + 1);
            repeated = 1;
            i += len;
            continue;
        }
        /* An atom, a group or a branch; a repetition with nothing before it
         * is taken as a literal. */
        repeated = 0;
        switch (p[i]) {
        case '(':
            if (depth == REGEX_DEPTH_MAX)
                return REGEX_NODES_MAX + 1;
            f->total = cap(f->total + f->last);
            f->last = 0;
            stack[++depth] = (struct frame){0, 0};
            break;
        case ')':
            if (depth > 0) {
                unsigned long long group = cap(f->total + f->last + 1);
                f = &stack[--depth];
                f->last = group;
                break;
            }
            f->total = cap(f->total + f->last);
            f->last = 1;
            break;
        case '|':
            f->total = cap(f->total + f->last + 1);
            f->last = 0;
            break;
        case '[':
        case '\\':
            len = atom_len(p + i, why);
            if (len == 0)
                return 0;
            f->total = cap(f->total + f->last);
            f->last = 1;
            break;
        default:
            f->total = cap(f->total + f->last);
            f->last = 1;
            break;
        }
        i += len;
    }
    close_open_groups(stack, depth);
    return cap(stack[0].total + stack[0].last);
}

int atb__regex_compile(regex_t *re, const char *pattern, char *why, size_t size)
{
    const char *reason = NULL;
    int rc;

    if (regex_size(pattern, &reason) > REGEX_NODES_MAX) {
        snprintf(why, size, "too large once compiled (repetitions multiply within each "
                            "other); simplify it");
        return -1;
    }
    if (reason != NULL) {
        snprintf(why, size, "%s", reason);
        return -1;
    }
    rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        regerror(rc, re, why, size);
        return -1;
    }
    return 0;
}
