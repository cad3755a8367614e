/* What the engine's unit tests share to wait on events rather than on the
 * clock: a loop run until a condition holds (with a watchdog, so a missing
 * event fails the test with its line instead of hanging it), and reads from
 * pipes bounded by poll(). The limits are generous on purpose: they only
 * turn a hang into a clear failure, and a loaded machine must never hit
 * them. */
#ifndef ATB_UNIT_WAITS_H
#define ATB_UNIT_WAITS_H

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

/* Longest wait for one event, in seconds (the harness's own limit is 30 s
 * per test). */
#define WAIT_S 10.0

static inline double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct watchdog {
    ev_timer w;
    int fired;
};

static inline void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct watchdog *wd = (struct watchdog *)w;

    (void)revents;
    wd->fired = 1;
    ev_break(loop, EVBREAK_ONE);
}

/* Runs loop one iteration at a time until cond holds; fails the test when
 * WAIT_S pass first. The watchdog also keeps ev_run() from returning early
 * on a loop with nothing else to do. */
#define RUN_UNTIL(loop, cond)                                                        \
    do {                                                                             \
        struct watchdog wd_;                                                         \
        ev_now_update(loop);                                                         \
        ev_timer_init(&wd_.w, watchdog_cb, WAIT_S, 0);                               \
        wd_.fired = 0;                                                               \
        ev_timer_start(loop, &wd_.w);                                                \
        while (!(cond) && !wd_.fired)                                                \
            ev_run(loop, EVRUN_ONCE);                                                \
        ev_timer_stop(loop, &wd_.w);                                                 \
        if (!(cond))                                                                 \
            unit_fail(__FILE__, __LINE__, "no event after %gs: %s", WAIT_S, #cond);  \
    } while (0)

/* Nothing is left on loop: with only an unreferenced watchdog, ev_run()
 * returns at once; a watcher left behind (a timer, an fd, a child) would
 * keep it running until the watchdog fires. */
#define ASSERT_LOOP_EMPTY(loop)                                                      \
    do {                                                                             \
        struct watchdog wd_;                                                         \
        ev_timer_init(&wd_.w, watchdog_cb, WAIT_S, 0);                               \
        wd_.fired = 0;                                                               \
        ev_timer_start(loop, &wd_.w);                                                \
        ev_unref(loop);                                                              \
        ev_run(loop, 0);                                                             \
        ev_ref(loop);                                                                \
        ev_timer_stop(loop, &wd_.w);                                                 \
        if (wd_.fired)                                                               \
            unit_fail(__FILE__, __LINE__, "a watcher is left on the loop");          \
    } while (0)

/* Reads from fd until buf holds a line (or size - 1 bytes, or end of file);
 * NUL-terminates it and returns its length, newline included. Fails the
 * test (at the caller's line) after WAIT_S. Reads one byte at a time, so
 * nothing after the line is taken from the pipe. */
#define read_line(fd, buf, size) read_line_at(__FILE__, __LINE__, fd, buf, size)
static inline size_t read_line_at(const char *file, int line, int fd, char *buf, size_t size)
{
    double end = mono_now() + WAIT_S;
    size_t len = 0;

    while (len + 1 < size) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)((end - mono_now()) * 1000);
        ssize_t n;

        if (left <= 0 || (poll(&p, 1, left) < 0 && errno != EINTR))
            unit_fail(file, line, "no line on fd %d after %gs", fd, WAIT_S);
        if (!(p.revents & (POLLIN | POLLHUP)))
            continue;
        n = read(fd, buf + len, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (buf[len++] == '\n')
            break;
    }
    buf[len] = '\0';
    return len;
}

/* Reads fd to end of file into buf (NUL-terminated, at most size - 1 bytes
 * kept); fails the test (at the caller's line) after WAIT_S. */
#define read_to_eof(fd, buf, size) read_to_eof_at(__FILE__, __LINE__, fd, buf, size)
static inline size_t read_to_eof_at(const char *file, int line, int fd, char *buf, size_t size)
{
    double end = mono_now() + WAIT_S;
    size_t len = 0;

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)((end - mono_now()) * 1000);
        char sink[256];
        ssize_t n;

        if (left <= 0 || (poll(&p, 1, left) < 0 && errno != EINTR))
            unit_fail(file, line, "no end of file on fd %d after %gs", fd, WAIT_S);
        if (!(p.revents & (POLLIN | POLLHUP)))
            continue;
        if (len + 1 < size)
            n = read(fd, buf + len, size - 1 - len);
        else
            n = read(fd, sink, sizeof(sink));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (len + 1 < size)
            len += (size_t)n;
    }
    buf[len] = '\0';
    return len;
}

/* How many times needle occurs in haystack. */
static inline int count_of(const char *haystack, const char *needle)
{
    int n = 0;

    for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Waits (blocking, bounded by the harness's time limit) until pid, a child
 * of ours, has exited, without reaping it. */
#define wait_exited_nowait(pid) wait_exited_nowait_at(__FILE__, __LINE__, pid)
static inline void wait_exited_nowait_at(const char *file, int line, pid_t pid)
{
    siginfo_t si;

    si.si_pid = 0;
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
        if (errno != EINTR)
            unit_fail(file, line, "waitid(%d): %s", (int)pid, strerror(errno));
}

#endif
