/* guard-act: what the guardian does once atb has died. It cancels what
 * the run left: the groups atb told it of, and every process that carries
 * the run's mark in its environment (ATB_RUN), so that descendants that
 * left their group are found too. It may share atb's memory (guard.c): it
 * never calls malloc. */
#include "engine.h"
#include "guard-int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define GUARD_TICK_S 0.02
#define KILL_WAIT_S 2.0
#define WILL_WAIT_S 15.0
#define ENVIRON_MAX (256 * 1024)

/* /proc's pids, read without opendir(), which allocates. */
struct pid_walk {
    int fd;
    long pos, len;
    char buf[8192];
};

static int walk_open(struct pid_walk *w)
{
    w->pos = w->len = 0;
    w->fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return w->fd >= 0 ? 0 : -1;
}

static pid_t walk_next(struct pid_walk *w)
{
    for (;;) {
        struct dirent64 *d;
        pid_t pid;

        if (w->pos >= w->len) {
            w->len = (long)getdents64(w->fd, w->buf, sizeof(w->buf));
            w->pos = 0;
            if (w->len <= 0)
                return 0;
        }
        d = (struct dirent64 *)(void *)(w->buf + w->pos);
        w->pos += d->d_reclen;
        pid = (pid_t)atol(d->d_name);
        if (pid > 1)
            return pid;
    }
}

/* Whether process pid carries token in its ATB_RUN. */
static int marked(pid_t pid, const char *token, char *buf)
{
    char path[40], *p, *end;
    ssize_t len;
    size_t tlen = strlen(token);

    snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
    len = atb__read_file(path, buf, ENVIRON_MAX);
    if (len <= 0)
        return 0;
    for (p = buf, end = buf + len; p < end; p += strlen(p) + 1) {
        const char *v;

        if (strncmp(p, "ATB_RUN=", 8) != 0)
            continue;
        for (v = p + 8; (v = strstr(v, token)) != NULL; v += tlen)
            if ((v == p + 8 || v[-1] == ':') && (v[tlen] == ':' || v[tlen] == '\0'))
                return 1;
        return 0;
    }
    return 0;
}

/* Sends signo to every marked process; returns how many there were. */
static size_t signal_marked(const struct atb__guard_state *g, int signo, char *buf)
{
    struct pid_walk w;
    size_t found = 0;
    pid_t pid;

    if (buf == NULL || walk_open(&w) < 0)
        return 0;
    while ((pid = walk_next(&w)) > 0) {
        if (pid == getpid() || !marked(pid, g->token, buf))
            continue;
        found++;
        if (signo != 0) {
            (void)kill(pid, signo);
            if (signo != SIGKILL && signo != SIGCONT)
                (void)kill(pid, SIGCONT);
        }
    }
    close(w.fd);
    return found;
}

/* Sends signo to what is left of the run. */
static void round_of(const struct atb__guard_state *g, int signo, char *buf)
{
    for (size_t i = 0; i < g->n; i++) {
        (void)kill(-g->pgids[i], signo);
        if (signo != SIGKILL && signo != SIGCONT)
            (void)kill(-g->pgids[i], SIGCONT);
    }
    (void)signal_marked(g, signo, buf);
}

/* How many processes of the run are alive: members of its groups that have
 * not exited (with atb dead, its zombies wait for a slow init to reap them,
 * and are gone all the same), and marked ones (a zombie has no
 * environment left to read). */
static size_t left_of(const struct atb__guard_state *g, char *buf)
{
    struct pid_walk w;
    size_t left = 0;
    pid_t pid;

    if (walk_open(&w) < 0)
        return 0;
    while ((pid = walk_next(&w)) > 0) {
        struct atb__proc_stat st;

        if (atb__proc_stat(pid, &st) < 0 || st.exited)
            continue;
        for (size_t i = 0; i < g->n; i++)
            if (st.pgrp == g->pgids[i])
                left++;
    }
    close(w.fd);
    return left + signal_marked(g, 0, buf);
}

/* Waits up to wait_s for nothing of the run to be left. */
static void wait_gone(const struct atb__guard_state *g, double wait_s, char *buf)
{
    double until = atb__now() + wait_s;
    struct timespec tick = {0, (long)(GUARD_TICK_S * 1e9)};

    while (left_of(g, buf) > 0 && atb__now() < until)
        nanosleep(&tick, NULL);
}

/* The will (a scancel of the run's Slurm jobs, which no signal of ours
 * reaches), waited for at most WILL_WAIT_S. posix_spawn, not fork: no
 * malloc, no copy of the memory we may share with atb. */
static void run_will(const char *will)
{
    char *argv[] = {"sh", "-c", (char *)will, NULL};
    struct timespec tick = {0, (long)(GUARD_TICK_S * 1e9)};
    double until = atb__now() + WILL_WAIT_S;
    pid_t pid;

    if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0)
        return;
    while (waitpid(pid, NULL, WNOHANG) == 0) {
        if (atb__now() > until) {
            kill(pid, SIGKILL);
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
            return;
        }
        nanosleep(&tick, NULL);
    }
}

/* atb has died: cancel what it left, as it would have. No malloc (see the
 * top): the environment buffer is mapped. */
void atb__guard_act(struct atb__guard_state *g)
{
    char *buf;

    /* The list of groups a dead atb kept for the first guardian, as atb
     * last wrote it (guard.c, tell_shared()). */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    buf = mmap(NULL, ENVIRON_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->will != NULL)
        run_will(g->will);

    if (buf == MAP_FAILED)
        buf = NULL; /* its groups still get the signals */
    if (left_of(g, buf) > 0) {
        round_of(g, g->signo, buf);
        wait_gone(g, g->grace_s, buf);
    }
    if (left_of(g, buf) > 0) {
        round_of(g, SIGKILL, buf);
        wait_gone(g, KILL_WAIT_S, buf);
    }
    if (buf != NULL)
        munmap(buf, ENVIRON_MAX);
}
