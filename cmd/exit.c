/* exit: the one table of atb's exit statuses (see exit.h and atb(1)). */
#include "exit.h"

#include <errno.h>

int cmd_status_of_start(int start_error)
{
    switch (start_error) {
    case -ENOENT:
        return EXIT_NOT_FOUND;
    case -EAGAIN:
    case -ENOMEM:
    case -EMFILE:
    case -ENFILE:
        return EXIT_ATB; /* atb ran out of something: its own failure */
    default:
        return EXIT_CANNOT_EXEC;
    }
}

int cmd_status_of(const struct atb_result *res)
{
    if (res->state == ATB_STATE_TIMED_OUT)
        return EXIT_TIMEOUT;
    if (res->start_error != 0)
        return cmd_status_of_start(res->start_error);
    /* A service that ended by itself failed, even with status 0; one the
     * run stopped as unhealthy failed too, whatever its signal says. */
    if (res->service && res->state == ATB_STATE_FAILED &&
        (res->exit_code == 0 || (res->term_signal > 0 && res->term_signal == res->sent_signal)))
        return 1;
    if (res->term_signal > 0)
        return EXIT_SIGNAL_BASE + res->term_signal;
    return res->exit_code < 0 ? EXIT_OK : res->exit_code;
}

static int status_of_id(const struct atb_run *run, int id)
{
    const struct atb_result *res = id >= 0 ? atb_run_result(run, id) : NULL;

    return res ? cmd_status_of(res) : EXIT_OK;
}

static int preserve_status;

void cmd_exit_preserve_status(int on)
{
    preserve_status = on;
}

/* --preserve-status: after a deadline, what the commands' own statuses
 * say, as timeout --preserve-status gives the command's (143 for one that
 * SIGTERM ended, its own code for one that caught it): the first main
 * command that failed or did not succeed. */
static int preserved(const struct atb_run *run)
{
    const struct atb_result *res = NULL;
    int id = atb_run_first_failure(run, 0);

    if (id >= 0)
        res = atb_run_result(run, id);
    for (size_t i = 0; res == NULL && i < atb_run_count(run); i++) {
        const struct atb_result *r = atb_run_result(run, (int)i);

        if (r && !r->cleanup && r->pid > 0 && r->state != ATB_STATE_SUCCEEDED)
            res = r;
    }
    if (res == NULL)
        return EXIT_TIMEOUT;
    if (res->start_error != 0)
        return cmd_status_of_start(res->start_error);
    if (res->term_signal > 0)
        return EXIT_SIGNAL_BASE + res->term_signal;
    return res->exit_code >= 0 ? res->exit_code : EXIT_TIMEOUT;
}

/* The main commands' status decides; cleanup failures only when the main
 * commands succeeded, as an exit handler's errors join the body's. */
int cmd_run_status(const struct atb_run *run)
{
    int status;

    if (atb_run_signal(run))
        return EXIT_SIGNAL_BASE + atb_run_signal(run);
    if (atb_run_outcome(run) == ATB_OUTCOME_TIMED_OUT)
        return preserve_status ? preserved(run) : EXIT_TIMEOUT;
    if (atb_run_failure(run))
        return EXIT_ATB;
    if (atb_run_get_mode(run) == ATB_MODE_RACE && atb_run_winner(run) >= 0)
        status = status_of_id(run, atb_run_winner(run));
    else
        status = status_of_id(run, atb_run_first_failure(run, 0));
    if (status == EXIT_OK)
        status = status_of_id(run, atb_run_first_failure(run, 1));
    return status;
}
