/* scope: a run's private latch folder, exported to its commands as
 * ATB_LATCH_DIR (see atb-latch(1)), and removed at the end. */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* Makes the folder and the environment that names it: ours comes first and
 * any inherited ATB_LATCH_DIR is left out. */
int atb__scope_open(struct atb_run *run, struct atb_error *err)
{
    struct atb_latch_error lerr;
    size_t n = 0;
    int rc;

    if (!run->set.latch_scope)
        return 0;
    rc = atb_latch_scope_open(&run->latch_dir, &run->latch_lock, &lerr);
    if (rc < 0) {
        struct atb__buf b;

        memset(err, 0, sizeof(*err));
        err->code = rc;
        err->id = -1;
        err->index = -1;
        atb__buf_init(&b, err->text, sizeof(err->text));
        if (rc == ATB_ELATCHDIR)
            atb__buf_add(&b, "latch folder %s %s", lerr.path, lerr.why ? lerr.why : "is unsafe");
        else
            atb__buf_add(&b, "latch folder: %s", atb_strerror(rc));
        return rc;
    }
    run->base_env_latch = malloc(strlen(run->latch_dir) + sizeof("ATB_LATCH_DIR="));
    while (environ[n])
        n++;
    run->base_env = malloc((n + 2) * sizeof(char *));
    if (run->base_env == NULL || run->base_env_latch == NULL) {
        memset(err, 0, sizeof(*err));
        err->code = -ENOMEM;
        snprintf(err->text, sizeof(err->text), "out of memory");
        return -ENOMEM;
    }
    sprintf(run->base_env_latch, "ATB_LATCH_DIR=%s", run->latch_dir);
    run->base_env[0] = run->base_env_latch;
    n = 1;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "ATB_LATCH_DIR=", 14) != 0)
            run->base_env[n++] = *e;
    run->base_env[n] = NULL;
    return 0;
}

void atb__scope_close(struct atb_run *run)
{
    if (run->latch_dir) {
        (void)atb_latch_scope_close(run->latch_dir);
        atb__close(&run->latch_lock);
        /* Runs that were killed left their folders; the next run to end
         * normally removes them. */
        (void)atb_latch_scope_sweep();
    }
    free(run->latch_dir);
    free(run->base_env);
    free(run->base_env_latch);
    run->latch_dir = NULL;
    run->base_env = NULL;
    run->base_env_latch = NULL;
}
