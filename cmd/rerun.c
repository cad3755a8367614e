/* rerun: --rerun-failed REPORT. Of the commands given, only those that did
 * not succeed in an earlier JSON report (report.c) run again, with what they
 * wait for (their wait_for, transitively: the services and commands they
 * need) and the cleanup commands; the rest are dropped from the run before
 * it starts (atb_run_drop()).
 *
 * The report must be of the same commands: the same names, and under each
 * name the same argv. Anything else is refused before anything starts, as
 * rerunning a different set under old names would be a guess.
 */
#include "rerun.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The most of a name or command line a message shows. */
#define SHOWN_MAX 60

/* One command of the report. */
struct entry {
    const char *name;
    const cJSON *argv;      /* an array of strings */
    const char *state;
    int seen;               /* a command of this run has its name */
};

struct report {
    const char *path;
    const char *who;
    cJSON *root;
    struct entry *e;        /* sorted by name */
    size_t n;
};

static void say(const struct report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "atb: WHO: --rerun-failed PATH: MESSAGE". */
static void say(const struct report *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cmd_err("%s: --rerun-failed %s: %s", r->who, r->path, msg);
}

/* s as a message shows it: control characters as '?', cut to SHOWN_MAX. */
static const char *shown(const char *s, char *buf, size_t size)
{
    size_t n = 0;

    for (; s[n] && n + 1 < size; n++)
        buf[n] = (unsigned char)s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n];
    buf[n] = '\0';
    if (n > SHOWN_MAX && size > SHOWN_MAX)
        strcpy(buf + SHOWN_MAX - 3, "...");
    return buf;
}

/* The file's text, NUL-terminated, at most ATB_SPEC_MAX_SIZE bytes.
 * Returns it (malloc'd) or NULL after a message. */
static char *slurp(const struct report *r, size_t *len)
{
    FILE *f = fopen(r->path, "re");
    size_t cap = 0, got;
    char *text = NULL, *more;
    int err = 0;

    *len = 0;
    if (f == NULL) {
        say(r, "%s", strerror(errno));
        return NULL;
    }
    for (;;) {
        if (*len + 1 >= cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > ATB_SPEC_MAX_SIZE + 1)
                cap = ATB_SPEC_MAX_SIZE + 1;
            if (*len + 1 >= cap) {
                err = EFBIG;
                break;
            }
            if ((more = realloc(text, cap)) == NULL) {
                err = ENOMEM;
                break;
            }
            text = more;
        }
        got = fread(text + *len, 1, cap - *len - 1, f);
        *len += got;
        if (got == 0 || feof(f) || ferror(f))
            break;
    }
    if (err == 0 && ferror(f))
        err = errno ? errno : EIO;
    fclose(f);
    if (err != 0) {
        say(r, "%s", strerror(err));
        free(text);
        return NULL;
    }
    text[*len] = '\0';
    return text;
}

/* The report's JSON tree, or NULL after a message. A syntax error is told
 * as atb tells one in a spec, with its line and column. */
static cJSON *parse(const struct report *r, const char *text, size_t len)
{
    /* cJSON does not skip a byte order mark (spec.c does the same). */
    size_t bom = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text + bom, len - bom, &end, 0);
    struct atb_spec *spec = NULL;
    struct atb_error err;
    char msg[600];

    if (root != NULL && end != NULL && end[strspn(end, " \t\r\n")] == '\0')
        return root;
    cJSON_Delete(root);
    /* The spec's reader checks JSON syntax first, and a syntax error is
     * the one it reports without a JSON path. */
    if (atb_spec_parse(text, len, NULL, &spec, &err) == ATB_ESPEC && err.path[0] == '\0')
        cmd_err("%s: --rerun-failed %s", r->who, atb_spec_message(&err, r->path, msg, sizeof(msg)));
    else
        say(r, "not valid JSON");
    atb_spec_free(spec);
    return NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static struct entry *find(const struct report *r, const char *name)
{
    struct entry key = {name, NULL, NULL, 0};

    return r->n ? bsearch(&key, r->e, r->n, sizeof(*r->e), by_name) : NULL;
}

/* Takes the entries of one array of the report (key: "commands", or
 * "not_rerun", which may be absent) into r->e. Returns 0, or -1 after a
 * message. */
static int take(struct report *r, const char *key)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(r->root, key), *c;
    size_t i = 0;

    cJSON_ArrayForEach(c, list) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
        const cJSON *argv = cJSON_GetObjectItemCaseSensitive(c, "argv");
        const cJSON *state = cJSON_GetObjectItemCaseSensitive(c, "state"), *w;
        int words = cJSON_IsArray(argv) && cJSON_GetArraySize(argv) > 0;

        cJSON_ArrayForEach(w, argv) {
            words = words && cJSON_IsString(w);
        }
        if (!cJSON_IsString(name) || !words || !cJSON_IsString(state)) {
            say(r, "not an atb report (%s[%zu] lacks a name, an argv or a state)", key, i);
            return -1;
        }
        r->e[r->n++] = (struct entry){name->valuestring, argv, state->valuestring, 0};
        i++;
    }
    return 0;
}

/* Takes the report's commands, those it ran and those a rerun left out,
 * into r->e, sorted by name. Returns 0, or -1 after a message. */
static int index_report(struct report *r)
{
    const cJSON *cmds = cJSON_GetObjectItemCaseSensitive(r->root, "commands");
    const cJSON *left = cJSON_GetObjectItemCaseSensitive(r->root, "not_rerun");
    char q[SHOWN_MAX + 8];

    if (!cJSON_IsObject(r->root) || !cJSON_IsArray(cmds) || (left && !cJSON_IsArray(left))) {
        say(r, "not an atb report (no \"commands\" array)");
        return -1;
    }
    r->e = calloc((size_t)cJSON_GetArraySize(cmds) + (size_t)cJSON_GetArraySize(left) + 1,
                  sizeof(*r->e));
    if (r->e == NULL) {
        say(r, "%s", strerror(ENOMEM));
        return -1;
    }
    if (take(r, "commands") < 0 || take(r, "not_rerun") < 0)
        return -1;
    qsort(r->e, r->n, sizeof(*r->e), by_name);
    for (size_t i = 1; i < r->n; i++) {
        if (strcmp(r->e[i - 1].name, r->e[i].name) == 0) {
            say(r, "not an atb report (it lists '%s' twice)", shown(r->e[i].name, q, sizeof(q)));
            return -1;
        }
    }
    return 0;
}

/* Whether the report's argv is argv; if not, its words in *there
 * (malloc'd, NULL-terminated, borrowing the report's strings). */
static int same_argv(const cJSON *words, char *const *argv, char ***there)
{
    size_t n = (size_t)cJSON_GetArraySize(words), k = 0;
    const cJSON *w;
    int same = 1;

    *there = NULL;
    cJSON_ArrayForEach(w, words) {
        same = same && argv[k] != NULL && strcmp(argv[k], w->valuestring) == 0;
        k += argv[k] != NULL;
    }
    if (same && argv[k] == NULL)
        return 1;
    if ((*there = calloc(n + 1, sizeof(**there))) != NULL) {
        k = 0;
        cJSON_ArrayForEach(w, words) {
            (*there)[k++] = w->valuestring;
        }
    }
    return 0;
}

/* Checks that the report is of this run's commands, and marks in failed
 * (by id) the main commands that did not succeed there. Returns how many
 * work commands did not, or -1 after a message. */
static long match(const struct report *r, const struct atb_run *run, unsigned char *failed)
{
    char q[SHOWN_MAX + 8], a[CMD_LINE_SHOWN * 4], b[CMD_LINE_SHOWN * 4];
    long nfailed = 0;

    for (int id = 0; id < (int)atb_run_count(run); id++) {
        const struct atb_result *res = atb_run_result(run, id);
        struct entry *e = res ? find(r, res->name) : NULL;
        char **there;

        if (res == NULL)
            continue;
        if (e == NULL) {
            say(r, "the report has no command named '%s'", shown(res->name, q, sizeof(q)));
            return -1;
        }
        if (!same_argv(e->argv, res->argv, &there)) {
            say(r, "command '%s' ran '%s' there, '%s' here", shown(res->name, q, sizeof(q)),
                there ? cmd_line_shown(there, a, sizeof(a)) : "?", cmd_line_shown(res->argv, b, sizeof(b)));
            free(there);
            return -1;
        }
        e->seen = 1;
        failed[id] = strcmp(e->state, "succeeded") != 0;
        nfailed += failed[id] && !res->service && !res->cleanup;
    }
    for (size_t i = 0; i < r->n; i++) {
        if (!r->e[i].seen) {
            say(r, "the report lists '%s', which this run does not have",
                shown(r->e[i].name, q, sizeof(q)));
            return -1;
        }
    }
    return nfailed;
}

/* keep: the work commands that failed and every cleanup command; then,
 * through a stack, everything they wait for, transitively. Returns 0 or
 * -ENOMEM. */
static int closure(const struct atb_run *run, const unsigned char *failed, unsigned char *keep)
{
    int n = (int)atb_run_count(run), top = 0, dep;
    int *stack = malloc(((size_t)n + 1) * sizeof(*stack));

    if (stack == NULL)
        return -ENOMEM;
    for (int id = 0; id < n; id++) {
        const struct atb_result *res = atb_run_result(run, id);

        keep[id] = res && (res->cleanup || (!res->service && failed[id]));
        if (keep[id])
            stack[top++] = id;
    }
    while (top > 0) {
        int id = stack[--top];

        for (size_t k = 0; (dep = atb_run_wait_for(run, id, k)) >= 0; k++) {
            if (!keep[dep]) {
                keep[dep] = 1;
                stack[top++] = dep;
            }
        }
    }
    free(stack);
    return 0;
}

/* Drops every command not kept, each only once nothing left waits for it:
 * waiters[id] counts the dropped commands that wait for id, and a command
 * is dropped once its count is 0 (what is kept never waits for what is
 * not). Returns 0 or a negative code. */
static int drop_rest(struct atb_run *run, const unsigned char *keep)
{
    int n = (int)atb_run_count(run), top = 0, dep, rc = 0;
    int *waiters = calloc((size_t)n + 1, sizeof(int)), *ready = calloc((size_t)n + 1, sizeof(int));

    if (waiters == NULL || ready == NULL)
        rc = -ENOMEM;
    for (int id = 0; id < n && rc == 0; id++)
        for (size_t k = 0; !keep[id] && (dep = atb_run_wait_for(run, id, k)) >= 0; k++)
            waiters[dep]++;
    for (int id = 0; id < n && rc == 0; id++)
        if (!keep[id] && atb_run_result(run, id) != NULL && waiters[id] == 0)
            ready[top++] = id;
    while (top > 0 && rc == 0) {
        int id = ready[--top];

        for (size_t k = 0; (dep = atb_run_wait_for(run, id, k)) >= 0; k++)
            if (--waiters[dep] == 0 && !keep[dep])
                ready[top++] = dep;
        rc = atb_run_drop(run, id);
    }
    free(waiters);
    free(ready);
    return rc;
}

/* The commands this run leaves out, as the report it read had them, for
 * the run's own report (cmd_rerun_report()). The program runs one run. */
static cJSON *not_rerun;

/* One command left out: its name, argv and state in the report read. */
static cJSON *left_out(const struct entry *e)
{
    cJSON *o = cJSON_CreateObject(), *argv = cJSON_Duplicate(e->argv, 1);

    if (o == NULL || argv == NULL || cJSON_AddStringToObject(o, "name", e->name) == NULL ||
        !cJSON_AddItemToObject(o, "argv", argv)) {
        cJSON_Delete(o);
        cJSON_Delete(argv);
        return NULL;
    }
    if (cJSON_AddStringToObject(o, "state", e->state) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Notes every command not kept in not_rerun. Returns 0 or -ENOMEM. */
static int note_left_out(const struct report *r, const struct atb_run *run,
                         const unsigned char *keep)
{
    cJSON *list = cJSON_CreateArray();

    for (int id = 0; list && id < (int)atb_run_count(run); id++) {
        const struct atb_result *res = atb_run_result(run, id);
        cJSON *o = res && !keep[id] ? left_out(find(r, res->name)) : NULL;

        if (o != NULL && !cJSON_AddItemToArray(list, o)) {
            cJSON_Delete(o);
            o = NULL;
        }
        if (res && !keep[id] && o == NULL) {
            cJSON_Delete(list);
            list = NULL;
        }
    }
    if (list == NULL)
        return -ENOMEM;
    cJSON_Delete(not_rerun);
    not_rerun = list;
    return 0;
}

int cmd_rerun_report(struct cJSON *root)
{
    cJSON *copy;

    if (not_rerun == NULL)
        return 0;
    copy = cJSON_Duplicate(not_rerun, 1);
    if (copy == NULL || !cJSON_AddItemToObject(root, "not_rerun", copy)) {
        cJSON_Delete(copy);
        return -ENOMEM;
    }
    return 0;
}

/* The report is read and matched: keeps what is to run again. Returns as
 * cmd_rerun_failed(). */
static int rerun(struct report *r, struct atb_run *run)
{
    size_t n = atb_run_count(run) + 1;
    unsigned char *failed = calloc(n, 1), *keep = calloc(n, 1);
    long nfailed;
    int rc = -1;

    if (failed == NULL || keep == NULL) {
        say(r, "%s", strerror(ENOMEM));
        goto out;
    }
    nfailed = match(r, run, failed);
    if (nfailed == 0) {
        cmd_err("--rerun-failed %s: nothing failed there; nothing to run", r->path);
        rc = 1;
    } else if (nfailed > 0) {
        int err = closure(run, failed, keep);

        if (err == 0)
            err = note_left_out(r, run, keep);
        if (err == 0)
            err = drop_rest(run, keep);
        if (err < 0)
            say(r, "%s", atb_strerror(err));
        rc = err < 0 ? -1 : 0;
    }
out:
    free(failed);
    free(keep);
    return rc;
}

int cmd_rerun_failed(struct atb_run *run, const char *path, const char *who, int fed)
{
    struct report r = {path, who, NULL, NULL, 0};
    char *text;
    size_t len;
    int rc = -1;

    if (path == NULL)
        return 0;
    if (fed) {
        say(&r, "the commands must be known before the run; it does not go with --stdin");
        return -1;
    }
    text = slurp(&r, &len);
    if (text == NULL)
        return -1;
    r.root = parse(&r, text, len);
    /* A run the validator refuses is not started anyway: the start says
     * why, as it would without this option. */
    if (r.root != NULL && index_report(&r) == 0)
        rc = atb_run_check(run, NULL) < 0 ? 0 : rerun(&r, run);
    cJSON_Delete(r.root);
    free(r.e);
    free(text);
    return rc;
}
