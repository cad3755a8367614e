/* results: what a run says about itself, during it and after. */
#include "engine.h"

#include <errno.h>

size_t atb_run_count(const struct atb_run *run)
{
    return (size_t)run->next_id;
}

const struct atb_result *atb_run_result(const struct atb_run *run, int id)
{
    const struct atb__cmd *cmd = atb__cmd_by_id(run, id);

    return cmd ? &cmd->res : NULL;
}

const struct atb_counts *atb_run_counts(struct atb_run *run)
{
    struct atb_counts *c = &run->counts;

    c->queued = c->waiting = c->running = c->done = c->failed = 0;
    for (size_t i = 0; i < run->n; i++) {
        const struct atb__cmd *cmd = run->cmds[i];

        switch (cmd->phase) {
        case ATB__QUEUED:
        case ATB__DELAYED: /* to be tried again */
        case ATB__NPHASES: /* not placed yet: the run has not started */
            c->queued++;
            break;
        case ATB__WAITING:
            c->waiting++;
            break;
        case ATB__RUNNING:
            c->running++;
            break;
        default:
            c->done++;
            c->failed += cmd->res.state == ATB_STATE_FAILED ||
                         cmd->res.state == ATB_STATE_TIMED_OUT;
            break;
        }
    }
    c->queued += run->nin;
    c->done += run->forgotten;
    c->total = run->n + run->nin + run->forgotten;
    c->cancelling = run->stopping;
    return c;
}

enum atb_outcome atb_run_outcome(const struct atb_run *run)
{
    if (run->interrupted)
        return ATB_OUTCOME_INTERRUPTED;
    if (run->timed_out)
        return ATB_OUTCOME_TIMED_OUT;
    if (run->failure)
        return ATB_OUTCOME_FAILED;
    /* In a race the winner's result is the run's; elsewhere any failure,
     * of the main commands or of the cleanup ones, is. */
    if (run->set.mode == ATB_MODE_RACE && run->winner) {
        if (run->winner->res.state != ATB_STATE_SUCCEEDED)
            return ATB_OUTCOME_FAILED;
    } else if (run->first_failure) {
        return ATB_OUTCOME_FAILED;
    }
    return run->first_cleanup_failure ? ATB_OUTCOME_FAILED : ATB_OUTCOME_SUCCEEDED;
}

int atb_run_signal(const struct atb_run *run)
{
    return run->interrupted;
}

int atb_run_failure(const struct atb_run *run)
{
    return run->failure;
}

int atb_run_winner(const struct atb_run *run)
{
    return run->winner ? run->winner->res.id : -1;
}

int atb_run_first_failure(const struct atb_run *run, int cleanup)
{
    const struct atb__cmd *cmd = cleanup ? run->first_cleanup_failure : run->first_failure;

    return cmd ? cmd->res.id : -1;
}

int atb_run_killed_at_once(const struct atb_run *run)
{
    return run->killed_at_once;
}

double atb_run_duration(const struct atb_run *run)
{
    return run->duration;
}

size_t atb_run_unlisted(const struct atb_run *run)
{
    return run->forgotten;
}

const char *atb_run_output(const struct atb_run *run, int id, size_t *len)
{
    const struct atb__cmd *cmd = atb__cmd_by_id(run, id);

    if (cmd == NULL || cmd->kept == NULL) {
        *len = 0;
        return NULL;
    }
    *len = cmd->kept_len;
    return cmd->kept;
}
