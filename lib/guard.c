/* guard: a guardian process, so that nothing of a run outlives atb even when
 * atb itself dies in a way no handler sees: SIGKILL, the OOM killer, a CI
 * runner's hard kill.
 *
 * atb_run_exec() forks the guardian before the first command starts. It
 * leaves atb's session and process group (setsid), so a signal to atb's
 * group or a closing terminal does not take it along, and keeps no fd but
 * its end of a socket pair whose other end only atb holds (close-on-exec:
 * no command inherits it). On that socket atb tells it each command's
 * process group as it starts ("+PGID") and as it is gone ("-PGID"); at a
 * normal end atb says "E" and closes it. An end of file without that word
 * means atb has died: the guardian then sends the run's cancel signal (and
 * SIGCONT) to every group it knows and to every process that carries the
 * run's mark in its environment, so that descendants that left their
 * group are found too; waits the grace period while any is left; sends
 * SIGKILL to what is left; and exits.
 *
 * The mark is ATB_RUN, which every command gets: a colon-separated list of
 * the tokens of the runs it is inside (nested runs add theirs). Its limits:
 * a process that replaced its environment (env -i) and left its group, or
 * one running as another user (its environment cannot be read), escapes
 * the guardian; and a pid reused in the grace period by a process that
 * carries the same token cannot happen, since tokens are random.
 */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GUARD_FD 3
#define GUARD_TICK_S 0.02
#define KILL_WAIT_S 2.0
#define ENVIRON_MAX (256 * 1024)

struct guard_state {
    pid_t *pgids;
    size_t n, cap;
    const char *token;
    int signo;
    double grace_s;
};

int atb__guard_token(char *buf, size_t size)
{
    unsigned char r[8];
    size_t len = 0;

    if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
        /* Not a secret, only unlikely to collide: the time and the pid. */
        unsigned long long t = (unsigned long long)(atb__wall_now() * 1e9);
        t ^= (unsigned long long)getpid() << 32;
        memcpy(r, &t, sizeof(r));
    }
    for (size_t i = 0; i < sizeof(r) && len + 2 < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%02x", r[i]);
    return len == 2 * sizeof(r) ? 0 : -EINVAL;
}

static void remember(struct guard_state *g, pid_t pgid)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        pid_t *n = realloc(g->pgids, cap * sizeof(*n));
        if (n == NULL)
            return; /* the mark still finds its processes */
        g->pgids = n;
        g->cap = cap;
    }
    g->pgids[g->n++] = pgid;
}

static void forget_pgid(struct guard_state *g, pid_t pgid)
{
    for (size_t i = 0; i < g->n; i++) {
        if (g->pgids[i] == pgid) {
            g->pgids[i] = g->pgids[--g->n];
            return;
        }
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
static size_t signal_marked(const struct guard_state *g, int signo, char *buf)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    size_t found = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        pid_t pid = (pid_t)atol(e->d_name);

        if (pid <= 1 || pid == getpid() || !marked(pid, g->token, buf))
            continue;
        found++;
        if (signo != 0) {
            (void)kill(pid, signo);
            if (signo != SIGKILL && signo != SIGCONT)
                (void)kill(pid, SIGCONT);
        }
    }
    closedir(d);
    return found;
}

/* Sends signo to what is left of the run. */
static void round_of(const struct guard_state *g, int signo, char *buf)
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
static size_t left_of(const struct guard_state *g, char *buf)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    size_t left = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        struct atb__proc_stat st;
        pid_t pid = (pid_t)atol(e->d_name);

        if (pid <= 1 || atb__proc_stat(pid, &st) < 0 || st.exited)
            continue;
        for (size_t i = 0; i < g->n; i++)
            if (st.pgrp == g->pgids[i])
                left++;
    }
    closedir(d);
    return left + signal_marked(g, 0, buf);
}

/* Waits up to wait_s for nothing of the run to be left. */
static void wait_gone(const struct guard_state *g, double wait_s, char *buf)
{
    double until = atb__now() + wait_s;
    struct timespec tick = {0, (long)(GUARD_TICK_S * 1e9)};

    while (left_of(g, buf) > 0 && atb__now() < until)
        nanosleep(&tick, NULL);
}

/* atb has died: cancel what it left, as it would have. */
static void act(struct guard_state *g)
{
    char *buf = malloc(ENVIRON_MAX);

    if (buf == NULL)
        return;
    if (left_of(g, buf) > 0) {
        round_of(g, g->signo, buf);
        wait_gone(g, g->grace_s, buf);
    }
    if (left_of(g, buf) > 0) {
        round_of(g, SIGKILL, buf);
        wait_gone(g, KILL_WAIT_S, buf);
    }
    free(buf);
}

/* The guardian's life: read what atb says until it ends, one way or the
 * other. */
static void guardian(struct guard_state *g)
{
    char buf[4096], *line;
    size_t len = 0;

    for (;;) {
        ssize_t n = atb__read(GUARD_FD, buf + len, sizeof(buf) - 1 - len);
        char *nl;

        if (n <= 0 && n != -EAGAIN) {
            act(g);
            return;
        }
        len += (size_t)(n > 0 ? n : 0);
        buf[len] = '\0';
        for (line = buf; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
            *nl = '\0';
            if (line[0] == 'E')
                return;
            if (line[0] == '+')
                remember(g, (pid_t)atol(line + 1));
            else if (line[0] == '-')
                forget_pgid(g, (pid_t)atol(line + 1));
        }
        len -= (size_t)(line - buf);
        memmove(buf, line, len);
    }
}

/* In the child: out of atb's session, nothing held but the socket. */
static void become_guardian(int fd, struct guard_state *g)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);

    (void)setsid();
    (void)prctl(PR_SET_NAME, "atb-guard");
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
    }
    if (fd != GUARD_FD && dup2(fd, GUARD_FD) < 0)
        _exit(1);
    (void)syscall(SYS_close_range, GUARD_FD + 1, ~0U, 0);
    guardian(g);
    _exit(0);
}

int atb__guard_start(struct atb__guard *gd, const char *token, int signo, double grace_s)
{
    int sv[2];
    pid_t pid;

    gd->fd = -1;
    gd->pid = 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    pid = fork();
    if (pid < 0) {
        int err = -errno;
        atb__close(&sv[0]);
        atb__close(&sv[1]);
        return err;
    }
    if (pid == 0) {
        struct guard_state g = {NULL, 0, 0, token, signo, grace_s};

        close(sv[1]);
        become_guardian(sv[0], &g);
    }
    atb__close(&sv[0]);
    gd->fd = sv[1];
    gd->pid = pid;
    return 0;
}

/* Sends all of buf; MSG_NOSIGNAL: a guardian that died is no reason for atb
 * to. Returns 0 or a negative errno. */
static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

void atb__guard_tell(struct atb__guard *gd, char what, pid_t pgid)
{
    char line[32];
    int len = snprintf(line, sizeof(line), "%c%d\n", what, (int)pgid);

    if (gd->fd >= 0 && send_all(gd->fd, line, (size_t)len) < 0)
        atb__close(&gd->fd); /* the guardian is gone: no longer counted on */
}

void atb__guard_end(struct atb__guard *gd)
{
    if (gd->pid <= 0)
        return;
    if (gd->fd >= 0)
        (void)send_all(gd->fd, "E\n", 2);
    atb__close(&gd->fd);
    /* It exits at once on "E"; if it died before, it is reaped already
     * (ECHILD) or now. */
    while (waitpid(gd->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    gd->pid = 0;
}
