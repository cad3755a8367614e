/* spec-int: the parsed spec, shared by spec.c (JSON -> spec) and
 * spec-apply.c (spec -> run). Private to lib/spec*.c. */
#ifndef ATB_SPEC_INT_H
#define ATB_SPEC_INT_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "atb.h"

enum { T_MODE, T_JOBS, T_GRACE, T_SIGNAL, T_TIMEOUT, T_OUTPUT, T_PREFIX, T_COLOR,
       T_NO_PAD, T_FIRST_SUCCESS, T_INPUT, T_COMMANDS, T_CLEANUP, T_RETRIES, T_RETRY_DELAY,
       T_RETRY_BACKOFF, T_LAUNCHER };
#define ATB__SPEC_NKEYS 17
extern const char *const atb__spec_top_keys[ATB__SPEC_NKEYS];

struct atb_spec {
    cJSON *root;
    char *text;              /* owned copy of the JSON, for positions */
    size_t len;
    uint32_t given;          /* a bit per top-level key present */
    enum atb_mode mode;
    int first_success;
    unsigned jobs;
    double grace_s;
    int signo;
    double timeout_s;
    enum atb_output output;
    const char *prefix;
    enum atb_color color;
    int no_pad;
    const char *input;
    double retries, retry_delay_s, retry_backoff;
    enum atb_launcher launcher;
    struct atb_cmd *cmds;    /* ncmds; argv, env, cwd and wait_for are owned
                                here, the strings they point to belong to root */
    size_t ncmds, nmain;
    const cJSON **objs;      /* each command's object in root */
    int one;                 /* one command object: paths start there */
};

/* spec-probe.c: a command's ready_probe or health_probe object into *out
 * (calloc'd, for atb__spec_probe_free(); its strings are the tree's).
 * Returns 0, ATB_ESPEC after reporting, or -ENOMEM. */
struct atb__jwalk;
int atb__spec_probe(struct atb__jwalk *w, const cJSON *obj, int health,
                    const struct atb_probe **out);
void atb__spec_probe_free(const struct atb_probe *p);
/* spec-slurm.c: a command's "slurm" object into *out (calloc'd, for
 * atb__spec_slurm_free(); its strings are the tree's). */
int atb__spec_slurm(struct atb__jwalk *w, const cJSON *obj, const struct atb_slurm **out);
void atb__spec_slurm_free(const struct atb_slurm *s);

#define GIVEN(spec, key) (((spec)->given >> (key)) & 1u)

#endif
