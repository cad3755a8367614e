/* modes: what the end of one command means for its run, and what the run's
 * outcome and exit status are. The policies are the task-group rules:
 *   pool, try-all  the first failure cancels everything else;
 *   wait-all       failures are collected, nothing is cancelled;
 *   race           the first to end (or, with first_success, to succeed)
 *                  wins and everything else is cancelled.
 */
#include "internal.h"

#include <errno.h>

/* Services run alongside the work; once every other main command has
 * ended, they are cancelled, which is their normal end. */
void atb__mode_cancel_services(struct atb_run *run)
{
    for (size_t i = 0; i < run->nmain; i++) {
        struct atb__cmd *cmd = run->cmds[i];
        if (cmd->res.service && cmd->started)
            atb__cmd_cancel(cmd, run->opts.cancel_signal);
    }
}

/* Once every main command that is not a service has ended (and no more can
 * come from a feed), the services' work is done. */
void atb__mode_check_services(struct atb_run *run)
{
    if (!run->feeding && run->work_done == run->nwork && !run->services_cancelled) {
        run->services_cancelled = 1;
        atb__mode_cancel_services(run);
    }
}

void atb__mode_on_end(struct atb_run *run, struct atb__cmd *cmd)
{
    enum atb_state state = cmd->res.state;
    int failed = state == ATB_STATE_FAILED || state == ATB_STATE_TIMED_OUT;

    if (cmd->res.cleanup) {
        /* Cleanup failures join the report; they cancel nothing. */
        if (failed && run->first_cleanup_failure == NULL)
            run->first_cleanup_failure = cmd;
        return;
    }
    if (failed && run->first_failure == NULL)
        run->first_failure = cmd;
    if (!cmd->res.service) {
        run->work_done++;
        atb__mode_check_services(run);
    }
    if (cmd->res.service && run->opts.mode != ATB_MODE_POOL &&
        run->opts.mode != ATB_MODE_TRY_ALL)
        return; /* a service is no contestant in a race */
    switch (run->opts.mode) {
    case ATB_MODE_POOL:
    case ATB_MODE_TRY_ALL:
        if (failed)
            atb__run_cancel_all(run, run->opts.cancel_signal);
        break;
    case ATB_MODE_WAIT_ALL:
        break;
    case ATB_MODE_RACE:
        if (run->winner || run->stopping || state == ATB_STATE_CANCELLED)
            break;
        if (!run->opts.first_success || state == ATB_STATE_SUCCEEDED) {
            run->winner = cmd;
            atb__run_cancel_all(run, run->opts.cancel_signal);
        }
        break;
    }
}

/* The status a shell would give this command: its exit code, 128+N for a
 * death by signal N, 127/126 when it could not be found or executed. */
int atb__cmd_status(const struct atb_result *res)
{
    if (res->state == ATB_STATE_TIMED_OUT)
        return 124;
    if (res->service && res->state == ATB_STATE_FAILED && res->exit_code == 0)
        return 1;
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
    return atb_run_exit_status(run) == 0 ? ATB_OUTCOME_SUCCEEDED : ATB_OUTCOME_FAILED;
}

/* The main commands' status decides; cleanup failures only when the main
 * commands succeeded, as an exit handler's errors join the body's. */
int atb_run_exit_status(const struct atb_run *run)
{
    int status = 0;

    if (run->interrupted)
        return 128 + run->interrupted;
    if (run->timed_out)
        return 124;
    if (run->own_error)
        return 125;
    if (run->opts.mode == ATB_MODE_RACE && run->winner)
        status = atb__cmd_status(&run->winner->res);
    else if (run->first_failure)
        status = atb__cmd_status(&run->first_failure->res);
    if (status == 0 && run->first_cleanup_failure)
        status = atb__cmd_status(&run->first_cleanup_failure->res);
    return status;
}
