/* Readiness and health probes (lib/probe.c) through the public API: the
 * three kinds against listeners and programs made here, what the validator
 * refuses, and that no probe process outlives its run (the harness fails a
 * test that leaves a child). */
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "atb.h"
#include "runs.h"

/* A listening socket on 127.0.0.1, its port in *port. */
static int listener(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ASSERT(fd >= 0);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port nothing listens on: bound, never listening, so connects are
 * refused and nobody else can take it meanwhile. */
static int closed_port(int *port)
{
    return listener(port);
}

/* What the run said: the order of events, and the probes' failures. */
struct seen {
    char order[64];
    size_t n;
    int fails, last_error;
    char last_what[32];
};

static void on_event(struct atb_run *run, const struct atb_event *ev, void *data)
{
    struct seen *s = data;
    char c = 0;

    (void)run;
    if (ev->kind == ATB_EVENT_PROBE_FAILED) {
        s->fails++;
        s->last_error = ev->error;
        snprintf(s->last_what, sizeof(s->last_what), "%.*s", (int)ev->len, ev->data);
        return;
    }
    if (ev->kind == ATB_EVENT_STARTED)
        c = (char)('A' + ev->id);
    else if (ev->kind == ATB_EVENT_READY)
        c = (char)('a' + ev->id);
    if (c && s->n + 1 < sizeof(s->order))
        s->order[s->n++] = c;
}

static struct atb_run *new_run(enum atb_watch watch, struct seen *s)
{
    struct atb_run *run;

    ASSERT_EQ(atb_run_new(&run), 0);
    ASSERT_EQ(atb_run_set_watch(run, watch), 0);
    ASSERT_EQ(atb_run_set_cancel(run, SIGTERM, 2), 0);
    ASSERT_EQ(atb_run_on_event(run, on_event, s), 0);
    return run;
}

static void add(struct atb_run *run, struct atb_cmd *c)
{
    ASSERT(atb_run_add(run, c) >= 0);
}

/* A service ready once its port listens; the dependent starts after. */
static void tcp_ready(enum atb_watch watch)
{
    struct seen s = {{0}};
    struct atb_run *run = new_run(watch, &s);
    int port, fd = listener(&port);
    char target[32];
    struct atb_probe probe = {.kind = ATB_PROBE_TCP, .target = target, .interval_s = 0.02};
    struct atb_cmd svc = CMD_SH("svc", "exec sleep 100");
    char *waits[] = {"svc", NULL};
    struct atb_cmd dep = CMD_SH("dep", "true");

    snprintf(target, sizeof(target), "127.0.0.1:%d", port);
    ASSERT_EQ(listen(fd, 8), 0);
    svc.service = 1;
    svc.ready_probe = &probe;
    dep.wait_for = waits;
    add(run, &svc);
    add(run, &dep);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_SUCCEEDED);
    ASSERT_STR_EQ(s.order, "AaBb"); /* svc started, ready; dep started, ready */
    atb_run_free(run);
    close(fd);
}

TEST(tcp_ready_pidfd)
{
    tcp_ready(ATB_WATCH_PIDFD);
}

TEST(tcp_ready_sigchld)
{
    tcp_ready(ATB_WATCH_SIGCHLD);
}

/* Refused until the ready timeout: timed out, with its failures told. */
TEST(tcp_refused_times_out)
{
    struct seen s = {{0}};
    struct atb_run *run = new_run(ATB_WATCH_AUTO, &s);
    int port, fd = closed_port(&port);
    char target[32];
    struct atb_probe probe = {.kind = ATB_PROBE_TCP, .target = target, .interval_s = 0.02};
    struct atb_cmd svc = CMD_SH("svc", "exec sleep 100");

    snprintf(target, sizeof(target), "127.0.0.1:%d", port);
    svc.ready_probe = &probe;
    svc.ready_timeout_s = 0.3;
    add(run, &svc);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_TIMED_OUT);
    ASSERT(s.fails >= 2);
    ASSERT_EQ(s.last_error, -ECONNREFUSED);
    atb_run_free(run);
    close(fd);
}

/* An HTTP server on a thread: 503, then 200 to every later request. */
struct http {
    int fd, served;
};

static void *serve(void *data)
{
    struct http *h = data;

    for (;;) {
        char buf[512];
        const char *reply = h->served == 0 ? "HTTP/1.0 503 Unavailable\r\n\r\n"
                                           : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        int c = accept(h->fd, NULL, NULL);

        if (c < 0)
            return NULL;
        if (read(c, buf, sizeof(buf)) > 0 && strncmp(buf, "GET /health HTTP/1.0\r\n", 22) == 0)
            (void)!write(c, reply, strlen(reply));
        close(c);
        h->served++;
    }
}

TEST(http_ready_at_the_first_2xx)
{
    struct seen s = {{0}};
    struct atb_run *run = new_run(ATB_WATCH_AUTO, &s);
    struct http h = {0};
    int port;
    char target[64];
    struct atb_probe probe = {.kind = ATB_PROBE_HTTP, .target = target, .interval_s = 0.02};
    struct atb_cmd svc = CMD_SH("svc", "exec sleep 100");
    struct atb_cmd work = CMD_SH("work", "true");
    char *waits[] = {"svc", NULL};
    pthread_t t;

    h.fd = listener(&port);
    ASSERT_EQ(listen(h.fd, 8), 0);
    ASSERT_EQ(pthread_create(&t, NULL, serve, &h), 0);
    snprintf(target, sizeof(target), "http://127.0.0.1:%d/health", port);
    svc.service = 1;
    svc.ready_probe = &probe;
    work.wait_for = waits;
    add(run, &svc);
    add(run, &work);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_SUCCEEDED);
    ASSERT_EQ(s.fails, 1);
    ASSERT_STR_EQ(s.last_what, "HTTP 503");
    ASSERT_EQ(s.last_error, ATB_EPROBE);
    shutdown(h.fd, SHUT_RDWR);
    close(h.fd);
    pthread_join(t, NULL);
    atb_run_free(run);
}

/* An exec probe that fails twice; then a health probe that fails twice in
 * a row ends the service as unhealthy, which fails the pool. */
static void exec_and_health(enum atb_watch watch)
{
    struct seen s = {{0}};
    struct atb_run *run = new_run(watch, &s);
    char dir[] = "/tmp/atb-unit-XXXXXX", ready[256], health[256], work[256];
    struct atb_probe rp = {.kind = ATB_PROBE_EXEC, .shell = ready, .interval_s = 0.02};
    struct atb_probe hp = {.kind = ATB_PROBE_EXEC, .shell = health, .interval_s = 0.02,
                           .failures = 2};
    struct atb_cmd svc = CMD_SH("svc", "exec sleep 100");
    struct atb_cmd w = CMD_SH("w", work);
    char *waits[] = {"svc", NULL};

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(ready, sizeof(ready),
             "n=$(cat %s/n 2>/dev/null || echo 0); echo $((n+1)) >%s/n; [ $n -ge 2 ]", dir, dir);
    snprintf(health, sizeof(health), "test -e %s/ok", dir);
    /* The work makes the service unhealthy, then waits to be cancelled. */
    snprintf(work, sizeof(work), "touch %s/ok; sleep 0.2; rm %s/ok; exec sleep 100", dir, dir);
    svc.service = 1;
    svc.ready_probe = &rp;
    svc.health_probe = &hp;
    w.wait_for = waits;
    add(run, &svc);
    add(run, &w);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_outcome(run), ATB_OUTCOME_FAILED);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_FAILED);
    ASSERT_STR_EQ(atb_run_result(run, 0)->error, "service unhealthy");
    ASSERT_EQ(atb_run_result(run, 1)->state, ATB_STATE_CANCELLED);
    ASSERT(s.fails >= 4); /* 2 before ready, 2 unhealthy */
    ASSERT_STR_EQ(s.last_what, "exit 1");
    atb_run_free(run);
    {
        char path[64];
        snprintf(path, sizeof(path), "%s/n", dir);
        unlink(path);
        ASSERT_EQ(rmdir(dir), 0);
    }
}

TEST(exec_and_health_pidfd)
{
    exec_and_health(ATB_WATCH_PIDFD);
}

TEST(exec_and_health_sigchld)
{
    exec_and_health(ATB_WATCH_SIGCHLD);
}

/* The command ends while its probe runs: the probe's group is killed and
 * waited for before the run ends (the harness checks no child is left). */
TEST(a_probe_in_flight_is_not_left_behind)
{
    struct seen s = {{0}};
    struct atb_run *run = new_run(ATB_WATCH_AUTO, &s);
    struct atb_probe probe = {.kind = ATB_PROBE_EXEC, .shell = "sleep 100 & exec sleep 100",
                              .timeout_s = 100};
    struct atb_cmd c = CMD_SH("c", "sleep 0.2");

    c.ready_probe = &probe;
    add(run, &c);
    ASSERT_EQ(atb_run_exec(run), 0);
    ASSERT_EQ(atb_run_result(run, 0)->state, ATB_STATE_SUCCEEDED);
    atb_run_free(run);
}

TEST(what_the_validator_refuses)
{
    struct atb_run *run;
    struct atb_error err;
    struct atb_probe tcp = {.kind = ATB_PROBE_TCP, .target = "localhost:80"};
    struct atb_probe bad = {.kind = ATB_PROBE_TCP, .target = "localhost"};
    struct atb_probe url = {.kind = ATB_PROBE_HTTP, .target = "https://x/"};
    struct atb_probe none = {.kind = ATB_PROBE_NONE};
    struct atb_cmd c = CMD_SH("c", "true");

    ASSERT_EQ(atb_run_new(&run), 0);
    c.ready_probe = &none;
    ASSERT_EQ(atb_run_add(run, &c), -EINVAL);
    c.ready_probe = &tcp;
    c.ready_when = "up";
    ASSERT(atb_run_add(run, &c) >= 0);
    ASSERT_EQ(atb_run_check(run, &err), ATB_EPROBE);
    ASSERT_STR_EQ(err.key, "ready_probe");
    atb_run_free(run);
    ASSERT_EQ(atb_run_new(&run), 0);
    c.ready_when = NULL;
    c.ready_probe = &bad;
    ASSERT(atb_run_add(run, &c) >= 0);
    ASSERT_EQ(atb_run_check(run, &err), ATB_EPROBE);
    atb_run_free(run);
    ASSERT_EQ(atb_run_new(&run), 0);
    c.ready_probe = &url;
    ASSERT(atb_run_add(run, &c) >= 0);
    ASSERT_EQ(atb_run_check(run, &err), ATB_EPROBE);
    atb_run_free(run);
    /* A health probe: a service's, once ready. */
    ASSERT_EQ(atb_run_new(&run), 0);
    c.ready_probe = &tcp;
    c.health_probe = &tcp;
    ASSERT(atb_run_add(run, &c) >= 0);
    ASSERT_EQ(atb_run_check(run, &err), ATB_EPROBE);
    ASSERT_STR_EQ(err.key, "health_probe");
    atb_run_free(run);
    /* By name: found at the check; one per command and kind. */
    ASSERT_EQ(atb_run_new(&run), 0);
    c.health_probe = NULL;
    c.ready_probe = NULL;
    ASSERT(atb_run_add(run, &c) >= 0);
    ASSERT_EQ(atb_run_set_probe(run, "nobody", 0, &tcp), 0);
    ASSERT_EQ(atb_run_check(run, &err), ATB_ENONAME);
    atb_run_free(run);
    ASSERT_EQ(atb_run_new(&run), 0);
    c.ready_probe = &tcp;
    ASSERT(atb_run_add(run, &c) >= 0);
    ASSERT_EQ(atb_run_set_probe(run, "c", 0, &tcp), 0);
    ASSERT_EQ(atb_run_check(run, &err), ATB_EPROBE);
    atb_run_free(run);
    ASSERT_EQ(atb_run_new(&run), 0);
    c.ready_probe = NULL;
    ASSERT(atb_run_add(run, &c) >= 0);
    ASSERT_EQ(atb_run_set_probe(run, "c", 0, &tcp), 0);
    ASSERT_EQ(atb_run_check(run, &err), 0);
    ASSERT_EQ(atb_run_check(run, &err), 0); /* twice: attached once */
    atb_run_free(run);
}
