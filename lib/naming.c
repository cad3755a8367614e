/* naming: the names of a run's commands. A command without one is named
 * after its program (its basename; for a shell command, its first word),
 * and made unique with "#2", "#3"... Given names are reserved as they are
 * added, so a default never takes a name the caller chose for a later
 * command.
 */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

size_t atb_name_default(const char *program, int shell, char *buf, size_t size)
{
    const char *start = program, *end, *slash;
    size_t len;

    /* For a shell command, the program is its first word. */
    if (shell) {
        while (*start == ' ' || *start == '\t' || *start == '\n')
            start++;
        for (end = start; *end && *end != ' ' && *end != '\t' && *end != '\n'; end++)
            ;
    } else {
        end = start + strlen(start);
    }
    /* Its basename: "./bin/test" -> "test"; "dir/" keeps "dir". */
    while (end > start + 1 && end[-1] == '/')
        end--;
    for (slash = end; slash > start && slash[-1] != '/'; slash--)
        ;
    start = slash;
    len = (size_t)(end - start);
    if (len == 0) {
        start = "cmd";
        len = 3;
    }
    if (size > 0) {
        size_t copy = len < size - 1 ? len : size - 1;
        memcpy(buf, start, copy);
        buf[copy] = '\0';
    }
    return len;
}

/* Gives cmd its default name, or the first free "name#N": each default name
 * remembers the N it got to, so a thousand "sleep"s cost no more each than
 * the first. */
int atb__name_unique(struct atb_run *run, struct atb__cmd *cmd)
{
    size_t base = strlen(cmd->name);
    unsigned long *next = atb__names_value(&run->bases, cmd->name);
    unsigned long k;
    int rc;

    if (next == NULL) {
        rc = atb__names_add(&run->bases, cmd->name);
        if (rc < 0)
            return rc;
        next = atb__names_value(&run->bases, cmd->name);
        *next = 2;
        k = 2;
    } else {
        /* Seen before: never the bare name again, even if the command that
         * had it was freed (a feed), so names stay unique over the run. */
        k = *next;
        sprintf(cmd->name + base, "#%lu", k++);
    }
    for (; atb__name_taken(run, cmd->name); k++)
        sprintf(cmd->name + base, "#%lu", k);
    *next = k;
    rc = atb__names_add(&run->names, cmd->name);
    if (rc == 0) {
        cmd->named = 1;
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

/* Default names need no keeping: each base's "#N" only grows, so a freed
 * "true#7" is never handed out again. */
int atb__name_retire(struct atb_run *run, struct atb__cmd *cmd)
{
    int rc = cmd->given ? atb__names_add(&run->retired, cmd->name) : 0;

    atb__names_del(&run->names, cmd->name);
    return rc == -EEXIST ? 0 : rc;
}
