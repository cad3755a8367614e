/* modes: what the end of one command means for its run, and what the run's
 * outcome and exit status are. The policies are the task-group rules:
 *   pool, try-all  the first failure cancels everything else;
 *   wait-all       failures are collected, nothing is cancelled;
 *   race           the first to end (or, with first_success, to succeed)
 *                  wins and everything else is cancelled.
 */
#include "internal.h"

#include <errno.h>

void atb__mode_on_end(struct atb_run *run, struct atb__cmd *cmd)
{
    enum atb_state state = cmd->res.state;
    int failed = state == ATB_STATE_FAILED || state == ATB_STATE_TIMED_OUT;

    if (failed && run->first_failure < 0)
        run->first_failure = (long)cmd->index;
    switch (run->opts.mode) {
    case ATB_MODE_POOL:
    case ATB_MODE_TRY_ALL:
        if (failed)
            atb__run_cancel_all(run, run->opts.cancel_signal);
        break;
    case ATB_MODE_WAIT_ALL:
        break;
    case ATB_MODE_RACE:
        if (run->winner >= 0 || run->stopping || state == ATB_STATE_CANCELLED)
            break;
        if (!run->opts.first_success || state == ATB_STATE_SUCCEEDED) {
            run->winner = (long)cmd->index;
            atb__run_cancel_all(run, run->opts.cancel_signal);
        }
        break;
    }
}

/* The status a shell would give this command: its exit code, 128+N for a
 * death by signal N, 127/126 when it could not be found or executed. */
int atb__cmd_status(const struct atb_result *res)
{
    if (res->term_signal > 0)
        return 128 + res->term_signal;
    return res->exit_code < 0 ? 0 : res->exit_code;
}

enum atb_outcome atb_run_outcome(const struct atb_run *run)
{
    if (run->interrupted)
        return ATB_OUTCOME_INTERRUPTED;
    if (run->timed_out)
        return ATB_OUTCOME_TIMED_OUT;
    if (run->opts.mode == ATB_MODE_RACE && run->winner >= 0)
        return run->cmds[run->winner]->res.state == ATB_STATE_SUCCEEDED
                   ? ATB_OUTCOME_SUCCEEDED
                   : ATB_OUTCOME_FAILED;
    return run->first_failure >= 0 ? ATB_OUTCOME_FAILED : ATB_OUTCOME_SUCCEEDED;
}

int atb_run_exit_status(const struct atb_run *run)
{
    if (run->interrupted)
        return 128 + run->interrupted;
    if (run->timed_out)
        return 124;
    if (run->opts.mode == ATB_MODE_RACE && run->winner >= 0)
        return atb__cmd_status(&run->cmds[run->winner]->res);
    if (run->first_failure >= 0)
        return atb__cmd_status(&run->cmds[run->first_failure]->res);
    return 0;
}
