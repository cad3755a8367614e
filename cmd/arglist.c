/* arglist: GNU parallel's argument lists in the argument form:
 *
 *   atb pool -j4 -- gzip -9 {} ::: a.log b.log c.log
 *   atb pool -- convert {1} -resize {2} {1/.}-{2}.png ::: a.jpg b.jpg ::: 50% 25%
 *   atb pool -- wget {} :::: urls.txt
 *
 * What precedes the first ':::' or '::::' is the template (see template.c);
 * each ':::' starts a list of the words after it, each '::::' one list per
 * file after it, one input a line. One command runs for every combination
 * of one input from each list, the first list varying slowest, as in GNU
 * parallel; each is named after its inputs. */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* At most this many lists, as GNU parallel's {N} rarely goes past a few. */
#define LISTS_MAX 16

struct list {
    char **items;
    size_t *lens;
    size_t n, cap;
    char *owned;        /* a file's contents, which items point into */
};

int cmd_arglist_at(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], ":::") == 0 || strcmp(argv[i], "::::") == 0)
            return i;
    return -1;
}

static int push(struct list *l, char *item, size_t len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **items = realloc(l->items, cap * sizeof(*items));
        size_t *lens = items ? realloc(l->lens, cap * sizeof(*lens)) : NULL;

        if (items)
            l->items = items;
        if (lens == NULL)
            return -ENOMEM;
        l->lens = lens;
        l->cap = cap;
    }
    l->items[l->n] = item;
    l->lens[l->n++] = len;
    return 0;
}

/* One list from a file: its lines (a last one without a newline counts).
 * Returns 0, or -1 after a message. */
static int read_list(const char *mode, const char *path, struct list *l)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
    size_t size = 0;
    char *p, *end;

    if (f == NULL) {
        cmd_err("%s: :::: cannot read '%s': %s", mode, path, strerror(errno));
        return -1;
    }
    {
        FILE *mem = open_memstream(&l->owned, &size);
        char buf[65536];
        size_t got;

        if (mem == NULL) {
            if (f != stdin)
                fclose(f);
            cmd_err("%s: %s", mode, strerror(ENOMEM));
            return -1;
        }
        while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
            fwrite(buf, 1, got, mem);
        if (ferror(f) || fclose(mem) != 0) {
            cmd_err("%s: :::: cannot read '%s': %s", mode, path, strerror(errno ? errno : EIO));
            if (f != stdin)
                fclose(f);
            return -1;
        }
    }
    if (f != stdin)
        fclose(f);
    for (p = l->owned; p < l->owned + size; p = end + 1) {
        end = memchr(p, '\n', (size_t)(l->owned + size - p));
        if (end == NULL)
            end = l->owned + size;
        *end = '\0';
        if (push(l, p, (size_t)(end - p)) < 0) {
            cmd_err("%s: %s", mode, strerror(ENOMEM));
            return -1;
        }
    }
    return 0;
}

/* The lists after the template, from argv[at] (a ':::' or '::::').
 * Returns how many, or -1 after a message. */
static int parse_lists(const char *mode, int argc, char **argv, int at, struct list *lists)
{
    int n = 0, files = 0;

    for (int i = at; i < argc; i++) {
        if (strcmp(argv[i], ":::") == 0 || strcmp(argv[i], "::::") == 0) {
            files = argv[i][3] == ':';
            if (i + 1 == argc || strcmp(argv[i + 1], ":::") == 0 ||
                strcmp(argv[i + 1], "::::") == 0) {
                cmd_err("%s: '%s' is followed by no %s", mode, argv[i],
                        files ? "file" : "input");
                return -1;
            }
            if (!files && n == LISTS_MAX) {
                cmd_err("%s: at most %d argument lists", mode, LISTS_MAX);
                return -1;
            }
            if (!files)
                n++;
            continue;
        }
        if (files) {
            if (n == LISTS_MAX) {
                cmd_err("%s: at most %d argument lists", mode, LISTS_MAX);
                return -1;
            }
            if (read_list(mode, argv[i], &lists[n++]) < 0)
                return -1;
        } else if (push(&lists[n - 1], argv[i], strlen(argv[i])) < 0) {
            cmd_err("%s: %s", mode, strerror(ENOMEM));
            return -1;
        }
    }
    return n;
}

/* Adds one command per combination. Returns 0, or -1 after a message. */
static int add_jobs(struct atb_run *run, const char *mode, char **tmpl, int argc,
                    struct list *lists, int n)
{
    const char *inputs[LISTS_MAX];
    size_t lens[LISTS_MAX], at[LISTS_MAX] = {0};
    struct cmd_tmpl_job job = {.inputs = inputs, .lens = lens, .n = n, .seq = 0};

    for (int i = 0; i < n; i++)
        if (lists[i].n == 0)
            return 0; /* an empty file: no combination */
    for (;;) {
        int k, rc;

        for (int i = 0; i < n; i++) {
            inputs[i] = lists[i].items[at[i]];
            lens[i] = lists[i].lens[at[i]];
        }
        job.seq++;
        rc = cmd_add_job(run, tmpl, argc, &job);
        if (rc < 0) {
            cmd_err("%s: %s", mode, atb_strerror(rc));
            return -1;
        }
        /* The next combination: the last list varies fastest. */
        for (k = n - 1; k >= 0 && ++at[k] == lists[k].n; k--)
            at[k] = 0;
        if (k < 0)
            return 0;
    }
}

int cmd_arglist_add(struct atb_run *run, const char *mode, const char *sep, int argc,
                    char **argv, int at)
{
    struct list lists[LISTS_MAX];
    char why[160];
    int n, rc = -1;

    memset(lists, 0, sizeof(lists));
    if (at == 0) {
        cmd_err("%s: '%s' needs a command before it", mode, argv[0]);
        return -1;
    }
    for (int i = 0; i < at; i++) {
        if (strcmp(argv[i], sep) == 0) {
            cmd_err("%s: '%s' before '%s': one command takes argument lists", mode, sep,
                    argv[at]);
            return -1;
        }
    }
    n = parse_lists(mode, argc, argv, at, lists);
    if (n > 0 && cmd_tmpl_check(argv, at, n, why, sizeof(why)) < 0) {
        cmd_err("%s: %s", mode, why);
    } else if (n > 0 && cmd_tmpl_has(argv, at, 1) &&
               atb_run_set_slot_env(run, CMD_SLOT_VAR) < 0) {
        cmd_err("%s: %s", mode, strerror(ENOMEM));
    } else if (n > 0) {
        /* Without a replacement string the inputs go at the end, as
         * with GNU parallel and xargs. */
        char *tmpl[at + LISTS_MAX], pos[LISTS_MAX][16];
        int words = at;

        memcpy(tmpl, argv, (size_t)at * sizeof(*tmpl));
        if (!cmd_tmpl_has(argv, at, 0)) {
            for (int i = 0; i < n; i++) {
                snprintf(pos[i], sizeof(pos[i]), "{%d}", i + 1);
                tmpl[words++] = pos[i];
            }
        }
        rc = add_jobs(run, mode, tmpl, words, lists, n);
    }
    for (int i = 0; i < LISTS_MAX; i++) {
        free(lists[i].items);
        free(lists[i].lens);
        free(lists[i].owned);
    }
    return rc;
}
