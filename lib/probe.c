/* probe: asking a command whether it is ready (ready_probe) or still
 * healthy (health_probe), in attempts, on the run's loop.
 *
 * A probe is a copy of the caller's struct atb_probe in one block, its
 * target parsed once (atb__probe_new). While its command runs, an attempt
 * starts initial_delay after the start, then interval after each one ended,
 * and may take timeout:
 *   TCP and HTTP attempts are a non-blocking connect (and for HTTP one
 *   request, one status line read) watched by an ev_io;
 *   EXEC attempts are processes of the run's launcher, a group of their own
 *   each, marked as probes (proc.probe) so that ends.c hands their ends
 *   here. A group still alive is always waited for: run->probes_live keeps
 *   the run from ending until it is gone, so no probe process is left, and
 *   the next attempt never starts beside the last one.
 * The ready probe stops at its first success (the command is ready, and up
 * until it ends); the health probe starts once the command is ready (by
 * its ready probe or ready_when, atb__probe_ready), and that many failures in
 * a row stop the service with the cancel signal, marked unhealthy: its end
 * is then a failure (command.c). Everything stops when the command's
 * leader ends (atb__probe_end).
 */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define INTERVAL_S 0.2
#define TIMEOUT_S 1.0
#define FAILURES 3

struct atb__probe {
    struct atb__cmd *cmd;
    int health;               /* 1: the health probe */
    enum atb_probe_kind kind;
    char **argv;              /* EXEC, in the block (a shell line: /bin/sh -c) */
    char *host, *port, *path; /* TCP, HTTP: the target's parts, in the block */
    double interval_s, timeout_s, delay_s;
    unsigned failures;        /* health: in a row that end the service */
    unsigned fails;           /* in a row so far */
    int active;               /* attempts go on */
    int busy;                 /* an attempt is in flight */
    int due;                  /* EXEC: an attempt waits for the last group */
    ev_timer next_w;          /* the next attempt */
    ev_timer limit_w;         /* the attempt's time limit */
    int fd;                   /* TCP, HTTP: owned socket, or -1 */
    ev_io io_w;
    int stage;                /* 0 connecting, 1 sending, 2 reading */
    char req[512];
    size_t req_len, req_off;
    char resp[64];
    size_t resp_len;
    struct atb__proc proc;    /* EXEC: the attempt's process */
    int proc_live;            /* EXEC: started, its group not gone */
};

/* ---- the target ---- */

/* "host:port" (host may be "[v6]") into host and port, copied to *text.
 * Returns 0 or -1. */
static int split_hostport(const char *s, size_t len, char **text, char **host, char **port)
{
    const char *colon, *h = s;
    size_t hlen;
    long num;
    char *end;

    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL || close + 1 >= s + len || close[1] != ':')
            return -1;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = memrchr(s, ':', len);
        if (colon == NULL)
            return -1;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || colon + 1 >= s + len)
        return -1;
    *host = *text;
    memcpy(*text, h, hlen);
    (*text)[hlen] = '\0';
    *text += hlen + 1;
    *port = *text;
    memcpy(*text, colon + 1, (size_t)(s + len - colon - 1));
    (*text)[s + len - colon - 1] = '\0';
    *text += s + len - colon;
    num = strtol(*port, &end, 10);
    return *end == '\0' && num >= 1 && num <= 65535 && (*port)[0] != '+' ? 0 : -1;
}

/* The target's parts, into text (room for strlen(target) + 8). */
static int parse_target(struct atb__probe *p, const char *target, char *text)
{
    const char *rest = target, *slash;

    if (p->kind == ATB_PROBE_TCP)
        return split_hostport(target, strlen(target), &text, &p->host, &p->port);
    if (strncmp(target, "http://", 7) != 0)
        return -1;
    rest = target + 7;
    slash = strchr(rest, '/');
    if (slash == NULL)
        slash = rest + strlen(rest);
    if (memchr(rest, ':', (size_t)(slash - rest)) == NULL ||
        (rest[0] == '[' && memchr(rest, ']', (size_t)(slash - rest)) ==
                               (const char *)rest + (slash - rest) - 1)) {
        /* No port: 80. */
        char buf[300];
        int n = snprintf(buf, sizeof(buf), "%.*s:80", (int)(slash - rest), rest);
        if (n < 0 || (size_t)n >= sizeof(buf) ||
            split_hostport(buf, (size_t)n, &text, &p->host, &p->port) < 0)
            return -1;
    } else if (split_hostport(rest, (size_t)(slash - rest), &text, &p->host, &p->port) < 0) {
        return -1;
    }
    p->path = text;
    strcpy(text, *slash ? slash : "/");
    for (const char *c = p->path; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return -1; /* it goes into a request line as it is */
    return 0;
}

int atb__probe_new(struct atb__cmd *cmd, const struct atb_probe *src, int health,
                   struct atb__probe **out)
{
    size_t argc = 0, size = sizeof(struct atb__probe), text_size = 0;
    const char *line = src->shell;
    struct atb__probe *p;
    char *text;

    *out = NULL;
    if (src->kind == ATB_PROBE_EXEC) {
        if ((src->argv == NULL) == (src->shell == NULL) ||
            (src->argv && (src->argv[0] == NULL || src->argv[0][0] == '\0')) ||
            (line && line[strspn(line, " \t\n\r")] == '\0'))
            return -EINVAL;
        for (; src->argv && src->argv[argc]; argc++)
            text_size += strlen(src->argv[argc]) + 1;
        if (line) {
            argc = 3;
            text_size = strlen(line) + 1 + sizeof("/bin/sh") + sizeof("-c");
        }
    } else if (src->kind == ATB_PROBE_TCP || src->kind == ATB_PROBE_HTTP) {
        if (src->target == NULL || src->argv || src->shell)
            return -EINVAL;
        text_size = strlen(src->target) + 8;
    } else {
        return -EINVAL;
    }
    if (!(src->interval_s >= 0) || !(src->timeout_s >= 0) || !(src->initial_delay_s >= 0) ||
        src->interval_s > 1e9 || src->timeout_s > 1e9 || src->initial_delay_s > 1e9)
        return -EINVAL;
    size += (argc + 1) * sizeof(char *) + text_size;
    p = calloc(1, size);
    if (p == NULL)
        return -ENOMEM;
    p->cmd = cmd;
    p->health = health;
    p->kind = src->kind;
    p->interval_s = src->interval_s > 0 ? src->interval_s : INTERVAL_S;
    p->timeout_s = src->timeout_s > 0 ? src->timeout_s : TIMEOUT_S;
    p->delay_s = src->initial_delay_s;
    p->failures = src->failures > 0 ? src->failures : FAILURES;
    p->fd = -1;
    p->proc.pidfd = -1;
    text = (char *)(p + 1) + (argc + 1) * sizeof(char *);
    if (src->kind == ATB_PROBE_EXEC) {
        p->argv = (char **)(void *)(p + 1);
        for (size_t i = 0; i < argc; i++) {
            const char *w = line ? (i == 0 ? "/bin/sh" : i == 1 ? "-c" : line) : src->argv[i];
            p->argv[i] = strcpy(text, w);
            text += strlen(w) + 1;
        }
        p->argv[argc] = NULL;
    } else if (parse_target(p, src->target, text) < 0) {
        p->host = NULL; /* said by atb__probe_check() */
    }
    *out = p;
    return 0;
}

int atb__probe_check(const struct atb__probe *p, char *why, size_t size)
{
    if (p->kind == ATB_PROBE_EXEC || p->host != NULL)
        return 0;
    snprintf(why, size, "%s",
             p->kind == ATB_PROBE_TCP
                 ? "tcp: expected HOST:PORT (a port from 1 to 65535; [ADDR]:PORT for IPv6)"
                 : "http: expected http://HOST[:PORT][/PATH] (no https, no blanks)");
    return ATB_EPROBE;
}

void atb__probe_free(struct atb__probe *p)
{
    free(p);
}

void atb__probe_attach(struct atb__probe *p, struct atb__cmd *cmd)
{
    p->cmd = cmd;
}

/* ---- attempts ---- */

static void attempt_start(struct atb__probe *p);

static void next_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb__probe *p = ATB__CONTAINER_OF(w, struct atb__probe, next_w);
    struct atb_run *run = p->cmd->run;

    (void)loop;
    (void)revents;
    atb__enter(run);
    if (p->active && !p->busy)
        attempt_start(p);
    atb__leave(run);
}

static void schedule(struct atb__probe *p, double after)
{
    struct ev_loop *loop = p->cmd->run->loop;

    ev_timer_stop(loop, &p->next_w);
    ev_timer_init(&p->next_w, next_cb, after, 0);
    ev_timer_start(loop, &p->next_w);
}

/* Puts down what an attempt holds (its socket; its process gets SIGKILL,
 * and is waited for through proc_live). */
static void attempt_clear(struct atb__probe *p)
{
    struct atb_run *run = p->cmd->run;

    ev_timer_stop(run->loop, &p->limit_w);
    if (p->fd >= 0) {
        ev_io_stop(run->loop, &p->io_w);
        atb__close(&p->fd);
    }
    if (p->proc_live && !p->proc.leader_done)
        run->launcher->ops->kill(run->launcher, &p->proc);
    p->busy = 0;
}

static void probe_failed(struct atb__probe *p, int err, const char *what)
{
    struct atb__cmd *cmd = p->cmd;
    struct atb_run *run = cmd->run;
    struct atb_event ev = {.kind = ATB_EVENT_PROBE_FAILED, .id = cmd->res.id,
                           .stream = p->health ? 2 : 1, .error = err, .data = what,
                           .len = strlen(what)};

    ev.count = (int)++p->fails;
    atb__emit_event(run, &ev);
    if (!p->health || p->fails < p->failures || cmd->phase != ATB__RUNNING) {
        schedule(p, p->interval_s);
        return;
    }
    /* Unhealthy: ended as a service that ended early would be. */
    p->active = 0;
    cmd->unhealthy = 1;
    run->launcher->ops->stop(run->launcher, &cmd->proc, run->set.cancel_signal);
}

/* An attempt ended: ok, or failed with err and what it got. */
static void attempt_done(struct atb__probe *p, int ok, int err, const char *what)
{
    struct atb__cmd *cmd = p->cmd;

    attempt_clear(p);
    if (!p->active)
        return;
    if (!ok) {
        probe_failed(p, err, what);
        return;
    }
    p->fails = 0;
    if (p->health) {
        schedule(p, p->interval_s);
        return;
    }
    p->active = 0;
    atb__deps_ready(cmd, 1); /* which starts the health probe */
}

static void limit_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct atb__probe *p = ATB__CONTAINER_OF(w, struct atb__probe, limit_w);
    struct atb_run *run = p->cmd->run;

    (void)loop;
    (void)revents;
    atb__enter(run);
    if (p->busy)
        attempt_done(p, 0, -ETIMEDOUT, "timed out");
    atb__leave(run);
}

/* ---- TCP and HTTP ---- */

static void net_step(struct atb__probe *p);

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct atb__probe *p = ATB__CONTAINER_OF(w, struct atb__probe, io_w);
    struct atb_run *run = p->cmd->run;

    (void)loop;
    (void)revents;
    atb__enter(run);
    net_step(p);
    atb__leave(run);
}

static void watch_fd(struct atb__probe *p, int events)
{
    struct ev_loop *loop = p->cmd->run->loop;

    ev_io_stop(loop, &p->io_w);
    ev_io_init(&p->io_w, io_cb, p->fd, events);
    ev_io_start(loop, &p->io_w);
}

/* "HTTP/1.x NNN": ok for 2xx. */
static void http_status(struct atb__probe *p)
{
    char what[32];
    int code = 0;

    p->resp[p->resp_len] = '\0';
    if (sscanf(p->resp, "HTTP/%*d.%*d %3d", &code) != 1) {
        attempt_done(p, 0, ATB_EPROBE, "not an HTTP response");
        return;
    }
    snprintf(what, sizeof(what), "HTTP %d", code);
    attempt_done(p, code >= 200 && code < 300, ATB_EPROBE, what);
}

/* Sends what is left of the request; then reads the status line. */
static void http_io(struct atb__probe *p)
{
    while (p->stage == 1 && p->req_off < p->req_len) {
        ssize_t n = send(p->fd, p->req + p->req_off, p->req_len - p->req_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            attempt_done(p, 0, -errno, strerror(errno));
            return;
        }
        p->req_off += (size_t)n;
    }
    if (p->stage == 1) {
        p->stage = 2;
        watch_fd(p, EV_READ);
        return;
    }
    for (;;) {
        ssize_t n = recv(p->fd, p->resp + p->resp_len, sizeof(p->resp) - 1 - p->resp_len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            attempt_done(p, 0, -errno, strerror(errno));
            return;
        }
        p->resp_len += (size_t)n;
        if (n == 0 || memchr(p->resp, '\n', p->resp_len) ||
            p->resp_len == sizeof(p->resp) - 1) {
            http_status(p);
            return;
        }
    }
}

static void net_step(struct atb__probe *p)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (p->stage > 0) {
        http_io(p);
        return;
    }
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err != 0) {
        attempt_done(p, 0, -err, strerror(err));
        return;
    }
    if (p->kind == ATB_PROBE_TCP) {
        attempt_done(p, 1, 0, "");
        return;
    }
    p->stage = 1;
    p->req_len = (size_t)snprintf(p->req, sizeof(p->req),
                                  "GET %.400s HTTP/1.0\r\nHost: %.60s\r\nUser-Agent: atb\r\n"
                                  "Connection: close\r\n\r\n",
                                  p->path, p->host);
    p->req_off = p->resp_len = 0;
    http_io(p);
}

static void net_start(struct atb__probe *p)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;
    int rc = getaddrinfo(p->host, p->port, &hints, &ai);

    if (rc != 0) {
        attempt_done(p, 0, -EHOSTUNREACH, gai_strerror(rc));
        return;
    }
    p->stage = 0;
    p->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0) {
        rc = -errno;
    } else {
        while ((rc = connect(p->fd, ai->ai_addr, ai->ai_addrlen)) < 0 && errno == EINTR)
            ;
        rc = rc < 0 && errno != EINPROGRESS ? -errno : 0;
    }
    freeaddrinfo(ai);
    if (rc < 0) {
        attempt_done(p, 0, rc, strerror(-rc));
        return;
    }
    /* Connected or on its way: writable once it is decided. */
    watch_fd(p, EV_WRITE);
}

/* ---- EXEC ---- */

static void exec_start(struct atb__probe *p)
{
    struct atb__cmd *cmd = p->cmd;
    struct atb_run *run = cmd->run;
    struct atb__spawn_ctx ctx = {.cwd = cmd->cwd, .in_fd = -1, .tty_fd = -1};
    char **envp = atb__cmd_env(run, cmd, NULL);
    int rc, null = -1;

    if (!run->set.probe_output)
        null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (envp == NULL || (!run->set.probe_output && null < 0)) {
        rc = envp == NULL ? -ENOMEM : -errno;
        atb__cmd_env_free(run, envp);
        attempt_done(p, 0, rc, strerror(-rc));
        return;
    }
    ctx.envp = envp;
    ctx.out_fd = ctx.err_fd = run->set.probe_output ? run->out.dest[1].fd : null;
    rc = run->launcher->ops->start(run->launcher, &p->proc, p->argv, &ctx);
    atb__cmd_env_free(run, envp);
    atb__close(&null);
    if (rc < 0) {
        attempt_done(p, 0, rc, rc == -ENOENT ? "not found" : strerror(-rc));
        return;
    }
    p->proc.probe = 1;
    p->proc_live = 1;
    run->probes_live++;
    if (run->guard.pid > 0)
        atb__guard_tell(&run->guard, '+', p->proc.pid);
}

void atb__probe_on_leader(struct atb__proc *proc, int code, int status)
{
    struct atb__probe *p = ATB__CONTAINER_OF(proc, struct atb__probe, proc);
    char what[48];

    if (!p->busy)
        return; /* timed out, or its command ended: killed, not heard */
    if (code == CLD_EXITED)
        snprintf(what, sizeof(what), "exit %d", status);
    else if (code != 0)
        snprintf(what, sizeof(what), "killed by %s",
                 atb_signal_name(status) ? atb_signal_name(status) : "a signal");
    else
        snprintf(what, sizeof(what), "status taken by another reaper");
    attempt_done(p, code == CLD_EXITED && status == 0, ATB_EPROBE, what);
}

void atb__probe_on_group(struct atb__proc *proc)
{
    struct atb__probe *p = ATB__CONTAINER_OF(proc, struct atb__probe, proc);
    struct atb_run *run = p->cmd->run;

    p->proc_live = 0;
    run->probes_live--;
    if (run->guard.pid > 0)
        atb__guard_tell(&run->guard, '-', proc->pid);
    if (p->due && p->active) {
        p->due = 0;
        attempt_start(p);
    }
}

static void attempt_start(struct atb__probe *p)
{
    if (p->kind == ATB_PROBE_EXEC && p->proc_live) {
        p->due = 1; /* once the last one's group is gone */
        return;
    }
    p->busy = 1;
    ev_timer_init(&p->limit_w, limit_cb, p->timeout_s, 0);
    ev_timer_start(p->cmd->run->loop, &p->limit_w);
    if (p->kind == ATB_PROBE_EXEC)
        exec_start(p);
    else
        net_start(p);
}

/* ---- the command's life ---- */

void atb__probe_begin(struct atb__cmd *cmd)
{
    struct atb__probe *p = cmd->probe[0];

    if (p == NULL)
        return;
    p->active = 1;
    p->fails = 0;
    p->due = 0;
    schedule(p, p->delay_s);
}

void atb__probe_ready(struct atb__cmd *cmd)
{
    struct atb__probe *p = cmd->probe[1];

    if (p == NULL || cmd->phase != ATB__RUNNING)
        return;
    p->active = 1;
    p->fails = 0;
    schedule(p, p->delay_s > 0 ? p->delay_s : p->interval_s);
}

void atb__probe_end(struct atb__cmd *cmd)
{
    for (int k = 0; k < 2; k++) {
        struct atb__probe *p = cmd->probe[k];

        if (p == NULL)
            continue;
        p->active = 0;
        p->due = 0;
        ev_timer_stop(cmd->run->loop, &p->next_w);
        attempt_clear(p);
    }
}

int atb__probe_live(const struct atb__cmd *cmd)
{
    return (cmd->probe[0] && cmd->probe[0]->proc_live) ||
           (cmd->probe[1] && cmd->probe[1]->proc_live);
}

void atb__probe_forget(struct atb__cmd *cmd)
{
    struct atb_run *run = cmd->run;

    for (int k = 0; k < 2; k++) {
        struct atb__probe *p = cmd->probe[k];

        if (p == NULL || run->loop == NULL)
            continue;
        atb__probe_end(cmd);
        if (p->proc_live && run->launcher) {
            /* Freed while it runs: killed, not waited for (atb_run_free()). */
            run->launcher->ops->kill(run->launcher, &p->proc);
            run->launcher->ops->forget(run->launcher, &p->proc);
            p->proc_live = 0;
            run->probes_live--;
        }
    }
}
