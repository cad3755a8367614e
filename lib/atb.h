/* atb: structured concurrency for processes.
 *
 * The one public header of libatb. Every function returns 0 (or a count, or
 * an id) on success and a negative errno, or a negative ATB_E... code for
 * atb's own kinds of failure, on error; atb_strerror() turns either into
 * text. The library never prints, never exits, never picks an exit status,
 * and changes process-wide state (signal handlers, the signal mask, the
 * subreaper flag, resource limits) only inside atb_run_exec() and
 * atb_latch_wait(), where their comments say so.
 *
 * ABI: within soname libatb.so.0, functions are only added, never changed or
 * removed; structs the library fills and hands back (struct atb_result,
 * struct atb_event, struct atb_counts) only grow at their end; struct
 * atb_cmd, which callers fill, starts with its own size (set by
 * ATB_CMD_INIT), so fields can be added to it as well; the other structs
 * callers allocate (struct atb_error, and those of atb/latch.h and
 * atb/cancel.h) keep their layout for soname 0. Runs are opaque and
 * configured by setters.
 */
#ifndef ATB_H
#define ATB_H

#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ATB_VERSION_MAJOR 0
#define ATB_VERSION_MINOR 2
#define ATB_VERSION_PATCH 0
#define ATB_VERSION "0.2.0"
/* 0x00MMmmpp: compare with atb_version() to learn what was loaded. */
#define ATB_VERSION_HEX ((ATB_VERSION_MAJOR << 16) | (ATB_VERSION_MINOR << 8) | ATB_VERSION_PATCH)

/* The version of the library actually loaded, as ATB_VERSION_HEX. */
unsigned atb_version(void);

/* The same as text ("0.2.0"); static. */
const char *atb_version_string(void);

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
    ATB_ECLEANUP = -1010,  /* a key a cleanup command cannot have */
    ATB_EDUPNAME = -1011,  /* two commands have the same name */
    ATB_ERETRY = -1012,    /* retries where there can be none (a service) */
    ATB_EPROBE = -1013,    /* a probe that cannot be (a bad target, with
                              ready_when, health_probe on a non-service) */
    ATB_ELAUNCHER = -1014, /* the launcher cannot run here (srun not found) */
    ATB_ELATCHNAME = -1100, /* not a valid latch name */
    ATB_ELATCHDIR = -1101,  /* latch folder is unsafe (symlink, owner, mode) */
    ATB_ETIMEDOUT = -1102,  /* a wait reached its time limit */
    ATB_ESPEC = -1200       /* an invalid spec: bad JSON, or not the schema */
};

/* Returns a static description of a negative errno or ATB_E... code. */
const char *atb_strerror(int err);

/* What is wrong with a run's commands, or with a spec: filled by the
 * functions that take one (the pointer may be NULL) when they fail with
 * the code in it. The layout is fixed for soname 0. */
struct atb_error {
    int code;          /* the negative code the function returned */
    int id;            /* the command concerned (see atb_run_add()), or -1 */
    const char *key;   /* its setting concerned ("wait_for", "sets", "name",
                          "ready_when", "service", "input", ...; static), or NULL */
    int index;         /* the element of that key (wait_for[index]), or -1 */
    unsigned line, col; /* 1-based position in a spec's text, or 0 */
    char path[160];    /* a spec's JSON path ("commands[2].wait_for[0]"), or "" */
    char text[320];    /* what is wrong, user text quoted and escaped, without
                          where: "'db' is neither a command's name nor a latch
                          that a command sets" */
};

/* Parses a duration: "10" (seconds), "1.5s", "250ms", "2m", "1h". Stores
 * seconds in *seconds. Returns 0, or ATB_EDURATION for anything else. */
int atb_duration_parse(const char *text, double *seconds);

/* Parses a signal given as "TERM", "SIGTERM" or "15" (names in any case).
 * Returns 0 and stores the number, or ATB_ESIGNAL. */
int atb_signal_parse(const char *text, int *signo);

/* Returns the name of a signal ("SIGTERM"), or NULL for an unknown one. */
const char *atb_signal_name(int signo);

#ifdef __cplusplus
}
#endif

#include "atb/run.h"
#include "atb/latch.h"
#include "atb/cancel.h"
#include "atb/spec.h"

#endif
