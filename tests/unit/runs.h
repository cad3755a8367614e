/* What the run tests share: commands from ATB_CMD_INIT in one expression,
 * and the exit status table of the atb program (cmd/exit.c), which turns a
 * run's results into the status a shell sees. */
#ifndef ATB_UNIT_RUNS_H
#define ATB_UNIT_RUNS_H

#include "atb.h"
#include "exit.h"

#define CMD_SH(n, line)                                                                  \
    ((struct atb_cmd){.size = sizeof(struct atb_cmd), .retries = -1, .retry_delay_s = -1,   \
                      .name = (n), .shell = (line)})
#define CMD_ARGV(n, v)                                                                   \
    ((struct atb_cmd){.size = sizeof(struct atb_cmd), .retries = -1, .retry_delay_s = -1,   \
                      .name = (n), .argv = (v)})

#endif
