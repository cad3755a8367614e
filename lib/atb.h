/* atb: structured concurrency for processes.
 *
 * The one public header of libatb. Every function returns 0 (or a count) on
 * success and a negative errno, or a negative ATB_E... code for atb's own
 * kinds of failure, on error; atb_strerror() turns either into text. The
 * library never prints on its own, never exits, and changes process-wide
 * state (signal handlers, the subreaper flag, resource limits) only where a
 * function's comment says so.
 */
#ifndef ATB_H
#define ATB_H

#include <stdio.h>
#include <sys/types.h>

#define ATB_VERSION "0.1.0"

/* atb's own error codes: negative, and outside the errno range. */
enum {
    ATB_EDURATION = -1001, /* not a valid duration */
    ATB_ESIGNAL = -1002,   /* not a known signal name or number */
    ATB_EMODE = -1003,     /* not a known run mode */
    ATB_ESTATE = -1004,    /* call not valid in the object's current state */
    ATB_EPREFIX = -1005,   /* unknown {placeholder} in a prefix format */
    ATB_ENONAME = -1006,   /* no command has that name */
    ATB_ECWD = -1007,      /* working directory missing or not a directory */
    ATB_EDEPS = -1008,     /* wait_for names nothing, or dependencies form a cycle */
    ATB_EREGEX = -1009,    /* ready_when is not a valid extended regex */
    ATB_ELATCHNAME = -1100, /* not a valid latch name */
    ATB_ELATCHDIR = -1101,  /* latch folder is unsafe (symlink, owner, mode) */
    ATB_ETIMEDOUT = -1102   /* a wait reached its time limit */
};

/* Returns a static description of a negative errno or ATB_E... code. */
const char *atb_strerror(int err);

/* Parses a duration: "10" (seconds), "1.5s", "250ms", "2m", "1h". Stores
 * seconds in *seconds. Returns 0, or ATB_EDURATION for anything else. */
int atb_duration_parse(const char *text, double *seconds);

/* Parses a signal given as "TERM", "SIGTERM" or "15" (names in any case).
 * Returns 0 and stores the number, or ATB_ESIGNAL. */
int atb_signal_parse(const char *text, int *signo);

/* Returns the name of a signal ("SIGTERM"), or NULL for an unknown one. */
const char *atb_signal_name(int signo);

#include "atb/run.h"
#include "atb/report.h"
#include "atb/latch.h"
#include "atb/cancel.h"
#include "atb/spec.h"
#include "atb/junit.h"

#endif
