/* probe: --ready-probe and --health-probe NAME=KIND:VALUE, for the modes
 * and atb run (see probe.c). */
#ifndef ATB_CMD_PROBE_H
#define ATB_CMD_PROBE_H

#include "cmd.h"

/* The options, for the option tables of the modes and of atb run (after
 * the reports' 560 on). */
enum { CMD_OPT_READY_PROBE = 580, CMD_OPT_HEALTH_PROBE = 581 };
#define CMD_PROBE_OPTIONS                                                    \
    {"ready-probe", required_argument, NULL, CMD_OPT_READY_PROBE},           \
        {"health-probe", required_argument, NULL, CMD_OPT_HEALTH_PROBE}

/* The probes given as options, checked as they are parsed and given to a
 * run once it has its commands. Each arg is the option's value as given
 * (argv's: it outlives the run). */
#define CMD_PROBES_MAX 64
struct cmd_probes {
    size_t n;
    const char *arg[CMD_PROBES_MAX];
    unsigned char health[CMD_PROBES_MAX]; /* 1: --health-probe */
    enum atb_probe_kind kind[CMD_PROBES_MAX];
};

/* Takes opt into list when it is --ready-probe or --health-probe, after
 * checking its value: NAME=tcp:HOST:PORT, NAME=http:URL or NAME=exec:LINE,
 * with a name, a known kind and a value, and no second probe of the same
 * kind for NAME. Returns 1 when it did, 0 when opt is neither, -1 after a
 * message naming the option and the value; who starts the message
 * ("pool", "run"). */
int cmd_probe_option(const char *who, int opt, const char *arg, struct cmd_probes *list);

/* Gives run the probes of list (atb_run_set_probe(), which looks the names
 * up when the run is checked) and, with verbose (-v), the exec probes'
 * output on stderr (atb_run_set_probe_output()). fed: the commands come
 * from stdin, where no name is known yet: a probe is refused. Call it once
 * the commands are added, before the run is checked. Returns 0, or -1
 * after a message. */
int cmd_probes_apply(const struct cmd_probes *list, struct atb_run *run, const char *who,
                     int verbose, int fed);

/* When the check of run failed over a probe the options in list gave (e:
 * what atb_run_error() or atb_spec_check() said; list NULL: every
 * probe came from the options, as in the modes), says so naming the
 * option, as "pool: --health-probe: 'web': only a service has a health
 * probe", and returns 1; else returns 0 and says nothing. */
int cmd_probes_error(const struct cmd_probes *list, const struct atb_run *run,
                     const struct atb_error *e, const char *who);

#endif
