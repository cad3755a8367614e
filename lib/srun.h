/* srun: the Slurm launcher's policy (srun.c): srun's command line, the
 * job name, what a line of srun's stderr is. Private to lib/. */
#ifndef ATB_SRUN_H
#define ATB_SRUN_H

#include <stddef.h>

#include "internal.h"

/* A vector of strings, some borrowed, owned[0..nowned) malloc'd. */
struct atb__strv {
    char **argv;    /* NULL-terminated */
    size_t n;
    char **owned;
    size_t nowned;
};
void atb__strv_free(struct atb__strv *v);

struct atb__srun_req {
    const char *job_name;
    int in_alloc;                   /* a step of the allocation we are in */
    const struct atb_slurm *slurm;  /* or NULL */
};

/* srun's argv for running argv as r says, into *out (argv's strings are
 * borrowed, so argv outlives out). Returns 0 or -ENOMEM. */
int atb__srun_argv(const struct atb__srun_req *r, char *const argv[], struct atb__strv *out);

/* "atb-TOKEN-NAME" into buf, NAME's odd characters made '_'. Returns its
 * length (cut to size - 1). */
size_t atb__srun_job_name(const char *token, const char *name, char *buf, size_t size);

/* What srun's stderr told of one command so far. */
struct atb__srun_seen {
    long job, step;         /* -1 until said */
    int in_alloc;           /* steps are cancelled as J.S, jobs as J */
    int launched;           /* the task was launched */
    int exec_error;         /* 0, or the task's exec failed: -ENOENT... */
    char error[160];        /* srun's last error before launching, or "" */
};
void atb__srun_seen_init(struct atb__srun_seen *seen);

enum atb__srun_kind {
    ATB__SRUN_TASK,         /* the task's own line: passed on */
    ATB__SRUN_IDS,          /* srun's, with the ids (now in seen) */
    ATB__SRUN_EXEC,         /* the step daemon's: the exec failed */
    ATB__SRUN_ERROR,        /* srun's error before launching (in seen) */
    ATB__SRUN_OWN           /* any other line of srun's or the daemon's */
};
/* Classifies one line (without its newline) and notes what it says. */
enum atb__srun_kind atb__srun_line(const char *line, size_t len, struct atb__srun_seen *seen);

/* scancel's target ("J" or "J.S") into buf; returns its length, 0 while
 * the job id is unknown. */
size_t atb__srun_target(const struct atb__srun_seen *seen, char *buf, size_t size);

/* A copy of s in one malloc'd block (free() it). 0 or -ENOMEM. */
int atb__slurm_copy(const struct atb_slurm *s, struct atb_slurm **out);

/* srun's exit status -> waitid()-style code (*code) and status. */
int atb__srun_status(int status, int sent_signal, int killed, int *code);

#endif
