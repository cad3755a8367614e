/* signals: catching signals during a blocking call (atb_run_exec(),
 * atb_latch_wait()), one policy for both.
 *
 * The signals are blocked and read from a signalfd watched by the call's
 * loop: no handler is installed and no disposition changes, a signal that
 * comes before the loop looks is queued by the kernel, not lost, and one
 * ignored on entry (nohup, a shell's background job) stays ignored, since
 * the kernel drops it; only those the call must see even then (force) are
 * made default while it runs: they are blocked, so that cannot end the
 * process. A blocked mask is inherited across exec, but the children's is
 * set empty at their spawn.
 *
 * The end has no race: the signals stay blocked until the signalfd has been
 * read dry, so one that arrived as the call ended is handed back (with
 * take_pending) rather than lost; then the mask comes back, which delivers
 * what is still pending with the dispositions the caller had.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Reads one signal from the signalfd: its number, or 0 when none is
 * there. */
static int next_signal(int fd)
{
    struct signalfd_siginfo si;
    ssize_t n = atb__read(fd, &si, sizeof(si));

    return n == (ssize_t)sizeof(si) ? (int)si.ssi_signo : 0;
}

static void catch_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct atb__catch *c = w->data;
    int sig;

    (void)loop;
    (void)revents;
    while ((sig = next_signal(c->fd)) > 0)
        c->cb(sig, c->data);
}

int atb__catch_start(struct atb__catch *c, struct ev_loop *loop, const sigset_t *signals,
                     const sigset_t *force, void (*cb)(int signo, void *data), void *data)
{
    struct sigaction dfl;
    sigset_t ignored;
    int err;

    memset(c, 0, sizeof(*c));
    c->loop = loop;
    c->fd = -1;
    c->cb = cb;
    c->data = data;
    c->set = *signals;
    sigemptyset(&c->forced);
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&ignored);
    for (int sig = 1; sig < 65; sig++) {
        if (sigismember(signals, sig) != 1 || sigaction(sig, NULL, &c->old[sig]) < 0 ||
            c->old[sig].sa_handler != SIG_IGN)
            continue;
        if (force != NULL && sigismember(force, sig) == 1 && sigaction(sig, &dfl, NULL) == 0) {
            sigaddset(&c->forced, sig);
            continue;
        }
        /* The kernel drops an ignored signal only while it is not
         * blocked: a blocked one is queued, and a signalfd would read it. */
        sigdelset(&c->set, sig);
        sigaddset(&ignored, sig);
    }
    if (sigprocmask(SIG_BLOCK, &c->set, &c->old_mask) < 0 ||
        sigprocmask(SIG_UNBLOCK, &ignored, NULL) < 0) {
        err = -errno;
        (void)atb__catch_stop(c, 0);
        return err;
    }
    c->fd = signalfd(-1, &c->set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (c->fd < 0) {
        err = -errno;
        (void)atb__catch_stop(c, 0);
        return err;
    }
    ev_io_init(&c->w, catch_cb, c->fd, EV_READ);
    c->w.data = c;
    ev_io_start(loop, &c->w);
    return 0;
}

int atb__catch_stop(struct atb__catch *c, int take_pending)
{
    int sig, first = 0;

    if (c->fd >= 0) {
        ev_io_stop(c->loop, &c->w);
        /* Without take_pending what is queued stays queued, and comes with
         * the caller's dispositions once the mask is back. */
        while (take_pending && (sig = next_signal(c->fd)) > 0)
            if (first == 0)
                first = sig;
        atb__close(&c->fd);
    }
    for (int s = 1; s < 65; s++)
        if (sigismember(&c->forced, s) == 1)
            sigaction(s, &c->old[s], NULL);
    sigprocmask(SIG_SETMASK, &c->old_mask, NULL);
    return first;
}
