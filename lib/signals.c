/* signals: catching signals during a blocking call (atb_run_exec(),
 * atb_latch_wait()), one policy for both: whoever started the process chose
 * to ignore some signals (nohup, a shell's background jobs), and those stay
 * ignored where the call says so; the caught ones are unblocked while the
 * call runs, since a blocked mask is inherited across exec and a caller may
 * block them until the handlers are in place; and at the end the previous
 * actions and mask come back, so the caller can re-raise a signal with the
 * action it had.
 *
 * The end has a race: a signal can arrive just as the call ends, caught by
 * libev's handler but not yet handed over, or not caught at all yet. With
 * take_pending neither is lost: the signals are blocked, what libev caught
 * is handed over, the watchers stop and the actions come back, and what is
 * still pending is taken with sigtimedwait() and returned.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static void catch_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct atb__catch *c = w->data;

    (void)loop;
    (void)revents;
    c->cb(w->signum, c->data);
}

int atb__catch_start(struct atb__catch *c, struct ev_loop *loop, const int *signals, size_t n,
                     unsigned keep_ignored, void (*cb)(int signo, void *data), void *data)
{
    sigset_t unblock;

    if (n > ATB__CATCH_MAX)
        return -EINVAL;
    memset(c, 0, sizeof(*c));
    c->loop = loop;
    c->n = n;
    c->cb = cb;
    c->data = data;
    sigemptyset(&unblock);
    for (size_t i = 0; i < n; i++) {
        if (sigaction(signals[i], NULL, &c->old[i]) < 0)
            continue;
        if ((keep_ignored & (1u << i)) && c->old[i].sa_handler == SIG_IGN)
            continue;
        ev_signal_init(&c->w[i], catch_cb, signals[i]);
        c->w[i].data = c;
        ev_signal_start(loop, &c->w[i]);
        c->active[i] = 1;
        sigaddset(&unblock, signals[i]);
    }
    sigprocmask(SIG_UNBLOCK, &unblock, &c->old_mask);
    return 0;
}

int atb__catch_stop(struct atb__catch *c, int take_pending)
{
    struct timespec zero = {0, 0};
    sigset_t set;
    int sig, first = 0;

    sigemptyset(&set);
    for (size_t i = 0; i < c->n; i++)
        if (c->active[i])
            sigaddset(&set, c->w[i].signum);
    if (take_pending) {
        sigprocmask(SIG_BLOCK, &set, NULL);
        ev_run(c->loop, EVRUN_NOWAIT);
    }
    for (size_t i = 0; i < c->n; i++) {
        if (!c->active[i])
            continue;
        /* libev sets SIG_DFL when its last watcher for a signal stops; put
         * back what the caller had. */
        ev_signal_stop(c->loop, &c->w[i]);
        sigaction(c->w[i].signum, &c->old[i], NULL);
        c->active[i] = 0;
    }
    while (take_pending && (sig = sigtimedwait(&set, NULL, &zero)) > 0)
        if (first == 0)
            first = sig;
    sigprocmask(SIG_SETMASK, &c->old_mask, NULL);
    return first;
}
