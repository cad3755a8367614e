/* slurm-int: srun's stderr relay (slurm-relay.c), shared with the Slurm
 * launcher (slurm.c). Private to lib/. */
#ifndef ATB_SLURM_INT_H
#define ATB_SLURM_INT_H

#include "srun.h"

#define ATB__RELAY_LINE 4096

/* srun's stderr, read from a pipe of ours: srun's own lines are taken in
 * (seen), the task's written on to where the command's stderr goes. */
struct atb__relay {
    struct ev_loop *loop;
    struct atb__srun_seen seen;
    int rfd;                /* srun's stderr, read end; -1 once at its end */
    int wfd;                /* where the task's lines go; -1 once closed */
    int nonblock;           /* wfd is the run's pipe: never block on it */
    ev_io rw, ww;
    char in[ATB__RELAY_LINE];
    size_t inlen;
    char *out;              /* task lines not yet written (nonblock) */
    size_t outlen, outcap;
};

/* Sets r up to write to a copy of err_fd (-1: fd 2) and makes the pipe
 * srun writes to (pfd[1], for srun's fd 2; the caller closes it once srun
 * has it). Returns 0 or a negative errno, with nothing left open. */
int atb__relay_open(struct atb__relay *r, struct ev_loop *loop, int err_fd, int nonblock,
                    int pfd[2]);
/* Starts reading. */
void atb__relay_start(struct atb__relay *r);
/* Reads what srun wrote so far (to its end, if it is there), and writes
 * the task's lines on. */
void atb__relay_read(struct atb__relay *r);
/* Stops and closes everything (what was not written yet is lost). */
void atb__relay_close(struct atb__relay *r);

#endif
