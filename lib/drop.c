/* drop: taking commands out of a checked run before it starts, for a rerun
 * of what failed (atb --rerun-failed), and what a command waits for.
 *
 * A dropped command leaves the run as if it had never been added: out of
 * cmds (main and cleanup parts keep their id order, so bisection still
 * finds the others), out of the tally, freed. Only its name stays behind,
 * retired, so that no command added later takes it and no name changes
 * between the run the caller checked and the one that starts. The start
 * checks the run again (atb__run_prepare()), which finds it consistent:
 * nothing left waits for a dropped command, and every command left is
 * named already.
 */
#include "engine.h"

#include <errno.h>
#include <string.h>

/* atb_run_check() succeeded and the run has not started: it named every
 * command and left no error behind (a failed check leaves one). */
static int checked(const struct atb_run *run)
{
    return run->stage == ATB__NEW && run->named && run->error.code == 0;
}

/* Whether cmd has been through the check: named, and its wait_for
 * resolved (a command added after the check has neither). */
static int resolved(const struct atb__cmd *cmd)
{
    return cmd->named && (cmd->wait_for == NULL || cmd->wait_for[0] == NULL || cmd->deps);
}

/* Finds victim's place in cmds, making sure no other command waits for
 * it. Returns 0, ATB_EDEPS, or ATB_ESTATE for a command added since the
 * check (its waits are not known yet). */
static int place_of(const struct atb_run *run, const struct atb__cmd *victim, size_t *at)
{
    *at = run->n;
    for (size_t i = 0; i < run->n; i++) {
        const struct atb__cmd *cmd = run->cmds[i];

        if (cmd == victim) {
            *at = i;
            continue;
        }
        if (!resolved(cmd))
            return ATB_ESTATE;
        for (size_t k = 0; k < cmd->ndeps; k++)
            if (cmd->deps[k] == victim)
                return ATB_EDEPS;
    }
    return *at < run->n ? 0 : ATB_ENONAME;
}

int atb_run_drop(struct atb_run *run, int id)
{
    struct atb__cmd *cmd;
    size_t at;
    int rc;

    if (!checked(run))
        return ATB_ESTATE;
    cmd = atb__cmd_by_id(run, id);
    if (cmd == NULL)
        return ATB_ENONAME;
    if (!resolved(cmd))
        return ATB_ESTATE;
    rc = place_of(run, cmd, &at);
    if (rc < 0)
        return rc;
    /* Retired whether given or default: the start must find every name
     * where the caller saw it. */
    rc = atb__names_add(&run->retired, cmd->name);
    if (rc < 0 && rc != -EEXIST)
        return rc;
    atb__names_del(&run->names, cmd->name);
    /* The command that was to read the caller's fd is gone: none reads
     * it (the fd stays the caller's; a lone command left does not get it
     * instead, so that each command reads what it would have read). */
    if (cmd->input || run->set.input_id == id ||
        (run->set.input != NULL && strcmp(run->set.input, cmd->name) == 0))
        atb_run_set_input_id(run, -1, -1);
    memmove(run->cmds + at, run->cmds + at + 1, (run->n - at - 1) * sizeof(*run->cmds));
    run->n--;
    run->nmain -= at < run->nmain;
    atb__cmd_phase(cmd, ATB__NPHASES);
    atb__cmd_free(cmd);
    return 0;
}

int atb_run_wait_for(const struct atb_run *run, int id, size_t k)
{
    const struct atb__cmd *cmd;

    if (!run->named || (run->stage == ATB__NEW && run->error.code != 0))
        return ATB_ESTATE;
    cmd = atb__cmd_by_id(run, id);
    if (cmd == NULL || k >= cmd->ndeps)
        return ATB_ENONAME;
    return cmd->deps[k]->res.id;
}
