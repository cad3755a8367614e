/* scope: a run's private latch folder, exported to its commands as
 * ATB_LATCH_DIR (see atb-latch(1)) and removed at the end; and the
 * environment every command of the run starts from: the process's, with
 * the run's own variables first (ATB_LATCH_DIR for the scope, ATB_RUN for
 * the guardian's mark, guard.c), which a command keeps under clear_env
 * too, and without the inherited ones they replace. */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

extern char **environ;

static int out_of_memory(struct atb_error *err)
{
    memset(err, 0, sizeof(*err));
    err->code = -ENOMEM;
    err->id = err->index = -1;
    snprintf(err->text, sizeof(err->text), "out of memory");
    return -ENOMEM;
}

/* "NAME=VALUE" in a malloc'd string; VALUE is prefix, then a colon and
 * tail when both are there. */
static char *variable(const char *name, const char *prefix, const char *tail)
{
    size_t len = strlen(name) + 2 + (prefix ? strlen(prefix) + 1 : 0) + strlen(tail);
    char *v = malloc(len);

    if (v != NULL)
        snprintf(v, len, "%s=%s%s%s", name, prefix ? prefix : "", prefix ? ":" : "", tail);
    return v;
}

/* Whether the environment entry e is one of the run's own. */
static int own(const struct atb_run *run, const char *e)
{
    for (size_t i = 0; i < run->base_keep; i++) {
        size_t n = strcspn(run->base_env[i], "=") + 1;
        if (strncmp(e, run->base_env[i], n) == 0)
            return 1;
    }
    return 0;
}

/* The base environment, when the run has variables of its own. Nested
 * runs each add their token to ATB_RUN, so a guardian finds the commands
 * of the runs inside its own too. */
static int base_env(struct atb_run *run, struct atb_error *err)
{
    const char *outer = getenv("ATB_RUN");
    size_t n = 0, k = 0;

    if (run->latch_dir)
        run->base_own[k++] = variable("ATB_LATCH_DIR", NULL, run->latch_dir);
    if (run->mark[0])
        run->base_own[k++] = variable("ATB_RUN", outer && *outer ? outer : NULL, run->mark);
    if (k == 0)
        return 0;
    while (environ[n])
        n++;
    run->base_env = malloc((n + k + 1) * sizeof(char *));
    if (run->base_env == NULL || run->base_own[0] == NULL || (k > 1 && run->base_own[1] == NULL))
        return out_of_memory(err);
    for (size_t i = 0; i < k; i++)
        run->base_env[i] = run->base_own[i];
    run->base_keep = k;
    for (char **e = environ; *e; e++)
        if (!own(run, *e))
            run->base_env[k++] = *e;
    run->base_env[k] = NULL;
    return 0;
}

int atb__scope_open(struct atb_run *run, struct atb_error *err)
{
    struct atb_latch_error lerr;
    int rc;

    if (run->set.latch_scope) {
        rc = atb_latch_scope_open(&run->latch_dir, &run->latch_lock, &lerr);
        if (rc < 0) {
            struct atb__buf b;

            memset(err, 0, sizeof(*err));
            err->code = rc;
            err->id = -1;
            err->index = -1;
            atb__buf_init(&b, err->text, sizeof(err->text));
            if (rc == ATB_ELATCHDIR)
                atb__buf_add(&b, "latch folder %s %s", lerr.path,
                             lerr.why ? lerr.why : "is unsafe");
            else
                atb__buf_add(&b, "latch folder: %s", atb_strerror(rc));
            return rc;
        }
    }
    return base_env(run, err);
}

void atb__scope_close(struct atb_run *run)
{
    if (run->latch_dir) {
        struct stat st;
        /* Only a run whose folder was made could have left one if killed;
         * so only such a run sweeps, and the many that never use latches
         * pay for neither. */
        int made = lstat(run->latch_dir, &st) == 0;

        (void)atb_latch_scope_close(run->latch_dir);
        atb__close(&run->latch_lock);
        /* Runs that were killed left their folders; the next run that
         * used its own and ends normally removes them. */
        if (made)
            (void)atb_latch_scope_sweep();
    }
    free(run->latch_dir);
    free(run->base_env);
    free(run->base_own[0]);
    free(run->base_own[1]);
    run->latch_dir = NULL;
    run->base_env = NULL;
    run->base_own[0] = run->base_own[1] = NULL;
    run->base_keep = 0;
}
