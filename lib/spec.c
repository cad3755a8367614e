/* spec: a run described in JSON (atb-spec(5)) -> calls on a run.
 *
 * Two passes over the text. spec-json.c checks the syntax strictly and says
 * where and what; then cJSON builds the tree, and the walk here checks each
 * value's type and form against the schema (jsonwalk.c names the path and
 * the place of a problem). The rules that involve the commands (names,
 * wait_for, sets, ready_when, what cleanup commands may have, cycles) are
 * the run's own validator's: atb_spec_check() runs it and places its errors
 * in the spec, and nothing here checks them a second time.
 *
 * The commands point into the cJSON tree, which the spec keeps until it is
 * freed; a run copies what it is given, so the spec may go once applied.
 */
#include "engine.h"
#include "jsonwalk.h"
#include "atb/spec.h"
#include "spec-json.h"
#include "spec-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


const char *const atb__spec_top_keys[ATB__SPEC_NKEYS] = {
    "mode",   "jobs",   "grace",         "signal", "timeout",  "output", "prefix",
    "color",  "no_pad", "first_success", "input",  "commands", "cleanup", "retries",
    "retry_delay", "retry_backoff", "launcher"};
#define top_key_names atb__spec_top_keys

static int walk_cmd(struct atb__jwalk *w, const cJSON *obj, int cleanup, struct atb_cmd *cmd);

static int fail_at_index(struct atb__jwalk *w, size_t index, const char *fmt, const char *a,
                         const char *b)
{
    int rc;

    atb__jw_push_index(w, index);
    rc = atb__jw_fail(w, 0, fmt, a, b);
    atb__jw_pop(w);
    return rc;
}

/* An array of non-empty strings into a calloc'd vector (borrowed strings):
 * argv (whose first cannot be empty either) and wait_for. */
static int get_strv(struct atb__jwalk *w, const cJSON *v, const char *what, const char *noun,
                    char ***out)
{
    size_t n = 0, i = 0;
    const cJSON *item;
    char **list;

    if (!cJSON_IsArray(v) || v->child == NULL)
        return atb__jw_fail(w, 0, "expected %s, got %s", what,
                            cJSON_IsArray(v) ? "an empty array" : atb__jw_type(v));
    cJSON_ArrayForEach(item, v) {
        const char *text;
        int rc = 0;

        if (noun != NULL) {
            atb__jw_push_index(w, n);
            rc = atb__jw_text(w, item, noun, &text);
            atb__jw_pop(w);
        } else if (!cJSON_IsString(item)) {
            rc = fail_at_index(w, n, "expected a string, got %s", atb__jw_type(item), NULL);
        } else if (n == 0 && item->valuestring[0] == '\0') {
            rc = fail_at_index(w, n, "the program name cannot be empty", NULL, NULL);
        }
        if (rc < 0)
            return rc;
        n++;
    }
    list = calloc(n + 1, sizeof(*list));
    if (list == NULL)
        return -ENOMEM;
    cJSON_ArrayForEach(item, v)
        list[i++] = item->valuestring;
    *out = list;
    return 0;
}

static int get_shell(struct atb__jwalk *w, const cJSON *v, struct atb_cmd *cmd)
{
    if (!cJSON_IsString(v) || v->valuestring[strspn(v->valuestring, " \t\n\r")] == '\0')
        return atb__jw_fail(w, 0, "expected a command line for /bin/sh -c, got %s",
                            cJSON_IsString(v) ? "a blank string" : atb__jw_type(v));
    cmd->shell = v->valuestring;
    return 0;
}

/* env: {"NAME": "VALUE", "OTHER": null} -> "NAME=VALUE", "OTHER" (unset),
 * in one block: the pointer array, then the strings. */
static int get_env(struct atb__jwalk *w, const cJSON *v, struct atb_cmd *cmd)
{
    struct atb__names seen;
    size_t n = 0, size = 0;
    const cJSON *item;
    char **env, *p;
    int rc = 0;

    memset(&seen, 0, sizeof(seen)); /* borrows the keys */
    if (!cJSON_IsObject(v))
        return atb__jw_fail(w, 0,
                            "expected an object of variables (\"NAME\": \"value\" or null), "
                            "got %s",
                            atb__jw_type(v));
    cJSON_ArrayForEach(item, v) {
        const char *key = item->string;

        atb__jw_push_key(w, key, n);
        if (key[0] == '\0' || strchr(key, '=') != NULL)
            rc = atb__jw_fail(w, 1, "a variable name cannot be empty or hold '='");
        else if (!cJSON_IsString(item) && !cJSON_IsNull(item))
            rc = atb__jw_fail(w, 0, "expected a string, or null to unset, got %s",
                              atb__jw_type(item));
        else if ((rc = atb__names_add(&seen, key)) == -EEXIST)
            rc = atb__jw_fail(w, 1, "duplicate key (given twice in one object)");
        atb__jw_pop(w);
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
static int get_cwd(struct atb__jwalk *w, const cJSON *v, const char *dir, struct atb_cmd *cmd)
{
    const char *path;
    size_t dlen;
    char *cwd;
    int rc = atb__jw_text(w, v, "folder path", &path);

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

enum { C_NAME, C_ARGV, C_SHELL, C_ENV, C_CLEAR_ENV, C_CWD, C_TIMEOUT, C_SERVICE,
       C_SHIELD, C_READY_WHEN, C_READY_TIMEOUT, C_SETS, C_WAIT_FOR, C_RETRIES, C_RETRY_DELAY,
       C_RETRY_BACKOFF, C_READY_PROBE, C_HEALTH_PROBE, C_SLURM };
static const char *const cmd_key_names[] = {
    "name",    "argv",   "shell",      "env",           "clear_env", "cwd",     "timeout",
    "service", "shield", "ready_when", "ready_timeout", "sets",      "wait_for", "retries",
    "retry_delay", "retry_backoff", "ready_probe", "health_probe", "slurm"};
/* What a cleanup command may have, for the list an unknown key shows; the
 * validator refuses the others. */
static const char *const cleanup_key_names[] = {
    "name", "argv", "shell", "env", "clear_env", "cwd", "timeout", "retries", "retry_delay",
    "retry_backoff", "slurm"};

static const char *base_dir_of(const struct atb__jwalk *w);

static int walk_cmd_key(struct atb__jwalk *w, int id, const cJSON *v, struct atb_cmd *cmd)
{
    double d;
    int rc;

    switch (id) {
    case C_RETRIES:
        rc = atb__jw_range(w, v, 0, ATB__RETRIES_MAX, 1, &d);
        cmd->retries = (int)d;
        return rc;
    case C_RETRY_DELAY:
        return atb__jw_duration(w, v, &cmd->retry_delay_s);
    case C_READY_PROBE:
    case C_HEALTH_PROBE:
        return atb__spec_probe(w, v, id == C_HEALTH_PROBE,
                               id == C_HEALTH_PROBE ? &cmd->health_probe : &cmd->ready_probe);
    case C_RETRY_BACKOFF:
        return atb__jw_range(w, v, 1, 1000, 0, &cmd->retry_backoff);
    case C_SLURM:
        return atb__spec_slurm(w, v, &cmd->slurm);
    case C_NAME:
        return atb__jw_text(w, v, "name", &cmd->name);
    case C_ARGV:
        return get_strv(w, v, "a non-empty array of strings", NULL, (char ***)&cmd->argv);
    case C_SHELL:
        return get_shell(w, v, cmd);
    case C_ENV:
        return get_env(w, v, cmd);
    case C_CLEAR_ENV:
        return atb__jw_bool(w, v, &cmd->clear_env);
    case C_CWD:
        return get_cwd(w, v, base_dir_of(w), cmd);
    case C_TIMEOUT:
        return atb__jw_duration(w, v, &cmd->timeout_s);
    case C_SERVICE:
        return atb__jw_bool(w, v, &cmd->service);
    case C_SHIELD:
        return atb__jw_bool(w, v, &cmd->shield);
    case C_READY_WHEN:
        return atb__jw_text(w, v, "regular expression", &cmd->ready_when);
    case C_READY_TIMEOUT:
        return atb__jw_duration(w, v, &cmd->ready_timeout_s);
    case C_SETS:
        return atb__jw_text(w, v, "latch name", &cmd->sets);
    default:
        return get_strv(w, v, "a non-empty array of command or latch names",
                        "command or latch name", (char ***)&cmd->wait_for);
    }
}

static int walk_cmd(struct atb__jwalk *w, const cJSON *obj, int cleanup, struct atb_cmd *cmd)
{
    static const struct atb__jw_keys cmd_keys = {cmd_key_names, ATB__ARRAY_SIZE(cmd_key_names)};
    static const struct atb__jw_keys cleanup_keys = {cleanup_key_names,
                                                     ATB__ARRAY_SIZE(cleanup_key_names)};
    const cJSON *v;
    uint32_t seen = 0;
    size_t ordinal = 0;

    if (!cJSON_IsObject(obj))
        return atb__jw_fail(w, 0, "expected a command (an object with argv or shell), got %s",
                            atb__jw_type(obj));
    cmd->size = sizeof(*cmd);
    cmd->cleanup = cleanup;
    cmd->retries = -1; /* the run's, as ATB_CMD_INIT has it */
    cmd->retry_delay_s = -1;
    cJSON_ArrayForEach(v, obj) {
        int id, rc;

        atb__jw_push_key(w, v->string, ordinal++);
        id = atb__jw_key_id(w, &cmd_keys, cleanup ? &cleanup_keys : &cmd_keys, v->string,
                            &seen);
        rc = id >= 0 ? walk_cmd_key(w, id, v, cmd) : id;
        atb__jw_pop(w);
        if (rc < 0)
            return rc;
    }
    if (cmd->argv && cmd->shell)
        return atb__jw_fail(w, 0, "has both argv and shell; give exactly one");
    if (!cmd->argv && !cmd->shell)
        return atb__jw_fail(w, 0, "needs argv (an array of strings) or shell (a command line)");
    return 0;
}

/* Walks "commands" or "cleanup" into spec->cmds from spec->ncmds on. */
static int walk_cmds(struct atb__jwalk *w, struct atb_spec *spec, const cJSON *root, int key,
                     const cJSON *list)
{
    int cleanup = key == T_CLEANUP, rc = 0;
    const cJSON *item;
    size_t i = 0;

    atb__jw_push_key(w, top_key_names[key], (size_t)atb__jw_ordinal(root, top_key_names[key]));
    if (!cJSON_IsArray(list) || (!cleanup && list->child == NULL)) {
        rc = atb__jw_fail(w, 0, "expected a%s array of commands, got %s",
                          cleanup ? "n" : " non-empty",
                          cJSON_IsArray(list) ? "an empty array" : atb__jw_type(list));
        goto out;
    }
    cJSON_ArrayForEach(item, list) {
        size_t at = spec->ncmds++;

        spec->objs[at] = item;
        atb__jw_push_index(w, i++);
        rc = walk_cmd(w, item, cleanup, &spec->cmds[at]);
        atb__jw_pop(w);
        if (rc < 0)
            goto out;
    }
out:
    atb__jw_pop(w);
    return rc;
}

static int walk_top_key(struct atb__jwalk *w, struct atb_spec *spec, int id, const cJSON *v)
{
    static const char *const outputs[] = {"inherit", "prefix", "group"};
    static const char *const colors[] = {"auto", "always", "never"};
    static const char *const modes[] = {"pool", "try-all", "wait-all", "race"};
    static const char *const launchers[] = {"local", "slurm"};
    char q[ATB__JW_SHOW];
    int choice = 0, rc;

    switch (id) {
    case T_MODE:
        rc = atb__jw_choice(w, v, modes, ATB__ARRAY_SIZE(modes), "mode", &choice);
        spec->mode = (enum atb_mode)choice;
        return rc;
    case T_JOBS:
        return atb__jw_jobs(w, v, &spec->jobs);
    case T_GRACE:
        return atb__jw_duration(w, v, &spec->grace_s);
    case T_SIGNAL:
        return atb__jw_signal(w, v, &spec->signo);
    case T_TIMEOUT:
        return atb__jw_duration(w, v, &spec->timeout_s);
    case T_OUTPUT:
        rc = atb__jw_choice(w, v, outputs, ATB__ARRAY_SIZE(outputs), "output", &choice);
        return rc < 0 ? rc : atb_output_parse(outputs[choice], &spec->output);
    case T_PREFIX:
        if (!cJSON_IsString(v))
            return atb__jw_fail(w, 0, "expected a prefix format string, got %s",
                                atb__jw_type(v));
        if (atb_prefix_check(v->valuestring) < 0)
            return atb__jw_fail(w, 0,
                                "unknown placeholder in %s (use {name}, {index}, {pid}, {time})",
                                atb__jw_shown(q, sizeof(q), v->valuestring));
        spec->prefix = v->valuestring;
        return 0;
    case T_COLOR:
        rc = atb__jw_choice(w, v, colors, ATB__ARRAY_SIZE(colors), "color", &choice);
        return rc < 0 ? rc : atb_color_parse(colors[choice], &spec->color);
    case T_NO_PAD:
        return atb__jw_bool(w, v, &spec->no_pad);
    case T_INPUT:
        return atb__jw_text(w, v, "command name", &spec->input);
    case T_FIRST_SUCCESS:
        return atb__jw_bool(w, v, &spec->first_success);
    case T_RETRIES:
        return atb__jw_range(w, v, 0, ATB__RETRIES_MAX, 1, &spec->retries);
    case T_RETRY_DELAY:
        return atb__jw_duration(w, v, &spec->retry_delay_s);
    case T_RETRY_BACKOFF:
        return atb__jw_range(w, v, 1, 1000, 0, &spec->retry_backoff);
    case T_LAUNCHER:
        rc = atb__jw_choice(w, v, launchers, ATB__ARRAY_SIZE(launchers), "launcher", &choice);
        spec->launcher = (enum atb_launcher)choice;
        return rc;
    }
    return atb__jw_fail(w, 1, "not a key of the spec"); /* a key missing from the table */
}

static int walk_top(struct atb__jwalk *w, struct atb_spec *spec, const cJSON *root)
{
    static const struct atb__jw_keys top_keys = {top_key_names, ATB__ARRAY_SIZE(top_key_names)};
    const cJSON *v, *commands = NULL, *cleanup = NULL;
    uint32_t seen = 0;
    size_t n = 0, ordinal = 0;
    int rc = 0;

    if (!cJSON_IsObject(root))
        return atb__jw_fail(w, 0, "expected an object at the top level, got %s",
                            atb__jw_type(root));
    cJSON_ArrayForEach(v, root) {
        int id;

        atb__jw_push_key(w, v->string, ordinal++);
        id = atb__jw_key_id(w, &top_keys, &top_keys, v->string, &seen);
        if (id == T_COMMANDS)
            commands = v;
        else if (id == T_CLEANUP)
            cleanup = v;
        else if (id >= 0)
            rc = walk_top_key(w, spec, id, v);
        else
            rc = id;
        atb__jw_pop(w);
        if (rc < 0)
            return rc;
    }
    spec->given = seen;
    if (commands == NULL)
        return atb__jw_fail(w, 0, "missing key 'commands' (a non-empty array of commands)");
    if (spec->first_success && (!GIVEN(spec, T_MODE) || spec->mode != ATB_MODE_RACE)) {
        atb__jw_push_key(w, "first_success", (size_t)atb__jw_ordinal(root, "first_success"));
        rc = atb__jw_fail(w, 0, "only valid with mode race");
        atb__jw_pop(w);
        return rc;
    }
    if (cJSON_IsArray(commands))
        n += (size_t)cJSON_GetArraySize(commands);
    if (cJSON_IsArray(cleanup))
        n += (size_t)cJSON_GetArraySize(cleanup);
    spec->cmds = calloc(n ? n : 1, sizeof(*spec->cmds));
    spec->objs = calloc(n ? n : 1, sizeof(*spec->objs));
    if (spec->cmds == NULL || spec->objs == NULL)
        return -ENOMEM;
    rc = walk_cmds(w, spec, root, T_COMMANDS, commands);
    spec->nmain = spec->ncmds;
    if (rc == 0 && cleanup != NULL)
        rc = walk_cmds(w, spec, root, T_CLEANUP, cleanup);
    return rc;
}

/* One command object, for commands that arrive one at a time. */
static int walk_one(struct atb__jwalk *w, struct atb_spec *spec, const cJSON *root)
{
    spec->cmds = calloc(1, sizeof(*spec->cmds));
    spec->objs = calloc(1, sizeof(*spec->objs));
    if (spec->cmds == NULL || spec->objs == NULL)
        return -ENOMEM;
    spec->ncmds = spec->nmain = 1;
    spec->objs[0] = root;
    spec->one = 1;
    return walk_cmd(w, root, 0, &spec->cmds[0]);
}

/* The walk's base folder, for a relative cwd: kept beside the walk. */
struct walk_ctx {
    struct atb__jwalk w; /* first */
    const char *base_dir;
};

static const char *base_dir_of(const struct atb__jwalk *w)
{
    return ((const struct walk_ctx *)(const void *)w)->base_dir;
}

static void out_of_memory(struct atb_error *err)
{
    memset(err, 0, sizeof(*err));
    err->code = -ENOMEM;
    err->id = err->index = -1;
    snprintf(err->text, sizeof(err->text), "out of memory");
}

static int parse(const char *text, size_t len, const char *base_dir, int one,
                 struct atb_spec **out, struct atb_error *err)
{
    struct atb_error unused;
    struct atb__json_error syntax;
    struct atb_spec *spec = NULL;
    struct walk_ctx c;
    int rc;

    *out = NULL;
    if (err == NULL)
        err = &unused;
    memset(err, 0, sizeof(*err));
    err->id = err->index = -1;
    if (atb__json_check(text, len, &syntax) < 0) {
        err->code = ATB_ESPEC;
        err->line = (unsigned)syntax.line;
        err->col = (unsigned)syntax.col;
        snprintf(err->text, sizeof(err->text), "%s", syntax.message);
        return ATB_ESPEC;
    }
    rc = -ENOMEM;
    spec = calloc(1, sizeof(*spec));
    if (spec == NULL || (spec->text = malloc(len + 1)) == NULL)
        goto out;
    memcpy(spec->text, text, len);
    spec->len = len;
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
    memset(&c, 0, sizeof(c));
    c.w.err = err;
    c.w.text = spec->text;
    c.w.len = spec->len;
    c.base_dir = base_dir;
    rc = one ? walk_one(&c.w, spec, spec->root) : walk_top(&c.w, spec, spec->root);
out:
    if (rc == -ENOMEM)
        out_of_memory(err);
    if (rc < 0) {
        atb_spec_free(spec);
        return rc;
    }
    *out = spec;
    return 0;
}

int atb_spec_parse(const char *text, size_t len, const char *base_dir, struct atb_spec **out,
                   struct atb_error *err)
{
    return parse(text, len, base_dir, 0, out, err);
}

int atb_spec_parse_cmd(const char *text, size_t len, const char *base_dir,
                       struct atb_spec **out, struct atb_error *err)
{
    return parse(text, len, base_dir, 1, out, err);
}

int atb_spec_load(const char *path, struct atb_spec **out, struct atb_error *err)
{
    struct atb_error unused;
    const char *slash;
    char *text = NULL, *dir = NULL;
    struct stat st;
    size_t len;
    int fd = STDIN_FILENO, rc;

    *out = NULL;
    if (err == NULL)
        err = &unused;
    if (path != NULL && (fd = atb__open(path, O_RDONLY | O_NOCTTY, 0)) < 0) {
        rc = fd;
        goto out;
    }
    rc = atb__read_all(fd, ATB_SPEC_MAX_SIZE, &text, &len);
    if (rc < 0)
        goto out;
    /* A relative cwd is taken from the spec file's folder; a spec that
     * comes through a pipe (<(...), /dev/stdin) has none that means
     * anything, so there it is the process's own, as for standard input. */
    slash = path && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? strrchr(path, '/') : NULL;
    if (slash != NULL &&
        (dir = strndup(path, slash == path ? 1 : (size_t)(slash - path))) == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    rc = atb_spec_parse(text, len, dir, out, err);
    goto done;
out:
    memset(err, 0, sizeof(*err));
    err->code = rc;
    err->id = err->index = -1;
    snprintf(err->text, sizeof(err->text), "%s",
             rc == -EFBIG    ? "too large (the limit is 64 MiB)"
             : rc == -ENOMEM ? "out of memory"
                             : atb_strerror(rc));
done:
    if (path != NULL)
        atb__close(&fd);
    free(dir);
    free(text);
    return rc;
}

size_t atb_spec_count(const struct atb_spec *spec)
{
    return spec->ncmds;
}

const struct atb_cmd *atb_spec_cmd(const struct atb_spec *spec, size_t i)
{
    return i < spec->ncmds ? &spec->cmds[i] : NULL;
}

void atb_spec_free(struct atb_spec *spec)
{
    if (spec == NULL)
        return;
    for (size_t i = 0; i < spec->ncmds && spec->cmds; i++) {
        free((void *)spec->cmds[i].argv);
        free((void *)spec->cmds[i].env);
        free((void *)spec->cmds[i].cwd);
        free((void *)spec->cmds[i].wait_for);
        atb__spec_probe_free(spec->cmds[i].ready_probe);
        atb__spec_probe_free(spec->cmds[i].health_probe);
        atb__spec_slurm_free(spec->cmds[i].slurm);
    }
    free(spec->cmds);
    free(spec->objs);
    cJSON_Delete(spec->root);
    free(spec->text);
    free(spec);
}
