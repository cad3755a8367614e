/* guard-int: what the guardian's two files share (guard.c starts it and
 * talks to it; guard-act.c is what it does once atb has died). */
#ifndef ATB_GUARD_INT_H
#define ATB_GUARD_INT_H

#include <stddef.h>
#include <sys/types.h>

/* The groups any guardian can hold: as many as run at once, a million
 * being more than any run starts. Reserved address space, paid for only as
 * used. */
#define PGIDS_MAX (1 << 20)

struct atb__guard_state {
    pid_t *pgids;           /* PGIDS_MAX of them, mapped */
    size_t n;
    const char *token;
    int fd;                 /* the guardian's end of the socket */
    int signo;
    double grace_s;
    const char *will;       /* run first (the atb__guard's), or NULL */
    int top;                /* 0, or the fds to close one by one where
                               close_range() does not work */
};

/* atb has died: runs the will, then cancels what the run left, as atb
 * would have (the cancel signal and SIGCONT, the grace, SIGKILL). */
void atb__guard_act(struct atb__guard_state *g);

#endif
