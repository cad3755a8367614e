/* rerun: --rerun-failed REPORT, for the modes and atb run (see rerun.c). */
#ifndef ATB_CMD_RERUN_H
#define ATB_CMD_RERUN_H

#include "cmd.h"

/* The option, for the option tables of the modes and of atb run. */
enum { CMD_OPT_RERUN_FAILED = 530 };
#define CMD_RERUN_OPTION {"rerun-failed", required_argument, NULL, CMD_OPT_RERUN_FAILED}

/* Keeps in run only what the JSON report at path (written by --report)
 * says must run again: the main commands that did not succeed there, what
 * they wait for, and the cleanup commands; the others are dropped. Call it
 * once every command is added and stdin is given, before the report files
 * are opened. path NULL: nothing to do. fed: the commands come from stdin
 * (--stdin), which is refused. who starts the messages ("pool", "run").
 * Returns 0 to go on with the run, 1 when nothing failed there (said on
 * stderr: exit 0, run nothing), or -1 after a message (exit 125): the file
 * cannot be read, is not an atb report, or is the report of other
 * commands. */
int cmd_rerun_failed(struct atb_run *run, const char *path, const char *who, int fed);

struct cJSON;
/* For the JSON report of a rerun (report.c): adds "not_rerun" to root, the
 * commands cmd_rerun_failed() left out, each with the name, argv and state
 * the report it read gave them, so that the rerun's report can be rerun in
 * turn. Nothing when there was no rerun. Returns 0 or -ENOMEM. */
int cmd_rerun_report(struct cJSON *root);

#endif
