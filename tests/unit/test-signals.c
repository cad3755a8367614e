/* Unit tests for lib/signals.c: atb__catch_start() and atb__catch_stop() on
 * a private loop. The signals are blocked and read from a signalfd while
 * caught, so what the caller had must be untouched or come back: actions
 * (only a forced one changes, and returns), the mask, and a signal that
 * arrives as the catching ends is returned with take_pending, never lost
 * nor left to fire later. A signal ignored on entry stays ignored unless it
 * is forced. SIGUSR1 and SIGUSR2 stand in for SIGINT, SIGTERM and SIGHUP,
 * so a mistake cannot interrupt the harness. */
#include "unit.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "internal.h"
#include "waits.h"

static int got[NSIG];           /* what the callback was handed, per signal */
static int ngot;
static void *got_data;
static volatile sig_atomic_t mine[NSIG]; /* what the caller's own handler saw */

static void on_caught(int signo, void *data)
{
    got[signo]++;
    ngot++;
    got_data = data;
}

static void my_handler(int signo)
{
    mine[signo]++;
}

static void set_action(int signo, void (*handler)(int), int flags, int masked)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    if (masked)
        sigaddset(&sa.sa_mask, masked);
    ASSERT_EQ(sigaction(signo, &sa, NULL), 0);
}

static struct sigaction action_of(int signo)
{
    struct sigaction sa;

    ASSERT_EQ(sigaction(signo, NULL, &sa), 0);
    return sa;
}

static int blocked(int signo)
{
    sigset_t now;

    ASSERT_EQ(sigprocmask(SIG_BLOCK, NULL, &now), 0);
    return sigismember(&now, signo);
}

static void block(int how, int signo)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, signo);
    ASSERT_EQ(sigprocmask(how, &set, NULL), 0);
}

static int is_pending(int signo)
{
    sigset_t set;

    ASSERT_EQ(sigpending(&set), 0);
    return sigismember(&set, signo);
}

static sigset_t set_of(int a, int b)
{
    sigset_t set;

    sigemptyset(&set);
    if (a)
        sigaddset(&set, a);
    if (b)
        sigaddset(&set, b);
    return set;
}

static sigset_t mask_now(void)
{
    sigset_t set;

    ASSERT_EQ(sigprocmask(SIG_BLOCK, NULL, &set), 0);
    return set;
}

/* Every signal blocked in a is blocked in b and the other way round. */
static void assert_same_mask(const sigset_t *a, const sigset_t *b)
{
    for (int s = 1; s < NSIG; s++)
        if (sigismember(a, s) != sigismember(b, s))
            unit_fail(__FILE__, __LINE__, "signal %d: blocked %d before, %d after", s,
                      sigismember(a, s), sigismember(b, s));
}

/* The callback gets each caught signal with its data; while caught the
 * signals are blocked and their actions untouched (no handler of the
 * library's); on stop the mask comes back, and the caller's handler is what
 * a later signal reaches. */
TEST(caught_then_given_back)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    sigset_t sigs = set_of(SIGUSR1, SIGUSR2), before, after;
    struct atb__catch c;
    struct sigaction sa;
    int token;

    ASSERT(loop != NULL);
    set_action(SIGUSR1, my_handler, SA_RESTART, SIGUSR2);
    set_action(SIGUSR2, SIG_DFL, 0, 0);
    block(SIG_BLOCK, SIGUSR1);
    before = mask_now();

    ASSERT_EQ(atb__catch_start(&c, loop, &sigs, NULL, on_caught, &token), 0);
    ASSERT_EQ(blocked(SIGUSR1), 1);
    ASSERT_EQ(blocked(SIGUSR2), 1);
    ASSERT(action_of(SIGUSR1).sa_handler == my_handler);
    ASSERT(action_of(SIGUSR2).sa_handler == SIG_DFL);
    ASSERT_EQ(raise(SIGUSR1), 0);
    RUN_UNTIL(loop, got[SIGUSR1] == 1);
    ASSERT(got_data == &token);
    ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
    RUN_UNTIL(loop, got[SIGUSR2] == 1);
    ASSERT_EQ(ngot, 2);
    ASSERT_EQ(mine[SIGUSR1], 0);
    ASSERT_EQ(atb__catch_stop(&c, 0), 0);

    sa = action_of(SIGUSR1);
    ASSERT(sa.sa_handler == my_handler);
    ASSERT(sa.sa_flags & SA_RESTART);
    ASSERT(sigismember(&sa.sa_mask, SIGUSR2));
    ASSERT(action_of(SIGUSR2).sa_handler == SIG_DFL);
    after = mask_now();
    assert_same_mask(&before, &after);
    /* Blocked again as before: raised now, it waits; unblocked, it reaches
     * our handler and not the callback. */
    ASSERT_EQ(raise(SIGUSR1), 0);
    ASSERT_EQ(mine[SIGUSR1], 0);
    block(SIG_UNBLOCK, SIGUSR1);
    ASSERT_EQ(mine[SIGUSR1], 1);
    ev_run(loop, EVRUN_NOWAIT);
    ASSERT_EQ(got[SIGUSR1], 1);
    ev_loop_destroy(loop);
}

/* Ignored on entry: SIGUSR1 stays ignored and is never handed over (nor
 * left pending, though it was blocked on entry); SIGUSR2, forced, is caught
 * although it was ignored, and is ignored again afterwards. */
TEST(ignored_stays_ignored_unless_forced)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    sigset_t sigs = set_of(SIGUSR1, SIGUSR2), force = set_of(SIGUSR2, 0), before, after;
    struct atb__catch c;

    ASSERT(loop != NULL);
    set_action(SIGUSR1, SIG_IGN, 0, 0);
    set_action(SIGUSR2, SIG_IGN, 0, 0);
    block(SIG_BLOCK, SIGUSR1);
    before = mask_now();
    ASSERT_EQ(atb__catch_start(&c, loop, &sigs, &force, on_caught, NULL), 0);
    ASSERT(action_of(SIGUSR1).sa_handler == SIG_IGN);
    ASSERT(action_of(SIGUSR2).sa_handler != SIG_IGN);
    /* Both raised before the loop runs: by the time SIGUSR2 is handed over,
     * SIGUSR1 would have been too. */
    ASSERT_EQ(raise(SIGUSR1), 0);
    ASSERT_EQ(raise(SIGUSR2), 0);
    RUN_UNTIL(loop, got[SIGUSR2] == 1);
    ASSERT_EQ(got[SIGUSR1], 0);
    ASSERT_EQ(atb__catch_stop(&c, 1), 0);
    ASSERT(action_of(SIGUSR1).sa_handler == SIG_IGN);
    ASSERT(action_of(SIGUSR2).sa_handler == SIG_IGN);
    after = mask_now();
    assert_same_mask(&before, &after);
    ASSERT_EQ(is_pending(SIGUSR1), 0);
    ev_loop_destroy(loop);
}

/* take_pending: signals that came after the loop last looked (raised, the
 * loop not run since) are returned, the first of them (the kernel hands
 * out the lowest number first), not passed to the callback, and consumed:
 * once the caller's mask (with them unblocked) and handlers are back, none
 * fires. */
TEST(take_pending_returns_and_consumes)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    sigset_t sigs = set_of(SIGUSR1, SIGUSR2);
    struct atb__catch c;

    ASSERT(loop != NULL);
    set_action(SIGUSR1, my_handler, 0, 0);
    set_action(SIGUSR2, my_handler, 0, 0);
    ASSERT_EQ(blocked(SIGUSR1), 0);
    ASSERT_EQ(atb__catch_start(&c, loop, &sigs, NULL, on_caught, NULL), 0);
    ASSERT_EQ(raise(SIGUSR2), 0);
    ASSERT_EQ(raise(SIGUSR1), 0);
    ASSERT_EQ(is_pending(SIGUSR1), 1);
    ASSERT_EQ(atb__catch_stop(&c, 1), SIGUSR1);
    ASSERT_EQ(ngot, 0);
    ASSERT_EQ(mine[SIGUSR1], 0);
    ASSERT_EQ(mine[SIGUSR2], 0);
    ASSERT_EQ(is_pending(SIGUSR1), 0);
    ASSERT_EQ(is_pending(SIGUSR2), 0);
    ASSERT_EQ(blocked(SIGUSR1), 0);
    ASSERT(action_of(SIGUSR1).sa_handler == my_handler);
    ev_loop_destroy(loop);
}

/* Without take_pending a signal still queued at stop is not taken: it
 * comes with the caller's own action once the caller's mask is back; at
 * once where the caller had it unblocked (SIGUSR2), when the caller
 * unblocks it where it was blocked (SIGUSR1). */
TEST(without_take_pending_the_caller_gets_it)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    sigset_t sigs = set_of(SIGUSR1, SIGUSR2);
    struct atb__catch c;

    ASSERT(loop != NULL);
    set_action(SIGUSR1, my_handler, 0, 0);
    set_action(SIGUSR2, my_handler, 0, 0);
    block(SIG_BLOCK, SIGUSR1);
    ASSERT_EQ(atb__catch_start(&c, loop, &sigs, NULL, on_caught, NULL), 0);
    ASSERT_EQ(raise(SIGUSR1), 0);
    ASSERT_EQ(raise(SIGUSR2), 0);
    ASSERT_EQ(atb__catch_stop(&c, 0), 0);
    ASSERT_EQ(ngot, 0);
    ASSERT_EQ(mine[SIGUSR2], 1);
    ASSERT_EQ(mine[SIGUSR1], 0);
    ASSERT_EQ(is_pending(SIGUSR1), 1);
    block(SIG_UNBLOCK, SIGUSR1);
    ASSERT_EQ(mine[SIGUSR1], 1);
    ev_loop_destroy(loop);
}

/* What is handed over goes to the callback only while catching: after stop
 * the loop has nothing of it left (its fd is closed, which the harness
 * checks), and a later signal is the caller's. */
TEST(stop_leaves_nothing_on_the_loop)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    sigset_t sigs = set_of(SIGUSR1, 0);
    struct atb__catch c;

    ASSERT(loop != NULL);
    set_action(SIGUSR1, my_handler, 0, 0);
    ASSERT_EQ(atb__catch_start(&c, loop, &sigs, NULL, on_caught, NULL), 0);
    ASSERT_EQ(raise(SIGUSR1), 0);
    RUN_UNTIL(loop, got[SIGUSR1] == 1);
    ASSERT_EQ(atb__catch_stop(&c, 1), 0);
    ASSERT_LOOP_EMPTY(loop);
    ASSERT_EQ(raise(SIGUSR1), 0);
    ASSERT_EQ(mine[SIGUSR1], 1);
    ASSERT_EQ(got[SIGUSR1], 1);
    ev_loop_destroy(loop);
}
