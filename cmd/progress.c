/* progress: the status line of --progress, drawn on stderr from the run's
 * events, as curl's tool draws its meter from libcurl's callback: redrawn
 * at each tick (10 a second), taken off the screen before the run writes
 * the commands' output (the next tick puts it back) and at the end. The
 * same callback tells a person at the terminal what a caught signal will
 * do (atb shield). */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

double cmd_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes all of buf to stderr; a failure (EPIPE) ends the status line. */
static void put(struct cmd_view *v, const char *buf, size_t len)
{
    while (len > 0 && !v->broken) {
        ssize_t n = write(STDERR_FILENO, buf, len);
        if (n >= 0) {
            buf += n;
            len -= (size_t)n;
        } else if (errno != EINTR && errno != EAGAIN) {
            v->broken = 1;
        }
    }
}

void cmd_progress_clear(struct cmd_view *v)
{
    if (v->shown) {
        put(v, "\r\033[K", 4);
        v->shown = 0;
    }
}

static void draw(struct cmd_view *v)
{
    const struct atb_counts *c = atb_run_counts(v->run);
    double elapsed = cmd_now() - v->t0;
    char line[256], eta[48] = "";
    int len;

    /* The remaining work at the rate seen so far. */
    if (c->done > 0 && c->done < c->total && !c->cancelling)
        snprintf(eta, sizeof(eta), ", ETA %.0fs",
                 elapsed / (double)c->done * (double)(c->total - c->done));
    len = snprintf(line, sizeof(line),
                   "\r\033[Katb: %zu running, %zu done, %zu failed, %zu queued, %zu waiting, "
                   "%.1fs%s",
                   c->running, c->done, c->failed, c->queued, c->waiting, elapsed, eta);
    if (len > 0) {
        put(v, line, (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1);
        v->shown = !v->broken;
    }
}

/* Group mode lost its temporary files: said once a run, with the folder,
 * since every command after the first meets the same full disk. Each
 * command whose output then outgrows memory is named. */
static void group_notice(struct cmd_view *v, struct atb_run *run, const struct atb_event *ev)
{
    const struct atb_result *r = atb_run_result(run, ev->id);
    const char *dir = getenv("TMPDIR");
    const char *name = r != NULL ? r->name : "?";

    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    cmd_progress_clear(v);
    if (ev->kind == ATB_EVENT_HELD && !v->held_said) {
        v->held_said = 1;
        cmd_err("%s: no temporary file in %s for grouped output (%s): holding it in memory, "
                "up to %u MiB a command",
                v->who, dir, atb_strerror(ev->error), ATB_GROUP_HOLD_MAX >> 20);
    } else if (ev->kind == ATB_EVENT_LOOSE) {
        cmd_err("%s: %s: no room left to hold its output: the rest is written as it "
                "comes, outside its block", v->who, name);
    }
}

/* An attempt failed and the command starts again: said as it happens,
 * since its output (prefix mode) shows only the attempt's number. */
static void retry_notice(struct cmd_view *v, struct atb_run *run, const struct atb_event *ev)
{
    const struct atb_result *r = atb_run_attempt(run, ev->id, ev->count - 2);
    char what[160], delay[32];

    if (r == NULL)
        return;
    cmd_describe(run, r, what, sizeof(what));
    cmd_format_duration(delay, sizeof(delay), ev->delay_s);
    cmd_progress_clear(v);
    cmd_err("%s: attempt %d of %d failed (%s); attempt %d %s%s", r->name, ev->count - 1,
            r->attempts_max, what, ev->count, ev->delay_s > 0 ? "in " : "now",
            ev->delay_s > 0 ? delay : "");
}

void cmd_progress_event(struct atb_run *run, const struct atb_event *ev, void *data)
{
    struct cmd_view *v = data;

    /* --events: every event also goes to the live stream (events.c). */
    if (v->events)
        cmd_events_event(v->events, run, ev);
    switch (ev->kind) {
    case ATB_EVENT_RETRY:
        retry_notice(v, run, ev);
        break;
    case ATB_EVENT_HELD:
    case ATB_EVENT_LOOSE:
        group_notice(v, run, ev);
        break;
    case ATB_EVENT_WRITING:
        cmd_progress_clear(v);
        break;
    case ATB_EVENT_TICK:
        if (v->progress)
            draw(v);
        break;
    case ATB_EVENT_SIGNAL:
        if (v->on_signal)
            v->on_signal(ev->signo, ev->count, v->signal_data);
        break;
    default:
        break;
    }
}
