/* The atb program's pieces: each subcommand turns its arguments into library
 * calls and the results into messages and an exit status. */
#ifndef ATB_CMD_H
#define ATB_CMD_H

#include "atb.h"

/* Exit statuses of atb itself (see atb(1), EXIT STATUS). */
#define EXIT_TIMEOUT 124
#define EXIT_ATB 125

/* Prints "atb: MESSAGE" to stderr, err(3)-style. */
void cmd_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Each returns the exit status; argv[0] is the subcommand's name. */
int cmd_modes(int argc, char **argv);  /* pool, try-all, wait-all, race */
int cmd_latch(int argc, char **argv);
void cmd_latch_usage(FILE *out);
int cmd_cancel(int argc, char **argv);
int cmd_shield(int argc, char **argv);
int cmd_run(int argc, char **argv);     /* run SPEC */

/* Dies of sig with its default action, so our parent sees that signal.
 * Returns only if sig does not end the process. */
void cmd_reraise(int sig);

/* Prints the help of a subcommand (NULL: the overview) to out. Returns 0,
 * or -1 when there is no such subcommand. */
int cmd_help(const char *topic, FILE *out);

#endif
