/* spec-apply: a parsed spec -> calls on a run, and the run's validator's
 * errors placed back in the spec, at the JSON path and the line and column
 * of what they are about. */
#include "engine.h"
#include "jsonwalk.h"
#include "spec-int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Reports text at commands[j] (or cleanup[j - nmain]), at its key and that
 * key's element index when given (-1: none), or at a top-level key when j
 * is SIZE_MAX. Returns ATB_ESPEC. */
static int place(const struct atb_spec *spec, struct atb_error *err, size_t j, const char *key,
                 int index, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int place(const struct atb_spec *spec, struct atb_error *err, size_t j, const char *key,
                 int index, const char *fmt, ...)
{
    struct atb__jwalk w;
    const cJSON *obj = spec->root;
    char text[sizeof(err->text)];
    va_list ap;
    int o;

    memset(&w, 0, sizeof(w));
    w.err = err;
    w.text = spec->text;
    w.len = spec->len;
    if (j != SIZE_MAX && !spec->one) {
        const char *list = atb__spec_top_keys[j < spec->nmain ? T_COMMANDS : T_CLEANUP];

        atb__jw_push_key(&w, list, (size_t)atb__jw_ordinal(spec->root, list));
        atb__jw_push_index(&w, j < spec->nmain ? j : j - spec->nmain);
    }
    if (j != SIZE_MAX)
        obj = spec->objs[j];
    if (key != NULL && (o = atb__jw_ordinal(obj, key)) >= 0) {
        atb__jw_push_key(&w, key, (size_t)o);
        if (index >= 0)
            atb__jw_push_index(&w, (size_t)index);
    }
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return atb__jw_fail(&w, 0, "%s", text);
}

static int apply_settings(const struct atb_spec *spec, struct atb_run *run)
{
    int rc = 0;

    if (GIVEN(spec, T_MODE))
        rc = atb_run_set_mode(run, spec->mode);
    if (rc == 0 && GIVEN(spec, T_FIRST_SUCCESS))
        rc = atb_run_set_first_success(run, spec->first_success);
    if (rc == 0 && GIVEN(spec, T_JOBS))
        rc = atb_run_set_jobs(run, spec->jobs);
    if (rc == 0 && (GIVEN(spec, T_SIGNAL) || GIVEN(spec, T_GRACE)))
        rc = atb_run_set_cancel(run,
                                GIVEN(spec, T_SIGNAL) ? spec->signo
                                                      : atb_run_get_cancel_signal(run),
                                GIVEN(spec, T_GRACE) ? spec->grace_s : atb_run_get_grace(run));
    if (rc == 0 && GIVEN(spec, T_TIMEOUT))
        rc = atb_run_set_timeout(run, spec->timeout_s);
    if (rc == 0 && GIVEN(spec, T_OUTPUT))
        rc = atb_run_set_output(run, spec->output);
    if (rc == 0 && GIVEN(spec, T_PREFIX))
        rc = atb_run_set_prefix(run, spec->prefix);
    if (rc == 0 && GIVEN(spec, T_NO_PAD))
        rc = atb_run_set_pad(run, !spec->no_pad);
    if (rc == 0 && GIVEN(spec, T_COLOR))
        rc = atb_run_set_color(run, 0, spec->color);
    if (rc == 0 && GIVEN(spec, T_LAUNCHER))
        rc = atb_run_set_launcher(run, spec->launcher);
    if (rc == 0 && GIVEN(spec, T_RETRIES))
        rc = atb_run_set_retries(run, (unsigned)spec->retries);
    if (rc == 0 && (GIVEN(spec, T_RETRY_DELAY) || GIVEN(spec, T_RETRY_BACKOFF)))
        rc = atb_run_set_retry_delay(
            run, GIVEN(spec, T_RETRY_DELAY) ? spec->retry_delay_s : atb_run_get_retry_delay(run),
            GIVEN(spec, T_RETRY_BACKOFF) ? spec->retry_backoff : atb_run_get_retry_backoff(run));
    /* The spec's input is the process's own standard input. */
    if (rc == 0 && GIVEN(spec, T_INPUT))
        rc = atb_run_set_input(run, spec->input, STDIN_FILENO);
    return rc;
}

int atb_spec_apply(const struct atb_spec *spec, struct atb_run *run, struct atb_error *err)
{
    struct atb_error unused;
    char q[ATB__JW_SHOW];
    int rc;

    if (err == NULL)
        err = &unused;
    memset(err, 0, sizeof(*err));
    err->id = err->index = -1;
    /* Command i of the spec is the run's id i: atb_spec_check() relies on
     * it to place the validator's errors. */
    if (atb_run_count(run) != 0)
        return err->code = ATB_ESTATE;
    rc = apply_settings(spec, run);
    for (size_t i = 0; i < spec->ncmds && rc == 0; i++) {
        int id = atb_run_add(run, &spec->cmds[i]);
        size_t first;

        if (id >= 0)
            continue;
        if (id == -ENOMEM) {
            rc = id;
            break;
        }
        if (id != ATB_EDUPNAME)
            return place(spec, err, i, NULL, -1, "%s", atb_strerror(id));
        /* A name given twice: the message names both places. */
        first = (size_t)atb_run_find(run, spec->cmds[i].name);
        atb__jw_shown(q, sizeof(q), spec->cmds[i].name);
        if (first < spec->nmain)
            return place(spec, err, i, "name", -1, "duplicate name %s (also at commands[%zu].name)",
                         q, first);
        return place(spec, err, i, "name", -1, "duplicate name %s (also at cleanup[%zu].name)",
                     q, first - spec->nmain);
    }
    if (rc < 0) {
        err->code = rc;
        snprintf(err->text, sizeof(err->text), "%s", atb_strerror(rc));
    }
    return rc;
}

/* A problem with a probe the caller gave by name (atb_run_set_probe()), not
 * the spec: the spec's command has no such key. */
static int caller_probe(const struct atb_spec *spec, const struct atb_error *e)
{
    const struct atb_cmd *c = &spec->cmds[e->id];

    if (e->key == NULL)
        return 0;
    return (strcmp(e->key, "ready_probe") == 0 && c->ready_probe == NULL) ||
           (strcmp(e->key, "health_probe") == 0 && c->health_probe == NULL);
}

int atb_spec_check(const struct atb_spec *spec, struct atb_run *run, struct atb_error *err)
{
    struct atb_error verr;
    const char *input = atb_run_get_input(run);
    int rc = atb_run_check(run, &verr);

    if (rc == 0 || err == NULL)
        return rc;
    *err = verr;
    if (verr.id < 0 && verr.key != NULL && strcmp(verr.key, "input") == 0) {
        /* Only the spec's own input is the spec's problem. */
        if (!GIVEN(spec, T_INPUT) || input == NULL || strcmp(input, spec->input) != 0)
            return rc;
        rc = place(spec, err, SIZE_MAX, "input", -1, "%s", verr.text);
    } else if (verr.id >= 0 && (size_t)verr.id < spec->ncmds && !caller_probe(spec, &verr)) {
        rc = place(spec, err, (size_t)verr.id, verr.key, verr.index, "%s", verr.text);
    } else {
        return rc;
    }
    err->id = verr.id;
    err->key = verr.key;
    err->index = verr.index;
    return rc;
}

char *atb_spec_message(const struct atb_error *err, const char *origin, char *buf, size_t size)
{
    struct atb__buf b;

    atb__buf_init(&b, buf, size);
    atb__buf_add(&b, "%s", origin ? origin : "spec");
    if (err->line > 0)
        atb__buf_add(&b, ":%u:%u", err->line, err->col);
    if (err->path[0] != '\0')
        atb__buf_add(&b, ": %s", err->path);
    atb__buf_add(&b, ": %s", err->text);
    return buf;
}
