/* srun: what the Slurm launcher (slurm.c) says to srun and scancel, and
 * what it makes of srun's stderr. Policy only: strings in, decisions out;
 * no process is started here, so every rule has a unit test.
 *
 * srun writes its own lines and the task's stderr to one stream. Its own
 * lines start "srun: " (with -v, they include "launching StepId=J.S",
 * which is how the launcher learns the job and step ids) and those of the
 * step daemon on the node "slurmstepd: " (or "slurmstepd-HOST: "); a
 * failed exec is "slurmstepd: error: execve(): PROG: No such file or
 * directory". The launcher keeps all of them out of the command's output:
 * a task line that happens to start so is lost, the price of a readable
 * output.
 */
#include "srun.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLURM_COUNT_MAX 100000
#define SRUN_OPTIONS_MAX 12

/* Digits, then one of the units srun takes (or none). */
static int mem_valid(const char *s)
{
    size_t n = strspn(s, "0123456789");

    if (n == 0 || n > 12)
        return 0;
    s += n;
    if (*s && strchr("KMGTkmgt", *s))
        s++;
    return *s == '\0';
}

/* A run of 1 to 9 digits at *s, advanced past. */
static int digits(const char **s)
{
    size_t n = strspn(*s, "0123456789");

    *s += n;
    return n >= 1 && n <= 9;
}

/* srun's time formats: MIN, MIN:SEC, H:MIN:SEC, D-H, D-H:MIN, D-H:MIN:SEC,
 * or "UNLIMITED"/"INFINITE". */
static int time_valid(const char *s)
{
    int colons = 0, days = 0;

    if (strcmp(s, "UNLIMITED") == 0 || strcmp(s, "INFINITE") == 0)
        return 1;
    if (!digits(&s))
        return 0;
    if (*s == '-') {
        s++;
        days = 1;
        if (!digits(&s))
            return 0;
    }
    while (*s == ':') {
        s++;
        if (++colons > 2 || !digits(&s))
            return 0;
    }
    (void)days; /* with or without days, at most two colons follow */
    return *s == '\0';
}

int atb_slurm_check(const struct atb_slurm *s, const char **field)
{
    static const char *none = "";

    *field = none;
    if (s == NULL)
        return 0;
    if (s->partition && (s->partition[0] == '\0' || strpbrk(s->partition, " \t\n=")))
        *field = "partition";
    else if (s->cpus > SLURM_COUNT_MAX)
        *field = "cpus";
    else if (s->mem && !mem_valid(s->mem))
        *field = "mem";
    else if (s->time && !time_valid(s->time))
        *field = "time";
    else if (s->nodes > SLURM_COUNT_MAX)
        *field = "nodes";
    for (size_t i = 0; *field == none && s->args && s->args[i]; i++)
        if (s->args[i][0] != '-')
            *field = "args"; /* an operand would end srun's options */
    return *field == none ? 0 : -EINVAL;
}

/* Job names: what Slurm shows and scancel --name matches. Anything but
 * letters, digits, '.', '_' and '-' becomes '_', so a name is one word in
 * squeue's output and in a shell. */
size_t atb__srun_job_name(const char *token, const char *name, char *buf, size_t size)
{
    int n = snprintf(buf, size, "atb-%s-%s", token, name);

    if (n < 0 || size == 0)
        return 0;
    for (char *p = buf + 4 + strlen(token) + 1; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p))
            *p = '_';
    return (size_t)n < size ? (size_t)n : size - 1;
}

static int push(struct atb__strv *v, const char *fmt, const char *a, unsigned u)
{
    char buf[64], *s;
    int n;

    if (a != NULL)
        n = snprintf(NULL, 0, fmt, a);
    else
        n = snprintf(buf, sizeof(buf), fmt, u);
    s = malloc((size_t)n + 1);
    if (s == NULL)
        return -ENOMEM;
    if (a != NULL)
        snprintf(s, (size_t)n + 1, fmt, a);
    else
        memcpy(s, buf, (size_t)n + 1);
    v->owned[v->nowned++] = s;
    v->argv[v->n++] = s;
    return 0;
}

/* srun's options for one command: verbose (for the ids), quiet about
 * nothing else; a step of the allocation (in_alloc) or a job of its own;
 * then the command's resources and its own options. */
static int options(struct atb__strv *v, const struct atb__srun_req *r)
{
    const struct atb_slurm *s = r->slurm;
    int rc = 0;

    v->argv[v->n++] = "srun";
    v->argv[v->n++] = "--verbose";
    rc = push(v, "--job-name=%s", r->job_name, 0);
    if (rc == 0 && r->in_alloc) {
        /* One step per command on resources of its own, side by side. */
        v->argv[v->n++] = "--exact";
        v->argv[v->n++] = "--ntasks=1";
    }
    if (rc == 0 && s && s->partition)
        rc = push(v, "--partition=%s", s->partition, 0);
    if (rc == 0 && s && s->cpus)
        rc = push(v, "--cpus-per-task=%u", NULL, s->cpus);
    if (rc == 0 && s && s->mem)
        rc = push(v, "--mem=%s", s->mem, 0);
    if (rc == 0 && s && s->time)
        rc = push(v, "--time=%s", s->time, 0);
    if (rc == 0 && s && s->nodes)
        rc = push(v, "--nodes=%u", NULL, s->nodes);
    for (size_t i = 0; rc == 0 && s && s->args && s->args[i]; i++)
        v->argv[v->n++] = s->args[i];
    return rc;
}

int atb__srun_argv(const struct atb__srun_req *r, char *const argv[], struct atb__strv *out)
{
    size_t argc = 0, nargs = 0;
    int rc;

    while (argv[argc])
        argc++;
    while (r->slurm && r->slurm->args && r->slurm->args[nargs])
        nargs++;
    memset(out, 0, sizeof(*out));
    /* srun, its options (SRUN_OPTIONS_MAX at most), "--", the command. */
    out->argv = calloc(SRUN_OPTIONS_MAX + nargs + 1 + argc + 1, sizeof(*out->argv));
    out->owned = calloc(SRUN_OPTIONS_MAX, sizeof(*out->owned));
    if (out->argv == NULL || out->owned == NULL) {
        atb__strv_free(out);
        return -ENOMEM;
    }
    rc = options(out, r);
    if (rc < 0) {
        atb__strv_free(out);
        return rc;
    }
    out->argv[out->n++] = "--";
    for (size_t i = 0; i < argc; i++)
        out->argv[out->n++] = argv[i];
    return 0;
}

void atb__strv_free(struct atb__strv *v)
{
    for (size_t i = 0; v->owned && i < v->nowned; i++)
        free(v->owned[i]);
    free(v->owned);
    free(v->argv);
    memset(v, 0, sizeof(*v));
}

static int starts(const char *line, size_t len, const char *word)
{
    size_t n = strlen(word);

    return len >= n && memcmp(line, word, n) == 0;
}

/* memmem for a NUL-terminated needle. */
static const char *find(const char *line, size_t len, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(line + i, needle, n) == 0)
            return line + i;
    return NULL;
}

/* "J.S" or "J" at p (within end) into the ids. */
static int take_ids(const char *p, const char *end, long *job, long *step)
{
    char buf[48], *e;
    size_t n = (size_t)(end - p) < sizeof(buf) - 1 ? (size_t)(end - p) : sizeof(buf) - 1;
    long j, s = -1;

    memcpy(buf, p, n);
    buf[n] = '\0';
    j = strtol(buf, &e, 10);
    if (e == buf || j < 0)
        return 0;
    if (*e == '.' && e[1] >= '0' && e[1] <= '9')
        s = strtol(e + 1, &e, 10);
    *job = j;
    *step = s;
    return 1;
}

/* Whose line: srun's, the step daemon's, or the task's. */
static int own_line(const char *line, size_t len)
{
    if (starts(line, len, "srun: "))
        return 1;
    if (!starts(line, len, "slurmstepd"))
        return 0;
    line += 10;
    len -= 10;
    if (len > 0 && line[0] == '-') { /* slurmstepd-HOST: */
        const char *colon = memchr(line, ':', len);

        return colon != NULL && memchr(line, ' ', (size_t)(colon - line)) == NULL;
    }
    return starts(line, len, ": ");
}

/* The task could not be executed: which errno, from strerror's words. */
static int exec_error(const char *line, size_t len)
{
    if (find(line, len, "error: execve(): ") == NULL)
        return 0;
    if (find(line, len, "No such file or directory"))
        return -ENOENT;
    if (find(line, len, "Permission denied"))
        return -EACCES;
    if (find(line, len, "Exec format error"))
        return -ENOEXEC;
    return -EACCES;
}

enum atb__srun_kind atb__srun_line(const char *line, size_t len, struct atb__srun_seen *seen)
{
    const char *p, *end = line + len;
    int err;

    if (!own_line(line, len))
        return ATB__SRUN_TASK;
    if ((p = find(line, len, "launching StepId=")) != NULL &&
        take_ids(p + 17, end, &seen->job, &seen->step)) {
        seen->launched = 1;
        return ATB__SRUN_IDS;
    }
    /* "srun: jobid J: nodes(1)...", or while it waits "srun: job J
     * queued and waiting for resources": the job, not yet a step. */
    if (seen->job < 0 && ((starts(line, len, "srun: jobid ") &&
                           take_ids(line + 12, end, &seen->job, &seen->step)) ||
                          (starts(line, len, "srun: job ") &&
                           take_ids(line + 10, end, &seen->job, &seen->step)))) {
        seen->step = -1;
        return ATB__SRUN_IDS;
    }
    if ((err = exec_error(line, len)) != 0) {
        seen->exec_error = err;
        return ATB__SRUN_EXEC;
    }
    /* The last error srun gave before its task ran: why it never did
     * (a partition that does not exist, resources it cannot have). */
    if (!seen->launched && starts(line, len, "srun: error: ")) {
        size_t n = len - 13;

        if (n >= sizeof(seen->error))
            n = sizeof(seen->error) - 1;
        memcpy(seen->error, line + 13, n);
        seen->error[n] = '\0';
        return ATB__SRUN_ERROR;
    }
    return ATB__SRUN_OWN;
}

void atb__srun_seen_init(struct atb__srun_seen *seen)
{
    memset(seen, 0, sizeof(*seen));
    seen->job = seen->step = -1;
}

/* scancel's target for a launched command: "J" or "J.S". */
size_t atb__srun_target(const struct atb__srun_seen *seen, char *buf, size_t size)
{
    int n;

    if (seen->job < 0)
        return 0;
    n = seen->step >= 0 && seen->in_alloc ? snprintf(buf, size, "%ld.%ld", seen->job, seen->step)
                                          : snprintf(buf, size, "%ld", seen->job);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* srun's exit status for a task it reports as killed by signal N is 128+N
 * (and 0:N in its own words). When the run sent that signal, or SIGKILL
 * came after it, the launcher reports a death by signal, as locally. */
int atb__srun_status(int status, int sent_signal, int killed, int *code)
{
    *code = CLD_EXITED;
    if (status > 128 && status < 128 + 65 &&
        ((sent_signal && status - 128 == sent_signal) || (killed && status - 128 == SIGKILL))) {
        *code = CLD_KILLED;
        return status - 128;
    }
    return status;
}

/* One malloc'd block: the struct, the args vector, the strings. */
int atb__slurm_copy(const struct atb_slurm *s, struct atb_slurm **out)
{
    const char *strs[] = {s->partition, s->mem, s->time};
    size_t nargs = 0, size = sizeof(*s), i;
    struct atb_slurm *c;
    char *p, **args;

    *out = NULL;
    while (s->args && s->args[nargs])
        size += strlen(s->args[nargs++]) + 1;
    size += (nargs + 1) * sizeof(char *);
    for (i = 0; i < ATB__ARRAY_SIZE(strs); i++)
        size += strs[i] ? strlen(strs[i]) + 1 : 0;
    c = malloc(size);
    if (c == NULL)
        return -ENOMEM;
    *c = *s;
    args = (char **)(void *)(c + 1);
    p = (char *)(args + nargs + 1);
    for (i = 0; i < nargs; i++) {
        args[i] = strcpy(p, s->args[i]);
        p += strlen(p) + 1;
    }
    args[nargs] = NULL;
    c->args = s->args ? args : NULL;
    for (i = 0; i < ATB__ARRAY_SIZE(strs); i++) {
        const char **dst = i == 0 ? &c->partition : i == 1 ? &c->mem : &c->time;

        if (strs[i] == NULL)
            continue;
        *dst = strcpy(p, strs[i]);
        p += strlen(p) + 1;
    }
    *out = c;
    return 0;
}
