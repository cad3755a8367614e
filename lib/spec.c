/* spec: a run described in JSON -> run settings and commands (atb-spec(5)).
 *
 * Two passes over the text. spec-json.c checks the syntax strictly and says
 * where and what; then cJSON builds the tree, and the walk here checks it
 * against the schema and names the JSON path of the first problem. The
 * commands point into the cJSON tree, which the spec keeps until it is
 * freed.
 *
 * Messages quote the user's text only in bounded, escaped pieces, so neither
 * a huge key nor a terminal escape sequence in a spec reaches a terminal.
 */
#include "internal.h"
#include "atb/spec.h"
#include "spec-json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHOW_MAX 40        /* bytes of the user's text quoted in a message */
#define SHOW_BUF (SHOW_MAX * 4 + 8)
#define MAX_PATH_DEPTH 6   /* commands[1].env.NAME is 4 */

struct atb_spec {
    struct atb_opts opts;
    struct atb_cmd *cmds;  /* ncmds; argv, env and cwd are owned here, the
                              strings they point to belong to root */
    size_t ncmds;
    cJSON *root;
};

/* A bounded string builder: len counts what did fit; what does not is cut. */
struct out {
    char *buf;
    size_t size, len;
};

static void out_init(struct out *o, char *buf, size_t size)
{
    o->buf = buf;
    o->size = size;
    o->len = 0;
    buf[0] = '\0';
}

static void out_add(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_vadd(struct out *o, const char *fmt, va_list ap)
{
    int n;

    if (o->len + 1 >= o->size)
        return;
    n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
    if (n < 0)
        return;
    o->len += (size_t)n < o->size - o->len ? (size_t)n : o->size - o->len - 1;
}

static void out_add(struct out *o, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    out_vadd(o, fmt, ap);
    va_end(ap);
}

/* Appends the user's text s between quote characters: at most SHOW_MAX
 * bytes of it, control characters, the quote and backslashes escaped. s is
 * valid UTF-8 (the syntax check saw to it) and is cut between characters. */
static void add_quoted(struct out *o, const char *s, char quote)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);

    out_add(o, "%c", quote);
    while (p < end) {
        size_t n = atb__utf8_len(p, end, NULL);

        if (p - (const unsigned char *)s >= SHOW_MAX) {
            out_add(o, "...");
            break;
        }
        if (n == 0)
            n = 1;
        if (*p < 0x20 || *p == 0x7F)
            out_add(o, "\\x%02x", *p);
        else if (*p == (unsigned char)quote || *p == '\\')
            out_add(o, "\\%c", *p);
        else
            out_add(o, "%.*s", (int)n, (const char *)p);
        p += n;
    }
    out_add(o, "%c", quote);
}

/* The user's text s as 'text', for a message. */
static const char *shown(char *buf, size_t size, const char *s)
{
    struct out o;

    out_init(&o, buf, size);
    add_quoted(&o, s, '\'');
    return buf;
}

struct seg {
    const char *key; /* NULL: an array index */
    size_t index;
};

struct walk {
    struct atb_spec *spec;
    struct atb_spec_error *err;
    const char *origin;
    const char *base_dir;
    struct seg path[MAX_PATH_DEPTH];
    int depth;
    struct atb__names names;  /* the names given so far */
    size_t nmain;             /* commands before the cleanup ones */
};

static void push_key(struct walk *w, const char *key)
{
    if (w->depth < MAX_PATH_DEPTH)
        w->path[w->depth].key = key;
    w->depth++;
}

static void push_index(struct walk *w, size_t index)
{
    if (w->depth < MAX_PATH_DEPTH) {
        w->path[w->depth].key = NULL;
        w->path[w->depth].index = index;
    }
    w->depth++;
}

static void pop(struct walk *w)
{
    w->depth--;
}

/* Keys written .key in a path; others are written ["key"]. */
static int is_ident(const char *key)
{
    if (*key == '\0' || (*key >= '0' && *key <= '9'))
        return 0;
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

/* Writes a JSON path: commands[2].env.CI, commands[0].env["A B"]. */
static void format_path(const struct seg *segs, int n, char *buf, size_t size)
{
    struct out o;

    out_init(&o, buf, size);
    for (int i = 0; i < n && i < MAX_PATH_DEPTH; i++) {
        const char *key = segs[i].key;

        if (key == NULL) {
            out_add(&o, "[%zu]", segs[i].index);
        } else if (is_ident(key) && strlen(key) <= SHOW_MAX) {
            out_add(&o, "%s%s", i > 0 ? "." : "", key);
        } else {
            out_add(&o, "[");
            add_quoted(&o, key, '"');
            out_add(&o, "]");
        }
    }
}

static void fill_error(struct atb_spec_error *e, const char *origin, const char *path,
                       size_t line, size_t col, const char *msg)
{
    struct out o;

    e->line = (unsigned)(line > UINT_MAX ? UINT_MAX : line);
    e->col = (unsigned)(col > UINT_MAX ? UINT_MAX : col);
    out_init(&o, e->path, sizeof(e->path));
    out_add(&o, "%s", path);
    out_init(&o, e->message, sizeof(e->message));
    out_add(&o, "%s", msg);
    out_init(&o, e->text, sizeof(e->text));
    out_add(&o, "%s", origin);
    if (line > 0)
        out_add(&o, ":%zu:%zu", line, col);
    if (*path)
        out_add(&o, ": %s", path);
    out_add(&o, ": %s", msg);
}

static int fail(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports a schema error at the current path. Returns ATB_ESPEC. */
static int fail(struct walk *w, const char *fmt, ...)
{
    char path[sizeof(w->err->path)], msg[sizeof(w->err->message)];
    va_list ap;

    format_path(w->path, w->depth, path, sizeof(path));
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fill_error(w->err, w->origin, path, 0, 0, msg);
    return ATB_ESPEC;
}

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? "true" : "false";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsArray(v))
        return "an array";
    return "an object";
}

static int get_bool(struct walk *w, const cJSON *v, int *out)
{
    if (!cJSON_IsBool(v))
        return fail(w, "expected true or false, got %s", type_name(v));
    *out = cJSON_IsTrue(v);
    return 0;
}

/* A string from a list of names; *out is its index. */
static int get_choice(struct walk *w, const cJSON *v, const char *const *names, size_t n,
                      const char *what, int *out)
{
    char q[SHOW_BUF];
    struct out list;
    char text[128];

    out_init(&list, text, sizeof(text));
    for (size_t i = 0; i < n; i++)
        out_add(&list, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
    if (!cJSON_IsString(v))
        return fail(w, "expected %s, got %s", text, type_name(v));
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v->valuestring, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    return fail(w, "unknown %s %s (use %s)", what, shown(q, sizeof(q), v->valuestring),
                text);
}

/* A duration: a string for atb_duration_parse(), or a number of seconds. */
static int get_duration(struct walk *w, const cJSON *v, double *out)
{
    char q[SHOW_BUF];

    if (cJSON_IsNumber(v)) {
        if (!isfinite(v->valuedouble) || v->valuedouble < 0 || v->valuedouble > 1e9)
            return fail(w, "expected a duration of 0 seconds or more, got %g",
                        v->valuedouble);
        *out = v->valuedouble;
        return 0;
    }
    if (!cJSON_IsString(v))
        return fail(w, "expected a duration such as \"5s\", got %s", type_name(v));
    if (atb_duration_parse(v->valuestring, out) < 0)
        return fail(w, "invalid duration %s (use e.g. \"10\", \"1.5s\", \"250ms\", "
                    "\"2m\", \"1h\")",
                    shown(q, sizeof(q), v->valuestring));
    return 0;
}

/* A signal: a name for atb_signal_parse(), or its number. */
static int get_signal(struct walk *w, const cJSON *v, int *out)
{
    char q[SHOW_BUF], num[16];
    double d = v->valuedouble;

    if (cJSON_IsNumber(v)) {
        if (d == floor(d) && d >= 1 && d <= 64) {
            snprintf(num, sizeof(num), "%d", (int)d);
            if (atb_signal_parse(num, out) == 0)
                return 0;
        }
        return fail(w, "unknown signal %g", d);
    }
    if (!cJSON_IsString(v))
        return fail(w, "expected a signal name such as \"TERM\", got %s", type_name(v));
    if (atb_signal_parse(v->valuestring, out) < 0)
        return fail(w, "unknown signal %s", shown(q, sizeof(q), v->valuestring));
    return 0;
}

static int get_jobs(struct walk *w, const cJSON *v, unsigned *out)
{
    if (!cJSON_IsNumber(v))
        return fail(w, "expected a whole number (0: no limit), got %s", type_name(v));
    if (!isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < 0 || v->valuedouble > INT_MAX)
        return fail(w, "expected a whole number from 0 (no limit) to %d, got %g", INT_MAX,
                    v->valuedouble);
    *out = (unsigned)v->valuedouble;
    return 0;
}

/* A non-empty string without control characters: a name, a path. */
static int get_text(struct walk *w, const cJSON *v, const char *noun, const char **out)
{
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        return fail(w, "expected a %s (a non-empty string), got %s", noun,
                    cJSON_IsString(v) ? "an empty string" : type_name(v));
    for (const char *p = v->valuestring; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7F)
            return fail(w, "a %s cannot hold control characters", noun);
    *out = v->valuestring;
    return 0;
}

/* The allowed keys of an object; a key's position in the list is its id. */
struct keys {
    const char *const *names;
    size_t n;
};

/* Edit distance, for "did you mean". Keys longer than 32 bytes are never
 * close to ours. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[34];

    if (la > 32 || lb > 32)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static int unknown_key(struct walk *w, const struct keys *keys, const char *key)
{
    const char *near = NULL;
    size_t best = 3;
    char list[400], hint[96];
    struct out o;

    out_init(&o, list, sizeof(list));
    for (size_t i = 0; i < keys->n; i++) {
        size_t d = distance(key, keys->names[i]);
        if (d < best) {
            best = d;
            near = keys->names[i];
        }
        out_add(&o, "%s%s", i ? ", " : "", keys->names[i]);
    }
    hint[0] = '\0';
    if (near)
        snprintf(hint, sizeof(hint), "did you mean '%s'? ", near);
    return fail(w, "unknown key; %sallowed keys: %s", hint, list);
}

/* Finds key's id in keys, or reports an unknown key (listing the keys of
 * allowed) or a repeated one. seen has one bit per id: cJSON keeps every
 * member of an object, repeats included. */
static int key_id(struct walk *w, const struct keys *keys, const struct keys *allowed,
                  const char *key, uint32_t *seen)
{
    for (size_t i = 0; i < keys->n; i++) {
        if (strcmp(key, keys->names[i]) != 0)
            continue;
        if (*seen & (UINT32_C(1) << i))
            return fail(w, "duplicate key (given twice in one object)");
        *seen |= UINT32_C(1) << i;
        return (int)i;
    }
    return unknown_key(w, allowed, key);
}

enum { C_NAME, C_ARGV, C_SHELL, C_ENV, C_CLEAR_ENV, C_CWD, C_TIMEOUT, C_SERVICE,
       C_SHIELD, C_READY_WHEN, C_READY_TIMEOUT, C_SETS, C_WAIT_FOR };
static const char *const cmd_key_names[] = {
    "name",    "argv",   "shell",      "env",           "clear_env", "cwd",     "timeout",
    "service", "shield", "ready_when", "ready_timeout", "sets",      "wait_for"};
/* A cleanup command runs after all the others: no service, shield or
 * dependencies. */
static const char *const cleanup_key_names[] = {"name", "argv",    "shell", "env",
                                                "clear_env", "cwd", "timeout"};

static int get_argv(struct walk *w, const cJSON *v, struct atb_cmd *cmd)
{
    const char *what = "a non-empty array of strings";
    size_t n = 0, i = 0;
    const cJSON *item;
    char **argv;

    if (!cJSON_IsArray(v) || v->child == NULL)
        return fail(w, "expected %s, got %s", what,
                    cJSON_IsArray(v) ? "an empty array" : type_name(v));
    cJSON_ArrayForEach(item, v) {
        push_index(w, n);
        if (!cJSON_IsString(item)) {
            int rc = fail(w, "expected a string, got %s", type_name(item));
            pop(w);
            return rc;
        }
        if (n == 0 && item->valuestring[0] == '\0') {
            int rc = fail(w, "the program name cannot be empty");
            pop(w);
            return rc;
        }
        pop(w);
        n++;
    }
    argv = calloc(n + 1, sizeof(*argv));
    if (argv == NULL)
        return -ENOMEM;
    cJSON_ArrayForEach(item, v)
        argv[i++] = item->valuestring;
    cmd->argv = argv;
    return 0;
}

static int get_shell(struct walk *w, const cJSON *v, struct atb_cmd *cmd)
{
    if (!cJSON_IsString(v) || v->valuestring[strspn(v->valuestring, " \t\n\r")] == '\0')
        return fail(w, "expected a command line for /bin/sh -c, got %s",
                    cJSON_IsString(v) ? "a blank string" : type_name(v));
    cmd->shell = v->valuestring;
    return 0;
}

/* env: {"NAME": "VALUE", "OTHER": null} -> "NAME=VALUE", "OTHER" (unset),
 * in one block: the pointer array, then the strings. */
static int get_env(struct walk *w, const cJSON *v, struct atb_cmd *cmd)
{
    struct atb__names seen;
    size_t n = 0, size = 0;
    const cJSON *item;
    char **env, *p;
    int rc = 0;

    memset(&seen, 0, sizeof(seen)); /* borrows the keys */
    if (!cJSON_IsObject(v))
        return fail(w, "expected an object of variables (\"NAME\": \"value\" or null), "
                    "got %s", type_name(v));
    cJSON_ArrayForEach(item, v) {
        const char *key = item->string;

        push_key(w, key);
        if (key[0] == '\0' || strchr(key, '=') != NULL)
            rc = fail(w, "a variable name cannot be empty or hold '='");
        else if (!cJSON_IsString(item) && !cJSON_IsNull(item))
            rc = fail(w, "expected a string, or null to unset, got %s", type_name(item));
        else if ((rc = atb__names_add(&seen, key)) == -EEXIST)
            rc = fail(w, "duplicate key (given twice in one object)");
        pop(w);
        if (rc < 0)
            goto out;
        size += strlen(key) + 1 + (cJSON_IsString(item) ? strlen(item->valuestring) + 1 : 0);
        n++;
    }
    env = malloc((n + 1) * sizeof(*env) + size);
    if (env == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    p = (char *)(env + n + 1);
    n = 0;
    cJSON_ArrayForEach(item, v) {
        env[n++] = p;
        if (cJSON_IsString(item))
            p += sprintf(p, "%s=%s", item->string, item->valuestring) + 1;
        else
            p += sprintf(p, "%s", item->string) + 1;
    }
    env[n] = NULL;
    cmd->env = env;
out:
    atb__names_free(&seen);
    return rc;
}

/* A relative cwd is taken from the spec's folder. */
static int get_cwd(struct walk *w, const cJSON *v, struct atb_cmd *cmd)
{
    const char *dir = w->base_dir, *path;
    size_t dlen;
    char *cwd;
    int rc = get_text(w, v, "folder path", &path);

    if (rc < 0)
        return rc;
    if (path[0] == '/' || dir == NULL || dir[0] == '\0' || strcmp(dir, ".") == 0)
        dir = "";
    dlen = strlen(dir);
    cwd = malloc(dlen + strlen(path) + 2);
    if (cwd == NULL)
        return -ENOMEM;
    if (dlen == 0 || dir[dlen - 1] == '/')
        sprintf(cwd, "%s%s", dir, path);
    else
        sprintf(cwd, "%s/%s", dir, path);
    cmd->cwd = cwd;
    return 0;
}

/* Readiness and dependencies: ready_when is compiled here so that a bad
 * regex is reported at its JSON path; wait_for entries are resolved once
 * every command is known (check_wait_for). */
static int latch_key(struct walk *w, int id, const cJSON *v, struct atb_cmd *cmd)
{
    const char *text;
    int rc = 0;

    switch (id) {
    case C_READY_WHEN: {
        regex_t re;
        char why[128];
        rc = get_text(w, v, "regular expression", &text);
        if (rc < 0)
            return rc;
        if (atb__regex_compile(&re, text, why, sizeof(why)) < 0)
            return fail(w, "not a usable extended regular expression: %s", why);
        regfree(&re);
        cmd->ready_when = text;
        return 0;
    }
    case C_SETS:
        rc = get_text(w, v, "latch name", &text);
        if (rc == 0 && strchr(text, '/') == NULL && atb_latch_name_check(text) < 0)
            return fail(w, "invalid latch name (letters, digits, '.', '_', '-'; at most "
                           "128; not starting with '.')");
        cmd->sets = text;
        return rc;
    case C_READY_TIMEOUT:
        return get_duration(w, v, &cmd->ready_timeout_s);
    case C_WAIT_FOR: {
        size_t i = 0, n = 0;
        const cJSON *item;
        char **list;
        if (!cJSON_IsArray(v) || v->child == NULL)
            return fail(w, "expected a non-empty array of command or latch names, got %s",
                        cJSON_IsArray(v) ? "an empty array" : type_name(v));
        cJSON_ArrayForEach(item, v) {
            push_index(w, n++);
            rc = get_text(w, item, "command or latch name", &text);
            pop(w);
            if (rc < 0)
                return rc;
        }
        list = calloc(n + 1, sizeof(*list));
        if (list == NULL)
            return -ENOMEM;
        cJSON_ArrayForEach(item, v)
            list[i++] = item->valuestring;
        cmd->wait_for = list;
        return 0;
    }
    }
    return 0;
}

static int walk_cmd_key(struct walk *w, int id, const cJSON *v, struct atb_cmd *cmd)
{
    switch (id) {
    case C_NAME:
        return get_text(w, v, "name", &cmd->name);
    case C_ARGV:
        return get_argv(w, v, cmd);
    case C_SHELL:
        return get_shell(w, v, cmd);
    case C_ENV:
        return get_env(w, v, cmd);
    case C_CLEAR_ENV:
        return get_bool(w, v, &cmd->clear_env);
    case C_CWD:
        return get_cwd(w, v, cmd);
    case C_TIMEOUT:
        return get_duration(w, v, &cmd->timeout_s);
    case C_SERVICE:
        return get_bool(w, v, &cmd->service);
    case C_SHIELD:
        return get_bool(w, v, &cmd->shield);
    default:
        return latch_key(w, id, v, cmd);
    }
}

static int walk_cmd(struct walk *w, const cJSON *obj, int cleanup, struct atb_cmd *cmd)
{
    static const struct keys cmd_keys = {cmd_key_names, ATB__ARRAY_SIZE(cmd_key_names)};
    static const struct keys cleanup_keys = {cleanup_key_names,
                                             ATB__ARRAY_SIZE(cleanup_key_names)};
    const struct keys *keys = cleanup ? &cleanup_keys : &cmd_keys;
    const cJSON *v;
    uint32_t seen = 0;

    if (!cJSON_IsObject(obj))
        return fail(w, "expected a command (an object with argv or shell), got %s",
                    type_name(obj));
    cmd->cleanup = cleanup;
    cJSON_ArrayForEach(v, obj) {
        int id, rc;

        push_key(w, v->string);
        id = key_id(w, &cmd_keys, keys, v->string, &seen);
        if (cleanup && id >= C_SERVICE) /* service, shield, readiness keys */
            rc = fail(w, "not allowed in a cleanup command");
        else
            rc = id >= 0 ? walk_cmd_key(w, id, v, cmd) : id;
        pop(w);
        if (rc < 0)
            return rc;
    }
    if (cmd->argv && cmd->shell)
        return fail(w, "has both argv and shell; give exactly one");
    if (!cmd->argv && !cmd->shell)
        return fail(w, "needs argv (an array of strings) or shell (a command line)");
    return 0;
}

/* A name given twice: the message names both places. */
static int duplicate_name(struct walk *w, const char *name, size_t at)
{
    char q[SHOW_BUF];
    size_t first = 0;

    while (first < at && strcmp(w->spec->cmds[first].name ? w->spec->cmds[first].name : "",
                                name) != 0)
        first++;
    if (first < w->nmain)
        return fail(w, "duplicate name %s (also at commands[%zu].name)",
                    shown(q, sizeof(q), name), first);
    return fail(w, "duplicate name %s (also at cleanup[%zu].name)", shown(q, sizeof(q), name),
                first - w->nmain);
}

/* Walks "commands" or "cleanup" into spec->cmds from *at on. Explicit
 * names must be unique across both lists; the run names the others. */
static int walk_cmds(struct walk *w, const char *key, const cJSON *list, int cleanup,
                     size_t *at)
{
    struct atb_spec *spec = w->spec;
    const cJSON *item;
    size_t i = 0;
    int rc = 0;

    push_key(w, key);
    if (!cJSON_IsArray(list) || (!cleanup && list->child == NULL)) {
        rc = fail(w, "expected a%s array of commands, got %s", cleanup ? "n" : " non-empty",
                  cJSON_IsArray(list) ? "an empty array" : type_name(list));
        goto out;
    }
    cJSON_ArrayForEach(item, list) {
        struct atb_cmd *cmd = &spec->cmds[(*at)++];

        spec->ncmds = *at;
        push_index(w, i);
        rc = walk_cmd(w, item, cleanup, cmd);
        if (rc == 0 && cmd->name)
            rc = atb__names_add(&w->names, cmd->name);
        if (rc == -EEXIST) {
            push_key(w, "name");
            rc = duplicate_name(w, cmd->name, *at - 1);
            pop(w);
        }
        pop(w);
        if (rc < 0)
            goto out;
        i++;
    }
out:
    pop(w);
    return rc;
}

static int check_wait_for(struct walk *w);

enum { T_MODE, T_JOBS, T_GRACE, T_SIGNAL, T_TIMEOUT, T_OUTPUT, T_PREFIX, T_COLOR,
       T_NO_PAD, T_FIRST_SUCCESS, T_INPUT, T_COMMANDS, T_CLEANUP };
static const char *const top_key_names[] = {
    "mode",   "jobs",   "grace",         "signal", "timeout",  "output", "prefix",
    "color",  "no_pad", "first_success", "input",  "commands", "cleanup"};

static int walk_top_key(struct walk *w, int id, const cJSON *v)
{
    static const char *const outputs[] = {"inherit", "prefix", "group"};
    static const enum atb_output output_values[] = {ATB_OUTPUT_INHERIT, ATB_OUTPUT_PREFIX,
                                                    ATB_OUTPUT_GROUP};
    static const char *const colors[] = {"auto", "always", "never"};
    static const enum atb_color color_values[] = {ATB_COLOR_AUTO, ATB_COLOR_ALWAYS,
                                                  ATB_COLOR_NEVER};
    struct atb_opts *o = &w->spec->opts;
    const char *modes[ATB_MODE_RACE + 1];
    char q[SHOW_BUF];
    int choice = 0, rc;

    switch (id) {
    case T_MODE:
        for (int m = 0; m <= ATB_MODE_RACE; m++)
            modes[m] = atb_mode_name((enum atb_mode)m);
        rc = get_choice(w, v, modes, ATB__ARRAY_SIZE(modes), "mode", &choice);
        o->mode = (enum atb_mode)choice;
        return rc;
    case T_JOBS:
        return get_jobs(w, v, &o->jobs);
    case T_GRACE:
        return get_duration(w, v, &o->grace_s);
    case T_SIGNAL:
        return get_signal(w, v, &o->cancel_signal);
    case T_TIMEOUT:
        return get_duration(w, v, &o->timeout_s);
    case T_OUTPUT:
        rc = get_choice(w, v, outputs, ATB__ARRAY_SIZE(outputs), "output", &choice);
        o->output = output_values[choice];
        return rc;
    case T_PREFIX:
        if (!cJSON_IsString(v))
            return fail(w, "expected a prefix format string, got %s", type_name(v));
        if (atb_prefix_check(v->valuestring) < 0)
            return fail(w, "unknown placeholder in %s (use {name}, {index}, {pid}, {time})",
                        shown(q, sizeof(q), v->valuestring));
        o->prefix = v->valuestring;
        return 0;
    case T_COLOR:
        rc = get_choice(w, v, colors, ATB__ARRAY_SIZE(colors), "color", &choice);
        o->color = color_values[choice];
        return rc;
    case T_NO_PAD:
        return get_bool(w, v, &o->no_pad);
    case T_INPUT:
        return get_text(w, v, "command name", &o->input);
    default:
        return get_bool(w, v, &o->first_success);
    }
}

static int walk_top(struct walk *w, const cJSON *root)
{
    static const struct keys top_keys = {top_key_names, ATB__ARRAY_SIZE(top_key_names)};
    struct atb_spec *spec = w->spec;
    const cJSON *v, *commands = NULL, *cleanup = NULL;
    uint32_t seen = 0;
    size_t n = 0, at = 0;
    int rc = 0;

    if (!cJSON_IsObject(root))
        return fail(w, "expected an object at the top level, got %s", type_name(root));
    cJSON_ArrayForEach(v, root) {
        int id;

        push_key(w, v->string);
        id = key_id(w, &top_keys, &top_keys, v->string, &seen);
        if (id == T_COMMANDS)
            commands = v;
        else if (id == T_CLEANUP)
            cleanup = v;
        else if (id >= 0)
            rc = walk_top_key(w, id, v);
        else
            rc = id;
        pop(w);
        if (rc < 0)
            return rc;
    }
    if (commands == NULL)
        return fail(w, "missing key 'commands' (a non-empty array of commands)");
    if (spec->opts.first_success && spec->opts.mode != ATB_MODE_RACE) {
        push_key(w, "first_success");
        rc = fail(w, "only valid with mode race");
        pop(w);
        return rc;
    }
    if (cJSON_IsArray(commands))
        n += (size_t)cJSON_GetArraySize(commands);
    if (cJSON_IsArray(cleanup))
        n += (size_t)cJSON_GetArraySize(cleanup);
    spec->cmds = calloc(n ? n : 1, sizeof(*spec->cmds));
    if (spec->cmds == NULL)
        return -ENOMEM;
    rc = walk_cmds(w, "commands", commands, 0, &at);
    w->nmain = at;
    if (rc == 0)
        rc = check_wait_for(w);
    if (rc == 0 && cleanup != NULL)
        rc = walk_cmds(w, "cleanup", cleanup, 1, &at);
    return rc;
}

/* Is name something a command can wait for: a command's name (given, or
 * its default), or a latch that some command sets? */
static int waitable(const struct walk *w, const char *name)
{
    for (size_t i = 0; i < w->nmain; i++) {
        const struct atb_cmd *c = &w->spec->cmds[i];
        char base[256];

        if ((c->name && strcmp(c->name, name) == 0) || (c->sets && strcmp(c->sets, name) == 0))
            return 1;
        if (c->name == NULL) {
            atb_name_default(c->shell ? c->shell : c->argv[0], c->shell != NULL, base,
                             sizeof(base));
            if (strcmp(base, name) == 0)
                return 1;
        }
    }
    return 0;
}

/* Every wait_for entry must name a command or a latch a command sets; the
 * run itself refuses cycles, naming them. */
static int check_wait_for(struct walk *w)
{
    char q[SHOW_BUF];
    int rc = 0;

    for (size_t i = 0; i < w->nmain && rc == 0; i++) {
        char *const *list = w->spec->cmds[i].wait_for;

        for (size_t k = 0; list && list[k] && rc == 0; k++) {
            if (waitable(w, list[k]))
                continue;
            push_key(w, "commands");
            push_index(w, i);
            push_key(w, "wait_for");
            push_index(w, k);
            rc = fail(w, "%s is neither a command's name nor a latch that a command sets",
                      shown(q, sizeof(q), list[k]));
            pop(w);
            pop(w);
            pop(w);
            pop(w);
        }
    }
    return rc;
}

/* A whole spec for walk_top(), or one command object for walk_one(). */
static int walk_one(struct walk *w, const cJSON *root)
{
    w->spec->cmds = calloc(1, sizeof(*w->spec->cmds));
    if (w->spec->cmds == NULL)
        return -ENOMEM;
    w->spec->ncmds = 1;
    return walk_cmd(w, root, 0, &w->spec->cmds[0]);
}

static int parse(const char *text, size_t len, const char *origin, const char *base_dir,
                 int (*walk_root)(struct walk *w, const cJSON *root), struct atb_spec **out,
                 struct atb_spec_error *err)
{
    struct atb_spec_error unused;
    struct atb__json_error syntax;
    struct atb_spec *spec = NULL;
    struct walk w;
    int rc;

    *out = NULL;
    if (err == NULL)
        err = &unused;
    memset(err, 0, sizeof(*err));
    if (origin == NULL)
        origin = "spec";
    if (atb__json_check(text, len, &syntax) < 0) {
        fill_error(err, origin, "", syntax.line, syntax.col, syntax.message);
        return ATB_ESPEC;
    }
    rc = -ENOMEM;
    spec = calloc(1, sizeof(*spec));
    if (spec == NULL)
        goto out;
    atb_opts_init(&spec->opts);
    /* The text is valid JSON by now, so cJSON fails only for memory. We
     * skip a byte order mark ourselves: cJSON 1.7.15 skips it only when
     * more than one byte follows it. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    spec->root = cJSON_ParseWithLengthOpts(text, len, NULL, 0);
    if (spec->root == NULL)
        goto out;
    memset(&w, 0, sizeof(w)); /* w.names borrows the names */
    w.spec = spec;
    w.err = err;
    w.origin = origin;
    w.base_dir = base_dir;
    w.nmain = SIZE_MAX;
    rc = walk_root(&w, spec->root);
    atb__names_free(&w.names);
out:
    if (rc == -ENOMEM)
        fill_error(err, origin, "", 0, 0, "out of memory");
    if (rc < 0) {
        atb_spec_free(spec);
        return rc;
    }
    *out = spec;
    return 0;
}

int atb_spec_parse(const char *text, size_t len, const char *origin, const char *base_dir,
                   struct atb_spec **out, struct atb_spec_error *err)
{
    return parse(text, len, origin, base_dir, walk_top, out, err);
}

int atb_spec_parse_cmd(const char *text, size_t len, const char *origin,
                       const char *base_dir, struct atb_spec **out,
                       struct atb_spec_error *err)
{
    return parse(text, len, origin, base_dir, walk_one, out, err);
}

/* Reads all of fd into a NUL-terminated buffer the caller frees, across
 * short reads, up to ATB_SPEC_MAX_SIZE bytes. Sets *regular when fd is a
 * regular file (not a pipe or a terminal). */
static int read_all(int fd, char **text, size_t *len, int *regular)
{
    size_t cap = 64 * 1024, n = 0;
    struct stat st;
    char *buf;
    int rc = 0;

    *text = NULL;
    *len = 0;
    *regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (*regular && st.st_size > 0) {
        if ((uintmax_t)st.st_size > ATB_SPEC_MAX_SIZE)
            return -EFBIG;
        cap = (size_t)st.st_size + 1; /* +1: the read that finds the end */
    }
    buf = malloc(cap + 1);
    if (buf == NULL)
        return -ENOMEM;
    for (;;) {
        ssize_t got;

        if (n == cap) {
            size_t ncap = cap * 2 > ATB_SPEC_MAX_SIZE + 1 ? ATB_SPEC_MAX_SIZE + 1 : cap * 2;
            char *nbuf;

            if (cap > ATB_SPEC_MAX_SIZE) {
                rc = -EFBIG;
                break;
            }
            nbuf = realloc(buf, ncap + 1);
            if (nbuf == NULL) {
                rc = -ENOMEM;
                break;
            }
            buf = nbuf;
            cap = ncap;
        }
        got = atb__read(fd, buf + n, cap - n);
        if (got < 0) {
            rc = (int)got;
            break;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

int atb_spec_load(const char *path, struct atb_spec **out, struct atb_spec_error *err)
{
    const char *origin = path ? path : "<stdin>", *slash;
    struct atb_spec_error unused;
    char *text = NULL, *dir = NULL;
    size_t len;
    int fd = -1, regular, rc;

    *out = NULL;
    if (err == NULL)
        err = &unused;
    memset(err, 0, sizeof(*err));
    if (path != NULL) {
        fd = atb__open(path, O_RDONLY | O_NOCTTY, 0);
        if (fd < 0) {
            rc = fd;
            goto out;
        }
    }
    rc = read_all(path ? fd : STDIN_FILENO, &text, &len, &regular);
    if (rc < 0)
        goto out;
    /* A relative cwd is taken from the spec file's folder; a spec that
     * comes through a pipe (<(...), /dev/stdin) has none that means
     * anything, so there it is atb's own, as for standard input. */
    slash = path && regular ? strrchr(path, '/') : NULL;
    if (slash != NULL) {
        dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
        if (dir == NULL) {
            rc = -ENOMEM;
            goto out;
        }
    }
    rc = atb_spec_parse(text, len, origin, dir, out, err); /* fills *err */
    atb__close(&fd);
    free(dir);
    free(text);
    return rc;
out:
    if (rc == -EFBIG)
        fill_error(err, origin, "", 0, 0, "too large (the limit is 64 MiB)");
    else
        fill_error(err, origin, "", 0, 0,
                   rc == -ENOMEM ? "out of memory" : atb_strerror(rc));
    atb__close(&fd);
    free(text);
    return rc;
}

const struct atb_opts *atb_spec_opts(const struct atb_spec *spec)
{
    return &spec->opts;
}

size_t atb_spec_count(const struct atb_spec *spec)
{
    return spec->ncmds;
}

const struct atb_cmd *atb_spec_cmd(const struct atb_spec *spec, size_t i)
{
    return i < spec->ncmds ? &spec->cmds[i] : NULL;
}

int atb_spec_add_to_run(const struct atb_spec *spec, struct atb_run *run)
{
    for (size_t i = 0; i < spec->ncmds; i++) {
        int rc = atb_run_add(run, &spec->cmds[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void atb_spec_free(struct atb_spec *spec)
{
    if (spec == NULL)
        return;
    for (size_t i = 0; i < spec->ncmds; i++) {
        free((void *)spec->cmds[i].argv);
        free((void *)spec->cmds[i].env);
        free((void *)spec->cmds[i].cwd);
        free((void *)spec->cmds[i].wait_for);
    }
    free(spec->cmds);
    cJSON_Delete(spec->root);
    free(spec);
}
