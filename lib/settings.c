/* settings: the run's setters and getters. One setter per setting, so that
 * settings can be added without changing any struct a caller compiles
 * against. Every setter works only before the start. */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BEFORE_START(run)                                                      \
    do {                                                                       \
        if ((run)->stage != ATB__NEW)                                          \
            return ATB_ESTATE;                                                 \
    } while (0)

/* A duration in seconds a setting can take. */
static int seconds_ok(double s)
{
    return isfinite(s) && s >= 0 && s <= 1e9;
}

/* Replaces *slot with a copy of text (NULL: none). */
static int set_text(char **slot, const char *text)
{
    char *copy = NULL;

    if (text != NULL && (copy = strdup(text)) == NULL)
        return -ENOMEM;
    free(*slot);
    *slot = copy;
    return 0;
}

int atb_run_set_mode(struct atb_run *run, enum atb_mode mode)
{
    BEFORE_START(run);
    if ((unsigned)mode > ATB_MODE_RACE)
        return -EINVAL;
    run->set.mode = mode;
    return 0;
}

int atb_run_set_first_success(struct atb_run *run, int on)
{
    BEFORE_START(run);
    run->set.first_success = on != 0;
    return 0;
}

int atb_run_set_jobs(struct atb_run *run, unsigned jobs)
{
    BEFORE_START(run);
    run->set.jobs = jobs;
    return 0;
}

int atb_run_set_cancel(struct atb_run *run, int signo, double grace_s)
{
    BEFORE_START(run);
    if (signo < 1 || signo > 64 || !seconds_ok(grace_s))
        return -EINVAL;
    run->set.cancel_signal = signo;
    run->set.grace_s = grace_s;
    return 0;
}

int atb_run_set_timeout(struct atb_run *run, double seconds)
{
    BEFORE_START(run);
    if (!seconds_ok(seconds))
        return -EINVAL;
    run->set.timeout_s = seconds;
    return 0;
}

int atb_run_set_output(struct atb_run *run, enum atb_output output)
{
    BEFORE_START(run);
    if ((unsigned)output > ATB_OUTPUT_EVENTS)
        return -EINVAL;
    run->set.output = output;
    return 0;
}

int atb_run_set_output_fds(struct atb_run *run, int out_fd, int err_fd)
{
    BEFORE_START(run);
    if (out_fd < 0 || err_fd < 0)
        return -EINVAL;
    run->set.out_fd = out_fd;
    run->set.err_fd = err_fd;
    return 0;
}

int atb_run_set_prefix(struct atb_run *run, const char *format)
{
    BEFORE_START(run);
    if (format != NULL && atb_prefix_check(format) < 0)
        return ATB_EPREFIX;
    return set_text(&run->set.prefix, format);
}

int atb_run_set_pad(struct atb_run *run, int on)
{
    BEFORE_START(run);
    run->set.pad = on != 0;
    return 0;
}

int atb_run_set_color(struct atb_run *run, int stream, enum atb_color color)
{
    BEFORE_START(run);
    if (stream < 0 || stream > 2 || (unsigned)color > ATB_COLOR_NEVER)
        return -EINVAL;
    for (int i = 0; i < 2; i++)
        if (stream == 0 || stream == i + 1)
            run->set.color[i] = color;
    return 0;
}

int atb_run_set_group_header(struct atb_run *run, const char *before, const char *after)
{
    int rc;

    BEFORE_START(run);
    rc = set_text(&run->set.group_before, before);
    return rc < 0 ? rc : set_text(&run->set.group_after, after);
}

int atb_run_set_group_empty(struct atb_run *run, const char *text)
{
    BEFORE_START(run);
    return set_text(&run->set.group_empty, text);
}

int atb_run_set_input(struct atb_run *run, const char *name, int fd)
{
    BEFORE_START(run);
    if (name != NULL && fd < 0)
        return -EINVAL;
    run->set.input_fd = fd;
    run->set.input_id = -1;
    return set_text(&run->set.input, name);
}

int atb_run_set_input_id(struct atb_run *run, int id, int fd)
{
    BEFORE_START(run);
    if (id >= 0 && fd < 0)
        return -EINVAL;
    if (id >= 0 && atb__cmd_by_id(run, id) == NULL)
        return ATB_ENONAME;
    run->set.input_fd = id >= 0 ? fd : -1;
    run->set.input_id = id >= 0 ? id : -1;
    return set_text(&run->set.input, NULL);
}

int atb_run_set_slot_env(struct atb_run *run, const char *name)
{
    BEFORE_START(run);
    if (name != NULL && (name[0] == '\0' || strchr(name, '=') != NULL ||
                         strlen(name) > ATB__SLOT_VAR_MAX - 16))
        return -EINVAL;
    return set_text(&run->set.slot_env, name);
}

int atb_run_set_halt_soon(struct atb_run *run, int on)
{
    BEFORE_START(run);
    run->set.halt_soon = on != 0;
    return 0;
}

int atb_run_set_retries(struct atb_run *run, unsigned retries)
{
    BEFORE_START(run);
    if (retries > ATB__RETRIES_MAX)
        return -EINVAL;
    run->set.retries = retries;
    return 0;
}

int atb_run_set_retry_delay(struct atb_run *run, double delay_s, double backoff)
{
    BEFORE_START(run);
    if (!(delay_s >= 0) || !(backoff == 0 || (backoff >= 1 && backoff <= 1000)))
        return -EINVAL;
    run->set.retry_delay_s = delay_s;
    run->set.retry_backoff = backoff;
    return 0;
}

int atb_run_set_probe_output(struct atb_run *run, int on)
{
    BEFORE_START(run);
    run->set.probe_output = on != 0;
    return 0;
}

int atb_run_set_probe(struct atb_run *run, const char *name, int health,
                      const struct atb_probe *probe)
{
    struct atb__named_probe *list, *np;
    struct atb__probe *p;
    int rc;

    BEFORE_START(run);
    if (name == NULL || name[0] == '\0' || (health != 0 && health != 1) || probe == NULL)
        return -EINVAL;
    list = realloc(run->set.probes, (run->set.nprobes + 1) * sizeof(*list));
    if (list == NULL)
        return -ENOMEM;
    run->set.probes = list;
    rc = atb__probe_new(NULL, probe, health, &p);
    if (rc < 0)
        return rc;
    np = &list[run->set.nprobes];
    np->name = strdup(name);
    if (np->name == NULL) {
        atb__probe_free(p);
        return -ENOMEM;
    }
    np->health = health;
    np->probe = p;
    np->attached = 0;
    run->set.nprobes++;
    return 0;
}

int atb_run_set_keep_order(struct atb_run *run, int on)
{
    BEFORE_START(run);
    run->set.keep_order = on != 0;
    return 0;
}

int atb_run_set_foreground(struct atb_run *run, int tty_fd)
{
    BEFORE_START(run);
    run->set.tty_fd = tty_fd >= 0 ? tty_fd : -1;
    return 0;
}

int atb_run_set_shield_wait(struct atb_run *run, double seconds)
{
    BEFORE_START(run);
    if (!seconds_ok(seconds))
        return -EINVAL;
    run->set.shield_wait_s = seconds;
    return 0;
}

int atb_run_set_latch_scope(struct atb_run *run, int on)
{
    BEFORE_START(run);
    run->set.latch_scope = on != 0;
    return 0;
}

int atb_run_set_keep_output(struct atb_run *run, size_t bytes)
{
    BEFORE_START(run);
    run->set.keep_output = bytes;
    return 0;
}

int atb_run_set_tick(struct atb_run *run, double interval_s)
{
    BEFORE_START(run);
    if (!seconds_ok(interval_s) || (interval_s > 0 && interval_s < 0.001))
        return -EINVAL;
    run->set.tick_s = interval_s;
    return 0;
}

int atb_run_set_watch(struct atb_run *run, enum atb_watch watch)
{
    BEFORE_START(run);
    if ((unsigned)watch > ATB_WATCH_SIGCHLD)
        return -EINVAL;
    run->set.watch = watch;
    return 0;
}

int atb_run_set_catch_signals(struct atb_run *run, int on)
{
    BEFORE_START(run);
    run->set.catch_signals = on != 0;
    return 0;
}

int atb_run_set_guardian(struct atb_run *run, int on)
{
    BEFORE_START(run);
    run->set.guardian = on != 0;
    return 0;
}

int atb_run_on_event(struct atb_run *run, atb_event_cb cb, void *data)
{
    BEFORE_START(run);
    run->set.event_cb = cb;
    run->set.event_data = data;
    return 0;
}

int atb_run_set_feed_delim(struct atb_run *run, int delim)
{
    BEFORE_START(run);
    if (delim != '\n' && delim != '\0')
        return -EINVAL;
    run->set.feed_delim = delim;
    return 0;
}

int atb_run_set_feed_max(struct atb_run *run, size_t max)
{
    BEFORE_START(run);
    if (max < 2)
        return -EINVAL;
    run->set.feed_max = max;
    return 0;
}

int atb_run_set_feed(struct atb_run *run, int fd, atb_feed_cb cb, void *data)
{
    BEFORE_START(run);
    if (cb != NULL && fd < 0)
        return -EINVAL;
    run->set.feed_fd = fd;
    run->set.feed_cb = cb;
    run->set.feed_data = data;
    return 0;
}

enum atb_mode atb_run_get_mode(const struct atb_run *run)
{
    return run->set.mode;
}

int atb_run_set_launcher(struct atb_run *run, enum atb_launcher launcher)
{
    BEFORE_START(run);
    if (launcher != ATB_LAUNCHER_LOCAL && launcher != ATB_LAUNCHER_SLURM)
        return -EINVAL;
    run->set.launcher = launcher;
    return 0;
}

enum atb_launcher atb_run_get_launcher(const struct atb_run *run)
{
    return run->set.launcher;
}

unsigned atb_run_get_retries(const struct atb_run *run)
{
    return run->set.retries;
}

double atb_run_get_retry_delay(const struct atb_run *run)
{
    return run->set.retry_delay_s;
}

double atb_run_get_retry_backoff(const struct atb_run *run)
{
    return run->set.retry_backoff;
}

int atb_run_get_first_success(const struct atb_run *run)
{
    return run->set.first_success;
}

unsigned atb_run_get_jobs(const struct atb_run *run)
{
    return run->set.jobs;
}

int atb_run_get_cancel_signal(const struct atb_run *run)
{
    return run->set.cancel_signal;
}

double atb_run_get_grace(const struct atb_run *run)
{
    return run->set.grace_s;
}

double atb_run_get_timeout(const struct atb_run *run)
{
    return run->set.timeout_s;
}

enum atb_output atb_run_get_output(const struct atb_run *run)
{
    return run->set.output;
}

enum atb_color atb_run_get_color(const struct atb_run *run, int stream)
{
    return run->set.color[stream == 2 ? 1 : 0];
}

const char *atb_run_get_input(const struct atb_run *run)
{
    return run->set.input;
}
