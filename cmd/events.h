/* events: --events, the live event stream of a run (atb-events(5)): one
 * JSON object a line, written as things happen, never holding up the run.
 * Included by cmd.h. */
#ifndef ATB_CMD_EVENTS_H
#define ATB_CMD_EVENTS_H

#include "atb.h"

/* The option's getopt value (after the settings' 512-529, --rerun-failed's
 * 530 and the reports' 560-561). */
enum { CMD_OPT_EVENTS = 570 };

struct cmd_events;
struct cmd_reports;

/* Whether --events' value (where: "-", "fd:N" or a path; NULL: none) is
 * standard output. */
int cmd_events_stdout(const char *where);

/* Checks r->events before anything is opened: "fd:N" must name an fd open
 * for writing, 3 or more ("-" or fd:1 is standard output). For standard
 * output it refuses --report - and --junit -, and sends the commands'
 * output to standard error instead, so that the stream is all stdout
 * holds; for what is not a regular file it asks run for a tick (queued
 * lines go out then). Returns 0, or -1 after a message. */
int cmd_events_check(const struct cmd_reports *r, struct atb_run *run);

/* Opens where the events go (where NULL: *out is NULL): a path is created
 * or truncated (a FIFO waits for its reader, as a shell's '>' does); an fd
 * is made close-on-exec so no command inherits it. Time 0 of the stream is
 * now. The caller owns *out: cmd_events_end() or cmd_events_discard().
 * Returns 0, or -1 after a message. */
int cmd_events_open(const char *where, struct cmd_events **out);

/* One event of the run, from the run's event callback: written (or
 * queued) as a line; a tick sends what is queued. e may be NULL. */
void cmd_events_event(struct cmd_events *e, struct atb_run *run, const struct atb_event *ev);

/* The run took place and is over: writes run_ended (status: atb's exit
 * status; sig: the signal atb is about to die of, or 0), waits a bounded
 * time for queued lines to go, says on stderr if a write failed (EPIPE
 * aside), then closes and frees e. Safe on NULL. */
void cmd_events_end(struct cmd_events *e, struct atb_run *run, int status, int sig);

/* The run could not take place: closes and frees e, having written
 * nothing. Safe on NULL. */
void cmd_events_discard(struct cmd_events *e);

#endif
