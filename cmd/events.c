/* events: --events, the run's events as they happen, one JSON object a line
 * (NDJSON, atb-events(5)), never holding up the run. A regular file takes
 * every write. A pipe, FIFO, socket or terminal is written without blocking:
 * a line that finds no room waits in a queue (QUEUE_MAX bytes), tried at each
 * later event and tick; past that, lines are dropped, and an events_dropped
 * line, once one fits, counts them where they are missing.
 * O_NONBLOCK is a flag of the open file description, which an inherited fd
 * (stdout, fd:N) shares with the shell and others, whose writes would then
 * fail with EAGAIN. So a pipe, FIFO or terminal atb did not open is opened
 * anew through /proc/self/fd/N, a description of atb's own; a socket gets
 * MSG_DONTWAIT. Where /proc refuses (another user's pipe, under sudo), lines
 * go to the fd only when poll() finds room, and to a pipe only lines one free
 * slot takes whole (PIPE_BUF). A reader that reads nothing until atb exits
 * still finds a stream that ends with run_ended: ordinary lines leave a
 * pipe's last quarter (F_GETPIPE_SZ less FIONREAD) to the closing lines; at
 * the end atb waits up to END_WAIT_S for the queue, then drops and counts
 * what is left, and writes events_dropped and run_ended into that room. */
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* run_started's "version": raised when a field changes meaning or goes;
 * new fields and events may come without it. */
#define EVENTS_VERSION 1
#define QUEUE_MAX (1024 * 1024)     /* held for a slow reader, beyond its pipe */
#define LINE_MAX_BYTES (64 * 1024)  /* a longer line (a huge name) is dropped */
#define END_WAIT_S 1.0              /* the end waits this long for a slow reader */
#define TICK_S 0.1                  /* queued lines are tried this often */
enum target { TARGET_FILE, TARGET_PIPE, TARGET_SOCKET, TARGET_OTHER };

struct cmd_events {
    const char *where;     /* as given */
    int fd;                /* where lines go */
    int own, nonblock;     /* fd is ours to close; writes to it never block */
    enum target kind;
    int broken;            /* a write failed: nothing more is tried */
    int err;               /* its errno; 0 when the reader went away */
    int started, partial;  /* run_started sent; the first queued line half sent */
    double t0;             /* monotonic: t 0 */
    double t_line;         /* the t of the line being made */
    unsigned long dropped; /* lines dropped since the last events_dropped */
    char *q;               /* queued lines, q[qhead..qtail); NULL until needed */
    size_t qhead, qtail;
    int over;              /* the line being made outgrew line */
    size_t len;
    char line[LINE_MAX_BYTES]; /* the line being made */
};

/* The fd of "-" (1) or "fd:N"; -1 for a path, -2 for a malformed "fd:". */
static int fd_of(const char *where)
{
    char *end;
    long n;

    if (strcmp(where, "-") == 0)
        return 1;
    if (strncmp(where, "fd:", 3) != 0)
        return -1;
    if (where[3] < '0' || where[3] > '9')
        return -2;
    errno = 0;
    n = strtol(where + 3, &end, 10);
    return *end != '\0' || errno != 0 || n > INT_MAX ? -2 : (int)n;
}

int cmd_events_stdout(const char *where)
{
    return where != NULL && fd_of(where) == 1;
}

static int check_fd(const char *where, int fd)
{
    int fl = fd >= 0 ? fcntl(fd, F_GETFL) : 0;

    if (fd == -2)
        cmd_err("--events: expected FILE, '-' or fd:N, got '%s'", where);
    else if (fd == 0 || fd == 2)
        cmd_err("--events: %s is atb's standard %s; give '-' for standard output, or fd:N "
                "with N 3 or more", where, fd == 0 ? "input" : "error");
    else if (fl < 0)
        cmd_err("--events: %s: %s", where, strerror(errno));
    else if (fd > 0 && (fl & O_ACCMODE) == O_RDONLY)
        cmd_err("--events: %s is not open for writing", where);
    else
        return 0;
    return -1;
}

int cmd_events_check(const struct cmd_reports *r, struct atb_run *run)
{
    const char *where = r->events;
    struct stat st;
    int fd, rc = 0;

    if (where == NULL)
        return 0;
    fd = fd_of(where);
    if (check_fd(where, fd) < 0)
        return -1;
    if (fd == 1) {
        if ((r->json.path && strcmp(r->json.path, "-") == 0) ||
            (r->junit.path && strcmp(r->junit.path, "-") == 0)) {
            cmd_err("--events %s takes standard output: --report and --junit cannot write "
                    "there too", where);
            return -1;
        }
        /* The stream is all that standard output holds: the commands'
         * output goes to standard error. */
        rc = atb_run_set_output_fds(run, 2, 2);
    }
    /* Queued lines wait for the next event; a tick makes one. */
    if (rc == 0 && (fd >= 0 ? fstat(fd, &st) : stat(where, &st)) == 0 &&
        !S_ISREG(st.st_mode))
        rc = atb_run_set_tick(run, TICK_S);
    if (rc < 0) {
        cmd_err("--events: %s", atb_strerror(rc));
        return -1;
    }
    return 0;
}

static enum target kind_of(int fd)
{
    struct stat st;

    if (fstat(fd, &st) < 0 || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
        return TARGET_FILE;
    return S_ISFIFO(st.st_mode) ? TARGET_PIPE
           : S_ISSOCK(st.st_mode) ? TARGET_SOCKET
                                  : TARGET_OTHER;
}

/* A path, created or truncated. A FIFO that nobody reads yet is waited
 * for, as a shell's '>' waits (nothing has started yet). The description
 * is atb's own, so it is made non-blocking. */
static int open_path(struct cmd_events *e, const char *path)
{
    int fl, fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                      0666);

    if (fd < 0 && errno == ENXIO) {
        do
            fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        while (fd < 0 && errno == EINTR);
        if (fd >= 0 && (fl = fcntl(fd, F_GETFL)) >= 0)
            (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    }
    if (fd < 0)
        return -errno;
    e->fd = fd;
    e->own = 1;
    e->nonblock = 1;
    e->kind = kind_of(fd);
    return 0;
}

/* An inherited fd (stdout, fd:N): see the top of this file. */
static int open_fd(struct cmd_events *e, int n)
{
    char path[32];
    int fd, fl;

    e->fd = n;
    e->kind = kind_of(n);
    e->nonblock = e->kind == TARGET_SOCKET;
    /* No command inherits the stream (the flag is this process's own). */
    if (n > 2 && (fl = fcntl(n, F_GETFD)) >= 0)
        (void)fcntl(n, F_SETFD, fl | FD_CLOEXEC);
    if (e->kind != TARGET_PIPE && e->kind != TARGET_OTHER)
        return 0;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", n);
    fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0) {
        e->fd = fd;
        e->own = 1;
        e->nonblock = 1;
    } else if (errno == ENXIO && e->kind == TARGET_PIPE) {
        e->broken = 1; /* its reader is gone already */
    }
    return 0;
}

int cmd_events_open(const char *where, struct cmd_events **out)
{
    struct cmd_events *e;
    int fd = where ? fd_of(where) : -1, rc;

    *out = NULL;
    if (where == NULL)
        return 0;
    e = calloc(1, sizeof(*e));
    rc = e == NULL ? -ENOMEM : fd >= 0 ? open_fd(e, fd) : open_path(e, where);
    if (rc < 0) {
        cmd_err("--events: cannot open '%s': %s", where, strerror(-rc));
        free(e);
        return -1;
    }
    e->where = where;
    e->t0 = cmd_now();
    *out = e;
    return 0;
}

void cmd_events_discard(struct cmd_events *e)
{
    if (e == NULL)
        return;
    if (e->own)
        close(e->fd);
    free(e->q);
    free(e);
}

/* --- Writing: a line a write, never blocking (but a regular file). --- */

/* Whether a pipe has room for len more bytes, leaving a quarter of it to
 * the closing lines unless closing. */
static int pipe_room(const struct cmd_events *e, size_t len, int closing)
{
    int queued = 0, size = fcntl(e->fd, F_GETPIPE_SZ);

    if (size <= 0 || ioctl(e->fd, FIONREAD, &queued) < 0 || queued < 0)
        return e->nonblock; /* cannot tell: a non-blocking write can */
    return (size_t)queued + len + (closing ? 0 : (size_t)size / 4) <= (size_t)size;
}

/* Writes the first len bytes at p (a line, or the rest of one). Returns
 * how many went, 0 when there is no room now, or -1 once the stream is
 * broken. closing: a closing line, which may take a pipe's last quarter. */
static ssize_t put(struct cmd_events *e, const char *p, size_t len, int closing)
{
    struct pollfd pfd = {e->fd, POLLOUT, 0};
    ssize_t n;

    if (e->broken)
        return -1;
    if (e->kind == TARGET_PIPE && !pipe_room(e, len, closing))
        return 0;
    if (!e->nonblock && e->kind != TARGET_FILE && poll(&pfd, 1, 0) != 1)
        return 0;
    do
        n = e->kind == TARGET_SOCKET ? send(e->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL)
                                     : write(e->fd, p, len);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 0;
    /* SIGPIPE is ignored (main.c): a reader that left is EPIPE. */
    e->broken = 1;
    e->err = errno == EPIPE || errno == ECONNRESET ? 0 : errno;
    return -1;
}

/* Queues len bytes. force: the rest of a line begun, which must follow
 * whatever the bound. Returns 0, or -1 when there is no room. */
static int enqueue(struct cmd_events *e, const char *p, size_t len, int force)
{
    if (e->q == NULL && (e->q = malloc(QUEUE_MAX + LINE_MAX_BYTES)) == NULL)
        return -1;
    if (!force && e->qtail - e->qhead + len > QUEUE_MAX)
        return -1;
    if (e->qtail + len > QUEUE_MAX + LINE_MAX_BYTES) {
        memmove(e->q, e->q + e->qhead, e->qtail - e->qhead);
        e->qtail -= e->qhead;
        e->qhead = 0;
    }
    memcpy(e->q + e->qtail, p, len);
    e->qtail += len;
    return 0;
}

/* The length of the first queued line (or of what is left of it). */
static size_t first_line(const struct cmd_events *e)
{
    const char *p = e->q + e->qhead, *nl = memchr(p, '\n', e->qtail - e->qhead);

    return nl ? (size_t)(nl - p) + 1 : e->qtail - e->qhead;
}

/* Sends what is queued, a line a write, while there is room. Returns 1
 * when nothing is left queued. */
static int flush(struct cmd_events *e, int closing)
{
    while (e->qhead < e->qtail) {
        size_t len = first_line(e);
        /* The rest of a line begun may take the closing room. */
        ssize_t n = put(e, e->q + e->qhead, len, closing || e->partial);

        if (n <= 0)
            return 0;
        e->qhead += (size_t)n;
        if ((e->partial = (size_t)n < len))
            return 0;
    }
    e->qhead = e->qtail = 0;
    return 1;
}

/* Sends one whole line: at once when nothing is queued before it, else
 * behind what is. Returns 0, or -1 when it finds no room. */
static int send_line(struct cmd_events *e, const char *p, size_t len)
{
    ssize_t n = 0;

    /* Not atb's own pipe description: only what one free slot takes. */
    if (!e->nonblock && e->kind == TARGET_PIPE && len > PIPE_BUF)
        return -1;
    if (e->qhead == e->qtail) {
        n = put(e, p, len, 0);
        if (n < 0 || (size_t)n == len)
            return 0;
        e->partial = n > 0;
    }
    return enqueue(e, p + n, len - (size_t)n, n > 0);
}

/* Writes a closing line whole into the room kept for it, trying until
 * deadline, or END_WAIT_S past it once begun: a line left half written
 * ends the stream (nothing more is written). */
static void put_closing(struct cmd_events *e, const char *p, size_t len, double deadline)
{
    int begun = 0;

    while (len > 0) {
        ssize_t n = put(e, p, len, 1);

        if (n < 0)
            return;
        p += n;
        len -= (size_t)n;
        begun |= n > 0;
        if (len > 0 && cmd_now() >= deadline + (begun ? END_WAIT_S : 0)) {
            e->broken |= begun;
            return;
        }
        if (len > 0)
            (void)poll(NULL, 0, 10);
    }
}

/* The events_dropped line for the lines missing here (none due: nothing).
 * Returns 0 when it went, or was queued. */
static int send_note(struct cmd_events *e, double t, double deadline)
{
    char buf[96];
    int len;

    if (e->dropped == 0 || e->broken)
        return 0;
    len = snprintf(buf, sizeof(buf),
                   "{\"t\": %.3f, \"event\": \"events_dropped\", \"count\": %lu}\n", t,
                   e->dropped);
    if (deadline > 0)
        put_closing(e, buf, (size_t)len, deadline);
    else if (send_line(e, buf, (size_t)len) < 0)
        return -1;
    e->dropped = 0;
    return 0;
}

/* --- Making lines. --- */

/* Seconds since t 0 (a monotonic clock: never below 0). */
static double now_t(const struct cmd_events *e)
{
    return cmd_now() - e->t0;
}

/* Appends n bytes to the line being made. */
static void add_bytes(struct cmd_events *e, const char *p, size_t n)
{
    if (e->over || n > sizeof(e->line) - e->len) {
        e->over = 1;
        return;
    }
    memcpy(e->line + e->len, p, n);
    e->len += n;
}

static __attribute__((format(printf, 2, 3))) void add(struct cmd_events *e, const char *fmt,
                                                      ...)
{
    size_t room = sizeof(e->line) - e->len;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = e->over ? 0 : vsnprintf(e->line + e->len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room)
        e->over = 1;
    else
        e->len += (size_t)n;
}

/* The length of the UTF-8 sequence at s, or 0 when it is not one (bad
 * bytes, overlong forms, surrogates, beyond U+10FFFF). */
static size_t utf8_len(const unsigned char *s)
{
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
    uint32_t c;

    if (s[0] < 0xc2 || s[0] > 0xf4)
        return 0;
    c = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
        (len == 4 && (c < 0x10000 || c > 0x10ffff)))
        return 0;
    return len;
}

/* , "key": "s" as a JSON string (bytes that are not UTF-8 as U+FFFD), or
 * null for NULL. */
static void add_str(struct cmd_events *e, const char *key, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    add(e, ", \"%s\": ", key);
    if (s == NULL) {
        add_bytes(e, "null", 4);
        return;
    }
    add_bytes(e, "\"", 1);
    while (*p != '\0' && !e->over) {
        size_t n = *p < 0x80 ? 1 : utf8_len(p);

        if (*p == '"' || *p == '\\')
            add(e, "\\%c", *p);
        else if (*p < 0x20)
            add(e, "\\u%04x", *p);
        else if (n == 0)
            add_bytes(e, "\\ufffd", 6);
        else
            add_bytes(e, (const char *)p, n);
        p += n ? n : 1;
    }
    add_bytes(e, "\"", 1);
}

static void add_signal(struct cmd_events *e, int signo)
{
    const char *name = signo > 0 ? atb_signal_name(signo) : NULL;

    if (signo > 0 && name == NULL)
        add(e, ", \"signal\": \"SIG%d\"", signo);
    else
        add_str(e, "signal", name);
}

static void begin(struct cmd_events *e, const char *event, double t)
{
    e->len = 0;
    e->over = 0;
    e->t_line = t;
    add(e, "{\"t\": %.3f, \"event\": \"%s\"", t, event);
}

/* Ends the line and sends it, after the events_dropped line due. */
static void emit(struct cmd_events *e)
{
    add_bytes(e, "}\n", 2);
    if (e->broken)
        return;
    (void)flush(e, 0);
    if (e->over || send_note(e, e->t_line, 0) < 0 || send_line(e, e->line, e->len) < 0)
        e->dropped++;
}

static void run_started(struct cmd_events *e, const struct atb_run *run)
{
    e->started = 1;
    begin(e, "run_started", 0);
    add(e, ", \"version\": %d", EVENTS_VERSION);
    add_str(e, "mode", atb_mode_name(atb_run_get_mode(run)));
    add(e, ", \"commands\": %zu", cmd_listed(run));
    emit(e);
}

/* How an attempt ended, as the JSON report says it. */
static void add_end(struct cmd_events *e, const struct atb_result *r)
{
    add_str(e, "state", atb_state_name(r->state));
    if (r->exit_code >= 0 || r->start_error != 0)
        add(e, ", \"exit_code\": %d",
            r->exit_code >= 0 ? r->exit_code : cmd_status_of_start(r->start_error));
    else
        add(e, ", \"exit_code\": null");
    add_signal(e, r->term_signal);
}

static void ended(struct cmd_events *e, const struct atb_run *run, const struct atb_result *r)
{
    const char *error = r->error;
    char what[160];

    add_end(e, r);
    if (r->started_s >= 0 && r->pid > 0)
        add(e, ", \"duration_s\": %.3f", r->duration_s);
    else
        add(e, ", \"duration_s\": null");
    add(e, ", \"attempt\": %d", r->attempt);
    if (error == NULL && r->start_error != 0) {
        cmd_describe(run, r, what, sizeof(what));
        error = r->start_error == -ENOENT ? "command not found" : what;
    }
    add_str(e, "error", error);
}

void cmd_events_event(struct cmd_events *e, struct atb_run *run, const struct atb_event *ev)
{
    const struct atb_result *r, *failed;
    static const char *const names[] = {
        [ATB_EVENT_STARTED] = "started", [ATB_EVENT_READY] = "ready",
        [ATB_EVENT_CANCELLED] = "cancelling", [ATB_EVENT_ENDED] = "ended",
        [ATB_EVENT_KILLED] = "killed", [ATB_EVENT_RETRY] = "retry",
        [ATB_EVENT_PROBE_FAILED] = "probe_failed"};
    char what[64];

    if (e == NULL || e->broken)
        return;
    if (!e->started)
        run_started(e, run);
    if (ev->kind == ATB_EVENT_TICK) {
        (void)flush(e, 0);
        (void)send_note(e, now_t(e), 0);
        return;
    }
    if ((size_t)ev->kind >= sizeof(names) / sizeof(names[0]) || names[ev->kind] == NULL ||
        (r = atb_run_result(run, ev->id)) == NULL)
        return;
    failed = ev->kind == ATB_EVENT_RETRY ? atb_run_attempt(run, ev->id, ev->count - 2) : r;
    if (failed == NULL)
        return;
    begin(e, names[ev->kind], now_t(e));
    add_str(e, "name", r->name);
    if (ev->kind == ATB_EVENT_STARTED)
        add(e, ", \"pid\": %ld, \"attempt\": %d", (long)r->pid, r->attempt);
    else if (ev->kind == ATB_EVENT_CANCELLED)
        add_signal(e, ev->signo);
    else if (ev->kind == ATB_EVENT_ENDED)
        ended(e, run, r);
    else if (ev->kind == ATB_EVENT_RETRY) {
        add(e, ", \"attempt\": %d, \"next_attempt\": %d, \"delay_s\": %.3f", ev->count - 1,
            ev->count, ev->delay_s);
        add_end(e, failed);
    } else if (ev->kind == ATB_EVENT_PROBE_FAILED) {
        add(e, ", \"probe\": \"%s\", \"failures\": %d", ev->stream == 2 ? "health" : "ready",
            ev->count);
        snprintf(what, sizeof(what), "%.*s", (int)ev->len, ev->data);
        add_str(e, "what", what);
    }
    emit(e);
}

void cmd_events_end(struct cmd_events *e, struct atb_run *run, int status, int sig)
{
    double t, deadline;

    if (e == NULL)
        return;
    if (!e->broken && !e->started)
        run_started(e, run);
    t = now_t(e);
    deadline = cmd_now() + END_WAIT_S;
    /* What is queued has up to END_WAIT_S to go; the rest is dropped and
     * counted, and after half a line nothing can be written. */
    while (!e->broken && !flush(e, 0) && cmd_now() < deadline)
        (void)poll(NULL, 0, 10);
    e->broken |= e->partial;
    for (size_t i = e->qhead; i < e->qtail; i++)
        e->dropped += e->q[i] == '\n';
    begin(e, "run_ended", t);
    add_str(e, "outcome", atb_outcome_name(atb_run_outcome(run)));
    add(e, ", \"exit_status\": %d", sig ? EXIT_SIGNAL_BASE + sig : status);
    add_signal(e, sig);
    add(e, ", \"duration_s\": %.3f}\n", atb_run_duration(run));
    (void)send_note(e, t, deadline);
    if (!e->broken && !e->over)
        put_closing(e, e->line, e->len, deadline);
    if (e->err != 0)
        cmd_err("--events: %s: %s (the stream stopped there)", e->where, strerror(e->err));
    cmd_events_discard(e);
}
