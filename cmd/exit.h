/* exit: the exit statuses of the atb program, one table, mirrored in
 * atb(1), EXIT STATUS. The library reports results; only this table turns
 * them into numbers for a shell.
 *
 *   0        the run succeeded
 *   1..123   the status of the command that decided the run (the first
 *            failure; a race's winner)
 *   124      the run's deadline (--timeout) passed (with --preserve-status:
 *            the status of the first command that did not succeed), or the
 *            deciding command's own time limit or ready_timeout did
 *   125      atb itself failed: usage, a spec, a report file, the JSON
 *            library, the guardian process, or an error during the run
 *            (out of fds or memory, a bad --stdin line)
 *   126      the deciding command was found but could not be executed
 *   127      the deciding command was not found
 *   128+N    the deciding command was killed by signal N, or atb was
 *            interrupted by signal N (then atb dies of N itself)
 */
#ifndef ATB_CMD_EXIT_H
#define ATB_CMD_EXIT_H

#include "atb.h"

#define EXIT_OK 0
#define EXIT_TIMEOUT 124
#define EXIT_ATB 125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127
#define EXIT_SIGNAL_BASE 128

/* The status a command that could not start stands for. */
int cmd_status_of_start(int start_error);

/* The status a shell would give one command's result. */
int cmd_status_of(const struct atb_result *res);

/* The status of a finished run. */
int cmd_run_status(const struct atb_run *run);

/* --preserve-status: a run whose deadline passed gives the status of its
 * first command that did not succeed (its exit code, or 128+N), not 124. */
void cmd_exit_preserve_status(int on);

#endif
